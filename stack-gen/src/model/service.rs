//! The `[[services]]` Prometheus scrapes and the `[databases]` it watches through exporters.

use serde::{Deserialize, Serialize};

use super::addr::HostPort;

/// One service Prometheus scrapes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// The service name; also its Prometheus `job`.
    pub name: String,
    /// `host:port` Prometheus scrapes, as seen from the Prometheus container. Compose only
    /// (required there); on Kubernetes the ServiceMonitor finds the Service by its selector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<HostPort>,
    /// Path of the metrics endpoint.
    #[serde(default = "default_metrics_path")]
    pub metrics_path: String,
    /// Path of the liveness endpoint (listed in the generated README, probed by
    /// `app-healthchecks.yaml`).
    #[serde(default = "default_health_path")]
    pub health_path: String,
    /// Kubernetes: namespace of the service's Service. Default `default`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Kubernetes: labels of the service's Service. Default `app.kubernetes.io/name = <name>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<std::collections::BTreeMap<String, String>>,
    /// Kubernetes: name of the Service port serving the metrics. Default `http`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<String>,
    /// The URL browsers call the service at (e.g. `https://api.example.com`); its origin goes
    /// into the frontend's `tracePropagationTargets`, so the browser's trace headers reach it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
}

fn default_metrics_path() -> String {
    obs_catalogue::paths::METRICS.into()
}
fn default_health_path() -> String {
    obs_catalogue::paths::HEALTH_LIVE.into()
}

impl Service {
    /// A service with the SDK's default paths.
    pub fn new(name: &str, target: HostPort) -> Service {
        Service {
            target: Some(target),
            ..Service::kubernetes(name)
        }
    }

    /// A service of the Kubernetes target: no `target`, the default selector and port.
    pub fn kubernetes(name: &str) -> Service {
        Service {
            name: name.into(),
            target: None,
            metrics_path: default_metrics_path(),
            health_path: default_health_path(),
            namespace: None,
            selector: None,
            port: None,
            public_url: None,
        }
    }
}

/// Databases and caches watched through exporters.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Databases {
    /// PostgreSQL, through postgres-exporter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postgres: Option<Database>,
    /// Redis, through redis_exporter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redis: Option<Database>,
}

/// One database the stack watches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Database {
    /// `host:port` the exporter connects to. Credentials come from `.env`.
    pub address: HostPort,
}

/// The default address of a PostgreSQL server on the docker host (`--postgres` without a value).
pub const DEFAULT_POSTGRES_ADDRESS: &str = "host.docker.internal:5432";
/// The default address of a Redis server on the docker host (`--redis` without a value).
pub const DEFAULT_REDIS_ADDRESS: &str = "host.docker.internal:6379";
