//! `obs-gen init`: turns the flags into [`Answers`], lets the wizard answer the rest on a
//! terminal (unless `--yes` takes the defaults), then writes `obs.toml` and the stack.

use std::io::IsTerminal as _;

use super::args::InitArgs;
use super::build::build;
use crate::error::Error;
use crate::init::{Answers, availability, detect_databases, wizard};
use crate::model::{
    Alerting, AlertingKeys, CONFIG_FILE, Config, Database, Databases, Service, Target,
};
use crate::render::OutFile;

/// Runs `init`.
pub(super) fn run(args: InitArgs, out: &mut dyn std::io::Write) -> Result<(), Error> {
    let mut answers = answers(&args)?;
    if !args.yes {
        if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
            return Err(Error::Input(
                "obs-gen init: no terminal to ask on; pass --yes to take the defaults for every question not given as a flag".into(),
            ));
        }
        wizard::ask(&mut answers)?;
    }
    let cfg = answers.into_config()?;
    let config_text = cfg.to_toml();
    // What init writes must read back as the same configuration.
    debug_assert_eq!(
        Config::from_toml(&config_text, CONFIG_FILE).ok().as_ref(),
        Some(&cfg)
    );
    let config_file = OutFile {
        path: CONFIG_FILE.into(),
        contents: config_text,
    };
    build(&cfg, CONFIG_FILE, &args.write, Some(config_file), out)
}

/// The answers the flags give. A malformed value fails here, before any question is asked,
/// with the flag named.
fn answers(a: &InitArgs) -> Result<Answers, Error> {
    let target = a.target.unwrap_or_default();
    let mut services = Vec::new();
    for (i, s) in a.services.iter().enumerate() {
        let service = match (s.split_once('='), target) {
            (Some((name, target)), _) => {
                let target = target
                    .parse()
                    .map_err(|e| Error::Input(format!("--service: services[{i}].target: {e}")))?;
                Service::new(name, target)
            }
            // Kubernetes finds a service by its Service labels, not an address.
            (None, Target::Kubernetes) => Service::kubernetes(s),
            (None, Target::Compose) => {
                return Err(Error::Input(format!(
                    "--service[{i}]: {s:?} must be NAME=HOST:PORT"
                )));
            }
        };
        services.push(service);
    }
    let mut slo = Vec::new();
    for (i, s) in a.slos.iter().enumerate() {
        let parsed = s
            .split_once('=')
            .and_then(|(service, objective)| Some((service, objective.trim().parse().ok()?)));
        let Some((service, objective)) = parsed else {
            return Err(Error::Input(format!(
                "--slo[{i}]: {s:?} must be SERVICE=OBJECTIVE, the objective in percent (api=99.9)"
            )));
        };
        slo.push(availability(service.trim(), objective));
    }
    let detected = match &a.app_compose {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, "read", &e))?;
            detect_databases(&text, &path.display().to_string())?
        }
        None => Databases::default(),
    };
    let alerting_keys = alerting_keys(a);
    // Without --receiver the wizard asks, keeping the keys given for the receiver chosen.
    let alerting = if a.receiver.is_some() || a.yes {
        Some(Alerting::try_from(alerting_keys.clone()).map_err(Error::Input)?)
    } else {
        None
    };
    let mut public_urls = Vec::new();
    for (i, entry) in a.public_urls.iter().enumerate() {
        let Some((name, url)) = entry.split_once('=') else {
            return Err(Error::Input(format!(
                "--public-url[{i}]: {entry:?} must be NAME=URL"
            )));
        };
        public_urls.push((name.to_owned(), url.to_owned()));
    }
    // `--postgres` alone leaves the address to the target's default (see `Answers::into_config`).
    let database = |address: &Option<Option<_>>| {
        address.clone().map(|address| {
            Some(Database {
                address,
                ..Database::default()
            })
        })
    };
    Ok(Answers {
        project: a.project.clone(),
        environment: a.environment.clone(),
        target: a.target,
        services,
        namespace: a.namespace.clone(),
        prometheus_release: a.prometheus_release.clone(),
        remote_write_url: a.remote_write_url.clone(),
        slo,
        log_shipper: a.log_shipper,
        detected,
        postgres: database(&a.postgres),
        redis: database(&a.redis),
        alerting,
        alerting_keys,
        retention: a.retention.clone(),
        tracing: a.tracing,
        sentry: a.sentry,
        frontend: a.frontend,
        public_urls,
        bind_address: a.bind_address,
        grafana_url: a.grafana_url.clone(),
    })
}

/// The `[alerting]` keys the flags give, in the form obs.toml is read in.
fn alerting_keys(a: &InitArgs) -> AlertingKeys {
    AlertingKeys {
        receiver: a.receiver.unwrap_or_default(),
        webhook_url_env: a.webhook_url_env.clone(),
        slack_api_url_env: a.slack_api_url_env.clone(),
        slack_channel: a.slack_channel.clone(),
        email_to: a.email_to.clone(),
        email_from: a.email_from.clone(),
        email_smarthost: a.email_smarthost.clone(),
        email_username: a.email_username.clone(),
        email_password_env: a.email_password_env.clone(),
        ..AlertingKeys::default()
    }
}
