//! The service of [`HttpMiddleware`](super::HttpMiddleware): reads what only actix-web knows
//! of a request and begins its exchange.

use std::sync::Arc;

use actix_web::HttpMessage as _;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse};
use actix_web::http::header::HeaderValue;

use super::RouteLookup;
use super::body::{Path, ResponseBody};
use super::future::{REQUEST_ID_HEADER, ResponseFuture};
use crate::RequestId;
use crate::exchange::{Arrival, Begin, Exchange};
use crate::layer::Shared;
use crate::layer::labels::{self, Routes};
use crate::propagation::{self, CallerTrace};

/// The service [`HttpMiddleware`](super::HttpMiddleware) wraps around an app.
pub struct HttpMiddlewareService<S> {
    inner: S,
    shared: Arc<Shared>,
    route: RouteLookup,
}

impl<S> std::fmt::Debug for HttpMiddlewareService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpMiddlewareService")
            .finish_non_exhaustive()
    }
}

impl<S> HttpMiddlewareService<S> {
    pub(super) fn new(inner: S, shared: Arc<Shared>, route: RouteLookup) -> Self {
        Self {
            inner,
            shared,
            route,
        }
    }
}

impl<S, B> Service<ServiceRequest> for HttpMiddlewareService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    type Response = ServiceResponse<ResponseBody<B>>;
    type Error = actix_web::Error;
    type Future = ResponseFuture<S::Future>;

    actix_web::dev::forward_ready!(inner);

    fn call(&self, mut request: ServiceRequest) -> Self::Future {
        let settings = &self.shared.settings;
        let arrival = Arrival::now(settings);
        // A well-formed incoming ID is kept, with its header value; anything else (malformed,
        // too long, repeated) is replaced, so the handler and whatever it calls see the ID
        // that is logged.
        let headers = request.headers_mut();
        let mut incoming = headers.get_all(&REQUEST_ID_HEADER);
        let kept = match (incoming.next(), incoming.next()) {
            (Some(value), None) => value
                .to_str()
                .ok()
                .and_then(RequestId::parse)
                .map(|id| (id, value.clone())),
            _ => None,
        };
        let (id, header) = match kept {
            Some(kept) => kept,
            None => {
                // actix-web's header value (`http` 0.2) and the ID's (`http` 1) share one
                // buffer: a copy, promoted to shared on its first clone, was two allocations.
                let text = RequestId::generate_bytes_at(arrival.since_epoch());
                let id = RequestId::from_generated(text.clone());
                let header = HeaderValue::from_maybe_shared(text)
                    .expect("a request ID is a valid header value");
                headers.insert(REQUEST_ID_HEADER, header.clone());
                (id, header)
            }
        };
        request.extensions_mut().insert(id.clone());

        // Standard methods are constants of either `http` version: no allocation.
        let method_slot = http::Method::from_bytes(request.method().as_str().as_bytes())
            .map_or(labels::METHOD_LABELS.len() - 1, |m| labels::method_slot(&m));
        // A trace the caller started goes on the span; without a span there is nothing to put
        // it on, and without a tracing integration nobody reads the headers.
        let traced = (settings.span && propagation::any()).then(|| trace_headers(&request));
        let caller = match &traced {
            Some(headers) => propagation::read_caller(headers, settings.otel),
            None => CallerTrace::default(),
        };
        let path = request.path();
        let path = (settings.access_log.is_some()
            && !self.shared.exclude.iter().any(|p| p == path))
        .then(|| Path::new(request.uri().path_and_query().cloned()));
        // Before routing, the app's resource map finds the pattern by matching the path
        // against its patterns, so the span (and every log line inside it) names the route, as
        // axum's `MatchedPath` lets the tower layer do; or the answer names it, as routing
        // left it (`RouteLookup::Answer`).
        let (route, route_pending) = match self.route {
            RouteLookup::BeforeHandler => (
                request
                    .match_pattern()
                    .map(|pattern| Routes::get().template(&pattern)),
                false,
            ),
            RouteLookup::Answer => (None, true),
        };
        let exchange = Exchange::begin(
            settings,
            arrival,
            Begin {
                id,
                method_slot,
                method: labels::METHOD_LABELS[method_slot],
                route,
                route_pending,
                path,
            },
            &caller,
        );
        let mut exchange = exchange;
        if let Some(headers) = &traced {
            // A tracer makes the span a child of the caller's, and a sampled trace leaves its
            // exemplar on the duration histogram.
            if settings.otel {
                propagation::continue_trace(exchange.span(), headers, &caller);
            }
            exchange.trace_exemplar(propagation::sampled_trace_id(exchange.span()));
        }
        let inner = {
            let _entered = exchange.span().enter();
            exchange.id().clone().in_scope(|| self.inner.call(request))
        };
        ResponseFuture::new(inner, exchange, header)
    }
}

/// The request's headers as the propagation seam reads them (`http` 1): built only while a
/// tracer is on.
fn trace_headers(request: &ServiceRequest) -> http::HeaderMap {
    let mut headers = http::HeaderMap::with_capacity(request.headers().len());
    for (name, value) in request.headers() {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name.as_str().as_bytes()),
            http::HeaderValue::from_bytes(value.as_bytes()),
        ) {
            headers.append(name, value);
        }
    }
    headers
}
