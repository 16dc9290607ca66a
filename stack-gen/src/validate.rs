//! Every check on a [`Config`] before anything is rendered or written. Each problem is one line
//! naming the field: `obs.toml: services[1].target: "api:99999" is not a valid host:port (port
//! must be 1-65535)`.

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::model::{Config, Receiver, Target, split_host_port};

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
    if cfg.bind_address.parse::<IpAddr>().is_err() {
        err(
            "bind_address",
            format!("{:?} is not an IP address", cfg.bind_address),
        );
    }
    match parse_duration(&cfg.retention) {
        Some(secs) if secs >= 3600 => {}
        Some(_) => err(
            "retention",
            format!("{:?} is shorter than one hour", cfg.retention),
        ),
        None => err(
            "retention",
            format!("{:?} is not a duration like 15d, 720h or 4w", cfg.retention),
        ),
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
        // Kubernetes finds services through their ServiceMonitor: no target (validate_k8s).
        if cfg.target == Target::Compose
            && let Err(msg) = check_host_port(&s.target)
        {
            err(&field("target"), msg);
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
    for (key, db) in [
        ("postgres", &cfg.databases.postgres),
        ("redis", &cfg.databases.redis),
    ] {
        if let Some(db) = db
            && let Err(msg) = check_host_port(&db.address)
        {
            err(&format!("databases.{key}.address"), msg);
        }
    }

    let a = &cfg.alerting;
    for (key, value) in [
        ("webhook_url_env", &a.webhook_url_env),
        ("slack_api_url_env", &a.slack_api_url_env),
        ("email_password_env", &a.email_password_env),
    ] {
        if let Some(v) = value
            && !is_env_name(v)
        {
            err(
                &format!("alerting.{key}"),
                format!("{v:?} is not an environment variable name (A-Z, 0-9, _)"),
            );
        }
    }
    match a.receiver {
        Receiver::Slack => match &a.slack_channel {
            Some(c) if !c.is_empty() && !c.contains(char::is_whitespace) => {}
            _ => err(
                "alerting.slack_channel",
                "a Slack channel like \"#alerts\" is needed for receiver = \"slack\"".into(),
            ),
        },
        Receiver::Email => {
            for (key, value) in [("email_to", &a.email_to), ("email_from", &a.email_from)] {
                match value {
                    Some(v) if v.contains('@') && !v.contains(char::is_whitespace) => {}
                    Some(v) => err(
                        &format!("alerting.{key}"),
                        format!("{v:?} is not an email address"),
                    ),
                    None => err(
                        &format!("alerting.{key}"),
                        "an email address is needed for receiver = \"email\"".into(),
                    ),
                }
            }
            match &a.email_smarthost {
                Some(h) => {
                    if let Err(msg) = check_host_port(h) {
                        err("alerting.email_smarthost", msg);
                    }
                }
                None => err(
                    "alerting.email_smarthost",
                    "an SMTP host:port is needed for receiver = \"email\"".into(),
                ),
            }
        }
        Receiver::None | Receiver::Webhook => {}
    }

    for (key, value) in [
        ("scrape_interval", Some(&cfg.scrape_interval)),
        ("evaluation_interval", Some(&cfg.evaluation_interval)),
        ("alerting.group_wait", a.group_wait.as_ref()),
        ("alerting.group_interval", a.group_interval.as_ref()),
        ("alerting.repeat_interval", a.repeat_interval.as_ref()),
    ] {
        if let Some(v) = value
            && parse_duration(v).is_none()
        {
            err(
                key,
                format!("{v:?} is not a positive duration like 1s, 30s or 5m"),
            );
        }
    }
    if let Some(local) = &cfg.local {
        for (key, value) in [
            ("prometheus", Some(&local.prometheus)),
            ("alertmanager", Some(&local.alertmanager)),
            ("node_exporter", local.node_exporter.as_ref()),
            ("postgres_exporter", local.postgres_exporter.as_ref()),
            ("redis_exporter", local.redis_exporter.as_ref()),
        ] {
            if let Some(v) = value
                && let Err(msg) = check_host_port(v)
            {
                err(&format!("local.{key}"), msg);
            }
        }
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

    if let Err(e) = cfg.alerts.validate() {
        errs.push(format!("{origin}: {e}"));
    }
    errs.extend(crate::validate_k8s::validate(cfg, origin));
    let mut err = |field: &str, msg: String| errs.push(format!("{origin}: {field}: {msg}"));

    let mut seen: BTreeMap<u32, &str> = BTreeMap::new();
    for (key, port) in cfg.ports.published(cfg.tracing) {
        if !(1..=65535).contains(&port) {
            err(
                &format!("ports.{key}"),
                format!("{port} is not a port (must be 1-65535)"),
            );
        } else if let Some(other) = seen.insert(port, key) {
            err(
                &format!("ports.{key}"),
                format!("{port} is already the port of ports.{other}"),
            );
        }
    }
    for (i, s) in cfg.services.iter().enumerate() {
        let Some((host, port)) = split_host_port(&s.target) else {
            continue;
        };
        let on_host = matches!(
            host,
            "host.docker.internal" | "localhost" | "127.0.0.1" | "0.0.0.0" | "::1"
        ) || host == cfg.bind_address;
        if let (true, Ok(port)) = (on_host, port.parse::<u32>())
            && let Some(key) = seen.get(&port)
        {
            err(
                &format!("ports.{key}"),
                format!(
                    "{port} clashes with services[{i}].target {:?} on the same host; pick another port",
                    s.target
                ),
            );
        }
    }
    if errs.is_empty() { Ok(()) } else { Err(errs) }
}

/// Checks a `host:port` string.
pub fn check_host_port(s: &str) -> Result<(), String> {
    let Some((host, port)) = split_host_port(s) else {
        return Err(format!("{s:?} is not a valid host:port"));
    };
    match port.parse::<u32>() {
        Ok(p) if (1..=65535).contains(&p) => {}
        _ => {
            return Err(format!(
                "{s:?} is not a valid host:port (port must be 1-65535)"
            ));
        }
    }
    let host_ok = host.parse::<IpAddr>().is_ok()
        || (!host.is_empty()
            && host.len() <= 253
            && host.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                    && !label.starts_with('-')
                    && !label.ends_with('-')
            }));
    if !host_ok {
        return Err(format!(
            "{s:?} is not a valid host:port (bad host name {host:?})"
        ));
    }
    Ok(())
}

/// Whether `s` is a conventional environment variable name.
pub fn is_env_name(s: &str) -> bool {
    !s.is_empty()
        && !s.as_bytes()[0].is_ascii_digit()
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

/// Parses a Prometheus duration (`1y2w3d4h5m6s7ms`, units in that order, each at most once)
/// into whole seconds. `None` when malformed or zero.
pub fn parse_duration(s: &str) -> Option<u64> {
    const UNITS: &[(&str, u64)] = &[
        ("y", 365 * 86400 * 1000),
        ("w", 7 * 86400 * 1000),
        ("d", 86400 * 1000),
        ("h", 3600 * 1000),
        ("m", 60 * 1000),
        ("s", 1000),
        ("ms", 1),
    ];
    if s.is_empty() {
        return None;
    }
    let mut rest = s;
    let mut next_unit = 0;
    let mut total: u64 = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let n: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(|b| b.is_ascii_alphabetic()).count();
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let idx = UNITS.iter().position(|(u, _)| *u == unit)?;
        if idx < next_unit {
            return None;
        }
        next_unit = idx + 1;
        total = total.checked_add(n.checked_mul(UNITS[idx].1)?)?;
    }
    if total == 0 { None } else { Some(total / 1000) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Service;

    fn cfg() -> Config {
        let mut c = Config::default();
        c.services
            .push(Service::new("app", "host.docker.internal:3000"));
        c
    }

    #[test]
    fn default_is_valid() {
        validate(&cfg(), "obs.toml").unwrap();
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("15d"), Some(15 * 86400));
        assert_eq!(parse_duration("1h30m"), Some(5400));
        assert_eq!(parse_duration("30m1h"), None);
        assert_eq!(parse_duration("0s"), None);
        assert_eq!(parse_duration("15 d"), None);
        assert_eq!(parse_duration("d"), None);
    }

    #[test]
    fn bad_port_names_the_field() {
        let mut c = cfg();
        c.services.push(Service::new("api", "api:99999"));
        let errs = validate(&c, "obs.toml").unwrap_err();
        assert_eq!(
            errs,
            [
                "obs.toml: services[1].target: \"api:99999\" is not a valid host:port (port must be 1-65535)"
            ]
        );
    }

    #[test]
    fn duplicates_and_clashes() {
        let mut c = cfg();
        c.services.push(Service::new("app", "x:1"));
        c.ports.prometheus = 3100;
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
        c.ports.grafana = 3000;
        let errs = validate(&c, "obs.toml").unwrap_err();
        assert!(
            errs[0].starts_with("obs.toml: ports.grafana: 3000 clashes with services[0].target"),
            "{errs:?}"
        );
    }

    #[test]
    fn local_mode_and_intervals_are_checked() {
        let mut c = cfg();
        c.scrape_interval = "1 s".into();
        c.alerting.group_wait = Some("soon".into());
        c.databases.redis = Some(crate::model::Database {
            address: "127.0.0.1:6379".into(),
        });
        c.local = Some(crate::model::Local {
            prometheus: "127.0.0.1:9090".into(),
            alertmanager: "127.0.0.1".into(),
            node_exporter: None,
            postgres_exporter: Some("127.0.0.1:9187".into()),
            redis_exporter: None,
        });
        let errs = validate(&c, "obs.toml").unwrap_err();
        for want in [
            "obs.toml: scrape_interval: \"1 s\" is not a positive duration",
            "obs.toml: alerting.group_wait: \"soon\"",
            "obs.toml: local.alertmanager: \"127.0.0.1\" is not a valid host:port",
            "obs.toml: local.postgres_exporter: set, but [databases.postgres] is not",
            "obs.toml: local.redis_exporter: the address of the redis exporter is needed",
        ] {
            assert!(
                errs.iter().any(|e| e.starts_with(want)),
                "{want} in {errs:?}"
            );
        }
        assert_eq!(errs.len(), 5, "{errs:?}");
    }

    #[test]
    fn bad_threshold_duration() {
        let mut c = cfg();
        c.alerts.error_ratio_for = "five minutes".into();
        let errs = validate(&c, "obs.toml").unwrap_err();
        assert!(
            errs[0].starts_with("obs.toml: alerts.error_ratio_for:"),
            "{errs:?}"
        );
    }
}
