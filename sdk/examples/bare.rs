//! The demo's `GET /` and `GET /users/{id}` routes on plain axum: the baseline of the load
//! benchmark (`scripts/bench-load.sh`). Listens on `DEMO_ADDR` (default 127.0.0.1:3001).
//!
//! `BARE_STACK` chooses what wraps the same router, so the load benchmark can tell the SDK's
//! cost from the demo's other layers and from what users assemble by hand:
//!
//! | `BARE_STACK` | stack |
//! |---|---|
//! | unset, `bare` | nothing: plain axum |
//! | `noop` | a layer that does nothing (tower's `Identity`) added with `Router::layer`: what axum charges for any layer, the floor under every stack below |
//! | `obs` | exactly `obs_service::init`, `obs.router()` (`/metrics`) and `obs.layer()` (request IDs, metrics, span, JSON access log) |
//! | `prometheus` | axum-prometheus' metrics layer alone (its recorder, no logs, no request IDs) |
//! | `otel` | the OpenTelemetry project's tower middleware (`opentelemetry-instrumentation-tower`), metrics only, into an SDK meter provider whose manual reader aggregates and never exports |
//! | `hand` | tower-http's `SetRequestId`/`PropagateRequestId` and `TraceLayer` (span and response line at INFO), axum-prometheus, and tracing-subscriber's JSON output to stdout through tracing-appender's non-blocking writer |

use axum::Router;
use axum::extract::Path;
use axum::routing::get;
use tracing_subscriber::layer::SubscriberExt;

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
    match std::env::var("BARE_STACK").as_deref() {
        Err(_) | Ok("" | "bare") => axum::serve(listener, app).await?,
        Ok("noop") => {
            axum::serve(listener, app.layer(tower::layer::util::Identity::new())).await?;
        }
        Ok("obs") => {
            let obs = obs_service::Config::from_env("bare", env!("CARGO_PKG_VERSION"))?.init()?;
            // `/metrics` too, so the memory run of the load benchmark can scrape; the access
            // log leaves it out, and requests to other routes never reach it.
            axum::serve(listener, app.merge(obs.router()).layer(obs.layer())).await?;
        }
        Ok("prometheus") => {
            let (prometheus, _handle) = axum_prometheus::PrometheusMetricLayer::pair();
            axum::serve(listener, app.layer(prometheus)).await?;
        }
        Ok("otel") => {
            // The middleware reads the global meter provider; a manual reader makes the SDK
            // aggregate every measurement (what a Prometheus or OTLP exporter would collect)
            // without a collection ever running.
            let provider = opentelemetry_sdk::metrics::SdkMeterProvider::builder()
                .with_reader(opentelemetry_sdk::metrics::ManualReader::builder().build())
                .build();
            opentelemetry::global::set_meter_provider(provider);
            let layer = opentelemetry_instrumentation_tower::http::server::LayerBuilder::builder()
                .with_tracing(false)
                .build()?;
            axum::serve(listener, app.layer(layer)).await?;
        }
        Ok("hand") => {
            use tower_http::request_id::{
                MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer,
            };
            use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
            let (writer, _guard) = tracing_appender::non_blocking(std::io::stdout());
            let subscriber = tracing_subscriber::registry()
                .with(tracing_subscriber::fmt::layer().json().with_writer(writer))
                .with(tracing_subscriber::filter::LevelFilter::INFO);
            tracing::subscriber::set_global_default(subscriber)?;
            let (prometheus, _handle) = axum_prometheus::PrometheusMetricLayer::pair();
            let app = app
                .layer(prometheus)
                .layer(PropagateRequestIdLayer::x_request_id())
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(DefaultMakeSpan::new().level(tracing::Level::INFO))
                        .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
                )
                .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid));
            axum::serve(listener, app).await?;
        }
        Ok(other) => {
            return Err(format!(
                "BARE_STACK={other:?}: expected bare, noop, obs, prometheus, otel or hand"
            )
            .into());
        }
    }
    Ok(())
}
