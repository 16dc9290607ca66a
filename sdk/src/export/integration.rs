//! The trait between the core and one integration.

use std::time::Instant;

use super::ExporterHandle;
use crate::Metrics;

/// The seam between the core and one integration (Sentry, OTLP, Loki). The core never names
/// an integration: [`integration`](crate::integration) lists them, and everything they share
/// with the service goes through this trait, the [completion hooks](crate::completion) and
/// the trace propagation they install while they run.
pub(crate) trait Integration: Sized + 'static {
    /// What turns it on and tunes it: the public configuration type (`SentryConfig`, …).
    type Config: std::fmt::Debug + Clone + Send + Sync + 'static;
    /// The tracing layer it adds to the subscriber.
    type Layer<S>: tracing_subscriber::Layer<S> + 'static
    where
        S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>;
    /// The `exporter` label of its drop counter.
    const EXPORTER: obs_catalogue::Exporter;
    /// Whether it exports spans: request spans then carry the OpenTelemetry fields and log
    /// lines the trace and span IDs.
    const EXPORTS_SPANS: bool = false;

    /// Its configuration from the environment; `None` while its variable is unset.
    fn config_from_env(
        env: &crate::config::Env<'_>,
    ) -> Result<Option<Self::Config>, crate::ConfigError>;

    /// Starts it: its queue, worker thread and client.
    fn start(
        config: &Self::Config,
        core: &crate::Config,
        metrics: &Metrics,
    ) -> Result<Self, crate::InitError>;

    /// Its tracing layer, the first time it is asked.
    fn layer<S>(&mut self) -> Option<Self::Layer<S>>
    where
        S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>;

    /// Where it takes log lines, rendered once by the core's JSON layer with the same bytes
    /// as stdout's (Loki), the first time it is asked; most integrations take none.
    fn line_sink(&mut self) -> Option<Box<dyn crate::logging::LineSink>> {
        None
    }

    /// The counts of what it sent and dropped.
    fn handle(&self) -> &ExporterHandle;

    /// Sends what is queued until `deadline`, then stops; returns by the deadline.
    fn shutdown(&self, deadline: Instant);
}
