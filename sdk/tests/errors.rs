//! Error responses and panics inside the full layer stack: the JSON shape, the request ID, what
//! is logged, and that the 500s are counted like any other response.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::{Request, StatusCode};
use http_body_util::BodyExt as _;
use obs_service::error::{ApiError, Context as _};
use obs_service::logging::{JsonLayer, MemoryWriter};
use obs_service::redact::Redactor;
use obs_service::{HttpLayer, Metrics, catalogue};
use tower::ServiceExt as _;
use tracing_subscriber::layer::SubscriberExt as _;

const INTERNAL_DETAIL: &str = "connection to 10.20.30.40:5432 reset";

#[derive(Debug)]
struct DbError(std::io::Error);

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("query failed")
    }
}

impl std::error::Error for DbError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

async fn load() -> Result<String, DbError> {
    Err(DbError(std::io::Error::other(INTERNAL_DETAIL)))
}

fn app(metrics: &Metrics) -> Router {
    Router::new()
        .route(
            "/missing/{id}",
            get(|| async { Err::<(), _>(ApiError::not_found("no such widget")) }),
        )
        .route(
            "/db",
            get(|| async { load().await.context("loading widgets").map(|_| ()) }),
        )
        .route(
            "/question-mark",
            get(|| async {
                let n: u32 = "not a number".parse()?;
                Ok::<_, ApiError>(n.to_string())
            }),
        )
        .route(
            "/down",
            get(|| async { Err::<(), _>(ApiError::unavailable("primary is in recovery")) }),
        )
        .route(
            "/panic",
            get(|| async {
                if true {
                    panic!("invariant broken: {}", INTERNAL_DETAIL);
                }
                "unreachable"
            }),
        )
        .layer(obs_service::panic::layer())
        .layer(HttpLayer::new(metrics))
}

struct Captured {
    status: StatusCode,
    header_id: String,
    body: serde_json::Value,
    raw: String,
}

async fn call(app: Router, path: &str) -> Captured {
    let response = app
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let header_id = response.headers()[catalogue::REQUEST_ID_HEADER]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(response.headers()["content-type"], "application/json");
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let raw = String::from_utf8(bytes.to_vec()).unwrap();
    Captured {
        status,
        header_id,
        body: serde_json::from_str(&raw).unwrap(),
        raw,
    }
}

/// Runs `f` with a JSON log captured in memory (current-thread runtime, so the thread's default
/// subscriber sees every event).
async fn with_log<F: std::future::Future>(f: F) -> (F::Output, MemoryWriter) {
    let writer = MemoryWriter::new();
    let subscriber = tracing_subscriber::registry().with(
        JsonLayer::new(writer.clone())
            .service("errors-test", "test", "1.0.0")
            .redactor(Arc::new(Redactor::default())),
    );
    let _guard = tracing::subscriber::set_default(subscriber);
    let out = f.await;
    (out, writer)
}

fn assert_shape(c: &Captured, code: &str, message: &str) {
    assert_eq!(
        c.body,
        serde_json::json!({"error": {"code": code, "message": message, "request_id": c.header_id}}),
        "{}",
        c.raw
    );
}

#[tokio::test]
async fn client_errors_say_what_is_wrong() {
    let metrics = Metrics::new();
    let (c, log) = with_log(call(app(&metrics), "/missing/7")).await;
    assert_eq!(c.status, StatusCode::NOT_FOUND);
    assert_shape(&c, "not_found", "no such widget");
    // 4xx are not logged at ERROR.
    assert!(!log.json_lines().iter().any(|l| l["level"] == "ERROR"));
}

#[tokio::test]
async fn server_errors_hide_the_detail_and_log_it_with_the_request_id() {
    let metrics = Metrics::new();
    let (c, log) = with_log(call(app(&metrics), "/db")).await;
    assert_eq!(c.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_shape(&c, "internal", "internal server error");
    assert!(
        !c.raw.contains("10.20.30.40") && !c.raw.contains("query"),
        "{}",
        c.raw
    );

    let lines = log.json_lines();
    let error = lines
        .iter()
        .find(|l| l["level"] == "ERROR")
        .unwrap_or_else(|| panic!("no ERROR line: {lines:#?}"));
    assert_eq!(error["target"], obs_service::error::ERROR_LOG_TARGET);
    assert_eq!(error["request_id"], c.header_id.as_str());
    assert_eq!(error["status"], 500);
    assert_eq!(error["code"], "internal");
    assert_eq!(
        error["error"],
        format!("loading widgets: query failed: {INTERNAL_DETAIL}")
    );
    // The access line of the same request records the 500.
    let access = lines
        .iter()
        .find(|l| l["target"] == catalogue::ACCESS_LOG_TARGET)
        .expect("access line");
    assert_eq!(access["status"], 500);
    assert_eq!(access["request_id"], c.header_id.as_str());
}

#[tokio::test]
async fn question_mark_and_unavailable() {
    let metrics = Metrics::new();
    let (c, log) = with_log(call(app(&metrics), "/question-mark")).await;
    assert_eq!(c.status, 500);
    assert_shape(&c, "internal", "internal server error");
    assert!(
        log.contents().contains("invalid digit found in string"),
        "the cause is logged"
    );

    let (c, log) = with_log(call(app(&metrics), "/down")).await;
    assert_eq!(c.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_shape(&c, "unavailable", "service unavailable");
    assert!(!c.raw.contains("recovery"));
    assert!(log.contents().contains("primary is in recovery"));
}

#[tokio::test]
async fn a_panic_becomes_a_500_of_the_same_shape_and_is_counted() {
    let metrics = Metrics::new();
    let (c, log) = with_log(call(app(&metrics), "/panic")).await;
    assert_eq!(c.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_shape(&c, "internal", "internal server error");
    assert!(!c.raw.contains("invariant"), "{}", c.raw);

    let lines = log.json_lines();
    let panic_line = lines
        .iter()
        .find(|l| l["message"] == "handler panicked")
        .unwrap_or_else(|| panic!("no panic line: {lines:#?}"));
    assert_eq!(panic_line["level"], "ERROR");
    assert_eq!(panic_line["request_id"], c.header_id.as_str());
    assert_eq!(
        panic_line["panic"],
        format!("invariant broken: {INTERNAL_DETAIL}")
    );
    let access = lines
        .iter()
        .find(|l| l["target"] == catalogue::ACCESS_LOG_TARGET)
        .expect("access line of the panicking request");
    assert_eq!(access["status"], 500);
    assert_eq!(access["route"], "/panic");

    metrics.run_upkeep();
    let text = metrics.render();
    assert!(
        text.lines().any(
            |l| l.starts_with("http_server_request_duration_seconds_count")
                && l.contains(r#"http_route="/panic""#)
                && l.contains(r#"http_response_status_code="500""#)
                && l.ends_with(" 1")
        ),
        "{text}"
    );
}

#[tokio::test]
async fn the_service_keeps_serving_after_a_panic() {
    let metrics = Metrics::new();
    let app = app(&metrics);
    for _ in 0..3 {
        assert_eq!(call(app.clone(), "/panic").await.status, 500);
    }
    assert_eq!(call(app, "/missing/1").await.status, 404);
}

#[tokio::test]
async fn outside_a_request_the_request_id_is_null() {
    use axum::response::IntoResponse as _;
    let response = ApiError::forbidden("not yours").into_response();
    assert_eq!(response.status(), 403);
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"error": {"code": "forbidden", "message": "not yours", "request_id": null}})
    );
}

/// A service that panics in `call` itself, before returning a future (not in its future as axum
/// handlers do).
#[derive(Clone)]
struct PanicsInCall;

impl tower::Service<Request<Body>> for PanicsInCall {
    type Response = http::Response<Body>;
    type Error = std::convert::Infallible;
    type Future = std::future::Ready<Result<Self::Response, Self::Error>>;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Request<Body>) -> Self::Future {
        panic!("panicked in call")
    }
}

#[tokio::test]
async fn a_panic_in_call_is_caught_with_the_request_id() {
    use tower::Layer as _;
    let service =
        HttpLayer::new(&Metrics::new()).layer(obs_service::panic::layer().layer(PanicsInCall));
    let (response, log) =
        with_log(service.oneshot(Request::get("/").body(Body::empty()).unwrap())).await;
    let response = response.unwrap();
    assert_eq!(response.status(), 500);
    let id = response.headers()[catalogue::REQUEST_ID_HEADER]
        .to_str()
        .unwrap()
        .to_owned();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(body["error"]["code"], "internal");
    assert_eq!(body["error"]["request_id"], id.as_str());
    let line = log
        .json_lines()
        .into_iter()
        .find(|l| l["message"] == "handler panicked")
        .expect("panic line");
    assert_eq!(line["request_id"], id.as_str());
    assert_eq!(line["panic"], "panicked in call");
}
