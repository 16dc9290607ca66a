//! The keys only the Kubernetes target reads: the `[kubernetes]` table, and the Kubernetes keys
//! of a `[[services]]` entry with their defaults.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::service::Service;

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

impl KubernetesService for Service {
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

#[cfg(test)]
mod tests {
    use super::*;

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
