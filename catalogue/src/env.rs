//! The environment variables the SDK reads, as typed entries: `obs-service` reads each one
//! through its entry here (so a variable cannot be read without being documented), the mixin
//! renders them into the reference, and the generator's `.env.example` names the same ones.
//!
//! ```
//! use obs_catalogue::env;
//!
//! assert_eq!(env::LOKI_URL.name, "LOKI_URL");
//! assert_eq!(env::LOKI_URL.feature, Some("loki"));
//! assert!(env::ALL.contains(&env::OBS_LOG));
//! ```

/// One environment variable of the SDK.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EnvVar {
    /// The variable's name.
    pub name: &'static str,
    /// The cargo feature of `obs-service` that reads it; `None` for those every build reads.
    pub feature: Option<&'static str>,
    /// What it does, one sentence for the reference.
    pub doc: &'static str,
}

const fn var(name: &'static str, doc: &'static str) -> EnvVar {
    EnvVar {
        name,
        feature: None,
        doc,
    }
}

const fn of(feature: &'static str, name: &'static str, doc: &'static str) -> EnvVar {
    EnvVar {
        name,
        feature: Some(feature),
        doc,
    }
}

/// The service name.
pub const OBS_SERVICE_NAME: EnvVar = var(
    "OBS_SERVICE_NAME",
    "Service name (falls back to OTEL_SERVICE_NAME, then the package name).",
);
/// The service name as OpenTelemetry names it, the fallback of [`OBS_SERVICE_NAME`].
pub const OTEL_SERVICE_NAME: EnvVar = var(
    "OTEL_SERVICE_NAME",
    "Service name, if OBS_SERVICE_NAME is unset.",
);
/// The service version.
pub const OBS_SERVICE_VERSION: EnvVar = var(
    "OBS_SERVICE_VERSION",
    "Service version (default: the package version).",
);
/// The deployment environment.
pub const OBS_ENV: EnvVar = var("OBS_ENV", "Deployment environment (default: development).");
/// The log filter.
pub const OBS_LOG: EnvVar = var(
    "OBS_LOG",
    "Log filter, tracing-subscriber syntax (falls back to RUST_LOG, then info).",
);
/// The log filter as the Rust ecosystem names it, the fallback of [`OBS_LOG`].
pub const RUST_LOG: EnvVar = var("RUST_LOG", "Log filter, if OBS_LOG is unset.");
/// JSON or human-readable output.
pub const OBS_LOG_FORMAT: EnvVar = var("OBS_LOG_FORMAT", "json (default) or pretty.");
/// The optional log file.
pub const OBS_LOG_FILE: EnvVar = var(
    "OBS_LOG_FILE",
    "Also write JSON logs to this file, rotated.",
);
/// How often the log file rotates.
pub const OBS_LOG_ROTATION: EnvVar = var("OBS_LOG_ROTATION", "daily (default) or hourly.");
/// How many rotated log files are kept.
pub const OBS_LOG_KEEP: EnvVar = var(
    "OBS_LOG_KEEP",
    "How many rotated files to keep (default 7).",
);
/// The source revision.
pub const OBS_COMMIT: EnvVar = var(
    "OBS_COMMIT",
    "Source revision for obs_build_info (falls back to GIT_COMMIT).",
);
/// The source revision as many CI systems set it, the fallback of [`OBS_COMMIT`].
pub const GIT_COMMIT: EnvVar = var("GIT_COMMIT", "Source revision, if OBS_COMMIT is unset.");
/// How long the service drains after SIGTERM.
pub const OBS_SHUTDOWN_DRAIN: EnvVar = var(
    "OBS_SHUTDOWN_DRAIN",
    "On SIGTERM or Ctrl-C, how long readiness answers 503 draining before the server stops accepting (e.g. 10s; default 0s).",
);
/// Turns Sentry reporting on.
pub const SENTRY_DSN: EnvVar = of(
    "sentry",
    "SENTRY_DSN",
    "Turns Sentry reporting on: the project's DSN.",
);
/// The share of error events sent to Sentry.
pub const SENTRY_SAMPLE_RATE: EnvVar = of(
    "sentry",
    "SENTRY_SAMPLE_RATE",
    "Fraction of error events sent to Sentry, 0 to 1 (default 1).",
);
/// The share of requests sent to Sentry as transactions.
pub const SENTRY_TRACES_SAMPLE_RATE: EnvVar = of(
    "sentry",
    "SENTRY_TRACES_SAMPLE_RATE",
    "Fraction of requests sent to Sentry as transactions, 0 to 1 (default 0).",
);
/// Turns OTLP trace export on.
pub const OTEL_EXPORTER_OTLP_ENDPOINT: EnvVar = of(
    "otlp",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "Turns OTLP trace export on: the collector's base URL.",
);
/// How spans travel to the collector.
pub const OTEL_EXPORTER_OTLP_PROTOCOL: EnvVar = of(
    "otlp",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "http/protobuf (default, port 4318) or grpc (port 4317).",
);
/// Which traces are recorded.
pub const OTEL_TRACES_SAMPLER: EnvVar = of(
    "otlp",
    "OTEL_TRACES_SAMPLER",
    "always_on, always_off, traceidratio, parentbased_always_on (default), parentbased_always_off or parentbased_traceidratio.",
);
/// The ratio of the ratio samplers.
pub const OTEL_TRACES_SAMPLER_ARG: EnvVar = of(
    "otlp",
    "OTEL_TRACES_SAMPLER_ARG",
    "The ratio of the ratio samplers, 0 to 1 (default 1).",
);
/// Turns Loki log shipping on.
pub const LOKI_URL: EnvVar = of(
    "loki",
    "LOKI_URL",
    "Turns Loki log shipping on: Loki's base URL or push URL.",
);
/// The tenant of a multi-tenant Loki.
pub const LOKI_TENANT: EnvVar = of(
    "loki",
    "LOKI_TENANT",
    "Sent as X-Scope-OrgID to a multi-tenant Loki.",
);

/// Every variable the SDK reads, in the order of the reference.
pub const ALL: &[EnvVar] = &[
    OBS_SERVICE_NAME,
    OTEL_SERVICE_NAME,
    OBS_SERVICE_VERSION,
    OBS_ENV,
    OBS_LOG,
    RUST_LOG,
    OBS_LOG_FORMAT,
    OBS_LOG_FILE,
    OBS_LOG_ROTATION,
    OBS_LOG_KEEP,
    OBS_COMMIT,
    GIT_COMMIT,
    OBS_SHUTDOWN_DRAIN,
    SENTRY_DSN,
    SENTRY_SAMPLE_RATE,
    SENTRY_TRACES_SAMPLE_RATE,
    OTEL_EXPORTER_OTLP_ENDPOINT,
    OTEL_EXPORTER_OTLP_PROTOCOL,
    OTEL_TRACES_SAMPLER,
    OTEL_TRACES_SAMPLER_ARG,
    LOKI_URL,
    LOKI_TENANT,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_environment_variable_names() {
        let mut seen = std::collections::HashSet::new();
        for var in ALL {
            assert!(seen.insert(var.name), "{} listed twice", var.name);
            assert!(
                var.name
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'),
                "{}",
                var.name
            );
            assert!(var.doc.ends_with('.'), "{}: {}", var.name, var.doc);
        }
    }

    #[test]
    fn each_integration_variable_names_its_feature() {
        for var in ALL {
            let expected = ["SENTRY_", "OTEL_EXPORTER_", "OTEL_TRACES_", "LOKI_"]
                .iter()
                .zip(["sentry", "otlp", "otlp", "loki"])
                .find(|(prefix, _)| var.name.starts_with(**prefix))
                .map(|(_, feature)| feature);
            assert_eq!(var.feature, expected, "{}", var.name);
        }
    }
}
