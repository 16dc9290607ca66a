//! The demo's `GET /` and `GET /users/{id}` routes on plain actix-web: the baseline of the
//! actix-web cost benchmark (`scripts/bench-actix.sh`). Listens on `DEMO_ADDR` (default
//! 127.0.0.1:3001).
//!
//! `ACTIX_STACK` chooses what wraps the same app:
//!
//! | `ACTIX_STACK` | stack |
//! |---|---|
//! | unset, `bare` | nothing: plain actix-web |
//! | `obs` | exactly `obs_service::init`, `/metrics` and `obs.actix_middleware()` (request IDs, metrics, span, JSON access log) |
//! | `obs-answer` | the same, with the route read from the answer (`HttpMiddleware::route_from_answer`) |
//! | `prom` | actix-web-prom's middleware alone (metrics, no logs, no request IDs) |
//! | `peers` | the peers that each do one part of it, together: tracing-actix-web's request span (request ID, route) with tracing-subscriber's JSON lines, one as each span closes, and actix-web-prom's metrics |

use actix_web::{App, HttpResponse, HttpServer, web};

async fn index() -> &'static str {
    "demo"
}

async fn user(id: web::Path<String>) -> HttpResponse {
    match id.parse::<u64>() {
        Ok(n) => {
            HttpResponse::Ok().json(serde_json::json!({ "id": n, "name": format!("user-{n}") }))
        }
        Err(_) => HttpResponse::NotFound().finish(),
    }
}

fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/", web::get().to(index))
        .route("/users/{id}", web::get().to(user));
}

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::var("DEMO_ADDR").unwrap_or_else(|_| "127.0.0.1:3001".into());
    let stack = std::env::var("ACTIX_STACK").unwrap_or_default();
    match stack.as_str() {
        "" | "bare" => {
            HttpServer::new(|| App::new().configure(routes))
                .bind(&addr)?
                .run()
                .await?;
        }
        "obs" | "obs-answer" => {
            let obs =
                obs_service::Config::from_env("actix-bare", env!("CARGO_PKG_VERSION"))?.init()?;
            let middleware = match stack.as_str() {
                "obs" => obs.actix_middleware(),
                _ => obs.actix_middleware().route_from_answer(),
            };
            let metrics = obs_service::actix::metrics_routes(obs.metrics());
            HttpServer::new(move || {
                App::new()
                    .configure(routes)
                    .configure(metrics.clone())
                    .wrap(middleware.clone())
            })
            .bind(&addr)?
            .run()
            .await?;
        }
        "prom" => {
            let prometheus = actix_web_prom::PrometheusMetricsBuilder::new("api")
                .endpoint("/metrics")
                .build()
                .map_err(|e| e.to_string())?;
            HttpServer::new(move || App::new().configure(routes).wrap(prometheus.clone()))
                .bind(&addr)?
                .run()
                .await?;
        }
        "peers" => {
            // One JSON line as each request's span closes, with the span's fields (method,
            // route, status, request ID): the access line the SDK writes.
            tracing_subscriber::fmt()
                .json()
                .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
                .with_current_span(true)
                .try_init()
                .map_err(|e| e.to_string())?;
            let prometheus = actix_web_prom::PrometheusMetricsBuilder::new("api")
                .endpoint("/metrics")
                .build()
                .map_err(|e| e.to_string())?;
            HttpServer::new(move || {
                App::new()
                    .configure(routes)
                    .wrap(prometheus.clone())
                    .wrap(tracing_actix_web::TracingLogger::default())
            })
            .bind(&addr)?
            .run()
            .await?;
        }
        other => {
            return Err(format!(
                "ACTIX_STACK={other:?}: expected bare, obs, obs-answer, prom or peers"
            )
            .into());
        }
    }
    Ok(())
}
