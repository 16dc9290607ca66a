//! Recording rules: the RED aggregates the dashboards and alerts read.
//!
//! Names follow the Prometheus `level:metric:operations` convention. They aggregate with
//! `sum by (…)` over catalogue labels only, so the extra labels an OpenTelemetry SDK adds
//! (`error_type`, `url_scheme`, `network_protocol_version`) are summed away.

use std::sync::OnceLock;

pub use crate::rule_model::Recording;

/// Per target, route and status code: request rate.
pub const RATE_BY_ROUTE_CODE: &str =
    "instance_route_code:http_server_request_duration_seconds_count:rate5m";
/// Per target, route and bucket: request rate by duration bucket.
pub const BUCKETS_BY_ROUTE: &str =
    "instance_route_le:http_server_request_duration_seconds_bucket:rate5m";
/// Per target and route: seconds spent per second (for mean latency).
pub const SUM_BY_ROUTE: &str = "instance_route:http_server_request_duration_seconds_sum:rate5m";
/// Per job: request rate.
pub const RATE_BY_JOB: &str = "job:http_server_request_duration_seconds_count:rate5m";
/// Per job: ratio of 5xx responses.
pub const ERROR_RATIO_BY_JOB: &str = "job:http_server_request_errors:ratio_rate5m";
/// Per job: p99 latency.
pub const P99_BY_JOB: &str = "job:http_server_request_duration_seconds:p99_rate5m";

/// Every recording rule of the mixin, in evaluation order.
pub fn recordings() -> &'static [Recording] {
    static ALL: OnceLock<Vec<Recording>> = OnceLock::new();
    ALL.get_or_init(|| {
        let duration = obs_catalogue::HTTP_SERVER_REQUEST_DURATION.name;
        vec![
            Recording {
                record: RATE_BY_ROUTE_CODE,
                expr: format!(
                    "sum by (job, instance, http_route, http_response_status_code) (rate({duration}_count[5m]))"
                ),
                labels: &["job", "instance", "http_route", "http_response_status_code"],
            },
            Recording {
                record: BUCKETS_BY_ROUTE,
                expr: format!("sum by (job, instance, http_route, le) (rate({duration}_bucket[5m]))"),
                labels: &["job", "instance", "http_route", "le"],
            },
            Recording {
                record: SUM_BY_ROUTE,
                expr: format!("sum by (job, instance, http_route) (rate({duration}_sum[5m]))"),
                labels: &["job", "instance", "http_route"],
            },
            Recording {
                record: RATE_BY_JOB,
                expr: format!("sum by (job) ({RATE_BY_ROUTE_CODE})"),
                labels: &["job"],
            },
            Recording {
                record: ERROR_RATIO_BY_JOB,
                // `or … * 0` keeps a 0 for jobs without any 5xx instead of no series at all.
                expr: format!(
                    "(\n  sum by (job) ({RATE_BY_ROUTE_CODE}{{http_response_status_code=~\"5..\"}})\n  or\n  sum by (job) ({RATE_BY_ROUTE_CODE}) * 0\n)\n/\nsum by (job) ({RATE_BY_ROUTE_CODE})"
                ),
                labels: &["job"],
            },
            Recording {
                record: P99_BY_JOB,
                expr: format!("histogram_quantile(0.99, sum by (job, le) ({BUCKETS_BY_ROUTE}))"),
                labels: &["job"],
            },
        ]
    })
}

/// One `promql_expr_test` of the recording rules: the expected samples of `expr` at `eval_time`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExprCheck {
    /// What it proves.
    pub name: &'static str,
    /// A recorded series, possibly with matchers.
    pub expr: String,
    /// `(labels, value)` of every expected sample.
    pub samples: Vec<(String, &'static str)>,
}

/// Input series for the recording-rule tests: a service using obs-service (`api`), one instrumented
/// with an upstream OpenTelemetry SDK (`otel`: extra labels, no `http_route` on unrouted
/// requests, `error_type` on 5xx) and one without errors (`quiet`). 1m interval.
pub fn test_series() -> Vec<(String, &'static str)> {
    let c = format!("{}_count", obs_catalogue::HTTP_SERVER_REQUEST_DURATION.name);
    let b = format!(
        "{}_bucket",
        obs_catalogue::HTTP_SERVER_REQUEST_DURATION.name
    );
    let api = r#"job="api",instance="api:8080",http_request_method="GET""#;
    let otel = r#"job="otel",instance="otel:8000",http_request_method="GET",url_scheme="http",network_protocol_version="1.1""#;
    let quiet = r#"job="quiet",instance="quiet:8080",http_request_method="GET""#;
    vec![
        (
            format!(r#"{c}{{{api},http_route="/users/{{id}}",http_response_status_code="200"}}"#),
            "0+48x15",
        ),
        (
            format!(r#"{c}{{{api},http_route="/users/{{id}}",http_response_status_code="500"}}"#),
            "0+6x15",
        ),
        (
            format!(r#"{c}{{{api},http_route="unmatched",http_response_status_code="404"}}"#),
            "0+6x15",
        ),
        (
            format!(r#"{c}{{{otel},http_route="/items",http_response_status_code="200"}}"#),
            "0+120x15",
        ),
        (
            format!(
                r#"{c}{{{otel},http_route="/items",http_response_status_code="503",error_type="503"}}"#
            ),
            "0+60x15",
        ),
        (
            format!(r#"{c}{{{otel},http_response_status_code="404"}}"#),
            "0+60x15",
        ),
        (
            format!(r#"{c}{{{quiet},http_route="/",http_response_status_code="200"}}"#),
            "0+60x15",
        ),
        (
            format!(
                r#"{b}{{{otel},http_route="/items",http_response_status_code="200",le="0.25"}}"#
            ),
            "0x15",
        ),
        (
            format!(
                r#"{b}{{{otel},http_route="/items",http_response_status_code="200",le="0.5"}}"#
            ),
            "0+60x15",
        ),
        (
            format!(
                r#"{b}{{{otel},http_route="/items",http_response_status_code="200",le="+Inf"}}"#
            ),
            "0+60x15",
        ),
    ]
}

/// What the recording rules must produce from [`test_series`] at `10m`.
pub fn expr_checks() -> Vec<ExprCheck> {
    vec![
        ExprCheck {
            name: "request rate per job sums routes, codes and OpenTelemetry's extra labels",
            expr: RATE_BY_JOB.into(),
            samples: vec![
                (format!(r#"{RATE_BY_JOB}{{job="api"}}"#), "1"),
                (format!(r#"{RATE_BY_JOB}{{job="otel"}}"#), "4"),
                (format!(r#"{RATE_BY_JOB}{{job="quiet"}}"#), "1"),
            ],
        },
        ExprCheck {
            name: "5xx ratio per job, 0 for a job without errors",
            expr: ERROR_RATIO_BY_JOB.into(),
            samples: vec![
                (format!(r#"{ERROR_RATIO_BY_JOB}{{job="api"}}"#), "0.1"),
                (format!(r#"{ERROR_RATIO_BY_JOB}{{job="otel"}}"#), "0.25"),
                (format!(r#"{ERROR_RATIO_BY_JOB}{{job="quiet"}}"#), "0"),
            ],
        },
        ExprCheck {
            name: "unrouted OpenTelemetry requests keep their own (empty) route",
            expr: format!(r#"{RATE_BY_ROUTE_CODE}{{job="otel"}}"#),
            samples: vec![
                (
                    format!(
                        r#"{RATE_BY_ROUTE_CODE}{{job="otel",instance="otel:8000",http_response_status_code="404"}}"#
                    ),
                    "1",
                ),
                (
                    format!(
                        r#"{RATE_BY_ROUTE_CODE}{{job="otel",instance="otel:8000",http_route="/items",http_response_status_code="200"}}"#
                    ),
                    "2",
                ),
                (
                    format!(
                        r#"{RATE_BY_ROUTE_CODE}{{job="otel",instance="otel:8000",http_route="/items",http_response_status_code="503"}}"#
                    ),
                    "1",
                ),
            ],
        },
        ExprCheck {
            name: "p99 per job from the buckets",
            expr: P99_BY_JOB.into(),
            samples: vec![(format!(r#"{P99_BY_JOB}{{job="otel"}}"#), "0.4975")],
        },
    ]
}
