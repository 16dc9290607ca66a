//! Recording rules: the RED aggregates the dashboards and alerts read.
//!
//! Names follow the Prometheus `level:metric:operations` convention. They aggregate with
//! `sum by (…)` over catalogue labels only, so the extra labels an OpenTelemetry SDK adds
//! (`error_type`, `url_scheme`, `network_protocol_version`) are summed away.

use std::sync::OnceLock;

/// One recording rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recording {
    /// The recorded series name.
    pub record: &'static str,
    /// Its expression.
    pub expr: String,
    /// Every label the recorded series carries.
    pub labels: &'static [&'static str],
}

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
        let duration = obs_sdk::catalogue::HTTP_SERVER_REQUEST_DURATION.name;
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
