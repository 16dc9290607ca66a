//! A dashboard lint in the spirit of Grafana's dashboard-linter.
//!
//! Rules:
//! - a `datasource` variable of type datasource, and `job` and `instance` query variables that
//!   are multi-select with "All";
//! - every panel and target references its datasource through a variable (`${datasource}` for
//!   Prometheus, `${loki_datasource}` for Loki), never a fixed uid, and query variables too;
//! - only current panel types (timeseries, stat, table, bargauge, logs, state-timeline, row);
//! - every panel has a description and a unit;
//! - every selector of a panel query filters by `job=~"$job"` and `instance=~"$instance"` (as
//!   dashboard-linter's target-job and target-instance rules ask), unless the series does not
//!   carry that label (the SLO series, aggregated over every instance);
//! - `rate`/`irate` use `$__rate_interval` (`increase` may also use `$__range`);
//! - counters (catalogue counters and histogram series, exporter counters) appear only inside
//!   `rate`, `irate`, `increase` or `resets`.
//!
//! ```
//! let service = obs_mixin::dashboards().into_iter().find(|d| d.uid == "obs-service-overview").unwrap();
//! assert!(obs_mixin::lint::lint_dashboard(&service.json).is_empty());
//! ```

use std::time::Duration;

use promql_parser::parser::{self, Expr};

use crate::contract::{Violation, datasource_type, panels, resolve, substitute};

/// Panel types the bundled dashboards may use (no Angular-era `graph`, `singlestat`, …).
pub const PANEL_TYPES: &[&str] = &[
    "timeseries",
    "stat",
    "table",
    "bargauge",
    "logs",
    "state-timeline",
    "row",
];

const RATE_INTERVAL: Duration = Duration::from_secs(7777);
const RANGE: Duration = Duration::from_secs(8888);

/// Interval variables become recognisable durations; other variables inside quotes become
/// `__var_<name>__`, so the lint can see which matcher uses which variable.
fn placeholder(name: &str, quoted: bool) -> String {
    match name {
        "__rate_interval" => "7777s".into(),
        "__range" => "8888s".into(),
        n if n.starts_with("__") => "5m".into(),
        n if quoted => format!("__var_{n}__"),
        _ => "1".into(),
    }
}

fn expected_uid(ty: &str) -> Option<&'static str> {
    match ty {
        "prometheus" => Some("${datasource}"),
        "loki" => Some("${loki_datasource}"),
        _ => None,
    }
}

/// Lints one dashboard model (provisioned form).
pub fn lint_dashboard(dashboard: &serde_json::Value) -> Vec<Violation> {
    let title = dashboard["title"].as_str().unwrap_or("(untitled)");
    let mut out = Vec::new();
    let mut report = |location: String, expr: &str, message: String| {
        out.push(Violation {
            location,
            expr: expr.into(),
            message,
        });
    };
    let vars: Vec<&serde_json::Value> = dashboard["templating"]["list"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    let var = |name: &str| vars.iter().find(|v| v["name"] == name);
    match var("datasource") {
        Some(v) if v["type"] == "datasource" && v["query"] == "prometheus" => {}
        _ => report(
            format!("dashboard {title}"),
            "",
            "no `datasource` variable of type datasource (prometheus)".into(),
        ),
    }
    for name in ["job", "instance"] {
        match var(name) {
            Some(v) if v["multi"] == true && v["includeAll"] == true => {}
            Some(_) => report(
                format!("dashboard {title} / variable {name}"),
                "",
                "must be multi-select with \"All\"".into(),
            ),
            None => report(
                format!("dashboard {title}"),
                "",
                format!("no `{name}` variable"),
            ),
        }
    }
    for v in &vars {
        if v["type"] == "query" {
            let ty = datasource_type(v).unwrap_or_default();
            if v["datasource"]["uid"].as_str() != expected_uid(&ty) {
                report(
                    format!(
                        "dashboard {title} / variable {}",
                        v["name"].as_str().unwrap_or("?")
                    ),
                    "",
                    "query variable must use the datasource variable".into(),
                );
            }
        }
    }
    for panel in panels(dashboard) {
        let ty = panel["type"].as_str().unwrap_or("");
        let location = format!(
            "dashboard {title} / panel {}",
            panel["title"].as_str().unwrap_or("(untitled)")
        );
        if !PANEL_TYPES.contains(&ty) {
            report(
                location.clone(),
                "",
                format!("panel type `{ty}` is not allowed"),
            );
        }
        if ty == "row" {
            continue;
        }
        if panel["description"]
            .as_str()
            .is_none_or(|d| d.trim().is_empty())
        {
            report(location.clone(), "", "no description".into());
        }
        if panel["fieldConfig"]["defaults"]["unit"]
            .as_str()
            .is_none_or(|u| u.is_empty())
        {
            report(location.clone(), "", "no unit".into());
        }
        let panel_ds = datasource_type(panel).unwrap_or_default();
        if expected_uid(&panel_ds).is_none()
            || panel["datasource"]["uid"].as_str() != expected_uid(&panel_ds)
        {
            report(
                location.clone(),
                "",
                format!(
                    "panel datasource must be a datasource variable, found {}",
                    panel["datasource"]
                ),
            );
        }
        let targets = panel["targets"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        if targets.is_empty() {
            report(location.clone(), "", "no query".into());
        }
        for target in targets {
            let expr = target["expr"].as_str().unwrap_or("");
            let ty = datasource_type(target).unwrap_or_else(|| panel_ds.clone());
            if expected_uid(&ty).is_none()
                || target["datasource"]["uid"].as_str() != expected_uid(&ty)
            {
                report(
                    location.clone(),
                    expr,
                    format!(
                        "target datasource must be a datasource variable, found {}",
                        target["datasource"]
                    ),
                );
            }
            if ty == "prometheus" {
                for message in lint_promql(expr) {
                    report(location.clone(), expr, message);
                }
            }
        }
    }
    out
}

/// The PromQL rules of the lint for one panel query: every selector filters by the `job` and
/// `instance` variables, `$__rate_interval` in `rate`/`irate` (`increase` may use `$__range`),
/// counters only inside `rate`/`irate`/`increase`/`resets`.
pub fn lint_promql(query: &str) -> Vec<String> {
    let Ok(ast) = parser::parse(&substitute(query, &placeholder)) else {
        return vec!["does not parse as PromQL".into()];
    };
    let mut out = Vec::new();
    walk(&ast, None, &mut out);
    out
}

fn walk(e: &Expr, counter_fn: Option<&str>, out: &mut Vec<String>) {
    let selector = match e {
        Expr::VectorSelector(vs) => Some((vs, None)),
        Expr::MatrixSelector(ms) => Some((&ms.vs, Some(ms.range))),
        _ => None,
    };
    if let Some((vs, range)) = selector {
        let name = vs.name.clone().unwrap_or_default();
        // A series without the label (a per-SLO aggregate over every instance) cannot be
        // filtered by it: `.+` would match nothing.
        let carried = resolve(&name).map(|k| k.labels);
        for var in ["job", "instance"] {
            if carried.as_ref().is_some_and(|l| !l.contains(var)) {
                continue;
            }
            let filtered = vs.matchers.matchers.iter().any(|m| {
                m.name == var
                    && matches!(m.op, promql_parser::label::MatchOp::Re(_))
                    && m.value == format!("__var_{var}__")
            });
            if !filtered {
                out.push(format!(
                    "selector `{name}` does not filter by {var}=~\"${var}\""
                ));
            }
        }
        if counter_fn.is_none() && resolve(&name).is_some_and(|k| k.counter) {
            out.push(format!(
                "counter `{name}` used outside rate/irate/increase/resets"
            ));
        }
        if let (Some(f), Some(range)) = (counter_fn, range) {
            let ok = match f {
                "rate" | "irate" => range == RATE_INTERVAL,
                "increase" => range == RATE_INTERVAL || range == RANGE,
                _ => true,
            };
            if !ok {
                out.push(format!("`{f}` over `{name}` must use [$__rate_interval]"));
            }
        }
        return;
    }
    match e {
        Expr::Call(call) => {
            let name = call.func.name;
            let inner = matches!(name, "rate" | "irate" | "increase" | "resets").then_some(name);
            for a in &call.args.args {
                walk(a, inner, out);
            }
        }
        Expr::Aggregate(a) => walk(&a.expr, None, out),
        Expr::Binary(b) => {
            walk(&b.lhs, None, out);
            walk(&b.rhs, None, out);
        }
        Expr::Paren(p) => walk(&p.expr, counter_fn, out),
        Expr::Unary(u) => walk(&u.expr, None, out),
        Expr::Subquery(s) => walk(&s.expr, None, out),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_interval_and_counters() {
        let t = r#"{job=~"$job", instance=~"$instance"}"#;
        let ok = |q: String| assert!(lint_promql(&q).is_empty(), "{q}: {:?}", lint_promql(&q));
        ok(format!(
            "sum(rate(process_cpu_seconds_total{t}[$__rate_interval]))"
        ));
        ok(format!("increase(obs_exporter_dropped_total{t}[$__range])"));
        ok(format!("process_open_fds{t} / process_max_fds{t}"));
        let m = lint_promql(&format!("rate(process_cpu_seconds_total{t}[5m])"));
        assert!(m[0].contains("$__rate_interval"), "{m:?}");
        let m = lint_promql(&format!("sum(obs_exporter_dropped_total{t})"));
        assert!(
            m[0].contains("counter `obs_exporter_dropped_total`"),
            "{m:?}"
        );
        let m = lint_promql(&format!("node_cpu_seconds_total{t}"));
        assert!(m[0].contains("counter"), "{m:?}");
        let m = lint_promql(r#"process_open_fds{job=~"$job"}"#);
        assert_eq!(
            m,
            ["selector `process_open_fds` does not filter by instance=~\"$instance\""]
        );
        let m = lint_promql(r#"process_open_fds{job="api", instance=~"$instance"}"#);
        assert_eq!(
            m,
            ["selector `process_open_fds` does not filter by job=~\"$job\""]
        );
    }

    #[test]
    fn fixed_datasources_and_missing_units_are_reported() {
        let mut d = crate::dashboards()
            .into_iter()
            .find(|d| d.uid == "obs-service-overview")
            .unwrap()
            .json;
        assert!(lint_dashboard(&d).is_empty(), "{:?}", lint_dashboard(&d));
        d["panels"][1]["datasource"]["uid"] = serde_json::json!("obs-prometheus");
        d["panels"][2]["fieldConfig"]["defaults"]["unit"] = serde_json::json!("");
        d["panels"][3]["type"] = serde_json::json!("graph");
        d["templating"]["list"][1]["includeAll"] = serde_json::json!(false);
        let v: Vec<String> = lint_dashboard(&d)
            .into_iter()
            .map(|v| v.to_string())
            .collect();
        assert!(
            v.iter()
                .any(|m| m.contains("panel datasource must be a datasource variable")),
            "{v:?}"
        );
        assert!(v.iter().any(|m| m.contains("no unit")), "{v:?}");
        assert!(
            v.iter().any(|m| m.contains("`graph` is not allowed")),
            "{v:?}"
        );
        assert!(
            v.iter()
                .any(|m| m.contains("variable job: must be multi-select")),
            "{v:?}"
        );
    }
}
