//! `obs-gen check DIR`: validates a generated directory. Every YAML and JSON file must parse;
//! the dashboards and rules must pass the name contract of `obs_mixin::contract`; the compose
//! file must keep its safety properties; and `promtool` and `amtool` check the Prometheus and
//! Alertmanager configurations when they are on `PATH`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::Error;
use crate::render::promtail::label_fields;

/// Files every generated directory has (`compose.yaml` only outside local mode).
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

/// Checks one file's text; returns the problems, each `path: message`.
pub fn check_file_text(path: &str, text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if path.ends_with(".yml") || path.ends_with(".yaml") {
        let value: serde_yaml_ng::Value = match serde_yaml_ng::from_str(text) {
            Ok(v) => v,
            Err(e) => {
                return vec![format!(
                    "{path}: not valid YAML: {}",
                    crate::error::one_line(&e.to_string())
                )];
            }
        };
        problems.extend(
            crate::check_k8s::check_object(&value)
                .into_iter()
                .map(|v| format!("{path}: {v}")),
        );
        if path.starts_with("prometheus/rules/") && !path.starts_with(RULE_TESTS) {
            problems.extend(
                mixin_rule_checks(text)
                    .into_iter()
                    .map(|v| format!("{path}: {v}")),
            );
        }
        if path == "compose.yaml" {
            problems.extend(
                check_compose(&value)
                    .into_iter()
                    .map(|v| format!("{path}: {v}")),
            );
        }
        if path == "promtail/config.yml" {
            problems.extend(
                check_promtail(&value)
                    .into_iter()
                    .map(|v| format!("{path}: {v}")),
            );
        }
        if path == "grafana/provisioning/datasources/datasources.yaml" {
            problems.extend(
                check_datasources(&value)
                    .into_iter()
                    .map(|v| format!("{path}: {v}")),
            );
        }
    } else if path.ends_with(".json") {
        match serde_json::from_str::<serde_json::Value>(text) {
            Ok(v) if path.starts_with("grafana/dashboards/") => problems.extend(
                mixin_dashboard_checks(&v)
                    .into_iter()
                    .map(|p| format!("{path}: {p}")),
            ),
            Ok(_) => {}
            Err(e) => problems.push(format!("{path}: not valid JSON: {e}")),
        }
    }
    problems
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

/// Finds `tool` on `PATH`.
pub fn find_tool(tool: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(tool))
            .find(|c| c.is_file())
    })
}

fn list_files(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        if path.is_dir() {
            list_files(root, &path, out);
        } else if let Ok(rel) = path.strip_prefix(root) {
            out.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
}

fn run_tool(tool: &Path, args: &[&str], dir: &Path) -> Result<(), String> {
    let out = Command::new(tool)
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", tool.display()))?;
    if out.status.success() {
        Ok(())
    } else {
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Err(text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect::<Vec<_>>()
            .join(" | "))
    }
}

/// Checks the generated directory `dir`, printing one line per check. Fails with every problem.
pub fn check_dir(dir: &Path, out: &mut dyn std::io::Write) -> Result<(), Error> {
    if !dir.is_dir() {
        return Err(Error::Input(format!("{}: not a directory", dir.display())));
    }
    let mut problems = Vec::new();
    // A stack generated in local mode (obs.toml [local]) has no compose.yaml.
    let cfg = std::fs::read_to_string(dir.join(crate::model::CONFIG_FILE))
        .ok()
        .and_then(|text| crate::model::Config::from_toml(&text, "obs.toml").ok());
    let local = cfg.as_ref().is_some_and(|cfg| cfg.local.is_some());
    let kubernetes = cfg
        .as_ref()
        .is_some_and(|cfg| cfg.target == crate::model::Target::Kubernetes);
    let required: &[&str] = if kubernetes {
        &["kustomization.yaml", "prometheusrule.yaml"]
    } else {
        REQUIRED
    };
    for f in required {
        if local && *f == "compose.yaml" {
            continue;
        }
        if !dir.join(f).is_file() {
            problems.push(format!("{f}: missing"));
        }
    }
    let mut files = Vec::new();
    list_files(dir, dir, &mut files);
    let mut checked = 0;
    for f in &files {
        if f == ".env" || f.starts_with('.') && f.ends_with(".obs-gen-tmp") {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(dir.join(f)) else {
            continue;
        };
        let found = check_file_text(f, &text);
        if found.is_empty() {
            checked += 1;
        }
        problems.extend(found);
    }
    let _ = writeln!(
        out,
        "ok    {checked} files parse and keep the name contract"
    );

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
    match find_tool("promtool") {
        // Kubernetes: no prometheus.yml (the Operator writes it); the rules are in the
        // PrometheusRule.
        Some(promtool) if kubernetes => {
            match crate::check_k8s::promtool_check_rules(&promtool, dir) {
                Ok(_) => {
                    let _ = writeln!(out, "ok    promtool check rules (prometheusrule.yaml)");
                }
                Err(e) => problems.push(format!("promtool check rules prometheusrule.yaml: {e}")),
            }
        }
        Some(promtool) => {
            match run_tool(
                &promtool,
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
                match run_tool(&promtool, &args, dir) {
                    Ok(()) => {
                        let _ = writeln!(out, "ok    promtool check rules ({} files)", rules.len());
                    }
                    Err(e) => problems.push(format!("promtool check rules: {e}")),
                }
            }
            if !rule_tests.is_empty() {
                let mut args = vec!["test", "rules"];
                args.extend(rule_tests.iter().map(String::as_str));
                match run_tool(&promtool, &args, dir) {
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
        None => {
            let _ = writeln!(out, "skip  promtool is not on PATH");
        }
    }
    match find_tool("amtool") {
        Some(_) if kubernetes => {}
        Some(amtool) => match run_tool(
            &amtool,
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
        },
        None => {
            let _ = writeln!(out, "skip  amtool is not on PATH");
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::CheckFailed(problems.join("\n")))
    }
}
