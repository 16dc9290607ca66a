//! The `[alerting]` table: where Alertmanager sends notifications ([`Receiver`], one variant per
//! kind carrying its own fields) and how often.
//!
//! In `obs.toml` the table stays flat (`receiver = "slack"` beside `slack_channel = …`), as
//! people write it; [`AlertingKeys`] is that written form, and turning it into an [`Alerting`]
//! is the one place that checks which keys a receiver needs and reads.

use serde::{Deserialize, Serialize};

use obs_mixin::Duration;

use super::addr::HostPort;

/// The kind of receiver, as `receiver =` in `obs.toml` and `--receiver` name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ReceiverKind {
    /// Nowhere: alerts are visible in the Alertmanager UI only.
    #[default]
    None,
    /// An HTTP webhook (Alertmanager's webhook payload).
    Webhook,
    /// A Slack incoming webhook.
    Slack,
    /// Email through an SMTP smarthost.
    Email,
}

impl ReceiverKind {
    /// The name used in obs.toml and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            ReceiverKind::None => "none",
            ReceiverKind::Webhook => "webhook",
            ReceiverKind::Slack => "slack",
            ReceiverKind::Email => "email",
        }
    }
}

/// Where alerts go, with what that receiver needs. Secrets are never stored here: only the
/// names of the environment variables (set in `.env`) that hold them; `None` takes the default
/// name, so `obs.toml` lists only what the user chose.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Receiver {
    /// Nowhere: alerts are visible in the Alertmanager UI only.
    #[default]
    None,
    /// An HTTP webhook.
    Webhook {
        /// Variable holding the webhook URL (`webhook_url_env`). Default `ALERT_WEBHOOK_URL`.
        url_env: Option<String>,
    },
    /// A Slack incoming webhook.
    Slack {
        /// Variable holding the webhook URL (`slack_api_url_env`). Default `SLACK_WEBHOOK_URL`.
        api_url_env: Option<String>,
        /// The channel, e.g. `#alerts` (`slack_channel`).
        channel: String,
    },
    /// Email through an SMTP smarthost.
    Email {
        /// Recipient address (`email_to`).
        to: String,
        /// Sender address (`email_from`).
        from: String,
        /// SMTP server (`email_smarthost`).
        smarthost: HostPort,
        /// SMTP user name (`email_username`). Default: the sender address.
        username: Option<String>,
        /// Variable holding the SMTP password (`email_password_env`). Default `SMTP_PASSWORD`.
        password_env: Option<String>,
    },
}

impl Receiver {
    /// Its kind.
    pub fn kind(&self) -> ReceiverKind {
        match self {
            Receiver::None => ReceiverKind::None,
            Receiver::Webhook { .. } => ReceiverKind::Webhook,
            Receiver::Slack { .. } => ReceiverKind::Slack,
            Receiver::Email { .. } => ReceiverKind::Email,
        }
    }

    /// The variable holding its secret, with its obs.toml key and what it holds; `None` for
    /// [`Receiver::None`].
    pub fn secret_var(&self) -> Option<SecretVar<'_>> {
        let (key, name, default, holds) = match self {
            Receiver::None => return None,
            Receiver::Webhook { url_env } => (
                "webhook_url_env",
                url_env,
                "ALERT_WEBHOOK_URL",
                "URL Alertmanager posts alerts to",
            ),
            Receiver::Slack { api_url_env, .. } => (
                "slack_api_url_env",
                api_url_env,
                "SLACK_WEBHOOK_URL",
                "Slack incoming-webhook URL",
            ),
            Receiver::Email { password_env, .. } => (
                "email_password_env",
                password_env,
                "SMTP_PASSWORD",
                "SMTP password",
            ),
        };
        Some(SecretVar {
            key,
            name: name.as_deref().unwrap_or(default),
            holds,
        })
    }
}

/// The environment variable holding a receiver's secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecretVar<'a> {
    /// Its key in `[alerting]`, e.g. `slack_api_url_env`.
    pub key: &'static str,
    /// The variable's name, e.g. `SLACK_WEBHOOK_URL`.
    pub name: &'a str,
    /// What it holds, for `.env.example`.
    pub holds: &'static str,
}

/// The `[alerting]` table.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "AlertingKeys", into = "AlertingKeys")]
pub struct Alerting {
    /// Which receiver notifications go to, with its settings.
    pub receiver: Receiver,
    /// How long Alertmanager waits to batch the first notification of a group. Default `30s`.
    pub group_wait: Option<Duration>,
    /// How long Alertmanager waits before notifying about new alerts of a group already
    /// notified. Default `5m`.
    pub group_interval: Option<Duration>,
    /// How long before a notification still firing is sent again. Default `1h` for critical
    /// alerts, `12h` for the rest; when set, every route uses it.
    pub repeat_interval: Option<Duration>,
}

/// `[alerting]` as written in `obs.toml`: one optional key per setting. The flags and the
/// wizard fill one too, so they are checked exactly as the file is (`Alerting::try_from`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertingKeys {
    #[serde(default)]
    /// `receiver`: which kind of receiver.
    pub receiver: ReceiverKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Variable holding the webhook URL.
    pub webhook_url_env: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Variable holding the Slack incoming-webhook URL.
    pub slack_api_url_env: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Slack channel, e.g. `#alerts`.
    pub slack_channel: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Recipient address.
    pub email_to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Sender address.
    pub email_from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// SMTP server.
    pub email_smarthost: Option<HostPort>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// SMTP user name.
    pub email_username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Variable holding the SMTP password.
    pub email_password_env: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// See [`Alerting::group_wait`].
    pub group_wait: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// See [`Alerting::group_interval`].
    pub group_interval: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// See [`Alerting::repeat_interval`].
    pub repeat_interval: Option<Duration>,
}

impl TryFrom<AlertingKeys> for Alerting {
    /// One line naming the key, e.g. `alerting.slack_channel: … is needed for receiver = "slack"`.
    type Error = String;

    fn try_from(k: AlertingKeys) -> Result<Self, String> {
        let kind = k.receiver;
        let needed = |key: &str, what: &str, value: Option<String>| {
            value.ok_or_else(|| {
                format!(
                    "alerting.{key}: {what} is needed for receiver = \"{}\"",
                    kind.as_str()
                )
            })
        };
        // A key of another receiver would be silently ignored: refuse it, as unknown keys are.
        let keys_of = |of: ReceiverKind| -> Vec<(&'static str, bool)> {
            match of {
                ReceiverKind::None => vec![],
                ReceiverKind::Webhook => vec![("webhook_url_env", k.webhook_url_env.is_some())],
                ReceiverKind::Slack => vec![
                    ("slack_api_url_env", k.slack_api_url_env.is_some()),
                    ("slack_channel", k.slack_channel.is_some()),
                ],
                ReceiverKind::Email => vec![
                    ("email_to", k.email_to.is_some()),
                    ("email_from", k.email_from.is_some()),
                    ("email_smarthost", k.email_smarthost.is_some()),
                    ("email_username", k.email_username.is_some()),
                    ("email_password_env", k.email_password_env.is_some()),
                ],
            }
        };
        for other in [
            ReceiverKind::Webhook,
            ReceiverKind::Slack,
            ReceiverKind::Email,
        ] {
            if other == kind {
                continue;
            }
            if let Some((key, _)) = keys_of(other).into_iter().find(|(_, set)| *set) {
                return Err(format!(
                    "alerting.{key}: only read with receiver = \"{}\" (receiver is \"{}\"); remove it or change receiver",
                    other.as_str(),
                    kind.as_str()
                ));
            }
        }
        let receiver = match kind {
            ReceiverKind::None => Receiver::None,
            ReceiverKind::Webhook => Receiver::Webhook {
                url_env: k.webhook_url_env,
            },
            ReceiverKind::Slack => Receiver::Slack {
                api_url_env: k.slack_api_url_env,
                channel: needed(
                    "slack_channel",
                    "a Slack channel like \"#alerts\"",
                    k.slack_channel,
                )?,
            },
            ReceiverKind::Email => Receiver::Email {
                to: needed("email_to", "an email address", k.email_to)?,
                from: needed("email_from", "an email address", k.email_from)?,
                smarthost: k.email_smarthost.ok_or_else(|| {
                    "alerting.email_smarthost: an SMTP host:port is needed for receiver = \"email\""
                        .to_string()
                })?,
                username: k.email_username,
                password_env: k.email_password_env,
            },
        };
        Ok(Alerting {
            receiver,
            group_wait: k.group_wait,
            group_interval: k.group_interval,
            repeat_interval: k.repeat_interval,
        })
    }
}

impl From<Alerting> for AlertingKeys {
    fn from(a: Alerting) -> AlertingKeys {
        let mut k = AlertingKeys {
            receiver: a.receiver.kind(),
            group_wait: a.group_wait,
            group_interval: a.group_interval,
            repeat_interval: a.repeat_interval,
            ..AlertingKeys::default()
        };
        match a.receiver {
            Receiver::None => {}
            Receiver::Webhook { url_env } => k.webhook_url_env = url_env,
            Receiver::Slack {
                api_url_env,
                channel,
            } => {
                k.slack_api_url_env = api_url_env;
                k.slack_channel = Some(channel);
            }
            Receiver::Email {
                to,
                from,
                smarthost,
                username,
                password_env,
            } => {
                k.email_to = Some(to);
                k.email_from = Some(from);
                k.email_smarthost = Some(smarthost);
                k.email_username = username;
                k.email_password_env = password_env;
            }
        }
        k
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(receiver: ReceiverKind) -> AlertingKeys {
        AlertingKeys {
            receiver,
            ..AlertingKeys::default()
        }
    }

    #[test]
    fn each_receiver_needs_its_keys() {
        assert_eq!(
            Alerting::try_from(keys(ReceiverKind::Slack)).unwrap_err(),
            "alerting.slack_channel: a Slack channel like \"#alerts\" is needed for receiver = \"slack\""
        );
        let mut email = keys(ReceiverKind::Email);
        email.email_to = Some("a@b".into());
        email.email_from = Some("c@d".into());
        assert_eq!(
            Alerting::try_from(email.clone()).unwrap_err(),
            "alerting.email_smarthost: an SMTP host:port is needed for receiver = \"email\""
        );
        email.email_smarthost = Some("smtp:25".parse().unwrap());
        let a = Alerting::try_from(email.clone()).unwrap();
        assert_eq!(a.receiver.kind(), ReceiverKind::Email);
        assert_eq!(a.receiver.secret_var().unwrap().name, "SMTP_PASSWORD");
        assert_eq!(AlertingKeys::from(a), email, "the written form round-trips");
    }

    #[test]
    fn keys_of_another_receiver_are_refused() {
        let mut k = keys(ReceiverKind::Webhook);
        k.slack_channel = Some("#x".into());
        assert_eq!(
            Alerting::try_from(k).unwrap_err(),
            "alerting.slack_channel: only read with receiver = \"slack\" (receiver is \"webhook\"); remove it or change receiver"
        );
    }
}
