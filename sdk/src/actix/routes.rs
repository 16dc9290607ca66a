//! The SDK's routes for an actix-web app, the request ID as an extractor, and the server's
//! drain.

use std::future::Future;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{FromRequest, HttpMessage as _, HttpRequest, HttpResponse, web};

use crate::catalogue;
use crate::{Health, Metrics, RequestId};

/// `GET /metrics`, answered as [`Metrics::router`] answers it (OpenMetrics when the scraper
/// asks for it, the Prometheus text format otherwise). For `App::configure`, once per worker:
///
/// ```
/// let metrics = obs_service::Metrics::new();
/// let routes = obs_service::actix::metrics_routes(&metrics);
/// let app = actix_web::App::new().configure(routes.clone());
/// ```
pub fn metrics_routes(
    metrics: &Metrics,
) -> impl Fn(&mut web::ServiceConfig) + Clone + Send + 'static {
    let metrics = metrics.clone();
    move |config| {
        let metrics = metrics.clone();
        config.route(
            catalogue::paths::METRICS,
            web::get().to(move |request: HttpRequest| {
                let accept = request
                    .headers()
                    .get(header::ACCEPT)
                    .and_then(|v| v.to_str().ok());
                let (content_type, body) = metrics.render_for(accept);
                std::future::ready(
                    HttpResponse::Ok()
                        .insert_header((header::CONTENT_TYPE, content_type))
                        .body(body),
                )
            }),
        );
    }
}

/// `GET /health/live`, `/health/ready` and `/health`, answered as [`Health::router`] answers
/// them: liveness always `200`, readiness `200` or `503` by the checks, and `503 draining`
/// from the moment the [shutdown signal](crate::Obs::shutdown_signal) came. For
/// `App::configure`, once per worker:
///
/// ```
/// let health = obs_service::Health::new("1.0.0");
/// let routes = obs_service::actix::health_routes(&health);
/// let app = actix_web::App::new().configure(routes.clone());
/// ```
pub fn health_routes(health: &Health) -> impl Fn(&mut web::ServiceConfig) + Clone + Send + 'static {
    let health = health.clone();
    move |config| {
        let live = health.clone();
        config.route(
            catalogue::paths::HEALTH_LIVE,
            web::get().to(move || std::future::ready(answer(live.live_response()))),
        );
        for path in [catalogue::paths::HEALTH_READY, catalogue::paths::HEALTH] {
            let ready = health.clone();
            config.route(
                path,
                web::get().to(move || {
                    let health = ready.clone();
                    async move { answer(health.ready_response().await) }
                }),
            );
        }
    }
}

/// A health answer (built with the `http` 1 types the other routers share) as actix-web's.
fn answer(response: http::Response<String>) -> HttpResponse {
    let (parts, body) = response.into_parts();
    let mut answer = HttpResponse::build(
        StatusCode::from_u16(parts.status.as_u16()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
    );
    for (name, value) in &parts.headers {
        if let Ok(value) = HeaderValue::from_bytes(value.as_bytes()) {
            answer.insert_header((name.as_str(), value));
        }
    }
    answer.body(body)
}

/// The request's ID, as [`HttpMiddleware`](super::HttpMiddleware) accepted or made it: a handler
/// argument. Outside the middleware, the incoming ID when well formed, a fresh one otherwise.
impl FromRequest for RequestId {
    type Error = std::convert::Infallible;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let id = request
            .extensions()
            .get::<RequestId>()
            .cloned()
            .unwrap_or_else(|| {
                request
                    .headers()
                    .get(catalogue::REQUEST_ID_HEADER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(RequestId::parse)
                    .unwrap_or_else(RequestId::generate)
            });
        std::future::ready(Ok(id))
    }
}

/// Runs `server` until `shutdown` resolves, then stops it gracefully (it stops accepting and
/// finishes the requests in flight, within its `shutdown_timeout`).
///
/// Pass [`Obs::shutdown_signal`](crate::Obs::shutdown_signal): on SIGTERM readiness answers
/// `503 draining` for `OBS_SHUTDOWN_DRAIN` while every route keeps serving, and only then does
/// the server stop. Build the server with `HttpServer::disable_signals`, or actix-web stops it
/// on the signal itself, before the drain. Call it on the actix-web runtime
/// (`#[actix_web::main]`).
pub async fn serve(
    server: actix_web::dev::Server,
    shutdown: impl Future<Output = ()> + 'static,
) -> std::io::Result<()> {
    let handle = server.handle();
    let stop = actix_web::rt::spawn(async move {
        shutdown.await;
        handle.stop(true).await;
    });
    let result = server.await;
    stop.abort();
    result
}
