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
    pub public_url: Option<super::PublicUrl>,
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

/// One database the stack watches. On compose, the stack runs the exporter against `address`,
/// with the credentials of `.env`. On Kubernetes, obs-gen writes the values of the exporter's
/// Helm chart (`address`, `user`, `password_secret`), or, with `exporter`, a ServiceMonitor for
/// an exporter the cluster already runs.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Database {
    /// `host:port` the exporter connects to. Required, except on Kubernetes with `exporter`
    /// (checked by validation, naming the key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<HostPort>,
    /// Kubernetes: the user the exporter logs in as (PostgreSQL: default `postgres`; Redis: an
    /// ACL user, none by default). A name, not a secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Kubernetes: the key of an existing Secret that holds the password. Only its name and key
    /// are written, never a value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_secret: Option<SecretKeyRef>,
    /// Kubernetes: an exporter the cluster already runs; obs-gen writes a ServiceMonitor for it
    /// instead of the chart's values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exporter: Option<ExporterService>,
}

impl Databases {
    /// The databases watched, by their key in `[databases]` (`postgres`, `redis`).
    pub fn watched(&self) -> impl Iterator<Item = (&'static str, &Database)> {
        [("postgres", &self.postgres), ("redis", &self.redis)]
            .into_iter()
            .filter_map(|(key, db)| Some((key, db.as_ref()?)))
    }
}

impl Database {
    /// A database at `address`, with no Kubernetes keys.
    pub fn at(address: HostPort) -> Database {
        Database {
            address: Some(address),
            ..Database::default()
        }
    }
}

/// A key of a Kubernetes Secret (`{ name = "shop-postgres", key = "password" }`), as a
/// `secretKeyRef` names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretKeyRef {
    /// The Secret, in the namespace of the manifests.
    pub name: String,
    /// The key inside it.
    pub key: String,
}

/// The Service of an exporter the cluster already runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExporterService {
    /// Namespace of the exporter's Service. Default: `[kubernetes] namespace`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Labels of the exporter's Service.
    pub selector: std::collections::BTreeMap<String, String>,
    /// The named Service port of its `/metrics`. Default `metrics`.
    #[serde(default = "default_exporter_port")]
    pub port: String,
}

fn default_exporter_port() -> String {
    "metrics".into()
}

/// The default address of a PostgreSQL server on the docker host (`--postgres` without a value).
pub const DEFAULT_POSTGRES_ADDRESS: &str = "host.docker.internal:5432";
/// The default address of a Redis server on the docker host (`--redis` without a value).
pub const DEFAULT_REDIS_ADDRESS: &str = "host.docker.internal:6379";
/// On Kubernetes, the default address of PostgreSQL: a Service `postgres` in `default`.
pub const DEFAULT_KUBERNETES_POSTGRES_ADDRESS: &str = "postgres.default.svc:5432";
/// On Kubernetes, the default address of Redis: a Service `redis` in `default`.
pub const DEFAULT_KUBERNETES_REDIS_ADDRESS: &str = "redis.default.svc:6379";
