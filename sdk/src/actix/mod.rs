//! The actix-web adapter (feature `actix`): what [`HttpLayer`] gives a tower
//! or axum service, for an actix-web app, over the same transport-neutral core and with the
//! same names.
//!
//! actix-web does not run tower middleware, so this module brings its own parts:
//! - [`HttpMiddleware`], added with `App::wrap`: the request ID kept (when well formed),
//!   replaced or made, in the request's extensions and returned in `X-Request-ID`; the
//!   `request` span with `request_id`, `method` and `route` (the resource's pattern from
//!   `HttpRequest::match_pattern`, `unmatched` when none matched, so a scan of random paths
//!   adds no series; read before the handler runs, or from the answer with
//!   [`HttpMiddleware::route_from_answer`]); `http_server_request_duration_seconds` and
//!   `http_server_active_requests` with the axum layer's labels, counted out when the answer
//!   is sent or the client goes away; one access line; the caller's `traceparent` continued
//!   when a tracer is on; and a panicking handler answered with the safe 500 body and written
//!   as one JSON line with its `request_id`;
//! - [`metrics_routes`] and [`health_routes`], for `App::configure`: `/metrics` and the
//!   health routes, answering what their axum routers answer;
//! - [`ApiError`](crate::ApiError) is a `ResponseError`, with the same safe JSON body;
//! - [`RequestId`](crate::RequestId) is an extractor, for handlers that pass it on;
//! - [`serve`] runs a server until the [shutdown signal](crate::Obs::shutdown_signal) has
//!   drained it: readiness fails first, then the server stops.
//!
//! ```no_run
//! use actix_web::{App, HttpServer, web};
//!
//! #[actix_web::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let obs = obs_service::init!()?;
//!     let middleware = obs.actix_middleware();
//!     let metrics = obs_service::actix::metrics_routes(obs.metrics());
//!     let health = obs_service::actix::health_routes(&obs.health());
//!     let server = HttpServer::new(move || {
//!         App::new()
//!             .route("/users/{id}", web::get().to(|| async { "hello" }))
//!             .configure(metrics.clone())
//!             .configure(health.clone())
//!             .wrap(middleware.clone())
//!     })
//!     // The SDK drains on SIGTERM, then stops the server (see `serve`).
//!     .disable_signals()
//!     .bind("127.0.0.1:3000")?
//!     .run();
//!     obs_service::actix::serve(server, obs.shutdown_signal()).await?;
//!     Ok(())
//! }
//! ```
//!
//! The parts, as for the tower layer: the middleware and its configuration (here), the
//! service that reads a request (`service`), its response future, which catches a handler's
//! panic (`future`), the response body that ends the exchange (`body`), the SDK's routes and
//! the server's drain (`routes`), and the error type's answer (`error`).

mod body;
mod error;
mod future;
mod routes;
mod service;

use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};

pub use body::ResponseBody;
pub use future::ResponseFuture;
pub use routes::{health_routes, metrics_routes, serve};
pub use service::HttpMiddlewareService;

use crate::layer::Shared;
use crate::{HttpLayer, Metrics};

/// The actix-web middleware: request IDs, the request span, RED metrics and the access line,
/// for every request of the app it wraps. Cheap to clone.
///
/// Built from an [`HttpLayer`], whose configuration it shares (access-log level and
/// exclusions, spans, OpenTelemetry fields, scheme): the same metrics, under the same names,
/// as the tower layer would record.
///
/// Wrap the whole app (`App::wrap`), so every request, routed or not, is counted: the route is
/// read from the app's resource map before the handler runs (see
/// [`route_from_answer`](HttpMiddleware::route_from_answer) for the other way).
#[derive(Clone)]
pub struct HttpMiddleware {
    shared: Arc<Shared>,
    route: RouteLookup,
}

/// When the middleware learns a request's route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RouteLookup {
    /// Before the handler runs, by matching the path against the app's patterns.
    BeforeHandler,
    /// From the answer, as routing left it.
    Answer,
}

impl std::fmt::Debug for HttpMiddleware {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpMiddleware")
            .field("metrics", &self.shared.settings.red.is_some())
            .field("span", &self.shared.settings.span)
            .field("access_log", &self.shared.settings.access_log)
            .field("route", &self.route)
            .finish_non_exhaustive()
    }
}

impl HttpMiddleware {
    /// Request IDs, metrics recorded into `metrics`, a span per request and an access log at
    /// `INFO` that leaves out the SDK's own paths: [`HttpLayer::new`] for actix-web.
    pub fn new(metrics: &Metrics) -> Self {
        HttpLayer::new(metrics).into()
    }

    /// Reads each request's route from its answer, as actix-web's routing left it, rather than
    /// before the handler runs; the handler's log lines and Sentry events then no longer name
    /// the route.
    ///
    /// actix-web routes a request inside the service this middleware wraps, so the route known
    /// before the handler runs comes from matching the path against the app's patterns a
    /// second time, one regular expression for each dynamic pattern tried: its cost grows with
    /// the number of routes, and with the engine actix-web's router is built with. In the
    /// benchmark's two-route app that match costs about 1 800 instructions a request with
    /// actix-web's default `unicode` feature (the `regex` crate), and about 7 800 without it
    /// (`default-features = false`: `regex-lite`); from the answer, the route costs about 950
    /// (looked up by the index routing left, and recorded on the span). See BENCHMARKS.md.
    ///
    /// What still names the route: the duration histogram, the access line, the OpenTelemetry
    /// span (its `route` and its name, recorded when the answer starts) and the
    /// [completion hooks](crate::completion). What does not: the lines the handler writes and
    /// the tags of its Sentry events (the `request` span has no `route` while the handler
    /// runs), and a handler that panics, whose request went with it: it is counted and logged
    /// as [`unmatched`](crate::catalogue::UNMATCHED_ROUTE).
    ///
    /// ```
    /// let metrics = obs_service::Metrics::new();
    /// let middleware = obs_service::actix::HttpMiddleware::new(&metrics).route_from_answer();
    /// # let _ = middleware;
    /// ```
    #[must_use]
    pub fn route_from_answer(mut self) -> Self {
        self.route = RouteLookup::Answer;
        self
    }
}

/// The middleware configured as `layer` is.
impl From<HttpLayer> for HttpMiddleware {
    fn from(layer: HttpLayer) -> Self {
        Self {
            shared: layer.shared,
            route: RouteLookup::BeforeHandler,
        }
    }
}

impl<S, B> Transform<S, ServiceRequest> for HttpMiddleware
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    type Response = ServiceResponse<ResponseBody<B>>;
    type Error = actix_web::Error;
    type Transform = HttpMiddlewareService<S>;
    type InitError = ();
    type Future = std::future::Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        std::future::ready(Ok(HttpMiddlewareService::new(
            service,
            self.shared.clone(),
            self.route,
        )))
    }
}
