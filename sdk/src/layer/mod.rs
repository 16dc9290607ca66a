//! The tower layer that ties a request to its ID, its metrics and its log lines: the HTTP
//! adapter (tower, hyper, axum) over the SDK's transport-neutral core, which does the same for
//! every transport.
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
//!
//! The parts, as tower-http lays out a middleware: the layer and its configuration (here),
//! the service that reads a request (`service`), its response future (`future`), the response
//! body that ends the exchange (`body`), and the HTTP label values and routes (`labels`).

mod body;
mod future;
pub(crate) mod labels;
mod service;

use std::sync::Arc;

use metrics::{Key, Label, Recorder as _};
use tracing::Level;

pub use body::ResponseBody;
pub use future::ResponseFuture;
pub use service::HttpService;

use crate::catalogue;
pub use crate::exchange::RouteTemplate;
use crate::exchange::Settings;
use crate::exchange::red::{DurationFamily, Red};
use crate::exposition::{METADATA, Metrics};

/// `http_server_request_duration_seconds`, as the core records it.
static DURATION: DurationFamily = DurationFamily {
    name: catalogue::HTTP_SERVER_REQUEST_DURATION.name,
    labels: [
        catalogue::labels::HTTP_REQUEST_METHOD,
        catalogue::labels::HTTP_ROUTE,
        catalogue::labels::HTTP_RESPONSE_STATUS_CODE,
    ],
    status_label: labels::status,
    error_type: None,
};

/// Configuration of [`HttpService`]. Cheap to clone.
#[derive(Clone)]
pub struct HttpLayer {
    /// Shared with the other HTTP adapters built from a layer (actix-web's middleware).
    pub(crate) shared: Arc<Shared>,
}

#[derive(Clone)]
pub(crate) struct Shared {
    /// What the core does for every request.
    pub(crate) settings: Arc<Settings>,
    /// Paths left out of the access log.
    pub(crate) exclude: Vec<String>,
}

/// The gauges of `http_server_active_requests`, one per method label, for `scheme`.
fn active_gauges(registry: &Metrics, scheme: &'static str) -> Vec<metrics::Gauge> {
    labels::METHOD_LABELS
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
        .collect()
}

impl std::fmt::Debug for HttpLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpLayer")
            .field("metrics", &self.shared.settings.red.is_some())
            .field("span", &self.shared.settings.span)
            .field("otel", &self.shared.settings.otel)
            .field("access_log", &self.shared.settings.access_log)
            .field("exclude", &self.shared.exclude)
            .finish()
    }
}

impl HttpLayer {
    /// Request IDs, metrics recorded into `metrics`, a span per request and an access log at
    /// `INFO` that leaves out the SDK's own paths (`/metrics`, `/health…`).
    pub fn new(metrics: &Metrics) -> Self {
        Self::with_red(Some(Red::new(
            metrics,
            &DURATION,
            active_gauges(metrics, "http"),
        )))
    }

    /// Request IDs, span and access log, but no metrics.
    pub fn without_metrics() -> Self {
        Self::with_red(None)
    }

    fn with_red(red: Option<Red>) -> Self {
        Self {
            shared: Arc::new(Shared {
                settings: Arc::new(Settings {
                    red,
                    span: true,
                    otel: false,
                    access_log: Some(Level::INFO),
                    statuses: &crate::exchange::HTTP_STATUSES,
                }),
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

    fn update_settings(self, f: impl FnOnce(&mut Settings)) -> Self {
        self.update(|s| f(Arc::make_mut(&mut s.settings)))
    }

    /// Writes the access log at `level`, or not at all with `None`.
    pub fn access_log(self, level: Option<Level>) -> Self {
        self.update_settings(|s| s.access_log = level)
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
        self.update_settings(|s| s.span = enabled)
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
        self.update_settings(|s| s.otel = enabled)
    }

    /// The `url_scheme` value of `http_server_active_requests` (default `http`; set `https` when
    /// the service terminates TLS itself).
    pub fn scheme(self, scheme: &'static str) -> Self {
        self.update_settings(|s| {
            if let Some(red) = s.red.as_mut() {
                *red = red.with_active(active_gauges(&red.registry, scheme));
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

#[cfg(test)]
mod tests {
    use tracing_subscriber::layer::SubscriberExt as _;

    #[test]
    #[cfg(feature = "axum")]
    fn the_http_layers_span_and_access_line_are_rendered_from_typed_values() {
        // The JSON layer's tests copy the shapes of the core's span and access line; a request
        // through the layer renders its line without visiting a single field.
        use tower::ServiceExt as _;
        let metrics = crate::Metrics::new();
        let writer = crate::logging::MemoryWriter::new();
        let subscriber =
            tracing_subscriber::registry().with(crate::logging::JsonLayer::new(writer.clone()));
        let _default = tracing::subscriber::set_default(subscriber);
        let app = axum::Router::new()
            .route("/users/{id}", axum::routing::get(|| async { "ok" }))
            .layer(super::HttpLayer::new(&metrics));
        let visits_before = crate::logging::fields_visited();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(async {
            let response = app
                .oneshot(
                    http::Request::builder()
                        .uri("/users/42?q=1")
                        .header("x-request-id", "req-layer")
                        .body(axum::body::Body::empty())
                        .unwrap(),
                )
                .await
                .unwrap();
            http_body_util::BodyExt::collect(response.into_body())
                .await
                .unwrap();
        });
        assert_eq!(
            crate::logging::fields_visited(),
            visits_before,
            "a field of the request span or the access line was visited"
        );
        let lines = writer.json_lines();
        assert_eq!(lines.len(), 1, "{lines:?}");
        for (key, value) in [
            ("request_id", "req-layer"),
            ("method", "GET"),
            ("route", "/users/{id}"),
            ("path", "/users/42"),
            ("message", "request completed"),
        ] {
            assert_eq!(lines[0][key], value, "{key}");
        }
        assert_eq!(lines[0]["status"], 200);
        assert!(lines[0]["duration_ms"].as_f64().unwrap() >= 0.0);
    }
}
