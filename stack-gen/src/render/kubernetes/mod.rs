//! The Kubernetes target: plain manifests that plug into what a cluster already runs
//! (kube-prometheus-stack's Prometheus Operator, Grafana's dashboard sidecar, Loki's chart,
//! Grafana Alloy), a `kustomization.yaml` listing them, the Helm values for those charts and a
//! README. The rules and dashboards are the ones the compose target writes, wrapped.
//!
//! Labels the charts' selectors need are part of the contract: `release: <prometheus_release>`
//! on every ServiceMonitor and the PrometheusRule (kube-prometheus-stack selects by it, and
//! silently ignores objects without it), `grafana_dashboard: "1"` and `grafana_datasource: "1"`
//! on the ConfigMaps Grafana's sidecar collects.

use serde_json::{Map, Value, json};

use super::OutFile;
use crate::model::{Config, Kubernetes, LogShipper};

mod alloy;
mod databases;
mod grafana;
mod monitors;
mod readme;
mod values;

/// The label kube-prometheus-stack's selectors match (`release: <prometheus_release>`).
pub const RELEASE_LABEL: &str = "release";
/// The label Grafana's sidecar collects dashboards by, and its value.
pub const DASHBOARD_LABEL: (&str, &str) = ("grafana_dashboard", "1");
/// The label Grafana's sidecar collects data sources by, and its value.
pub const DATASOURCE_LABEL: (&str, &str) = ("grafana_datasource", "1");
/// The annotation naming the Grafana folder of a dashboard ConfigMap (the sidecar's
/// `folderAnnotation`).
pub const FOLDER_ANNOTATION: &str = "grafana_folder";
/// The Secret holding the alert receiver's secrets, keys named after obs.toml's variables.
pub const ALERTING_SECRET: &str = "obs-alerting";

/// The `[kubernetes]` table, or its defaults.
pub(crate) fn settings(cfg: &Config) -> Kubernetes {
    cfg.kubernetes.clone().unwrap_or_default()
}

/// `metadata` of an object obs-gen owns in the monitoring namespace, with `labels` added to
/// the common ones.
pub(crate) fn metadata(cfg: &Config, name: &str, labels: &[(&str, &str)]) -> Value {
    let mut l = Map::new();
    l.insert("app.kubernetes.io/managed-by".into(), json!("obs-gen"));
    l.insert("app.kubernetes.io/part-of".into(), json!(cfg.project));
    for (k, v) in labels {
        l.insert((*k).into(), json!(v));
    }
    json!({ "name": name, "namespace": settings(cfg).namespace, "labels": l })
}

/// An in-cluster URL of a Service in the monitoring namespace.
pub(crate) fn service_url(cfg: &Config, service: &str, port: Option<u16>) -> String {
    let ns = settings(cfg).namespace;
    match port {
        Some(p) => format!("http://{service}.{ns}.svc:{p}"),
        None => format!("http://{service}.{ns}.svc"),
    }
}

fn file(path: String, value: &Value) -> OutFile {
    OutFile {
        contents: super::yaml(value),
        path,
    }
}

/// Renders every file of the Kubernetes target for `cfg` (validated).
pub fn render(cfg: &Config) -> Vec<OutFile> {
    let mut resources: Vec<(String, Value)> = Vec::new();
    for (name, object) in monitors::service_monitors(cfg) {
        resources.push((format!("servicemonitors/{name}.yaml"), object));
    }
    for (name, object) in databases::service_monitors(cfg) {
        resources.push((format!("databases/{name}.yaml"), object));
    }
    resources.push(("prometheusrule.yaml".into(), monitors::prometheus_rule(cfg)));
    resources.push((
        "alertmanagerconfig.yaml".into(),
        monitors::alertmanager_config(cfg),
    ));
    resources.push(("grafana/datasources.yaml".into(), grafana::datasources(cfg)));
    for (name, object) in grafana::dashboards(cfg) {
        resources.push((format!("grafana/dashboards/{name}.yaml"), object));
    }
    if cfg.log_shipper == LogShipper::Alloy {
        for (name, object) in alloy::objects(cfg) {
            resources.push((format!("alloy/{name}.yaml"), object));
        }
    }
    let kustomization = json!({
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": resources.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>(),
    });
    let mut files: Vec<OutFile> = resources.iter().map(|(p, v)| file(p.clone(), v)).collect();
    files.push(file("kustomization.yaml".into(), &kustomization));
    for (name, text) in values::files(cfg) {
        files.push(OutFile {
            path: format!("values/{name}"),
            contents: text,
        });
    }
    files.push(OutFile {
        path: "README.md".into(),
        contents: readme::render(cfg),
    });
    files
}

/// The rule groups of the `PrometheusRule` obs-gen writes for `cfg`: for the test that both
/// targets carry the same rules.
pub fn rule_groups(cfg: &Config) -> Value {
    monitors::prometheus_rule(cfg)["spec"]["groups"].clone()
}
