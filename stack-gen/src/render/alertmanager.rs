//! `alertmanager/alertmanager.yml` and the container's `entrypoint.sh`.
//!
//! Alertmanager does not expand environment variables in its configuration, and secrets must
//! not be written into generated files. So the entrypoint (run by the image's busybox `sh`)
//! copies each secret from the environment (compose reads it from `.env`) into a file under
//! `/tmp/obs-secrets`, readable by the Alertmanager user only, and the configuration points at
//! those files: `api_url_file` for Slack, `auth_password_file` for email. The webhook
//! receiver's `url_file` only exists from Alertmanager 0.26 on, which older `amtool` versions
//! (Debian's 0.25) reject, so the webhook URL is a placeholder that the entrypoint replaces in a
//! private copy of this file before it starts Alertmanager.

use serde::Serialize;

use crate::model::{Config, Duration, Receiver};

/// Directory inside the container where the entrypoint writes secrets.
pub const SECRETS_DIR: &str = "/tmp/obs-secrets";

/// The title of a Slack notification: status, alert and severity.
pub const SLACK_TITLE: &str =
    "{{ .Status | toUpper }}: {{ .CommonLabels.alertname }} ({{ .CommonLabels.severity }})";

/// The text of a Slack notification: for each alert its summary, its description, and the
/// links to its runbook and to the dashboard panel that shows its series (both stamped on every
/// bundled alert; an alert of your own without them shows neither link).
pub const SLACK_TEXT: &str = "{{ range .Alerts }}*{{ .Annotations.summary }}*\n{{ .Annotations.description }}\n{{ if .Annotations.runbook_url }}<{{ .Annotations.runbook_url }}|Runbook>{{ end }}{{ if and .Annotations.runbook_url .Annotations.dashboard_url }} | {{ end }}{{ if .Annotations.dashboard_url }}<{{ .Annotations.dashboard_url }}|Dashboard>{{ end }}\n{{ end }}";

/// The HTML body of a notification email: the same as [`SLACK_TEXT`], one paragraph per alert.
pub const EMAIL_HTML: &str = "{{ range .Alerts }}<p><b>{{ .Status | toUpper }}: {{ .Annotations.summary }}</b><br>{{ .Annotations.description }}<br>{{ if .Annotations.runbook_url }}<a href=\"{{ .Annotations.runbook_url }}\">Runbook</a> {{ end }}{{ if .Annotations.dashboard_url }}<a href=\"{{ .Annotations.dashboard_url }}\">Dashboard</a>{{ end }}</p>{{ end }}";

/// The plain-text body of a notification email.
pub const EMAIL_TEXT: &str = "{{ range .Alerts }}{{ .Status | toUpper }}: {{ .Annotations.summary }}\n{{ .Annotations.description }}\n{{ if .Annotations.runbook_url }}Runbook: {{ .Annotations.runbook_url }}\n{{ end }}{{ if .Annotations.dashboard_url }}Dashboard: {{ .Annotations.dashboard_url }}\n{{ end }}\n{{ end }}";

/// The placeholder the entrypoint replaces with the webhook URL from the environment.
pub const WEBHOOK_PLACEHOLDER: &str = "https://alert-webhook.invalid/replaced-at-start-from-env";

#[derive(Serialize)]
struct AlertmanagerConfig {
    route: Route,
    inhibit_rules: Vec<InhibitRule>,
    receivers: Vec<ReceiverDef>,
}

#[derive(Serialize)]
struct Route {
    receiver: &'static str,
    group_by: Vec<&'static str>,
    group_wait: Duration,
    group_interval: Duration,
    repeat_interval: Duration,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    routes: Vec<SubRoute>,
}

#[derive(Serialize)]
struct SubRoute {
    matchers: Vec<&'static str>,
    receiver: &'static str,
    repeat_interval: Duration,
}

#[derive(Serialize)]
struct InhibitRule {
    source_matchers: Vec<String>,
    target_matchers: Vec<String>,
    equal: Vec<&'static str>,
}

#[derive(Serialize)]
struct ReceiverDef {
    name: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    webhook_configs: Vec<Webhook>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    slack_configs: Vec<Slack>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    email_configs: Vec<Email>,
}

#[derive(Serialize)]
struct Webhook {
    url: &'static str,
    send_resolved: bool,
}

#[derive(Serialize)]
struct Slack {
    api_url_file: String,
    channel: String,
    send_resolved: bool,
    title: &'static str,
    text: &'static str,
}

#[derive(Serialize)]
struct Email {
    to: String,
    from: String,
    smarthost: String,
    auth_username: String,
    auth_password_file: String,
    require_tls: bool,
    send_resolved: bool,
    html: &'static str,
    text: &'static str,
}

fn receiver(cfg: &Config, name: &'static str) -> ReceiverDef {
    let a = &cfg.alerting;
    let mut r = ReceiverDef {
        name,
        webhook_configs: vec![],
        slack_configs: vec![],
        email_configs: vec![],
    };
    match &a.receiver {
        Receiver::None => {}
        Receiver::Webhook { .. } => r.webhook_configs.push(Webhook {
            url: WEBHOOK_PLACEHOLDER,
            send_resolved: true,
        }),
        Receiver::Slack { channel, .. } => r.slack_configs.push(Slack {
            api_url_file: format!("{SECRETS_DIR}/slack_api_url"),
            channel: channel.clone(),
            send_resolved: true,
            title: SLACK_TITLE,
            text: SLACK_TEXT,
        }),
        Receiver::Email {
            to,
            from,
            smarthost,
            username,
            ..
        } => r.email_configs.push(Email {
            to: to.clone(),
            from: from.clone(),
            smarthost: smarthost.to_string(),
            auth_username: username.clone().unwrap_or_else(|| from.clone()),
            auth_password_file: format!("{SECRETS_DIR}/smtp_password"),
            require_tls: true,
            send_resolved: true,
            html: EMAIL_HTML,
            text: EMAIL_TEXT,
        }),
    }
    r
}

/// A critical alert silences the warning of the same alert and job; with SLOs, an SLO's fast
/// burn (the page) also silences its slow burn (the ticket), which a burn fast enough to page
/// usually sets off too.
fn inhibit_rules(cfg: &Config) -> Vec<InhibitRule> {
    let mut rules = vec![InhibitRule {
        source_matchers: vec!["severity=\"critical\"".into()],
        target_matchers: vec!["severity=\"warning\"".into()],
        equal: vec!["alertname", "job"],
    }];
    if !cfg.slo.is_empty() {
        let alert = |name: &str| vec![format!("alertname=\"{name}\"")];
        rules.push(InhibitRule {
            source_matchers: alert(obs_mixin::slo::FAST_BURN),
            target_matchers: alert(obs_mixin::slo::SLOW_BURN),
            equal: vec!["slo"],
        });
    }
    rules
}

/// Renders `alertmanager.yml`: critical and warning alerts routed by severity (critical repeats
/// more often), a critical alert inhibits the warning of the same alert and job (and an SLO's
/// fast burn its slow burn), `severity="none"` goes nowhere.
pub fn render(cfg: &Config) -> String {
    let a = &cfg.alerting;
    let or = |value: &Option<Duration>, default| {
        value
            .clone()
            .unwrap_or_else(|| Duration::from_static(default))
    };
    let repeat = |default| or(&a.repeat_interval, default);
    let doc = AlertmanagerConfig {
        route: Route {
            receiver: "warning",
            group_by: vec!["alertname", "job"],
            group_wait: or(&a.group_wait, "30s"),
            group_interval: or(&a.group_interval, "5m"),
            repeat_interval: repeat("12h"),
            routes: vec![
                SubRoute {
                    matchers: vec!["severity=\"critical\""],
                    receiver: "critical",
                    repeat_interval: repeat("1h"),
                },
                SubRoute {
                    matchers: vec!["severity=\"warning\""],
                    receiver: "warning",
                    repeat_interval: repeat("12h"),
                },
                SubRoute {
                    matchers: vec!["severity=~\"none|info\""],
                    receiver: "blackhole",
                    repeat_interval: repeat("24h"),
                },
            ],
        },
        inhibit_rules: inhibit_rules(cfg),
        receivers: vec![
            receiver(cfg, "critical"),
            receiver(cfg, "warning"),
            ReceiverDef {
                name: "blackhole",
                webhook_configs: vec![],
                slack_configs: vec![],
                email_configs: vec![],
            },
        ],
    };
    let note: &[&str] = match &cfg.alerting.receiver {
        Receiver::None => &[
            "No receiver is configured (obs.toml [alerting] receiver = \"none\"): alerts show in the",
            "Alertmanager UI only.",
        ],
        Receiver::Webhook { .. } => &[
            "The webhook URL below is a placeholder: entrypoint.sh replaces it with the value of the",
            "environment variable named in obs.toml (set it in .env) in a private copy of this file,",
            "because Alertmanager does not expand environment variables in its configuration.",
        ],
        Receiver::Slack { .. } | Receiver::Email { .. } => &[
            "Secrets are read from files that entrypoint.sh writes from the environment (set in .env)",
            "at start, because Alertmanager does not expand environment variables in its configuration.",
        ],
    };
    super::yaml_with_note(&doc, &super::comment(note))
}

/// Renders `entrypoint.sh`: writes the receiver's secret from the environment, then starts
/// Alertmanager.
pub fn entrypoint(cfg: &Config) -> String {
    let a = &cfg.alerting;
    let mut s = String::from("#!/bin/sh\n");
    s.push_str(super::HEADER);
    s.push_str(
        "# Alertmanager does not expand environment variables in its configuration, so this script\n\
         # moves the receiver's secret from the environment (compose reads it from .env) into a file\n\
         # only the Alertmanager user can read, then starts Alertmanager. Secrets are never printed.\n\
         set -eu\numask 077\n",
    );
    match &cfg.local {
        None => s.push_str(&format!(
            "secrets={SECRETS_DIR}\nmkdir -p \"$secrets\"\nconfig=/etc/alertmanager/alertmanager.yml\n"
        )),
        // Local mode: everything lives beside this script.
        Some(_) => s.push_str(
            "here=$(cd \"$(dirname \"$0\")\" && pwd)\nsecrets=\"$here/.secrets\"\nmkdir -p \"$secrets\"\nconfig=\"$here/alertmanager.yml\"\n",
        ),
    }
    // The receiver's secret variable, as obs.toml names it.
    let var = a.receiver.secret_var().map(|v| v.name).unwrap_or_default();
    match &a.receiver {
        Receiver::None => {}
        Receiver::Webhook { .. } => {
            let script = r#"url="${VAR:-}"
case "$url" in
  '') echo "obs: VAR is not set in .env; webhook notifications will fail" >&2 ;;
  *[\ \"\'\\]*) echo "obs: VAR must not contain spaces, quotes or backslashes" >&2; exit 1 ;;
  *) escaped=$(printf '%s' "$url" | sed -e 's/[\\&|]/\\&/g')
     sed "s|PLACEHOLDER|$escaped|g" "$config" > "$secrets/alertmanager.yml"
     config="$secrets/alertmanager.yml" ;;
esac
"#;
            s.push_str(
                &script
                    .replace("VAR", var)
                    .replace("PLACEHOLDER", WEBHOOK_PLACEHOLDER),
            );
        }
        Receiver::Slack { .. } => {
            s.push_str(&format!(
                "[ -n \"${{{var}:-}}\" ] || echo \"obs: {var} is not set in .env; Slack notifications will fail\" >&2\n\
                 printf '%s' \"${{{var}:-}}\" > \"$secrets/slack_api_url\"\n"
            ));
        }
        Receiver::Email { .. } => {
            s.push_str(&format!(
                "[ -n \"${{{var}:-}}\" ] || echo \"obs: {var} is not set in .env; email notifications will fail\" >&2\n\
                 printf '%s' \"${{{var}:-}}\" > \"$secrets/smtp_password\"\n"
            ));
        }
    }
    match &cfg.local {
        None => s.push_str(
            "exec /bin/alertmanager \\\n  --config.file=\"$config\" \\\n  --storage.path=/alertmanager \\\n  --cluster.listen-address= \\\n  --web.external-url=\"${ALERTMANAGER_EXTERNAL_URL:-http://localhost:9093/}\"\n",
        ),
        Some(local) => s.push_str(&format!(
            "# Local mode (obs.toml [local]): Debian's prometheus-alertmanager, or $ALERTMANAGER.\n\
             exec \"${{ALERTMANAGER:-prometheus-alertmanager}}\" \\\n  --config.file=\"$config\" \\\n  --storage.path=\"$here/data\" \\\n  --cluster.listen-address= \\\n  --web.listen-address={addr} \\\n  --web.external-url=\"${{ALERTMANAGER_EXTERNAL_URL:-http://{addr}/}}\"\n",
            addr = local.alertmanager
        )),
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Alerting;

    fn receiver_of(keys: &[(&str, &str)]) -> Config {
        let mut table = toml::Table::new();
        for (k, v) in keys {
            table.insert(k.to_string(), toml::Value::String(v.to_string()));
        }
        Config {
            alerting: table.try_into::<Alerting>().unwrap(),
            ..Config::default()
        }
    }

    #[test]
    fn slack_and_email_show_the_summary_the_runbook_and_the_dashboard() {
        for template in [SLACK_TEXT, EMAIL_HTML, EMAIL_TEXT] {
            for annotation in ["summary", "runbook_url", "dashboard_url"] {
                assert!(
                    template.contains(&format!(".Annotations.{annotation}")),
                    "{annotation} missing from {template}"
                );
            }
        }
        let slack = render(&receiver_of(&[
            ("receiver", "slack"),
            ("slack_channel", "#ops"),
            ("slack_api_url_env", "SLACK_URL"),
        ]));
        let doc: serde_json::Value = serde_yaml_ng::from_str(&slack).unwrap();
        assert_eq!(doc["receivers"][0]["slack_configs"][0]["text"], SLACK_TEXT);
        let email = render(&receiver_of(&[
            ("receiver", "email"),
            ("email_to", "a@example.com"),
            ("email_from", "b@example.com"),
            ("email_smarthost", "smtp.example.com:587"),
            ("email_password_env", "SMTP_PASSWORD"),
        ]));
        let doc: serde_json::Value = serde_yaml_ng::from_str(&email).unwrap();
        assert_eq!(doc["receivers"][0]["email_configs"][0]["html"], EMAIL_HTML);
        assert_eq!(doc["receivers"][0]["email_configs"][0]["text"], EMAIL_TEXT);
    }
}
