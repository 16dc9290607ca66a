//! Stand-ins the live tests run themselves: an Alertmanager webhook receiver, an OpenTelemetry
//! collector that decodes OTLP/HTTP protobuf, and a TCP proxy that can be cut to make a
//! dependency "go down".

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::task::JoinHandle;

/// An HTTP server on 127.0.0.1 recording every JSON body POSTed to it (Alertmanager's webhook
/// payload). Stops on drop.
pub struct Webhook {
    /// The URL to configure as the webhook.
    pub url: String,
    posts: Arc<Mutex<Vec<Value>>>,
    task: JoinHandle<()>,
}

impl Webhook {
    /// Starts the receiver on a free port.
    pub async fn start() -> Webhook {
        let posts = Arc::new(Mutex::new(Vec::new()));
        let sink = posts.clone();
        let app = axum::Router::new().fallback(axum::routing::post(
            move |axum::Json(body): axum::Json<Value>| {
                let sink = sink.clone();
                async move {
                    sink.lock().expect("webhook posts").push(body);
                    "ok"
                }
            },
        ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding the webhook receiver");
        let addr = listener.local_addr().expect("local address");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Webhook {
            url: format!("http://{addr}/alerts"),
            posts,
            task,
        }
    }

    /// Every payload received so far.
    pub fn posts(&self) -> Vec<Value> {
        self.posts.lock().expect("webhook posts").clone()
    }

    /// Every alert of every payload received so far, each with its payload's `receiver` and
    /// `status` added as `_receiver` and `_status`.
    pub fn alerts(&self) -> Vec<Value> {
        let mut out = Vec::new();
        for post in self.posts() {
            for alert in post["alerts"].as_array().into_iter().flatten() {
                let mut a = alert.clone();
                a["_receiver"] = post["receiver"].clone();
                a["_status"] = post["status"].clone();
                out.push(a);
            }
        }
        out
    }
}

impl Drop for Webhook {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Forwards TCP connections from a free 127.0.0.1 port to `upstream` until [`TcpProxy::cut`]:
/// then every connection is closed and new ones are refused, as if the upstream went down.
pub struct TcpProxy {
    /// The address clients connect to.
    pub addr: SocketAddr,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl TcpProxy {
    /// Starts forwarding to `upstream` (`host:port`).
    pub async fn start(upstream: &str) -> TcpProxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding the proxy");
        let addr = listener.local_addr().expect("local address");
        let tasks = Arc::new(Mutex::new(Vec::new()));
        let conns = tasks.clone();
        let upstream = upstream.to_string();
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let upstream = upstream.clone();
                let conn = tokio::spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                conns.lock().expect("proxy tasks").push(conn);
            }
        });
        tasks.lock().expect("proxy tasks").push(accept);
        TcpProxy { addr, tasks }
    }

    /// Closes every connection and the listening socket.
    pub fn cut(&self) {
        for t in self.tasks.lock().expect("proxy tasks").drain(..) {
            t.abort();
        }
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.cut();
    }
}

/// An OpenTelemetry collector on 127.0.0.1 taking OTLP/HTTP (`POST /v1/traces`, protobuf),
/// the SDK's default protocol: every request is decoded as the real
/// `ExportTraceServiceRequest`, and the trace ids of its spans are kept. Stops on drop.
pub struct OtlpCollector {
    /// The base URL to give as `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub endpoint: String,
    trace_ids: Arc<Mutex<Vec<String>>>,
    task: JoinHandle<()>,
}

impl OtlpCollector {
    /// Starts the collector on a free port. A body that does not decode is answered 400 and
    /// kept out.
    pub async fn start() -> OtlpCollector {
        use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
        let trace_ids = Arc::new(Mutex::new(Vec::new()));
        let sink = trace_ids.clone();
        let app = axum::Router::new().route(
            "/v1/traces",
            axum::routing::post(move |body: axum::body::Bytes| {
                let sink = sink.clone();
                async move {
                    let Ok(request) =
                        <ExportTraceServiceRequest as prost::Message>::decode(body.as_ref())
                    else {
                        return axum::http::StatusCode::BAD_REQUEST;
                    };
                    let mut ids = sink.lock().expect("collector trace ids");
                    for span in request
                        .resource_spans
                        .iter()
                        .flat_map(|r| &r.scope_spans)
                        .flat_map(|s| &s.spans)
                    {
                        ids.push(span.trace_id.iter().map(|b| format!("{b:02x}")).collect());
                    }
                    axum::http::StatusCode::OK
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding the OTLP collector");
        let addr = listener.local_addr().expect("local address");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        OtlpCollector {
            endpoint: format!("http://{addr}"),
            trace_ids,
            task,
        }
    }

    /// The trace id (32 lowercase hex digits) of every span received so far.
    pub fn trace_ids(&self) -> Vec<String> {
        self.trace_ids.lock().expect("collector trace ids").clone()
    }
}

impl Drop for OtlpCollector {
    fn drop(&mut self) {
        self.task.abort();
    }
}
