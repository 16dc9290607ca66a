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
//! not recorded in the histogram; the active-requests gauge counts a request out when it
//! completes or is dropped, on every path, panics included.
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
pub use labels::RouteTemplate;
pub(crate) use labels::{Route, route_label};
pub use service::{HttpService, ResponseFuture};

use crate::catalogue;
use crate::exposition::{METADATA, Metrics};
use crate::slots::Slots;

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
    /// In front of the map, read without a lock: the first handle seen at each slot, found
    /// by the address of its route's text. axum hands every request of a route the same
    /// shared text (`MatchedPath`), and the slot holds a clone of it, so while the slot lives
    /// no other text can have that address: an equal address and length is the same route,
    /// with no hash of the text and no string comparison.
    recent: Slots<RecentHandle>,
}

struct RecentHandle {
    /// Keeps the text `record` compares addresses with alive.
    route: Option<Route>,
    method: &'static str,
    status: u16,
    handle: Histogram,
}

impl RecentHandle {
    fn route(&self) -> &str {
        labels::route_label(self.route.as_ref())
    }
}

impl DurationHandles {
    pub(crate) fn record(
        &self,
        registry: &Metrics,
        route: Option<&Route>,
        method: &'static str,
        status: u16,
        seconds: f64,
    ) {
        let text = labels::route_label(route);
        let slot = self
            .recent
            .slot((text.as_ptr() as usize, method.as_ptr() as usize, status));
        if let Some(recent) = slot.get()
            && std::ptr::eq(recent.route(), text)
            && recent.status == status
            // The layer's method labels are literals: the same address, short of a copy.
            && (std::ptr::eq(recent.method, method) || recent.method == method)
        {
            recent.handle.record(seconds);
            return;
        }
        let handle = self.handle(registry, text, method, status);
        handle.record(seconds);
        // The first handle at a slot keeps it; the others are found in the map.
        let _ = slot.set(RecentHandle {
            route: route.cloned(),
            method,
            status,
            handle,
        });
    }

    fn handle(
        &self,
        registry: &Metrics,
        route: &str,
        method: &'static str,
        status: u16,
    ) -> Histogram {
        {
            let map = self.by_route.read().unwrap_or_else(|e| e.into_inner());
            if let Some(handle) = map.get(route).and_then(|handles| {
                handles
                    .iter()
                    .find(|(m, s, _)| *m == method && *s == status)
            }) {
                return handle.2.clone();
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
        let mut map = self.by_route.write().unwrap_or_else(|e| e.into_inner());
        let handles = map.entry(route.into()).or_default();
        if !handles.iter().any(|(m, s, _)| *m == method && *s == status) {
            handles.push((method, status, handle.clone()));
        }
        handle
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_method_and_status_counts_in_its_own_series() {
        let metrics = Metrics::new();
        let handles = DurationHandles::default();
        // More routes than slots, each route's text shared (as axum shares it) and also
        // rebuilt as an equal text at another address (as a hand-made RouteTemplate is).
        let routes: Vec<Route> = (0..100)
            .map(|i| Route::Template(RouteTemplate::new(format!("/r{i}/{{id}}"))))
            .collect();
        for round in 0..3 {
            for route in &routes {
                let copy = Route::Template(RouteTemplate::new(route.to_string()));
                for (method, status) in [("GET", 200), ("POST", 200), ("GET", 500)] {
                    handles.record(&metrics, Some(route), method, status, 0.001);
                    handles.record(&metrics, Some(&copy), method, status, 0.001);
                }
            }
            handles.record(&metrics, None, "GET", 404, 0.001);
            let text = metrics.render();
            let count = |route: &str, method: &str, status: &str| {
                let series = format!(
                    "http_server_request_duration_seconds_count{{http_request_method=\"{method}\",http_route=\"{route}\",http_response_status_code=\"{status}\"}} "
                );
                let line = text
                    .lines()
                    .find(|l| l.starts_with(&series))
                    .unwrap_or_else(|| panic!("{series} missing"));
                line[series.len()..].parse::<u64>().unwrap()
            };
            for i in [0, 37, 63, 64, 99] {
                let route = format!("/r{i}/{{id}}");
                for (method, status) in [("GET", "200"), ("POST", "200"), ("GET", "500")] {
                    assert_eq!(count(&route, method, status), 2 * (round + 1));
                }
            }
            assert_eq!(count(catalogue::UNMATCHED_ROUTE, "GET", "404"), round + 1);
        }
    }
}
