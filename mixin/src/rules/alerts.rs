//! Alerting rules, each with the promtool scenarios that prove it fires and stays quiet.

pub use crate::rule_model::{DashboardRef, Severity};

use super::recording::{ERROR_RATIO_BY_JOB, P99_BY_JOB};
use crate::thresholds::Thresholds;
use obs_catalogue as catalogue;

/// Input series and expectation of one promtool test case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scenario {
    /// `(series, values)` in promtool's expanding notation, 1m interval.
    pub series: Vec<(String, String)>,
    /// When to evaluate, e.g. `"10m"`.
    pub eval_time: &'static str,
    /// Labels the firing alert carries besides `alertname` and `severity` (empty when quiet).
    pub labels: Vec<(&'static str, &'static str)>,
    /// How `{{ $value … }}` renders in the annotations of the firing alert.
    pub value: &'static str,
}

impl Scenario {
    fn new(eval_time: &'static str, series: &[(&str, &str)]) -> Self {
        Scenario {
            series: series
                .iter()
                .map(|(s, v)| (s.to_string(), v.to_string()))
                .collect(),
            eval_time,
            labels: Vec::new(),
            value: "",
        }
    }

    fn labels(mut self, labels: &[(&'static str, &'static str)], value: &'static str) -> Self {
        self.labels = labels.to_vec();
        self.value = value;
        self
    }
}

/// One alerting rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// CamelCase alert name.
    pub name: &'static str,
    /// `severity` label.
    pub severity: Severity,
    /// PromQL expression.
    pub expr: String,
    /// `for` duration.
    pub for_: crate::duration::Duration,
    /// `summary` annotation (may use `{{ $labels.x }}`).
    pub summary: String,
    /// `description` annotation (may use `{{ $labels.x }}` and `{{ $value … }}`).
    pub description: String,
    /// The dashboard panel that shows the alert's series (its `dashboard_url`).
    pub dashboard: DashboardRef,
    /// A scenario in which it fires (for the default thresholds).
    pub firing: Scenario,
    /// A scenario in which it stays quiet.
    pub quiet: Scenario,
}

/// A group of alerts written to one rule file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertGroup {
    /// Group name.
    pub name: &'static str,
    /// Rule file name.
    pub file_name: &'static str,
    /// The alerts.
    pub alerts: Vec<Alert>,
}

/// The uids of the dashboards the alerts link to.
const SERVICE: &str = "obs-service-overview";
const SELF_HEALTH: &str = "obs-sdk-self-health";
const INFRASTRUCTURE: &str = "obs-infrastructure";
const DATABASE: &str = "obs-database";

const API: &[(&str, &str)] = &[("job", "api"), ("instance", "api:8080")];

/// The regular expression of the `error_type` values of an outgoing call that are the
/// dependency's fault: a 5xx answer, or no answer (a timeout, no connection, another failure:
/// the catalogue's [`ClientError`](catalogue::ClientError) values). A 4xx answer is the
/// caller's.
pub fn dependency_faults() -> String {
    std::iter::once("5..")
        .chain(catalogue::ClientError::ALL.iter().map(|e| e.as_str()))
        .collect::<Vec<_>>()
        .join("|")
}

/// The regular expression of the gRPC status codes that mean a server fault, as the
/// OpenTelemetry RPC conventions classify a server's codes: what `HighGrpcErrorRate`, the gRPC
/// dashboard row and gRPC availability SLOs count as errors. Matched on
/// `rpc_response_status_code`, which every implementation of the conventions sets.
pub fn grpc_server_faults() -> String {
    catalogue::GRPC_SERVER_FAULT_CODES.join("|")
}

fn fmt_num(x: f64) -> String {
    format!("{x}")
}

/// The alerts about services (targets, RED, process, health checks, SDK exporters).
pub fn service_alerts(t: &Thresholds) -> AlertGroup {
    let svc = format!("job=~\"{}\"", t.service_job_regex);
    let duration = catalogue::HTTP_SERVER_REQUEST_DURATION.name;
    let route = r#"http_route="/users/{id}",http_request_method="GET""#;
    let client = catalogue::HTTP_CLIENT_REQUEST_DURATION.name;
    let call = r#"http_request_method="GET",server_address="users.internal",server_port="80""#;
    let grpc = catalogue::RPC_SERVER_CALL_DURATION.name;
    let rpc = r#"rpc_system_name="grpc",rpc_method="demo.v1.Users/Get""#;
    let alerts = vec![
        Alert {
            name: "TargetDown",
            severity: Severity::Warning,
            dashboard: DashboardRef { uid: SERVICE, panel: "Targets up", variables: DashboardRef::JOB_AND_INSTANCE },
            expr: "up == 0".into(),
            for_: t.target_down_for.clone(),
            summary: "Target {{ $labels.instance }} of job {{ $labels.job }} is down.".into(),
            description: format!(
                "Prometheus has failed to scrape {{{{ $labels.instance }}}} (job {{{{ $labels.job }}}}) for more than {}.",
                t.target_down_for
            ),
            firing: Scenario::new("10m", &[(r#"up{job="api",instance="api:8080"}"#, "0x15")]).labels(API, ""),
            quiet: Scenario::new("10m", &[(r#"up{job="api",instance="api:8080"}"#, "1x15")]),
        },
        Alert {
            name: "ServiceTargetsAbsent",
            severity: Severity::Critical,
            dashboard: DashboardRef { uid: SERVICE, panel: "Targets up", variables: &[] },
            expr: format!("absent(up{{{svc}}})"),
            for_: t.targets_absent_for.clone(),
            summary: "Prometheus scrapes no service at all.".into(),
            description: format!(
                "No scrape target matches job=~\"{}\" for more than {}: service discovery or the scrape configuration is broken, so no service metric reaches the dashboards or alerts.",
                t.service_job_regex, t.targets_absent_for
            ),
            firing: Scenario::new("15m", &[(r#"obs_build_info{job="api",instance="api:8080"}"#, "1x20")])
                .labels(&[], ""),
            quiet: Scenario::new("15m", &[(r#"up{job="api",instance="api:8080"}"#, "1x20")]),
        },
        Alert {
            name: "HighErrorRate",
            severity: Severity::Critical,
            dashboard: DashboardRef { uid: SERVICE, panel: "5xx ratio by job", variables: DashboardRef::JOB },
            expr: format!("{ERROR_RATIO_BY_JOB} > {}", fmt_num(t.error_ratio)),
            for_: t.error_ratio_for.clone(),
            summary: "Job {{ $labels.job }} answers too many requests with a 5xx status.".into(),
            description: format!(
                "{{{{ $value | humanizePercentage }}}} of the requests to {{{{ $labels.job }}}} failed with a 5xx status over the last 5 minutes (threshold {}%).",
                fmt_num(t.error_ratio * 100.0)
            ),
            firing: Scenario::new(
                "15m",
                &[
                    (
                        &format!(r#"{duration}_count{{job="api",instance="api:8080",{route},http_response_status_code="200"}}"#),
                        "0+90x20",
                    ),
                    (
                        &format!(r#"{duration}_count{{job="api",instance="api:8080",{route},http_response_status_code="500",error_type="500"}}"#),
                        "0+10x20",
                    ),
                ],
            )
            .labels(&[("job", "api")], "10%"),
            quiet: Scenario::new(
                "15m",
                &[
                    (
                        &format!(r#"{duration}_count{{job="api",instance="api:8080",{route},http_response_status_code="200"}}"#),
                        "0+90x20",
                    ),
                    (
                        &format!(r#"{duration}_count{{job="api",instance="api:8080",{route},http_response_status_code="500"}}"#),
                        "0+1x20",
                    ),
                ],
            ),
        },
        Alert {
            name: "HighRequestLatency",
            severity: Severity::Warning,
            dashboard: DashboardRef { uid: SERVICE, panel: "Latency percentiles", variables: DashboardRef::JOB },
            expr: format!("{P99_BY_JOB} > {}", fmt_num(t.latency_p99_seconds)),
            for_: t.latency_p99_for.clone(),
            summary: "Job {{ $labels.job }} answers slowly.".into(),
            description: format!(
                "The 99th percentile of request latency of {{{{ $labels.job }}}} is {{{{ $value | humanizeDuration }}}} (threshold {}s).",
                fmt_num(t.latency_p99_seconds)
            ),
            firing: Scenario::new(
                "20m",
                &[
                    (&format!(r#"{duration}_bucket{{job="api",instance="api:8080",{route},http_response_status_code="200",le="1"}}"#), "0x30"),
                    (&format!(r#"{duration}_bucket{{job="api",instance="api:8080",{route},http_response_status_code="200",le="2.5"}}"#), "0+100x30"),
                    (&format!(r#"{duration}_bucket{{job="api",instance="api:8080",{route},http_response_status_code="200",le="+Inf"}}"#), "0+100x30"),
                ],
            )
            .labels(&[("job", "api")], "2.485s"),
            quiet: Scenario::new(
                "20m",
                &[
                    (&format!(r#"{duration}_bucket{{job="api",instance="api:8080",{route},http_response_status_code="200",le="0.1"}}"#), "0+100x30"),
                    (&format!(r#"{duration}_bucket{{job="api",instance="api:8080",{route},http_response_status_code="200",le="1"}}"#), "0+100x30"),
                    (&format!(r#"{duration}_bucket{{job="api",instance="api:8080",{route},http_response_status_code="200",le="+Inf"}}"#), "0+100x30"),
                ],
            ),
        },
        Alert {
            name: "HighActiveRequests",
            severity: Severity::Warning,
            dashboard: DashboardRef { uid: SERVICE, panel: "Active requests by instance", variables: DashboardRef::JOB_AND_INSTANCE },
            expr: format!(
                "sum by (job, instance) ({}) > {}",
                catalogue::HTTP_SERVER_ACTIVE_REQUESTS.name,
                fmt_num(t.active_requests)
            ),
            for_: t.active_requests_for.clone(),
            summary: "{{ $labels.instance }} of job {{ $labels.job }} is saturated.".into(),
            description: format!(
                "{{{{ $labels.instance }}}} has been handling {{{{ $value }}}} requests at once for more than {} (threshold {}).",
                t.active_requests_for,
                fmt_num(t.active_requests)
            ),
            firing: Scenario::new(
                "15m",
                &[(r#"http_server_active_requests{job="api",instance="api:8080",http_request_method="GET",url_scheme="http"}"#, "150x20")],
            )
            .labels(API, "150"),
            quiet: Scenario::new(
                "15m",
                &[(r#"http_server_active_requests{job="api",instance="api:8080",http_request_method="GET",url_scheme="http"}"#, "10x20")],
            ),
        },
        Alert {
            name: "HighDependencyErrorRate",
            severity: Severity::Warning,
            dashboard: DashboardRef { uid: SERVICE, panel: "Failed calls by server", variables: DashboardRef::JOB },
            expr: format!(
                "sum by (job, server_address) (rate({client}_count{{{svc},error_type=~\"{}\"}}[5m]))\n/\nsum by (job, server_address) (rate({client}_count{{{svc}}}[5m]))\n> {}",
                dependency_faults(),
                fmt_num(t.dependency_error_ratio)
            ),
            for_: t.dependency_error_ratio_for.clone(),
            summary: "Job {{ $labels.job }} fails too many calls to {{ $labels.server_address }}.".into(),
            description: format!(
                "{{{{ $value | humanizePercentage }}}} of the calls of {{{{ $labels.job }}}} to {{{{ $labels.server_address }}}} failed with a server error, a timeout or no connection over the last 5 minutes (threshold {}%).",
                fmt_num(t.dependency_error_ratio * 100.0)
            ),
            firing: Scenario::new(
                "15m",
                &[
                    (
                        &format!(r#"{client}_count{{job="api",instance="api:8080",{call},http_response_status_code="200"}}"#),
                        "0+90x20",
                    ),
                    (
                        &format!(r#"{client}_count{{job="api",instance="api:8080",{call},error_type="timeout"}}"#),
                        "0+10x20",
                    ),
                ],
            )
            .labels(&[("job", "api"), ("server_address", "users.internal")], "10%"),
            quiet: Scenario::new(
                "15m",
                &[
                    (
                        &format!(r#"{client}_count{{job="api",instance="api:8080",{call},http_response_status_code="200"}}"#),
                        "0+90x20",
                    ),
                    // Not found is the caller's mistake, not the dependency's fault.
                    (
                        &format!(r#"{client}_count{{job="api",instance="api:8080",{call},http_response_status_code="404",error_type="404"}}"#),
                        "0+50x20",
                    ),
                    (
                        &format!(r#"{client}_count{{job="api",instance="api:8080",{call},http_response_status_code="503",error_type="503"}}"#),
                        "0+1x20",
                    ),
                ],
            ),
        },
        Alert {
            name: "HighGrpcErrorRate",
            severity: Severity::Critical,
            dashboard: DashboardRef { uid: SERVICE, panel: "gRPC server-fault ratio by job", variables: DashboardRef::JOB },
            expr: format!(
                "sum by (job) (rate({grpc}_count{{{svc},rpc_response_status_code=~\"{}\"}}[5m]))\n/\nsum by (job) (rate({grpc}_count{{{svc}}}[5m]))\n> {}",
                grpc_server_faults(),
                fmt_num(t.grpc_error_ratio)
            ),
            for_: t.grpc_error_ratio_for.clone(),
            summary: "Job {{ $labels.job }} fails too many gRPC calls.".into(),
            description: format!(
                "{{{{ $value | humanizePercentage }}}} of the gRPC calls to {{{{ $labels.job }}}} were answered with a code that means a server fault (INTERNAL, UNAVAILABLE, UNKNOWN, …) over the last 5 minutes (threshold {}%).",
                fmt_num(t.grpc_error_ratio * 100.0)
            ),
            firing: Scenario::new(
                "15m",
                &[
                    (
                        &format!(r#"{grpc}_count{{job="api",instance="api:8080",{rpc},rpc_response_status_code="OK"}}"#),
                        "0+90x20",
                    ),
                    (
                        &format!(r#"{grpc}_count{{job="api",instance="api:8080",{rpc},rpc_response_status_code="INTERNAL",error_type="INTERNAL"}}"#),
                        "0+10x20",
                    ),
                ],
            )
            .labels(&[("job", "api")], "10%"),
            quiet: Scenario::new(
                "15m",
                &[
                    (
                        &format!(r#"{grpc}_count{{job="api",instance="api:8080",{rpc},rpc_response_status_code="OK"}}"#),
                        "0+90x20",
                    ),
                    // Not found is the caller's business, not a server fault.
                    (
                        &format!(r#"{grpc}_count{{job="api",instance="api:8080",{rpc},rpc_response_status_code="NOT_FOUND"}}"#),
                        "0+50x20",
                    ),
                    (
                        &format!(r#"{grpc}_count{{job="api",instance="api:8080",{rpc},rpc_response_status_code="UNAVAILABLE",error_type="UNAVAILABLE"}}"#),
                        "0+1x20",
                    ),
                ],
            ),
        },
        Alert {
            name: "ServiceCrashLooping",
            severity: Severity::Critical,
            dashboard: DashboardRef { uid: SERVICE, panel: "Restarts by instance", variables: DashboardRef::JOB_AND_INSTANCE },
            expr: format!(
                "changes({}{{{svc}}}[{}]) >= {}",
                catalogue::PROCESS_START_TIME.name,
                t.restarts_window,
                fmt_num(t.restarts)
            ),
            for_: t.restarts_for.clone(),
            summary: "{{ $labels.instance }} of job {{ $labels.job }} keeps restarting.".into(),
            description: format!(
                "{{{{ $labels.instance }}}} restarted {{{{ $value }}}} times within {}.",
                t.restarts_window
            ),
            firing: Scenario::new(
                "10m",
                &[(r#"process_start_time_seconds{job="api",instance="api:8080"}"#, "100 200 300 400x20")],
            )
            .labels(API, "3"),
            quiet: Scenario::new("10m", &[(r#"process_start_time_seconds{job="api",instance="api:8080"}"#, "100 200x20")]),
        },
        Alert {
            name: "ServiceHighMemory",
            severity: Severity::Warning,
            dashboard: DashboardRef { uid: SERVICE, panel: "Memory", variables: DashboardRef::JOB_AND_INSTANCE },
            expr: format!("{}{{{svc}}} > {}", catalogue::PROCESS_RESIDENT_MEMORY.name, fmt_num(t.memory_bytes)),
            for_: t.memory_for.clone(),
            summary: "{{ $labels.instance }} of job {{ $labels.job }} uses a lot of memory.".into(),
            description: format!(
                "{{{{ $labels.instance }}}} has had {{{{ $value | humanize1024 }}}}B resident for more than {} (threshold {} bytes).",
                t.memory_for,
                fmt_num(t.memory_bytes)
            ),
            firing: Scenario::new("20m", &[(r#"process_resident_memory_bytes{job="api",instance="api:8080"}"#, "2147483648x30")])
                .labels(API, "2Gi"),
            quiet: Scenario::new("20m", &[(r#"process_resident_memory_bytes{job="api",instance="api:8080"}"#, "104857600x30")]),
        },
        Alert {
            name: "ServiceHighFileDescriptors",
            severity: Severity::Warning,
            dashboard: DashboardRef { uid: SERVICE, panel: "Open file descriptors", variables: DashboardRef::JOB_AND_INSTANCE },
            expr: format!(
                "{}{{{svc}}} / {}{{{svc}}} > {}",
                catalogue::PROCESS_OPEN_FDS.name,
                catalogue::PROCESS_MAX_FDS.name,
                fmt_num(t.fd_ratio)
            ),
            for_: t.fd_for.clone(),
            summary: "{{ $labels.instance }} of job {{ $labels.job }} is running out of file descriptors.".into(),
            description: format!(
                "{{{{ $labels.instance }}}} uses {{{{ $value | humanizePercentage }}}} of its file descriptors (threshold {}%).",
                fmt_num(t.fd_ratio * 100.0)
            ),
            firing: Scenario::new(
                "15m",
                &[
                    (r#"process_open_fds{job="api",instance="api:8080"}"#, "900x20"),
                    (r#"process_max_fds{job="api",instance="api:8080"}"#, "1000x20"),
                ],
            )
            .labels(API, "90%"),
            quiet: Scenario::new(
                "15m",
                &[
                    (r#"process_open_fds{job="api",instance="api:8080"}"#, "100x20"),
                    (r#"process_max_fds{job="api",instance="api:8080"}"#, "1000x20"),
                ],
            ),
        },
        Alert {
            name: "HealthCheckFailing",
            severity: Severity::Warning,
            dashboard: DashboardRef { uid: SELF_HEALTH, panel: "Check status", variables: &[("job", "job"), ("instance", "instance"), ("check", "check")] },
            expr: format!("{} == 0", catalogue::HEALTH_CHECK_STATUS.name),
            for_: t.health_check_for.clone(),
            summary: "Readiness check {{ $labels.check }} of {{ $labels.job }} is failing.".into(),
            description: format!(
                "The readiness check {{{{ $labels.check }}}} (critical: {{{{ $labels.critical }}}}) on {{{{ $labels.instance }}}} has failed for more than {}.",
                t.health_check_for
            ),
            firing: Scenario::new(
                "10m",
                &[(r#"obs_health_check_status{job="api",instance="api:8080",check="database",critical="true"}"#, "0x15")],
            )
            .labels(&[("job", "api"), ("instance", "api:8080"), ("check", "database"), ("critical", "true")], ""),
            quiet: Scenario::new(
                "10m",
                &[(r#"obs_health_check_status{job="api",instance="api:8080",check="database",critical="true"}"#, "1x15")],
            ),
        },
        Alert {
            name: "ObsExporterDroppingData",
            severity: Severity::Warning,
            dashboard: DashboardRef { uid: SELF_HEALTH, panel: "Dropped items by exporter and reason", variables: DashboardRef::JOB_AND_INSTANCE },
            expr: format!(
                "sum by (job, instance, exporter) (rate({}[5m])) > {}",
                catalogue::EXPORTER_DROPPED.name,
                fmt_num(t.dropped_per_second)
            ),
            for_: t.dropped_for.clone(),
            summary: "The {{ $labels.exporter }} exporter of {{ $labels.instance }} is dropping data.".into(),
            description: format!(
                "The {{{{ $labels.exporter }}}} exporter of {{{{ $labels.instance }}}} (job {{{{ $labels.job }}}}) has dropped {{{{ $value | humanize }}}} items per second for more than {}: its queue is full or its endpoint is failing, so logs, events or spans are lost.",
                t.dropped_for
            ),
            firing: Scenario::new(
                "25m",
                &[(r#"obs_exporter_dropped_total{job="api",instance="api:8080",exporter="loki",reason="queue_full"}"#, "0+60x30")],
            )
            .labels(&[("job", "api"), ("instance", "api:8080"), ("exporter", "loki")], "1"),
            quiet: Scenario::new(
                "25m",
                &[(r#"obs_exporter_dropped_total{job="api",instance="api:8080",exporter="loki",reason="queue_full"}"#, "5x30")],
            ),
        },
        Alert {
            name: "ObsExporterFailing",
            severity: Severity::Warning,
            dashboard: DashboardRef { uid: SELF_HEALTH, panel: "Failed sends by exporter", variables: DashboardRef::JOB_AND_INSTANCE },
            expr: format!(
                "sum by (job, instance, exporter) (rate({}[5m])) > 0",
                catalogue::EXPORTER_SEND_FAILURES.name,
            ),
            for_: t.send_failures_for.clone(),
            summary: "The {{ $labels.exporter }} exporter of {{ $labels.instance }} cannot deliver.".into(),
            description: format!(
                "The {{{{ $labels.exporter }}}} exporter of {{{{ $labels.instance }}}} (job {{{{ $labels.job }}}}) has failed to send {{{{ $value | humanize }}}} batches per second for more than {}. It keeps them queued and retries, so nothing is lost yet; once the queue is full the oldest items are dropped (ObsExporterDroppingData).",
                t.send_failures_for
            ),
            firing: Scenario::new(
                "15m",
                &[(r#"obs_exporter_send_failures_total{job="api",instance="api:8080",exporter="loki"}"#, "0+60x20")],
            )
            .labels(&[("job", "api"), ("instance", "api:8080"), ("exporter", "loki")], "1"),
            quiet: Scenario::new(
                "15m",
                &[(r#"obs_exporter_send_failures_total{job="api",instance="api:8080",exporter="loki"}"#, "3x20")],
            ),
        },
    ];
    AlertGroup {
        name: "obs-service",
        file_name: "obs-service-alerts.yaml",
        alerts,
    }
}

/// The alerts about hosts and the databases (node-exporter, postgres-exporter, redis-exporter).
pub fn infrastructure_alerts(t: &Thresholds) -> AlertGroup {
    let node = format!("job=\"{}\"", t.node_job);
    let fs = format!(
        "{node},fstype!~\"tmpfs|ramfs|squashfs|overlay|nsfs\",mountpoint!~\"/run.*|/boot.*\""
    );
    let pg = format!("job=\"{}\"", t.postgres_job);
    let redis = format!("job=\"{}\"", t.redis_job);
    let node_labels: &[(&str, &str)] = &[("job", "node"), ("instance", "node:9100")];
    let disk: &[(&str, &str)] = &[
        ("job", "node"),
        ("instance", "node:9100"),
        ("device", "/dev/sda1"),
        ("fstype", "ext4"),
        ("mountpoint", "/"),
    ];
    let fs_series = |metric: &str| {
        format!(
            r#"{metric}{{job="node",instance="node:9100",device="/dev/sda1",fstype="ext4",mountpoint="/"}}"#
        )
    };
    let pg_labels: &[(&str, &str)] = &[("job", "postgres"), ("instance", "postgres-exporter:9187")];
    let redis_labels: &[(&str, &str)] = &[("job", "redis"), ("instance", "redis-exporter:9121")];
    let alerts = vec![
        Alert {
            name: "HostDown",
            severity: Severity::Critical,
            dashboard: DashboardRef { uid: INFRASTRUCTURE, panel: "Hosts", variables: DashboardRef::JOB_AND_INSTANCE },
            expr: format!("up{{{node}}} == 0"),
            for_: t.host_down_for.clone(),
            summary: "Host {{ $labels.instance }} is down.".into(),
            description: format!(
                "node-exporter on {{{{ $labels.instance }}}} has not answered Prometheus for more than {}: the host is down, unreachable, or node-exporter stopped.",
                t.host_down_for
            ),
            firing: Scenario::new("10m", &[(r#"up{job="node",instance="node:9100"}"#, "0x15")]).labels(node_labels, ""),
            quiet: Scenario::new("10m", &[(r#"up{job="node",instance="node:9100"}"#, "1x15")]),
        },
        Alert {
            name: "HostDiskAlmostFull",
            severity: Severity::Critical,
            dashboard: DashboardRef { uid: INFRASTRUCTURE, panel: "Filesystem used", variables: DashboardRef::JOB_AND_INSTANCE },
            expr: format!(
                "node_filesystem_avail_bytes{{{fs}}} / node_filesystem_size_bytes{{{fs}}} < {}\nand\nnode_filesystem_readonly{{{fs}}} == 0",
                fmt_num(t.disk_free_ratio)
            ),
            for_: t.disk_full_for.clone(),
            summary: "Filesystem {{ $labels.mountpoint }} on {{ $labels.instance }} is almost full.".into(),
            description: format!(
                "Only {{{{ $value | humanizePercentage }}}} of {{{{ $labels.mountpoint }}}} ({{{{ $labels.device }}}}) on {{{{ $labels.instance }}}} is free (threshold {}%).",
                fmt_num(t.disk_free_ratio * 100.0)
            ),
            firing: Scenario::new(
                "10m",
                &[
                    (&fs_series("node_filesystem_avail_bytes"), "50x15"),
                    (&fs_series("node_filesystem_size_bytes"), "1000x15"),
                    (&fs_series("node_filesystem_readonly"), "0x15"),
                ],
            )
            .labels(disk, "5%"),
            quiet: Scenario::new(
                "10m",
                &[
                    (&fs_series("node_filesystem_avail_bytes"), "500x15"),
                    (&fs_series("node_filesystem_size_bytes"), "1000x15"),
                    (&fs_series("node_filesystem_readonly"), "0x15"),
                ],
            ),
        },
        Alert {
            name: "HostDiskFillingUp",
            severity: Severity::Warning,
            dashboard: DashboardRef { uid: INFRASTRUCTURE, panel: "Filesystem used", variables: DashboardRef::JOB_AND_INSTANCE },
            expr: format!(
                "predict_linear(node_filesystem_avail_bytes{{{fs}}}[{}], {}) < 0\nand\nnode_filesystem_readonly{{{fs}}} == 0",
                t.disk_fill_window,
                fmt_num(t.disk_fill_hours * 3600.0)
            ),
            for_: t.disk_filling_for.clone(),
            summary: "Filesystem {{ $labels.mountpoint }} on {{ $labels.instance }} is filling up.".into(),
            description: format!(
                "At the rate of the last {}, {{{{ $labels.mountpoint }}}} ({{{{ $labels.device }}}}) on {{{{ $labels.instance }}}} will be full within {} hours.",
                t.disk_fill_window,
                fmt_num(t.disk_fill_hours)
            ),
            firing: Scenario::new(
                "90m",
                &[
                    (&fs_series("node_filesystem_avail_bytes"), "1000-1x120"),
                    (&fs_series("node_filesystem_size_bytes"), "1000x120"),
                    (&fs_series("node_filesystem_readonly"), "0x120"),
                ],
            )
            .labels(disk, ""),
            quiet: Scenario::new(
                "90m",
                &[
                    (&fs_series("node_filesystem_avail_bytes"), "1000x120"),
                    (&fs_series("node_filesystem_size_bytes"), "1000x120"),
                    (&fs_series("node_filesystem_readonly"), "0x120"),
                ],
            ),
        },
        Alert {
            name: "PostgresDown",
            severity: Severity::Critical,
            dashboard: DashboardRef { uid: DATABASE, panel: "PostgreSQL up", variables: DashboardRef::JOB_AND_INSTANCE },
            expr: format!("pg_up{{{pg}}} == 0"),
            for_: t.postgres_down_for.clone(),
            summary: "PostgreSQL behind {{ $labels.instance }} is down.".into(),
            description: format!(
                "postgres-exporter {{{{ $labels.instance }}}} has failed to connect to PostgreSQL for more than {}.",
                t.postgres_down_for
            ),
            firing: Scenario::new("5m", &[(r#"pg_up{job="postgres",instance="postgres-exporter:9187"}"#, "0x10")])
                .labels(pg_labels, ""),
            quiet: Scenario::new("5m", &[(r#"pg_up{job="postgres",instance="postgres-exporter:9187"}"#, "1x10")]),
        },
        Alert {
            name: "PostgresTooManyConnections",
            severity: Severity::Warning,
            dashboard: DashboardRef { uid: DATABASE, panel: "Connections by state", variables: DashboardRef::JOB_AND_INSTANCE },
            expr: format!(
                "sum by (job, instance) (pg_stat_activity_count{{{pg}}})\n/\nmax by (job, instance) (pg_settings_max_connections{{{pg}}})\n> {}",
                fmt_num(t.postgres_connections_ratio)
            ),
            for_: t.postgres_connections_for.clone(),
            summary: "PostgreSQL behind {{ $labels.instance }} is running out of connections.".into(),
            description: format!(
                "{{{{ $value | humanizePercentage }}}} of max_connections are in use on the PostgreSQL behind {{{{ $labels.instance }}}} (threshold {}%).",
                fmt_num(t.postgres_connections_ratio * 100.0)
            ),
            firing: Scenario::new(
                "10m",
                &[
                    (r#"pg_stat_activity_count{job="postgres",instance="postgres-exporter:9187",datname="app",state="active",server="db:5432"}"#, "60x15"),
                    (r#"pg_stat_activity_count{job="postgres",instance="postgres-exporter:9187",datname="app",state="idle",server="db:5432"}"#, "30x15"),
                    (r#"pg_settings_max_connections{job="postgres",instance="postgres-exporter:9187",server="db:5432"}"#, "100x15"),
                ],
            )
            .labels(pg_labels, "90%"),
            quiet: Scenario::new(
                "10m",
                &[
                    (r#"pg_stat_activity_count{job="postgres",instance="postgres-exporter:9187",datname="app",state="active",server="db:5432"}"#, "10x15"),
                    (r#"pg_settings_max_connections{job="postgres",instance="postgres-exporter:9187",server="db:5432"}"#, "100x15"),
                ],
            ),
        },
        Alert {
            name: "RedisDown",
            severity: Severity::Critical,
            dashboard: DashboardRef { uid: DATABASE, panel: "Redis up", variables: DashboardRef::JOB_AND_INSTANCE },
            expr: format!("redis_up{{{redis}}} == 0"),
            for_: t.redis_down_for.clone(),
            summary: "Redis behind {{ $labels.instance }} is down.".into(),
            description: format!(
                "redis-exporter {{{{ $labels.instance }}}} has failed to reach Redis for more than {}.",
                t.redis_down_for
            ),
            firing: Scenario::new("5m", &[(r#"redis_up{job="redis",instance="redis-exporter:9121"}"#, "0x10")])
                .labels(redis_labels, ""),
            quiet: Scenario::new("5m", &[(r#"redis_up{job="redis",instance="redis-exporter:9121"}"#, "1x10")]),
        },
        Alert {
            name: "RedisMemoryNearLimit",
            severity: Severity::Warning,
            dashboard: DashboardRef { uid: DATABASE, panel: "Memory used vs maxmemory", variables: DashboardRef::JOB_AND_INSTANCE },
            expr: format!(
                "redis_memory_used_bytes{{{redis}}} / redis_memory_max_bytes{{{redis}}} > {}\nand\nredis_memory_max_bytes{{{redis}}} > 0",
                fmt_num(t.redis_memory_ratio)
            ),
            for_: t.redis_memory_for.clone(),
            summary: "Redis behind {{ $labels.instance }} is close to its maxmemory.".into(),
            description: format!(
                "Redis behind {{{{ $labels.instance }}}} uses {{{{ $value | humanizePercentage }}}} of maxmemory (threshold {}%); next it evicts keys or refuses writes.",
                fmt_num(t.redis_memory_ratio * 100.0)
            ),
            firing: Scenario::new(
                "10m",
                &[
                    (r#"redis_memory_used_bytes{job="redis",instance="redis-exporter:9121"}"#, "950x15"),
                    (r#"redis_memory_max_bytes{job="redis",instance="redis-exporter:9121"}"#, "1000x15"),
                ],
            )
            .labels(redis_labels, "95%"),
            quiet: Scenario::new(
                "10m",
                &[
                    (r#"redis_memory_used_bytes{job="redis",instance="redis-exporter:9121"}"#, "950x15"),
                    (r#"redis_memory_max_bytes{job="redis",instance="redis-exporter:9121"}"#, "0x15"),
                ],
            ),
        },
    ];
    AlertGroup {
        name: "obs-infrastructure",
        file_name: "obs-infrastructure-alerts.yaml",
        alerts,
    }
}
