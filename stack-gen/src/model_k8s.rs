//! The parts of `obs.toml` for running beyond one host: the `[kubernetes]` table, the
//! Kubernetes keys of a `[[services]]` entry, and `[remote_write]` (both targets). Re-exported
//! from [`crate::model`]; kept in their own file so the core model stays target-neutral.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The `[kubernetes]` table (`target = "kubernetes"` only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Kubernetes {
    /// Namespace of every manifest obs-gen writes (where kube-prometheus-stack, Loki and Grafana
    /// run). Default `monitoring`.
    pub namespace: String,
    /// Release name of the kube-prometheus-stack install whose selectors must find the
    /// ServiceMonitors and the PrometheusRule: they carry `release: <this>`. Default
    /// `kube-prometheus-stack`.
    pub prometheus_release: String,
}

impl Default for Kubernetes {
    fn default() -> Self {
        Kubernetes {
            namespace: "monitoring".into(),
            prometheus_release: "kube-prometheus-stack".into(),
        }
    }
}

impl Kubernetes {
    /// The name the kube-prometheus-stack chart gives its objects for this release: the release
    /// name when it contains the chart name, else `<release>-kube-prometheus-stack`, cut to 26
    /// characters (the chart truncates there so its longest suffixes stay within 63).
    pub fn stack_fullname(&self) -> String {
        const CHART: &str = "kube-prometheus-stack";
        let full = if self.prometheus_release.contains(CHART) {
            self.prometheus_release.clone()
        } else {
            format!("{}-{CHART}", self.prometheus_release)
        };
        full.chars()
            .take(26)
            .collect::<String>()
            .trim_end_matches('-')
            .to_string()
    }
}

/// The Kubernetes keys of one `[[services]]` entry, each with its default.
pub trait KubernetesService {
    /// Namespace of the service's Service object. Default `default`.
    fn namespace_or_default(&self) -> &str;
    /// Labels of the service's Service object the ServiceMonitor selects. Default
    /// `app.kubernetes.io/name = <name>`.
    fn selector_or_default(&self) -> BTreeMap<String, String>;
    /// Name of the Service port that serves `/metrics`. Default `http`.
    fn port_or_default(&self) -> &str;
}

impl KubernetesService for crate::model::Service {
    fn namespace_or_default(&self) -> &str {
        self.namespace.as_deref().unwrap_or("default")
    }
    fn selector_or_default(&self) -> BTreeMap<String, String> {
        self.selector.clone().unwrap_or_else(|| {
            BTreeMap::from([("app.kubernetes.io/name".to_string(), self.name.clone())])
        })
    }
    fn port_or_default(&self) -> &str {
        self.port.as_deref().unwrap_or("http")
    }
}

/// The `[remote_write]` table: Prometheus also sends every sample to a scale-out store (Mimir,
/// Thanos Receive, VictoriaMetrics). Credentials are never stored: only the names of the
/// variables (compose, in `.env`) or Secret keys (Kubernetes) holding them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteWrite {
    /// The receiver's push URL, `http://` or `https://`, e.g.
    /// `https://mimir.example.com/api/v1/push`.
    pub url: String,
    /// Basic-auth user name (not a secret; often the tenant). Needs `password_env`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Variable (Secret key on Kubernetes) holding the basic-auth password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_env: Option<String>,
    /// Variable (Secret key on Kubernetes) holding a bearer token; instead of basic auth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bearer_token_env: Option<String>,
}

impl RemoteWrite {
    /// The variables this remote write reads, with what they hold.
    pub fn secret_vars(&self) -> Vec<(&str, &'static str)> {
        let mut v = Vec::new();
        if let Some(p) = &self.password_env {
            v.push((p.as_str(), "remote-write basic-auth password"));
        }
        if let Some(t) = &self.bearer_token_env {
            v.push((t.as_str(), "remote-write bearer token"));
        }
        v
    }
}

/// Whether `s` is an RFC 1123 label (a Kubernetes namespace or Service name): at most 63
/// lower-case letters, digits and `-`, starting and ending with a letter or digit.
pub fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// Checks a Kubernetes label key: an optional DNS-subdomain prefix and `/`, then a name of at
/// most 63 characters (letters, digits, `-`, `_`, `.`, alphanumeric at both ends).
pub fn check_label_key(key: &str) -> Result<(), String> {
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
pub fn is_label_value(s: &str) -> bool {
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

    #[test]
    fn fullname_follows_the_chart() {
        let mut k = Kubernetes::default();
        assert_eq!(k.stack_fullname(), "kube-prometheus-stack");
        k.prometheus_release = "prom".into();
        assert_eq!(k.stack_fullname(), "prom-kube-prometheus-stack");
        k.prometheus_release = "monitoring".into();
        // 26 characters: "monitoring-kube-prometheus" (the chart's trunc 26).
        assert_eq!(k.stack_fullname(), "monitoring-kube-prometheus");
    }
}
