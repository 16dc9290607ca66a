//! The checks of the Kubernetes target's files: the rules inside the `PrometheusRule` and the
//! dashboards inside the sidecar's ConfigMaps pass the same name-contract checks as the compose
//! target's files, the objects the charts select carry the labels their selectors need, and
//! `promtool check rules` reads the rule groups.

use std::io::Write as _;
use std::path::Path;

use serde_yaml_ng::Value;

use crate::render::kubernetes::{DASHBOARD_LABEL, RELEASE_LABEL};

/// Files every Kubernetes directory has.
pub const REQUIRED: &[&str] = &["kustomization.yaml", "prometheusrule.yaml"];

/// The `groups:` document of a `PrometheusRule`, as a rule file promtool reads.
pub fn rule_file_of(object: &Value) -> Option<String> {
    if object.get("kind")?.as_str()? != "PrometheusRule" {
        return None;
    }
    let groups = object.get("spec")?.get("groups")?.clone();
    let mut doc = serde_yaml_ng::Mapping::new();
    doc.insert("groups".into(), groups);
    serde_yaml_ng::to_string(&doc).ok()
}

/// The dashboards of a ConfigMap labelled for Grafana's sidecar, by data key.
pub fn dashboards_of(object: &Value) -> Vec<(String, Result<serde_json::Value, String>)> {
    let is_dashboards = object.get("kind").and_then(Value::as_str) == Some("ConfigMap")
        && object
            .get("metadata")
            .and_then(|m| m.get("labels"))
            .and_then(|l| l.get(DASHBOARD_LABEL.0))
            .and_then(Value::as_str)
            == Some(DASHBOARD_LABEL.1);
    let Some(data) = object
        .get("data")
        .and_then(Value::as_mapping)
        .filter(|_| is_dashboards)
    else {
        return Vec::new();
    };
    data.iter()
        .map(|(k, v)| {
            let key = k.as_str().unwrap_or("?").to_string();
            let json = v
                .as_str()
                .ok_or_else(|| "not a string".to_string())
                .and_then(|t| serde_json::from_str(t).map_err(|e| e.to_string()));
            (key, json)
        })
        .collect()
}

/// The problems of one Kubernetes object: contract checks of the rules and dashboards inside it,
/// and the `release` label on what kube-prometheus-stack selects.
pub fn check_object(object: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let kind = object
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if matches!(
        kind,
        "ServiceMonitor" | "PrometheusRule" | "AlertmanagerConfig"
    ) && object
        .get("metadata")
        .and_then(|m| m.get("labels"))
        .and_then(|l| l.get(RELEASE_LABEL))
        .is_none()
    {
        problems.push(format!(
            "metadata.labels.{RELEASE_LABEL}: missing, so kube-prometheus-stack ignores this {kind}"
        ));
    }
    if let Some(rules) = rule_file_of(object) {
        problems.extend(
            obs_mixin::contract::check_rule_file(&rules)
                .iter()
                .map(|v| format!("spec.groups: {v}")),
        );
    }
    for (key, json) in dashboards_of(object) {
        match json {
            Ok(d) => problems.extend(
                obs_mixin::contract::check_dashboard(&d)
                    .into_iter()
                    .chain(obs_mixin::lint::lint_dashboard(&d))
                    .map(|v| format!("data.{key}: {v}")),
            ),
            Err(e) => problems.push(format!("data.{key}: not valid JSON: {e}")),
        }
    }
    problems
}

/// `promtool check rules` on the groups of the `PrometheusRule` in `dir`; `Ok(None)` when
/// there is none.
pub fn promtool_check_rules(promtool: &Path, dir: &Path) -> Result<Option<()>, String> {
    let path = dir.join("prometheusrule.yaml");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(None);
    };
    let object: Value = serde_yaml_ng::from_str(&text).map_err(|e| e.to_string())?;
    let rules = rule_file_of(&object).ok_or("prometheusrule.yaml: no PrometheusRule")?;
    let mut tmp = temp_rule_file()?;
    tmp.1
        .write_all(rules.as_bytes())
        .map_err(|e| e.to_string())?;
    let out = std::process::Command::new(promtool)
        .args(["check", "rules"])
        .arg(&tmp.0)
        .output()
        .map_err(|e| e.to_string());
    let _ = std::fs::remove_file(&tmp.0);
    let out = out?;
    if out.status.success() {
        Ok(Some(()))
    } else {
        Err(
            crate::error::one_line(&String::from_utf8_lossy(&out.stdout))
                + " "
                + &crate::error::one_line(&String::from_utf8_lossy(&out.stderr)),
        )
    }
}

/// A private file in the temporary directory for promtool to read (the output directory stays
/// untouched by `check`).
fn temp_rule_file() -> Result<(std::path::PathBuf, std::fs::File), String> {
    let path = std::env::temp_dir().join(format!(
        "obs-gen-prometheusrule-{}.yaml",
        std::process::id()
    ));
    let file = std::fs::File::create(&path).map_err(|e| e.to_string())?;
    Ok((path, file))
}
