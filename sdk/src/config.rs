//! Configuration: read from the environment, adjustable in code.

use std::path::PathBuf;

use obs_catalogue::env::{self as vars, EnvVar};
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

/// A configuration value that could not be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    /// An environment variable holds a value outside its allowed set.
    #[error("environment variable {name}={value:?} is not valid: expected {expected}")]
    InvalidEnv {
        /// The variable.
        name: &'static str,
        /// What it held.
        value: String,
        /// What it may hold.
        expected: &'static str,
    },
    /// The log filter does not parse.
    #[error("log filter {filter:?} (from {source_var}) is not valid: {reason}")]
    InvalidLogFilter {
        /// The filter text.
        filter: String,
        /// Where it came from: `OBS_LOG`, `RUST_LOG` or code.
        source_var: &'static str,
        /// What the parser said.
        reason: String,
    },
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
    /// Sentry, OTLP, Loki: each integration's builder method (`Config::sentry`, …) lives in its
    /// own module.
    pub(crate) integrations: crate::integration::Configs,
    /// Exporter variables set in the environment of a build without their feature, as
    /// `(variable, feature)`: `init` warns about each.
    pub(crate) inactive_exporters: Vec<(&'static str, &'static str)>,
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
            integrations: Default::default(),
            inactive_exporters: Vec::new(),
        }
    }

    /// Reads the configuration from the environment (the variables are listed in
    /// [`catalogue::env`](crate::catalogue::env)). `package_name` and
    /// `package_version` are the fallbacks for the service name and version; the
    /// [`init!`](crate::init!) macro passes the calling crate's.
    pub fn from_env(package_name: &str, package_version: &str) -> Result<Self, ConfigError> {
        Self::from_lookup(package_name, package_version, |key| std::env::var(key).ok())
    }

    /// Like [`Config::from_env`], reading variables through `lookup` (useful in tests).
    pub fn from_lookup(
        package_name: &str,
        package_version: &str,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let env = Env::new(&lookup);
        let service = env
            .get(&vars::OBS_SERVICE_NAME)
            .or_else(|| env.get(&vars::OTEL_SERVICE_NAME))
            .unwrap_or_else(|| package_name.to_owned());
        let mut config = Config::new(service);
        config.version = env
            .get(&vars::OBS_SERVICE_VERSION)
            .unwrap_or_else(|| package_version.to_owned());
        if let Some(environment) = env.get(&vars::OBS_ENV) {
            config.env = environment;
        }
        if let Some(commit) = env
            .get(&vars::OBS_COMMIT)
            .or_else(|| env.get(&vars::GIT_COMMIT))
        {
            config.commit = commit;
        }
        if let Some(filter) = env.get(&vars::OBS_LOG) {
            config.log_filter = filter;
            config.log_filter_source = vars::OBS_LOG.name;
        } else if let Some(filter) = env.get(&vars::RUST_LOG) {
            config.log_filter = filter;
            config.log_filter_source = vars::RUST_LOG.name;
        }
        if let Some(format) = env.get(&vars::OBS_LOG_FORMAT) {
            config.log_format = match format.to_ascii_lowercase().as_str() {
                "json" => LogFormat::Json,
                "pretty" | "text" => LogFormat::Pretty,
                _ => {
                    return Err(ConfigError::InvalidEnv {
                        name: vars::OBS_LOG_FORMAT.name,
                        value: format,
                        expected: "json or pretty",
                    });
                }
            };
        }
        if let Some(path) = env.get(&vars::OBS_LOG_FILE) {
            let rotation = match env
                .get(&vars::OBS_LOG_ROTATION)
                .map(|r| r.to_ascii_lowercase())
            {
                None => Rotation::Daily,
                Some(r) if r == "daily" => Rotation::Daily,
                Some(r) if r == "hourly" => Rotation::Hourly,
                Some(r) => {
                    return Err(ConfigError::InvalidEnv {
                        name: vars::OBS_LOG_ROTATION.name,
                        value: r,
                        expected: "daily or hourly",
                    });
                }
            };
            let keep = match env.get(&vars::OBS_LOG_KEEP) {
                None => 7,
                Some(k) => match k.parse::<usize>() {
                    Ok(n) if n > 0 => n,
                    _ => {
                        return Err(ConfigError::InvalidEnv {
                            name: vars::OBS_LOG_KEEP.name,
                            value: k,
                            expected: "a whole number of files, at least 1",
                        });
                    }
                },
            };
            config.log_file = Some(LogFile {
                path: path.into(),
                rotation,
                keep,
            });
        }
        if let Some(drain) = env.get(&vars::OBS_SHUTDOWN_DRAIN) {
            config.shutdown_drain =
                crate::shutdown::parse_drain(&drain).ok_or(ConfigError::InvalidEnv {
                    name: vars::OBS_SHUTDOWN_DRAIN.name,
                    value: drain,
                    expected: "a duration like 10s, 500ms or 1m (0 for none)",
                })?;
        }
        // Integrations: each is on when its variable is set (and its feature compiled in).
        config.integrations = crate::integration::Configs::from_env(&env)?;
        config.inactive_exporters = crate::integration::not_built(&env);
        Ok(config)
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

    /// The log filter, as the cheapest filter that means the same: a `Targets` list when the
    /// directives only name targets and levels (the common case), an `EnvFilter` when they
    /// select by span or field.
    ///
    /// `EnvFilter` keeps a lock-guarded map of spans and consults it on every span enter, exit
    /// and close, for the sake of span directives; a filter without them should not pay that on
    /// every request.
    pub(crate) fn filter_layers(&self) -> Result<LogFilter, ConfigError> {
        let env_filter = self.env_filter()?;
        let dynamic = self.log_filter.contains(['[', '{']);
        Ok(
            match self
                .log_filter
                .parse::<tracing_subscriber::filter::Targets>()
            {
                Ok(targets) if !dynamic => (Some(targets), None),
                _ => (None, Some(env_filter)),
            },
        )
    }

    pub(crate) fn env_filter(&self) -> Result<tracing_subscriber::EnvFilter, ConfigError> {
        tracing_subscriber::EnvFilter::builder()
            .parse(&self.log_filter)
            .map_err(|e| ConfigError::InvalidLogFilter {
                filter: self.log_filter.clone(),
                source_var: self.log_filter_source,
                reason: e.to_string(),
            })
    }
}

/// The environment as [`Config::from_lookup`] reads it: values trimmed, empty ones unset.
pub(crate) struct Env<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
}

impl<'a> Env<'a> {
    /// The environment `lookup` reads.
    pub(crate) fn new(lookup: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Self { lookup }
    }

    /// The value of `variable`, if it is set to something other than blanks.
    pub(crate) fn get(&self, variable: &EnvVar) -> Option<String> {
        (self.lookup)(variable.name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }
}

/// One of the two filters is set; see [`Config::filter_layers`].
pub(crate) type LogFilter = (
    Option<tracing_subscriber::filter::Targets>,
    Option<tracing_subscriber::EnvFilter>,
);

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup("pkg", "9.9.9", |k| map.get(k).cloned())
    }

    #[test]
    fn zero_configuration_uses_package_name_and_json() {
        let c = from(&[]).unwrap();
        assert_eq!(c.service, "pkg");
        assert_eq!(c.version, "9.9.9");
        assert_eq!(c.env, "development");
        assert_eq!(c.log_filter, "info");
        assert_eq!(c.log_format, LogFormat::Json);
        assert!(c.log_file.is_none());
    }

    #[test]
    fn service_name_precedence() {
        assert_eq!(
            from(&[("OTEL_SERVICE_NAME", "otel")]).unwrap().service,
            "otel"
        );
        let c = from(&[("OTEL_SERVICE_NAME", "otel"), ("OBS_SERVICE_NAME", "obs")]).unwrap();
        assert_eq!(c.service, "obs");
        assert_eq!(from(&[("OBS_SERVICE_NAME", "  ")]).unwrap().service, "pkg");
    }

    #[test]
    fn log_filter_precedence() {
        let c = from(&[("RUST_LOG", "debug"), ("OBS_LOG", "warn")]).unwrap();
        assert_eq!(
            (c.log_filter.as_str(), c.log_filter_source),
            ("warn", "OBS_LOG")
        );
        let c = from(&[("RUST_LOG", "debug")]).unwrap();
        assert_eq!(
            (c.log_filter.as_str(), c.log_filter_source),
            ("debug", "RUST_LOG")
        );
    }

    #[test]
    fn plain_filters_use_targets_and_span_filters_keep_env_filter() {
        use tracing_subscriber::layer::SubscriberExt;
        let filter = |f: &str| from(&[("OBS_LOG", f)]).unwrap().filter_layers().unwrap();
        for plain in [
            "info",
            "warn,obs::access=info",
            "debug,hyper=off,my_app=trace",
        ] {
            let (targets, env) = filter(plain);
            assert!(targets.is_some() && env.is_none(), "{plain}");
        }
        for dynamic in ["info,[request]=debug", "warn,[{user_id=7}]=trace"] {
            let (targets, env) = filter(dynamic);
            assert!(targets.is_none() && env.is_some(), "{dynamic}");
        }

        // The Targets filter means what the EnvFilter would.
        let (targets, _) = filter("warn,obs::access=info");
        let writer = crate::logging::MemoryWriter::new();
        let subscriber = tracing_subscriber::registry()
            .with(crate::logging::JsonLayer::new(writer.clone()))
            .with(targets);
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(target: "obs::access", "kept");
            tracing::info!(target: "my_app", "dropped");
            tracing::warn!(target: "my_app", "kept too");
        });
        let messages: Vec<_> = writer
            .json_lines()
            .iter()
            .map(|l| l["message"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(messages, ["kept", "kept too"]);
    }

    #[test]
    fn bad_values_name_the_variable() {
        let err = from(&[("OBS_LOG_FORMAT", "xml")]).unwrap_err();
        assert!(err.to_string().contains("OBS_LOG_FORMAT"), "{err}");
        let err = from(&[("OBS_LOG_FILE", "/tmp/x.log"), ("OBS_LOG_KEEP", "0")]).unwrap_err();
        assert!(err.to_string().contains("OBS_LOG_KEEP"), "{err}");
        let err = from(&[("OBS_LOG", "info,=[")])
            .unwrap()
            .env_filter()
            .unwrap_err();
        assert!(err.to_string().contains("OBS_LOG"), "{err}");
    }

    #[test]
    fn exporter_variables_without_their_feature_are_remembered() {
        let c = from(&[
            ("SENTRY_DSN", "http://key@127.0.0.1:9/1"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9"),
            ("LOKI_URL", "http://127.0.0.1:9"),
        ])
        .unwrap();
        let mut expected = Vec::new();
        if !cfg!(feature = "sentry") {
            expected.push(("SENTRY_DSN", "sentry"));
        }
        if !cfg!(feature = "otlp") {
            expected.push(("OTEL_EXPORTER_OTLP_ENDPOINT", "otlp"));
        }
        if !cfg!(feature = "loki") {
            expected.push(("LOKI_URL", "loki"));
        }
        assert_eq!(c.inactive_exporters, expected);
        assert!(from(&[]).unwrap().inactive_exporters.is_empty());
    }

    #[test]
    fn log_file_from_env() {
        let c = from(&[
            ("OBS_LOG_FILE", "/var/log/app.log"),
            ("OBS_LOG_ROTATION", "HOURLY"),
            ("OBS_LOG_KEEP", "3"),
        ])
        .unwrap();
        assert_eq!(
            c.log_file,
            Some(LogFile {
                path: "/var/log/app.log".into(),
                rotation: Rotation::Hourly,
                keep: 3
            })
        );
    }
}
