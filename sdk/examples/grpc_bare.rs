//! The gRPC example's `demo.v1.Users` service alone, for the instruction counts of
//! `scripts/bench-callgrind-grpc.sh`: `GRPC_STACK` chooses what wraps the same tonic server.
//!
//! | `GRPC_STACK` | stack |
//! |---|---|
//! | unset, `bare` | nothing: plain tonic |
//! | `noop` | a layer that does nothing (tower's `Identity`) added with `Server::builder().layer`: what any layer costs |
//! | `obs` | exactly `obs_service::init` and `obs.grpc_layer()` (request IDs, metrics, span, JSON access log) |
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
    match std::env::var("GRPC_STACK").as_deref() {
        Err(_) | Ok("" | "bare") => {
            tonic::transport::Server::builder()
                .add_service(UsersServer)
                .serve_with_incoming(incoming)
                .await?;
        }
        Ok("noop") => {
            tonic::transport::Server::builder()
                .layer(tower::layer::util::Identity::new())
                .add_service(UsersServer)
                .serve_with_incoming(incoming)
                .await?;
        }
        Ok("obs") => {
            let obs =
                obs_service::Config::from_env("grpc-bare", env!("CARGO_PKG_VERSION"))?.init()?;
            tonic::transport::Server::builder()
                .layer(obs.grpc_layer().named_service::<UsersServer>())
                .add_service(UsersServer)
                .serve_with_incoming(incoming)
                .await?;
        }
        Ok(other) => return Err(format!("GRPC_STACK={other:?}: expected bare, noop or obs").into()),
    }
    Ok(())
}
