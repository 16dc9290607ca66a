//! Error reporting to Sentry (feature `sentry`; on at runtime when `SENTRY_DSN` is set).
//!
//! - Release (`service@version`) and environment come from [`Config`].
//! - `ERROR` log events become Sentry events; recent `INFO` and `WARN` lines ride along as
//!   breadcrumbs ([`SentryLayer`], built on `sentry-tracing`).
//! - Panics are captured (`sentry-panic`), and so is every 5xx answer of the
//!   [`HttpLayer`](crate::HttpLayer) that no error event of the same request reported already:
//!   one Sentry event per failed request, tagged with `request_id`, `route` and `method`.
//! - Sensitive headers, extra data and breadcrumb data are redacted in `before_send` with the
//!   installed [`Redactor`](crate::redact::Redactor); no default PII is sent.
//! - `SENTRY_SAMPLE_RATE` and `SENTRY_TRACES_SAMPLE_RATE` set the sample rates.
//! - A request carrying a caller's trace (W3C `traceparent`, else `sentry-trace` and
//!   `baggage`, as a browser with `@sentry/nextjs` sends them) joins it: its events, its
//!   transaction and its JSON log lines (`trace_id`) carry the caller's trace id. When both
//!   headers are present and disagree, the W3C one wins; a malformed header is ignored.
//! - Envelopes travel through the shared [`export`] queue: never on the request
//!   path, bounded, drops counted in `obs_exporter_dropped_total{exporter="sentry"}`, 429s and
//!   rate limits honoured, shutdown within the deadline on any runtime.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use sentry::protocol::{
    Breadcrumb, Context as EventContext, Event as SentryEvent, SpanId, TraceContext, TraceId, Value,
};
use sentry::{ClientOptions, Envelope, Transport};
use tracing_core::field::{Field, Visit};
use tracing_core::span::{Attributes, Id, Record};
use tracing_core::{Event, Level, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use crate::config::ConfigError;
use crate::export::{self, EXPORT_LOG_TARGET, ExportQueue, ExportSettings, ExporterHandle, Sink};
use crate::{Config, Metrics};

/// The `exporter` label of this exporter's drop counter.
pub const EXPORTER: &str = "sentry";

/// Tag names set on events captured while a request is handled.
pub mod tags {
    /// The request ID.
    pub const REQUEST_ID: &str = "request_id";
    /// The route template.
    pub const ROUTE: &str = "route";
    /// The HTTP method.
    pub const METHOD: &str = "method";
    /// The HTTP status of a captured 5xx answer.
    pub const STATUS: &str = "status";
}

/// Where to report and how much.
///
/// ```
/// use obs_service::sentry::SentryConfig;
///
/// let sentry = SentryConfig::new("https://key@o1.ingest.sentry.io/42")
///     .sample_rate(1.0)
///     .traces_sample_rate(0.1);
/// assert_eq!(sentry.dsn(), "https://key@o1.ingest.sentry.io/42");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SentryConfig {
    dsn: String,
    sample_rate: f32,
    traces_sample_rate: f32,
    export: ExportSettings,
}

impl SentryConfig {
    /// Reports to the project of `dsn`.
    pub fn new(dsn: impl Into<String>) -> Self {
        Self {
            dsn: dsn.into(),
            sample_rate: 1.0,
            traces_sample_rate: 0.0,
            export: ExportSettings {
                queue_capacity: 100,
                max_batch: 1,
                linger: Duration::ZERO,
                ..ExportSettings::default()
            },
        }
    }

    /// Fraction of error events sent (default 1).
    pub fn sample_rate(mut self, rate: f32) -> Self {
        self.sample_rate = rate.clamp(0.0, 1.0);
        self
    }

    /// Fraction of requests sent as Sentry transactions (default 0: none).
    pub fn traces_sample_rate(mut self, rate: f32) -> Self {
        self.traces_sample_rate = rate.clamp(0.0, 1.0);
        self
    }

    /// Replaces the queue and retry settings (default: 100 envelopes queued, one per request).
    pub fn export_settings(mut self, settings: ExportSettings) -> Self {
        self.export = settings;
        self
    }

    /// The DSN.
    pub fn dsn(&self) -> &str {
        &self.dsn
    }

    /// Whether requests are sent as transactions (a traces sample rate above 0).
    pub(crate) fn traces_enabled(&self) -> bool {
        self.traces_sample_rate > 0.0
    }

    /// Reads `SENTRY_DSN`, `SENTRY_SAMPLE_RATE` and `SENTRY_TRACES_SAMPLE_RATE`; `None` when
    /// `SENTRY_DSN` is unset.
    pub(crate) fn from_lookup(
        get: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<Self>, ConfigError> {
        let Some(dsn) = get("SENTRY_DSN") else {
            return Ok(None);
        };
        if dsn.parse::<sentry::types::Dsn>().is_err() {
            return Err(ConfigError::InvalidEnv {
                name: "SENTRY_DSN",
                value: crate::redact::REDACTED.to_owned(),
                expected: "a Sentry DSN (https://<key>@<host>/<project>)",
            });
        }
        let mut config = Self::new(dsn);
        let rate = |name: &'static str| -> Result<Option<f32>, ConfigError> {
            match get(name) {
                None => Ok(None),
                Some(v) => match v.parse::<f32>() {
                    Ok(r) if (0.0..=1.0).contains(&r) => Ok(Some(r)),
                    _ => Err(ConfigError::InvalidEnv {
                        name,
                        value: v,
                        expected: "a rate from 0 to 1",
                    }),
                },
            }
        };
        if let Some(r) = rate("SENTRY_SAMPLE_RATE")? {
            config.sample_rate = r;
        }
        if let Some(r) = rate("SENTRY_TRACES_SAMPLE_RATE")? {
            config.traces_sample_rate = r;
        }
        Ok(Some(config))
    }
}

/// The Sentry client options the SDK uses, with `transport` as the transport: release,
/// environment, sample rates, `before_send` redaction and request tags. Useful with
/// `sentry::test::with_captured_events_options` to see what would be sent.
pub fn client_options(sentry: &SentryConfig, config: &Config) -> ClientOptions {
    let mut options = ClientOptions::new()
        .sample_rate(sentry.sample_rate)
        .traces_sample_rate(sentry.traces_sample_rate);
    options.dsn = sentry.dsn.parse().ok();
    options.release =
        Some(format!("{}@{}", config.service_name(), config.service_version()).into());
    options.environment = Some(config.environment().to_owned().into());
    options.send_default_pii = false;
    options.shutdown_timeout = config.shutdown_timeout;
    options.max_breadcrumbs = 50;
    options.before_send = Some(Arc::new(before_send));
    options.before_breadcrumb = Some(Arc::new(|mut crumb: Breadcrumb| {
        let redactor = crate::redact::installed();
        redact_values(&redactor, crumb.data.iter_mut());
        Some(crumb)
    }));
    options
}

/// The running Sentry client: keep it for the life of the service.
pub struct SentryReporter {
    guard: sentry::ClientInitGuard,
    handle: Arc<ExporterHandle>,
}

impl std::fmt::Debug for SentryReporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SentryReporter")
            .field("enabled", &self.guard.is_enabled())
            .field("handle", &self.handle)
            .finish()
    }
}

impl SentryReporter {
    /// Starts the exporter and binds a Sentry client to the process-wide hub.
    pub fn new(
        sentry: &SentryConfig,
        config: &Config,
        metrics: &Metrics,
    ) -> Result<Self, crate::InitError> {
        let (options, handle) = start(sentry, config, metrics)?;
        Ok(Self {
            guard: sentry::init(options),
            handle,
        })
    }

    /// Starts the exporter and returns a client sending through it, bound to no hub: for
    /// services that manage Sentry hubs themselves, and for tests. Dropping the handle shuts the
    /// exporter down.
    pub fn client(
        sentry: &SentryConfig,
        config: &Config,
        metrics: &Metrics,
    ) -> Result<(sentry::Client, Arc<ExporterHandle>), crate::InitError> {
        let (options, handle) = start(sentry, config, metrics)?;
        Ok((sentry::Client::from(options), handle))
    }

    /// The exporter's counters.
    pub fn handle(&self) -> &ExporterHandle {
        &self.handle
    }

    /// Sends the queued events; returns whether they were sent or dropped in time.
    pub fn flush(&self, timeout: Duration) -> bool {
        self.guard.flush(Some(timeout))
    }

    /// Sends what is queued until `deadline`, then closes the client. Returns by the deadline.
    pub fn shutdown(&self, deadline: Instant) {
        if let Some(client) = sentry::Hub::main().client() {
            client.close(Some(deadline.saturating_duration_since(Instant::now())));
        }
        self.handle.shutdown(deadline);
    }
}

/// Starts the exporter; returns the client options sending through it.
fn start(
    sentry: &SentryConfig,
    config: &Config,
    metrics: &Metrics,
) -> Result<(ClientOptions, Arc<ExporterHandle>), crate::InitError> {
    let error = |reason: String| crate::InitError::Exporter {
        exporter: EXPORTER,
        reason,
    };
    let dsn: sentry::types::Dsn = sentry
        .dsn
        .parse()
        .map_err(|e| error(format!("SENTRY_DSN is not a valid DSN: {e}")))?;
    let (queue, handle) = export::spawn(
        EXPORTER,
        &sentry.export,
        config.shutdown_timeout,
        metrics,
        move |settings| SentrySink::new(&dsn, settings),
    )
    .map_err(error)?;
    let handle = Arc::new(handle);
    let transport = Arc::new(QueueTransport {
        queue,
        handle: handle.clone(),
    });
    let mut options = client_options(sentry, config);
    options.transport = Some(Arc::new(transport));
    Ok((options, handle))
}

/// Hands envelopes to the export queue; never blocks.
struct QueueTransport {
    queue: ExportQueue<Envelope>,
    handle: Arc<ExporterHandle>,
}

impl Transport for QueueTransport {
    fn send_envelope(&self, envelope: Envelope) {
        self.queue.push(envelope);
    }

    fn flush(&self, timeout: Duration) -> bool {
        self.handle.flush(timeout)
    }

    fn shutdown(&self, timeout: Duration) -> bool {
        self.handle.shutdown(Instant::now() + timeout)
    }
}

/// Posts envelopes to the project's envelope endpoint.
struct SentrySink {
    client: reqwest::Client,
    url: String,
    auth: String,
}

impl SentrySink {
    fn new(dsn: &sentry::types::Dsn, settings: &ExportSettings) -> Result<Self, String> {
        let agent = concat!("obs-service/", env!("CARGO_PKG_VERSION"));
        Ok(Self {
            client: export::http_client(settings)?,
            url: dsn.envelope_api_url().to_string(),
            auth: dsn.to_auth(Some(agent)).to_string(),
        })
    }
}

impl Sink for SentrySink {
    type Item = Envelope;

    async fn send(&mut self, batch: &[Envelope]) -> Result<(), export::SendError> {
        for envelope in batch {
            let mut body = Vec::new();
            envelope
                .to_writer(&mut body)
                .map_err(|e| export::SendError::permanent(format!("cannot encode: {e}")))?;
            let response = self
                .client
                .post(&self.url)
                .header("X-Sentry-Auth", &self.auth)
                .header(http::header::CONTENT_TYPE, "application/x-sentry-envelope")
                .body(body)
                .send()
                .await
                .map_err(|e| export::SendError::transient(format!("send failed: {e}")))?;
            export::classify(response.status(), response.headers())?;
        }
        Ok(())
    }
}

/// What a request's span says about it, for the tags of its Sentry events.
#[derive(Debug, Default)]
struct RequestTags {
    request_id: String,
    method: String,
    route: String,
    /// The caller's trace the request continues (`sentry.trace`, see [`crate::sentry_trace`]).
    trace: Option<crate::sentry_trace::Incoming>,
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
            "sentry.trace" => self.trace = crate::sentry_trace::parse_sentry_trace(value),
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
        // The span `HttpLayer` opens for each request.
        if meta.target() != "obs::http" || meta.name() != "request" {
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
        if meta.target().starts_with(EXPORT_LOG_TARGET) || export::on_export_thread() {
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
fn before_send(mut event: SentryEvent<'static>) -> Option<SentryEvent<'static>> {
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

fn redact_values<'a>(
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

/// Reports a 5xx answer, unless an event of the same request reached Sentry already. Called by
/// the [`HttpLayer`](crate::HttpLayer) when a request completes.
pub(crate) fn capture_server_error(
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
pub(crate) fn capture_error(detail: &str, status: u16, request_id: &str) {
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
    use std::collections::HashMap;
    use tracing_subscriber::layer::SubscriberExt as _;

    fn from(vars: &[(&str, &str)]) -> Result<Option<SentryConfig>, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        SentryConfig::from_lookup(&|k| map.get(k).cloned())
    }

    #[test]
    fn environment_sets_dsn_and_rates() {
        assert_eq!(from(&[]).unwrap(), None);
        let c = from(&[
            ("SENTRY_DSN", "http://key@127.0.0.1:9/1"),
            ("SENTRY_SAMPLE_RATE", "0.5"),
            ("SENTRY_TRACES_SAMPLE_RATE", "0.1"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!((c.sample_rate, c.traces_sample_rate), (0.5, 0.1));
        let err = from(&[
            ("SENTRY_DSN", "http://key@h/1"),
            ("SENTRY_SAMPLE_RATE", "5"),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("SENTRY_SAMPLE_RATE"), "{err}");
        let err = from(&[("SENTRY_DSN", "not a dsn with secret")]).unwrap_err();
        assert!(!err.to_string().contains("secret"), "{err}");
    }

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
                target: "obs::http",
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
    fn a_5xx_is_reported_once_per_request() {
        let events = captured(|| {
            let span = tracing::info_span!(
                target: "obs::http",
                "request",
                request_id = "req-1",
                method = "POST",
                route = "/items"
            );
            capture_server_error(&span, 503, "POST", "/items", "req-1");
            capture_server_error(&span, 503, "POST", "/items", "req-1");
            let other = tracing::info_span!(
                target: "obs::http",
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
    fn events_of_a_request_join_the_callers_trace() {
        const TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
        const PARENT: &str = "b7ad6b7169203331";
        let events = captured(|| {
            let continued = |id: &str| {
                tracing::info_span!(
                    target: "obs::http",
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
            let fresh = tracing::info_span!(target: "obs::http", "request", request_id = "req-3");
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
    fn the_sample_rate_applies() {
        let config = Config::new("svc");
        let capture = |rate: f32| {
            let sentry = SentryConfig::new("https://key@sentry.invalid/1").sample_rate(rate);
            sentry::test::with_captured_events_options(
                || {
                    sentry::capture_message("sampled?", sentry::Level::Error);
                },
                client_options(&sentry, &config),
            )
        };
        assert_eq!(capture(1.0).len(), 1);
        assert!(capture(0.0).is_empty());
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
