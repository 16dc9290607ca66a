//! `values/`: the Helm values a user passes to the charts obs plugs into, each commented:
//! kube-prometheus-stack (the selectors that find obs's objects, retention, remote write, the
//! Grafana sidecar), loki (simple scalable on object storage, with retention) and alloy (for
//! those who run the chart instead of the DaemonSet here), and with `[databases]` the exporter
//! charts' values (`databases`).

use serde_json::json;

use super::alloy::{CONFIG_KEY, NAME as ALLOY};
use super::{DASHBOARD_LABEL, DATASOURCE_LABEL, FOLDER_ANNOTATION, RELEASE_LABEL, settings};
use crate::model::Config;
use crate::render::{comment, prometheus, remote_write, tempo as tempo_config, yaml_with_note};

/// The values files, by file name.
pub(super) fn files(cfg: &Config) -> Vec<(String, String)> {
    vec![
        (
            "kube-prometheus-stack.yaml".into(),
            kube_prometheus_stack(cfg),
        ),
        ("loki.yaml".into(), loki(cfg)),
        ("alloy.yaml".into(), alloy()),
    ]
    .into_iter()
    .chain(cfg.tracing.then(|| ("tempo.yaml".into(), tempo(cfg))))
    .chain(super::databases::values_files(cfg))
    .collect()
}

fn kube_prometheus_stack(cfg: &Config) -> String {
    let k = settings(cfg);
    let release = json!({ "matchLabels": { RELEASE_LABEL: k.prometheus_release } });
    let mut spec = json!({
        "serviceMonitorSelector": release,
        "serviceMonitorNamespaceSelector": {},
        "ruleSelector": release,
        "ruleNamespaceSelector": {},
        "retention": cfg.retention,
        "scrapeInterval": cfg.scrape_interval,
        "evaluationInterval": cfg.evaluation_interval,
        "externalLabels": { "env": cfg.environment, "project": cfg.project },
        // The SDK's `trace_id` exemplars on the latency buckets, kept as the compose
        // Prometheus keeps them.
        "enableFeatures": ["exemplar-storage"],
        "exemplars": { "maxSize": prometheus::MAX_EXEMPLARS },
    });
    if cfg.tracing {
        // Tempo's metrics generator writes the service graph here.
        spec["enableRemoteWriteReceiver"] = json!(true);
    }
    if let Some(rw) = &cfg.remote_write {
        spec["remoteWrite"] = remote_write::operator_spec(rw);
    }
    let doc = json!({
        "prometheus": { "prometheusSpec": spec },
        "alertmanager": {
            "alertmanagerSpec": {
                "alertmanagerConfigSelector": release,
                "alertmanagerConfigNamespaceSelector": {},
                "alertmanagerConfigMatcherStrategy": { "type": "None" },
            },
        },
        "grafana": {
            "sidecar": {
                "dashboards": {
                    "enabled": true,
                    "label": DASHBOARD_LABEL.0,
                    "labelValue": DASHBOARD_LABEL.1,
                    "searchNamespace": "ALL",
                    "folderAnnotation": FOLDER_ANNOTATION,
                    "provider": { "foldersFromFilesStructure": true },
                },
                "datasources": {
                    "enabled": true,
                    "label": DATASOURCE_LABEL.0,
                    "labelValue": DATASOURCE_LABEL.1,
                },
            },
        },
    });
    let mut note = vec![
        "Values for the kube-prometheus-stack chart:".to_string(),
        format!(
            "  helm upgrade --install {} prometheus-community/kube-prometheus-stack -n {} -f values/kube-prometheus-stack.yaml",
            k.prometheus_release, k.namespace
        ),
        String::new(),
        format!(
            "The selectors pick ServiceMonitors, PrometheusRules and AlertmanagerConfigs labelled release: {}",
            k.prometheus_release
        ),
        "in every namespace (the chart's default already asks for its release label; these make it".into(),
        "explicit). alertmanagerConfigMatcherStrategy None: the obs routes see the alerts of every".into(),
        "namespace, not only of the one the AlertmanagerConfig lives in. The Grafana sidecar collects".into(),
        "dashboards and data sources by label from every namespace, into the folder the annotation names.".into(),
        "Exemplar storage keeps the trace_id the services put on their latency buckets.".into(),
    ];
    if cfg.tracing {
        note.push(
            "enableRemoteWriteReceiver: Tempo's metrics generator writes the service graph here (values/tempo.yaml).".into(),
        );
    }
    if let Some(rw) = &cfg.remote_write {
        let vars: Vec<String> = rw
            .secret_vars()
            .iter()
            .map(|(v, _)| v.to_string())
            .collect();
        note.push(String::new());
        note.push(format!(
            "remoteWrite reads its credentials from the Secret {} (keys: {}); see README.md.",
            remote_write::KUBERNETES_SECRET,
            if rw.username.is_some() {
                let mut keys = vec![remote_write::USERNAME_KEY.to_string()];
                keys.extend(vars);
                keys.join(", ")
            } else if vars.is_empty() {
                "none needed".into()
            } else {
                vars.join(", ")
            }
        ));
    }
    let lines: Vec<&str> = note.iter().map(String::as_str).collect();
    yaml_with_note(&doc, &comment(&lines))
}

fn loki(cfg: &Config) -> String {
    let doc = json!({
        "deploymentMode": "SimpleScalable",
        "loki": {
            "auth_enabled": false,
            "schemaConfig": {
                "configs": [{
                    "from": "2024-04-01",
                    "store": "tsdb",
                    "object_store": "s3",
                    "schema": "v13",
                    "index": { "prefix": "loki_index_", "period": "24h" },
                }],
            },
            "storage": {
                "type": "s3",
                "bucketNames": {
                    "chunks": format!("{}-loki-chunks", cfg.project),
                    "ruler": format!("{}-loki-ruler", cfg.project),
                    "admin": format!("{}-loki-admin", cfg.project),
                },
                "s3": { "region": "us-east-1" },
            },
            "limits_config": {
                "retention_period": cfg.retention,
                "allow_structured_metadata": true,
                "volume_enabled": true,
            },
            "compactor": {
                "retention_enabled": true,
                "delete_request_store": "s3",
            },
        },
        "write": { "replicas": 3 },
        "read": { "replicas": 3 },
        "backend": { "replicas": 3 },
        "singleBinary": { "replicas": 0 },
        "minio": { "enabled": false },
    });
    let ns = settings(cfg).namespace;
    let note = format!(
        "Values for the grafana/loki chart in simple scalable mode (write, read and backend targets,\n\
         three replicas each) on object storage, with retention enforced by the compactor:\n  \
         helm upgrade --install loki grafana/loki -n {ns} -f values/loki.yaml\n\n\
         Storage: create the three buckets (or rename them here) and give Loki access without putting\n\
         keys in this file: an IAM role for the service account (loki.serviceAccount annotations),\n\
         or a Secret with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY passed through\n\
         write/read/backend extraEnvFrom. For GCS or Azure, change storage.type and object_store.\n\
         allow_structured_metadata keeps request_id and trace_id off the labels (schema v13 on tsdb).\n\
         The release name loki gives the loki-gateway Service the Grafana data source and Alloy use."
    );
    let lines: Vec<&str> = note.lines().collect();
    yaml_with_note(&doc, &comment(&lines))
}

/// The grafana/tempo chart's values (with `tracing = true`): the metrics generator on, its
/// processors for every tenant, writing into kube-prometheus-stack's Prometheus.
fn tempo(cfg: &Config) -> String {
    let remote_write = format!(
        "{}{}",
        super::grafana::endpoints(cfg).prometheus,
        tempo_config::REMOTE_WRITE_PATH
    );
    let doc = json!({
        "tempo": {
            "metricsGenerator": { "enabled": true, "remoteWriteUrl": remote_write },
            "overrides": tempo_config::processor_overrides(),
        },
    });
    let ns = settings(cfg).namespace;
    let note = format!(
        "Values for the grafana/tempo chart (single binary), with its metrics generator: the\n\
         service-graphs and span-metrics processors turn spans into series and remote-write them\n\
         into kube-prometheus-stack's Prometheus, whose receiver the kube-prometheus-stack values turn on:\n  \
         helm upgrade --install tempo grafana/tempo -n {ns} -f values/tempo.yaml\n\
         The release name tempo gives the Service the Grafana data source uses."
    );
    let lines: Vec<&str> = note.lines().collect();
    yaml_with_note(&doc, &comment(&lines))
}

fn alloy() -> String {
    let doc = json!({
        "controller": { "type": "daemonset" },
        "alloy": {
            "configMap": { "create": false, "name": ALLOY, "key": CONFIG_KEY },
            "mounts": { "varlog": true },
            "securityContext": {
                "allowPrivilegeEscalation": false,
                "capabilities": { "drop": ["ALL"] },
            },
            "extraEnv": [{ "name": "NODE_NAME", "valueFrom": { "fieldRef": { "fieldPath": "spec.nodeName" } } }],
        },
    });
    let note = "Values for the grafana/alloy chart, for clusters that run Alloy through its chart instead\n\
                of the DaemonSet in alloy/: remove the alloy/ entries from kustomization.yaml except\n\
                alloy/configmap.yaml, then\n  \
                helm upgrade --install alloy grafana/alloy -n <namespace> -f values/alloy.yaml\n\
                The chart reads the same config.alloy from the obs-alloy ConfigMap, mounts /var/log from the\n\
                node and creates its own ServiceAccount and RBAC.";
    let lines: Vec<&str> = note.lines().collect();
    yaml_with_note(&doc, &comment(&lines))
}
