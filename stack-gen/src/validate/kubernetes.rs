//! The checks of a Kubernetes obs.toml: the keys only compose reads are absent, and the names
//! the cluster constrains (RFC 1123 names, label keys and values, port names) have their form.
//! One line per problem, naming the key.

use crate::model::{Config, LogShipper, Ports, Target};

/// The keys of a Kubernetes obs.toml: none that only compose reads, and every name the cluster
/// constrains in its form.
pub(super) fn target_keys(
    cfg: &Config,
    err: &mut impl FnMut(&str, String),
    only: &impl Fn(Target) -> String,
) {
    if cfg.local.is_some() {
        err("local", only(Target::Compose));
    }
    if cfg.bind_address != Config::default().bind_address {
        err("bind_address", only(Target::Compose));
    }
    if cfg.ports != Ports::default() {
        err("ports", only(Target::Compose));
    }
    if cfg.log_shipper == LogShipper::Promtail {
        err(
            "log_shipper",
            "\"promtail\" is not written for target = \"kubernetes\" (Promtail reached end of life); use \"alloy\" or \"none\"".into(),
        );
    }
    databases(cfg, err);
    let k = cfg.kubernetes.clone().unwrap_or_default();
    if !is_dns_label(&k.namespace) {
        err("kubernetes.namespace", not_a_name(&k.namespace));
    }
    if k.prometheus_release.is_empty() || !is_label_value(&k.prometheus_release) {
        err(
            "kubernetes.prometheus_release",
            format!(
                "{:?} is not a Helm release name (lower-case letters, digits and '-')",
                k.prometheus_release
            ),
        );
    }
    for (i, s) in cfg.services.iter().enumerate() {
        let field = |f: &str| format!("services[{i}].{f}");
        if s.target.is_some() {
            err(
                &field("target"),
                format!(
                    "{}; the ServiceMonitor finds the Service by services[{i}].selector",
                    only(Target::Compose)
                ),
            );
        }
        // The name becomes object names (ServiceMonitor `obs-<name>`) and the job label.
        if !is_dns_label(&s.name) {
            err(&field("name"), not_a_name(&s.name));
        }
        if let Some(ns) = &s.namespace
            && !is_dns_label(ns)
        {
            err(&field("namespace"), not_a_name(ns));
        }
        if let Some(sel) = &s.selector {
            check_selector(sel, &field("selector"), err);
        }
        if let Some(p) = &s.port
            && !is_port_name(p)
        {
            err(&field("port"), not_a_port_name(p));
        }
    }
}

/// `[databases.*]` on Kubernetes: either the server the exporter's chart connects to
/// (`address`, with `user` and `password_secret`), or `exporter`, one the cluster runs already.
fn databases(cfg: &Config, err: &mut impl FnMut(&str, String)) {
    for (name, db) in cfg.databases.watched() {
        let field = |f: &str| format!("databases.{name}.{f}");
        if let Some(exporter) = &db.exporter {
            for (key, set) in [
                ("address", db.address.is_some()),
                ("user", db.user.is_some()),
                ("password_secret", db.password_secret.is_some()),
            ] {
                if set {
                    err(
                        &field(key),
                        format!(
                            "the exporter of databases.{name}.exporter already connects to its server; remove this key"
                        ),
                    );
                }
            }
            if let Some(ns) = &exporter.namespace
                && !is_dns_label(ns)
            {
                err(&field("exporter.namespace"), not_a_name(ns));
            }
            check_selector(&exporter.selector, &field("exporter.selector"), err);
            if !is_port_name(&exporter.port) {
                err(&field("exporter.port"), not_a_port_name(&exporter.port));
            }
            continue;
        }
        if db.address.is_none() {
            err(
                &field("address"),
                format!(
                    "the host:port of the server is needed (a Service such as {name}.default.svc:{}), or databases.{name}.exporter for an exporter the cluster runs",
                    if name == "postgres" { 5432 } else { 6379 }
                ),
            );
        }
        if let Some(user) = &db.user
            && (user.is_empty() || user.contains(char::is_whitespace))
        {
            err(
                &field("user"),
                format!("{user:?} is not a user name (no spaces)"),
            );
        }
        if name == "redis" && db.user.is_some() && db.password_secret.is_none() {
            err(
                &field("user"),
                "an ACL user needs databases.redis.password_secret, the Secret key of its password"
                    .into(),
            );
        }
        if let Some(secret) = &db.password_secret {
            if !is_dns_subdomain(&secret.name) {
                err(
                    &field("password_secret.name"),
                    format!(
                        "{:?} is not a Secret name (lower-case letters, digits, '-' and '.', at most 253)",
                        secret.name
                    ),
                );
            }
            let key_ok = !secret.key.is_empty()
                && secret.key.len() <= 253
                && secret
                    .key
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b));
            if !key_ok {
                err(
                    &field("password_secret.key"),
                    format!(
                        "{:?} is not a Secret key (letters, digits, '-', '_' and '.')",
                        secret.key
                    ),
                );
            }
        }
    }
}

/// A label selector of obs.toml: at least one label, each key and value of the form
/// Kubernetes accepts.
fn check_selector(
    sel: &std::collections::BTreeMap<String, String>,
    field: &str,
    err: &mut impl FnMut(&str, String),
) {
    if sel.is_empty() {
        err(
            field,
            "an empty selector would match every Service; name at least one label".into(),
        );
    }
    for (key, value) in sel {
        if let Err(msg) = check_label_key(key) {
            err(field, msg);
        } else if !is_label_value(value) {
            err(
                field,
                format!(
                    "label {key:?}: the value {value:?} must be at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
                ),
            );
        }
    }
}

fn not_a_port_name(p: &str) -> String {
    format!(
        "{p:?} is not a Service port name (at most 15 lower-case letters, digits and '-', with a letter)"
    )
}

/// Whether `s` is a DNS subdomain (the name of a Secret): dot-separated RFC 1123 labels, at
/// most 253 characters.
fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(is_dns_label)
}

fn not_a_name(s: &str) -> String {
    format!(
        "{s:?} is not a Kubernetes name (RFC 1123: at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit)"
    )
}

/// A named port (IANA service name, as Kubernetes checks it).
fn is_port_name(s: &str) -> bool {
    is_dns_label(s)
        && s.len() <= 15
        && !s.contains("--")
        && s.bytes().any(|b| b.is_ascii_lowercase())
}

/// Whether `s` is an RFC 1123 label (a Kubernetes namespace or Service name): at most 63
/// lower-case letters, digits and `-`, starting and ending with a letter or digit.
fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// Checks a Kubernetes label key: an optional DNS-subdomain prefix and `/`, then a name of at
/// most 63 characters (letters, digits, `-`, `_`, `.`, alphanumeric at both ends).
fn check_label_key(key: &str) -> Result<(), String> {
    let (prefix, name) = match key.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if let Some(p) = prefix {
        let ok = !p.is_empty() && p.len() <= 253 && p.split('.').all(is_dns_label);
        if !ok {
            return Err(format!(
                "label key {key:?}: the prefix before '/' must be a DNS subdomain like example.com"
            ));
        }
    }
    if name.is_empty() || !is_label_value(name) {
        return Err(format!(
            "label key {key:?}: the name must be 1-63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
        ));
    }
    Ok(())
}

/// Whether `s` is a valid Kubernetes label value: empty, or at most 63 letters, digits, `-`,
/// `_` and `.`, alphanumeric at both ends.
fn is_label_value(s: &str) -> bool {
    s.is_empty()
        || (s.len() <= 63
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
            && s.as_bytes()[0].is_ascii_alphanumeric()
            && s.as_bytes()[s.len() - 1].is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_labels() {
        assert!(is_dns_label("monitoring"));
        assert!(is_dns_label("a-1"));
        assert!(!is_dns_label("Monitoring"));
        assert!(!is_dns_label("-a"));
        assert!(!is_dns_label("a_b"));
        assert!(!is_dns_label(&"a".repeat(64)));
        assert!(check_label_key("app.kubernetes.io/name").is_ok());
        assert!(check_label_key("app").is_ok());
        assert!(check_label_key("bad key").is_err());
        assert!(check_label_key("Example.com/x").is_err());
        assert!(check_label_key("/x").is_err());
        assert!(is_label_value("v1.2_3"));
        assert!(!is_label_value("-v"));
        assert!(!is_label_value("a b"));
    }
}
