//! Service overview: RED per service and per route, saturation, version and process health.
//!
//! Selects only by `job`, `instance` and catalogue labels and aggregates everything else away,
//! so it works unchanged for services instrumented with an upstream OpenTelemetry SDK (which add
//! `error_type`, `url_scheme`, `network_protocol_version` and leave `http_route` off unrouted
//! requests: the route variable's "All" is `.*`, which matches a missing label too).

use super::panels::{
    Kind, Panel, job_and_instance_variables_of_any, prom, prom_table, prometheus_variable,
    query_variable, row, with_exemplars,
};
use super::{Spec, target_selector};
use crate::Thresholds;
use crate::rules::recording::{BUCKETS_BY_ROUTE, RATE_BY_ROUTE_CODE, SUM_BY_ROUTE};
use obs_catalogue as catalogue;

/// The dashboard for `t`: the 5xx ratio and p99 latency stats turn red where `HighErrorRate`
/// and `HighRequestLatency` fire, and orange at a fifth and at half of that, so a colour on the
/// dashboard means what the alert means.
pub(crate) fn spec(t: &Thresholds) -> Spec {
    let duration = catalogue::HTTP_SERVER_REQUEST_DURATION.name;
    let active = catalogue::HTTP_SERVER_ACTIVE_REQUESTS.name;
    let routed = target_selector(r#"http_route=~"$route""#);
    let five_xx = target_selector(r#"http_route=~"$route", http_response_status_code=~"5..""#);
    let target = target_selector("");
    let rate = |sel: &str| format!("{RATE_BY_ROUTE_CODE}{sel}");
    let buckets = format!("{BUCKETS_BY_ROUTE}{routed}");
    let quantile =
        |q: &str, by: &str| format!("histogram_quantile({q}, sum by ({by}) ({buckets}))");
    // The p99 lines of the latency panels read the histogram itself, not its recording: the
    // exemplars (a traced request's `trace_id` on its bucket) live on the scraped series only.
    let raw_p99 = |by: &str| {
        format!(
            "histogram_quantile(0.99, sum by ({by}) (rate({duration}_bucket{routed}[$__rate_interval])))"
        )
    };

    // Listed by either server histogram: a service that serves only gRPC is one too.
    let [job, instance] = job_and_instance_variables_of_any(&[
        &format!("{duration}_count"),
        &format!("{}_count", catalogue::RPC_SERVER_CALL_DURATION.name),
    ]);
    let variables = vec![
        prometheus_variable(),
        job,
        instance,
        query_variable(
            "route",
            "Route",
            &format!(
                "label_values({duration}_count{{job=~\"$job\", instance=~\"$instance\"}}, http_route)"
            ),
            ".*",
        ),
    ];

    let panels = vec![
        row("Overview"),
        Panel::new(
            Kind::Stat,
            "Request rate",
            "Requests per second over the selected jobs, instances and routes (recording rule, 5m rate).",
            "reqps",
            vec![prom(format!("sum({})", rate(&routed)), "requests/s")],
        ),
        Panel::new(
            Kind::Stat,
            "5xx ratio",
            "Share of requests answered with a 5xx status over the last 5 minutes. HighErrorRate fires above the configured threshold.",
            "percentunit",
            vec![prom(format!("(sum({}) or vector(0))\n/\nsum({})", rate(&five_xx), rate(&routed)), "5xx ratio")],
        )
        .thresholds(&[("green", None), ("orange", Some(t.error_ratio / 5.0)), ("red", Some(t.error_ratio))]),
        Panel::new(
            Kind::Stat,
            "p99 latency",
            "99th percentile of request duration, from the duration histogram's buckets.",
            "s",
            vec![prom(quantile("0.99", "le"), "p99")],
        )
        .thresholds(&[
            ("green", None),
            ("orange", Some(t.latency_p99_seconds / 2.0)),
            ("red", Some(t.latency_p99_seconds)),
        ]),
        Panel::new(
            Kind::Stat,
            "Active requests",
            "Requests being handled right now. The gauge has no route label (as the OpenTelemetry conventions specify), so the route filter does not apply.",
            "short",
            vec![prom(format!("sum({active}{target})"), "active")],
        ),
        Panel::new(
            Kind::Stat,
            "Targets up",
            "Instances of the selected jobs that Prometheus scraped successfully on the last scrape.",
            "short",
            vec![prom(format!("sum(up{target})"), "up")],
        ),
        Panel::new(
            Kind::Stat,
            "Restarts",
            "Process restarts in the selected time range (changes of the process start time).",
            "short",
            vec![prom(format!("sum(changes({}{target}[$__range]))", catalogue::PROCESS_START_TIME.name), "restarts")],
        )
        .thresholds(&[("green", None), ("orange", Some(1.0)), ("red", Some(3.0))]),
        row("Traffic and errors"),
        Panel::new(
            Kind::TimeSeries,
            "Request rate by job",
            "Requests per second for each service.",
            "reqps",
            vec![prom(format!("sum by (job) ({})", rate(&routed)), "{{job}}")],
        ),
        Panel::new(
            Kind::TimeSeries,
            "5xx ratio by job",
            "Share of each service's requests answered with a 5xx status (0 when there are none).",
            "percentunit",
            vec![prom(
                format!(
                    "(sum by (job) ({}) or sum by (job) ({}) * 0)\n/\nsum by (job) ({})",
                    rate(&five_xx),
                    rate(&routed),
                    rate(&routed)
                ),
                "{{job}}",
            )],
        )
        .field("min", serde_json::json!(0)),
        Panel::new(
            Kind::StackedTimeSeries,
            "Responses by status code",
            "Responses per second, stacked by HTTP status code.",
            "reqps",
            vec![prom(format!("sum by (http_response_status_code) ({})", rate(&routed)), "{{http_response_status_code}}")],
        ),
        Panel::new(
            Kind::TimeSeries,
            "Request rate by route",
            "Requests per second for each route template. Requests that matched no route share one value (`unmatched` for obs-service, an empty route for OpenTelemetry SDKs).",
            "reqps",
            vec![prom(format!("sum by (http_route) ({})", rate(&routed)), "{{http_route}}")],
        ),
        Panel::new(
            Kind::TimeSeries,
            "Request rate by method",
            "Requests per second by HTTP method, straight from the duration histogram's count.",
            "reqps",
            vec![prom(
                format!("sum by (http_request_method) (rate({duration}_count{routed}[$__rate_interval]))"),
                "{{http_request_method}}",
            )],
        ),
        Panel::new(
            Kind::Table,
            "Top routes",
            "The 10 busiest routes right now, in requests per second.",
            "reqps",
            vec![prom_table(format!("topk(10, sum by (job, http_route) ({}))", rate(&routed)))],
        ),
        row("Latency"),
        Panel::new(
            Kind::TimeSeries,
            "Latency percentiles",
            "p50, p90 and p99 of request duration over the selected jobs and routes, interpolated within the histogram's buckets. The points are exemplars: traced requests, each linked to its trace.",
            "s",
            vec![
                prom(quantile("0.5", "le"), "p50"),
                prom(quantile("0.9", "le"), "p90"),
                with_exemplars(prom(raw_p99("le"), "p99")),
            ],
        ),
        Panel::new(
            Kind::TimeSeries,
            "p99 latency by route",
            "99th percentile of request duration for each route template. The points are exemplars: traced requests, each linked to its trace.",
            "s",
            vec![with_exemplars(prom(raw_p99("http_route, le"), "{{http_route}}"))],
        ),
        Panel::new(
            Kind::TimeSeries,
            "Mean latency by route",
            "Average request duration for each route (sum of durations divided by the count).",
            "s",
            vec![prom(
                format!(
                    "sum by (http_route) ({SUM_BY_ROUTE}{routed})\n/\nsum by (http_route) ({})",
                    rate(&routed)
                ),
                "{{http_route}}",
            )],
        ),
        Panel::new(
            Kind::BarGauge,
            "Slowest routes (p99)",
            "The 10 routes with the highest p99 latency right now.",
            "s",
            vec![prom(format!("topk(10, {})", quantile("0.99", "http_route, le")), "{{http_route}}")],
        ),
        row("Saturation"),
        Panel::new(
            Kind::TimeSeries,
            "Active requests by instance",
            "Requests in flight on each instance. HighActiveRequests fires above the configured threshold. Never filtered by route: the gauge has no route label.",
            "short",
            vec![prom(format!("sum by (job, instance) ({active}{target})"), "{{instance}}")],
        ),
        Panel::new(
            Kind::Table,
            "Versions",
            "Version, commit and environment each instance runs, from obs_build_info (services using obs-service).",
            "none",
            vec![prom_table(format!(
                "max by (job, instance, service, version, commit, env) ({}{target})",
                catalogue::BUILD_INFO.name
            ))],
        ),
        row("Process"),
        Panel::new(
            Kind::TimeSeries,
            "CPU",
            "CPU time used per second by each process (1 = one full core).",
            "percentunit",
            vec![prom(
                format!("sum by (job, instance) (rate({}{target}[$__rate_interval]))", catalogue::PROCESS_CPU_SECONDS.name),
                "{{instance}}",
            )],
        ),
        Panel::new(
            Kind::TimeSeries,
            "Memory",
            "Resident and virtual memory of each process, and the virtual memory limit when one is set.",
            "bytes",
            vec![
                prom(format!("{}{target}", catalogue::PROCESS_RESIDENT_MEMORY.name), "{{instance}} resident"),
                prom(format!("{}{target}", catalogue::PROCESS_VIRTUAL_MEMORY.name), "{{instance}} virtual"),
                prom(format!("{}{target} > 0", catalogue::PROCESS_VIRTUAL_MEMORY_MAX.name), "{{instance}} virtual limit"),
            ],
        ),
        Panel::new(
            Kind::TimeSeries,
            "Open file descriptors",
            "Open file descriptors of each process against its limit.",
            "short",
            vec![
                prom(format!("{}{target}", catalogue::PROCESS_OPEN_FDS.name), "{{instance}} open"),
                prom(format!("{}{target}", catalogue::PROCESS_MAX_FDS.name), "{{instance}} limit"),
            ],
        ),
        Panel::new(
            Kind::TimeSeries,
            "Threads",
            "OS threads of each process.",
            "short",
            vec![prom(format!("{}{target}", catalogue::PROCESS_THREADS.name), "{{instance}}")],
        ),
        Panel::new(
            Kind::TimeSeries,
            "Restarts by instance",
            "Process restarts per interval (changes of the process start time). ServiceCrashLooping fires on repeated restarts.",
            "short",
            vec![prom(
                format!("sum by (job, instance) (changes({}{target}[$__rate_interval]))", catalogue::PROCESS_START_TIME.name),
                "{{instance}}",
            )],
        ),
        Panel::new(
            Kind::Table,
            "Uptime",
            "Time since each process started.",
            "s",
            vec![prom_table(format!(
                "time() - max by (job, instance) ({}{target})",
                catalogue::PROCESS_START_TIME.name
            ))],
        ),
    ];

    let mut panels = panels;
    panels.extend(grpc_row(t));
    panels.extend(dependencies_row(t));
    panels.extend(runtime_row());
    panels.extend(service_graph_row());

    Spec {
        uid: "obs-service-overview",
        title: "obs / Service overview",
        description: "Is my service healthy? Request rate, 5xx ratio, latency percentiles and saturation per service and route, with version and process health.",
        variables,
        panels,
    }
}

/// gRPC calls (`rpc_server_call_duration_seconds`, the stable OpenTelemetry RPC conventions):
/// empty for a service that serves no gRPC. Every query selects by `job` and `instance` and
/// aggregates the rest away, so a service instrumented with an upstream OpenTelemetry SDK fills
/// it too.
fn grpc_row(t: &Thresholds) -> Vec<Panel> {
    let grpc = catalogue::RPC_SERVER_CALL_DURATION.name;
    let client = catalogue::RPC_CLIENT_CALL_DURATION.name;
    let target = target_selector("");
    let faults = target_selector(&format!(
        r#"rpc_response_status_code=~"{}""#,
        crate::rules::alerts::grpc_server_faults()
    ));
    let rate =
        |by: &str, sel: &str| format!("sum by ({by}) (rate({grpc}_count{sel}[$__rate_interval]))");
    vec![
        row("gRPC"),
        Panel::new(
            Kind::TimeSeries,
            "gRPC call rate by method",
            "gRPC calls per second for each method (`package.Service/Method`). Methods the server does not serve share `_OTHER`.",
            "reqps",
            vec![prom(rate("rpc_method", &target), "{{rpc_method}}")],
        ),
        Panel::new(
            Kind::TimeSeries,
            "gRPC server-fault ratio by job",
            "Share of each service's gRPC calls answered with a code that means a server fault: UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS (0 when none was). HighGrpcErrorRate fires above the configured threshold.",
            "percentunit",
            vec![prom(
                format!(
                    "({} or {} * 0)\n/\n{}",
                    rate("job", &faults),
                    rate("job", &target),
                    rate("job", &target)
                ),
                "{{job}}",
            )],
        )
        .thresholds(&[
            ("green", None),
            ("orange", Some(t.grpc_error_ratio / 5.0)),
            ("red", Some(t.grpc_error_ratio)),
        ])
        .field("min", serde_json::json!(0)),
        Panel::new(
            Kind::StackedTimeSeries,
            "gRPC calls by status",
            "Share of the gRPC calls answered with each status code (OK, NOT_FOUND, INTERNAL, …), stacked to 1.",
            "percentunit",
            vec![prom(
                format!(
                    "{}\n/ ignoring (rpc_response_status_code) group_left\nsum(rate({grpc}_count{target}[$__rate_interval]))",
                    rate("rpc_response_status_code", &target)
                ),
                "{{rpc_response_status_code}}",
            )],
        ),
        Panel::new(
            Kind::TimeSeries,
            "p99 gRPC latency by method",
            "99th percentile of the calls' duration for each method, to the end of the response stream.",
            "s",
            vec![prom(
                format!(
                    "histogram_quantile(0.99, sum by (rpc_method, le) (rate({grpc}_bucket{target}[$__rate_interval])))"
                ),
                "{{rpc_method}}",
            )],
        ),
        Panel::new(
            Kind::TimeSeries,
            "Outgoing gRPC calls by server and status",
            "gRPC calls per second this service makes through the SDK's client layer, by the server they went to and the status that came back (none when no answer came: see error_type).",
            "reqps",
            vec![prom(
                format!(
                    "sum by (server_address, rpc_response_status_code) (rate({client}_count{target}[$__rate_interval]))"
                ),
                "{{server_address}} {{rpc_response_status_code}}",
            )],
        ),
        Panel::new(
            Kind::TimeSeries,
            "p99 outgoing gRPC latency by server",
            "99th percentile of the outgoing gRPC calls' duration for each server, to the end of the response stream.",
            "s",
            vec![prom(
                format!(
                    "histogram_quantile(0.99, sum by (server_address, le) (rate({client}_bucket{target}[$__rate_interval])))"
                ),
                "{{server_address}}",
            )],
        ),
    ]
}

/// Outgoing calls by the server they went to (`http_client_request_duration_seconds`): empty
/// for a service that makes none through the SDK's client integrations.
fn dependencies_row(t: &Thresholds) -> Vec<Panel> {
    let client = catalogue::HTTP_CLIENT_REQUEST_DURATION.name;
    let target = target_selector("");
    let faults = target_selector(&format!(
        r#"error_type=~"{}""#,
        crate::rules::alerts::dependency_faults()
    ));
    let rate = |sel: &str| {
        format!("sum by (server_address) (rate({client}_count{sel}[$__rate_interval]))")
    };
    vec![
        row("Dependencies"),
        Panel::new(
            Kind::TimeSeries,
            "Outgoing calls by server",
            "Calls per second the selected services make through the SDK's client integrations, by the server they go to (the host alone, never the URL).",
            "reqps",
            vec![prom(rate(&target), "{{server_address}}")],
        ),
        Panel::new(
            Kind::TimeSeries,
            "Failed calls by server",
            "Share of each server's calls that failed by its fault: a 5xx answer, a timeout or no connection (0 when none did). HighDependencyErrorRate fires above the configured threshold.",
            "percentunit",
            vec![prom(
                format!("({} or {} * 0)\n/\n{}", rate(&faults), rate(&target), rate(&target)),
                "{{server_address}}",
            )],
        )
        .thresholds(&[
            ("green", None),
            ("orange", Some(t.dependency_error_ratio / 5.0)),
            ("red", Some(t.dependency_error_ratio)),
        ])
        .field("min", serde_json::json!(0)),
        Panel::new(
            Kind::TimeSeries,
            "p99 call latency by server",
            "99th percentile of the calls' duration to each server, until the response head arrived or the call failed.",
            "s",
            vec![prom(
                format!(
                    "histogram_quantile(0.99, sum by (server_address, le) (rate({client}_bucket{target}[$__rate_interval])))"
                ),
                "{{server_address}}",
            )],
        ),
    ]
}

/// The Tokio runtime's counts (feature `tokio-runtime`): empty for a service that does not
/// observe its runtime.
fn runtime_row() -> Vec<Panel> {
    let target = target_selector("");
    vec![
        row("Runtime"),
        Panel::new(
            Kind::TimeSeries,
            "Runtime workers busy",
            "How busy each instance's Tokio workers are, from 0 (idle) to 1 (always running tasks): busy time per second over the worker count.",
            "percentunit",
            vec![prom(
                format!(
                    "sum by (job, instance) (rate({}{target}[$__rate_interval]))\n/\nsum by (job, instance) ({}{target})",
                    catalogue::TOKIO_BUSY.name,
                    catalogue::TOKIO_WORKERS.name
                ),
                "{{instance}}",
            )],
        ),
        Panel::new(
            Kind::TimeSeries,
            "Alive tasks",
            "Tasks spawned and not yet finished on each instance's runtime: a count that only grows is a task leak.",
            "short",
            vec![prom(
                format!(
                    "sum by (job, instance) ({}{target})",
                    catalogue::TOKIO_ALIVE_TASKS.name
                ),
                "{{instance}}",
            )],
        ),
        Panel::new(
            Kind::TimeSeries,
            "Worker parks",
            "Times per second each runtime's workers went to sleep for want of work: high when idle, falling towards zero as the workers saturate.",
            "short",
            vec![prom(
                format!(
                    "sum by (job, instance) (rate({}{target}[$__rate_interval]))",
                    catalogue::TOKIO_PARKS.name
                ),
                "{{instance}}",
            )],
        ),
        Panel::new(
            Kind::TimeSeries,
            "Global queue depth",
            "Tasks waiting in each runtime's shared queue: a queue that stays long means the workers cannot keep up.",
            "short",
            vec![prom(
                format!(
                    "sum by (job, instance) ({}{target})",
                    catalogue::TOKIO_GLOBAL_QUEUE_DEPTH.name
                ),
                "{{instance}}",
            )],
        ),
    ]
}

/// The service graph Tempo's metrics generator writes into Prometheus when tracing is on
/// (`traces_service_graph_*`, by `client` and `server` service): the calls into and out of the
/// selected services, their failures and their latency as the server saw it. Those series carry
/// no `job`: they are selected by service name, the OpenTelemetry `service.name` the SDK sets
/// from `OBS_SERVICE_NAME`, which matches `$job` when it is the service's name in obs.toml.
/// Empty without tracing.
fn service_graph_row() -> Vec<Panel> {
    let requests = "traces_service_graph_request_total";
    let failed = "traces_service_graph_request_failed_total";
    let server_seconds = "traces_service_graph_request_server_seconds_bucket";
    // The edges that end or start at a selected service.
    let edges = |metric: &str, by: &str| {
        format!(
            "sum by ({by}) (rate({metric}{{server=~\"$job\"}}[$__rate_interval]))\nor\nsum by ({by}) (rate({metric}{{client=~\"$job\"}}[$__rate_interval]))"
        )
    };
    vec![
        row("Service graph"),
        Panel::new(
            Kind::TimeSeries,
            "Requests between services",
            "Requests per second on each edge of the service graph that starts or ends at the selected services, from the traces (Tempo's metrics generator; empty without tracing). Services are named by OBS_SERVICE_NAME.",
            "reqps",
            vec![prom(
                edges(requests, "client, server"),
                "{{client}} → {{server}}",
            )],
        ),
        Panel::new(
            Kind::TimeSeries,
            "Failed requests between services",
            "Share of each edge's requests whose span failed (0 when none did).",
            "percentunit",
            vec![prom(
                format!(
                    "(\n{}\nor\n({}) * 0\n)\n/\n(\n{}\n)",
                    edges(failed, "client, server"),
                    edges(requests, "client, server"),
                    edges(requests, "client, server")
                ),
                "{{client}} → {{server}}",
            )],
        )
        .field("min", serde_json::json!(0)),
        Panel::new(
            Kind::TimeSeries,
            "p99 latency between services",
            "99th percentile of each edge's request duration as the server measured it.",
            "s",
            vec![prom(
                format!(
                    "histogram_quantile(0.99, {})",
                    edges(server_seconds, "client, server, le")
                ),
                "{{client}} → {{server}}",
            )],
        ),
    ]
}
