//! The obs demo service: every SDK feature wired into a small axum app.
//!
//! ```sh
//! cargo run -p obs-sdk --example demo            # listens on 127.0.0.1:3000 (DEMO_ADDR)
//! curl -i localhost:3000/users/42
//! curl localhost:3000/metrics
//! ```
//!
//! Routes: `GET /`, `GET /users/{id}`, `GET /slow?ms=N`, `GET /fail` (500), `POST /items`,
//! `GET /metrics`. The generated monitoring stack scrapes it at `host.docker.internal:3000` by
//! default.

use std::time::Duration;

use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
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
        json!({ "service": "demo", "routes": ["/", "/users/{id}", "/slow?ms=N", "/fail", "/items", "/metrics"] }),
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

async fn fail() -> (StatusCode, Json<Value>) {
    tracing::error!("simulated failure");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Json(json!({ "error": { "code": "internal", "message": "simulated failure" } })),
    )
}

async fn create_item(Json(item): Json<Value>) -> (StatusCode, Json<Value>) {
    tracing::info!("item created");
    (StatusCode::CREATED, Json(json!({ "created": item })))
}

fn app(obs: &obs_sdk::Obs) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/users/{id}", get(user))
        .route("/slow", get(slow))
        .route("/fail", get(fail))
        .route("/items", post(create_item))
        .merge(obs.router())
        .layer(obs.layer())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let obs = obs_sdk::Config::from_env("demo", env!("CARGO_PKG_VERSION"))?.init()?;
    let addr = std::env::var("DEMO_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|e| format!("cannot listen on DEMO_ADDR={addr}: {e}"))?;
    tracing::info!(addr = %listener.local_addr()?, "listening");
    axum::serve(listener, app(&obs))
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    tracing::info!("shut down");
    Ok(())
}
