//! The gRPC example's `demo.v1.Users` service alone, for the instruction counts of
//! `scripts/bench-callgrind-grpc.sh`: `GRPC_STACK` chooses what wraps the same tonic server.
//!
//! | `GRPC_STACK` | stack |
//! |---|---|
//! | unset, `bare` | nothing: plain tonic |
//! | `noop` | a layer that does nothing (tower's `Identity`) added with `Server::builder().layer`: what any layer costs |
//! | `obs` | exactly `obs_service::init` and `obs.grpc_layer()` (request IDs, metrics, span, JSON access log) |
//! | `otel` | the OpenTelemetry project's tower middleware (`opentelemetry-instrumentation-tower`), metrics only (HTTP's conventions: it knows no gRPC), into an SDK meter provider whose manual reader aggregates and never exports |
//!
//! Every stack but `obs` (whose `init` installs its own) runs with a subscriber that takes
//! nothing, as a service that logs at all has one: without any, `tracing`'s `log` fallback
//! hands every span of h2 and tonic (several per call) to the `log` crate, about 12 000
//! instructions a call that no such service pays.
//!
//! It listens on `DEMO_GRPC_ADDR` (default `127.0.0.1:50051`).

#[path = "support/users.rs"]
mod users;

use users::UsersServer;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::var("DEMO_GRPC_ADDR").unwrap_or_else(|_| "127.0.0.1:50051".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let incoming = tonic::transport::server::TcpIncoming::from(listener);
    let stack = std::env::var("GRPC_STACK").unwrap_or_default();
    if stack != "obs" {
        tracing::subscriber::set_global_default(tracing::subscriber::NoSubscriber::default())?;
    }
    match stack.as_str() {
        "" | "bare" => {
            tonic::transport::Server::builder()
                .add_service(UsersServer)
                .serve_with_incoming(incoming)
                .await?;
        }
        "noop" => {
            tonic::transport::Server::builder()
                .layer(tower::layer::util::Identity::new())
                .add_service(UsersServer)
                .serve_with_incoming(incoming)
                .await?;
        }
        "obs" => {
            let obs =
                obs_service::Config::from_env("grpc-bare", env!("CARGO_PKG_VERSION"))?.init()?;
            tonic::transport::Server::builder()
                .layer(obs.grpc_layer().named_service::<UsersServer>())
                .add_service(UsersServer)
                .serve_with_incoming(incoming)
                .await?;
        }
        "otel" => {
            // As for axum's `otel` stack (examples/bare.rs): every measurement aggregated, none
            // exported.
            let provider = opentelemetry_sdk::metrics::SdkMeterProvider::builder()
                .with_reader(opentelemetry_sdk::metrics::ManualReader::builder().build())
                .build();
            opentelemetry::global::set_meter_provider(provider);
            let layer = opentelemetry_instrumentation_tower::http::server::LayerBuilder::builder()
                .with_tracing(false)
                .build()?;
            tonic::transport::Server::builder()
                .layer(layer)
                .add_service(UsersServer)
                .serve_with_incoming(incoming)
                .await?;
        }
        other => {
            return Err(format!("GRPC_STACK={other:?}: expected bare, noop, obs or otel").into());
        }
    }
    Ok(())
}
