//! The mixin's configuration object: every alert threshold, every `for` duration and the job
//! selectors, each with a documented default.

use std::fmt;

use crate::duration::Duration;

/// Where Grafana answers unless told otherwise: the compose stack's port on the host that runs
/// it. The checked-in rule files link there.
pub const DEFAULT_GRAFANA_URL: &str = "http://localhost:3000";

macro_rules! thresholds {
    ($( $(#[doc = $doc:literal])+ $field:ident : $ty:ty = $default:expr ;)+) => {
        /// Alert thresholds, `for` durations and job selectors. Every field has a documented
        /// default; `obs-gen` fills them from the `[alerts]` table of `obs.toml`. Unknown keys are
        /// rejected, missing keys take the default.
        ///
        /// ```
        /// let t: obs_mixin::Thresholds = serde_json::from_str(r#"{"error_ratio": 0.1}"#).unwrap();
        /// assert_eq!(t.error_ratio, 0.1);
        /// assert_eq!(t.error_ratio_for.as_str(), "5m");
        /// assert!(serde_json::from_str::<obs_mixin::Thresholds>(r#"{"error_ratio_for": "5 min"}"#).is_err());
        /// assert!(t.validate().is_ok());
        /// ```
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(default, deny_unknown_fields)]
        pub struct Thresholds {
            $( $(#[doc = $doc])+ pub $field: $ty, )+
            /// The service level objectives, each rendered as its own rule group
            /// ([`crate::slo`]). Not part of `[alerts]`: `obs-gen` fills it from `[[slo]]`.
            #[serde(skip)]
            pub slos: Vec<crate::slo::Slo>,
            /// The root URL of Grafana, where every alert's `dashboard_url` starts. Not part of
            /// `[alerts]`: `obs-gen` fills it from `grafana_url`. Default
            /// [`DEFAULT_GRAFANA_URL`].
            #[serde(skip)]
            pub grafana_url: String,
        }

        impl Default for Thresholds {
            fn default() -> Self {
                Self {
                    $( $field: $default.into(), )+
                    slos: Vec::new(),
                    grafana_url: DEFAULT_GRAFANA_URL.into(),
                }
            }
        }

        /// Name and documentation of every [`Thresholds`] field, in declaration order.
        pub(crate) const FIELD_DOCS: &[(&str, &str)] = &[
            $( (stringify!($field), concat!($($doc, "\n"),+)), )+
        ];
    };
}

thresholds! {
    /// Regular expression matching the Prometheus `job` of your services (the targets running
    /// obs-service or an OpenTelemetry SDK). Default `".+"` (every job). `obs-gen` sets it to the
    /// services of `obs.toml`; narrow it by hand if exporters of your own share the process
    /// metrics alerts.
    service_job_regex: String = ".+";
    /// `job` of the node-exporter targets, for `HostDown` and the disk alerts. Default `"node"`.
    /// Change it when your scrape config names the job differently.
    node_job: String = "node";
    /// `job` of the postgres-exporter targets. Default `"postgres"`.
    postgres_job: String = "postgres";
    /// `job` of the redis-exporter targets. Default `"redis"`.
    redis_job: String = "redis";
    /// How long a target must fail its scrapes before `TargetDown` fires. Default `"5m"`. Raise it
    /// for targets that restart slowly.
    target_down_for: Duration = Duration::from_static("5m");
    /// How long Prometheus must have no target at all for the services before
    /// `ServiceTargetsAbsent` fires. Default `"10m"`.
    targets_absent_for: Duration = Duration::from_static("10m");
    /// Ratio of 5xx responses above which `HighErrorRate` fires. Default `0.05`. Lower it for
    /// services with a strict availability objective.
    error_ratio: f64 = 0.05;
    /// How long the 5xx ratio must stay high. Default `"5m"`.
    error_ratio_for: Duration = Duration::from_static("5m");
    /// p99 request latency, in seconds, above which `HighRequestLatency` fires. Default `1.0`. Set it
    /// just above your latency objective; values between bucket bounds are interpolated.
    latency_p99_seconds: f64 = 1.0;
    /// How long p99 latency must stay high. Default `"10m"`.
    latency_p99_for: Duration = Duration::from_static("10m");
    /// Requests in flight per instance above which `HighActiveRequests` (saturation) fires.
    /// Default `100`. Set it a little below the concurrency your service is sized for.
    active_requests: f64 = 100.0;
    /// How long active requests must stay high. Default `"10m"`.
    active_requests_for: Duration = Duration::from_static("10m");
    /// Ratio of a service's outgoing calls to one server that fail (a 5xx answer, a timeout or
    /// no connection; 4xx answers are the caller's) above which `HighDependencyErrorRate`
    /// fires. Default `0.05`. Raise it for a dependency the service retries on its own.
    dependency_error_ratio: f64 = 0.05;
    /// How long the failed share of calls must stay high. Default `"5m"`.
    dependency_error_ratio_for: Duration = Duration::from_static("5m");
    /// Ratio of a service's gRPC calls answered with a code that means a server fault
    /// (UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS) above
    /// which `HighGrpcErrorRate` fires. Default `0.05`. Lower it for
    /// services with a strict availability objective.
    grpc_error_ratio: f64 = 0.05;
    /// How long the gRPC server-fault ratio must stay high. Default `"5m"`.
    grpc_error_ratio_for: Duration = Duration::from_static("5m");
    /// Number of restarts within `restarts_window` at which `ServiceCrashLooping` fires.
    /// Default `3`.
    restarts: f64 = 3.0;
    /// Window over which restarts are counted. Default `"30m"`.
    restarts_window: Duration = Duration::from_static("30m");
    /// How long the restart count must stay at or above `restarts`. Default `"1m"`.
    restarts_for: Duration = Duration::from_static("1m");
    /// Resident memory, in bytes, above which `ServiceHighMemory` fires. Default `1073741824`
    /// (1 GiB). Set it to about 80% of the memory limit of your containers.
    memory_bytes: f64 = 1_073_741_824.0;
    /// How long resident memory must stay high. Default `"15m"`.
    memory_for: Duration = Duration::from_static("15m");
    /// Ratio of open to maximum file descriptors above which `ServiceHighFileDescriptors` fires.
    /// Default `0.8`.
    fd_ratio: f64 = 0.8;
    /// How long file descriptor use must stay high. Default `"10m"`.
    fd_for: Duration = Duration::from_static("10m");
    /// Ratio of free space below which `HostDiskAlmostFull` fires. Default `0.1` (10% left).
    /// Raise it for disks that fill quickly.
    disk_free_ratio: f64 = 0.1;
    /// How long free space must stay low. Default `"5m"`.
    disk_full_for: Duration = Duration::from_static("5m");
    /// `HostDiskFillingUp` fires when the trend of the last `disk_fill_window` predicts a full
    /// disk within this many hours. Default `24`.
    disk_fill_hours: f64 = 24.0;
    /// Window the disk trend is computed over (`predict_linear`). Default `"6h"`.
    disk_fill_window: Duration = Duration::from_static("6h");
    /// How long the prediction must hold before `HostDiskFillingUp` fires. Default `"1h"`.
    disk_filling_for: Duration = Duration::from_static("1h");
    /// How long a node-exporter target must be down before `HostDown` fires. Default `"5m"`.
    host_down_for: Duration = Duration::from_static("5m");
    /// How long postgres-exporter must fail to reach PostgreSQL before `PostgresDown` fires.
    /// Default `"1m"`.
    postgres_down_for: Duration = Duration::from_static("1m");
    /// Ratio of connections to `max_connections` above which `PostgresTooManyConnections`
    /// fires. Default `0.8`.
    postgres_connections_ratio: f64 = 0.8;
    /// How long connections must stay high. Default `"5m"`.
    postgres_connections_for: Duration = Duration::from_static("5m");
    /// How long redis-exporter must fail to reach Redis before `RedisDown` fires. Default `"1m"`.
    redis_down_for: Duration = Duration::from_static("1m");
    /// Ratio of used memory to `maxmemory` above which `RedisMemoryNearLimit` fires. Default
    /// `0.9`. Redis without `maxmemory` never fires.
    redis_memory_ratio: f64 = 0.9;
    /// How long Redis memory must stay high. Default `"5m"`.
    redis_memory_for: Duration = Duration::from_static("5m");
    /// How long a readiness check must fail before `HealthCheckFailing` fires. Default `"5m"`.
    health_check_for: Duration = Duration::from_static("5m");
    /// Items per second an SDK exporter may drop before `ObsExporterDroppingData` fires. Default `0`
    /// (any sustained drop).
    dropped_per_second: f64 = 0.0;
    /// How long drops must go on. Default `"15m"`.
    dropped_for: Duration = Duration::from_static("15m");
    /// How long an SDK exporter's sends must keep failing before `ObsExporterFailing` fires.
    /// Default `"5m"`: failed batches are retried while the queue has room, so this warns
    /// before anything is lost; raise it if the queue lasts much longer at your log volume.
    send_failures_for: Duration = Duration::from_static("5m");
}

/// A [`Thresholds`] value that cannot produce valid rules, naming the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThresholdsError {
    /// The offending field.
    pub field: &'static str,
    /// What is wrong with it.
    pub message: String,
}

impl fmt::Display for ThresholdsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "alerts.{}: {}", self.field, self.message)
    }
}

impl std::error::Error for ThresholdsError {}

impl Thresholds {
    /// Checks every field (durations are checked when read, see [`Duration`]): windows are
    /// longer than zero, ratios lie in (0, 1], other
    /// numbers are finite and not negative, job names and regexes contain no quote.
    pub fn validate(&self) -> Result<(), ThresholdsError> {
        let value = serde_json::to_value(self).expect("thresholds serialise");
        for (field, _) in FIELD_DOCS {
            let err = |message: String| ThresholdsError { field, message };
            match &value[*field] {
                serde_json::Value::String(s) if is_duration_field(field) => {
                    // Parsed when read; what is left: `for: 0s` (fire at once) is valid, a
                    // window must be positive.
                    let zero = s.parse::<Duration>().is_ok_and(|d| d.is_zero());
                    if zero && !field.ends_with("_for") {
                        return Err(err(format!("{s:?} must be longer than zero")));
                    }
                }
                serde_json::Value::String(s) => {
                    if s.is_empty() || s.contains(['"', '\\', '\n']) {
                        return Err(err(format!(
                            "{s:?} must be non-empty, without quotes or backslashes"
                        )));
                    }
                    if field.ends_with("_regex") {
                        // The rules use it as `job=~"…"`: let the PromQL parser, which compiles
                        // matcher regexes, judge it the way Prometheus will.
                        promql_parser::parser::parse(&format!("up{{job=~\"{s}\"}}")).map_err(
                            |e| err(format!("{s:?} is not a valid regular expression ({e})")),
                        )?;
                    }
                }
                serde_json::Value::Number(n) => {
                    let x = n.as_f64().unwrap_or(f64::NAN);
                    if !x.is_finite() || x < 0.0 {
                        return Err(err(format!("{x} must be a finite number, not negative")));
                    }
                    if field.ends_with("_ratio") && !(x > 0.0 && x <= 1.0) {
                        return Err(err(format!("{x} must be a ratio in (0, 1]")));
                    }
                }
                other => return Err(err(format!("unexpected value {other}"))),
            }
        }
        Ok(())
    }

    /// A Markdown table of every field, its default and its documentation (for docs/alerts.md and
    /// `docs/runbooks.md`).
    pub fn reference_table() -> String {
        let defaults = serde_json::to_value(Thresholds::default()).expect("thresholds serialise");
        let mut out = String::from("| field | default | meaning |\n|---|---|---|\n");
        for (field, doc) in FIELD_DOCS {
            let doc = doc.split_whitespace().collect::<Vec<_>>().join(" ");
            // The default has its own column: drop the "Default …." sentence.
            let meaning: Vec<&str> = doc
                .split(". ")
                .filter(|s| !s.starts_with("Default "))
                .collect();
            let meaning = meaning.join(". ");
            let default = match &defaults[*field] {
                serde_json::Value::Number(n) => format!("{}", n.as_f64().unwrap_or_default()),
                other => other.to_string(),
            };
            out.push_str(&format!(
                "| `{field}` | `{default}` | {} |\n",
                meaning.trim_end_matches('.').to_string() + "."
            ));
        }
        out
    }
}

fn is_duration_field(field: &str) -> bool {
    field.ends_with("_for") || field.ends_with("_window")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_documented() {
        Thresholds::default().validate().unwrap();
        for (field, doc) in FIELD_DOCS {
            assert!(doc.contains("Default"), "{field} documents no default");
        }
    }

    #[test]
    fn unknown_fields_are_rejected_and_missing_ones_default() {
        let err = serde_json::from_str::<Thresholds>(r#"{"error_ration": 0.1}"#).unwrap_err();
        assert!(err.to_string().contains("error_ration"), "{err}");
        let t: Thresholds = serde_json::from_str(r#"{"latency_p99_seconds": 2.5}"#).unwrap();
        assert_eq!(t.latency_p99_seconds, 2.5);
        assert_eq!(t.error_ratio, Thresholds::default().error_ratio);
    }

    #[test]
    fn validation_names_the_field() {
        let err = serde_json::from_str::<Thresholds>(r#"{"error_ratio_for": "five minutes"}"#)
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("\"five minutes\" is not a duration"),
            "{err}"
        );
        let t = Thresholds {
            restarts_window: Duration::from_static("0s"),
            ..Thresholds::default()
        };
        assert_eq!(t.validate().unwrap_err().field, "restarts_window");
        Thresholds {
            restarts_for: Duration::from_static("0s"),
            ..Thresholds::default()
        }
        .validate()
        .unwrap();
        let t = Thresholds {
            fd_ratio: 1.5,
            ..Thresholds::default()
        };
        assert_eq!(t.validate().unwrap_err().field, "fd_ratio");
        let t = Thresholds {
            node_job: "no\"de".into(),
            ..Thresholds::default()
        };
        assert_eq!(t.validate().unwrap_err().field, "node_job");
        let t = Thresholds {
            memory_bytes: -1.0,
            ..Thresholds::default()
        };
        assert_eq!(
            t.validate().unwrap_err().to_string().split(':').next(),
            Some("alerts.memory_bytes")
        );
        for bad in ["api|(worker", "[a-", "*api"] {
            let t = Thresholds {
                service_job_regex: bad.into(),
                ..Thresholds::default()
            };
            let err = t.validate().unwrap_err();
            assert_eq!(err.field, "service_job_regex", "{bad}");
            assert!(err.to_string().contains("regular expression"), "{err}");
        }
        Thresholds {
            service_job_regex: "api|worker-.*".into(),
            ..Thresholds::default()
        }
        .validate()
        .unwrap();
    }

    #[test]
    fn reference_table_lists_every_field() {
        let table = Thresholds::reference_table();
        for (field, _) in FIELD_DOCS {
            assert!(table.contains(&format!("| `{field}` |")), "{field}");
        }
        assert!(table.contains("| `error_ratio` | `0.05` |"), "{table}");
        assert!(
            table.contains("| `memory_bytes` | `1073741824` | Resident memory"),
            "{table}"
        );
    }
}
