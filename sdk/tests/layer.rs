//! HttpLayer in-process, with no process-global install: a private registry and log writer per
//! test, plain tower services as well as axum.

use std::convert::Infallible;
use std::time::Duration;

use axum::body::Body;
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use obs_service::logging::{JsonLayer, MemoryWriter};
use obs_service::{HttpLayer, Metrics, RequestId, RouteTemplate, catalogue};
use tower::{Layer, Service, ServiceExt};
use tracing_subscriber::layer::SubscriberExt;

fn subscriber(writer: &MemoryWriter) -> impl tracing::Subscriber + Send + Sync {
    tracing_subscriber::registry().with(JsonLayer::new(writer.clone()).service("t", "test", "0"))
}

fn sample(metrics: &Metrics, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    metrics
        .render()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            (series.split('{').next()? == name
                && labels
                    .iter()
                    .all(|(k, v)| series.contains(&format!("{k}=\"{v}\""))))
            .then(|| value.parse().ok())
            .flatten()
        })
}

#[tokio::test]
async fn plain_tower_service_with_route_template_from_the_response() {
    let metrics = Metrics::new();
    let writer = MemoryWriter::new();
    let _guard = tracing::subscriber::set_default(subscriber(&writer));
    let service = tower::service_fn(|req: Request<Body>| async move {
        // A hand-written router knows the template once it has matched.
        let id = req
            .extensions()
            .get::<RequestId>()
            .cloned()
            .expect("layer puts the id in extensions");
        assert_eq!(RequestId::current(), Some(id));
        tracing::info!("handling");
        let mut res = Response::new(Body::from("ok"));
        res.extensions_mut()
            .insert(RouteTemplate::new("/orders/{id}"));
        Ok::<_, Infallible>(res)
    });
    let mut service = HttpLayer::new(&metrics).layer(service);
    let res = service
        .ready()
        .await
        .unwrap()
        .call(Request::get("/orders/17").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let id = res.headers()[catalogue::REQUEST_ID_HEADER]
        .to_str()
        .unwrap()
        .to_owned();
    res.into_body().collect().await.unwrap();

    let labels = [
        ("http_route", "/orders/{id}"),
        ("http_response_status_code", "200"),
        ("http_request_method", "GET"),
    ];
    assert_eq!(
        sample(
            &metrics,
            "http_server_request_duration_seconds_count",
            &labels
        ),
        Some(1.0)
    );
    let lines = writer.json_lines();
    let handling = lines.iter().find(|l| l["message"] == "handling").unwrap();
    assert_eq!(handling["request_id"], id.as_str());
    let access = lines
        .iter()
        .find(|l| l["target"] == catalogue::ACCESS_LOG_TARGET)
        .unwrap();
    assert_eq!(access["route"], "/orders/{id}");
    assert_eq!(access["request_id"], id.as_str());
}

#[tokio::test]
async fn a_panicking_handler_leaves_no_active_request() {
    let metrics = Metrics::new();
    let service = tower::service_fn(|_req: Request<Body>| async move {
        if true {
            panic!("handler bug");
        }
        Ok::<_, Infallible>(Response::new(Body::empty()))
    });
    let service = HttpLayer::new(&metrics).access_log(None).layer(service);
    let task = tokio::spawn(service.oneshot(Request::post("/x").body(Body::empty()).unwrap()));
    assert!(task.await.unwrap_err().is_panic());
    let active = sample(
        &metrics,
        "http_server_active_requests",
        &[("http_request_method", "POST")],
    );
    assert_eq!(active, Some(0.0));
}

#[tokio::test]
async fn a_handler_dropped_before_its_response_still_sees_its_request_id() {
    // What a handler's guard saw of `RequestId::current()` when the client went away.
    struct Guard(std::sync::Arc<std::sync::Mutex<Option<Option<RequestId>>>>);
    impl Drop for Guard {
        fn drop(&mut self) {
            *self.0.lock().unwrap() = Some(RequestId::current());
        }
    }
    let seen = std::sync::Arc::new(std::sync::Mutex::new(None));
    let metrics = Metrics::new();
    let handler_seen = seen.clone();
    let service = tower::service_fn(move |_req: Request<Body>| {
        let guard = Guard(handler_seen.clone());
        async move {
            let _guard = guard;
            std::future::pending::<()>().await;
            Ok::<_, Infallible>(Response::new(Body::empty()))
        }
    });
    let mut service = HttpLayer::new(&metrics).access_log(None).layer(service);
    let request = Request::get("/slow")
        .header("x-request-id", "gone-1")
        .body(Body::empty())
        .unwrap();
    let mut future = Box::pin(service.ready().await.unwrap().call(request));
    // Polled once, so the handler is running, then dropped: the client went away.
    let pending = std::future::poll_fn(|cx| {
        std::task::Poll::Ready(std::future::Future::poll(future.as_mut(), cx).is_pending())
    })
    .await;
    assert!(pending);
    assert!(
        seen.lock().unwrap().is_none(),
        "the handler is still running"
    );
    drop(future);
    let seen = seen.lock().unwrap().clone().expect("the guard ran");
    assert_eq!(seen.as_ref().map(RequestId::as_str), Some("gone-1"));
    let active = sample(
        &metrics,
        "http_server_active_requests",
        &[("http_request_method", "GET")],
    );
    assert_eq!(active, Some(0.0));
}

#[tokio::test]
async fn a_dropped_response_body_completes_the_request() {
    let metrics = Metrics::new();
    let service = tower::service_fn(|_req: Request<Body>| async move {
        Ok::<_, Infallible>(
            Response::builder()
                .status(StatusCode::ACCEPTED)
                .body(Body::from("partial"))
                .unwrap(),
        )
    });
    let res = HttpLayer::new(&metrics)
        .layer(service)
        .oneshot(Request::delete("/things/1").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let during = sample(
        &metrics,
        "http_server_active_requests",
        &[("http_request_method", "DELETE")],
    );
    assert_eq!(during, Some(1.0), "in flight until the body is done");
    drop(res);
    let after = sample(
        &metrics,
        "http_server_active_requests",
        &[("http_request_method", "DELETE")],
    );
    assert_eq!(after, Some(0.0));
    let count = sample(
        &metrics,
        "http_server_request_duration_seconds_count",
        &[
            ("http_route", catalogue::UNMATCHED_ROUTE),
            ("http_response_status_code", "202"),
        ],
    );
    assert_eq!(count, Some(1.0));
}

#[tokio::test]
async fn duration_covers_the_handler() {
    let metrics = Metrics::new();
    let app: axum::Router = axum::Router::new()
        .route(
            "/sleep",
            axum::routing::get(|| async {
                tokio::time::sleep(Duration::from_millis(30)).await;
                "done"
            }),
        )
        .layer(HttpLayer::new(&metrics).access_log(None));
    let res = app
        .oneshot(Request::get("/sleep").body(Body::empty()).unwrap())
        .await
        .unwrap();
    res.into_body().collect().await.unwrap();
    let sum = sample(
        &metrics,
        "http_server_request_duration_seconds_sum",
        &[("http_route", "/sleep")],
    )
    .unwrap();
    assert!(sum >= 0.030, "recorded {sum}s for a 30 ms handler");
    // 30 ms lands above the 0.025 bucket.
    let le_25ms = sample(
        &metrics,
        "http_server_request_duration_seconds_bucket",
        &[("http_route", "/sleep"), ("le", "0.025")],
    );
    assert_eq!(le_25ms, Some(0.0));
}

#[tokio::test]
async fn the_access_line_is_stamped_when_the_request_ends_and_the_id_when_it_began() {
    let metrics = Metrics::new();
    let writer = MemoryWriter::new();
    let _guard = tracing::subscriber::set_default(subscriber(&writer));
    let app: axum::Router = axum::Router::new()
        .route(
            "/sleep",
            axum::routing::get(|| async {
                tokio::time::sleep(Duration::from_millis(40)).await;
                "done"
            }),
        )
        .layer(HttpLayer::new(&metrics));
    let millis = |time: std::time::SystemTime| {
        time.duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis()
    };
    let before = millis(std::time::SystemTime::now());
    let res = app
        .oneshot(Request::get("/sleep").body(Body::empty()).unwrap())
        .await
        .unwrap();
    res.into_body().collect().await.unwrap();
    let after = millis(std::time::SystemTime::now());

    let lines = writer.json_lines();
    let line = lines
        .iter()
        .find(|l| l["target"] == catalogue::ACCESS_LOG_TARGET)
        .expect("an access line");
    let stamped = time::OffsetDateTime::parse(
        line["timestamp"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let stamped = (stamped.unix_timestamp_nanos() / 1_000_000) as u128;
    // A UUID v7 starts with its milliseconds since the epoch: the request's arrival.
    let id = line["request_id"].as_str().unwrap().replace('-', "");
    let arrived = u128::from_str_radix(&id[..12], 16).unwrap();
    assert!(
        (before..=after).contains(&arrived),
        "{arrived} not in {before}..={after}"
    );
    // Both to the millisecond: the line's stamp is the arrival plus the duration.
    assert!(
        stamped + 1 >= arrived + 40 && stamped <= after,
        "stamped {stamped}, arrived {arrived}, done {after}"
    );
}

#[tokio::test]
async fn access_log_level_and_exclusions_are_configurable() {
    let metrics = Metrics::new();
    let writer = MemoryWriter::new();
    let _guard = tracing::subscriber::set_default(subscriber(&writer));
    let app: axum::Router = axum::Router::new()
        .route("/a", axum::routing::get(|| async { "a" }))
        .route("/internal", axum::routing::get(|| async { "i" }))
        .layer(
            HttpLayer::new(&metrics)
                .access_log(Some(tracing::Level::DEBUG))
                .exclude_from_access_log(["/internal"]),
        );
    for path in ["/a", "/internal"] {
        let res = app
            .clone()
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        res.into_body().collect().await.unwrap();
    }
    let access: Vec<_> = writer
        .json_lines()
        .into_iter()
        .filter(|l| l["target"] == catalogue::ACCESS_LOG_TARGET)
        .collect();
    assert_eq!(access.len(), 1, "{access:?}");
    assert_eq!(access[0]["path"], "/a");
    assert_eq!(access[0]["level"], "DEBUG");
    // Excluded from the log, still measured.
    assert_eq!(
        sample(
            &metrics,
            "http_server_request_duration_seconds_count",
            &[("http_route", "/internal")]
        ),
        Some(1.0)
    );
}

#[tokio::test]
async fn without_a_span_handler_lines_carry_no_request_id_but_the_access_line_does() {
    let metrics = Metrics::new();
    let writer = MemoryWriter::new();
    let _guard = tracing::subscriber::set_default(subscriber(&writer));
    let app: axum::Router = axum::Router::new()
        .route(
            "/",
            axum::routing::get(|| async {
                tracing::info!("inside");
                "ok"
            }),
        )
        .layer(HttpLayer::new(&metrics).span(false));
    let res = app
        .oneshot(Request::get("/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    res.into_body().collect().await.unwrap();
    let lines = writer.json_lines();
    assert!(
        lines
            .iter()
            .find(|l| l["message"] == "inside")
            .unwrap()
            .get("request_id")
            .is_none()
    );
    assert!(
        lines
            .iter()
            .find(|l| l["target"] == catalogue::ACCESS_LOG_TARGET)
            .unwrap()["request_id"]
            .is_string()
    );
}

#[tokio::test]
async fn https_scheme_is_configurable() {
    let metrics = Metrics::new();
    let app: axum::Router = axum::Router::new()
        .route("/", axum::routing::get(|| async { "ok" }))
        .layer(HttpLayer::new(&metrics).scheme("https"));
    let _res = app
        .oneshot(Request::get("/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(
        sample(
            &metrics,
            "http_server_active_requests",
            &[("http_request_method", "GET"), ("url_scheme", "https")]
        ),
        Some(1.0)
    );
}

/// The access line takes `request_id`, `method` and `route` from the request span when there is
/// one; each key appears once, and a filter that drops the span does not lose them.
#[tokio::test]
async fn the_access_line_names_the_request_once_with_or_without_its_span() {
    for filter in ["info", "warn,obs::access=info"] {
        let metrics = Metrics::new();
        let writer = MemoryWriter::new();
        let targets: tracing_subscriber::filter::Targets = filter.parse().unwrap();
        let _guard = tracing::subscriber::set_default(
            tracing_subscriber::registry()
                .with(JsonLayer::new(writer.clone()).service("t", "test", "0"))
                .with(targets),
        );
        let app: axum::Router = axum::Router::new()
            .route("/users/{id}", axum::routing::get(|| async { "ok" }))
            .layer(HttpLayer::new(&metrics));
        let res = app
            .oneshot(Request::get("/users/7").body(Body::empty()).unwrap())
            .await
            .unwrap();
        let id = res.headers()[catalogue::REQUEST_ID_HEADER]
            .to_str()
            .unwrap()
            .to_owned();
        res.into_body().collect().await.unwrap();

        let raw = writer.contents();
        let line = raw
            .lines()
            .find(|l| l.contains(catalogue::ACCESS_LOG_TARGET))
            .unwrap_or_else(|| panic!("no access line with filter {filter}: {raw}"));
        for key in [
            "request_id",
            "method",
            "route",
            "path",
            "status",
            "duration_ms",
        ] {
            assert_eq!(
                line.matches(&format!("\"{key}\":")).count(),
                1,
                "{key} with filter {filter}: {line}"
            );
        }
        let access: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(access["request_id"], id.as_str(), "{filter}");
        assert_eq!(access["method"], "GET", "{filter}");
        assert_eq!(access["route"], "/users/{id}", "{filter}");
        assert_eq!(access["path"], "/users/7", "{filter}");
        assert_eq!(access["status"], 200, "{filter}");
        assert!(access["duration_ms"].as_f64().unwrap() >= 0.0, "{filter}");
    }
}
