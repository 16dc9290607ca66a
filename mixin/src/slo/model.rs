//! The SLO as `[[slo]]` of `obs.toml` declares it ([`Slo`], [`SloKind`]), its checks
//! ([`SloError`]), what it promises in words, the guide's [`examples`], and the workbook's
//! windows: the seven alert windows of a 30-day SLO, how they scale to other SLO windows, and
//! the long/short pairs each burn alert watches.

use std::fmt;

use obs_catalogue as catalogue;
use serde::{Deserialize, Serialize};

use super::format::{number, ratio};
use crate::duration::Duration;

/// The SLO window the workbook's factors are given for; other windows scale from it.
pub const REFERENCE_WINDOW_SECONDS: u64 = 30 * 86400;

/// The shortest SLO window: below a day even the long alert windows hold too few requests.
pub const MIN_WINDOW_SECONDS: u64 = 86400;

/// The alert windows of a 30-day SLO, as the names of the recorded error ratios use them, with
/// their length in seconds.
pub const WINDOWS: &[(&str, u64)] = &[
    ("5m", 300),
    ("30m", 1800),
    ("1h", 3600),
    ("2h", 7200),
    ("6h", 21600),
    ("1d", 86400),
    ("3d", 259200),
];

/// The length of the 30-day SLO's alert window `window` (one of [`WINDOWS`]' names), in seconds.
pub(crate) fn nominal_seconds(window: &str) -> u64 {
    WINDOWS
        .iter()
        .find(|(w, _)| *w == window)
        .map(|(_, s)| *s)
        .expect("one of WINDOWS")
}

/// One long/short window pair of an alert and the burn rate both must exceed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BurnWindow {
    /// Long window (one of [`WINDOWS`]' names).
    pub long: &'static str,
    /// Short window, a twelfth of the long one.
    pub short: &'static str,
    /// Burn rate both windows must exceed.
    pub factor: f64,
}

/// The two pairs of the fast burn (page) and of the slow burn (ticket), the workbook's numbers.
pub const FAST_WINDOWS: [BurnWindow; 2] = [
    BurnWindow {
        long: "1h",
        short: "5m",
        factor: 14.4,
    },
    BurnWindow {
        long: "6h",
        short: "30m",
        factor: 6.0,
    },
];
/// See [`FAST_WINDOWS`].
pub const SLOW_WINDOWS: [BurnWindow; 2] = [
    BurnWindow {
        long: "1d",
        short: "2h",
        factor: 3.0,
    },
    BurnWindow {
        long: "3d",
        short: "6h",
        factor: 1.0,
    },
];

/// What an SLO counts as a good request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SloKind {
    /// Answered without a 5xx status.
    Availability,
    /// Answered within `threshold` seconds (a bucket bound of the duration histogram).
    Latency,
    /// A gRPC call answered without a code that means a server fault
    /// ([`GRPC_SERVER_FAULT_CODES`](catalogue::GRPC_SERVER_FAULT_CODES)), from
    /// `rpc_server_call_duration_seconds`.
    GrpcAvailability,
    /// A gRPC call answered within `threshold` seconds (a bucket bound of
    /// `rpc_server_call_duration_seconds`).
    GrpcLatency,
}

impl SloKind {
    /// Whether the SLO counts gRPC calls rather than HTTP requests.
    pub fn is_grpc(self) -> bool {
        matches!(self, SloKind::GrpcAvailability | SloKind::GrpcLatency)
    }

    /// Whether the SLO counts answers slower than a threshold.
    pub fn is_latency(self) -> bool {
        matches!(self, SloKind::Latency | SloKind::GrpcLatency)
    }

    /// The duration histogram the SLO reads.
    pub fn histogram(self) -> &'static catalogue::Metric {
        match self.is_grpc() {
            true => &catalogue::RPC_SERVER_CALL_DURATION,
            false => &catalogue::HTTP_SERVER_REQUEST_DURATION,
        }
    }
}

/// One service level objective, as `[[slo]]` of `obs.toml` declares it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Slo {
    /// Unique name, `[a-z0-9-]`: the `slo` label of every series and alert.
    pub name: String,
    /// The Prometheus `job` of the service (in `obs.toml`, a `[[services]]` name).
    pub service: String,
    /// Availability or latency, of HTTP requests or of gRPC calls.
    pub kind: SloKind,
    /// Percent of good requests, `0 < objective < 100`.
    pub objective: f64,
    /// The SLO window, a Prometheus duration of at least `1d`. Default `30d`.
    #[serde(default = "default_window")]
    pub window: Duration,
    /// One route template (`/users/{id}`); absent: every request of the service, unrouted
    /// ones included. HTTP kinds only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    /// One RPC method (`demo.v1.Users/Get`); absent: every call of the service. gRPC kinds
    /// only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Latency only: seconds, one of the histogram's bucket bounds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
}

fn default_window() -> Duration {
    Duration::from_static("30d")
}

/// An [`Slo`] that cannot produce valid rules, naming the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SloError {
    /// The offending field (`objective`, `threshold`, …).
    pub field: &'static str,
    /// What is wrong with it and what would be right.
    pub message: String,
}

impl fmt::Display for SloError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for SloError {}

impl Slo {
    /// An availability SLO over the default 30-day window.
    pub fn availability(name: &str, service: &str, objective: f64) -> Slo {
        Slo {
            name: name.into(),
            service: service.into(),
            kind: SloKind::Availability,
            objective,
            window: default_window(),
            route: None,
            method: None,
            threshold: None,
        }
    }

    /// A gRPC availability SLO over the default 30-day window: `objective` percent of the
    /// calls answered without a server fault.
    pub fn grpc_availability(name: &str, service: &str, objective: f64) -> Slo {
        Slo {
            kind: SloKind::GrpcAvailability,
            ..Slo::availability(name, service, objective)
        }
    }

    /// A gRPC latency SLO over the default 30-day window: `objective` percent of the calls
    /// faster than `threshold` seconds.
    pub fn grpc_latency(name: &str, service: &str, threshold: f64, objective: f64) -> Slo {
        Slo {
            kind: SloKind::GrpcLatency,
            threshold: Some(threshold),
            ..Slo::availability(name, service, objective)
        }
    }

    /// A latency SLO over the default 30-day window: `objective` percent faster than
    /// `threshold` seconds.
    pub fn latency(name: &str, service: &str, threshold: f64, objective: f64) -> Slo {
        Slo {
            kind: SloKind::Latency,
            threshold: Some(threshold),
            ..Slo::availability(name, service, objective)
        }
    }

    /// Checks every field: the name, the job and the route can be quoted in PromQL, the
    /// objective lies in (0, 100), the window is a duration of at least a day, and a latency
    /// threshold is a bucket bound of the duration histogram.
    pub fn validate(&self) -> Result<(), SloError> {
        let err = |field, message: String| Err(SloError { field, message });
        if self.name.is_empty()
            || !self
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return err(
                "name",
                format!(
                    "{:?} must be lower-case letters, digits and '-' ([a-z0-9-])",
                    self.name
                ),
            );
        }
        if self.service.is_empty() || self.service.contains(['"', '\\', '\n']) {
            return err(
                "service",
                format!(
                    "{:?} must be a job name, without quotes or backslashes",
                    self.service
                ),
            );
        }
        if !(self.objective > 0.0 && self.objective < 100.0) {
            return err(
                "objective",
                format!(
                    "{} must be a percentage between 0 and 100, both excluded (e.g. 99.9)",
                    self.objective
                ),
            );
        }
        // The rules divide by the budget, written with twelve decimals.
        if ratio(self.budget()) == "0" {
            return err(
                "objective",
                format!(
                    "{} leaves no error budget to alert on; at most 99.9999999999",
                    self.objective
                ),
            );
        }
        if self.window_seconds() < MIN_WINDOW_SECONDS {
            return err(
                "window",
                format!("{:?} is shorter than one day (1d)", self.window),
            );
        }
        if let Some(route) = &self.route
            && (!route.starts_with('/')
                || route.contains(['"', '\\', '\n'])
                || route.contains("{{")
                || route.contains("}}"))
        {
            return err(
                "route",
                format!("{route:?} must be a route template like \"/users/{{id}}\""),
            );
        }
        if let Some(route) = &self.route
            && self.kind.is_grpc()
        {
            return err(
                "route",
                format!(
                    "{route:?}: a gRPC SLO selects calls by method; use method = \"package.Service/Method\""
                ),
            );
        }
        if let Some(method) = &self.method {
            if !self.kind.is_grpc() {
                return err(
                    "method",
                    "only a gRPC SLO (kind \"grpc-availability\" or \"grpc-latency\") has a method; an HTTP SLO selects by route".into(),
                );
            }
            let well_formed = method.split_once('/').is_some_and(|(service, name)| {
                !service.is_empty() && !name.is_empty() && !name.contains('/')
            });
            if !well_formed || method.contains(['"', '\\', '\n', '{', '}']) {
                return err(
                    "method",
                    format!(
                        "{method:?} must be an RPC method like \"demo.v1.Users/Get\" (no leading '/')"
                    ),
                );
            }
        }
        let histogram = self.kind.histogram();
        let buckets = histogram.buckets.unwrap_or_default();
        match (self.kind.is_latency(), self.threshold) {
            (true, Some(t)) if buckets.contains(&t) => {}
            (true, Some(t)) => {
                return err(
                    "threshold",
                    format!(
                        "{t} is not a bucket bound of {} (one of {})",
                        histogram.name,
                        bucket_list(buckets)
                    ),
                );
            }
            (true, None) => {
                return err(
                    "threshold",
                    format!(
                        "a latency SLO needs a threshold in seconds, one of {}",
                        bucket_list(buckets)
                    ),
                );
            }
            (false, Some(_)) => {
                return err(
                    "threshold",
                    "only a latency SLO has a threshold; remove it or set kind = \"latency\" (or \"grpc-latency\")"
                        .into(),
                );
            }
            (false, None) => {}
        }
        Ok(())
    }

    /// The SLO window in seconds.
    pub fn window_seconds(&self) -> u64 {
        self.window.as_secs()
    }

    /// The error budget, `1 - objective`, as a ratio.
    pub fn budget(&self) -> f64 {
        (100.0 - self.objective) / 100.0
    }

    /// How long the 30-day window `nominal_seconds` lasts for this SLO: scaled by
    /// `window / 30d`, in whole seconds (at least one).
    pub fn scaled_seconds(&self, nominal_seconds: u64) -> u64 {
        let window = self.window_seconds();
        let scaled = (nominal_seconds as u128 * window as u128
            + REFERENCE_WINDOW_SECONDS as u128 / 2)
            / REFERENCE_WINDOW_SECONDS as u128;
        (scaled as u64).max(1)
    }

    /// What the SLO promises, in words: `99.9% of requests to api answered without a 5xx over
    /// 30d`.
    pub fn promise(&self) -> String {
        let requests = match (&self.route, &self.method) {
            (Some(route), _) => format!("requests to {} {route}", self.service),
            (None, Some(method)) => format!("gRPC calls to {} {method}", self.service),
            (None, None) if self.kind.is_grpc() => format!("gRPC calls to {}", self.service),
            (None, None) => format!("requests to {}", self.service),
        };
        let good = match self.kind {
            SloKind::Availability => "answered without a 5xx".to_string(),
            SloKind::GrpcAvailability => "answered without a server fault".to_string(),
            SloKind::Latency | SloKind::GrpcLatency => {
                format!(
                    "answered within {}s",
                    number(self.threshold.unwrap_or_default())
                )
            }
        };
        format!(
            "{}% of {requests} {good} over {}",
            number(self.objective),
            self.window
        )
    }
}

fn bucket_list(buckets: &[f64]) -> String {
    buckets
        .iter()
        .map(|b| number(*b))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The SLOs of the guide (docs/slos.md), whose rules and tests are checked in under `alert-rules/`: an
/// availability and a latency SLO of a service, a route's availability over 7 days and a latency
/// at a whole-second bound (whose `le` Prometheus 2 and 3 write differently).
pub fn examples() -> Vec<Slo> {
    vec![
        Slo::availability("api-availability", "api", 99.9),
        Slo::latency("api-latency", "api", 0.25, 99.0),
        Slo {
            route: Some("/users/{id}".into()),
            window: Duration::from_static("7d"),
            ..Slo::availability("api-users-availability", "api", 99.5)
        },
        Slo {
            window: Duration::from_static("28d"),
            ..Slo::latency("worker-latency", "worker", 1.0, 95.0)
        },
        Slo::grpc_availability("users-grpc-availability", "users", 99.9),
        Slo {
            method: Some("demo.v1.Users/Get".into()),
            ..Slo::grpc_latency("users-get-latency", "users", 0.1, 99.0)
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_names_the_field() {
        let ok = Slo::availability("api-availability", "api", 99.9);
        ok.validate().unwrap();
        let cases: Vec<(Slo, &str, &str)> = vec![
            (
                Slo {
                    objective: 100.0,
                    ..ok.clone()
                },
                "objective",
                "between 0 and 100",
            ),
            (
                Slo {
                    objective: 0.0,
                    ..ok.clone()
                },
                "objective",
                "between 0 and 100",
            ),
            (
                Slo {
                    objective: 99.99999999999999,
                    ..ok.clone()
                },
                "objective",
                "leaves no error budget",
            ),
            (
                Slo {
                    name: "API_avail".into(),
                    ..ok.clone()
                },
                "name",
                "[a-z0-9-]",
            ),
            (
                Slo {
                    window: Duration::from_static("12h"),
                    ..ok.clone()
                },
                "window",
                "shorter than one day",
            ),
            (
                Slo {
                    route: Some("users".into()),
                    ..ok.clone()
                },
                "route",
                "route template",
            ),
            (
                Slo {
                    threshold: Some(0.25),
                    ..ok.clone()
                },
                "threshold",
                "only a latency SLO",
            ),
            (
                Slo::latency("l", "api", 0.3, 99.0),
                "threshold",
                "one of 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10",
            ),
            (
                Slo {
                    threshold: None,
                    ..Slo::latency("l", "api", 0.25, 99.0)
                },
                "threshold",
                "needs a threshold",
            ),
        ];
        for (slo, field, text) in cases {
            let e = slo.validate().unwrap_err();
            assert_eq!(e.field, field, "{e}");
            assert!(e.message.contains(text), "{e}");
        }
        Slo {
            window: Duration::from_static("1d"),
            ..ok.clone()
        }
        .validate()
        .unwrap();
        let grpc = Slo::grpc_availability("g", "users", 99.9);
        grpc.validate().unwrap();
        let cases: Vec<(Slo, &str, &str)> = vec![
            (
                Slo {
                    method: Some("demo.v1.Users/Get".into()),
                    ..ok.clone()
                },
                "method",
                "only a gRPC SLO",
            ),
            (
                Slo {
                    route: Some("/users/{id}".into()),
                    ..grpc.clone()
                },
                "route",
                "selects calls by method",
            ),
            (
                Slo {
                    method: Some("/demo.v1.Users/Get".into()),
                    ..grpc.clone()
                },
                "method",
                "RPC method",
            ),
            (
                Slo {
                    threshold: None,
                    ..Slo::grpc_latency("l", "users", 0.25, 99.0)
                },
                "threshold",
                "needs a threshold",
            ),
            (
                Slo::grpc_latency("l", "users", 0.3, 99.0),
                "threshold",
                "rpc_server_call_duration_seconds",
            ),
        ];
        for (slo, field, text) in cases {
            let e = slo.validate().unwrap_err();
            assert_eq!(e.field, field, "{e}");
            assert!(e.message.contains(text), "{e}");
        }
        assert_eq!(
            Slo {
                method: Some("demo.v1.Users/Get".into()),
                ..grpc
            }
            .promise(),
            "99.9% of gRPC calls to users demo.v1.Users/Get answered without a server fault over 30d"
        );
    }
}
