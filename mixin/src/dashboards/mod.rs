//! The bundled Grafana dashboards, built from code.
//!
//! Each dashboard module returns a `Spec` (title, question answered, variables, panels); the
//! shared passes here lay the panels out, number them and stamp uid, tags, refresh and schema
//! version. Panels reference datasources only through variables (`${datasource}`,
//! `${loki_datasource}`) whose default is the provisioned uid from [`crate::datasource_uids`],
//! so the same JSON works provisioned and, through [`crate::for_import`], in Grafana's "Import" UI.

mod database;
mod infra;
mod logs;
pub(crate) mod panels;
mod self_health;
mod service;
mod slo;

use serde_json::{Value, json};

use crate::{Dashboard, Thresholds};
use panels::Panel;

/// Tag on every bundled dashboard (and the tag the dashboard links filter on).
pub const TAG: &str = "obs";

/// Grafana schema version of the generated models (Grafana 11.0).
pub const SCHEMA_VERSION: u32 = 39;

/// Lowest Grafana version the dashboards need (named in `__requires`).
pub const GRAFANA_VERSION: &str = "11.0.0";

/// One dashboard before the shared passes.
pub(crate) struct Spec {
    pub(crate) uid: &'static str,
    pub(crate) title: &'static str,
    pub(crate) description: &'static str,
    pub(crate) variables: Vec<Value>,
    pub(crate) panels: Vec<Panel>,
}

/// Every dashboard, provisioned form.
pub(crate) fn all(thresholds: &Thresholds) -> Vec<Dashboard> {
    [
        service::spec(thresholds),
        logs::spec(),
        infra::spec(),
        database::spec(),
        self_health::spec(),
        slo::spec(),
    ]
    .into_iter()
    .map(finish)
    .collect()
}

/// The selector every Prometheus query of a service-level panel starts from.
pub(crate) fn target_selector(extra: &str) -> String {
    if extra.is_empty() {
        r#"{job=~"$job", instance=~"$instance"}"#.to_string()
    } else {
        format!(r#"{{job=~"$job", instance=~"$instance", {extra}}}"#)
    }
}

fn layout(panels: Vec<Panel>) -> Vec<Value> {
    let (mut x, mut y, mut line_height) = (0u32, 0u32, 0u32);
    let mut out = Vec::new();
    for (id, panel) in panels.into_iter().enumerate() {
        let is_row = panel.json["type"] == "row";
        if is_row || x + panel.width > 24 {
            y += line_height;
            x = 0;
            line_height = 0;
        }
        let mut json = panel.json;
        json["id"] = json!(id + 1);
        json["gridPos"] = json!({"h": panel.height, "w": panel.width, "x": x, "y": y});
        x += panel.width;
        line_height = line_height.max(panel.height);
        if is_row {
            y += panel.height;
            x = 0;
            line_height = 0;
        }
        out.push(json);
    }
    out
}

fn finish(spec: Spec) -> Dashboard {
    let json = json!({
        "id": null,
        "uid": spec.uid,
        "title": spec.title,
        "description": spec.description,
        "tags": [TAG],
        "timezone": "browser",
        "editable": true,
        "graphTooltip": 1,
        "fiscalYearStartMonth": 0,
        "liveNow": false,
        "refresh": "30s",
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "time": {"from": "now-1h", "to": "now"},
        "timepicker": {},
        "annotations": {"list": [{
            "builtIn": 1,
            "datasource": {"type": "grafana", "uid": "-- Grafana --"},
            "enable": true,
            "hide": true,
            "iconColor": "rgba(0, 211, 255, 1)",
            "name": "Annotations & Alerts",
            "type": "dashboard",
        }]},
        "links": [{
            "type": "dashboards",
            "title": "obs dashboards",
            "tags": [TAG],
            "asDropdown": true,
            "includeVars": true,
            "keepTime": true,
            "icon": "external link",
            "targetBlank": false,
        }],
        "templating": {"list": spec.variables},
        "panels": layout(spec.panels),
    });
    Dashboard {
        uid: spec.uid.into(),
        file_name: format!("{}.json", spec.uid),
        title: spec.title.into(),
        description: spec.description.into(),
        json,
    }
}

/// A datasource the import form asks for.
struct Input {
    name: &'static str,
    plugin: &'static str,
    label: &'static str,
    uid: &'static str,
    variable: &'static str,
}

const INPUTS: &[Input] = &[
    Input {
        name: "DS_PROMETHEUS",
        plugin: "prometheus",
        label: "Prometheus",
        uid: crate::datasource_uids::PROMETHEUS,
        variable: "datasource",
    },
    Input {
        name: "DS_LOKI",
        plugin: "loki",
        label: "Loki",
        uid: crate::datasource_uids::LOKI,
        variable: "loki_datasource",
    },
    Input {
        name: "DS_TEMPO",
        plugin: "tempo",
        label: "Tempo",
        uid: crate::datasource_uids::TEMPO,
        variable: "tempo_datasource",
    },
];

fn replace_strings(value: &mut Value, from: &str, to: &str) {
    match value {
        Value::String(s) if s == from => *s = to.to_string(),
        Value::Array(a) => a.iter_mut().for_each(|v| replace_strings(v, from, to)),
        Value::Object(o) => o.values_mut().for_each(|v| replace_strings(v, from, to)),
        _ => {}
    }
}

/// The `__inputs` form of a provisioned dashboard model: every fixed datasource uid becomes
/// `${DS_…}`, `__inputs` lists the datasources the Import UI asks for, `__requires` names
/// Grafana, the datasource plugins and the panel types used, and `id` is dropped.
pub(crate) fn for_import(json: &Value) -> Value {
    let mut model = json.clone();
    let variables: Vec<String> = model["templating"]["list"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|v| v["type"] == "datasource")
        .filter_map(|v| v["name"].as_str().map(String::from))
        .collect();
    let used: Vec<&Input> = INPUTS
        .iter()
        .filter(|i| variables.iter().any(|v| v == i.variable))
        .collect();
    for input in &used {
        replace_strings(&mut model, input.uid, &format!("${{{}}}", input.name));
    }
    let inputs: Vec<Value> = used
        .iter()
        .map(|i| {
            json!({
                "name": i.name,
                "label": i.label,
                "description": "",
                "type": "datasource",
                "pluginId": i.plugin,
                "pluginName": i.label,
            })
        })
        .collect();
    let mut requires = vec![
        json!({"type": "grafana", "id": "grafana", "name": "Grafana", "version": GRAFANA_VERSION}),
    ];
    for i in &used {
        requires.push(
            json!({"type": "datasource", "id": i.plugin, "name": i.label, "version": "1.0.0"}),
        );
    }
    let mut panel_types: Vec<String> = crate::contract::panels(&model)
        .iter()
        .filter_map(|p| p["type"].as_str())
        .filter(|t| *t != "row")
        .map(String::from)
        .collect();
    panel_types.sort();
    panel_types.dedup();
    for t in panel_types {
        requires.push(json!({"type": "panel", "id": t, "name": t, "version": ""}));
    }
    let mut out = serde_json::Map::new();
    out.insert("__inputs".into(), Value::Array(inputs));
    out.insert("__elements".into(), json!({}));
    out.insert("__requires".into(), Value::Array(requires));
    if let Value::Object(fields) = model {
        for (k, v) in fields {
            if k != "id" {
                out.insert(k, v);
            }
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dashboards_have_stable_unique_uids_and_the_shared_fields() {
        let all = all(&Thresholds::default());
        assert_eq!(all.len(), 6);
        let mut uids = std::collections::HashSet::new();
        for d in &all {
            assert!(uids.insert(d.uid.clone()), "duplicate uid {}", d.uid);
            assert!(d.uid.len() <= 40 && d.uid.starts_with("obs-"), "{}", d.uid);
            assert_eq!(d.json["uid"], d.uid.as_str());
            assert_eq!(d.json["tags"], json!([TAG]));
            assert!(d.json["schemaVersion"].as_u64().unwrap() >= 39);
            assert!(!d.description.is_empty());
        }
    }

    #[test]
    fn panels_do_not_overlap() {
        for d in all(&Thresholds::default()) {
            let mut cells = std::collections::HashSet::new();
            for p in crate::contract::panels(&d.json) {
                let g = &p["gridPos"];
                let (x, y, w, h) = (
                    g["x"].as_u64().unwrap(),
                    g["y"].as_u64().unwrap(),
                    g["w"].as_u64().unwrap(),
                    g["h"].as_u64().unwrap(),
                );
                assert!(x + w <= 24, "{} / {}", d.title, p["title"]);
                for cx in x..x + w {
                    for cy in y..y + h {
                        assert!(
                            cells.insert((cx, cy)),
                            "{}: {} overlaps",
                            d.title,
                            p["title"]
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn import_form_asks_for_datasources_and_keeps_no_fixed_uid() {
        for d in all(&Thresholds::default()) {
            let import = crate::for_import(&d);
            let text = import.to_string();
            for fixed in [
                crate::datasource_uids::PROMETHEUS,
                crate::datasource_uids::LOKI,
            ] {
                assert!(
                    !text.contains(&format!("\"{fixed}\"")),
                    "{}: {fixed} left in import form",
                    d.title
                );
            }
            let inputs = import["__inputs"].as_array().unwrap();
            assert!(
                inputs
                    .iter()
                    .any(|i| i["name"] == "DS_PROMETHEUS" && i["pluginId"] == "prometheus")
            );
            assert!(text.contains("${DS_PROMETHEUS}"));
            assert!(import.get("id").is_none());
            assert_eq!(import["__requires"][0]["id"], "grafana");
            assert_eq!(import["uid"], d.uid.as_str());
        }
        let logs = all(&Thresholds::default())
            .into_iter()
            .find(|d| d.uid == "obs-logs")
            .unwrap();
        let import = crate::for_import(&logs);
        assert!(
            import["__inputs"]
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i["name"] == "DS_LOKI")
        );
    }
}
