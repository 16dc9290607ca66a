//! The obs gRPC demo: a tonic server with the SDK's gRPC layer and the standard health
//! service, beside `/metrics` and the health routes over HTTP.
//!
//! ```sh
//! cargo run -p obs-service --example grpc   # gRPC on 127.0.0.1:50051, HTTP on 127.0.0.1:3000
//! curl localhost:3000/metrics
//! ```
//!
//! The service is `demo.v1.Users` with one method, `Get` (request `GetUserRequest { string
//! id = 1; }`, answer `User { string id = 1; string name = 2; }`): id `missing` answers
//! `NOT_FOUND`, id `boom` answers `INTERNAL`, any other id answers `OK`. The standard health
//! service (`grpc.health.v1.Health`) answers `SERVING` while readiness passes and
//! `NOT_SERVING` from the moment the service drains on SIGTERM.
//!
//! | variable | effect |
//! |---|---|
//! | `DEMO_GRPC_ADDR` | gRPC listen address (default `127.0.0.1:50051`) |
//! | `DEMO_ADDR` | HTTP listen address of `/metrics`, the health routes and `/upstream/{id}` (default `127.0.0.1:3000`) |
//!
//! With `grpcurl` (no reflection: give it the two messages above in a `.proto`) or any gRPC
//! client, call `/demo.v1.Users/Get`; every call shows in `rpc_server_call_duration_seconds`
//! and as one access line with its status.
//!
//! `GET /upstream/{id}` (over HTTP) makes that call itself, through a tonic channel with the
//! SDK's gRPC client layer: it answers `200` with the user's name, `404` for `NOT_FOUND` and
//! `502` for any other code, and the call shows in `rpc_client_call_duration_seconds`.
//!
//! ```sh
//! curl localhost:3000/upstream/missing
//! ```

use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use obs_service::grpc::GrpcClientService;
use tonic::server::NamedService;
use tonic::transport::Channel;

#[path = "support/users.rs"]
mod users;

use users::{GetUserRequest, User, UsersServer};

/// A channel to the Users service, through the SDK's gRPC client layer.
type UsersChannel = GrpcClientService<Channel>;

/// Calls `demo.v1.Users/Get` for `id` and answers with what came back.
async fn upstream(
    State(channel): State<UsersChannel>,
    Path(id): Path<String>,
) -> (StatusCode, String) {
    let mut client = tonic::client::Grpc::new(channel);
    if let Err(e) = client.ready().await {
        return (StatusCode::BAD_GATEWAY, format!("Users unreachable: {e}\n"));
    }
    let codec = tonic_prost::ProstCodec::<GetUserRequest, User>::default();
    let path = http::uri::PathAndQuery::from_static("/demo.v1.Users/Get");
    match client
        .unary(tonic::Request::new(GetUserRequest { id }), path, codec)
        .await
    {
        Ok(user) => (StatusCode::OK, format!("{}\n", user.into_inner().name)),
        Err(status) if status.code() == tonic::Code::NotFound => {
            (StatusCode::NOT_FOUND, "NOT_FOUND\n".to_owned())
        }
        Err(status) => (StatusCode::BAD_GATEWAY, format!("{:?}\n", status.code())),
    }
}

/// Resolves on SIGTERM or Ctrl-C once the drain period is over, for both servers.
fn shutdown(obs: &obs_service::Obs) -> tokio::sync::watch::Receiver<bool> {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let signal = obs.shutdown_signal();
    tokio::spawn(async move {
        signal.await;
        let _ = stop.send(true);
    });
    stopped
}

async fn stopped(mut stopped: tokio::sync::watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stop| *stop).await;
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let obs = obs_service::Config::from_env("grpc-demo", env!("CARGO_PKG_VERSION"))?.init()?;
    let var = |name: &str, default: &str| {
        std::env::var(name)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| default.to_owned())
    };
    let grpc_addr = var("DEMO_GRPC_ADDR", "127.0.0.1:50051");
    let http_addr = var("DEMO_ADDR", "127.0.0.1:3000");
    let grpc_listener = tokio::net::TcpListener::bind(&grpc_addr)
        .await
        .map_err(|e| format!("cannot listen on DEMO_GRPC_ADDR={grpc_addr}: {e}"))?;
    let http_listener = tokio::net::TcpListener::bind(&http_addr)
        .await
        .map_err(|e| format!("cannot listen on DEMO_ADDR={http_addr}: {e}"))?;
    // `addr` is what Prometheus scrapes, as the demo logs it.
    tracing::info!(
        addr = %http_listener.local_addr()?,
        grpc_addr = %grpc_listener.local_addr()?,
        "listening"
    );

    let health = obs.health().cache_for(Duration::from_secs(1));
    let (reporter, health_service) = tonic_health::server::health_reporter();
    let health_name = <tonic_health::pb::health_server::HealthServer<
        tonic_health::server::HealthService,
    > as NamedService>::NAME;
    // The standard health service answers from readiness: NOT_SERVING once draining starts.
    obs_service::grpc::HealthSync::new(health.clone())
        .service(UsersServer::NAME)
        .spawn(reporter);

    // The example calls itself: the channel connects on first use, once the server listens.
    let endpoint: http::Uri = format!("http://{}", grpc_listener.local_addr()?).parse()?;
    let channel = tower::ServiceBuilder::new()
        .layer(obs.grpc_client_layer(&endpoint))
        .service(tonic::transport::Endpoint::from(endpoint).connect_lazy());

    let stop = shutdown(&obs);
    let app = Router::new()
        .route("/upstream/{id}", get(upstream))
        .with_state(channel)
        .merge(obs.router())
        .merge(health.router())
        .layer(obs.layer());
    let http = axum::serve(http_listener, app).with_graceful_shutdown(stopped(stop.clone()));
    let grpc = tonic::transport::Server::builder()
        .layer(
            obs.grpc_layer()
                .named_service::<UsersServer>()
                .service(health_name),
        )
        .add_service(health_service)
        .add_service(UsersServer)
        .serve_with_incoming_shutdown(
            tonic::transport::server::TcpIncoming::from(grpc_listener),
            stopped(stop),
        );
    let (http, grpc) = tokio::join!(http, grpc);
    http?;
    grpc?;
    tracing::info!("shut down");
    Ok(())
}
