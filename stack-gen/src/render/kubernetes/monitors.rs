//! The Prometheus Operator objects: a `ServiceMonitor` per service, one `PrometheusRule` with
//! the mixin's rule groups, and the `AlertmanagerConfig` routing by severity.

use serde_json::{Value, json};

use super::{ALERTING_SECRET, RELEASE_LABEL, metadata, settings};
use crate::model::{Config, KubernetesService, Receiver};

/// One `ServiceMonitor` per service, by service name. Each scrapes the named port of the
/// Services its selector matches in the service's namespace, and sets `job` to the service
/// name (the operator would take the Service's name), because the bundled rules select jobs by
/// the names of obs.toml.
pub(super) fn service_monitors(cfg: &Config) -> Vec<(String, Value)> {
    let release = settings(cfg).prometheus_release;
    cfg.services
        .iter()
        .map(|s| {
            let name = format!("obs-{}", s.name);
            let object = json!({
                "apiVersion": "monitoring.coreos.com/v1",
                "kind": "ServiceMonitor",
                "metadata": metadata(cfg, &name, &[(RELEASE_LABEL, &release)]),
                "spec": {
                    "selector": { "matchLabels": s.selector_or_default() },
                    "namespaceSelector": { "matchNames": [s.namespace_or_default()] },
                    "endpoints": [{
                        "port": s.port_or_default(),
                        "path": s.metrics_path,
                        "interval": cfg.scrape_interval,
                        "scheme": "http",
                        "relabelings": [{
                            "action": "replace",
                            "targetLabel": "job",
                            "replacement": s.name,
                        }],
                    }],
                },
            });
            (s.name.clone(), object)
        })
        .collect()
}

/// The `PrometheusRule`: every rule group of obs-mixin, as the compose target's rule files
/// hold them.
pub(super) fn prometheus_rule(cfg: &Config) -> Value {
    let release = settings(cfg).prometheus_release;
    let groups: Vec<Value> = obs_mixin::rules::groups(&cfg.thresholds_for_rules())
        .into_iter()
        .map(|(_, g)| serde_json::to_value(g).expect("rule groups convert to JSON"))
        .collect();
    json!({
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": metadata(cfg, "obs-rules", &[(RELEASE_LABEL, &release)]),
        "spec": { "groups": groups },
    })
}

fn matcher(name: &str, value: &str, regex: bool) -> Value {
    json!({ "name": name, "value": value, "matchType": if regex { "=~" } else { "=" } })
}

fn secret_key(key: &str) -> Value {
    json!({ "name": ALERTING_SECRET, "key": key })
}

/// The receiver definition of `name` for obs.toml's `[alerting]`: secrets are keys of the
/// `obs-alerting` Secret, named after the variables of obs.toml.
fn receiver(cfg: &Config, name: &str) -> Value {
    let a = &cfg.alerting;
    let mut r = json!({ "name": name });
    match a.receiver {
        Receiver::None => {}
        Receiver::Webhook => {
            r["webhookConfigs"] = json!([{
                "urlSecret": secret_key(a.webhook_url_env()),
                "sendResolved": true,
            }]);
        }
        Receiver::Slack => {
            r["slackConfigs"] = json!([{
                "apiURL": secret_key(a.slack_api_url_env()),
                "channel": a.slack_channel.clone().unwrap_or_default(),
                "sendResolved": true,
                "title": "{{ .Status | toUpper }}: {{ .CommonLabels.alertname }} ({{ .CommonLabels.severity }})",
                "text": "{{ range .Alerts }}{{ .Annotations.summary }}\n{{ .Annotations.description }}\n{{ end }}",
            }]);
        }
        Receiver::Email => {
            r["emailConfigs"] = json!([{
                "to": a.email_to.clone().unwrap_or_default(),
                "from": a.email_from.clone().unwrap_or_default(),
                "smarthost": a.email_smarthost.clone().unwrap_or_default(),
                "authUsername": a.email_username.clone().or_else(|| a.email_from.clone()).unwrap_or_default(),
                "authPassword": secret_key(a.email_password_env()),
                "requireTLS": true,
                "sendResolved": true,
            }]);
        }
    }
    r
}

/// The `AlertmanagerConfig`: the compose target's routing (critical and warning by severity,
/// a critical alert inhibits the warning of the same alert and job, `none`/`info` go nowhere).
pub(super) fn alertmanager_config(cfg: &Config) -> Value {
    let a = &cfg.alerting;
    let release = settings(cfg).prometheus_release;
    let repeat = |default: &str| a.repeat_interval.clone().unwrap_or_else(|| default.into());
    json!({
        "apiVersion": "monitoring.coreos.com/v1alpha1",
        "kind": "AlertmanagerConfig",
        "metadata": metadata(cfg, "obs-alerting", &[(RELEASE_LABEL, &release)]),
        "spec": {
            "route": {
                "receiver": "warning",
                "groupBy": ["alertname", "job"],
                "groupWait": a.group_wait.clone().unwrap_or_else(|| "30s".into()),
                "groupInterval": a.group_interval.clone().unwrap_or_else(|| "5m".into()),
                "repeatInterval": repeat("12h"),
                "routes": [
                    { "matchers": [matcher("severity", "critical", false)], "receiver": "critical", "repeatInterval": repeat("1h") },
                    { "matchers": [matcher("severity", "warning", false)], "receiver": "warning", "repeatInterval": repeat("12h") },
                    { "matchers": [matcher("severity", "none|info", true)], "receiver": "blackhole", "repeatInterval": repeat("24h") },
                ],
            },
            "inhibitRules": [{
                "sourceMatch": [matcher("severity", "critical", false)],
                "targetMatch": [matcher("severity", "warning", false)],
                "equal": ["alertname", "job"],
            }],
            "receivers": [receiver(cfg, "critical"), receiver(cfg, "warning"), json!({ "name": "blackhole" })],
        },
    })
}
