//! The interactive questions of `obs-gen init`. The wizard asks only the questions its
//! [`Answers`] leave open (those no flag answered), and writes each answer where a flag would,
//! so the wizard and the flags always produce the same `obs.toml`. Enter takes the model's
//! default.

use dialoguer::{Confirm, Input, Select};

use super::answers::{Answers, DatabaseKind, availability, default_address};
use crate::error::Error;
use crate::model::PublicUrl;
use crate::model::{
    Alerting, AlertingKeys, Config, Database, Duration, Frontend, HostPort, Kubernetes, LogShipper,
    ReceiverKind, Service, Target,
};
use crate::validate::is_env_name;

fn io(e: dialoguer::Error) -> Error {
    Error::Io(format!("wizard: {e}"))
}

fn text(prompt: &str, default: &str) -> Result<String, Error> {
    Input::<String>::new()
        .with_prompt(prompt)
        .default(default.to_string())
        .interact_text()
        .map_err(io)
}

fn yes_no(prompt: &str, default: bool) -> Result<bool, Error> {
    Confirm::new()
        .with_prompt(prompt)
        .default(default)
        .interact()
        .map_err(io)
}

/// Asks until the answer parses as a `T`, with the message of its parse error.
fn typed<T>(prompt: &str, default: &str) -> Result<T, Error>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    let answer = Input::<String>::new()
        .with_prompt(prompt)
        .default(default.to_string())
        .validate_with(|s: &String| s.parse::<T>().map(drop).map_err(|e| e.to_string()))
        .interact_text()
        .map_err(io)?;
    answer
        .parse()
        .map_err(|e: T::Err| Error::Input(format!("wizard: {e}")))
}

fn host_port(prompt: &str, default: &str) -> Result<HostPort, Error> {
    typed(prompt, default)
}

fn env_var(prompt: &str, default: &str) -> Result<String, Error> {
    Input::<String>::new()
        .with_prompt(prompt)
        .default(default.to_string())
        .validate_with(|s: &String| {
            if is_env_name(s) {
                Ok(())
            } else {
                Err("use A-Z, 0-9 and _")
            }
        })
        .interact_text()
        .map_err(io)
}

/// Asks every question `answers` leaves open, and answers it.
pub fn ask(answers: &mut Answers) -> Result<(), Error> {
    eprintln!(
        "obs-gen init: a few questions (each is also a flag; see --help). Enter takes the [default]."
    );
    let defaults = Config::default();
    if answers.project.is_none() {
        answers.project = Some(text("Project name (--project)", &defaults.project)?);
    }
    if answers.environment.is_none() {
        answers.environment = Some(text("Environment (--environment)", &defaults.environment)?);
    }
    if answers.target.is_none() {
        let options = [Target::Compose, Target::Kubernetes];
        let labels = [
            "compose (docker compose on one host)",
            "kubernetes (manifests for kube-prometheus-stack)",
        ];
        let i = Select::new()
            .with_prompt("Target (--target)")
            .items(labels)
            .default(0)
            .interact()
            .map_err(io)?;
        answers.target = Some(options[i]);
    }
    if answers.target == Some(Target::Kubernetes) {
        return ask_kubernetes(answers);
    }
    if answers.services.is_empty() {
        loop {
            let default = if answers.services.is_empty() {
                "app=host.docker.internal:3000"
            } else {
                ""
            };
            let answer: String = Input::<String>::new()
                .with_prompt("Service to scrape, NAME=HOST:PORT (empty to finish) (--service)")
                .default(default.to_string())
                .allow_empty(true)
                .validate_with(|s: &String| -> Result<(), String> {
                    if s.is_empty() {
                        return Ok(());
                    }
                    let (_, target) = s.split_once('=').ok_or("write NAME=HOST:PORT")?;
                    target
                        .trim()
                        .parse::<HostPort>()
                        .map(drop)
                        .map_err(|e| e.to_string())
                })
                .interact_text()
                .map_err(io)?;
            let Some((name, target)) = answer.split_once('=') else {
                break;
            };
            let target = target
                .trim()
                .parse()
                .map_err(|e| Error::Input(format!("wizard: {e}")))?;
            answers.services.push(Service::new(name.trim(), target));
        }
    }
    if answers.slo.is_empty() {
        for service in answers.services.clone() {
            let answer: String = Input::<String>::new()
                .with_prompt(format!(
                    "Availability objective of {} in percent, blank for none (--slo)",
                    service.name
                ))
                .allow_empty(true)
                .validate_with(|s: &String| -> Result<(), &str> {
                    match s.trim() {
                        "" => Ok(()),
                        t => match t.parse::<f64>() {
                            Ok(x) if x > 0.0 && x < 100.0 => Ok(()),
                            _ => Err("a percentage between 0 and 100, e.g. 99.9"),
                        },
                    }
                })
                .interact_text()
                .map_err(io)?;
            if let Ok(objective) = answer.trim().parse::<f64>() {
                answers.slo.push(availability(&service.name, objective));
            }
        }
    }
    if answers.log_shipper.is_none() {
        let options = [LogShipper::Alloy, LogShipper::Promtail, LogShipper::None];
        let labels = [
            "alloy (default)",
            "promtail (end of life since 2026-03-02)",
            "none",
        ];
        let i = Select::new()
            .with_prompt("Log shipper (--log-shipper)")
            .items(labels)
            .default(0)
            .interact()
            .map_err(io)?;
        answers.log_shipper = Some(options[i]);
    }
    ask_databases(answers)?;
    ask_alerting_and_rest(answers)
}

/// Whether to watch PostgreSQL and Redis, and where: both targets ask, with the address found
/// in the application's compose file or the target's default.
fn ask_databases(answers: &mut Answers) -> Result<(), Error> {
    if answers.postgres.is_none() {
        let detected = answers.detected.postgres.clone();
        answers.postgres = Some(
            if yes_no("Watch PostgreSQL? (--postgres)", detected.is_some())? {
                let default = detected.and_then(|d| d.address).unwrap_or_else(|| {
                    default_address(DatabaseKind::Postgres, answers.target.unwrap_or_default())
                });
                Some(Database::at(host_port(
                    "PostgreSQL address",
                    &default.to_string(),
                )?))
            } else {
                None
            },
        );
    }
    if answers.redis.is_none() {
        let detected = answers.detected.redis.clone();
        answers.redis = Some(if yes_no("Watch Redis? (--redis)", detected.is_some())? {
            let default = detected.and_then(|d| d.address).unwrap_or_else(|| {
                default_address(DatabaseKind::Redis, answers.target.unwrap_or_default())
            });
            Some(Database::at(host_port(
                "Redis address",
                &default.to_string(),
            )?))
        } else {
            None
        });
    }
    Ok(())
}

/// The questions of the Kubernetes target: where the manifests go, which release selects them,
/// the services by name (their Service labels and port take the defaults; see obs.toml), and
/// Alloy or no log shipper. The rest is shared with compose.
fn ask_kubernetes(answers: &mut Answers) -> Result<(), Error> {
    let defaults = Kubernetes::default();
    if answers.namespace.is_none() {
        answers.namespace = Some(text(
            "Namespace of the manifests (--namespace)",
            &defaults.namespace,
        )?);
    }
    if answers.prometheus_release.is_none() {
        answers.prometheus_release = Some(text(
            "Release name of kube-prometheus-stack (--prometheus-release)",
            &defaults.prometheus_release,
        )?);
    }
    if answers.services.is_empty() {
        loop {
            let default = if answers.services.is_empty() {
                "app"
            } else {
                ""
            };
            let answer: String = Input::<String>::new()
                .with_prompt("Service to scrape, NAME (empty to finish) (--service)")
                .default(default.to_string())
                .allow_empty(true)
                .interact_text()
                .map_err(io)?;
            if answer.trim().is_empty() {
                break;
            }
            answers.services.push(Service::kubernetes(answer.trim()));
        }
    }
    if answers.log_shipper.is_none() {
        let options = [LogShipper::Alloy, LogShipper::None];
        let i = Select::new()
            .with_prompt("Log shipper (--log-shipper)")
            .items(["alloy (a DaemonSet, default)", "none"])
            .default(0)
            .interact()
            .map_err(io)?;
        answers.log_shipper = Some(options[i]);
    }
    ask_databases(answers)?;
    ask_alerting_and_rest(answers)
}

/// The questions both targets ask last: the alert receiver, retention, tracing and Sentry.
fn ask_alerting_and_rest(answers: &mut Answers) -> Result<(), Error> {
    let defaults = Config::default();
    if answers.alerting.is_none() {
        let options = [
            ReceiverKind::None,
            ReceiverKind::Webhook,
            ReceiverKind::Slack,
            ReceiverKind::Email,
        ];
        let labels = ["none (Alertmanager UI only)", "webhook", "slack", "email"];
        let i = Select::new()
            .with_prompt("Alert receiver (--receiver)")
            .items(labels)
            .default(0)
            .interact()
            .map_err(io)?;
        // The keys given for this receiver are kept; the rest of its keys are asked.
        let mut k = answers.alerting_keys.clone();
        k.receiver = options[i];
        ask_receiver(&mut k)?;
        answers.alerting = Some(Alerting::try_from(k).map_err(Error::Input)?);
    }
    if answers.retention.is_none() {
        answers.retention = Some(typed::<Duration>(
            "Retention of metrics, logs and traces (--retention)",
            defaults.retention.as_str(),
        )?);
    }
    if answers.tracing.is_none() {
        answers.tracing = Some(yes_no(
            "Tracing with Tempo and OTLP? (--tracing)",
            defaults.tracing,
        )?);
    }
    if answers.sentry.is_none() {
        answers.sentry = Some(yes_no(
            "Do the services report to Sentry? (--sentry)",
            defaults.sentry,
        )?);
    }
    if answers.sentry == Some(true) && answers.frontend.is_none() {
        let options = [None, Some(Frontend::Nextjs)];
        let labels = [
            "none",
            "nextjs (@sentry/nextjs, traces continued into the services)",
        ];
        let i = Select::new()
            .with_prompt("Set up Sentry in a web front end too? (--frontend)")
            .items(labels)
            .default(0)
            .interact()
            .map_err(io)?;
        answers.frontend = options[i];
        if answers.frontend.is_some() && answers.public_urls.is_empty() {
            for service in &mut answers.services {
                let answer: String = Input::<String>::new()
                    .with_prompt(format!(
                        "URL browsers call {} at, e.g. https://api.example.com (empty: none) (--public-url)",
                        service.name
                    ))
                    .allow_empty(true)
                    .validate_with(|s: &String| {
                        if s.is_empty() {
                            Ok(())
                        } else {
                            s.parse::<PublicUrl>().map(|_| ())
                        }
                    })
                    .interact_text()
                    .map_err(io)?;
                service.public_url = answer.parse().ok();
            }
        }
    }
    Ok(())
}

/// Asks for the keys receiver `k.receiver` reads that no flag gave, and drops those of the
/// other receivers.
fn ask_receiver(k: &mut AlertingKeys) -> Result<(), Error> {
    let kind = k.receiver;
    if kind != ReceiverKind::Webhook {
        k.webhook_url_env = None;
    }
    if kind != ReceiverKind::Slack {
        (k.slack_api_url_env, k.slack_channel) = (None, None);
    }
    if kind != ReceiverKind::Email {
        (k.email_to, k.email_from, k.email_smarthost) = (None, None, None);
        (k.email_username, k.email_password_env) = (None, None);
    }
    match kind {
        ReceiverKind::None => {}
        ReceiverKind::Webhook => {
            if k.webhook_url_env.is_none() {
                k.webhook_url_env = Some(env_var(
                    "Variable in .env holding the webhook URL",
                    "ALERT_WEBHOOK_URL",
                )?);
            }
        }
        ReceiverKind::Slack => {
            if k.slack_api_url_env.is_none() {
                k.slack_api_url_env = Some(env_var(
                    "Variable in .env holding the Slack webhook URL",
                    "SLACK_WEBHOOK_URL",
                )?);
            }
            if k.slack_channel.is_none() {
                k.slack_channel = Some(text("Slack channel", "#alerts")?);
            }
        }
        ReceiverKind::Email => {
            if k.email_to.is_none() {
                k.email_to = Some(text("Send alerts to", "ops@example.com")?);
            }
            if k.email_from.is_none() {
                k.email_from = Some(text("Send alerts from", "alertmanager@example.com")?);
            }
            if k.email_smarthost.is_none() {
                k.email_smarthost = Some(host_port("SMTP server", "smtp.example.com:587")?);
            }
            if k.email_password_env.is_none() {
                k.email_password_env = Some(env_var(
                    "Variable in .env holding the SMTP password",
                    "SMTP_PASSWORD",
                )?);
            }
        }
    }
    Ok(())
}
