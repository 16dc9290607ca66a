//! The live check of the dashboards: every PromQL query of every panel, with its Grafana
//! variables filled in, sent to a real Prometheus, must return data.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::prom::Prometheus;

/// Fills Grafana's variables the way a dashboard on "All" with a short time range does:
/// every template variable (`$job`, `$instance`, `${job:regex}`, …) becomes the regex `.+`,
/// `$__rate_interval` 15s (4 × a 1 s scrape interval, and 7 samples at 2 s), `$__interval`
/// 5s, `$__range` 5m.
pub fn concrete(query: &str) -> String {
    concrete_with(query, &BTreeMap::new())
}

/// What "All" selects for each variable of `dashboard`: its `allValue` (`.+`, `.*`), or `.+`.
pub fn all_values(dashboard: &Value) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for v in dashboard["templating"]["list"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if let (Some(name), Some(all)) = (v["name"].as_str(), v["allValue"].as_str()) {
            out.insert(name.to_string(), all.to_string());
        }
    }
    out
}

/// Like [`concrete`], with the values `vars` gives for named variables (the others `.+`).
pub fn concrete_with(query: &str, vars: &BTreeMap<String, String>) -> String {
    let value = |name: &str| {
        let name = name.split(':').next().unwrap_or(name);
        vars.get(name).map_or(".+", String::as_str).to_string()
    };
    let mut out = query
        .replace("$__rate_interval", "15s")
        .replace("${__rate_interval}", "15s")
        .replace("$__interval", "5s")
        .replace("${__interval}", "5s")
        .replace("$__range", "5m")
        .replace("${__range}", "5m");
    // Any other variable, `$name` or `${name}` / `${name:format}`, selects everything.
    let mut result = String::new();
    let mut rest = out.as_str();
    while let Some(i) = rest.find('$') {
        result.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(inner) = after.strip_prefix('{') {
            let close = inner.find('}').unwrap_or(inner.len());
            result.push_str(&value(&inner[..close]));
            rest = &inner[(close + 1).min(inner.len())..];
        } else {
            let n = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            if n == 0 {
                result.push('$');
            } else {
                result.push_str(&value(&after[..n]));
            }
            rest = &after[n..];
        }
    }
    result.push_str(rest);
    out = result;
    out
}

/// The outcome of [`check_dashboards`].
#[derive(Debug, Default)]
pub struct Report {
    /// Queries sent.
    pub checked: usize,
    /// `dashboard / panel: what went wrong, the query`: an error, or no data.
    pub failures: Vec<String>,
    /// Queries that returned nothing but are allowed to (`allowed_empty`), with the reason.
    pub allowed_empty: Vec<String>,
}

/// Sends every PromQL query of `dashboards` (Grafana JSON; Loki targets and variables are
/// left out, LogQL is not PromQL) to `prom`, each variable on "All" ([`all_values`]). A query that fails or
/// returns no sample is a failure unless it contains one of the `allowed_empty` patterns
/// `(pattern, reason)`.
pub async fn check_dashboards(
    prom: &Prometheus,
    dashboards: &[Value],
    allowed_empty: &[(&str, &str)],
) -> Report {
    let mut report = Report::default();
    for d in dashboards {
        let vars = all_values(d);
        for (location, q) in obs_mixin::contract::promql_queries(d) {
            let expr = concrete_with(&q, &vars);
            report.checked += 1;
            match prom.query(&expr).await {
                Err(e) => report
                    .failures
                    .push(format!("{location}: error {e}: {expr}")),
                Ok(samples) if samples.is_empty() => {
                    match allowed_empty.iter().find(|(p, _)| q.contains(p)) {
                        Some((_, why)) => report
                            .allowed_empty
                            .push(format!("{location}: {why}: {expr}")),
                        None => report.failures.push(format!("{location}: no data: {expr}")),
                    }
                }
                Ok(_) => {}
            }
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::{concrete, concrete_with};

    #[test]
    fn fills_every_variable() {
        assert_eq!(
            concrete(
                r#"sum(rate(x{job=~"$job",i=~"${instance:regex}"}[$__rate_interval])) / $__range"#
            ),
            r#"sum(rate(x{job=~".+",i=~".+"}[15s])) / 5m"#
        );
        assert_eq!(concrete("a{b=~\"$b_c\"}"), "a{b=~\".+\"}");
        assert_eq!(concrete("x{l=\"$\"}"), "x{l=\"$\"}");
        let vars = [("route".to_string(), ".*".to_string())].into();
        assert_eq!(
            concrete_with(r#"x{r=~"$route",j=~"${job}"}"#, &vars),
            r#"x{r=~".*",j=~".+"}"#
        );
    }
}
