//! What Sentry events say: the request they belong to, redacted values, and the failed
//! requests the completion hook reports.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use sentry::protocol::{
    Context as EventContext, Event as SentryEvent, SpanId, TraceContext, TraceId, Value,
};
use tracing_core::field::{Field, Visit};
use tracing_core::span::{Attributes, Id, Record};
use tracing_core::{Event, Level, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use super::tags;
use crate::completion::{self, OnCompletion};
use crate::export::{self, EXPORT_LOG_TARGET};

/// What a request's span says about it, for the tags of its Sentry events.
#[derive(Debug, Default)]
struct RequestTags {
    request_id: String,
    method: String,
    route: String,
    /// The caller's trace the request continues (`sentry.trace`, see [`crate::sentry::headers`]).
    trace: Option<crate::sentry::headers::Incoming>,
    /// The request's own span in that trace, for events sent outside a transaction.
    span_id: SpanId,
    /// Whether an event of this request reached Sentry already.
    captured: AtomicBool,
}

impl RequestTags {
    /// Puts an event sent outside the request's transaction (none when traces are off) into the
    /// caller's trace; one inside it carries the transaction's context, in that trace already.
    fn join_trace(&self, event: &mut SentryEvent<'static>) {
        let Some(trace) = &self.trace else { return };
        let trace_id = TraceId::from(trace.trace_id);
        if matches!(event.contexts.get("trace"), Some(EventContext::Trace(t)) if t.trace_id == trace_id)
        {
            return;
        }
        let context = TraceContext {
            trace_id,
            span_id: self.span_id,
            parent_span_id: Some(SpanId::from(trace.parent_span_id)),
            ..Default::default()
        };
        event.contexts.insert("trace".into(), context.into());
    }

    fn apply(&self, event: &mut SentryEvent<'static>) {
        self.join_trace(event);
        for (name, value) in [
            (tags::REQUEST_ID, &self.request_id),
            (tags::ROUTE, &self.route),
            (tags::METHOD, &self.method),
        ] {
            if !value.is_empty() {
                event
                    .tags
                    .entry(name.to_owned())
                    .or_insert_with(|| value.clone());
            }
        }
        self.captured.store(true, Ordering::Release);
    }
}

impl Visit for RequestTags {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "request_id" => self.request_id = value.to_owned(),
            "method" => self.method = value.to_owned(),
            "route" => self.route = value.to_owned(),
            // Rendered by the SDK itself from the parsed header, never the raw header.
            "sentry.trace" => self.trace = crate::sentry::headers::parse_sentry_trace(value),
            _ => {}
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.record_str(field, &format!("{value:?}"));
    }
}

thread_local! {
    /// The tags of the request whose log event is being captured right now.
    static EVENT_TAGS: RefCell<Option<Arc<RequestTags>>> = const { RefCell::new(None) };
}

/// A [`tracing_subscriber::Layer`] that reports `ERROR` events to Sentry, keeps `INFO` and
/// `WARN` events as breadcrumbs, and tags events with the request they belong to.
pub struct SentryLayer {
    errors: sentry::integrations::tracing::ErrorLayer,
    breadcrumbs: sentry::integrations::tracing::BreadcrumbLayer,
}

impl std::fmt::Debug for SentryLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SentryLayer").finish_non_exhaustive()
    }
}

impl Default for SentryLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl SentryLayer {
    /// A layer reporting to the current Sentry hub.
    pub fn new() -> Self {
        Self {
            errors: sentry::integrations::tracing::ErrorLayer::new(),
            breadcrumbs: sentry::integrations::tracing::BreadcrumbLayer::new(),
        }
    }
}

impl<S> tracing_subscriber::Layer<S> for SentryLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let meta = attrs.metadata();
        // The span the SDK opens for each exchange.
        if !crate::exchange::offer::is_request_span(meta) {
            return;
        }
        let Some(span) = ctx.span(id) else { return };
        let mut tags = RequestTags::default();
        attrs.record(&mut tags);
        span.extensions_mut().insert(Arc::new(tags));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut extensions = span.extensions_mut();
        if let Some(tags) = extensions
            .get_mut::<Arc<RequestTags>>()
            .and_then(Arc::get_mut)
        {
            values.record(tags);
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let meta = event.metadata();
        // A panic's own line is not an event of its own: sentry-panic's hook reports the panic,
        // with its stack trace.
        if meta.target().starts_with(EXPORT_LOG_TARGET)
            || meta.target() == crate::panic::PANIC_LOG_TARGET
            // The catch-panic layer's line of a panic sentry-panic's hook reported already.
            || (meta.target() == crate::error::ERROR_LOG_TARGET && meta.fields().field("panic").is_some())
            || export::queue::on_export_thread()
        {
            return;
        }
        match *meta.level() {
            Level::ERROR => {
                let tags = ctx.event_scope(event).and_then(|scope| {
                    scope
                        .into_iter()
                        .find_map(|span| span.extensions().get::<Arc<RequestTags>>().cloned())
                });
                // `try_with`: events can be logged while a thread's locals are torn down.
                let _ = EVENT_TAGS.try_with(|slot| *slot.borrow_mut() = tags);
                self.errors.on_event(event, ctx);
                let _ = EVENT_TAGS.try_with(|slot| slot.borrow_mut().take());
            }
            Level::WARN | Level::INFO => self.breadcrumbs.on_event(event, ctx),
            _ => {}
        }
    }
}

/// The trace of the request `span` belongs to (its own or its nearest enclosing request
/// span's), when the request continues or starts a known one, with the request's own span id
/// in it.
pub(crate) fn request_trace(span: &tracing::Span) -> Option<([u8; 16], SpanId)> {
    let tags = span_tags(span)?;
    tags.trace.map(|trace| (trace.trace_id, tags.span_id))
}

/// The request tags of `span` or its nearest enclosing request span.
fn span_tags(span: &tracing::Span) -> Option<Arc<RequestTags>> {
    span.with_subscriber(|(id, dispatch)| {
        let registry = dispatch.downcast_ref::<tracing_subscriber::Registry>()?;
        let span = registry.span(id)?;
        span.scope()
            .find_map(|span| span.extensions().get::<Arc<RequestTags>>().cloned())
    })
    .flatten()
}

/// Tags an event with its request and hides sensitive values.
pub(super) fn before_send(mut event: SentryEvent<'static>) -> Option<SentryEvent<'static>> {
    let tags = EVENT_TAGS
        .try_with(|slot| slot.borrow().clone())
        .ok()
        .flatten()
        .or_else(|| span_tags(&tracing::Span::current()));
    if let Some(tags) = tags {
        tags.apply(&mut event);
    }
    let redactor = crate::redact::installed();
    if let Some(request) = event.request.as_mut() {
        redactor.redact_map(&mut request.headers);
        redactor.redact_map(&mut request.env);
        if request.cookies.is_some() {
            request.cookies = Some(crate::redact::REDACTED.to_owned());
        }
    }
    redactor.redact_map(&mut event.tags);
    redact_values(&redactor, event.extra.iter_mut());
    // sentry-tracing puts an event's fields in the "Rust Tracing Fields" context.
    for context in event.contexts.values_mut() {
        if let sentry::protocol::Context::Other(map) = context {
            redact_values(&redactor, map.iter_mut());
        }
    }
    for crumb in event.breadcrumbs.values.iter_mut() {
        redact_values(&redactor, crumb.data.iter_mut());
    }
    Some(event)
}

pub(super) fn redact_values<'a>(
    redactor: &crate::redact::Redactor,
    values: impl Iterator<Item = (&'a String, &'a mut Value)>,
) {
    for (key, value) in values {
        if redactor.is_sensitive(key) {
            *value = Value::String(crate::redact::REDACTED.to_owned());
        } else {
            redactor.redact_json(value);
        }
    }
}

/// Reports what the core completed: 5xx answers and server errors, once per request.
pub(super) struct ReportCompletions;

impl OnCompletion for ReportCompletions {
    fn on_exchange(&self, exchange: &completion::Exchange<'_>) {
        if exchange.is_server_error() {
            capture_server_error(
                exchange.span(),
                exchange.status(),
                exchange.method(),
                exchange.route(),
                exchange.request_id(),
            );
        }
    }

    fn on_server_error(&self, error: &completion::ServerError<'_>) {
        capture_error(error.detail(), error.status(), error.request_id());
    }

    /// Usually sentry-panic's process hook captured the panic already, with its stack trace
    /// and the request's tags, and this finds the request reported; it matters when another
    /// panic hook replaced Sentry's.
    fn on_panic(&self, panic: &completion::Panic<'_>) {
        capture_error(panic.message(), 500, panic.request_id());
    }
}

/// Reports a 5xx answer, unless an event of the same request reached Sentry already. Called
/// when a request of the [`HttpLayer`](crate::HttpLayer) completes.
fn capture_server_error(
    span: &tracing::Span,
    status: u16,
    method: &str,
    route: &str,
    request_id: &str,
) {
    let hub = sentry::Hub::current();
    if hub.client().is_none() {
        return;
    }
    let tags = span_tags(span);
    if tags
        .as_ref()
        .is_some_and(|tags| tags.captured.swap(true, Ordering::AcqRel))
    {
        return;
    }
    // The request span has ended, so `before_send` finds its tags (and trace) only here.
    let _ = EVENT_TAGS.try_with(|slot| *slot.borrow_mut() = tags);
    hub.with_scope(
        |scope| {
            scope.set_tag(tags::REQUEST_ID, request_id);
            scope.set_tag(tags::ROUTE, route);
            scope.set_tag(tags::METHOD, method);
            scope.set_tag(tags::STATUS, status);
        },
        || {
            hub.capture_message(
                &format!("{method} {route} answered {status}"),
                sentry::Level::Error,
            )
        },
    );
    let _ = EVENT_TAGS.try_with(|slot| slot.borrow_mut().take());
}

/// Reports a server error of the handler's error type, unless an event of the same request
/// reached Sentry already (its `ERROR` log line usually did).
fn capture_error(detail: &str, status: u16, request_id: &str) {
    let hub = sentry::Hub::current();
    if hub.client().is_none() {
        return;
    }
    let current = span_tags(&tracing::Span::current());
    if current
        .as_ref()
        .is_some_and(|tags| tags.captured.swap(true, Ordering::AcqRel))
    {
        return;
    }
    hub.with_scope(
        |scope| {
            if !request_id.is_empty() {
                scope.set_tag(tags::REQUEST_ID, request_id);
            }
            scope.set_tag(tags::STATUS, status);
        },
        || hub.capture_message(detail, sentry::Level::Error),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;
    use crate::sentry::{SentryConfig, client_options};
    use tracing_subscriber::layer::SubscriberExt as _;

    /// Runs `f` under a subscriber with the Sentry layer and a test transport.
    fn captured(f: impl FnOnce()) -> Vec<SentryEvent<'static>> {
        let config = Config::new("billing").version("1.2.3").env("staging");
        let options = client_options(&SentryConfig::new("https://key@sentry.invalid/1"), &config);
        sentry::test::with_captured_events_options(
            || {
                let subscriber = tracing_subscriber::registry().with(SentryLayer::new());
                tracing::subscriber::with_default(subscriber, f);
            },
            options,
        )
    }

    #[test]
    fn error_events_carry_request_tags_release_environment_and_breadcrumbs() {
        let events = captured(|| {
            let span = tracing::info_span!(
                target: crate::exchange::SPAN_TARGET,
                "request",
                request_id = "req-7",
                method = "GET",
                route = "/users/{id}"
            );
            let _entered = span.enter();
            tracing::info!(password = "hunter2", "looking up the user");
            tracing::warn!("slow lookup");
            tracing::debug!("not a breadcrumb");
            tracing::error!(authorization = "Bearer abc", "lookup failed");
        });
        assert_eq!(events.len(), 1, "{events:#?}");
        let event = &events[0];
        assert_eq!(event.tags["request_id"], "req-7");
        assert_eq!(event.tags["route"], "/users/{id}");
        assert_eq!(event.tags["method"], "GET");
        assert_eq!(event.release.as_deref(), Some("billing@1.2.3"));
        assert_eq!(event.environment.as_deref(), Some("staging"));
        let crumbs: Vec<_> = event
            .breadcrumbs
            .values
            .iter()
            .filter_map(|b| b.message.as_deref())
            .collect();
        assert_eq!(crumbs, ["looking up the user", "slow lookup"]);
        let text = serde_json::to_string(event).unwrap();
        assert!(
            !text.contains("hunter2") && !text.contains("Bearer abc"),
            "{text}"
        );
    }

    #[test]
    fn events_of_a_request_join_the_callers_trace() {
        const TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
        const PARENT: &str = "b7ad6b7169203331";
        let events = captured(|| {
            let continued = |id: &str| {
                tracing::info_span!(
                    target: crate::exchange::SPAN_TARGET,
                    "request",
                    request_id = id,
                    method = "GET",
                    route = "/",
                    sentry.trace = format!("{TRACE}-{PARENT}-1").as_str(),
                )
            };
            continued("req-1").in_scope(|| tracing::error!("handler failed"));
            let span = continued("req-2");
            capture_server_error(&span, 502, "GET", "/", "req-2");
            let fresh = tracing::info_span!(target: crate::exchange::SPAN_TARGET, "request", request_id = "req-3");
            fresh.in_scope(|| tracing::error!("no caller"));
        });
        assert_eq!(events.len(), 3, "{events:#?}");
        let trace_of = |event: &SentryEvent<'static>| match event.contexts.get("trace") {
            Some(EventContext::Trace(t)) => (
                t.trace_id.to_string(),
                t.parent_span_id.map(|s| s.to_string()),
            ),
            other => panic!("no trace context: {other:?}"),
        };
        for event in &events[..2] {
            assert_eq!(
                trace_of(event),
                (TRACE.to_owned(), Some(PARENT.to_owned())),
                "{event:#?}"
            );
        }
        assert_ne!(trace_of(&events[2]).0, TRACE);
    }

    #[test]
    fn a_5xx_is_reported_once_per_request() {
        let events = captured(|| {
            let span = tracing::info_span!(
                target: crate::exchange::SPAN_TARGET,
                "request",
                request_id = "req-1",
                method = "POST",
                route = "/items"
            );
            capture_server_error(&span, 503, "POST", "/items", "req-1");
            capture_server_error(&span, 503, "POST", "/items", "req-1");
            let other = tracing::info_span!(
                target: crate::exchange::SPAN_TARGET,
                "request",
                request_id = "req-2",
                method = "GET",
                route = "/"
            );
            other.in_scope(|| tracing::error!("handler failed"));
            capture_server_error(&other, 500, "GET", "/", "req-2");
        });
        assert_eq!(events.len(), 2, "{events:#?}");
        assert_eq!(events[0].tags["request_id"], "req-1");
        assert_eq!(events[0].tags["status"], "503");
        assert_eq!(events[0].tags["route"], "/items");
        assert_eq!(events[1].tags["request_id"], "req-2");
        assert_eq!(events[1].message.as_deref(), Some("handler failed"));
    }

    #[test]
    fn sensitive_request_headers_are_redacted() {
        let mut event = SentryEvent::default();
        let mut request = sentry::protocol::Request::default();
        request
            .headers
            .insert("Authorization".into(), "Bearer secret".into());
        request.headers.insert("Accept".into(), "*/*".into());
        request.cookies = Some("session=abc".into());
        event.request = Some(request);
        event
            .extra
            .insert("api_key".into(), Value::String("k".into()));
        let event = before_send(event).unwrap();
        let request = event.request.unwrap();
        assert_eq!(request.headers["Authorization"], crate::redact::REDACTED);
        assert_eq!(request.headers["Accept"], "*/*");
        assert_eq!(request.cookies.as_deref(), Some(crate::redact::REDACTED));
        assert_eq!(event.extra["api_key"], crate::redact::REDACTED);
    }
}
