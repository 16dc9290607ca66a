//! The obs demo service on actix-web: the axum demo's routes, with the same logs, metrics,
//! health routes and errors through the SDK's actix-web adapter.
//!
//! ```sh
//! cargo run -p obs-service --example actix           # listens on 127.0.0.1:3000 (DEMO_ADDR)
//! curl -i localhost:3000/users/42
//! curl localhost:3000/metrics
//! ```
//!
//! Routes: `GET /`, `GET /users/{id}`, `GET /slow?ms=N`, `GET /fail` (500 through
//! `ApiError`), `GET /panic` (a panicking handler: 500 of the same shape), `POST /items`,
//! `GET /upstream` (an outgoing call through the SDK's reqwest middleware), `GET /metrics`,
//! `GET /health/live`, `GET /health/ready` and `GET /health`. It reads `DEMO_ADDR` (default
//! `127.0.0.1:3000`), `DEMO_UPSTREAM_URL` (what `/upstream` calls, default its own `/users/1`)
//! and `DISK_PATH` (the disk-space check's path, default the working directory) besides the
//! SDK's variables. On SIGTERM or Ctrl-C it drains as the axum demo does: readiness answers
//! `503` `draining` for `OBS_SHUTDOWN_DRAIN` while the other routes serve, then it stops
//! accepting and finishes the requests in flight.
//!
//! actix-web runs one single-threaded Tokio runtime per worker; each worker's is observed, and
//! `/metrics` shows their sums (`tokio_runtime_*`).

use std::cell::Cell;
use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, web};
use obs_service::ApiError;
use obs_service::health::DiskCheck;
use serde_json::{Value, json};

/// Longest `/slow` delay, so a typo cannot park a request for hours.
const MAX_SLOW_MS: u64 = 30_000;

#[derive(serde::Deserialize)]
struct SlowParams {
    ms: Option<u64>,
}

async fn index() -> web::Json<Value> {
    tracing::info!("index requested");
    web::Json(
        json!({ "service": "actix", "routes": ["/", "/users/{id}", "/slow?ms=N", "/fail", "/panic", "/items", "/metrics", "/health/live", "/health/ready", "/health"] }),
    )
}

async fn user(id: web::Path<String>) -> HttpResponse {
    tracing::info!(user_id = %id, "looking up user");
    match id.parse::<u64>() {
        Ok(n) => HttpResponse::Ok().json(json!({ "id": n, "name": format!("user-{n}") })),
        Err(_) => HttpResponse::NotFound().finish(),
    }
}

async fn slow(params: web::Query<SlowParams>) -> web::Json<Value> {
    let ms = params.ms.unwrap_or(250).min(MAX_SLOW_MS);
    actix_web::rt::time::sleep(Duration::from_millis(ms)).await;
    web::Json(json!({ "slept_ms": ms }))
}

/// Answers 500 through the SDK's error type: the client sees a generic message and the
/// request ID; the log gets the whole chain at ERROR.
async fn fail() -> Result<web::Json<Value>, ApiError> {
    let cause = std::io::Error::other("simulated failure: db-primary:5432 refused the connection");
    Err(ApiError::internal(cause).context("loading the report"))
}

/// Panics; the middleware answers a 500 of the same shape as `/fail`.
async fn panic_route() -> web::Json<Value> {
    panic!("simulated panic in a handler")
}

/// What `GET /upstream` calls, through the SDK's reqwest middleware: the call is measured in
/// `http_client_request_duration_seconds` and carries the request ID and trace headers.
#[derive(Clone)]
struct Upstream {
    client: reqwest_middleware::ClientWithMiddleware,
    url: String,
}

/// Calls the upstream and answers with its status; 503 when no answer came.
async fn upstream(upstream: web::Data<Upstream>) -> Result<HttpResponse, ApiError> {
    let answer = upstream
        .client
        .get(&upstream.url)
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .map_err(|e| ApiError::unavailable(e).context("calling the upstream"))?;
    let status = actix_web::http::StatusCode::from_u16(answer.status().as_u16())
        .map_err(|e| ApiError::internal(e).context("reading the upstream's status"))?;
    Ok(HttpResponse::new(status))
}

async fn create_item(item: web::Json<Value>) -> HttpResponse {
    tracing::info!("item created");
    HttpResponse::Created().json(json!({ "created": item.into_inner() }))
}

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let obs = obs_service::Config::from_env("actix", env!("CARGO_PKG_VERSION"))?.init()?;
    let addr = std::env::var("DEMO_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let disk_path = std::env::var("DISK_PATH")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| ".".into());
    let health = obs
        .health()
        .cache_for(Duration::from_secs(1))
        .check(
            "disk",
            DiskCheck::new(disk_path).min_free_bytes(100 * 1024 * 1024),
        )
        .critical(false);
    let middleware = obs.actix_middleware();
    let metrics_routes = obs_service::actix::metrics_routes(obs.metrics());
    let health_routes = obs_service::actix::health_routes(&health);
    let upstream_url = std::env::var("DEMO_UPSTREAM_URL")
        .ok()
        .filter(|v| !v.trim().is_empty());
    let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(obs.client_middleware())
        .build();
    let metrics = obs.metrics().clone();
    // The address is known once bound; the factory runs on each worker after that.
    let local_addr = std::sync::Arc::new(std::sync::OnceLock::<std::net::SocketAddr>::new());
    let local_for_workers = local_addr.clone();
    let server = HttpServer::new(move || {
        // Each worker builds its app on its own thread and runtime: each runtime is observed
        // once, however often the factory runs there.
        thread_local!(static OBSERVED: Cell<bool> = const { Cell::new(false) });
        if !OBSERVED.replace(true) {
            metrics.observe_runtime(&tokio::runtime::Handle::current());
        }
        let upstream = Upstream {
            client: client.clone(),
            url: upstream_url.clone().unwrap_or_else(|| {
                let local = local_for_workers.get().copied();
                local.map_or_else(String::new, |a| format!("http://{a}/users/1"))
            }),
        };
        App::new()
            .app_data(web::Data::new(upstream))
            .route("/upstream", web::get().to(self::upstream))
            .route("/", web::get().to(index))
            .route("/users/{id}", web::get().to(user))
            .route("/slow", web::get().to(slow))
            .route("/fail", web::get().to(fail))
            .route("/panic", web::get().to(panic_route))
            .route("/items", web::post().to(create_item))
            .configure(metrics_routes.clone())
            .configure(health_routes.clone())
            .wrap(middleware.clone())
    })
    // The SDK drains on SIGTERM first, then stops the server (`serve` below).
    .disable_signals()
    .bind(&addr)
    .map_err(|e| format!("cannot listen on DEMO_ADDR={addr}: {e}"))?;
    let local = server
        .addrs()
        .first()
        .copied()
        .ok_or("the server is bound to no address")?;
    let _ = local_addr.set(local);
    tracing::info!(addr = %local, "listening");
    // SIGTERM: readiness 503 `draining` for OBS_SHUTDOWN_DRAIN, then the requests in flight
    // finish.
    obs_service::actix::serve(server.run(), obs.shutdown_signal()).await?;
    tracing::info!("shut down");
    Ok(())
}
