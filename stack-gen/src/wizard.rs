//! The interactive questions of `obs-gen init`. Each question is skipped when its flag was given
//! on the command line, so the wizard and the flags always produce the same `obs.toml`.

use dialoguer::{Confirm, Input, Select};

use crate::cli::InitArgs;
use crate::error::Error;
use crate::model::{
    self, Alerting, AlertingKeys, Config, Database, Duration, Frontend, HostPort, LogShipper,
    ReceiverKind, Service, Target,
};
use crate::validate::{is_env_name, public_origin};

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

/// Asks every question whose flag is absent from `args`, updating `cfg`.
pub fn ask(cfg: &mut Config, args: &InitArgs) -> Result<(), Error> {
    eprintln!(
        "obs-gen init: a few questions (each is also a flag; see --help). Enter takes the [default]."
    );
    if args.project.is_none() {
        cfg.project = text("Project name (--project)", &cfg.project)?;
    }
    if args.environment.is_none() {
        cfg.environment = text("Environment (--environment)", &cfg.environment)?;
    }
    if args.target.is_none() {
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
        cfg.target = options[i];
    }
    if cfg.target == Target::Kubernetes {
        return ask_kubernetes(cfg, args);
    }
    if args.services.is_empty() {
        loop {
            let default = if cfg.services.is_empty() {
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
            cfg.services.push(Service::new(name.trim(), target));
        }
    }
    if args.slos.is_empty() {
        for service in cfg.services.clone() {
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
                cfg.slo
                    .push(crate::cli::availability(&service.name, objective));
            }
        }
    }
    if args.log_shipper.is_none() {
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
        cfg.log_shipper = options[i];
    }
    if args.postgres.is_none() {
        let detected = cfg.databases.postgres.clone();
        if yes_no("Watch PostgreSQL? (--postgres)", detected.is_some())? {
            let default = detected.map_or_else(
                || model::DEFAULT_POSTGRES_ADDRESS.into(),
                |d| d.address.to_string(),
            );
            cfg.databases.postgres = Some(Database {
                address: host_port("PostgreSQL address", &default)?,
            });
        } else {
            cfg.databases.postgres = None;
        }
    }
    if args.redis.is_none() {
        let detected = cfg.databases.redis.clone();
        if yes_no("Watch Redis? (--redis)", detected.is_some())? {
            let default = detected.map_or_else(
                || model::DEFAULT_REDIS_ADDRESS.into(),
                |d| d.address.to_string(),
            );
            cfg.databases.redis = Some(Database {
                address: host_port("Redis address", &default)?,
            });
        } else {
            cfg.databases.redis = None;
        }
    }
    ask_alerting_and_rest(cfg, args)
}

/// The questions of the Kubernetes target: where the manifests go, which release selects them,
/// the services by name (their Service labels and port take the defaults; see obs.toml), and
/// Alloy or no log shipper. The rest is shared with compose.
fn ask_kubernetes(cfg: &mut Config, args: &InitArgs) -> Result<(), Error> {
    let k = cfg.kubernetes.get_or_insert_with(Default::default);
    if args.namespace.is_none() {
        k.namespace = text("Namespace of the manifests (--namespace)", &k.namespace)?;
    }
    if args.prometheus_release.is_none() {
        k.prometheus_release = text(
            "Release name of kube-prometheus-stack (--prometheus-release)",
            &k.prometheus_release,
        )?;
    }
    if args.services.is_empty() {
        loop {
            let default = if cfg.services.is_empty() { "app" } else { "" };
            let answer: String = Input::<String>::new()
                .with_prompt("Service to scrape, NAME (empty to finish) (--service)")
                .default(default.to_string())
                .allow_empty(true)
                .interact_text()
                .map_err(io)?;
            if answer.trim().is_empty() {
                break;
            }
            cfg.services.push(Service::kubernetes(answer.trim()));
        }
    }
    if args.log_shipper.is_none() {
        let options = [LogShipper::Alloy, LogShipper::None];
        let i = Select::new()
            .with_prompt("Log shipper (--log-shipper)")
            .items(["alloy (a DaemonSet, default)", "none"])
            .default(0)
            .interact()
            .map_err(io)?;
        cfg.log_shipper = options[i];
    }
    ask_alerting_and_rest(cfg, args)
}

/// The questions both targets ask last: the alert receiver, retention, tracing and Sentry.
fn ask_alerting_and_rest(cfg: &mut Config, args: &InitArgs) -> Result<(), Error> {
    if args.receiver.is_none() {
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
        // The flags given for this receiver are kept; the rest of its keys are asked.
        let mut k = crate::cli::alerting_keys(args);
        k.receiver = options[i];
        ask_receiver(&mut k)?;
        cfg.alerting = Alerting::try_from(k).map_err(Error::Input)?;
    }
    if args.retention.is_none() {
        cfg.retention = typed::<Duration>(
            "Retention of metrics, logs and traces (--retention)",
            cfg.retention.as_str(),
        )?;
    }
    if args.tracing.is_none() {
        cfg.tracing = yes_no("Tracing with Tempo and OTLP? (--tracing)", cfg.tracing)?;
    }
    if args.sentry.is_none() {
        cfg.sentry = yes_no("Do the services report to Sentry? (--sentry)", cfg.sentry)?;
    }
    if cfg.sentry && args.frontend.is_none() {
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
        cfg.frontend = options[i];
        if cfg.frontend.is_some() && args.public_urls.is_empty() {
            for service in &mut cfg.services {
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
                            public_origin(s).map(|_| ())
                        }
                    })
                    .interact_text()
                    .map_err(io)?;
                service.public_url = (!answer.is_empty()).then_some(answer);
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
