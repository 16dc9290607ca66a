//! The transport-neutral core: what the SDK does for one exchange, whatever carried it.
//!
//! An exchange is one request and its answer. For each, the core
//! - counts it in and out of the adapter's in-flight gauge, counted out on every path (the
//!   answer finished, the client went away, a handler panicked);
//! - opens the `request` span with `request_id`, `method` and `route`, so every log line
//!   written while it is handled carries the `request_id` (`span`);
//! - records its duration in the adapter's histogram by method, route and status (`metrics`);
//! - writes one access line (target `obs::access`) with its path, status and `duration_ms`
//!   (`access`);
//! - reports it finished to the [completion hooks](crate::completion).
//!
//! Adapters drive it: the tower/axum HTTP layer ([`layer`](crate::layer)) today, gRPC and
//! actix-web adapters beside it. An adapter reads what only it can (the request ID header,
//! the method, the route its router matched, the caller's trace headers), hands them to
//! [`Exchange::begin`], calls its handler inside [`Exchange::span`], and turns the answer's
//! status into a [`Completion`] with [`Exchange::respond`]; dropping the completion when the
//! answer has been sent records the exchange. Nothing here names a transport: the names of
//! the metrics come from the adapter, and the log layer finds the core's span and access line
//! by the core's own target and fields ([`offer`]).

pub(crate) mod access;
pub(crate) mod offer;
pub(crate) mod red;
mod route;
mod span;

use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::{Level, Span};

pub use route::RouteTemplate;
pub(crate) use route::route_label;

use crate::RequestId;
use crate::propagation::CallerTrace;
use red::Red;

/// The target of the request span, by which log layers know it.
pub(crate) const SPAN_TARGET: &str = "obs::request";
/// The name of the request span.
pub(crate) const SPAN_NAME: &str = "request";
/// The access line's message, given as a string field rather than a format string: every
/// layer reads either as the message, and a string skips `core::fmt` on every exchange.
pub(crate) const ACCESS_MESSAGE: &str = "request completed";

/// What an adapter configured: the same for every exchange it handles.
#[derive(Clone)]
pub(crate) struct Settings {
    /// Where the RED metrics go; `None` records none.
    pub(crate) red: Option<Red>,
    /// Whether to open a span per exchange.
    pub(crate) span: bool,
    /// Whether spans carry the `otel.*` fields an OpenTelemetry exporter reads.
    pub(crate) otel: bool,
    /// The access line's level; `None` writes none.
    pub(crate) access_log: Option<Level>,
    /// What the adapter's statuses mean.
    pub(crate) statuses: &'static Statuses,
}

/// What an adapter's status codes mean: HTTP's status codes, or gRPC's codes. The core asks
/// these rather than knowing either.
#[derive(Debug)]
pub(crate) struct Statuses {
    /// Whether a status means the server failed: the span is marked failed and the completion
    /// report says so.
    pub(crate) is_fault: fn(u16) -> bool,
    /// The status as the access line writes it, when it is a name rather than the number.
    pub(crate) name: Option<fn(u16) -> &'static str>,
    /// Whether the OpenTelemetry span name starts with the method (`GET /users/{id}`, as the
    /// HTTP conventions name a server span) or is the route alone (an RPC method,
    /// `demo.v1.Users/Get`, as the RPC conventions do).
    pub(crate) span_name_with_method: bool,
}

/// HTTP's statuses: a 5xx is the server's fault, and the access line writes the number.
pub(crate) static HTTP_STATUSES: Statuses = Statuses {
    is_fault: |status| status >= 500,
    name: None,
    span_name_with_method: true,
};

/// When an exchange arrived: the monotonic clock for its duration and, when the access line
/// wants a timestamp, the wall clock, read once for the line and a generated request ID.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Arrival {
    start: Instant,
    since_epoch: Option<Duration>,
}

impl Arrival {
    /// Now, as `settings` need it.
    pub(crate) fn now(settings: &Settings) -> Self {
        Self {
            start: Instant::now(),
            since_epoch: settings
                .access_log
                .is_some()
                .then(crate::clock::since_epoch),
        }
    }

    /// The wall-clock time of the arrival: read now if it was not then.
    pub(crate) fn since_epoch(&self) -> Duration {
        self.since_epoch.unwrap_or_else(crate::clock::since_epoch)
    }
}

/// What an adapter keeps of a request for its access line.
pub(crate) trait AccessPath {
    /// The path the access line shows (the core cuts it to a bounded length).
    fn path(&self) -> &str;
}

/// What an adapter knows of an exchange when it begins.
pub(crate) struct Begin<P> {
    /// The request ID, accepted or made.
    pub(crate) id: RequestId,
    /// The method's slot in the adapter's in-flight gauges.
    pub(crate) method_slot: usize,
    /// The method label.
    pub(crate) method: &'static str,
    /// The route, if the router matched one before the handler ran.
    pub(crate) route: Option<RouteTemplate>,
    /// Whether the router matches only after the exchange begins (actix-web routes inside
    /// the service its middleware wraps), so the answer names the route: the span opens
    /// without a `route` field, and `route` is `None`.
    pub(crate) route_pending: bool,
    /// What the access line shows, when it shows this exchange.
    pub(crate) path: Option<P>,
}

/// What the core keeps about one exchange from its beginning to its end, boxed once: the
/// adapter's future and then its response body carry it as one pointer. Unboxed it was about
/// 200 bytes, copied on every move of the future (into axum's box, through tower's `Oneshot`)
/// and of the body (into the box axum puts it in), which cost more than the allocation.
pub(crate) struct Exchange<P> {
    start: Instant,
    /// When the exchange arrived, since the Unix epoch, if the access log wants it.
    arrived: Duration,
    id: RequestId,
    method: &'static str,
    route: Option<RouteTemplate>,
    path: Option<P>,
    /// Set when the answer starts.
    status: u16,
    /// The method's slot in the in-flight gauges while the exchange is counted in there.
    /// Counted out when it completes or, on any other path (client gone, panic), when it is
    /// dropped: a slot rather than a clone of the gauge, which cost two reference-count
    /// updates per exchange.
    active: Option<usize>,
    span: Span,
    /// The trace of the exchange when a tracer samples it: its duration is kept as an exemplar.
    exemplar: Option<[u8; 16]>,
    /// Whether the span opened without a `route` field, the route to come with the answer.
    route_pending: bool,
    /// Whether the route came with the answer, after the span was named without it; set when
    /// the answer starts.
    named_late: bool,
    settings: Arc<Settings>,
}

impl<P: AccessPath> Exchange<P> {
    /// Counts the exchange in and opens its span, with the fields of the `caller`'s trace.
    // Inlined into the adapter's call, the exchange is built where it is boxed rather than
    // moved there from the arguments.
    #[inline]
    pub(crate) fn begin(
        settings: &Arc<Settings>,
        arrival: Arrival,
        begin: Begin<P>,
        caller: &CallerTrace,
    ) -> Box<Self> {
        let Begin {
            id,
            method_slot,
            method,
            route,
            route_pending,
            path,
        } = begin;
        // An adapter without an in-flight gauge (the RPC conventions define none) has no slots.
        let active = settings
            .red
            .as_ref()
            .and_then(|red| red.active.get(method_slot))
            .map(|gauge| {
                gauge.increment(1.0);
                method_slot
            });
        let span = match settings.span {
            true => span::open(settings, &id, method, route.as_ref(), route_pending, caller),
            false => Span::none(),
        };
        Box::new(Self {
            start: arrival.start,
            arrived: arrival.since_epoch.unwrap_or_default(),
            id,
            method,
            route,
            path,
            status: 0,
            active,
            span,
            exemplar: None,
            route_pending,
            named_late: false,
            settings: settings.clone(),
        })
    }

    /// The exchange's span (disabled when the adapter opens none): enter it around the
    /// handler.
    pub(crate) fn span(&self) -> &Span {
        &self.span
    }

    /// The exchange's request ID.
    pub(crate) fn id(&self) -> &RequestId {
        &self.id
    }

    /// Whether the answer is to name the route ([`Begin::route_pending`]): only actix-web's
    /// adapter routes after the exchange begins.
    #[cfg(feature = "actix")]
    pub(crate) fn route_pending(&self) -> bool {
        self.route_pending
    }

    /// Keeps the exchange's duration as an exemplar of `trace_id`, the sampled trace its span
    /// belongs to.
    pub(crate) fn trace_exemplar(&mut self, trace_id: Option<[u8; 16]>) {
        self.exemplar = trace_id;
    }

    /// The answer started with `status`; `route` is the route its router named, if it named
    /// it only now. Dropping the completion, when the answer has been sent or abandoned,
    /// records the exchange.
    pub(crate) fn respond(
        mut self: Box<Self>,
        status: u16,
        route: Option<RouteTemplate>,
    ) -> Completion<P> {
        self.status = status;
        // The route came with the answer: the request was routed after the span opened, or a
        // router named it only now (the span said `unmatched`). The span records it, so every
        // line from here on, the access line among them, and a tracer's span show it.
        self.named_late = self.route_pending || (self.route.is_none() && route.is_some());
        if self.named_late {
            self.route = route;
            if !self.span.is_disabled() {
                span::record_route(&self.span, self.route.as_ref());
            }
        }
        Completion(self)
    }
}

impl<P> Exchange<P> {
    /// Counts the exchange out of the in-flight gauge, once.
    fn count_out(&mut self) {
        if let (Some(slot), Some(red)) = (self.active.take(), &self.settings.red) {
            red.active[slot].decrement(1.0);
        }
    }
}

impl<P> Drop for Exchange<P> {
    fn drop(&mut self) {
        self.count_out();
    }
}

/// An exchange whose answer has started. Dropping it records the exchange: the histogram,
/// the access line, the end of its in-flight count, and the completion report.
pub(crate) struct Completion<P: AccessPath>(Box<Exchange<P>>);

impl<P: AccessPath> Drop for Completion<P> {
    fn drop(&mut self) {
        let this = &mut *self.0;
        let elapsed = this.start.elapsed();
        if let Some(red) = &this.settings.red {
            red.record(
                this.route.as_ref(),
                this.method,
                this.status,
                elapsed.as_secs_f64(),
            );
            if let Some(trace_id) = this.exemplar {
                red.keep_exemplar(
                    this.route.as_ref(),
                    this.method,
                    this.status,
                    elapsed.as_secs_f64(),
                    trace_id,
                );
            }
        }
        this.count_out();
        let statuses = this.settings.statuses;
        if this.settings.otel {
            span::record_outcome(
                &this.span,
                (statuses.is_fault)(this.status),
                statuses.span_name_with_method.then_some(this.method),
                this.named_late.then_some(this.route.as_ref()),
            );
        }
        if let (Some(level), Some(path)) = (this.settings.access_log, this.path.as_ref()) {
            access::write(
                level,
                &access::Line {
                    span: &this.span,
                    id: &this.id,
                    method: this.method,
                    route: route_label(this.route.as_ref()),
                    path: path.path(),
                    status: this.status,
                    status_name: statuses.name.map(|name| name(this.status)),
                    elapsed,
                    // The wall clock at the end, from its reading at the start and the
                    // monotonic duration, rather than read again.
                    since_epoch: this.arrived + elapsed,
                },
            );
        }
        if crate::completion::subscribed() {
            crate::completion::exchange(&crate::completion::Exchange {
                span: &this.span,
                request_id: this.id.as_str(),
                method: this.method,
                route: route_label(this.route.as_ref()),
                status: this.status,
                server_error: (statuses.is_fault)(this.status),
                duration: elapsed,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Mutex;

    use tracing::field::{Field, Visit};
    use tracing_subscriber::layer::{Context, SubscriberExt};

    use super::*;

    /// The request span's fields as a tracer sees them, recorded values included.
    #[derive(Clone, Default)]
    struct Fields(Arc<Mutex<HashMap<String, String>>>);

    impl Visit for Fields {
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            self.record_str(field, &format!("{value:?}"));
        }
        fn record_str(&mut self, field: &Field, value: &str) {
            let mut fields = self.0.lock().unwrap();
            fields.insert(field.name().to_owned(), value.to_owned());
        }
    }

    impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Fields {
        fn on_new_span(
            &self,
            attrs: &tracing::span::Attributes<'_>,
            _: &tracing::Id,
            _: Context<'_, S>,
        ) {
            attrs.record(&mut self.clone());
        }
        fn on_record(
            &self,
            _: &tracing::Id,
            values: &tracing::span::Record<'_>,
            _: Context<'_, S>,
        ) {
            values.record(&mut self.clone());
        }
    }

    struct NoPath;
    impl AccessPath for NoPath {
        fn path(&self) -> &str {
            ""
        }
    }

    /// The fields of the span of one exchange: opened with `route` (pending or not), answered
    /// with `late`.
    fn span_fields(
        route: Option<&str>,
        route_pending: bool,
        late: Option<&str>,
    ) -> HashMap<String, String> {
        let fields = Fields::default();
        let subscriber = tracing_subscriber::registry().with(fields.clone());
        tracing::subscriber::with_default(subscriber, || {
            let settings = Arc::new(Settings {
                red: None,
                span: true,
                otel: true,
                access_log: None,
                statuses: &HTTP_STATUSES,
            });
            let exchange = Exchange::<NoPath>::begin(
                &settings,
                Arrival::now(&settings),
                Begin {
                    id: RequestId::parse("req-1").unwrap(),
                    method_slot: 0,
                    method: "GET",
                    route: route.map(RouteTemplate::new),
                    route_pending,
                    path: None,
                },
                &CallerTrace::default(),
            );
            drop(exchange.respond(200, late.map(RouteTemplate::new)));
        });
        fields.0.lock().unwrap().clone()
    }

    #[test]
    fn a_route_that_comes_with_the_answer_is_recorded_on_the_span() {
        // Known when the exchange began: the span keeps it.
        let known = span_fields(Some("/users/{id}"), false, None);
        assert_eq!(known["route"], "/users/{id}");
        assert_eq!(known["otel.name"], "GET /users/{id}");
        // Routed after the span opened (actix-web): named by the answer.
        let pending = span_fields(None, true, Some("/users/{id}"));
        assert_eq!(pending["route"], "/users/{id}");
        assert_eq!(pending["otel.name"], "GET /users/{id}");
        // Routed after, and nothing matched.
        let unmatched = span_fields(None, true, None);
        assert_eq!(unmatched["route"], crate::catalogue::UNMATCHED_ROUTE);
        assert_eq!(unmatched["otel.name"], "GET");
        // A hand-written router that names its route in the answer (the tower layer).
        let late = span_fields(None, false, Some("/orders/{id}"));
        assert_eq!(late["route"], "/orders/{id}");
        assert_eq!(late["otel.name"], "GET /orders/{id}");
    }
}
