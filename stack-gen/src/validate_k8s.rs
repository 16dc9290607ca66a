//! The checks of the keys one target alone reads (`[kubernetes]` and the services' Kubernetes
//! keys; `[local]`, `bind_address`, `[ports]` and the services' `target` for compose), of the
//! names Kubernetes constrains (RFC 1123 names, label keys and values, port names), and of
//! `[remote_write]`. Called by [`crate::validate::validate`]; one line per problem, naming the
//! key.

use crate::model::{Config, LogShipper, Ports, Target};
use crate::model_k8s::{check_label_key, is_dns_label, is_label_value};
use crate::validate::is_env_name;

/// Every problem of the target-specific keys and of `[remote_write]`, each
/// `origin: key: message`.
pub fn validate(cfg: &Config, origin: &str) -> Vec<String> {
    let mut errs = Vec::new();
    let mut err = |field: &str, msg: String| errs.push(format!("{origin}: {field}: {msg}"));
    let only = |t: Target| {
        format!(
            "only for target = \"{}\" (this file has target = \"{}\"); remove it",
            t.as_str(),
            cfg.target.as_str()
        )
    };
    match cfg.target {
        Target::Compose => {
            if cfg.kubernetes.is_some() {
                err("kubernetes", only(Target::Kubernetes));
            }
            for (i, s) in cfg.services.iter().enumerate() {
                if s.target.is_none() {
                    err(
                        &format!("services[{i}].target"),
                        "the host:port Prometheus scrapes is needed for target = \"compose\""
                            .into(),
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
        }
        Target::Kubernetes => kubernetes(cfg, &mut err, &only),
    }
    if let Some(rw) = &cfg.remote_write {
        if let Err(msg) = check_push_url(&rw.url) {
            err("remote_write.url", msg);
        }
        for (key, value) in [
            ("password_env", &rw.password_env),
            ("bearer_token_env", &rw.bearer_token_env),
        ] {
            if let Some(v) = value
                && !is_env_name(v)
            {
                err(
                    &format!("remote_write.{key}"),
                    format!("{v:?} is not an environment variable name (A-Z, 0-9, _)"),
                );
            }
        }
        match (&rw.username, &rw.password_env, &rw.bearer_token_env) {
            (Some(_), None, _) => err(
                "remote_write.password_env",
                "basic auth needs the variable holding the password as well as username".into(),
            ),
            (None, Some(_), _) => err(
                "remote_write.username",
                "basic auth needs a username as well as password_env".into(),
            ),
            (Some(_), Some(_), Some(_)) => err(
                "remote_write.bearer_token_env",
                "use either basic auth (username, password_env) or a bearer token, not both".into(),
            ),
            _ => {}
        }
        if let Some(u) = &rw.username
            && (u.is_empty() || u.contains(char::is_control))
        {
            err(
                "remote_write.username",
                format!("{u:?} must be a non-empty user name"),
            );
        }
    }
    errs
}

fn kubernetes(cfg: &Config, err: &mut impl FnMut(&str, String), only: &impl Fn(Target) -> String) {
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
    if cfg.databases.postgres.is_some() || cfg.databases.redis.is_some() {
        err(
            "databases",
            "not written for target = \"kubernetes\" yet; install the exporters' charts with their ServiceMonitor enabled and remove this table".into(),
        );
    }
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
            if sel.is_empty() {
                err(
                    &field("selector"),
                    "an empty selector would match every Service; name at least one label".into(),
                );
            }
            for (key, value) in sel {
                if let Err(msg) = check_label_key(key) {
                    err(&field("selector"), msg);
                } else if !is_label_value(value) {
                    err(
                        &field("selector"),
                        format!(
                            "label {key:?}: the value {value:?} must be at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
                        ),
                    );
                }
            }
        }
        if let Some(p) = &s.port
            && !is_port_name(p)
        {
            err(
                &field("port"),
                format!(
                    "{p:?} is not a Service port name (at most 15 lower-case letters, digits and '-', with a letter)"
                ),
            );
        }
    }
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

/// Checks a push URL: `http://` or `https://`, a host, no whitespace. Hand-written because the
/// generator only needs the scheme and host checked (Prometheus parses the rest on load), and
/// a URL crate would come in for these two lines.
pub fn check_push_url(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    let Some(rest) = rest else {
        return Err(format!(
            "{url:?} must start with http:// or https:// (the remote-write receiver's push URL)"
        ));
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() || host.contains('@') || url.contains(char::is_whitespace) {
        return Err(format!(
            "{url:?} needs a host and no spaces or user:password@ (put credentials in password_env)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{RemoteWrite, Service};

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
        crate::validate::validate(&k8s(), "obs.toml").unwrap();
    }

    #[test]
    fn keys_of_the_other_target_are_named() {
        let mut c = k8s();
        c.services[0].target = Some("api:80".parse().unwrap());
        c.ports.grafana = "1".parse().unwrap();
        let errs = validate(&c, "obs.toml");
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
        let errs = validate(&c, "obs.toml");
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
        let errs = validate(&c, "obs.toml");
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
        let errs = validate(&c, "obs.toml");
        assert!(
            errs[0].starts_with("obs.toml: remote_write.url: \"ftp://x\" must start with http")
        );
        assert!(errs[1].starts_with("obs.toml: remote_write.bearer_token_env: \"token\""));
        assert!(errs[2].starts_with("obs.toml: remote_write.password_env: basic auth"));
        assert!(check_push_url("https://mimir.example.com/api/v1/push").is_ok());
        assert!(check_push_url("http://127.0.0.1:9090/api/v1/write").is_ok());
        assert!(check_push_url("https://u:p@host/x").is_err());
        assert!(check_push_url("https:///x").is_err());
    }
}
