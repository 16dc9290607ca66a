//! Grafana Alloy for pod logs: a DaemonSet reading the log files of the pods on its node under
//! `/var/log/pods`, its ServiceAccount, a ClusterRole that may only get, list and watch pods
//! (what `discovery.kubernetes` reads; the logs themselves come from the node's files, not the
//! API), and `config.alloy` in a ConfigMap.

use serde_json::{Value, json};

use super::{metadata, service_url, settings};
use crate::model::Config;
use crate::render::alloy::{process_block, quote};
use crate::render::images;

/// Name of the DaemonSet, its ServiceAccount, RBAC objects and ConfigMap.
pub(super) const NAME: &str = "obs-alloy";
/// Key of `config.alloy` in the ConfigMap (also what `values/alloy.yaml` points the chart at).
pub(super) const CONFIG_KEY: &str = "config.alloy";
/// Where Alloy keeps its read positions on the node, so a restarted pod does not ship a log
/// again (the root file system is read-only).
const STORAGE_PATH: &str = "/var/lib/obs-alloy";

/// `config.alloy`: pods of this node, their files under `/var/log/pods`, the runtime's CRI
/// framing removed, then the SDK's JSON as in the compose stack; labels `namespace`, `service`,
/// `env` and `level` only.
pub(super) fn config(cfg: &Config) -> String {
    let header = crate::render::HEADER.replace('#', "//");
    let process = process_block(
        cfg,
        "  stage.cri {}\n\n",
        &["namespace"],
        "loki.write.default.receiver",
    );
    let push = quote(&format!(
        "{}/loki/api/v1/push",
        service_url(cfg, "loki-gateway", None)
    ));
    format!(
        r#"{header}// Pod logs of this node: discovery.kubernetes finds the pods (only those on this node, by the
// field selector), their files are read from /var/log/pods, and the SDK's JSON lines are parsed.
// Labels: namespace, service, env and level only; request_id and trace_id go to structured
// metadata.

discovery.kubernetes "pods" {{
  role = "pod"

  selectors {{
    role  = "pod"
    field = "spec.nodeName=" + sys.env("NODE_NAME")
  }}
}}

discovery.relabel "pod_logs" {{
  targets = discovery.kubernetes.pods.targets

  rule {{
    source_labels = ["__meta_kubernetes_namespace"]
    target_label  = "namespace"
  }}

  // The service label of lines that are not the SDK's (which carry their own "service").
  rule {{
    source_labels = ["__meta_kubernetes_pod_label_app_kubernetes_io_name", "__meta_kubernetes_pod_container_name"]
    separator     = ";"
    regex         = "^;*([^;]+)(;.*)?$"
    target_label  = "service"
  }}

  rule {{
    source_labels = ["__meta_kubernetes_pod_uid", "__meta_kubernetes_pod_container_name"]
    separator     = "/"
    target_label  = "__path__"
    replacement   = "/var/log/pods/*$1/*.log"
  }}
}}

local.file_match "pod_logs" {{
  path_targets = discovery.relabel.pod_logs.output
}}

loki.source.file "pod_logs" {{
  targets    = local.file_match.pod_logs.targets
  forward_to = [loki.process.sdk_json.receiver]
}}

{process}
loki.write "default" {{
  endpoint {{
    url = {push}
  }}
}}
"#
    )
}

/// The objects, by file name: ServiceAccount, ClusterRole, ClusterRoleBinding, ConfigMap and
/// DaemonSet.
pub(super) fn objects(cfg: &Config) -> Vec<(String, Value)> {
    let ns = settings(cfg).namespace;
    let mut cluster_meta = metadata(cfg, NAME, &[]);
    cluster_meta
        .as_object_mut()
        .expect("metadata is an object")
        .remove("namespace");
    let image = images()
        .get("alloy")
        .expect("compose/images.toml pins alloy")
        .image
        .clone();
    let selector = json!({ "app.kubernetes.io/name": NAME });
    let mut pod_meta = json!({ "labels": selector });
    pod_meta["labels"]["app.kubernetes.io/part-of"] = json!(cfg.project);
    vec![
        (
            "serviceaccount".into(),
            json!({
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": metadata(cfg, NAME, &[]),
                "automountServiceAccountToken": true,
            }),
        ),
        (
            "clusterrole".into(),
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRole",
                "metadata": cluster_meta,
                "rules": [{ "apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"] }],
            }),
        ),
        (
            "clusterrolebinding".into(),
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRoleBinding",
                "metadata": cluster_meta,
                "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": NAME },
                "subjects": [{ "kind": "ServiceAccount", "name": NAME, "namespace": ns }],
            }),
        ),
        (
            "configmap".into(),
            json!({
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": metadata(cfg, NAME, &[]),
                "data": { CONFIG_KEY: config(cfg) },
            }),
        ),
        (
            "daemonset".into(),
            json!({
                "apiVersion": "apps/v1",
                "kind": "DaemonSet",
                "metadata": metadata(cfg, NAME, &[]),
                "spec": {
                    "selector": { "matchLabels": selector },
                    "template": {
                        "metadata": pod_meta,
                        "spec": {
                            "serviceAccountName": NAME,
                            "securityContext": { "seccompProfile": { "type": "RuntimeDefault" } },
                            "tolerations": [{ "operator": "Exists", "effect": "NoSchedule" }],
                            "containers": [{
                                "name": "alloy",
                                "image": image,
                                "args": [
                                    "run",
                                    format!("/etc/alloy/{CONFIG_KEY}"),
                                    format!("--storage.path={STORAGE_PATH}"),
                                    "--server.http.listen-addr=0.0.0.0:12345",
                                    "--stability.level=generally-available",
                                ],
                                "env": [{ "name": "NODE_NAME", "valueFrom": { "fieldRef": { "fieldPath": "spec.nodeName" } } }],
                                "ports": [{ "name": "http-metrics", "containerPort": 12345 }],
                                "readinessProbe": { "httpGet": { "path": "/-/ready", "port": "http-metrics" }, "periodSeconds": 10 },
                                "resources": {
                                    "requests": { "cpu": "50m", "memory": "128Mi" },
                                    "limits": { "cpu": "500m", "memory": "512Mi" },
                                },
                                // Root, because the kubelet writes the pod logs readable by root
                                // only; but no capability, no privilege escalation, nothing written
                                // outside the storage path.
                                "securityContext": {
                                    "runAsUser": 0,
                                    "readOnlyRootFilesystem": true,
                                    "allowPrivilegeEscalation": false,
                                    "privileged": false,
                                    "capabilities": { "drop": ["ALL"] },
                                },
                                "volumeMounts": [
                                    { "name": "config", "mountPath": "/etc/alloy", "readOnly": true },
                                    { "name": "pods", "mountPath": "/var/log/pods", "readOnly": true },
                                    { "name": "storage", "mountPath": STORAGE_PATH },
                                    { "name": "tmp", "mountPath": "/tmp" },
                                ],
                            }],
                            "volumes": [
                                { "name": "config", "configMap": { "name": NAME } },
                                { "name": "pods", "hostPath": { "path": "/var/log/pods", "type": "Directory" } },
                                { "name": "storage", "hostPath": { "path": STORAGE_PATH, "type": "DirectoryOrCreate" } },
                                { "name": "tmp", "emptyDir": { "sizeLimit": "64Mi" } },
                            ],
                        },
                    },
                },
            }),
        ),
    ]
}
