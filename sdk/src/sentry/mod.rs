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
//!   path, bounded (100 events by default), retried through an outage, drops counted in
//!   `obs_exporter_dropped_total{exporter="sentry", reason}`, 429s and rate limits honoured,
//!   shutdown within the deadline on any runtime.
//!
//! The parts: the configuration, the reporter and the integration the core starts (here); the
//! transport through the export queue (`transport`); and what Sentry events say: request
//! tags, redaction, the layer, and the failed requests the completion hook reports (`events`).

pub(crate) mod events;
pub(crate) mod headers;
pub(crate) mod trace;
mod transport;

use std::sync::Arc;
use std::time::{Duration, Instant};

use sentry::ClientOptions;
use sentry::protocol::Breadcrumb;
use tracing_core::Subscriber;
use tracing_subscriber::registry::LookupSpan;

use crate::catalogue::env as vars;
use crate::completion::Subscription;
use crate::config::{ConfigError, Env};
use crate::export::{self, ExportSettings, ExporterHandle};
pub use crate::propagation::Propagating;
use crate::{Config, Metrics};

pub use events::SentryLayer;
use events::{ReportCompletions, before_send, redact_values};
use transport::{QueueTransport, SentrySink};

/// The `exporter` label of this exporter's drop counter.
pub const EXPORTER: &str = crate::catalogue::Exporter::Sentry.as_str();

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
    pub(crate) fn from_env(env: &Env<'_>) -> Result<Option<Self>, ConfigError> {
        let Some(dsn) = env.get(&vars::SENTRY_DSN) else {
            return Ok(None);
        };
        if dsn.parse::<sentry::types::Dsn>().is_err() {
            return Err(ConfigError::InvalidEnv {
                name: vars::SENTRY_DSN.name,
                value: crate::redact::REDACTED.to_owned(),
                expected: "a Sentry DSN (https://<key>@<host>/<project>)",
            });
        }
        let mut config = Self::new(dsn);
        let rate = |var: &vars::EnvVar| -> Result<Option<f32>, ConfigError> {
            match env.get(var) {
                None => Ok(None),
                Some(v) => match v.parse::<f32>() {
                    Ok(r) if (0.0..=1.0).contains(&r) => Ok(Some(r)),
                    _ => Err(ConfigError::InvalidEnv {
                        name: var.name,
                        value: v,
                        expected: "a rate from 0 to 1",
                    }),
                },
            }
        };
        if let Some(r) = rate(&vars::SENTRY_SAMPLE_RATE)? {
            config.sample_rate = r;
        }
        if let Some(r) = rate(&vars::SENTRY_TRACES_SAMPLE_RATE)? {
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

impl Config {
    /// Reports errors to Sentry (what `SENTRY_DSN` turns on), or stops reporting with `None`.
    pub fn sentry(self, sentry: impl Into<Option<SentryConfig>>) -> Self {
        self.set_integration(sentry.into())
    }
}

/// Makes requests continue the Sentry trace their caller started (`sentry-trace` and
/// `baggage`, or a W3C `traceparent`), for a service that binds its Sentry client itself
/// ([`SentryReporter::client`]); a [`SentryReporter`] does this while it lives. Keep the guard
/// for as long as it should last.
///
/// ```
/// let _sentry_traces = obs_service::sentry::propagate();
/// ```
pub fn propagate() -> Propagating {
    crate::propagation::install(Arc::new(crate::sentry::trace::SentryPropagation))
}

/// The running Sentry client: keep it for the life of the service.
pub struct SentryReporter {
    guard: sentry::ClientInitGuard,
    handle: Arc<ExporterHandle>,
    /// 5xx answers and server errors of [`ApiError`](crate::ApiError) reach Sentry through the
    /// completion hooks while this lives.
    _completions: Subscription,
    /// Requests continue their caller's Sentry trace while this lives.
    _propagation: crate::propagation::Propagating,
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
    /// Starts the exporter, binds a Sentry client to the process-wide hub, and reports the 5xx
    /// answers of the [`HttpLayer`](crate::HttpLayer) and the server errors of
    /// [`ApiError`](crate::ApiError) to the current hub; while it lives, requests continue the
    /// Sentry trace their caller started.
    pub fn new(
        sentry: &SentryConfig,
        config: &Config,
        metrics: &Metrics,
    ) -> Result<Self, crate::InitError> {
        let (options, handle) = start(sentry, config, metrics)?;
        Ok(Self {
            guard: sentry::init(options),
            handle,
            _completions: crate::completion::subscribe(Arc::new(ReportCompletions)),
            _propagation: propagate(),
        })
    }

    /// Starts the exporter and returns a client sending through it, bound to no hub: for
    /// services that manage Sentry hubs themselves, and for tests. Dropping the handle shuts the
    /// exporter down. Failed requests are reported only while a [`SentryReporter`] lives;
    /// capture them yourself otherwise, and [`propagate`] to continue callers' traces.
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
        .map_err(|e| error(format!("{} is not a valid DSN: {e}", vars::SENTRY_DSN.name)))?;
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

/// The Sentry integration as the core sees it: the reporter, and its layers until the
/// subscriber takes them.
pub(crate) struct Sentry {
    reporter: SentryReporter,
    layer: Option<SentryLayer>,
    /// Sentry transactions, when `SENTRY_TRACES_SAMPLE_RATE` is above 0.
    spans: Option<sentry::integrations::tracing::SpanLayer>,
}

impl export::Integration for Sentry {
    type Config = SentryConfig;
    type Layer<S>
        = tracing_subscriber::layer::Layered<
        Option<
            tracing_subscriber::filter::Filtered<
                sentry::integrations::tracing::SpanLayer,
                tracing_subscriber::filter::LevelFilter,
                S,
            >,
        >,
        SentryLayer,
        S,
    >
    where
        S: Subscriber + for<'a> LookupSpan<'a>;
    const EXPORTER: crate::catalogue::Exporter = crate::catalogue::Exporter::Sentry;

    fn config_from_env(env: &Env<'_>) -> Result<Option<SentryConfig>, ConfigError> {
        SentryConfig::from_env(env)
    }

    fn start(
        sentry: &SentryConfig,
        config: &Config,
        metrics: &Metrics,
    ) -> Result<Self, crate::InitError> {
        Ok(Self {
            reporter: SentryReporter::new(sentry, config, metrics)?,
            layer: Some(SentryLayer::new()),
            spans: sentry
                .traces_enabled()
                .then(sentry::integrations::tracing::SpanLayer::new),
        })
    }

    fn layer<S>(&mut self) -> Option<Self::Layer<S>>
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        use tracing_subscriber::Layer as _;
        let spans = self
            .spans
            .take()
            .map(|spans| spans.with_filter(tracing_subscriber::filter::LevelFilter::INFO));
        Some(self.layer.take()?.and_then(spans))
    }

    fn handle(&self) -> &ExporterHandle {
        self.reporter.handle()
    }

    fn shutdown(&self, deadline: Instant) {
        self.reporter.shutdown(deadline);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(vars: &[(&str, &str)]) -> Result<Option<SentryConfig>, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        SentryConfig::from_env(&Env::new(&|k| map.get(k).cloned()))
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
}
