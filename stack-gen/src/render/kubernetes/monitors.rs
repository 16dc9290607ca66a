//! The Prometheus Operator objects: a `ServiceMonitor` per service, one `PrometheusRule` with
//! the mixin's rule groups, and the `AlertmanagerConfig` routing by severity.

use serde_json::{Value, json};

use super::{ALERTING_SECRET, RELEASE_LABEL, metadata, settings};
use crate::model::{Config, Duration, KubernetesService, Receiver};
use crate::render::alertmanager;

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
    let groups: Vec<Value> = obs_mixin::rule_groups(&cfg.thresholds_for_rules())
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

/// The receiver definition of `name` for obs.toml's `[alerting]`: the secret is a key of the
/// `obs-alerting` Secret, named after the variable of obs.toml.
fn receiver(cfg: &Config, name: &str) -> Value {
    let receiver = &cfg.alerting.receiver;
    let mut r = json!({ "name": name });
    let Some(secret) = receiver.secret_var() else {
        return r;
    };
    let secret = secret_key(secret.name);
    match receiver {
        Receiver::None => {}
        Receiver::Webhook { .. } => {
            r["webhookConfigs"] = json!([{ "urlSecret": secret, "sendResolved": true }]);
        }
        Receiver::Slack { channel, .. } => {
            r["slackConfigs"] = json!([{
                "apiURL": secret,
                "channel": channel,
                "sendResolved": true,
                "title": alertmanager::SLACK_TITLE,
                "text": alertmanager::SLACK_TEXT,
            }]);
        }
        Receiver::Email {
            to,
            from,
            smarthost,
            username,
            ..
        } => {
            r["emailConfigs"] = json!([{
                "to": to,
                "from": from,
                "smarthost": smarthost.to_string(),
                "authUsername": username.clone().unwrap_or_else(|| from.clone()),
                "authPassword": secret,
                "requireTLS": true,
                "sendResolved": true,
                "html": alertmanager::EMAIL_HTML,
                "text": alertmanager::EMAIL_TEXT,
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
    let or = |value: &Option<Duration>, default| {
        value
            .clone()
            .unwrap_or_else(|| Duration::from_static(default))
    };
    let repeat = |default| or(&a.repeat_interval, default);
    json!({
        "apiVersion": "monitoring.coreos.com/v1alpha1",
        "kind": "AlertmanagerConfig",
        "metadata": metadata(cfg, "obs-alerting", &[(RELEASE_LABEL, &release)]),
        "spec": {
            "route": {
                "receiver": "warning",
                "groupBy": ["alertname", "job"],
                "groupWait": or(&a.group_wait, "30s"),
                "groupInterval": or(&a.group_interval, "5m"),
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
