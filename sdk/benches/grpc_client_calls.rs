//! Makes `OBS_BENCH_CALLS` unary calls (default 10 000), one after another over one channel, to
//! `demo.v1.Users/Get` of the gRPC server at `OBS_BENCH_SERVER` (`host:port`, the `grpc_bare`
//! example), through the tonic stack `OBS_BENCH_CLIENT` names, so `valgrind --tool=callgrind`
//! can count what the client process spends per call. `scripts/bench-callgrind-client.sh grpc`
//! runs it for every stack.
//!
//! | `OBS_BENCH_CLIENT` | stack |
//! |---|---|
//! | `tonic` | a bare tonic `Channel` |
//! | `noop` | the same through a tower layer that does nothing: what any layer costs |
//! | `obs` | the same with obs-service's `GrpcClientLayer` (request ID, trace headers when on, the histogram) |

// The example's service, for its two messages: the server half is not used here.
#[allow(dead_code)]
#[path = "../examples/support/users.rs"]
mod users;

use tonic::transport::{Channel, Endpoint};
use users::{GetUserRequest, User};

/// Calls `Get` `calls` times through `channel`.
async fn call<S>(channel: S, calls: u64)
where
    S: tonic::client::GrpcService<tonic::body::Body>,
    S::Error: Into<tonic::codegen::StdError>,
    S::ResponseBody: tonic::codegen::Body<Data = tonic::codegen::Bytes> + Send + 'static,
    <S::ResponseBody as tonic::codegen::Body>::Error: Into<tonic::codegen::StdError> + Send,
{
    let mut client = tonic::client::Grpc::new(channel);
    let path = http::uri::PathAndQuery::from_static("/demo.v1.Users/Get");
    for _ in 0..calls {
        if let Err(e) = client.ready().await {
            panic!("the channel is not ready: {}", e.into());
        }
        let codec = tonic_prost::ProstCodec::<GetUserRequest, User>::default();
        let request = tonic::Request::new(GetUserRequest { id: "42".into() });
        let user = client.unary(request, path.clone(), codec).await.unwrap();
        std::hint::black_box(user.into_inner());
    }
}

fn main() {
    let calls: u64 = std::env::var("OBS_BENCH_CALLS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    let server = std::env::var("OBS_BENCH_SERVER").expect("OBS_BENCH_SERVER=host:port");
    let endpoint: http::Uri = format!("http://{server}").parse().unwrap();
    let stack = std::env::var("OBS_BENCH_CLIENT").unwrap_or_else(|_| "obs".into());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // A subscriber that takes nothing, as a service that logs has one: without any, `tracing`'s
    // `log` fallback hands each of h2's and tonic's spans to the `log` crate, a cost no such
    // service pays.
    tracing::subscriber::set_global_default(tracing::subscriber::NoSubscriber::default())
        .expect("no subscriber was set before");
    let metrics = obs_service::Metrics::new();
    runtime.block_on(async {
        let channel: Channel = Endpoint::from(endpoint.clone()).connect().await.unwrap();
        match stack.as_str() {
            "tonic" => call(channel, calls).await,
            "noop" => {
                let layered = tower::ServiceBuilder::new()
                    .layer(tower::layer::util::Identity::new())
                    .service(channel);
                call(layered, calls).await
            }
            "obs" => {
                let layered = tower::ServiceBuilder::new()
                    .layer(obs_service::grpc::GrpcClientLayer::new(&metrics, &endpoint))
                    .service(channel);
                call(layered, calls).await
            }
            other => panic!("OBS_BENCH_CLIENT={other:?}: expected tonic, noop or obs"),
        }
    });
}
