//! The gRPC adapter between a real tonic server and a real tonic client, in-process: the
//! status from trailers and from the headers of a trailers-only answer, streaming calls timed
//! to their end, a cancelled stream counted as `CANCELLED`, unknown methods as `_OTHER`, and
//! a malformed request ID replaced and never echoed or logged.
#![cfg(feature = "grpc")]

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use http::uri::PathAndQuery;
use obs_service::Metrics;
use obs_service::grpc::GrpcLayer;
use obs_service::logging::{JsonLayer, MemoryWriter};
use tonic::codegen::tokio_stream::wrappers::ReceiverStream;
use tonic::server::NamedService;
use tonic::{Request, Response, Status};
use tracing_subscriber::layer::SubscriberExt;

/// `test.v1.Ask`.
#[derive(Clone, PartialEq, prost::Message)]
struct Ask {
    #[prost(string, tag = "1")]
    id: String,
    #[prost(uint32, tag = "2")]
    count: u32,
}

/// `test.v1.Answer`.
#[derive(Clone, PartialEq, prost::Message)]
struct Answer {
    #[prost(string, tag = "1")]
    id: String,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// Lets the `gated` stream send its last message.
static GATE: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(0);

struct Get;

impl tonic::server::UnaryService<Ask> for Get {
    type Response = Answer;
    type Future = BoxFuture<Result<Response<Answer>, Status>>;

    fn call(&mut self, request: Request<Ask>) -> Self::Future {
        Box::pin(async move {
            let id = request.into_inner().id;
            tracing::info!("handling Get");
            match id.as_str() {
                "missing" => Err(Status::not_found("no such thing")),
                "boom" => Err(Status::internal("broken")),
                _ => Ok(Response::new(Answer { id })),
            }
        })
    }
}

struct List;

impl tonic::server::ServerStreamingService<Ask> for List {
    type Response = Answer;
    type ResponseStream = ReceiverStream<Result<Answer, Status>>;
    type Future = BoxFuture<Result<Response<Self::ResponseStream>, Status>>;

    fn call(&mut self, request: Request<Ask>) -> Self::Future {
        Box::pin(async move {
            let ask = request.into_inner();
            let (tx, rx) = tokio::sync::mpsc::channel(4);
            tokio::spawn(async move {
                let answer = |i: u32| {
                    Ok(Answer {
                        id: format!("{}-{i}", ask.id),
                    })
                };
                for i in 0..ask.count {
                    let _ = tx.send(answer(i)).await;
                }
                match ask.id.as_str() {
                    "gated" => {
                        GATE.acquire().await.unwrap().forget();
                        let _ = tx.send(answer(ask.count)).await;
                    }
                    "fail" => {
                        let _ = tx.send(Err(Status::data_loss("lost the rest"))).await;
                    }
                    // Never ends: only the client can end it.
                    "hang" => {
                        tx.closed().await;
                    }
                    _ => {}
                }
            });
            Ok(Response::new(ReceiverStream::new(rx)))
        })
    }
}

/// `test.v1.Things`, routed by path as generated servers are.
#[derive(Clone)]
struct Things;

impl NamedService for Things {
    const NAME: &'static str = "test.v1.Things";
}

impl<B> tower::Service<http::Request<B>> for Things
where
    B: http_body::Body + Send + 'static,
    B::Error: Into<tonic::codegen::StdError> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let codec = tonic_prost::ProstCodec::<Answer, Ask>::default();
        match request.uri().path() {
            "/test.v1.Things/Get" => {
                Box::pin(
                    async move { Ok(tonic::server::Grpc::new(codec).unary(Get, request).await) },
                )
            }
            "/test.v1.Things/List" => Box::pin(async move {
                Ok(tonic::server::Grpc::new(codec)
                    .server_streaming(List, request)
                    .await)
            }),
            _ => Box::pin(async move { Ok(Status::unimplemented("").into_http()) }),
        }
    }
}

/// A tonic server with `layer` on a free port.
async fn serve(layer: GrpcLayer) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .layer(layer)
            .add_service(Things)
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
    );
    addr
}

async fn channel(addr: SocketAddr) -> tonic::transport::Channel {
    tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap()
}

async fn client(addr: SocketAddr) -> tonic::client::Grpc<tonic::transport::Channel> {
    tonic::client::Grpc::new(channel(addr).await)
}

fn codec() -> tonic_prost::ProstCodec<Ask, Answer> {
    tonic_prost::ProstCodec::default()
}

fn ask(id: &str, count: u32) -> Request<Ask> {
    Request::new(Ask {
        id: id.into(),
        count,
    })
}

async fn unary(
    grpc: &mut tonic::client::Grpc<tonic::transport::Channel>,
    path: &'static str,
    request: Request<Ask>,
) -> Result<Response<Answer>, Status> {
    grpc.ready().await.unwrap();
    grpc.unary(request, PathAndQuery::from_static(path), codec())
        .await
}

/// The count of `rpc_server_call_duration_seconds` with exactly these labels (beside
/// `rpc_system_name="grpc"`).
fn count(metrics: &Metrics, labels: &str) -> Option<u64> {
    let series =
        format!("rpc_server_call_duration_seconds_count{{rpc_system_name=\"grpc\",{labels}}} ");
    metrics
        .render()
        .lines()
        .find_map(|l| l.strip_prefix(&series).map(|v| v.parse().unwrap()))
}

/// Waits until `labels` has a count: the server records a call when it sees its end, which
/// the client may see first.
async fn wait_for_count(metrics: &Metrics, labels: &str) -> u64 {
    for _ in 0..500 {
        if let Some(n) = count(metrics, labels) {
            return n;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no series {labels} in:\n{}", metrics.render())
}

fn subscriber(writer: &MemoryWriter) -> impl tracing::Subscriber + Send + Sync {
    tracing_subscriber::registry().with(JsonLayer::new(writer.clone()).service("t", "test", "0"))
}

fn access_lines(writer: &MemoryWriter) -> Vec<serde_json::Value> {
    writer
        .json_lines()
        .into_iter()
        .filter(|l| l["target"] == "obs::access")
        .collect()
}

#[tokio::test(flavor = "current_thread")]
async fn unary_statuses_from_trailers_and_from_trailers_only_headers() {
    let metrics = Metrics::new();
    let writer = MemoryWriter::new();
    let _guard = tracing::subscriber::set_default(subscriber(&writer));
    let addr = serve(GrpcLayer::new(&metrics)).await;
    let mut grpc = client(addr).await;

    // OK: data, then the status in the trailers.
    let ok = unary(&mut grpc, "/test.v1.Things/Get", ask("a", 0))
        .await
        .unwrap();
    assert_eq!(ok.get_ref().id, "a");
    // NOT_FOUND and INTERNAL: tonic answers them trailers-only, the status in the headers.
    let missing = unary(&mut grpc, "/test.v1.Things/Get", ask("missing", 0))
        .await
        .unwrap_err();
    assert_eq!(missing.code(), tonic::Code::NotFound);
    let boom = unary(&mut grpc, "/test.v1.Things/Get", ask("boom", 0))
        .await
        .unwrap_err();
    assert_eq!(boom.code(), tonic::Code::Internal);

    let get = "rpc_method=\"test.v1.Things/Get\"";
    assert_eq!(
        wait_for_count(&metrics, &format!("{get},rpc_response_status_code=\"OK\"")).await,
        1
    );
    assert_eq!(
        wait_for_count(
            &metrics,
            &format!("{get},rpc_response_status_code=\"NOT_FOUND\"")
        )
        .await,
        1,
        "a client error carries no error_type"
    );
    assert_eq!(
        wait_for_count(
            &metrics,
            &format!("{get},rpc_response_status_code=\"INTERNAL\",error_type=\"INTERNAL\"")
        )
        .await,
        1,
        "a server fault carries error_type"
    );

    let lines = access_lines(&writer);
    let statuses: Vec<&str> = lines
        .iter()
        .map(|l| l["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["OK", "NOT_FOUND", "INTERNAL"], "{lines:#?}");
    for line in &lines {
        assert_eq!(line["route"], "test.v1.Things/Get");
        assert_eq!(line["path"], "/test.v1.Things/Get");
        assert_eq!(line["method"], "grpc");
    }
    // The handler's own line carries the call's request ID.
    let handled = writer
        .json_lines()
        .into_iter()
        .find(|l| l["message"] == "handling Get")
        .unwrap();
    assert_eq!(handled["request_id"], lines[0]["request_id"]);
}

#[tokio::test(flavor = "current_thread")]
async fn a_stream_is_timed_to_its_end_and_its_trailers_say_the_status() {
    let metrics = Metrics::new();
    let addr = serve(GrpcLayer::new(&metrics)).await;
    let mut grpc = client(addr).await;
    let list = "rpc_method=\"test.v1.Things/List\"";

    grpc.ready().await.unwrap();
    let mut stream = grpc
        .server_streaming(
            ask("gated", 1),
            PathAndQuery::from_static("/test.v1.Things/List"),
            codec(),
        )
        .await
        .unwrap()
        .into_inner();
    assert_eq!(stream.message().await.unwrap().unwrap().id, "gated-0");
    // The answer started, its stream has not ended: the call is not over.
    assert_eq!(
        count(&metrics, &format!("{list},rpc_response_status_code=\"OK\"")),
        None
    );
    GATE.add_permits(1);
    assert_eq!(stream.message().await.unwrap().unwrap().id, "gated-1");
    assert!(stream.message().await.unwrap().is_none());
    assert_eq!(
        wait_for_count(&metrics, &format!("{list},rpc_response_status_code=\"OK\"")).await,
        1
    );

    // A status after data comes in the trailers.
    grpc.ready().await.unwrap();
    let mut stream = grpc
        .server_streaming(
            ask("fail", 2),
            PathAndQuery::from_static("/test.v1.Things/List"),
            codec(),
        )
        .await
        .unwrap()
        .into_inner();
    let mut received = 0;
    let status = loop {
        match stream.message().await {
            Ok(Some(_)) => received += 1,
            Ok(None) => panic!("the stream ended without its status"),
            Err(status) => break status,
        }
    };
    assert_eq!((received, status.code()), (2, tonic::Code::DataLoss));
    assert_eq!(
        wait_for_count(
            &metrics,
            &format!("{list},rpc_response_status_code=\"DATA_LOSS\",error_type=\"DATA_LOSS\"")
        )
        .await,
        1
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_stream_the_client_drops_is_cancelled() {
    let metrics = Metrics::new();
    let addr = serve(GrpcLayer::new(&metrics)).await;
    let mut grpc = client(addr).await;
    grpc.ready().await.unwrap();
    let mut stream = grpc
        .server_streaming(
            ask("hang", 1),
            PathAndQuery::from_static("/test.v1.Things/List"),
            codec(),
        )
        .await
        .unwrap()
        .into_inner();
    assert_eq!(stream.message().await.unwrap().unwrap().id, "hang-0");
    drop(stream);
    assert_eq!(
        wait_for_count(
            &metrics,
            "rpc_method=\"test.v1.Things/List\",rpc_response_status_code=\"CANCELLED\""
        )
        .await,
        1,
        "CANCELLED is the caller's doing: no error_type"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn methods_the_server_does_not_serve_are_other() {
    let metrics = Metrics::new();
    let writer = MemoryWriter::new();
    let _guard = tracing::subscriber::set_default(subscriber(&writer));
    // Listed: only the methods of test.v1.Things can be named.
    let addr = serve(GrpcLayer::new(&metrics).named_service::<Things>()).await;
    let mut grpc = client(addr).await;
    for path in [
        "/test.v1.Things/Nope",
        "/made.up.Service/Method",
        "/test.v1.Things/Nope2",
    ] {
        grpc.ready().await.unwrap();
        let status = grpc
            .unary::<_, Answer, _>(ask("a", 0), PathAndQuery::from_static(path), codec())
            .await
            .unwrap_err();
        assert_eq!(status.code(), tonic::Code::Unimplemented);
    }
    assert_eq!(
        wait_for_count(
            &metrics,
            "rpc_method=\"_OTHER\",rpc_response_status_code=\"UNIMPLEMENTED\",error_type=\"UNIMPLEMENTED\""
        )
        .await,
        3
    );
    let text = metrics.render();
    assert!(
        !text.contains("Nope") && !text.contains("made.up"),
        "{text}"
    );
    let lines = access_lines(&writer);
    assert_eq!(lines.len(), 3);
    assert!(lines.iter().all(|l| l["route"] == "_OTHER"), "{lines:#?}");
    // The path stays in the access line, cut to a bounded length, as over HTTP.
    assert_eq!(lines[1]["path"], "/made.up.Service/Method");
}

#[tokio::test(flavor = "current_thread")]
async fn a_malformed_request_id_is_replaced_never_echoed_or_logged() {
    let metrics = Metrics::new();
    let writer = MemoryWriter::new();
    let _guard = tracing::subscriber::set_default(subscriber(&writer));
    let addr = serve(GrpcLayer::new(&metrics)).await;
    let mut grpc = client(addr).await;

    let mut request = ask("a", 0);
    request
        .metadata_mut()
        .insert("x-request-id", "forged id, with spaces".parse().unwrap());
    let response = unary(&mut grpc, "/test.v1.Things/Get", request)
        .await
        .unwrap();
    let returned = response
        .metadata()
        .get("x-request-id")
        .unwrap()
        .to_str()
        .unwrap();
    assert_ne!(returned, "forged id, with spaces");
    assert!(obs_service::catalogue::is_valid_request_id(returned));

    let mut request = ask("missing", 0);
    request
        .metadata_mut()
        .insert("x-request-id", "req-grpc-1".parse().unwrap());
    let status = unary(&mut grpc, "/test.v1.Things/Get", request)
        .await
        .unwrap_err();
    // Trailers-only answers carry it too.
    assert_eq!(status.metadata().get("x-request-id").unwrap(), "req-grpc-1");

    wait_for_count(
        &metrics,
        "rpc_method=\"test.v1.Things/Get\",rpc_response_status_code=\"NOT_FOUND\"",
    )
    .await;
    let logs = writer.contents();
    assert!(!logs.contains("forged"), "{logs}");
    let ids: Vec<String> = access_lines(&writer)
        .iter()
        .map(|l| l["request_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, [returned.to_owned(), "req-grpc-1".to_owned()]);
}

#[tokio::test(flavor = "current_thread")]
async fn the_health_service_follows_readiness_and_draining() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use tonic_health::pb::health_client::HealthClient;
    use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus};

    let up = Arc::new(AtomicBool::new(true));
    let drain = obs_service::shutdown::Drain::new();
    let health = {
        let up = up.clone();
        obs_service::Health::new("1")
            .drain(&drain)
            .check("store", move || {
                let up = up.load(Ordering::Relaxed);
                async move {
                    if up {
                        Ok(())
                    } else {
                        Err("store refused the connection")
                    }
                }
            })
    };
    let (reporter, service) = tonic_health::server::health_reporter();
    let sync = obs_service::grpc::HealthSync::new(health).service("test.v1.Things");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
    );
    let mut client = HealthClient::new(channel(addr).await);
    let mut status = async |service: &str| {
        client
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner()
            .status()
    };

    sync.sync_once(&reporter).await;
    assert_eq!(status("").await, ServingStatus::Serving);
    assert_eq!(status("test.v1.Things").await, ServingStatus::Serving);
    up.store(false, Ordering::Relaxed);
    sync.sync_once(&reporter).await;
    assert_eq!(status("").await, ServingStatus::NotServing);
    assert_eq!(status("test.v1.Things").await, ServingStatus::NotServing);
    up.store(true, Ordering::Relaxed);
    sync.sync_once(&reporter).await;
    assert_eq!(status("").await, ServingStatus::Serving);

    // Draining: NOT_SERVING from the running task, without waiting for the next run of the
    // checks.
    let task = sync.interval(Duration::from_secs(3600)).spawn(reporter);
    drain.start();
    let mut seen = ServingStatus::Serving;
    for _ in 0..500 {
        seen = status("test.v1.Things").await;
        if seen == ServingStatus::NotServing {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(seen, ServingStatus::NotServing);
    assert_eq!(status("").await, ServingStatus::NotServing);
    task.abort();
}

/// The count of `rpc_client_call_duration_seconds` with exactly these labels (beside
/// `rpc_system_name="grpc"` and `rpc_method`).
fn client_count(metrics: &Metrics, method: &str, labels: &str) -> Option<u64> {
    let series = format!(
        "rpc_client_call_duration_seconds_count{{rpc_system_name=\"grpc\",rpc_method=\"{method}\",{labels}}} "
    );
    metrics
        .render()
        .lines()
        .find_map(|l| l.strip_prefix(&series).map(|v| v.parse().unwrap()))
}

/// A client through the SDK's gRPC client layer, to `endpoint`.
fn layered_client(
    metrics: &Metrics,
    endpoint: &str,
) -> tonic::client::Grpc<obs_service::grpc::GrpcClientService<tonic::transport::Channel>> {
    let endpoint: http::Uri = endpoint.parse().unwrap();
    let channel = tower::ServiceBuilder::new()
        .layer(obs_service::grpc::GrpcClientLayer::new(metrics, &endpoint))
        .service(tonic::transport::Endpoint::from(endpoint).connect_lazy());
    tonic::client::Grpc::new(channel)
}

#[tokio::test(flavor = "current_thread")]
async fn outgoing_calls_are_recorded_by_method_server_and_status_and_carry_the_request_id() {
    let server_metrics = Metrics::new();
    let writer = MemoryWriter::new();
    let _guard = tracing::subscriber::set_default(subscriber(&writer));
    let addr = serve(GrpcLayer::new(&server_metrics)).await;
    let metrics = Metrics::new();
    let mut grpc = layered_client(&metrics, &format!("http://{addr}"));

    let id = obs_service::RequestId::parse("outgoing-grpc-1").unwrap();
    let calls = async {
        for which in ["a", "b", "missing", "boom"] {
            grpc.ready().await.unwrap();
            let _ = grpc
                .unary(
                    ask(which, 0),
                    PathAndQuery::from_static("/test.v1.Things/Get"),
                    codec(),
                )
                .await;
        }
    };
    id.scope(calls).await;

    let server = format!(
        "server_address=\"127.0.0.1\",server_port=\"{}\"",
        addr.port()
    );
    let get = "test.v1.Things/Get";
    assert_eq!(
        client_count(
            &metrics,
            get,
            &format!("{server},rpc_response_status_code=\"OK\"")
        ),
        Some(2)
    );
    // From the client's side, every code but OK is an error.
    for code in ["NOT_FOUND", "INTERNAL"] {
        assert_eq!(
            client_count(
                &metrics,
                get,
                &format!("{server},rpc_response_status_code=\"{code}\",error_type=\"{code}\"")
            ),
            Some(1),
            "{code}:\n{}",
            metrics.render()
        );
    }
    // The server saw the caller's request ID on every call.
    wait_for_count(
        &server_metrics,
        "rpc_method=\"test.v1.Things/Get\",rpc_response_status_code=\"INTERNAL\",error_type=\"INTERNAL\"",
    )
    .await;
    let ids: Vec<String> = access_lines(&writer)
        .iter()
        .map(|l| l["request_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 4, "{ids:?}");
    assert!(ids.iter().all(|i| i == "outgoing-grpc-1"), "{ids:?}");
}

#[tokio::test(flavor = "current_thread")]
async fn outgoing_calls_without_an_answer_and_abandoned_streams() {
    // A port nothing listens on: the call fails before any answer.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let metrics = Metrics::new();
    let mut grpc = layered_client(&metrics, &format!("http://{closed}"));
    let _ = grpc.ready().await;
    let status = grpc
        .unary(
            ask("a", 0),
            PathAndQuery::from_static("/test.v1.Things/Get"),
            codec(),
        )
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unavailable);
    assert_eq!(
        client_count(
            &metrics,
            "test.v1.Things/Get",
            &format!(
                "server_address=\"127.0.0.1\",server_port=\"{}\",error_type=\"connect_error\"",
                closed.port()
            )
        ),
        Some(1),
        "{}",
        metrics.render()
    );

    // A stream the caller drops before its end was cancelled by the caller.
    let addr = serve(GrpcLayer::without_metrics()).await;
    let mut grpc = layered_client(&metrics, &format!("http://{addr}"));
    grpc.ready().await.unwrap();
    let mut stream = grpc
        .server_streaming(
            ask("hang", 1),
            PathAndQuery::from_static("/test.v1.Things/List"),
            codec(),
        )
        .await
        .unwrap()
        .into_inner();
    assert_eq!(stream.message().await.unwrap().unwrap().id, "hang-0");
    assert!(
        !metrics.render().contains("test.v1.Things/List"),
        "recorded before its end:\n{}",
        metrics.render()
    );
    drop(stream);
    assert_eq!(
        client_count(
            &metrics,
            "test.v1.Things/List",
            &format!(
                "server_address=\"127.0.0.1\",server_port=\"{}\",rpc_response_status_code=\"CANCELLED\",error_type=\"CANCELLED\"",
                addr.port()
            )
        ),
        Some(1),
        "{}",
        metrics.render()
    );
}
