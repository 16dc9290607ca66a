//! The tower layer for tonic *clients*: outgoing gRPC calls, observed as outgoing HTTP calls
//! are ([`client`](crate::client)), under the stable OpenTelemetry RPC conventions.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll, ready};
use std::time::Instant;

use http::uri::PathAndQuery;
use http::{Request, Response};
use http_body::{Body, Frame, SizeHint};
use metrics::{Histogram, Key, Label, Recorder as _};
use tracing::Span;

use super::Code;
use crate::catalogue::{self, ClientError};
use crate::client::{SPAN_TARGET, Target, classify, pass_on};
use crate::exposition::{METADATA, Metrics};

/// A tower layer for tonic *clients* (a `tonic::transport::Channel`, or any gRPC
/// `Service<http::Request<B>>`): each call carries the request ID and trace headers, is a
/// client span while something traces, and is recorded in `rpc_client_call_duration_seconds`
/// by `rpc_method`, `server_address`, `server_port` and `rpc_response_status_code`, with
/// `error_type` on every code but `OK`, or `timeout`, `connect_error` or `_OTHER` when no
/// answer came. A call is timed to the end of its response stream; one dropped before its end
/// counts as `CANCELLED`.
///
/// tonic sends its requests with the method's path alone, so the layer is told the server it
/// stands in front of, the channel's endpoint:
///
/// ```no_run
/// # async fn f() -> Result<(), Box<dyn std::error::Error>> {
/// use obs_service::{Metrics, grpc::GrpcClientLayer};
///
/// let metrics = Metrics::new();
/// let endpoint: http::Uri = "http://users.internal:50051".parse()?;
/// let channel = tonic::transport::Endpoint::from(endpoint.clone()).connect().await?;
/// let channel = tower::ServiceBuilder::new()
///     .layer(GrpcClientLayer::new(&metrics, &endpoint))
///     .service(channel);
/// // A generated client takes it as it takes the channel: `UsersClient::new(channel)`.
/// # let _ = channel; Ok(()) }
/// ```
#[derive(Clone)]
pub struct GrpcClientLayer {
    shared: Arc<ClientShared>,
}

struct ClientShared {
    /// The server of requests whose URI names none (tonic's).
    target: Option<Target>,
    metrics: Option<ClientMetrics>,
}

impl std::fmt::Debug for GrpcClientLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrpcClientLayer")
            .field("target", &self.shared.target)
            .field("metrics", &self.shared.metrics.is_some())
            .finish()
    }
}

impl GrpcClientLayer {
    /// Records the calls to the server of `endpoint` (its host and port, nothing else) into
    /// `metrics`.
    pub fn new(metrics: &Metrics, endpoint: &http::Uri) -> Self {
        Self {
            shared: Arc::new(ClientShared {
                target: Target::of(endpoint),
                metrics: Some(ClientMetrics::new(metrics)),
            }),
        }
    }

    /// Passes the request ID and trace headers on and makes client spans, but records no
    /// metrics.
    pub fn without_metrics(endpoint: &http::Uri) -> Self {
        Self {
            shared: Arc::new(ClientShared {
                target: Target::of(endpoint),
                metrics: None,
            }),
        }
    }
}

impl<S> tower_layer::Layer<S> for GrpcClientLayer {
    type Service = GrpcClientService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GrpcClientService {
            inner,
            shared: self.shared.clone(),
        }
    }
}

/// The service of [`GrpcClientLayer`].
#[derive(Clone)]
pub struct GrpcClientService<S> {
    inner: S,
    shared: Arc<ClientShared>,
}

impl<S> std::fmt::Debug for GrpcClientService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrpcClientService").finish_non_exhaustive()
    }
}

impl<S, ReqBody, ResBody> tower_service::Service<Request<ReqBody>> for GrpcClientService<S>
where
    S: tower_service::Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Error: std::error::Error + 'static,
{
    type Response = Response<GrpcClientBody<ResBody>>;
    type Error = S::Error;
    type Future = GrpcClientFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let target = Target::of(request.uri()).or_else(|| self.shared.target.clone());
        let path = request.uri().path_and_query().cloned();
        let call = ClientCall::start(
            self.shared.metrics.clone(),
            path,
            target,
            request.headers_mut(),
        );
        let inner = {
            let _entered = call.span.enter();
            self.inner.call(request)
        };
        GrpcClientFuture {
            inner,
            call: Some(call),
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`GrpcClientService`].
    pub struct GrpcClientFuture<F> {
        #[pin]
        inner: F,
        call: Option<ClientCall>,
    }
}

impl<F, ResBody, E> Future for GrpcClientFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
    E: std::error::Error + 'static,
{
    type Output = Result<Response<GrpcClientBody<ResBody>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = match this.call.as_ref() {
            Some(call) => {
                let _entered = call.span.enter();
                ready!(this.inner.poll(cx))
            }
            None => ready!(this.inner.poll(cx)),
        };
        let mut call = this.call.take();
        Poll::Ready(match result {
            Ok(response) => {
                // A trailers-only answer (or one that is not gRPC) says its status in the head;
                // any other says it in the trailers that end its stream.
                if let Some(call) = call.as_mut() {
                    call.code = Code::from_response_head(response.status(), response.headers());
                }
                let call = call.filter(|call| call.code.is_none());
                Ok(response.map(|inner| GrpcClientBody { inner, call }))
            }
            Err(error) => {
                if let Some(mut call) = call {
                    call.failure = Some(classify(&error));
                }
                Err(error)
            }
        })
    }
}

pin_project_lite::pin_project! {
    /// The response body of [`GrpcClientService`]: the call is recorded when it ends, with the
    /// status of its trailers, or when it is dropped before its end, as `CANCELLED`.
    pub struct GrpcClientBody<B> {
        #[pin]
        inner: B,
        call: Option<ClientCall>,
    }
}

impl<B: Body> Body for GrpcClientBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let mut this = self.project();
        let frame = ready!(this.inner.as_mut().poll_frame(cx));
        if let (Some(Ok(frame)), Some(call)) = (&frame, this.call.as_mut())
            && let Some(trailers) = frame.trailers_ref()
        {
            call.code = Some(Code::from_headers(trailers).unwrap_or(Code::Unknown));
        }
        let ended = frame.is_none() || this.inner.is_end_stream();
        if (ended || matches!(frame, Some(Err(_))))
            && let Some(mut call) = this.call.take()
        {
            // A stream that ended without a status broke the protocol; one that failed lost it.
            call.code.get_or_insert(Code::Unknown);
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl<B: std::fmt::Debug> std::fmt::Debug for GrpcClientBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrpcClientBody")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

/// One outgoing call, recorded when dropped: with the status it learnt, with the reason no
/// answer came, or as `CANCELLED` when neither (the caller abandoned it).
struct ClientCall {
    start: Instant,
    path: Option<PathAndQuery>,
    target: Option<Target>,
    span: Span,
    metrics: Option<ClientMetrics>,
    code: Option<Code>,
    failure: Option<ClientError>,
}

impl ClientCall {
    fn start(
        metrics: Option<ClientMetrics>,
        path: Option<PathAndQuery>,
        target: Option<Target>,
        headers: &mut http::HeaderMap,
    ) -> Self {
        let method = method_label(path.as_ref());
        let span = pass_on(headers, || {
            let (host, port) = target.as_ref().map_or(("", 0), |t| (t.host(), t.port()));
            tracing::info_span!(
                target: SPAN_TARGET,
                "call",
                otel.name = method,
                otel.kind = "client",
                otel.status_code = tracing::field::Empty,
                rpc.system.name = catalogue::RPC_SYSTEM_GRPC,
                rpc.method = method,
                server.address = host,
                server.port = port,
                rpc.response.status_code = tracing::field::Empty,
                error.r#type = tracing::field::Empty,
            )
        });
        Self {
            start: Instant::now(),
            path,
            target,
            span,
            metrics,
            code: None,
            failure: None,
        }
    }
}

impl Drop for ClientCall {
    fn drop(&mut self) {
        let elapsed = self.start.elapsed();
        let (code, error) = match (self.code, self.failure) {
            (Some(code), _) => (Some(code), (code != Code::Ok).then(|| code.as_str())),
            (None, Some(failure)) => (None, Some(failure.as_str())),
            (None, None) => (Some(Code::Cancelled), Some(Code::Cancelled.as_str())),
        };
        if !self.span.is_none() {
            if let Some(code) = code {
                self.span.record("rpc.response.status_code", code.as_str());
            }
            if let Some(error) = error {
                self.span.record("otel.status_code", "error");
                self.span.record("error.type", error);
            }
        }
        if let (Some(metrics), Some(target)) = (&self.metrics, &self.target) {
            let key = HandleKey {
                port: target.port(),
                code,
                error,
            };
            let method = method_label(self.path.as_ref());
            metrics.record(method, target.host(), key, elapsed.as_secs_f64());
        }
    }
}

/// The `rpc_method` of a call: `package.Service/Method` from its path `/package.Service/Method`,
/// `_OTHER` for a path of another shape.
fn method_label(path: Option<&PathAndQuery>) -> &str {
    path.map(PathAndQuery::path)
        .and_then(|p| p.strip_prefix('/'))
        .filter(|m| matches!(m.split_once('/'), Some((s, m)) if !s.is_empty() && !m.is_empty() && !m.contains('/')))
        .unwrap_or(catalogue::OTHER_METHOD)
}

/// Where outgoing gRPC calls are recorded. Cheap to clone.
#[derive(Clone)]
struct ClientMetrics {
    registry: Metrics,
    handles: Arc<Handles>,
}

/// Histogram handles by method, then by server, port, status and error: registering through
/// the recorder builds a label vector and hashes it on every call. The methods and servers are
/// the ones this service's code calls, not its clients'.
type Handles =
    RwLock<HashMap<Box<str>, Vec<(Box<str>, HandleKey, Histogram)>, rustc_hash::FxBuildHasher>>;

#[derive(Clone, Copy, PartialEq, Eq)]
struct HandleKey {
    port: u16,
    code: Option<Code>,
    error: Option<&'static str>,
}

impl ClientMetrics {
    fn new(registry: &Metrics) -> Self {
        Self {
            registry: registry.clone(),
            handles: Arc::default(),
        }
    }

    fn record(&self, method: &str, host: &str, key: HandleKey, seconds: f64) {
        if let Some((_, _, handle)) = self
            .handles
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(method)
            .and_then(|handles| handles.iter().find(|(h, k, _)| **h == *host && *k == key))
        {
            handle.record(seconds);
            return;
        }
        let mut labels = vec![
            Label::new(
                catalogue::labels::RPC_SYSTEM_NAME,
                catalogue::RPC_SYSTEM_GRPC,
            ),
            Label::new(catalogue::labels::RPC_METHOD, method.to_owned()),
            Label::new(catalogue::labels::SERVER_ADDRESS, host.to_owned()),
            Label::new(catalogue::labels::SERVER_PORT, key.port.to_string()),
        ];
        if let Some(code) = key.code {
            labels.push(Label::new(
                catalogue::labels::RPC_RESPONSE_STATUS_CODE,
                code.as_str(),
            ));
        }
        if let Some(error) = key.error {
            labels.push(Label::new(catalogue::labels::ERROR_TYPE, error));
        }
        let handle = self.registry.recorder().register_histogram(
            &Key::from_parts(catalogue::RPC_CLIENT_CALL_DURATION.name, labels),
            &METADATA,
        );
        handle.record(seconds);
        self.handles
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .entry(method.into())
            .or_default()
            .push((host.into(), key, handle));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_are_named_from_their_path() {
        let label = |p: &str| method_label(Some(&p.parse().unwrap())).to_owned();
        assert_eq!(label("/demo.v1.Users/Get"), "demo.v1.Users/Get");
        for odd in ["/", "/only", "/a/b/c", "//Get", "/demo.v1.Users/"] {
            assert_eq!(label(odd), "_OTHER", "{odd}");
        }
        assert_eq!(method_label(None), "_OTHER");
    }
}
