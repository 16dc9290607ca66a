//! The checks of the compose target's files: the rule files and dashboards pass the name
//! contract, `compose.yaml` keeps its safety properties (pinned images, health checks, restart
//! policies, memory limits, ports on one interface), Promtail labels only the catalogue's
//! fields, the data sources carry the uids the dashboards expect; and `promtool` and `amtool`
//! check the Prometheus and Alertmanager configurations.

use std::path::Path;

use super::tools::run_tool;
use crate::render::promtail::label_fields;

/// Files every compose directory has (`compose.yaml` only outside local mode).
pub const REQUIRED: &[&str] = &[
    "compose.yaml",
    "prometheus/prometheus.yml",
    "alertmanager/alertmanager.yml",
    "loki/config.yaml",
    "grafana/provisioning/datasources/datasources.yaml",
    "grafana/provisioning/dashboards/obs.yaml",
];

/// Where the generated promtool unit tests of the rules live (the SLOs' tests).
const RULE_TESTS: &str = "prometheus/rules/tests/";

/// The problems of a YAML file of the compose tree, by its path.
pub(super) fn check_yaml(path: &str, text: &str, value: &serde_yaml_ng::Value) -> Vec<String> {
    let mut problems = Vec::new();
    if path.starts_with("prometheus/rules/") && !path.starts_with(RULE_TESTS) {
        problems.extend(mixin_rule_checks(text));
    }
    match path {
        "compose.yaml" => problems.extend(check_compose(value)),
        "promtail/config.yml" => problems.extend(check_promtail(value)),
        "grafana/provisioning/datasources/datasources.yaml" => {
            problems.extend(check_datasources(value));
        }
        _ => {}
    }
    problems
}

/// The problems of a JSON file of the compose tree: the dashboards' contract and lint.
pub(super) fn check_json(path: &str, value: &serde_json::Value) -> Vec<String> {
    if path.starts_with("grafana/dashboards/") {
        mixin_dashboard_checks(value)
    } else {
        Vec::new()
    }
}

/// The mixin's name-contract checks for a rule file.
fn mixin_rule_checks(yaml: &str) -> Vec<String> {
    obs_mixin::contract::check_rule_file(yaml)
        .iter()
        .map(ToString::to_string)
        .collect()
}

/// The mixin's name-contract checks and lint for a dashboard.
fn mixin_dashboard_checks(json: &serde_json::Value) -> Vec<String> {
    obs_mixin::contract::check_dashboard(json)
        .into_iter()
        .chain(obs_mixin::lint::lint_dashboard(json))
        .map(|v| v.to_string())
        .collect()
}

fn check_compose(doc: &serde_yaml_ng::Value) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(services) = doc.get("services").and_then(|s| s.as_mapping()) else {
        return vec!["no services".into()];
    };
    for (name, svc) in services {
        let name = name.as_str().unwrap_or("?");
        let image = svc
            .get("image")
            .and_then(|i| i.as_str())
            .unwrap_or_default();
        let tag = image.rsplit_once(':').map(|(_, t)| t).unwrap_or_default();
        if tag.is_empty() || tag == "latest" || tag.contains('/') {
            problems.push(format!(
                "services.{name}.image: {image:?} is not pinned to a version"
            ));
        }
        let has_check = svc
            .get("healthcheck")
            .and_then(|h| h.get("test"))
            .and_then(|t| t.as_sequence())
            .is_some_and(|t| t.len() > 1);
        if !has_check {
            problems.push(format!("services.{name}.healthcheck: missing"));
        }
        if svc.get("restart").is_none() {
            problems.push(format!("services.{name}.restart: missing"));
        }
        if svc.get("mem_limit").is_none() {
            problems.push(format!("services.{name}.mem_limit: missing"));
        }
        for port in svc
            .get("ports")
            .and_then(|p| p.as_sequence())
            .into_iter()
            .flatten()
        {
            let p = port.as_str().unwrap_or_default();
            if p.matches(':').count() < 2 && !p.starts_with('[') {
                problems.push(format!(
                    "services.{name}.ports: {p:?} is published on every interface"
                ));
            }
        }
    }
    problems
}

fn check_promtail(doc: &serde_yaml_ng::Value) -> Vec<String> {
    let allowed = label_fields();
    let mut problems = Vec::new();
    for sc in doc
        .get("scrape_configs")
        .and_then(|s| s.as_sequence())
        .into_iter()
        .flatten()
    {
        for stage in sc
            .get("pipeline_stages")
            .and_then(|s| s.as_sequence())
            .into_iter()
            .flatten()
        {
            if let Some(labels) = stage.get("labels").and_then(|l| l.as_mapping()) {
                for (k, _) in labels {
                    let k = k.as_str().unwrap_or_default();
                    if !allowed.contains(&k) {
                        problems.push(format!("label {k:?} is not one of {allowed:?}"));
                    }
                }
            }
        }
    }
    problems
}

fn check_datasources(doc: &serde_yaml_ng::Value) -> Vec<String> {
    use obs_mixin::datasource_uids as uids;
    let mut problems = Vec::new();
    for ds in doc
        .get("datasources")
        .and_then(|d| d.as_sequence())
        .into_iter()
        .flatten()
    {
        let kind = ds.get("type").and_then(|t| t.as_str()).unwrap_or_default();
        let uid = ds.get("uid").and_then(|t| t.as_str()).unwrap_or_default();
        let expected = match kind {
            "prometheus" => uids::PROMETHEUS,
            "loki" => uids::LOKI,
            "tempo" => uids::TEMPO,
            _ => continue,
        };
        if uid != expected {
            problems.push(format!(
                "datasource {kind} has uid {uid:?}; the dashboards expect {expected:?}"
            ));
        }
    }
    problems
}

/// `promtool check config` on `prometheus.yml`, then `check rules` and `test rules` on the
/// rule files and their tests among `files`, one line each on `out`.
pub(super) fn promtool(
    promtool: &Path,
    dir: &Path,
    files: &[String],
    out: &mut dyn std::io::Write,
    problems: &mut Vec<String>,
) {
    let yaml = |f: &&String| f.ends_with(".yml") || f.ends_with(".yaml");
    let rules: Vec<String> = files
        .iter()
        .filter(yaml)
        .filter(|f| f.starts_with("prometheus/rules/") && !f.starts_with(RULE_TESTS))
        .cloned()
        .collect();
    let rule_tests: Vec<String> = files
        .iter()
        .filter(yaml)
        .filter(|f| f.starts_with(RULE_TESTS))
        .cloned()
        .collect();
    match run_tool(
        promtool,
        &["check", "config", "prometheus/prometheus.yml"],
        dir,
    ) {
        Ok(()) => {
            let _ = writeln!(out, "ok    promtool check config prometheus/prometheus.yml");
        }
        Err(e) => problems.push(format!("promtool check config: {e}")),
    }
    if !rules.is_empty() {
        let mut args = vec!["check", "rules"];
        args.extend(rules.iter().map(String::as_str));
        match run_tool(promtool, &args, dir) {
            Ok(()) => {
                let _ = writeln!(out, "ok    promtool check rules ({} files)", rules.len());
            }
            Err(e) => problems.push(format!("promtool check rules: {e}")),
        }
    }
    if !rule_tests.is_empty() {
        let mut args = vec!["test", "rules"];
        args.extend(rule_tests.iter().map(String::as_str));
        match run_tool(promtool, &args, dir) {
            Ok(()) => {
                let _ = writeln!(
                    out,
                    "ok    promtool test rules ({} files)",
                    rule_tests.len()
                );
            }
            Err(e) => problems.push(format!("promtool test rules: {e}")),
        }
    }
}

/// `amtool check-config` on `alertmanager.yml`.
pub(super) fn amtool(
    amtool: &Path,
    dir: &Path,
    out: &mut dyn std::io::Write,
    problems: &mut Vec<String>,
) {
    match run_tool(
        amtool,
        &["check-config", "alertmanager/alertmanager.yml"],
        dir,
    ) {
        Ok(()) => {
            let _ = writeln!(
                out,
                "ok    amtool check-config alertmanager/alertmanager.yml"
            );
        }
        Err(e) => problems.push(format!("amtool check-config: {e}")),
    }
}
