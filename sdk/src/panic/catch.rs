//! Handler panics become a 500 with the [error](crate::error) JSON body (feature
//! `catch-panic`).
//!
//! [`layer`] is tower-http's `CatchPanicLayer` with [`PanicResponse`]: the panic message is
//! logged at `ERROR` (target `obs::error`) with the `request_id`, and the client gets
//!
//! ```json
//! {"error": {"code": "internal", "message": "internal server error", "request_id": "0193…"}}
//! ```
//!
//! never the panic message. Put it *inside* [`HttpLayer`](crate::HttpLayer), so the 500 is
//! recorded in the RED metrics and the access log like any other response and the panic line
//! carries the `request_id`. With axum, the layer added last is the outermost:
//!
//! ```
//! use axum::{routing::get, Router};
//! use obs_service::{HttpLayer, Metrics};
//!
//! async fn boom() -> &'static str {
//!     panic!("bug")
//! }
//!
//! let metrics = Metrics::new();
//! let app: Router = Router::new()
//!     .route("/boom", get(boom))
//!     .layer(obs_service::panic::layer()) // inner: turns the panic into a 500
//!     .layer(HttpLayer::new(&metrics)); // outer: counts and logs that 500
//! ```
//!
//! Panics are caught both while the inner service is called and while its future is polled;
//! either way the answer is built inside the request's scope, so it carries the `request_id`.
//!
//! The process's panic hook still runs first: in a process that called `init`, that writes the
//! panic's own JSON line (see [`panic`](crate::panic)), and this layer writes none; without
//! `init` it writes the panic's line itself (target `obs::error`, message `handler panicked`).

use std::any::Any;

use http::{HeaderValue, Response, StatusCode, header};
use tower_http::catch_panic::{CatchPanicLayer, ResponseForPanic};

/// The [`ResponseForPanic`] of [`layer`]: logs the panic, answers 500 with the error body.
#[derive(Debug, Clone, Copy, Default)]
pub struct PanicResponse;

impl ResponseForPanic for PanicResponse {
    type ResponseBody = String;

    fn response_for_panic(&mut self, err: Box<dyn Any + Send + 'static>) -> Response<String> {
        let body = super::handler_panicked(err.as_ref());
        let mut response = Response::new(body);
        *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        response
    }
}

/// The catch-panic layer: tower-http's [`CatchPanicLayer`] answering with [`PanicResponse`].
pub fn layer() -> CatchPanicLayer<PanicResponse> {
    CatchPanicLayer::custom(PanicResponse)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logging::{JsonLayer, MemoryWriter};
    use tracing_subscriber::layer::SubscriberExt as _;

    #[test]
    fn the_body_is_safe() {
        let writer = MemoryWriter::new();
        let subscriber = tracing_subscriber::registry().with(JsonLayer::new(writer.clone()));
        let response = tracing::subscriber::with_default(subscriber, || {
            PanicResponse.response_for_panic(Box::new("secret internal state 0xdead"))
        });
        assert_eq!(response.status(), 500);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        let body: serde_json::Value = serde_json::from_str(response.body()).unwrap();
        assert_eq!(body["error"]["code"], "internal");
        assert_eq!(body["error"]["message"], "internal server error");
        assert!(body["error"]["request_id"].is_null());
        assert!(!response.body().contains("0xdead"));
        let line = &writer.json_lines()[0];
        assert_eq!(line["level"], "ERROR");
        assert_eq!(line["panic"], "secret internal state 0xdead");
    }
}
