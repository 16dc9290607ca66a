//! What can go wrong when a configuration is read or installed.

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

/// Why [`Config::init`](crate::Config::init) failed.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// The configuration is not usable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// `init` already ran in this process. Keep the first guard; use [`HttpLayer`](crate::HttpLayer)
    /// and [`Metrics`](crate::Metrics) directly where a second setup is needed (tests).
    #[error("obs_service::init was already called in this process; keep the guard it returned")]
    AlreadyInitialised,
    /// Another global tracing subscriber or metrics recorder was installed first.
    #[error(
        "a global {what} is already installed by other code; remove that setup or build the obs layers into it yourself"
    )]
    GlobalTaken {
        /// `tracing subscriber` or `metrics recorder`.
        what: &'static str,
    },
    /// The log file's directory cannot be used.
    #[error("cannot write log file {path}: {source}")]
    LogFile {
        /// The configured path.
        path: std::path::PathBuf,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
    /// An exporter (Sentry, OTLP, Loki) could not start.
    #[error("cannot start the {exporter} exporter: {reason}")]
    Exporter {
        /// `sentry`, `otlp` or `loki`.
        exporter: &'static str,
        /// What went wrong.
        reason: String,
    },
}
