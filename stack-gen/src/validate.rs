//! Every check on a [`Config`] before anything is rendered or written that its types cannot
//! make (a duration, a port or a `host:port` is checked when read, see [`crate::model`]). Each
//! problem is one line naming the field: `obs.toml: services[1].name: "app" is already the
//! name of services[0]`.

use std::collections::BTreeMap;

use crate::model::{Config, Port, Receiver};

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

    // Prometheus and Alertmanager refuse a zero interval.
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
    if let Some(local) = &cfg.local {
        for (key, db, exporter) in [
            (
                "postgres",
                &cfg.databases.postgres,
                &local.postgres_exporter,
            ),
            ("redis", &cfg.databases.redis, &local.redis_exporter),
        ] {
            match (db, exporter) {
                (Some(_), None) => err(
                    &format!("local.{key}_exporter"),
                    format!(
                        "the address of the {key} exporter is needed with [databases.{key}] in local mode"
                    ),
                ),
                (None, Some(_)) => err(
                    &format!("local.{key}_exporter"),
                    format!("set, but [databases.{key}] is not: add it or remove this key"),
                ),
                _ => {}
            }
        }
    }

    for (field, msg) in frontend_problems(cfg) {
        err(&field, msg);
    }

    if let Err(e) = cfg.alerts.validate() {
        errs.push(format!("{origin}: {e}"));
    }
    errs.extend(crate::validate_k8s::validate(cfg, origin));
    crate::slo::validate(cfg, origin, &mut errs);
    let mut err = |field: &str, msg: String| errs.push(format!("{origin}: {field}: {msg}"));

    let mut seen: BTreeMap<Port, &str> = BTreeMap::new();
    for (key, port) in cfg.ports.published(cfg.tracing) {
        if let Some(other) = seen.insert(port, key) {
            err(
                &format!("ports.{key}"),
                format!("{port} is already the port of ports.{other}"),
            );
        }
    }
    for (i, target) in cfg
        .services
        .iter()
        .enumerate()
        .filter_map(|(i, s)| Some((i, s.target.as_ref()?)))
    {
        let host = target.host();
        let on_host = matches!(
            host,
            "host.docker.internal" | "localhost" | "127.0.0.1" | "0.0.0.0" | "::1"
        ) || host.parse().ok() == Some(cfg.bind_address);
        let port = target.port();
        if on_host && let Some(key) = seen.get(&port) {
            err(
                &format!("ports.{key}"),
                format!(
                    "{port} clashes with services[{i}].target {:?} on the same host; pick another port",
                    target.to_string()
                ),
            );
        }
    }
    if errs.is_empty() { Ok(()) } else { Err(errs) }
}

/// The problems of the frontend keys, as (field, message): `frontend` needs `sentry = true`,
/// each `public_url` must be a plain http(s) URL, and the `[sentry_sampling]` rates must lie
/// between 0 and 1.
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
    for (i, s) in cfg.services.iter().enumerate() {
        if let Some(url) = &s.public_url
            && let Err(msg) = public_origin(url)
        {
            problems.push((format!("services[{i}].public_url"), msg));
        }
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

/// The origin (`https://api.example.com`, `http://localhost:8080`) of a service's
/// `public_url`, or why it is not one: an absolute http or https URL with a host, without user
/// name, password, query or fragment (a base URL; a path is allowed and ignored).
pub fn public_origin(s: &str) -> Result<String, String> {
    let bad = |why: &str| {
        Err(format!(
            "{s:?} {why}; write an http(s) URL like https://api.example.com"
        ))
    };
    let url = match url::Url::parse(s) {
        Ok(url) => url,
        Err(e) => return bad(&format!("is not a URL ({e})")),
    };
    if !matches!(url.scheme(), "http" | "https") {
        return bad("is not an http or https URL");
    }
    if url.host_str().is_none_or(str::is_empty) {
        return bad("has no host");
    }
    // Secrets never go into generated files (nor into this message), and a URL with
    // credentials is one.
    if !url.username().is_empty() || url.password().is_some() {
        return Err(
            "carries a user name or password (not repeated here); write the URL without them, like https://api.example.com".into(),
        );
    }
    if url.query().is_some() || url.fragment().is_some() {
        return bad("must not have a query or fragment");
    }
    Ok(url.origin().ascii_serialization())
}

/// Whether `s` is a conventional environment variable name.
pub fn is_env_name(s: &str) -> bool {
    !s.is_empty()
        && !s.as_bytes()[0].is_ascii_digit()
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Service;

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
}
