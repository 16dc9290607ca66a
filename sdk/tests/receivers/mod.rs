//! Local stand-ins for Loki, Sentry and an OpenTelemetry collector. Each decodes the real wire
//! format: Loki's snappy-compressed protobuf push, Sentry envelopes, OTLP protobuf over HTTP
//! and over gRPC. They run on their own thread and runtime, so tests on any runtime (or none)
//! can use them, and they can be told to refuse, hang, fail or rate-limit.

#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

/// How a receiver answers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    /// 200 (or 204 for Loki's push path).
    Accept,
    /// This status, with no `Retry-After`.
    Status(u16),
    /// 429 with `Retry-After: <seconds>`.
    TooMany { retry_after_secs: u64 },
    /// Accepts the request and never answers.
    Hang,
}

/// One request a receiver got.
#[derive(Debug, Clone)]
pub struct Captured {
    pub at: Instant,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// How the receiver answered it: only requests answered in [`Mode::Accept`] delivered
    /// their data.
    pub mode: Mode,
}

#[derive(Default)]
struct Inner {
    mode: Option<Mode>,
    requests: Vec<Captured>,
}

/// An HTTP receiver on 127.0.0.1.
#[derive(Clone)]
pub struct Receiver {
    pub addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
}

async fn handle(
    State(inner): State<Arc<Mutex<Inner>>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mode = {
        let mut inner = inner.lock().unwrap();
        let mode = inner.mode.unwrap_or(Mode::Accept);
        inner.requests.push(Captured {
            at: Instant::now(),
            path: uri.path().to_owned(),
            headers,
            body,
            mode,
        });
        mode
    };
    match mode {
        Mode::Accept if uri.path().ends_with("/push") => StatusCode::NO_CONTENT.into_response(),
        Mode::Accept => (StatusCode::OK, "{}").into_response(),
        Mode::Status(code) => StatusCode::from_u16(code).unwrap().into_response(),
        Mode::TooMany { retry_after_secs } => (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", retry_after_secs.to_string())],
        )
            .into_response(),
        Mode::Hang => std::future::pending().await,
    }
}

/// Runs `serve` on a new thread with its own runtime.
fn spawn_server<F, Fut>(serve: F)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()>,
{
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
            .block_on(serve());
    });
}

impl Receiver {
    /// Starts a receiver answering as `mode`.
    pub fn start(mode: Mode) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let inner = Arc::new(Mutex::new(Inner {
            mode: Some(mode),
            requests: Vec::new(),
        }));
        let state = inner.clone();
        spawn_server(move || async move {
            let app = axum::Router::new().fallback(handle).with_state(state);
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
        Receiver { addr, inner }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set_mode(&self, mode: Mode) {
        self.inner.lock().unwrap().mode = Some(mode);
    }

    pub fn requests(&self) -> Vec<Captured> {
        self.inner.lock().unwrap().requests.clone()
    }

    /// Waits (at most 20 s) until the requests so far satisfy `pred`, and returns them.
    pub fn wait_for(&self, what: &str, pred: impl Fn(&[Captured]) -> bool) -> Vec<Captured> {
        let started = Instant::now();
        loop {
            let requests = self.requests();
            if pred(&requests) {
                return requests;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "receiver never saw {what}; got {} requests",
                requests.len()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// The requests that delivered their data: those answered in [`Mode::Accept`].
pub fn accepted(requests: &[Captured]) -> Vec<Captured> {
    requests
        .iter()
        .filter(|r| r.mode == Mode::Accept)
        .cloned()
        .collect()
}

/// A TCP front for a receiver, on an address of its own, that can refuse connections for a
/// while as a restarting server does: while closed nothing listens on its port, and the
/// connections it had are cut.
pub struct Front {
    pub addr: SocketAddr,
    backend: SocketAddr,
    open: Arc<Mutex<Option<tokio::task::JoinHandle<()>>>>,
    runtime: tokio::runtime::Runtime,
}

impl Front {
    /// Opens a front forwarding to `backend`.
    pub fn start(backend: SocketAddr) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let front = Front {
            addr,
            backend,
            open: Arc::new(Mutex::new(None)),
            runtime,
        };
        front.open();
        front
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Listens again on the same address.
    pub fn open(&self) {
        let (addr, backend) = (self.addr, self.backend);
        let listener = self.runtime.block_on(async move {
            // The port was this front's a moment ago; give the OS a little time to free it.
            let until = Instant::now() + Duration::from_secs(20);
            loop {
                match tokio::net::TcpListener::bind(addr).await {
                    Ok(listener) => break listener,
                    Err(e) if Instant::now() < until => {
                        let _ = e;
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    Err(e) => panic!("cannot listen on {addr} again: {e}"),
                }
            }
        });
        let task = self.runtime.spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    continue;
                };
                connections.spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(backend).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        *self.open.lock().unwrap() = Some(task);
    }

    /// Stops listening and cuts every connection: new ones are refused until [`Front::open`].
    pub fn close(&self) {
        if let Some(task) = self.open.lock().unwrap().take() {
            // Aborting the accept loop drops the listener and, with its `JoinSet`, every
            // connection it forwards.
            task.abort();
            let _ = self.runtime.block_on(task);
        }
    }
}

/// An address nothing listens on: connections are refused.
pub fn refusing_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}

// ---------------------------------------------------------------------------------------------
// Loki: snappy-compressed protobuf `PushRequest`. No crate ships these messages with structured
// metadata, so they are declared here by hand after Loki's `pkg/push/push.proto` (independently
// of the SDK's own copy, so a mistake there cannot cancel out).

#[derive(Clone, PartialEq, prost::Message)]
pub struct PushRequest {
    #[prost(message, repeated, tag = "1")]
    pub streams: Vec<StreamAdapter>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct StreamAdapter {
    #[prost(string, tag = "1")]
    pub labels: String,
    #[prost(message, repeated, tag = "2")]
    pub entries: Vec<EntryAdapter>,
    #[prost(uint64, tag = "3")]
    pub hash: u64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct EntryAdapter {
    #[prost(message, optional, tag = "1")]
    pub timestamp: Option<Timestamp>,
    #[prost(string, tag = "2")]
    pub line: String,
    #[prost(message, repeated, tag = "3")]
    pub structured_metadata: Vec<LabelPairAdapter>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct LabelPairAdapter {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, tag = "2")]
    pub value: String,
}

#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct Timestamp {
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

/// Decodes a Loki push body (raw snappy block + protobuf).
pub fn decode_loki(body: &[u8]) -> PushRequest {
    let raw = snap::raw::Decoder::new()
        .decompress_vec(body)
        .expect("a snappy-compressed body");
    prost::Message::decode(raw.as_slice()).expect("a logproto PushRequest")
}

/// Parses Loki's label text `{a="x", b="y"}` into pairs.
pub fn parse_labels(text: &str) -> Vec<(String, String)> {
    let inner = text
        .trim()
        .strip_prefix('{')
        .and_then(|t| t.strip_suffix('}'))
        .expect("labels in braces");
    let mut out = Vec::new();
    let mut rest = inner.trim();
    while !rest.is_empty() {
        let (name, after) = rest.split_once('=').expect("name=value");
        let after = after.strip_prefix('"').expect("a quoted value");
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            let (i, c) = chars.next().expect("a closing quote");
            match c {
                '\\' => {
                    let (_, next) = chars.next().unwrap();
                    value.push(if next == 'n' { '\n' } else { next });
                }
                '"' => break i,
                c => value.push(c),
            }
        };
        out.push((name.trim().to_owned(), value));
        rest = after[end + 1..]
            .trim_start()
            .trim_start_matches(',')
            .trim_start();
    }
    out
}

/// Every Loki entry of every push so far, with its stream's labels.
pub fn loki_entries(requests: &[Captured]) -> Vec<(Vec<(String, String)>, EntryAdapter)> {
    requests
        .iter()
        .filter(|r| r.path == "/loki/api/v1/push")
        .flat_map(|r| decode_loki(&r.body).streams)
        .flat_map(|s| {
            let labels = parse_labels(&s.labels);
            s.entries.into_iter().map(move |e| (labels.clone(), e))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Sentry envelopes: a JSON header line, then items, each a JSON item-header line and a payload
// of `length` bytes (or up to the next newline when the header has no length).

/// One envelope item: its header and its payload (parsed as JSON when it is JSON).
#[derive(Debug, Clone)]
pub struct EnvelopeItem {
    pub header: serde_json::Value,
    pub payload: serde_json::Value,
}

/// Parses a Sentry envelope into its header and items.
pub fn decode_envelope(body: &[u8]) -> (serde_json::Value, Vec<EnvelopeItem>) {
    let (header_line, mut rest) = split_line(body);
    let header = serde_json::from_slice(header_line).expect("an envelope header");
    let mut items = Vec::new();
    while !rest.is_empty() {
        let (item_header, after) = split_line(rest);
        if item_header.is_empty() {
            rest = after;
            continue;
        }
        let item_header: serde_json::Value =
            serde_json::from_slice(item_header).expect("an item header");
        let (payload, after) = match item_header.get("length").and_then(|l| l.as_u64()) {
            Some(len) => {
                let len = len as usize;
                let payload = &after[..len];
                let after = &after[len..];
                (payload, after.strip_prefix(b"\n").unwrap_or(after))
            }
            None => split_line(after),
        };
        let payload = serde_json::from_slice(payload)
            .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(payload).into()));
        items.push(EnvelopeItem {
            header: item_header,
            payload,
        });
        rest = after;
    }
    (header, items)
}

fn split_line(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|b| *b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[]),
    }
}

/// The payloads of every `event` item of every envelope so far.
pub fn sentry_events(requests: &[Captured]) -> Vec<serde_json::Value> {
    requests
        .iter()
        .filter(|r| r.path.ends_with("/envelope/"))
        .flat_map(|r| decode_envelope(&r.body).1)
        .filter(|item| item.header["type"] == "event")
        .map(|item| item.payload)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// OTLP: `ExportTraceServiceRequest` over HTTP (protobuf body) and over gRPC.

pub use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
pub use opentelemetry_proto::tonic::trace::v1::Span as OtlpSpan;

/// Decodes an OTLP/HTTP protobuf body.
pub fn decode_otlp(body: &[u8]) -> ExportTraceServiceRequest {
    prost::Message::decode(body).expect("an ExportTraceServiceRequest")
}

/// Every span of every OTLP/HTTP request so far, with its resource's `service.name`.
pub fn otlp_spans(requests: &[Captured]) -> Vec<(String, OtlpSpan)> {
    requests
        .iter()
        .filter(|r| r.path == "/v1/traces")
        .map(|r| decode_otlp(&r.body))
        .flat_map(spans_of)
        .collect()
}

/// The spans of one request, with their resource's `service.name`.
pub fn spans_of(request: ExportTraceServiceRequest) -> Vec<(String, OtlpSpan)> {
    use opentelemetry_proto::tonic::common::v1::any_value::Value;
    let mut out = Vec::new();
    for resource_spans in request.resource_spans {
        let service = resource_spans
            .resource
            .iter()
            .flat_map(|r| r.attributes.iter())
            .find(|kv| kv.key == "service.name")
            .and_then(|kv| kv.value.as_ref()?.value.as_ref())
            .map(|v| match v {
                Value::StringValue(s) => s.clone(),
                other => format!("{other:?}"),
            })
            .unwrap_or_default();
        for scope_spans in resource_spans.scope_spans {
            for span in scope_spans.spans {
                out.push((service.clone(), span));
            }
        }
    }
    out
}

/// An OTLP gRPC receiver (the collector's `TraceService`).
#[derive(Clone)]
pub struct GrpcReceiver {
    pub addr: SocketAddr,
    got: Arc<Mutex<Vec<ExportTraceServiceRequest>>>,
}

struct TraceSvc(Arc<Mutex<Vec<ExportTraceServiceRequest>>>);

#[async_trait::async_trait]
impl opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::TraceService
    for TraceSvc
{
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<
        tonic::Response<
            opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse,
        >,
        tonic::Status,
    > {
        self.0.lock().unwrap().push(request.into_inner());
        Ok(tonic::Response::new(Default::default()))
    }
}

impl GrpcReceiver {
    pub fn start() -> Self {
        use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::TraceServiceServer;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let got = Arc::new(Mutex::new(Vec::new()));
        let svc = TraceSvc(got.clone());
        spawn_server(move || async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            tonic::transport::Server::builder()
                .add_service(TraceServiceServer::new(svc))
                .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener))
                .await
                .unwrap();
        });
        GrpcReceiver { addr, got }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Waits (at most 20 s) until the spans received satisfy `pred`, and returns them.
    pub fn wait_for(
        &self,
        what: &str,
        pred: impl Fn(&[(String, OtlpSpan)]) -> bool,
    ) -> Vec<(String, OtlpSpan)> {
        let started = Instant::now();
        loop {
            let spans: Vec<_> = self
                .got
                .lock()
                .unwrap()
                .clone()
                .into_iter()
                .flat_map(spans_of)
                .collect();
            if pred(&spans) {
                return spans;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "gRPC receiver never saw {what}; got {} spans",
                spans.len()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Lowercase hex of an id's bytes, as W3C trace context writes it.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Runs `f` on a new thread and waits at most `limit` for it: shutdown must never hang.
pub fn finishes_within<T: Send + 'static>(
    limit: Duration,
    what: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(limit)
        .unwrap_or_else(|_| panic!("{what} did not finish within {limit:?}"))
}
