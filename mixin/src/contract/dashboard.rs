//! A Grafana dashboard model against the contract: the PromQL of every Prometheus target and
//! query variable, the legends (only labels the result keeps), the LogQL stream selectors.

use std::collections::{BTreeSet, HashMap};

use obs_catalogue as catalogue;

use super::promql::analyse;
use super::{Violation, check_expr, check_logql, metrics_in_expr};

/// The datasource type a panel or target queries (`prometheus`, `loki`, …), from its
/// `datasource` object or the dashboard's datasource variables.
pub(crate) fn datasource_type(node: &serde_json::Value) -> Option<String> {
    let ds = node.get("datasource")?;
    if let Some(t) = ds.get("type").and_then(|t| t.as_str()) {
        return Some(t.to_string());
    }
    ds.as_str().map(|s| {
        if s.contains("loki") {
            "loki".into()
        } else {
            "prometheus".into()
        }
    })
}

/// Every panel of a dashboard, rows' nested panels included.
pub fn panels(dashboard: &serde_json::Value) -> Vec<&serde_json::Value> {
    let mut out = Vec::new();
    for p in dashboard["panels"].as_array().into_iter().flatten() {
        out.push(p);
        for nested in p["panels"].as_array().into_iter().flatten() {
            out.push(nested);
        }
    }
    out
}

/// The PromQL queries of a dashboard: `(location, query)` for every Prometheus target and every
/// Prometheus query variable (`label_values(<selector>, <label>)` and `query_result(<expr>)`
/// are unwrapped; `label_values` becomes `count by (<label>) (<selector>)`).
pub fn promql_queries(dashboard: &serde_json::Value) -> Vec<(String, String)> {
    let title = dashboard["title"].as_str().unwrap_or("(untitled)");
    let mut out = Vec::new();
    for panel in panels(dashboard) {
        let panel_type = datasource_type(panel);
        for target in panel["targets"].as_array().into_iter().flatten() {
            let ty = datasource_type(target).or_else(|| panel_type.clone());
            if ty.as_deref() == Some("loki") {
                continue;
            }
            if let Some(expr) = target["expr"].as_str() {
                let location = format!(
                    "dashboard {title} / panel {}",
                    panel["title"].as_str().unwrap_or("(untitled)")
                );
                out.push((location, expr.to_string()));
            }
        }
    }
    for var in dashboard["templating"]["list"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if var["type"] != "query" || datasource_type(var).as_deref() == Some("loki") {
            continue;
        }
        let query = var["query"]["query"]
            .as_str()
            .or_else(|| var["query"].as_str())
            .unwrap_or("");
        let location = format!(
            "dashboard {title} / variable {}",
            var["name"].as_str().unwrap_or("?")
        );
        if let Some(expr) = grafana_variable_promql(query) {
            out.push((location, expr));
        }
    }
    out
}

fn grafana_variable_promql(query: &str) -> Option<String> {
    let query = query.trim();
    if let Some(inner) = query
        .strip_prefix("label_values(")
        .and_then(|q| q.strip_suffix(')'))
    {
        let (selector, label) = inner.rsplit_once(',')?;
        return Some(format!("count by ({}) ({})", label.trim(), selector.trim()));
    }
    if let Some(inner) = query
        .strip_prefix("query_result(")
        .and_then(|q| q.strip_suffix(')'))
    {
        return Some(inner.to_string());
    }
    None
}

/// Checks every query of a dashboard model: PromQL targets and variables against the catalogue,
/// exporter lists and recording rules; LogQL stream selectors against the Loki labels of the
/// catalogue's log fields.
pub fn check_dashboard(dashboard: &serde_json::Value) -> Vec<Violation> {
    let mut out = Vec::new();
    for (location, query) in promql_queries(dashboard) {
        out.extend(check_expr(&location, &query));
    }
    let title = dashboard["title"].as_str().unwrap_or("(untitled)");
    for panel in panels(dashboard) {
        for target in panel["targets"].as_array().into_iter().flatten() {
            let ty = datasource_type(target).or_else(|| datasource_type(panel));
            let expr = target["expr"].as_str().unwrap_or("");
            let location = format!(
                "dashboard {title} / panel {}",
                panel["title"].as_str().unwrap_or("(untitled)")
            );
            if ty.as_deref() == Some("loki") {
                out.extend(check_logql(&location, expr));
                continue;
            }
            // A legend may only name labels the query's result keeps.
            let legend = target["legendFormat"].as_str().unwrap_or("");
            let Some(labels) = analyse(&location, expr, &HashMap::new()).1 else {
                continue;
            };
            for used in legend.split("{{").skip(1) {
                let label = used.split("}}").next().unwrap_or("").trim();
                if !label.is_empty() && !labels.contains(label) {
                    out.push(Violation {
                        location: location.clone(),
                        expr: expr.into(),
                        message: format!(
                            "legend uses `{{{{{label}}}}}`, which the query's result does not carry"
                        ),
                    });
                }
            }
        }
    }
    out
}

/// The catalogue metrics a dashboard shows, following recording rules back to what they read.
pub fn catalogue_metrics_shown(dashboard: &serde_json::Value) -> BTreeSet<&'static str> {
    let mut shown = BTreeSet::new();
    let mut pending: Vec<String> = promql_queries(dashboard)
        .into_iter()
        .filter(|(location, _)| location.contains("/ panel "))
        .filter_map(|(_, q)| metrics_in_expr(&q).ok())
        .flatten()
        .collect();
    while let Some(name) = pending.pop() {
        if let Some(m) = catalogue::metric(&name) {
            shown.insert(m.name);
        } else if let Some(r) = crate::rules::recordings()
            .iter()
            .chain(crate::slo::recorded_series())
            .find(|r| r.record == name)
        {
            pending.extend(metrics_in_expr(&r.expr).unwrap_or_default());
        }
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legends_name_only_labels_the_result_keeps() {
        let panel = |expr: &str, legend: &str| {
            serde_json::json!({"title": "D", "panels": [{"title": "P", "datasource": {"type": "prometheus", "uid": "${datasource}"},
                "targets": [{"expr": expr, "legendFormat": legend}]}]})
        };
        assert!(check_dashboard(&panel("sum by (job) (process_open_fds)", "{{job}}")).is_empty());
        let v = check_dashboard(&panel(
            "sum by (job) (process_open_fds)",
            "{{instance}} {{ job }}",
        ));
        assert_eq!(v.len(), 1, "{v:?}");
        assert!(v[0].message.contains("`{{instance}}`"), "{v:?}");
        assert_eq!(v[0].location, "dashboard D / panel P");
    }
}
