//! The response body wrapper: the request is complete when its body is.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use http::uri::PathAndQuery;
use http_body::{Body, Frame, SizeHint};
use tracing::{Level, Span};

use super::{Shared, labels};
use crate::RequestId;
use crate::catalogue::{self, fields};
use crate::hook;
use crate::logging::typed::ACCESS_MESSAGE;

/// What the layer keeps about one request from its call to its end, boxed once: the response
/// future and then the response body carry it as one pointer. Unboxed it was about 200 bytes,
/// copied on every move of the future (into axum's box, through tower's `Oneshot`) and of the
/// body (into the box axum puts it in), which cost more than the allocation.
pub(crate) struct Exchange {
    pub(crate) start: Instant,
    /// When the request arrived, since the Unix epoch, if the access log wants it: `start`
    /// on the wall clock.
    pub(crate) arrived: Duration,
    pub(crate) id: RequestId,
    pub(crate) method: &'static str,
    pub(crate) route: Option<labels::Route>,
    /// The request's path (and query), when the access log wants its path: `Some(None)` for
    /// a URI without one (`*`, or an authority), whose path is empty.
    pub(crate) path: Option<Option<http::uri::PathAndQuery>>,
    /// Set when the response starts.
    pub(crate) status: u16,
    /// The request's method slot in `http_server_active_requests` while it is counted in
    /// there. Counted out when the request completes or, on any other path (client gone,
    /// panic), when the exchange is dropped: a slot rather than a clone of the gauge, which
    /// cost two reference-count updates per request.
    pub(crate) active: Option<usize>,
    pub(crate) span: Span,
    /// Whether the span's `route` field is [`Exchange::route`] (the route was known when the
    /// request came in, not only from the response); set when the response starts.
    pub(crate) span_has_route: bool,
    pub(crate) shared: Arc<Shared>,
}

impl Exchange {
    /// Counts the request out of `http_server_active_requests`, once.
    pub(crate) fn count_out(&mut self) {
        if let (Some(slot), Some(metrics)) = (self.active.take(), &self.shared.metrics) {
            metrics.active[slot].decrement(1.0);
        }
    }
}

impl Drop for Exchange {
    fn drop(&mut self) {
        self.count_out();
    }
}

/// A request whose response has started. Dropping it records the request: the histogram, the
/// access log, and the end of its `active` count.
pub(crate) struct Completion(pub(crate) Box<Exchange>);

macro_rules! access_event {
    ($level:expr, parent: $parent:expr, $($rest:tt)*) => {
        match $level {
            Level::ERROR => tracing::event!(target: catalogue::ACCESS_LOG_TARGET, parent: $parent, Level::ERROR, $($rest)*),
            Level::WARN => tracing::event!(target: catalogue::ACCESS_LOG_TARGET, parent: $parent, Level::WARN, $($rest)*),
            Level::INFO => tracing::event!(target: catalogue::ACCESS_LOG_TARGET, parent: $parent, Level::INFO, $($rest)*),
            Level::DEBUG => tracing::event!(target: catalogue::ACCESS_LOG_TARGET, parent: $parent, Level::DEBUG, $($rest)*),
            Level::TRACE => tracing::event!(target: catalogue::ACCESS_LOG_TARGET, parent: $parent, Level::TRACE, $($rest)*),
        }
    };
}

impl Drop for Completion {
    fn drop(&mut self) {
        let this = &mut *self.0;
        let elapsed = this.start.elapsed();
        if let Some(metrics) = &this.shared.metrics {
            metrics.durations.record(
                &metrics.registry,
                this.route.as_ref(),
                this.method,
                this.status,
                elapsed.as_secs_f64(),
            );
        }
        this.count_out();
        if this.shared.otel && this.status >= 500 {
            // A server error fails the request's span in an OpenTelemetry backend.
            this.span.record("otel.status_code", "error");
        }
        if this.shared.otel
            && !this.span_has_route
            && let Some(route) = this.route.as_deref()
        {
            // The route came with the response, after the span was named.
            this.span
                .record("otel.name", format_args!("{} {route}", this.method));
        }
        if let (Some(level), Some(path)) = (this.shared.access_log, this.path.as_ref()) {
            let path = super::truncate_path(path.as_ref().map_or("", PathAndQuery::path));
            let route = labels::route_label(this.route.as_ref());
            // Whole microseconds (a u64 holds 584 000 years of them).
            let duration_us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
            let duration_ms = crate::logging::typed::millis(duration_us);
            if this.span.is_disabled() || !this.span_has_route {
                // No span to carry the request's identity (or it names the wrong route): the
                // line says it all itself.
                access_event!(
                    level,
                    parent: &this.span,
                    { fields::METHOD } = this.method,
                    { fields::ROUTE } = route,
                    { fields::PATH } = path,
                    { fields::STATUS } = this.status,
                    { fields::DURATION_MS } = duration_ms,
                    { fields::REQUEST_ID } = this.id.as_str(),
                    { fields::MESSAGE } = ACCESS_MESSAGE
                );
            } else {
                // The span already holds `request_id`, `method` and `route`, and every line
                // inside it gets them; rendering them a second time would only be thrown away.
                // An explicit parent also spares entering and leaving the span. The JSON layer
                // renders the line from the typed values rather than visiting the fields.
                let values = crate::logging::typed::AccessLine {
                    path: this.path.clone().flatten(),
                    status: this.status,
                    duration_us,
                    // The wall clock at the end, from its reading at the start and the
                    // monotonic duration, rather than read again.
                    since_epoch: this.arrived + elapsed,
                };
                crate::logging::typed::offering_access_line(values, || {
                    access_event!(
                        level,
                        parent: &this.span,
                        { fields::PATH } = path,
                        { fields::STATUS } = this.status,
                        { fields::DURATION_MS } = duration_ms,
                        { fields::MESSAGE } = ACCESS_MESSAGE
                    )
                });
            }
        }
        if hook::subscribed() {
            hook::report(&hook::Completion::Response {
                span: &this.span,
                method: this.method,
                route: labels::route_label(this.route.as_ref()),
                status: this.status,
                request_id: this.id.as_str(),
            });
        }
    }
}

pin_project_lite::pin_project! {
    /// The response body of [`HttpService`](super::HttpService): the inner body, plus the
    /// bookkeeping that runs when it ends or is dropped.
    pub struct ResponseBody<B> {
        #[pin]
        inner: B,
        completion: Option<Completion>,
    }
}

impl<B> ResponseBody<B> {
    pub(crate) fn new(inner: B, completion: Completion) -> Self {
        Self {
            inner,
            completion: Some(completion),
        }
    }
}

impl<B: Body> Body for ResponseBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let mut this = self.project();
        let frame = ready!(this.inner.as_mut().poll_frame(cx));
        if frame.is_none() || matches!(frame, Some(Err(_))) || this.inner.is_end_stream() {
            this.completion.take();
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl<B: std::fmt::Debug> std::fmt::Debug for ResponseBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseBody")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}
