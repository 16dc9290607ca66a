//! Every check on a [`Config`] before anything is rendered or written that its types cannot
//! make (a duration, a port or a `host:port` is checked when read, see [`crate::model`]). Each
//! problem is one line naming the field: `obs.toml: services[1].name: "app" is already the
//! name of services[0]`.
//!
//! This file checks the keys both targets read; `compose` and `kubernetes` the keys of one
//! target, `remote_write` and `slo` their tables, and `syntax` the forms of value other stages
//! check too (a variable name).

use std::collections::BTreeMap;

use crate::model::{Config, Receiver, Target};

mod compose;
mod kubernetes;
mod remote_write;
mod slo;
mod syntax;

pub use syntax::is_env_name;

/// Job names the stack itself uses; a service may not take one.
pub const RESERVED_JOBS: &[&str] = &[
    "prometheus",
    "alertmanager",
    "grafana",
    "loki",
    "alloy",
    "promtail",
    "tempo",
    "cadvisor",
];

/// Checks `cfg`; `origin` prefixes every message (the file name). Returns every problem found.
pub fn validate(cfg: &Config, origin: &str) -> Result<(), Vec<String>> {
    let mut errs = Vec::new();
    let mut err = |field: &str, msg: String| errs.push(format!("{origin}: {field}: {msg}"));

    top_level(cfg, &mut err);
    services(cfg, &mut err);
    alerting(cfg, &mut err);
    compose::local(cfg, &mut err);
    for (field, msg) in frontend_problems(cfg) {
        err(&field, msg);
    }
    if let Err(e) = cfg.alerts.validate() {
        err(&format!("alerts.{}", e.field), e.message);
    }
    // A key of the other target is named with the target that reads it.
    let only = |t: Target| {
        format!(
            "only for target = \"{}\" (this file has target = \"{}\"); remove it",
            t.as_str(),
            cfg.target.as_str()
        )
    };
    match cfg.target {
        Target::Compose => compose::target_keys(cfg, &mut err, &only),
        Target::Kubernetes => kubernetes::target_keys(cfg, &mut err, &only),
    }
    remote_write::check(cfg, &mut err);
    slo::check(cfg, &mut err);
    compose::ports(cfg, &mut err);
    if errs.is_empty() { Ok(()) } else { Err(errs) }
}

/// `project`, `environment` and `retention`.
fn top_level(cfg: &Config, err: &mut impl FnMut(&str, String)) {
    if cfg.project.is_empty()
        || !cfg
            .project
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        || !cfg.project.as_bytes()[0].is_ascii_alphanumeric()
    {
        err(
            "project",
            format!(
                "{:?} must be lower-case letters, digits, '-' or '_', starting with a letter or digit",
                cfg.project
            ),
        );
    }
    if cfg.environment.is_empty()
        || !cfg
            .environment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        err(
            "environment",
            format!("{:?} must be letters, digits, '-' or '_'", cfg.environment),
        );
    }
    if cfg.retention.as_secs() < 3600 {
        err(
            "retention",
            format!("{:?} is shorter than one hour", cfg.retention),
        );
    }
}

/// `[[services]]`: at least one, each with a unique name that is not a job of the stack, and
/// absolute paths.
fn services(cfg: &Config, err: &mut impl FnMut(&str, String)) {
    if cfg.services.is_empty() {
        err("services", "at least one service is needed (add a [[services]] table or pass --service NAME=HOST:PORT)".into());
    }
    let mut names: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, s) in cfg.services.iter().enumerate() {
        let field = |f: &str| format!("services[{i}].{f}");
        if s.name.is_empty()
            || !s
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            err(
                &field("name"),
                format!("{:?} must be letters, digits, '-' or '_'", s.name),
            );
        } else if RESERVED_JOBS.contains(&s.name.as_str())
            || [
                &cfg.alerts.node_job,
                &cfg.alerts.postgres_job,
                &cfg.alerts.redis_job,
            ]
            .contains(&&s.name)
        {
            err(
                &field("name"),
                format!(
                    "{:?} is the job name of a component of the stack; pick another",
                    s.name
                ),
            );
        } else if let Some(first) = names.insert(&s.name, i) {
            err(
                &field("name"),
                format!("{:?} is already the name of services[{first}]", s.name),
            );
        }
        for (key, path) in [
            ("metrics_path", &s.metrics_path),
            ("health_path", &s.health_path),
        ] {
            if !path.starts_with('/') || path.contains(char::is_whitespace) {
                err(
                    &field(key),
                    format!("{path:?} must be an absolute path like /metrics"),
                );
            }
        }
    }
}

/// `[alerting]` (the receiver's values), then every interval, which Prometheus and
/// Alertmanager refuse at zero.
fn alerting(cfg: &Config, err: &mut impl FnMut(&str, String)) {
    let a = &cfg.alerting;
    if let Some(var) = a.receiver.secret_var()
        && !is_env_name(var.name)
    {
        err(
            &format!("alerting.{}", var.key),
            format!(
                "{:?} is not an environment variable name (A-Z, 0-9, _)",
                var.name
            ),
        );
    }
    match &a.receiver {
        Receiver::Slack { channel, .. } => {
            if channel.is_empty() || channel.contains(char::is_whitespace) {
                err(
                    "alerting.slack_channel",
                    format!("{channel:?} is not a Slack channel like \"#alerts\""),
                );
            }
        }
        Receiver::Email { to, from, .. } => {
            for (key, v) in [("email_to", to), ("email_from", from)] {
                if !v.contains('@') || v.contains(char::is_whitespace) {
                    err(
                        &format!("alerting.{key}"),
                        format!("{v:?} is not an email address"),
                    );
                }
            }
        }
        Receiver::None | Receiver::Webhook { .. } => {}
    }

    for (key, value) in [
        ("scrape_interval", Some(&cfg.scrape_interval)),
        ("evaluation_interval", Some(&cfg.evaluation_interval)),
        ("alerting.group_wait", a.group_wait.as_ref()),
        ("alerting.group_interval", a.group_interval.as_ref()),
        ("alerting.repeat_interval", a.repeat_interval.as_ref()),
    ] {
        if let Some(v) = value
            && v.is_zero()
        {
            err(key, format!("{v:?} must be longer than zero"));
        }
    }
}

/// The problems of the frontend keys, as (field, message): `frontend` needs `sentry = true`,
/// and the `[sentry_sampling]` rates must lie between 0 and 1. (A `public_url` is checked when
/// it is read: [`crate::model::PublicUrl`].)
fn frontend_problems(cfg: &Config) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    if let Some(frontend) = cfg.frontend
        && !cfg.sentry
    {
        problems.push((
            "frontend".to_owned(),
            format!(
                "{:?} sets up Sentry in the frontend and needs sentry = true (or --sentry)",
                frontend.as_str()
            ),
        ));
    }
    let rates = &cfg.sentry_sampling;
    for (key, rate) in [
        ("sample_rate", rates.sample_rate),
        ("traces_sample_rate", rates.traces_sample_rate),
    ] {
        if !(0.0..=1.0).contains(&rate) {
            problems.push((
                format!("sentry_sampling.{key}"),
                format!("{rate} is not a rate from 0 to 1"),
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{RemoteWrite, Service};

    fn cfg() -> Config {
        let mut c = Config::default();
        c.services.push(Service::new(
            "app",
            "host.docker.internal:3000".parse().unwrap(),
        ));
        c
    }

    /// Validation problems of `obs.toml` text that parses.
    fn problems(toml: &str) -> Vec<String> {
        let c = Config::from_toml(toml, "obs.toml").unwrap();
        validate(&c, "obs.toml").err().unwrap_or_default()
    }

    const APP: &str =
        "project = \"x\"\n[[services]]\nname = \"app\"\ntarget = \"host.docker.internal:3000\"\n";

    #[test]
    fn default_is_valid() {
        validate(&cfg(), "obs.toml").unwrap();
    }

    #[test]
    fn duplicates_and_clashes() {
        let mut c = cfg();
        c.services.push(Service::new("app", "x:1".parse().unwrap()));
        c.ports.prometheus = "3100".parse().unwrap();
        let errs = validate(&c, "obs.toml").unwrap_err();
        assert!(
            errs.iter()
                .any(|e| e.contains("services[1].name") && e.contains("services[0]")),
            "{errs:?}"
        );
        assert!(
            errs.iter()
                .any(|e| e.contains("ports.loki: 3100 is already the port of ports.prometheus")),
            "{errs:?}"
        );
    }

    #[test]
    fn grafana_on_the_demo_port_clashes() {
        let mut c = cfg();
        c.ports.grafana = "3000".parse().unwrap();
        let errs = validate(&c, "obs.toml").unwrap_err();
        assert!(
            errs[0].starts_with("obs.toml: ports.grafana: 3000 clashes with services[0].target"),
            "{errs:?}"
        );
    }

    #[test]
    fn local_mode_and_intervals_are_checked() {
        let errs = problems(&format!(
            "scrape_interval = \"0s\"\n{APP}[alerting]\ngroup_wait = \"0m\"\n\
             [databases.redis]\naddress = \"127.0.0.1:6379\"\n\
             [local]\nprometheus = \"127.0.0.1:9090\"\nalertmanager = \"127.0.0.1:9093\"\n\
             postgres_exporter = \"127.0.0.1:9187\"\n"
        ));
        for want in [
            "obs.toml: scrape_interval: \"0s\" must be longer than zero",
            "obs.toml: alerting.group_wait: \"0m\" must be longer than zero",
            "obs.toml: local.postgres_exporter: set, but [databases.postgres] is not",
            "obs.toml: local.redis_exporter: the address of the redis exporter is needed",
        ] {
            assert!(
                errs.iter().any(|e| e.starts_with(want)),
                "{want} in {errs:?}"
            );
        }
        assert_eq!(errs.len(), 4, "{errs:?}");
    }

    #[test]
    fn short_retention_and_bad_receiver_values() {
        let errs = problems(&format!(
            "retention = \"30m\"\n{APP}[alerting]\nreceiver = \"slack\"\nslack_channel = \"my alerts\"\nslack_api_url_env = \"lower\"\n"
        ));
        assert_eq!(
            errs,
            [
                "obs.toml: retention: \"30m\" is shorter than one hour",
                "obs.toml: alerting.slack_api_url_env: \"lower\" is not an environment variable name (A-Z, 0-9, _)",
                "obs.toml: alerting.slack_channel: \"my alerts\" is not a Slack channel like \"#alerts\"",
            ]
        );
    }

    fn k8s() -> Config {
        let mut c = Config {
            target: Target::Kubernetes,
            ..Config::default()
        };
        c.services.push(Service::kubernetes("api"));
        c
    }

    #[test]
    fn kubernetes_defaults_are_valid() {
        validate(&k8s(), "obs.toml").unwrap();
    }

    #[test]
    fn keys_of_the_other_target_are_named() {
        let mut c = k8s();
        c.services[0].target = Some("api:80".parse().unwrap());
        c.ports.grafana = "1".parse().unwrap();
        let errs = validate(&c, "obs.toml").unwrap_err();
        assert!(
            errs[0].starts_with("obs.toml: ports: only for target = \"compose\""),
            "{errs:?}"
        );
        assert!(
            errs[1].starts_with("obs.toml: services[0].target: only for"),
            "{errs:?}"
        );

        let mut c = Config::default();
        c.services
            .push(Service::new("api", "api:80".parse().unwrap()));
        c.services[0].port = Some("http".into());
        c.kubernetes = Some(Default::default());
        let errs = validate(&c, "obs.toml").unwrap_err();
        assert_eq!(errs.len(), 2, "{errs:?}");
        assert!(errs[0].starts_with("obs.toml: kubernetes: only for target = \"kubernetes\""));
        assert!(errs[1].starts_with("obs.toml: services[0].port: only for"));
    }

    #[test]
    fn names_selectors_and_ports() {
        let mut c = k8s();
        c.services[0].name = "Api_1".into();
        c.services[0].namespace = Some("team.a".into());
        c.services[0].selector = Some([("app/x/y".to_string(), "v".to_string())].into());
        c.services[0].port = Some("metrics-port-too-long".into());
        let errs = validate(&c, "obs.toml").unwrap_err();
        for (i, want) in [
            "obs.toml: services[0].name: \"Api_1\" is not a Kubernetes name",
            "obs.toml: services[0].namespace: \"team.a\" is not a Kubernetes name",
            "obs.toml: services[0].selector: label key \"app/x/y\"",
            "obs.toml: services[0].port: \"metrics-port-too-long\"",
        ]
        .iter()
        .enumerate()
        {
            assert!(errs[i].starts_with(want), "{want} in {errs:?}");
        }
    }

    #[test]
    fn remote_write() {
        let mut c = k8s();
        c.remote_write = Some(RemoteWrite {
            url: "ftp://x".into(),
            username: Some("tenant".into()),
            password_env: None,
            bearer_token_env: Some("token".into()),
        });
        let errs = validate(&c, "obs.toml").unwrap_err();
        assert!(
            errs[0].starts_with("obs.toml: remote_write.url: \"ftp://x\" must start with http")
        );
        assert!(errs[1].starts_with("obs.toml: remote_write.bearer_token_env: \"token\""));
        assert!(errs[2].starts_with("obs.toml: remote_write.password_env: basic auth"));
    }
}
