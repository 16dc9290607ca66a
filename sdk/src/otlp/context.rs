//! W3C trace context, installed while OTLP export runs (or by [`propagate`](super::propagate)):
//! the caller's `traceparent` continued, the current one passed on, and the IDs of log lines.

use opentelemetry::propagation::TextMapPropagator as _;
use opentelemetry::trace::TraceContextExt as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use std::cell::Cell;

use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry_sdk::trace::{IdGenerator, RandomIdGenerator};

use super::TRACEPARENT;
use crate::propagation::{CallerTrace, NewRoot, Propagation, RemoteTrace};

thread_local! {
    /// The ids the next root span started on this thread takes: the trace a request starts,
    /// chosen so Sentry starts the same one (see [`crate::propagation`]).
    static CHOSEN: Cell<Option<NewRoot>> = const { Cell::new(None) };
}

/// The pipeline's id generator: random ids, except for the request span whose ids were chosen
/// beforehand ([`W3cPropagation::continue_trace`] arms them for that one span's start).
#[derive(Debug, Default)]
pub(crate) struct ChosenIds(RandomIdGenerator);

impl IdGenerator for ChosenIds {
    fn new_trace_id(&self) -> TraceId {
        // Asked after the span id, and only for a root span: the last use of the chosen ids.
        match CHOSEN.try_with(Cell::take).ok().flatten() {
            Some(root) => TraceId::from_bytes(root.trace_id),
            None => self.0.new_trace_id(),
        }
    }

    fn new_span_id(&self) -> SpanId {
        match CHOSEN.try_with(Cell::get).ok().flatten() {
            Some(root) => SpanId::from_bytes(root.span_id),
            None => self.0.new_span_id(),
        }
    }
}

/// [`TRACEPARENT`] as a ready-made header name: every request looks it up, and a `&str` name is
/// parsed on each look-up.
const TRACEPARENT_HEADER: http::HeaderName = http::HeaderName::from_static(TRACEPARENT);

/// W3C trace context as the SDK carries it across processes: the caller's `traceparent` (or
/// the trace another integration read, such as Sentry's `sentry-trace`) continued by the
/// request span, `traceparent` passed on to outgoing calls, and the IDs of log lines.
#[derive(Debug)]
pub(crate) struct W3cPropagation;

impl Propagation for W3cPropagation {
    fn read_caller(&self, headers: &http::HeaderMap, _otel: bool, caller: &mut CallerTrace) {
        if headers.contains_key(&TRACEPARENT_HEADER)
            && crate::traceparent::from_headers(headers).is_some()
        {
            caller.continued = true;
        }
    }

    fn continue_trace(
        &self,
        span: &tracing::Span,
        headers: &http::HeaderMap,
        caller: &CallerTrace,
    ) {
        if set_remote_parent(span, headers) {
            return;
        }
        if let Some(remote) = caller.remote {
            continue_remote_trace(span, remote);
        } else if let Some(root) = caller.root {
            // Started now, on this thread, with the chosen ids; disarmed whatever happens, so
            // no other span takes them.
            let _ = CHOSEN.try_with(|chosen| chosen.set(Some(root)));
            let _ = span.context();
            let _ = CHOSEN.try_with(|chosen| chosen.set(None));
        }
    }

    fn inject(&self, headers: &mut http::HeaderMap) {
        inject(headers);
    }

    fn sampled_trace_id(&self, span: &tracing::Span) -> Option<[u8; 16]> {
        if span.is_none() {
            return None;
        }
        let cx = span.context();
        let otel_span = cx.span();
        let context = otel_span.span_context();
        (context.is_valid() && context.is_sampled()).then(|| context.trace_id().to_bytes())
    }

    fn log_ids(
        &self,
        id: &tracing::span::Id,
        dispatch: Option<&tracing::Dispatch>,
    ) -> Option<(String, String)> {
        let lookup =
            |dispatch: &tracing::Dispatch| tracing_opentelemetry::get_otel_context(id, dispatch);
        let cx = match dispatch {
            Some(dispatch) => lookup(dispatch),
            // The global subscriber is found even from inside an event.
            None => tracing::dispatcher::get_default(lookup),
        }?;
        let span = cx.span();
        let context = span.span_context();
        context.is_valid().then(|| {
            (
                context.trace_id().to_string(),
                context.span_id().to_string(),
            )
        })
    }
}

/// Makes `span` continue `remote`, a trace the caller started that arrived without a valid
/// `traceparent`. A trace whose caller left the decision open is sampled.
fn continue_remote_trace(span: &tracing::Span, remote: RemoteTrace) {
    use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};

    if span.is_none() {
        return;
    }
    let flags = match remote.sampled {
        Some(false) => TraceFlags::default(),
        _ => TraceFlags::SAMPLED,
    };
    let context = SpanContext::new(
        TraceId::from_bytes(remote.trace_id),
        SpanId::from_bytes(remote.parent_span_id),
        flags,
        true,
        TraceState::default(),
    );
    let _ = span.set_parent(opentelemetry::Context::new().with_remote_span_context(context));
}

/// Makes `span` a child of the caller's span when `headers` carry a valid `traceparent`;
/// returns whether they did.
fn set_remote_parent(span: &tracing::Span, headers: &http::HeaderMap) -> bool {
    if span.is_none() || !headers.contains_key(&TRACEPARENT_HEADER) {
        return false;
    }
    // The propagator reads values the spec (and the Sentry integration) refuses: only one both
    // accept is continued, so Sentry and the log lines name one trace (`crate::traceparent`).
    if crate::traceparent::from_headers(headers).is_none() {
        return false;
    }
    let cx = TraceContextPropagator::new().extract(&opentelemetry_http::HeaderExtractor(headers));
    if cx.span().span_context().is_valid() {
        let _ = span.set_parent(cx);
    }
    true
}

/// Adds `traceparent` (and `tracestate`) for the current span to `headers`, unless they carry
/// one already or no trace is active.
///
/// ```
/// let mut headers = http::HeaderMap::new();
/// obs_service::otlp::inject(&mut headers);
/// assert!(headers.get("traceparent").is_none()); // no trace outside a traced span
/// ```
pub fn inject(headers: &mut http::HeaderMap) {
    if headers.contains_key(&TRACEPARENT_HEADER) {
        return;
    }
    let cx = tracing::Span::current().context();
    if !cx.span().span_context().is_valid() {
        return;
    }
    TraceContextPropagator::new()
        .inject_context(&cx, &mut opentelemetry_http::HeaderInjector(headers));
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_sdk::trace::SdkTracerProvider;

    #[test]
    fn incoming_traceparent_becomes_the_parent_and_is_passed_on() {
        use tracing_subscriber::layer::SubscriberExt as _;
        let provider = SdkTracerProvider::builder().build();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        tracing::subscriber::with_default(subscriber, || {
            let mut incoming = http::HeaderMap::new();
            incoming.insert(
                TRACEPARENT,
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
                    .parse()
                    .unwrap(),
            );
            let span = tracing::info_span!("request");
            set_remote_parent(&span, &incoming);
            let _entered = span.enter();
            let mut outgoing = http::HeaderMap::new();
            inject(&mut outgoing);
            let value = outgoing[TRACEPARENT].to_str().unwrap().to_owned();
            assert!(
                value.starts_with("00-0af7651916cd43dd8448eb211c80319c-"),
                "{value}"
            );
            assert!(
                !value.contains("b7ad6b7169203331"),
                "a new span id: {value}"
            );
        });
    }

    /// The trace `span` belongs to after `set_remote_parent` saw `traceparent`.
    fn continued_trace(traceparent: &str) -> [u8; 16] {
        use tracing_subscriber::layer::SubscriberExt as _;
        let provider = SdkTracerProvider::builder().build();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        tracing::subscriber::with_default(subscriber, || {
            let mut incoming = http::HeaderMap::new();
            incoming.insert(TRACEPARENT, traceparent.parse().unwrap());
            let span = tracing::info_span!("request");
            set_remote_parent(&span, &incoming);
            span.context().span().span_context().trace_id().to_bytes()
        })
    }

    /// Values OpenTelemetry's propagator reads but the spec (and so the Sentry integration)
    /// refuses start a trace of their own: found by the `traceparent` property below.
    #[test]
    fn values_outside_the_spec_are_not_continued() {
        let one = {
            let mut id = [0u8; 16];
            id[15] = 1;
            id
        };
        for lax in [
            "000-00000000000000000000000000000001-0000000000000001-01",
            "00-1-1-01",
            "00-00000000000000000000000000000001-0000000000000001-01-",
            "00-00000000000000000000000000000001-0000000000000001-1",
        ] {
            assert_ne!(continued_trace(lax), one, "{lax}");
        }
        let valid = "00-00000000000000000000000000000001-0000000000000001-01";
        assert_eq!(continued_trace(valid), one);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        /// A `traceparent` near the valid one is continued exactly when the W3C parser, which
        /// the Sentry integration uses, accepts it, and then with its trace id.
        #[test]
        fn continued_exactly_when_the_spec_allows(
            edited in "(0[0-9a-f]{1,2}|f[ef])-(0{31}1|0{0,4}1)-(0{15}1|0{0,3}1)-0[0-9a-f](-[a-z0-9]{0,3})?[- ]{0,2}",
        ) {
            let trace = continued_trace(&edited);
            match crate::traceparent::parse(&edited) {
                Some(t) => proptest::prop_assert_eq!(trace, t.trace_id),
                None => {
                    let mut one = [0u8; 16];
                    one[15] = 1;
                    proptest::prop_assert_ne!(trace, one);
                }
            }
        }
    }
}
