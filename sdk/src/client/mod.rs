//! Outgoing calls, observed like incoming ones.
//!
//! A call through one of the SDK's client integrations
//! - carries the current request's ID (`X-Request-ID`) and, while something traces, the trace
//!   headers of a client span (`traceparent`, and Sentry's when Sentry runs);
//! - is a client span (`otel.kind = "client"`, named after the method) when a tracing
//!   integration runs, so Tempo pairs it with the server span of the service it called;
//! - is recorded in `http_client_request_duration_seconds` by method, `server_address`,
//!   `server_port` and status code, with `error_type` when it failed: the status code of an
//!   error answer, or `timeout`, `connect_error` or `_OTHER` when no answer came
//!   ([`ClientError`]).
//!
//! Only the URL's host and port are recorded: never its path, query or credentials, so a label
//! or a span cannot leak them or grow a series per URL; and the errors the reqwest integration
//! returns name their URL without its credentials and query, so a service that logs them does
//! not leak those either.
//!
//! The integrations: [`HttpClientLayer`] for tower clients (hyper's, or any
//! `Service<http::Request<B>>`), and with the `reqwest` feature [`ClientMiddleware`] for
//! reqwest through `reqwest-middleware`:
//!
//! ```no_run
//! # #[cfg(feature = "reqwest")]
//! # async fn f() -> Result<(), Box<dyn std::error::Error>> {
//! let metrics = obs_service::Metrics::new();
//! let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
//!     .with(obs_service::client::ClientMiddleware::new(&metrics))
//!     .build();
//! let answer = client.get("http://inventory.internal/items").send().await?;
//! # Ok(()) }
//! ```

#[cfg(feature = "reqwest")]
mod reqwest;
mod tower;

#[cfg(feature = "reqwest")]
#[cfg_attr(docsrs, doc(cfg(feature = "reqwest")))]
pub use self::reqwest::ClientMiddleware;
pub use self::tower::{HttpClientLayer, HttpClientService, ResponseFuture};

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use http::HeaderMap;
use metrics::{Histogram, Key, Label, Recorder as _};
use tracing::Span;

use crate::catalogue::{self, ClientError};
use crate::exposition::{METADATA, Metrics};
use crate::request_id::{REQUEST_ID_HEADER, RequestId};

/// The target of client spans.
pub(crate) const SPAN_TARGET: &str = "obs::client";

/// Where outgoing calls are recorded. Cheap to clone.
#[derive(Clone)]
pub(crate) struct ClientMetrics {
    registry: Metrics,
    handles: Arc<Handles>,
}

/// Histogram handles by server address, then by method, port, status and error: registering
/// through the recorder builds a label vector and hashes it on every call. The addresses are
/// the services this one calls, a set its code decides, not its clients.
type Handles = RwLock<HashMap<Box<str>, Vec<(HandleKey, Histogram)>, rustc_hash::FxBuildHasher>>;

#[derive(Clone, Copy, PartialEq, Eq)]
struct HandleKey {
    method: &'static str,
    port: u16,
    status: Option<u16>,
    error: Option<ErrorType>,
}

/// An outgoing call's `error_type`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum ErrorType {
    /// An error answer: its status code.
    Status,
    /// No answer.
    NoAnswer(ClientError),
}

impl ClientMetrics {
    pub(crate) fn new(registry: &Metrics) -> Self {
        Self {
            registry: registry.clone(),
            handles: Arc::default(),
        }
    }

    fn record(&self, target: &Target, key: HandleKey, seconds: f64) {
        if let Some(handle) = self
            .handles
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(target.host.as_str())
            .and_then(|handles| handles.iter().find(|(k, _)| *k == key))
        {
            handle.1.record(seconds);
            return;
        }
        // The status code and `error_type` are left out where they have no value (no answer;
        // a success), as OpenTelemetry's exporters leave unset attributes out.
        let mut labels = vec![
            Label::new(catalogue::labels::HTTP_REQUEST_METHOD, key.method),
            Label::new(catalogue::labels::SERVER_ADDRESS, target.host.clone()),
            Label::new(catalogue::labels::SERVER_PORT, key.port.to_string()),
        ];
        if let Some(status) = key.status {
            labels.push(Label::new(
                catalogue::labels::HTTP_RESPONSE_STATUS_CODE,
                status.to_string(),
            ));
        }
        let error = match key.error {
            None => None,
            Some(ErrorType::Status) => key.status.map(|s| s.to_string()),
            Some(ErrorType::NoAnswer(error)) => Some(error.as_str().to_owned()),
        };
        if let Some(error) = error {
            labels.push(Label::new(catalogue::labels::ERROR_TYPE, error));
        }
        let handle = self.registry.recorder().register_histogram(
            &Key::from_parts(catalogue::HTTP_CLIENT_REQUEST_DURATION.name, labels),
            &METADATA,
        );
        handle.record(seconds);
        self.handles
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .entry(target.host.as_str().into())
            .or_default()
            .push((key, handle));
    }
}

/// The server a call goes to, from its URL: the host and the port, nothing else.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    host: String,
    port: u16,
}

impl Target {
    /// A server by its host and port.
    #[cfg_attr(
        not(feature = "reqwest"),
        allow(dead_code, reason = "reqwest hands its URL over in parts")
    )]
    pub(crate) fn new(host: &str, port: u16) -> Self {
        Self {
            host: host.to_ascii_lowercase(),
            port,
        }
    }

    /// The host, lowercase.
    #[cfg_attr(
        not(feature = "grpc"),
        allow(dead_code, reason = "read by the gRPC client")
    )]
    pub(crate) fn host(&self) -> &str {
        &self.host
    }

    /// The port.
    #[cfg_attr(
        not(feature = "grpc"),
        allow(dead_code, reason = "read by the gRPC client")
    )]
    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// The host and port of `uri` (the scheme's default port when it names none); `None` for a
    /// URI without a host, which no client can call.
    pub(crate) fn of(uri: &http::Uri) -> Option<Self> {
        let host = uri.host()?.to_ascii_lowercase();
        let port = uri.port_u16().unwrap_or(match uri.scheme_str() {
            Some("https") => 443,
            _ => 80,
        });
        Some(Self { host, port })
    }
}

/// One outgoing call, from the moment it is sent to its answer or failure.
pub(crate) struct Call {
    start: Instant,
    method: &'static str,
    target: Option<Target>,
    span: Span,
    metrics: Option<ClientMetrics>,
}

impl Call {
    /// Starts a call of `method` to `target`: opens its client span when a tracing integration
    /// runs, and adds the request ID and the trace headers to `headers`.
    pub(crate) fn start(
        metrics: Option<&ClientMetrics>,
        method: &http::Method,
        target: Option<Target>,
        headers: &mut HeaderMap,
    ) -> Self {
        let method = method_label(method);
        let span = pass_on(headers, || {
            let (host, port) = target
                .as_ref()
                .map_or(("", 0), |t| (t.host.as_str(), t.port));
            tracing::info_span!(
                target: SPAN_TARGET,
                "call",
                otel.name = method,
                otel.kind = "client",
                otel.status_code = tracing::field::Empty,
                http.request.method = method,
                server.address = host,
                server.port = port,
                http.response.status_code = tracing::field::Empty,
                error.r#type = tracing::field::Empty,
            )
        });
        Self {
            start: Instant::now(),
            method,
            target,
            span,
            metrics: metrics.cloned(),
        }
    }

    /// The call's span, to enter while it is under way.
    pub(crate) fn span(&self) -> &Span {
        &self.span
    }

    /// The call got an answer with `status`.
    pub(crate) fn answered(self, status: u16) {
        let error = (status >= 400).then_some(ErrorType::Status);
        self.finish(Some(status), error);
    }

    /// The call got no answer.
    pub(crate) fn failed(self, error: ClientError) {
        self.finish(None, Some(ErrorType::NoAnswer(error)));
    }

    fn finish(self, status: Option<u16>, error: Option<ErrorType>) {
        let elapsed = self.start.elapsed();
        if !self.span.is_none() {
            if let Some(status) = status {
                self.span.record("http.response.status_code", status);
            }
            match error {
                Some(ErrorType::Status) => {
                    self.span.record("otel.status_code", "error");
                    self.span
                        .record("error.type", status.unwrap_or_default().to_string());
                }
                Some(ErrorType::NoAnswer(error)) => {
                    self.span.record("otel.status_code", "error");
                    self.span.record("error.type", error.as_str());
                }
                None => {}
            }
        }
        if let (Some(metrics), Some(target)) = (&self.metrics, &self.target) {
            let key = HandleKey {
                method: self.method,
                port: target.port,
                status,
                error,
            };
            metrics.record(target, key, elapsed.as_secs_f64());
        }
    }
}

/// Passes the current request's ID on in `headers` (unless the caller set one) and, while a
/// tracing integration runs, opens the call's client span with `span` and adds the trace
/// headers that name it: the parent of the server span the call starts at the other end.
/// Every outgoing integration (HTTP, gRPC) goes through here, so they pass on the same.
pub(crate) fn pass_on(headers: &mut HeaderMap, span: impl FnOnce() -> Span) -> Span {
    if !headers.contains_key(&REQUEST_ID_HEADER)
        && let Some(id) = RequestId::current()
    {
        headers.insert(REQUEST_ID_HEADER, id.header_value().clone());
    }
    if !crate::propagation::any() {
        return Span::none();
    }
    let span = span();
    span.in_scope(|| crate::propagation::inject(headers));
    span
}

/// Why a call that got no answer failed, from its error and the errors that caused it: a
/// timeout or a failed connection when an I/O error of that kind (or, for timeouts set by a
/// tower layer, an error that says it timed out) is among them, `_OTHER` otherwise.
pub(crate) fn classify(error: &(dyn std::error::Error + 'static)) -> ClientError {
    use std::io::ErrorKind;
    let mut next = Some(error);
    while let Some(error) = next {
        if let Some(io) = error.downcast_ref::<std::io::Error>() {
            match io.kind() {
                ErrorKind::TimedOut => return ClientError::Timeout,
                ErrorKind::ConnectionRefused
                | ErrorKind::ConnectionReset
                | ErrorKind::ConnectionAborted
                | ErrorKind::NotConnected
                | ErrorKind::AddrNotAvailable
                | ErrorKind::HostUnreachable
                | ErrorKind::NetworkUnreachable => return ClientError::Connect,
                _ => {}
            }
        }
        // tower's `timeout::error::Elapsed` is "request timed out"; no crate names the type for
        // a client generic over its error.
        if error.to_string().contains("timed out") {
            return ClientError::Timeout;
        }
        next = error.source();
    }
    ClientError::Other
}

/// The `http_request_method` value of an outgoing call: the method when standard, `_OTHER`
/// otherwise.
fn method_label(method: &http::Method) -> &'static str {
    match *method {
        http::Method::GET => "GET",
        http::Method::POST => "POST",
        http::Method::PUT => "PUT",
        http::Method::DELETE => "DELETE",
        http::Method::PATCH => "PATCH",
        http::Method::HEAD => "HEAD",
        http::Method::OPTIONS => "OPTIONS",
        http::Method::CONNECT => "CONNECT",
        http::Method::TRACE => "TRACE",
        _ => catalogue::OTHER_METHOD,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_host_and_port_of_a_url_are_kept() {
        let target = Target::of(
            &"https://user:secret@Inventory.Internal/items?token=x"
                .parse()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(
            (target.host.as_str(), target.port),
            ("inventory.internal", 443)
        );
        let target = Target::of(&"http://10.0.0.7:8080/".parse().unwrap()).unwrap();
        assert_eq!((target.host.as_str(), target.port), ("10.0.0.7", 8080));
        assert!(Target::of(&"/relative".parse().unwrap()).is_none());
    }

    #[test]
    fn calls_are_recorded_by_server_method_status_and_error() {
        let registry = Metrics::new();
        let metrics = ClientMetrics::new(&registry);
        let uri: http::Uri = "http://user:pw@users.internal:8080/users/7?q=secret"
            .parse()
            .unwrap();
        for status in [200, 200, 503] {
            let call = Call::start(
                Some(&metrics),
                &http::Method::GET,
                Target::of(&uri),
                &mut HeaderMap::new(),
            );
            call.answered(status);
        }
        Call::start(
            Some(&metrics),
            &http::Method::POST,
            Target::of(&uri),
            &mut HeaderMap::new(),
        )
        .failed(ClientError::Timeout);
        let text = registry.render();
        let count = |labels: &str| {
            let series = format!("http_client_request_duration_seconds_count{{{labels}}} ");
            text.lines()
                .find_map(|l| l.strip_prefix(&series))
                .unwrap_or_else(|| panic!("{series} missing:\n{text}"))
                .to_owned()
        };
        let base = "server_address=\"users.internal\",server_port=\"8080\"";
        assert_eq!(
            count(&format!(
                "http_request_method=\"GET\",{base},http_response_status_code=\"200\""
            )),
            "2"
        );
        assert_eq!(
            count(&format!(
                "http_request_method=\"GET\",{base},http_response_status_code=\"503\",error_type=\"503\""
            )),
            "1"
        );
        assert_eq!(
            count(&format!(
                "http_request_method=\"POST\",{base},error_type=\"timeout\""
            )),
            "1"
        );
        assert!(
            !text.contains("secret") && !text.contains("/users/7"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn the_current_request_id_goes_along() {
        let uri: http::Uri = "http://users.internal/".parse().unwrap();
        let mut headers = HeaderMap::new();
        let id = RequestId::parse("outgoing-1").unwrap();
        id.clone()
            .scope(async {
                Call::start(None, &http::Method::GET, Target::of(&uri), &mut headers).answered(200)
            })
            .await;
        assert_eq!(headers.get(&REQUEST_ID_HEADER), Some(id.header_value()));
    }
}
