//! Configuration: read from the environment (`env`), adjustable in code (here), with the
//! log filter in its cheapest form (`filter`).

mod env;
mod error;
mod filter;

pub(crate) use env::{Env, Environment};
pub use error::{ConfigError, InitError};

use std::path::PathBuf;

use std::time::Duration;

/// Output format of the log lines written to stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// One JSON object per line, every field at the top level. The default.
    #[default]
    Json,
    /// Human-readable, coloured when stdout is a terminal: for local development.
    Pretty,
}

/// How often the optional log file rotates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Rotation {
    /// A new file every day (UTC). The default.
    #[default]
    Daily,
    /// A new file every hour.
    Hourly,
}

/// Optional JSON log file, in addition to stdout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFile {
    /// Path of the log file; rotated files get a date suffix.
    pub path: PathBuf,
    /// How often to rotate.
    pub rotation: Rotation,
    /// How many rotated files to keep.
    pub keep: usize,
}

/// Everything [`init`](crate::init) needs. Start from [`Config::from_env`] (what services
/// normally do) or [`Config::new`] (ignores the environment), then adjust in code:
///
/// ```
/// use obs_service::{Config, LogFormat};
///
/// let config = Config::new("billing")
///     .version("1.4.2")
///     .env("staging")
///     .log_filter("info,sqlx=warn")
///     .log_format(LogFormat::Json);
/// assert_eq!(config.service_name(), "billing");
/// ```
#[derive(Debug, Clone)]
pub struct Config {
    pub(crate) service: String,
    pub(crate) version: String,
    pub(crate) env: String,
    pub(crate) commit: String,
    pub(crate) log_filter: String,
    pub(crate) log_filter_source: &'static str,
    pub(crate) log_format: LogFormat,
    pub(crate) log_file: Option<LogFile>,
    pub(crate) upkeep_interval: Duration,
    pub(crate) shutdown_timeout: Duration,
    pub(crate) shutdown_drain: Duration,
    pub(crate) redactor: std::sync::Arc<crate::redact::Redactor>,
    /// The settings of the integrations (Sentry, OTLP, Loki) that code set or switched off,
    /// each under its own type (see [`Config::set_integration`]): a type map, so the
    /// configuration names none of them. Each integration's builder method (`Config::sentry`,
    /// …) lives in its own module.
    #[cfg_attr(
        not(any(feature = "sentry", feature = "otlp", feature = "loki")),
        allow(dead_code, reason = "only the integrations keep settings here")
    )]
    integrations: http::Extensions,
    /// The variables of the catalogue that were set when the configuration was read from the
    /// environment: `init` reads each integration's settings from them, unless code set them.
    pub(crate) environment: Environment,
}

impl Config {
    /// A configuration for `service` that ignores the environment: version `0.0.0`, environment
    /// `development`, log filter `info`, JSON logs to stdout only.
    pub fn new(service: impl Into<String>) -> Self {
        Self {
            service: service.into(),
            version: "0.0.0".into(),
            env: "development".into(),
            commit: "unknown".into(),
            log_filter: "info".into(),
            log_filter_source: "default",
            log_format: LogFormat::Json,
            log_file: None,
            upkeep_interval: Duration::from_secs(5),
            shutdown_timeout: Duration::from_secs(5),
            shutdown_drain: Duration::ZERO,
            redactor: Default::default(),
            integrations: http::Extensions::new(),
            environment: Environment::default(),
        }
    }

    /// Sets the service name (the `service` log field and build-info label).
    pub fn service(mut self, name: impl Into<String>) -> Self {
        self.service = name.into();
        self
    }

    /// Sets the service version.
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = version.into();
        self
    }

    /// Sets the deployment environment.
    pub fn env(mut self, env: impl Into<String>) -> Self {
        self.env = env.into();
        self
    }

    /// Sets the source revision shown by `obs_build_info`.
    pub fn commit(mut self, commit: impl Into<String>) -> Self {
        self.commit = commit.into();
        self
    }

    /// Sets the log filter (`tracing-subscriber` `EnvFilter` syntax, e.g. `info,hyper=warn`).
    pub fn log_filter(mut self, filter: impl Into<String>) -> Self {
        self.log_filter = filter.into();
        self.log_filter_source = "code";
        self
    }

    /// Chooses JSON or pretty output on stdout.
    pub fn log_format(mut self, format: LogFormat) -> Self {
        self.log_format = format;
        self
    }

    /// Also writes JSON lines to a rotating file.
    pub fn log_file(mut self, path: impl Into<PathBuf>, rotation: Rotation, keep: usize) -> Self {
        self.log_file = Some(LogFile {
            path: path.into(),
            rotation,
            keep: keep.max(1),
        });
        self
    }

    /// How often histogram upkeep runs (default 5 s). Upkeep runs on a timer so memory stays flat
    /// even when nobody scrapes `/metrics` for hours.
    pub fn upkeep_interval(mut self, interval: Duration) -> Self {
        self.upkeep_interval = interval;
        self
    }

    /// The longest the guard waits for buffered output when it is dropped (default 5 s). The
    /// exporters (Sentry, OTLP, Loki) share this deadline.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// How long readiness answers `503 draining` after SIGTERM before the server stops
    /// accepting (default 0 s; `OBS_SHUTDOWN_DRAIN`). See [`shutdown`](crate::shutdown).
    pub fn shutdown_drain(mut self, drain: Duration) -> Self {
        self.shutdown_drain = drain;
        self
    }

    /// Which field and header values are hidden in logs, spans and error reports (default
    /// [`Redactor::default`](crate::redact::Redactor::default)). [`init`](crate::init!) hands it
    /// to the log layers and [installs](crate::redact::installed) it for the integrations.
    ///
    /// ```
    /// use obs_service::{redact::Redactor, Config};
    /// let config = Config::new("billing").redactor(Redactor::default().deny("iban"));
    /// ```
    pub fn redactor(mut self, redactor: crate::redact::Redactor) -> Self {
        self.redactor = std::sync::Arc::new(redactor);
        self
    }

    /// The service name.
    pub fn service_name(&self) -> &str {
        &self.service
    }

    /// The service version.
    pub fn service_version(&self) -> &str {
        &self.version
    }

    /// The deployment environment.
    pub fn environment(&self) -> &str {
        &self.env
    }
}

/// An integration's settings as code set them: `None` switches it off.
#[derive(Clone)]
#[cfg_attr(
    not(any(feature = "sentry", feature = "otlp", feature = "loki")),
    allow(dead_code, reason = "only the integrations keep settings here")
)]
struct SetInCode<T>(Option<T>);

#[cfg_attr(
    not(any(feature = "sentry", feature = "otlp", feature = "loki")),
    allow(dead_code, reason = "only the integrations keep settings here")
)]
impl Config {
    /// Sets the settings of the integration whose settings are a `T`, or switches it off with
    /// `None`, whatever the environment says.
    pub(crate) fn set_integration<T: Clone + Send + Sync + 'static>(
        mut self,
        settings: Option<T>,
    ) -> Self {
        self.integrations.insert(SetInCode(settings));
        self
    }

    /// The settings code set for the integration whose settings are a `T`: `None` when code
    /// left it to the environment.
    pub(crate) fn integration_set_in_code<T: Clone + Send + Sync + 'static>(
        &self,
    ) -> Option<Option<T>> {
        self.integrations
            .get::<SetInCode<T>>()
            .map(|set| set.0.clone())
    }
}
