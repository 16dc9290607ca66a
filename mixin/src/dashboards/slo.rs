//! SLOs: per SLO the objective, the SLI over its window, the error budget left, the burn rates
//! the alerts watch and the alerts' states.
//!
//! It reads only the series every SLO group records ([`crate::slo`]), selected by their `slo`
//! and `job` labels, so one dashboard serves every `[[slo]]` of `obs.toml` and works for
//! OpenTelemetry-instrumented services as well (the rules read the same histogram). The
//! per-instance panels below read the RED recording rules, to find the instance that burns.

use super::Spec;
use super::panels::{
    Kind, Panel, job_and_instance_variables_of_any, prom, prometheus_variable, query_variable, row,
};
use crate::rules::recording::{BUCKETS_BY_ROUTE, RATE_BY_ROUTE_CODE};
use crate::slo::{
    BUDGET_REMAINING, ERROR_BUDGET, ERROR_RATIO_WINDOW, FAST_BURN, OBJECTIVE, SLOW_BURN,
    error_ratio,
};
use obs_catalogue as catalogue;

pub(crate) fn spec() -> Spec {
    let duration = catalogue::HTTP_SERVER_REQUEST_DURATION.name;
    // The SLO series carry the service's job, but no instance: they sum over all of them.
    let slo = r#"{job=~"$job", slo=~"$slo"}"#;
    let per_slo = |series: &str| format!("max by (slo) ({series}{slo})");
    let burn = |window: &str| {
        format!(
            "max by (slo) (\n  {}{slo}\n  /\n  {ERROR_BUDGET}{slo}\n)",
            error_ratio(window)
        )
    };
    let alerts = |severity: &str| {
        format!(
            r#"max by (slo) (ALERTS{{alertname=~"{FAST_BURN}|{SLOW_BURN}", alertstate="firing", severity="{severity}", job=~"$job", slo=~"$slo"}})"#
        )
    };
    let target = r#"{job=~"$job", instance=~"$instance"}"#;
    let five_xx = r#"{job=~"$job", instance=~"$instance", http_response_status_code=~"5.."}"#;
    let [_, instance] = job_and_instance_variables_of_any(&[
        &format!("{duration}_count"),
        &format!("{}_count", catalogue::RPC_SERVER_CALL_DURATION.name),
    ]);
    let variables = vec![
        prometheus_variable(),
        query_variable(
            "job",
            "Service",
            &format!("label_values({OBJECTIVE}, job)"),
            ".+",
        ),
        // The instances of either server histogram: gRPC objectives have them too.
        instance,
        query_variable(
            "slo",
            "SLO",
            &format!("label_values({OBJECTIVE}{{job=~\"$job\"}}, slo)"),
            ".+",
        ),
    ];
    let panels = vec![
        row("Objectives"),
        Panel::new(
            Kind::Stat,
            "Objective",
            "Share of good requests each SLO promises over its window ([[slo]] objective in obs.toml).",
            "percentunit",
            vec![prom(per_slo(OBJECTIVE), "{{slo}}")],
        )
        .width(6),
        Panel::new(
            Kind::Stat,
            "SLI over the window",
            "Share of good requests over each SLO's whole window (30 days unless obs.toml says otherwise). Below the objective, the budget is overspent.",
            "percentunit",
            vec![prom(format!("max by (slo) (1 - {ERROR_RATIO_WINDOW}{slo})"), "{{slo}}")],
        )
        .width(6),
        Panel::new(
            Kind::Stat,
            "Error budget remaining",
            "Share of the error budget (1 - objective) not yet spent over the window: 100% untouched, 0% spent, negative overspent.",
            "percentunit",
            vec![prom(per_slo(BUDGET_REMAINING), "{{slo}}")],
        )
        .thresholds(&[("red", None), ("orange", Some(0.0)), ("green", Some(0.25))])
        .width(6),
        Panel::new(
            Kind::Stat,
            "Burn alerts firing",
            "SLO burn alerts firing now: SloErrorBudgetFastBurn pages (critical), SloErrorBudgetSlowBurn opens a ticket (warning).",
            "short",
            vec![prom(
                format!(
                    r#"count(ALERTS{{alertname=~"{FAST_BURN}|{SLOW_BURN}", alertstate="firing", job=~"$job", slo=~"$slo"}}) or vector(0)"#
                ),
                "firing",
            )],
        )
        .thresholds(&[("green", None), ("red", Some(1.0))])
        .width(6),
        Panel::new(
            Kind::StateTimeline,
            "Alert states",
            "Each SLO over time: ok, slow burn (warning) or fast burn (critical).",
            "none",
            vec![prom(
                format!(
                    "{} * 2\nor\n{}\nor\n0 * {}",
                    alerts("critical"),
                    alerts("warning"),
                    per_slo(OBJECTIVE)
                ),
                "{{slo}}",
            )],
        )
        .width(24)
        .mappings(&[
            ("0", "ok", "green"),
            ("1", "slow burn", "orange"),
            ("2", "fast burn", "red"),
        ]),
        row("Burn rates"),
        Panel::new(
            Kind::TimeSeries,
            "Burn rate over 1h",
            "How many times faster than the objective allows the budget burns over the 1h window of a 30-day SLO (scaled for other windows). The page fires above 14.4 while the 5m window agrees.",
            "none",
            vec![prom(burn("1h"), "{{slo}}")],
        )
        .thresholds(&[("green", None), ("red", Some(14.4))]),
        Panel::new(
            Kind::TimeSeries,
            "Burn rate over 6h",
            "Burn rate over the 6h window of a 30-day SLO (scaled for other windows). The page fires above 6 while the 30m window agrees; the ticket above 1 over 3d and 6h.",
            "none",
            vec![prom(burn("6h"), "{{slo}}")],
        )
        .thresholds(&[("green", None), ("orange", Some(1.0)), ("red", Some(6.0))]),
        Panel::new(
            Kind::TimeSeries,
            "Error budget remaining over time",
            "What is left of each SLO's error budget over its window, as it changes.",
            "percentunit",
            vec![prom(per_slo(BUDGET_REMAINING), "{{slo}}")],
        ),
        Panel::new(
            Kind::TimeSeries,
            "Bad requests over 5m",
            "Share of each SLO's requests that were bad (5xx, or slower than the threshold) over its shortest alert window.",
            "percentunit",
            vec![prom(per_slo(&error_ratio("5m")), "{{slo}}")],
        ),
        row("By instance"),
        Panel::new(
            Kind::TimeSeries,
            "5xx ratio by instance",
            "Share of 5xx answers per instance of the selected services over 5 minutes: which instance spends an availability budget.",
            "percentunit",
            vec![prom(
                format!(
                    "(\n  sum by (instance) ({RATE_BY_ROUTE_CODE}{five_xx})\n  or\n  sum by (instance) ({RATE_BY_ROUTE_CODE}{target}) * 0\n)\n/\nsum by (instance) ({RATE_BY_ROUTE_CODE}{target})"
                ),
                "{{instance}}",
            )],
        ),
        Panel::new(
            Kind::TimeSeries,
            "p99 latency by instance",
            "99th percentile of request duration per instance of the selected services: which instance spends a latency budget.",
            "s",
            vec![prom(
                format!("histogram_quantile(0.99, sum by (instance, le) ({BUCKETS_BY_ROUTE}{target}))"),
                "{{instance}}",
            )],
        ),
    ];
    Spec {
        uid: "obs-slos",
        title: "obs / SLOs",
        description: "Am I keeping my promises? Per SLO of obs.toml: the objective, the SLI over its window, the error budget left, the burn rates and the burn alerts.",
        variables,
        panels,
    }
}
