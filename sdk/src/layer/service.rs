//! The service of [`HttpLayer`](super::HttpLayer): reads what only HTTP knows of a request and
//! begins its exchange.

use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};

use super::body::{Path, ResponseBody};
use super::future::ResponseFuture;
use super::{Shared, labels};
use crate::RequestId;
use crate::exchange::{Arrival, Begin, Exchange};
use crate::propagation::{self, CallerTrace};

/// The service [`HttpLayer`](super::HttpLayer) wraps around a service.
#[derive(Clone)]
pub struct HttpService<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S> std::fmt::Debug for HttpService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpService").finish_non_exhaustive()
    }
}

impl<S> HttpService<S> {
    pub(super) fn new(inner: S, shared: Arc<Shared>) -> Self {
        Self { inner, shared }
    }
}

impl<S, ReqBody, ResBody> tower_service::Service<Request<ReqBody>> for HttpService<S>
where
    S: tower_service::Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let settings = &self.shared.settings;
        let arrival = Arrival::now(settings);
        let generate = || RequestId::generate_at(arrival.since_epoch());
        // Downstream code (and proxies we call) must see the ID we log, not a malformed one.
        let id = crate::request_id::accept_or_make(request.headers_mut(), generate);
        request.extensions_mut().insert(id.clone());

        let method_slot = labels::method_slot(request.method());
        // A trace the caller started goes on the span, for the tracers and the log lines;
        // without a span there is nothing to put it on, and without a tracing integration
        // nobody reads the headers.
        let caller = match settings.span && propagation::any() {
            true => propagation::read_caller(request.headers(), settings.otel),
            false => CallerTrace::default(),
        };
        let path = request.uri().path();
        let path = (settings.access_log.is_some()
            && !self.shared.exclude.iter().any(|p| p == path))
        .then(|| Path::new(request.uri().path_and_query().cloned()));
        let exchange = Exchange::begin(
            settings,
            arrival,
            Begin {
                id,
                method_slot,
                method: labels::METHOD_LABELS[method_slot],
                route: labels::Routes::get().of(request.extensions()),
                route_pending: false,
                path,
            },
            &caller,
        );
        // The caller's trace continued: a tracer makes the span a child of the caller's (W3C
        // `traceparent`, or `sentry-trace` when that is all that came).
        if settings.otel && propagation::any() {
            propagation::continue_trace(exchange.span(), request.headers(), &caller);
        }
        // A sampled trace leaves its exemplar on the duration histogram.
        let mut exchange = exchange;
        if settings.span && propagation::any() {
            exchange.trace_exemplar(propagation::sampled_trace_id(exchange.span()));
        }
        let inner = {
            let _entered = exchange.span().enter();
            self.inner.call(request)
        };
        ResponseFuture::new(inner, exchange)
    }
}
