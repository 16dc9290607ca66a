//! SDK self-health: readiness checks and what the SDK's exporters had to drop.

use super::panels::{
    Kind, Panel, job_and_instance_variables, prom, prom_table, prometheus_variable, query_variable,
    row,
};
use super::{Spec, target_selector};
use obs_catalogue as catalogue;

pub(crate) fn spec() -> Spec {
    let status = catalogue::HEALTH_CHECK_STATUS.name;
    let duration = catalogue::HEALTH_CHECK_DURATION.name;
    let dropped = catalogue::EXPORTER_DROPPED.name;
    let failures = catalogue::EXPORTER_SEND_FAILURES.name;
    let queued = catalogue::EXPORTER_QUEUE_ITEMS.name;
    let target = target_selector("");
    let checks = target_selector(r#"check=~"$check""#);
    let [job, instance] = job_and_instance_variables(catalogue::BUILD_INFO.name);
    let variables = vec![
        prometheus_variable(),
        job,
        instance,
        query_variable(
            "check",
            "Check",
            &format!("label_values({status}{{job=~\"$job\", instance=~\"$instance\"}}, check)"),
            ".+",
        ),
    ];
    let panels = vec![
        row("Readiness checks"),
        Panel::new(
            Kind::Stat,
            "Failing checks",
            "Readiness checks failing right now on the selected instances. HealthCheckFailing fires when one keeps failing.",
            "short",
            vec![prom(format!("count({status}{checks} == 0) or vector(0)"), "failing")],
        )
        .thresholds(&[("green", None), ("red", Some(1.0))]),
        Panel::new(
            Kind::Stat,
            "Critical checks failing",
            "Failing checks marked critical: while one fails, the readiness endpoint answers 503.",
            "short",
            vec![prom(format!("count({status}{} == 0) or vector(0)", target_selector(r#"check=~"$check", critical="true""#)), "critical")],
        )
        .thresholds(&[("green", None), ("red", Some(1.0))]),
        Panel::new(
            Kind::Stat,
            "Exporter drops in range",
            "Log lines, events and spans the SDK's exporters dropped in the selected time range.",
            "short",
            vec![prom(format!("sum(increase({dropped}{target}[$__range])) or vector(0)"), "dropped")],
        )
        .thresholds(&[("green", None), ("orange", Some(1.0))]),
        Panel::new(
            Kind::Table,
            "Build information",
            "Service, version, commit and environment of every instance (obs_build_info).",
            "none",
            vec![prom_table(format!(
                "max by (job, instance, service, version, commit, env) ({}{target})",
                catalogue::BUILD_INFO.name
            ))],
        )
        .width(12)
        .height(4),
        Panel::new(
            Kind::StateTimeline,
            "Check status",
            "Each readiness check over time: passing (1) or failing (0).",
            "none",
            vec![prom(format!("max by (instance, check) ({status}{checks})"), "{{instance}} {{check}}")],
        )
        .width(24)
        .mappings(&[("0", "failing", "red"), ("1", "passing", "green")]),
        Panel::new(
            Kind::TimeSeries,
            "Check duration p99",
            "99th percentile of how long each check takes, timeouts included.",
            "s",
            vec![prom(
                format!("histogram_quantile(0.99, sum by (check, le) (rate({duration}_bucket{checks}[$__rate_interval])))"),
                "{{check}}",
            )],
        ),
        Panel::new(
            Kind::TimeSeries,
            "Check duration mean",
            "Average duration of each check's runs.",
            "s",
            vec![prom(
                format!(
                    "sum by (check) (rate({duration}_sum{checks}[$__rate_interval]))\n/\nsum by (check) (rate({duration}_count{checks}[$__rate_interval]))"
                ),
                "{{check}}",
            )],
        ),
        row("Exporters"),
        Panel::new(
            Kind::StackedTimeSeries,
            "Dropped items by exporter and reason",
            "Items per second each exporter or log writer dropped (stdout, file, loki, sentry, otlp), by reason: queue_full (the endpoint was down for longer than the queue lasts: the oldest items went), rejected (the endpoint refused them with a 4xx), shutdown (the shutdown deadline came first). ObsExporterDroppingData fires when drops go on.",
            "cps",
            vec![prom(format!("sum by (exporter, reason) (rate({dropped}{target}[$__rate_interval]))"), "{{exporter}} {{reason}}")],
        )
        .width(24),
        Panel::new(
            Kind::TimeSeries,
            "Failed sends by exporter",
            "Attempts per second to send a batch that failed (error answer, refused connection, timeout). Failed batches are retried while the queue has room, so this rises before anything is lost; ObsExporterFailing fires when it goes on.",
            "reqps",
            vec![prom(format!("sum by (exporter) (rate({failures}{target}[$__rate_interval]))"), "{{exporter}}")],
        ),
        Panel::new(
            Kind::TimeSeries,
            "Queued items by exporter",
            "Items each exporter holds and has not delivered yet. It grows while the endpoint is failing; once it reaches the queue's bound, the oldest items are dropped.",
            "short",
            vec![prom(format!("sum by (exporter) ({queued}{target})"), "{{exporter}}")],
        ),
    ];
    Spec {
        uid: "obs-sdk-self-health",
        title: "obs / SDK self-health",
        description: "Are the SDK's own parts working? Readiness check results and latency, and what the log, error and trace exporters dropped.",
        variables,
        panels,
    }
}
