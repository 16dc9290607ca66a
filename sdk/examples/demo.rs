//! The obs demo service: every SDK feature wired into a small axum app.
//!
//! ```sh
//! cargo run -p obs-service --example demo            # listens on 127.0.0.1:3000 (DEMO_ADDR)
//! curl -i localhost:3000/users/42
//! curl localhost:3000/metrics
//! ```
//!
//! Routes: `GET /`, `GET /users/{id}`, `GET /slow?ms=N`, `GET /fail` (500 through
//! `ApiError`), `GET /panic` (a panicking handler: 500 of the same shape), `POST /items`
//! (audited), `GET /upstream` (an outgoing call, answered with the upstream's status),
//! `GET /metrics`, `GET /health/live`, `GET /health/ready` and `GET /health`. The generated
//! monitoring stack scrapes it at `host.docker.internal:3000` by default. `/metrics` carries the
//! Tokio runtime's counts too.
//!
//! Besides the SDK's variables (`OBS_*`, see docs/sdk.md), the demo reads:
//!
//! | variable | effect |
//! |---|---|
//! | `DEMO_ADDR` | listen address (default `127.0.0.1:3000`) |
//! | `DATABASE_URL` | adds a critical PostgreSQL readiness check |
//! | `REDIS_URL` | adds a non-critical Redis readiness check |
//! | `DISK_PATH` | path of the disk-space check (default: the working directory) |
//! | `DISK_MIN_FREE_MB` | the disk check fails below this many free MiB (default 100) |
//! | `DEMO_TRUSTED_PROXIES` | comma-separated proxies whose `X-Forwarded-For` the audit log believes |
//! | `DEMO_UPSTREAM_URL` | what `GET /upstream` calls (default: the demo's own `/users/1`) |
//!
//! On SIGTERM or Ctrl-C the demo drains as every SDK service can: readiness answers `503`
//! `draining` for `OBS_SHUTDOWN_DRAIN` while the other routes serve, then it stops accepting
//! and finishes the requests in flight.
//!
//! Audit events (`POST /items`) go to stdout with the other JSON lines (target `obs::audit`);
//! the demo takes the user id from an `X-User-Id` header, where a real service would take it
//! from its authentication.

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use obs_service::ApiError;
use obs_service::audit::AuditLayer;
use obs_service::health::{DiskCheck, Health, PostgresCheck, RedisCheck};
use serde_json::{Value, json};

/// Longest `/slow` delay, so a typo cannot park a request for hours.
const MAX_SLOW_MS: u64 = 30_000;

#[derive(serde::Deserialize)]
struct SlowParams {
    ms: Option<u64>,
}

async fn index() -> Json<Value> {
    tracing::info!("index requested");
    Json(
        json!({ "service": "demo", "routes": ["/", "/users/{id}", "/slow?ms=N", "/fail", "/panic", "/items", "/metrics", "/health/live", "/health/ready", "/health"] }),
    )
}

async fn user(Path(id): Path<String>) -> Result<Json<Value>, StatusCode> {
    tracing::info!(user_id = %id, "looking up user");
    match id.parse::<u64>() {
        Ok(n) => Ok(Json(json!({ "id": n, "name": format!("user-{n}") }))),
        Err(_) => Err(StatusCode::NOT_FOUND),
    }
}

async fn slow(Query(params): Query<SlowParams>) -> Json<Value> {
    let ms = params.ms.unwrap_or(250).min(MAX_SLOW_MS);
    tokio::time::sleep(Duration::from_millis(ms)).await;
    Json(json!({ "slept_ms": ms }))
}

/// Answers 500 through the SDK's error type: the client sees a generic message and the
/// request ID; the log gets the whole chain at ERROR.
async fn fail() -> Result<Json<Value>, ApiError> {
    let cause = std::io::Error::other("simulated failure: db-primary:5432 refused the connection");
    Err(ApiError::internal(cause).context("loading the report"))
}

/// Panics; the panic layer turns it into a 500 of the same shape as `/fail`.
async fn panic_route() -> Json<Value> {
    panic!("simulated panic in a handler")
}

/// What `GET /upstream` calls, through the SDK's reqwest integration: the call is measured in
/// `http_client_request_duration_seconds`, carries the request ID and trace headers, and is a
/// client span while something traces.
#[derive(Clone)]
struct Upstream {
    client: reqwest_middleware::ClientWithMiddleware,
    url: String,
}

/// Calls the upstream and answers with its status; 503 when no answer came.
async fn upstream(State(upstream): State<Upstream>) -> Result<StatusCode, ApiError> {
    let answer = upstream
        .client
        .get(&upstream.url)
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .map_err(|e| ApiError::unavailable(e).context("calling the upstream"))?;
    StatusCode::from_u16(answer.status().as_u16())
        .map_err(|e| ApiError::internal(e).context("reading the upstream's status"))
}

async fn create_item(Json(item): Json<Value>) -> (StatusCode, Json<Value>) {
    tracing::info!("item created");
    (StatusCode::CREATED, Json(json!({ "created": item })))
}

/// The readiness checks: disk always, PostgreSQL and Redis when their URL is set.
fn health(obs: &obs_service::Obs) -> Result<Health, Box<dyn std::error::Error>> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let disk_path = var("DISK_PATH").unwrap_or_else(|| ".".into());
    let min_free_mb: u64 = match var("DISK_MIN_FREE_MB") {
        Some(mb) => mb
            .parse()
            .map_err(|_| format!("DISK_MIN_FREE_MB={mb:?} is not a whole number of MiB"))?,
        None => 100,
    };
    let mut health = obs
        .health()
        .cache_for(Duration::from_secs(1))
        .check(
            "disk",
            DiskCheck::new(disk_path).min_free_bytes(min_free_mb.saturating_mul(1024 * 1024)),
        )
        .critical(false);
    if let Some(url) = var("DATABASE_URL") {
        health = health.check("postgres", PostgresCheck::new(&url)?);
    }
    if let Some(url) = var("REDIS_URL") {
        health = health
            .check("redis", RedisCheck::new(&url)?)
            .critical(false);
    }
    Ok(health)
}

fn audit() -> Result<AuditLayer<impl obs_service::audit::IdentifyUser>, Box<dyn std::error::Error>>
{
    let trusted = std::env::var("DEMO_TRUSTED_PROXIES").unwrap_or_default();
    let audit = AuditLayer::new()
        .user_id(|parts: &axum::http::request::Parts| {
            let user = parts.headers.get("x-user-id")?.to_str().ok()?;
            Some(user.to_owned())
        })
        .trusted_proxies(trusted.split(',').map(str::trim).filter(|p| !p.is_empty()))?;
    Ok(audit)
}

fn app(obs: &obs_service::Obs, upstream: Upstream) -> Result<Router, Box<dyn std::error::Error>> {
    Ok(Router::new()
        .route("/upstream", get(self::upstream).with_state(upstream))
        .route("/", get(index))
        .route("/users/{id}", get(user))
        .route("/slow", get(slow))
        .route("/fail", get(fail))
        .route("/panic", get(panic_route))
        .route("/items", post(create_item))
        .merge(obs.router())
        .merge(health(obs)?.router())
        // Innermost first: the panic layer turns a panic into a 500, the audit layer records
        // that 500, and the HTTP layer (outermost) counts and logs it with the request ID.
        .layer(obs_service::panic::layer())
        .layer(audit()?)
        .layer(obs.layer()))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let obs = obs_service::Config::from_env("demo", env!("CARGO_PKG_VERSION"))?.init()?;
    let addr = std::env::var("DEMO_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|e| format!("cannot listen on DEMO_ADDR={addr}: {e}"))?;
    let local = listener.local_addr()?;
    tracing::info!(addr = %local, "listening");
    obs.metrics()
        .observe_runtime(&tokio::runtime::Handle::current());
    let upstream = Upstream {
        client: reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
            .with(obs.client_middleware())
            .build(),
        url: std::env::var("DEMO_UPSTREAM_URL")
            .ok()
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| format!("http://{local}/users/1")),
    };
    // With the peer address, so the audit log knows the client IP.
    let app = app(&obs, upstream)?.into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        // SIGTERM: readiness 503 `draining` for OBS_SHUTDOWN_DRAIN, then the requests in
        // flight finish.
        .with_graceful_shutdown(obs.shutdown_signal())
        .await?;
    tracing::info!("shut down");
    Ok(())
}
