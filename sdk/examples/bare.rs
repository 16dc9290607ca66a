//! The demo's routes on plain axum: the baseline of the load benchmark
//! (`scripts/bench-load.sh`). Listens on `DEMO_ADDR` (default 127.0.0.1:3001).
//!
//! With `BARE_WITH_OBS=1` the same router gets exactly `obs_sdk::init!()` and `obs.layer()`
//! (request IDs, metrics, span, JSON access log) and nothing else the demo adds, so the load
//! benchmark can tell the SDK's cost from the demo's other layers.

use axum::Router;
use axum::extract::Path;
use axum::routing::get;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let app = Router::new().route("/", get(|| async { "demo" })).route(
        "/users/{id}",
        get(|Path(id): Path<String>| async move {
            match id.parse::<u64>() {
                Ok(n) => Ok(axum::Json(
                    serde_json::json!({ "id": n, "name": format!("user-{n}") }),
                )),
                Err(_) => Err(http::StatusCode::NOT_FOUND),
            }
        }),
    );
    let addr = std::env::var("DEMO_ADDR").unwrap_or_else(|_| "127.0.0.1:3001".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    if std::env::var_os("BARE_WITH_OBS").is_some() {
        let obs = obs_sdk::Config::from_env("bare", env!("CARGO_PKG_VERSION"))?.init()?;
        axum::serve(listener, app.layer(obs.layer())).await?;
    } else {
        axum::serve(listener, app).await?;
    }
    Ok(())
}
