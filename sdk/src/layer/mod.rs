//! The tower layer that ties a request to its ID, its metrics and its log lines.
//!
//! For every request, [`HttpLayer`]:
//! - takes a well-formed incoming `X-Request-ID` or makes a new one, puts it in the request's
//!   extensions (as [`RequestId`](crate::RequestId)), makes it [current](crate::RequestId::current)
//!   for the handler's task, and returns it in the response header;
//! - opens a `request` span carrying `request_id`, `method` and `route`, so every log line written
//!   while handling the request carries the `request_id`;
//! - records `http_server_request_duration_seconds` and `http_server_active_requests`;
//! - writes one access-log line (target `obs::access`) with method, route, path, status,
//!   `duration_ms` and `request_id`.
//!
//! The duration runs from the moment the layer sees the request head to the end of the response
//! body (or the moment the body is dropped, if the client goes away first). Requests whose
//! response future is dropped before a response exists (client gone while the handler ran) are
//! not recorded in the histogram; the active-requests gauge is counted down through a guard in
//! every case, panics included.
//!
//! With axum, add the layer with `Router::layer` so the route template (`MatchedPath`) is known;
//! with another router, see [`RouteTemplate`]. Requests no route matched share the route value
//! [`UNMATCHED_ROUTE`](crate::catalogue::UNMATCHED_ROUTE), so a scan of random paths adds no
//! series.
//!
//! ```
//! use axum::{routing::get, Router};
//! use obs_service::{HttpLayer, Metrics};
//!
//! let metrics = Metrics::new();
//! let app: Router = Router::new()
//!     .route("/users/{id}", get(|| async { "hello" }))
//!     .merge(metrics.router())
//!     .layer(HttpLayer::new(&metrics));
//! ```

mod body;
mod labels;
mod service;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use metrics::{Gauge, Histogram, Key, Label, Recorder as _};
use tracing::Level;

pub use body::ResponseBody;
pub(crate) use labels::Route;
pub use labels::RouteTemplate;
pub use service::{HttpService, ResponseFuture};

use crate::catalogue;
use crate::exposition::{METADATA, Metrics};

/// The target and name of the request span, by which the JSON layer knows it.
pub(crate) const REQUEST_SPAN_TARGET: &str = "obs::http";
pub(crate) const REQUEST_SPAN_NAME: &str = "request";

/// Longest path written to the access log; longer paths are cut (the route template is what
/// matters, the path is only a hint).
const MAX_LOGGED_PATH: usize = 512;

/// Configuration of [`HttpService`]. Cheap to clone.
#[derive(Clone)]
pub struct HttpLayer {
    shared: Arc<Shared>,
}

#[derive(Clone)]
pub(crate) struct Shared {
    pub(crate) metrics: Option<HttpMetrics>,
    pub(crate) span: bool,
    /// Whether spans carry the `otel.*` fields an OpenTelemetry exporter reads.
    pub(crate) otel: bool,
    pub(crate) access_log: Option<Level>,
    pub(crate) exclude: Vec<String>,
}

#[derive(Clone)]
pub(crate) struct HttpMetrics {
    pub(crate) registry: Metrics,
    /// One gauge per method label, so counting a request in costs no registry lookup.
    pub(crate) active: Vec<Gauge>,
    pub(crate) durations: Arc<DurationHandles>,
}

/// A histogram handle for one method and status code.
type MethodStatusHandle = (&'static str, u16, Histogram);

/// Histogram handles by route, method and status.
///
/// Registering through the recorder on every request means building a `Key` (a label vector)
/// and hashing it into the registry; this cache makes the common case one read-locked map
/// lookup by the borrowed route. It stays small because every key is bounded: route templates
/// (one shared value for unmatched requests), ten method values, and status codes.
#[derive(Default)]
pub(crate) struct DurationHandles {
    /// FxHash: route templates come from the router, not from clients, so SipHash's flooding
    /// resistance buys nothing here.
    by_route: RwLock<HashMap<Box<str>, Vec<MethodStatusHandle>, rustc_hash::FxBuildHasher>>,
}

impl DurationHandles {
    pub(crate) fn record(
        &self,
        registry: &Metrics,
        route: &str,
        method: &'static str,
        status: u16,
        seconds: f64,
    ) {
        {
            let map = self.by_route.read().unwrap_or_else(|e| e.into_inner());
            if let Some(handle) = map.get(route).and_then(|handles| {
                handles
                    .iter()
                    .find(|(m, s, _)| *m == method && *s == status)
            }) {
                handle.2.record(seconds);
                return;
            }
        }
        let key = Key::from_parts(
            catalogue::HTTP_SERVER_REQUEST_DURATION.name,
            vec![
                Label::new(catalogue::labels::HTTP_REQUEST_METHOD, method),
                Label::new(catalogue::labels::HTTP_ROUTE, route.to_owned()),
                Label::new(
                    catalogue::labels::HTTP_RESPONSE_STATUS_CODE,
                    labels::status(status),
                ),
            ],
        );
        let handle = registry.recorder().register_histogram(&key, &METADATA);
        handle.record(seconds);
        let mut map = self.by_route.write().unwrap_or_else(|e| e.into_inner());
        let handles = map.entry(route.into()).or_default();
        if !handles.iter().any(|(m, s, _)| *m == method && *s == status) {
            handles.push((method, status, handle));
        }
    }
}

impl HttpMetrics {
    fn new(registry: &Metrics, scheme: &'static str) -> Self {
        let active = labels::METHOD_LABELS
            .iter()
            .map(|method| {
                let key = Key::from_parts(
                    catalogue::HTTP_SERVER_ACTIVE_REQUESTS.name,
                    vec![
                        Label::new(catalogue::labels::HTTP_REQUEST_METHOD, *method),
                        Label::new(catalogue::labels::URL_SCHEME, scheme),
                    ],
                );
                registry.recorder().register_gauge(&key, &METADATA)
            })
            .collect();
        Self {
            registry: registry.clone(),
            active,
            durations: Arc::default(),
        }
    }
}

impl std::fmt::Debug for HttpLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpLayer")
            .field("metrics", &self.shared.metrics.is_some())
            .field("span", &self.shared.span)
            .field("otel", &self.shared.otel)
            .field("access_log", &self.shared.access_log)
            .field("exclude", &self.shared.exclude)
            .finish()
    }
}

impl HttpLayer {
    /// Request IDs, metrics recorded into `metrics`, a span per request and an access log at
    /// `INFO` that leaves out the SDK's own paths (`/metrics`, `/health…`).
    pub fn new(metrics: &Metrics) -> Self {
        Self {
            shared: Arc::new(Shared {
                metrics: Some(HttpMetrics::new(metrics, "http")),
                span: true,
                otel: false,
                access_log: Some(Level::INFO),
                exclude: catalogue::paths::ALL
                    .iter()
                    .map(|p| (*p).to_owned())
                    .collect(),
            }),
        }
    }

    /// Request IDs, span and access log, but no metrics.
    pub fn without_metrics() -> Self {
        Self {
            shared: Arc::new(Shared {
                metrics: None,
                span: true,
                otel: false,
                access_log: Some(Level::INFO),
                exclude: catalogue::paths::ALL
                    .iter()
                    .map(|p| (*p).to_owned())
                    .collect(),
            }),
        }
    }

    fn update(mut self, f: impl FnOnce(&mut Shared)) -> Self {
        f(Arc::make_mut(&mut self.shared));
        self
    }

    /// Writes the access log at `level`, or not at all with `None`.
    pub fn access_log(self, level: Option<Level>) -> Self {
        self.update(|s| s.access_log = level)
    }

    /// Paths left out of the access log (exact match). Defaults to the SDK's own paths.
    pub fn exclude_from_access_log<I, P>(self, paths: I) -> Self
    where
        I: IntoIterator<Item = P>,
        P: Into<String>,
    {
        let paths = paths.into_iter().map(Into::into).collect();
        self.update(|s| s.exclude = paths)
    }

    /// Whether to open a span per request (default on). Without it, log lines written by the
    /// handler do not carry the `request_id`.
    pub fn span(self, enabled: bool) -> Self {
        self.update(|s| s.span = enabled)
    }

    /// Whether the request span carries the fields that tracing-opentelemetry reads (default
    /// off; [`Obs::layer`](crate::Obs::layer) turns it on when OTLP export is on): a server
    /// span (`otel.kind`) named after the semantic conventions (`otel.name`, `GET /users/{id}`,
    /// or just the method when no route matched) instead of `request`, failed
    /// (`otel.status_code`) when the response is a 5xx, and a child of the caller's span when a
    /// valid W3C `traceparent` came. Log lines never show these fields. Turn it on when you
    /// install your own tracing-opentelemetry layer; off, the span skips their cost on every
    /// request.
    pub fn otel(self, enabled: bool) -> Self {
        self.update(|s| s.otel = enabled)
    }

    /// The `url_scheme` value of `http_server_active_requests` (default `http`; set `https` when
    /// the service terminates TLS itself).
    pub fn scheme(self, scheme: &'static str) -> Self {
        self.update(|s| {
            if let Some(m) = s.metrics.as_mut() {
                *m = HttpMetrics::new(&m.registry, scheme);
            }
        })
    }
}

impl<S> tower_layer::Layer<S> for HttpLayer {
    type Service = HttpService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        HttpService::new(inner, self.shared.clone())
    }
}

/// `path` cut to at most [`MAX_LOGGED_PATH`] bytes at a character boundary, for log lines.
pub(crate) fn truncate_path(path: &str) -> &str {
    if path.len() <= MAX_LOGGED_PATH {
        return path;
    }
    let mut end = MAX_LOGGED_PATH;
    while !path.is_char_boundary(end) {
        end -= 1;
    }
    &path[..end]
}
