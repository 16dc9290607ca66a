//! The checks of a compose obs.toml (every service has the `host:port` Prometheus scrapes, no
//! key only Kubernetes reads) and of the keys only compose reads, `[local]` and `[ports]`. Those
//! two are checked whatever the target; on Kubernetes, setting them is a problem of its own,
//! reported by `kubernetes`.

use std::collections::BTreeMap;

use crate::model::{Config, Port, Target};

/// The keys of a compose obs.toml: each service's `target`, and none of the Kubernetes keys.
pub(super) fn target_keys(
    cfg: &Config,
    err: &mut impl FnMut(&str, String),
    only: &impl Fn(Target) -> String,
) {
    if cfg.kubernetes.is_some() {
        err("kubernetes", only(Target::Kubernetes));
    }
    for (i, s) in cfg.services.iter().enumerate() {
        if s.target.is_none() {
            err(
                &format!("services[{i}].target"),
                "the host:port Prometheus scrapes is needed for target = \"compose\"".into(),
            );
        }
        for (key, set) in [
            ("namespace", s.namespace.is_some()),
            ("selector", s.selector.is_some()),
            ("port", s.port.is_some()),
        ] {
            if set {
                err(&format!("services[{i}].{key}"), only(Target::Kubernetes));
            }
        }
    }
    for (name, db) in cfg.databases.watched() {
        if db.address.is_none() {
            err(
                &format!("databases.{name}.address"),
                format!("the host:port of the server is needed for [databases.{name}]"),
            );
        }
        for (key, set) in [
            ("user", db.user.is_some()),
            ("password_secret", db.password_secret.is_some()),
            ("exporter", db.exporter.is_some()),
        ] {
            if set {
                err(&format!("databases.{name}.{key}"), only(Target::Kubernetes));
            }
        }
    }
}

/// `[local]`: an exporter address for each database watched, and none for a database not.
pub(super) fn local(cfg: &Config, err: &mut impl FnMut(&str, String)) {
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
}

/// `[ports]`: no port published twice, nor on a port a service listens on on the same host.
pub(super) fn ports(cfg: &Config, err: &mut impl FnMut(&str, String)) {
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
}
