//! The service and response future of [`HttpLayer`](super::HttpLayer).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use http::header::Entry;
use http::{Request, Response};
use tracing::Span;

use super::body::{Completion, Exchange, ResponseBody};
use super::{Shared, labels};
use crate::RequestId;
use crate::logging::typed;

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
        let start = Instant::now();
        // The wall clock is read once: for a generated ID's time and, with the duration, the
        // access line's timestamp.
        let arrived = self.shared.access_log.is_some().then(typed::since_epoch);
        let generate = || RequestId::generate_at(arrived.unwrap_or_else(typed::since_epoch));
        // Downstream code (and proxies we call) must see the ID we log, not a malformed one.
        // One entry look-up reads and writes the header, where `get` then `insert` hashed and
        // probed the map twice.
        let id = match request
            .headers_mut()
            .entry(crate::request_id::REQUEST_ID_HEADER)
        {
            Entry::Occupied(mut entry) => match RequestId::from_header(entry.get()) {
                Some(id) => {
                    // Repeated headers collapse to the one we log, as `insert` did.
                    if entry.iter().nth(1).is_some() {
                        entry.insert(id.header_value().clone());
                    }
                    id
                }
                None => {
                    let id = generate();
                    entry.insert(id.header_value().clone());
                    id
                }
            },
            Entry::Vacant(entry) => {
                let id = generate();
                entry.insert(id.header_value().clone());
                id
            }
        };
        request.extensions_mut().insert(id.clone());

        let method_slot = labels::method_slot(request.method());
        let method = labels::METHOD_LABELS[method_slot];
        let route = labels::route_of(request.extensions());
        let active = self.shared.metrics.as_ref().map(|metrics| {
            metrics.active[method_slot].increment(1.0);
            method_slot
        });
        // With Sentry on, a trace the caller started (W3C `traceparent` first, then
        // `sentry-trace`) goes on the span, for sentry-tracing and the log lines; without a
        // span there is nothing to put it on.
        let (sentry_trace, trace_id) = match self.shared.span {
            true => {
                crate::integration::caller_trace::span_fields(request.headers(), self.shared.otel)
            }
            false => Default::default(),
        };
        let open_span = || {
            if self.shared.otel {
                // `otel.*` fields are for an OpenTelemetry exporter, and log lines leave them out:
                // the semantic conventions' server span, named `GET /users/{id}` (just the method
                // when no route matched) rather than `request`.
                let (separator, named_route) = match route.as_deref() {
                    Some(route) => (" ", route),
                    None => ("", ""),
                };
                tracing::info_span!(
                    target: super::REQUEST_SPAN_TARGET,
                    "request",
                    // Displayed, so only a layer that reads the field checks the text.
                    request_id = %id,
                    method,
                    route = labels::route_label(route.as_ref()),
                    otel.name = %format_args!("{method}{separator}{named_route}"),
                    otel.kind = "server",
                    otel.status_code = tracing::field::Empty,
                    sentry.trace = sentry_trace.as_deref(),
                    trace_id = trace_id.as_deref(),
                )
            } else {
                tracing::info_span!(
                    target: super::REQUEST_SPAN_TARGET,
                    "request",
                    request_id = %id,
                    method,
                    route = labels::route_label(route.as_ref()),
                    sentry.trace = sentry_trace.as_deref(),
                    trace_id = trace_id.as_deref(),
                )
            }
        };
        let span = if self.shared.span {
            // The JSON layer renders the span's fields from these rather than visiting them.
            let values = typed::RequestSpan {
                id: id.clone(),
                method,
                route: route.clone(),
                trace_id: trace_id.clone(),
            };
            typed::offering_request_span(values, open_span)
        } else {
            Span::none()
        };
        // W3C trace context: the caller's `traceparent` becomes the span's parent, for the
        // tracing-opentelemetry layer that `otel` says is there (without one, a parent is
        // only a header look-up per request that nothing reads).
        if self.shared.otel {
            crate::integration::trace_context::continue_remote(&span, request.headers());
        }
        // A `sentry-trace` the span continues in Sentry, continued by OpenTelemetry too when no
        // `traceparent` came, so the log lines' `trace_id` stays the one Sentry shows.
        if self.shared.otel && sentry_trace.is_some() {
            crate::integration::caller_trace::continue_in_otel(&span, request.headers());
        }
        let path = request.uri().path();
        // The path shares hyper's read buffer, so keeping it costs a reference count where a
        // copy would cost an allocation; the path and query alone, not the whole URI, which
        // is twice the size to move with the future and three buffers to release.
        let path = (self.shared.access_log.is_some()
            && !self.shared.exclude.iter().any(|p| p == path))
        .then(|| request.uri().path_and_query().cloned());

        let inner = {
            let _entered = span.enter();
            self.inner.call(request)
        };
        ResponseFuture {
            inner: Some(inner),
            state: Some(Pending(Box::new(Exchange {
                start,
                arrived: arrived.unwrap_or_default(),
                id,
                method,
                route,
                path,
                status: 0,
                active,
                span,
                span_has_route: false,
                shared: self.shared.clone(),
            }))),
        }
    }
}

/// A request whose response does not exist yet.
struct Pending(Box<Exchange>);

impl Pending {
    fn complete(self, status: u16, route: Option<labels::Route>) -> Completion {
        let mut exchange = self.0;
        exchange.status = status;
        exchange.span_has_route = exchange.route.is_some() || route.is_none();
        if exchange.route.is_none() {
            exchange.route = route;
        }
        Completion(exchange)
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`HttpService`].
    pub struct ResponseFuture<F> {
        // The inner future itself, not wrapped in `RequestId::scope`'s `TaskLocalFuture`:
        // `poll` sets the task-local around the inner poll, and `drop` around dropping it, as
        // that wrapper would, and the future is one level less deep to move. `None` only
        // while it is dropped.
        #[pin]
        inner: Option<F>,
        state: Option<Pending>,
    }

    impl<F> PinnedDrop for ResponseFuture<F> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            // Dropped before its response (the client went away): the handler's guards and
            // destructors run with the request's ID current, as under `RequestId::scope`.
            if let Some(pending) = this.state.as_ref() {
                let mut inner = this.inner;
                pending.0.id.clone().in_scope(|| inner.set(None));
            }
        }
    }
}

impl<F, ResBody, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = Result<Response<ResponseBody<ResBody>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let exchange = &this
            .state
            .as_ref()
            .expect("ResponseFuture polled after completion")
            .0;
        let result = {
            let _entered = exchange.span.enter();
            let inner = this.inner.as_pin_mut().expect("only dropping empties it");
            ready!(exchange.id.clone().in_scope(|| inner.poll(cx)))
        };
        let pending = this.state.take().expect("checked above");
        Poll::Ready(match result {
            Ok(mut response) => {
                response.headers_mut().insert(
                    crate::request_id::REQUEST_ID_HEADER,
                    pending.0.id.header_value().clone(),
                );
                let route = labels::route_of(response.extensions());
                let completion = pending.complete(response.status().as_u16(), route);
                Ok(response.map(|body| ResponseBody::new(body, completion)))
            }
            Err(error) => {
                // The service failed without a response; the connection will be closed, which
                // the client sees as a server error.
                drop(pending.complete(500, None));
                Err(error)
            }
        })
    }
}
