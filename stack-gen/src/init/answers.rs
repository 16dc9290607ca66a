//! The answers of `obs-gen init` and the configuration they make.

use std::net::IpAddr;

use obs_mixin::slo::Slo;

use crate::error::Error;
use crate::model::{
    Alerting, AlertingKeys, Config, Database, Databases, Duration, Frontend, GrafanaUrl, HostPort,
    Kubernetes, LogShipper, Port, RemoteWrite, Service, Target,
};

/// The answers to the questions of `obs-gen init`, one field per question, named after the
/// obs.toml key it sets. A question still open (`None`, or an empty list) takes the default of
/// [`Config`]; the wizard asks exactly those.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Answers {
    /// `project`.
    pub project: Option<String>,
    /// `environment`.
    pub environment: Option<String>,
    /// `target`.
    pub target: Option<Target>,
    /// `[[services]]`; none takes [`default_service`].
    pub services: Vec<Service>,
    /// `kubernetes.namespace`.
    pub namespace: Option<String>,
    /// `kubernetes.prometheus_release`.
    pub prometheus_release: Option<String>,
    /// `[remote_write] url`.
    pub remote_write_url: Option<String>,
    /// `[[slo]]`.
    pub slo: Vec<Slo>,
    /// `log_shipper`.
    pub log_shipper: Option<LogShipper>,
    /// The databases the application's compose file runs: what `postgres` and `redis` are
    /// while open.
    pub detected: Databases,
    /// `[databases.postgres]`; `Some(None)` when the answer is not to watch PostgreSQL.
    pub postgres: Option<Option<Database>>,
    /// `[databases.redis]`; `Some(None)` when the answer is not to watch Redis.
    pub redis: Option<Option<Database>>,
    /// `[alerting]`, once its receiver is known.
    pub alerting: Option<Alerting>,
    /// The `[alerting]` keys given while the receiver is still open (such as
    /// `--slack-channel`): the wizard keeps those of the receiver chosen and asks the rest.
    pub alerting_keys: AlertingKeys,
    /// `retention`.
    pub retention: Option<Duration>,
    /// `tracing`.
    pub tracing: Option<bool>,
    /// `sentry`.
    pub sentry: Option<bool>,
    /// `frontend`.
    pub frontend: Option<Frontend>,
    /// `public_url` of services by name, set once the services are known, since a name may be
    /// that of the default service.
    pub public_urls: Vec<(String, String)>,
    /// `bind_address`.
    pub bind_address: Option<IpAddr>,
    /// `grafana_url`.
    pub grafana_url: Option<GrafanaUrl>,
}

impl Answers {
    /// The configuration these answers make, with the defaults for the questions still open.
    /// Fails when a public URL names no service.
    pub fn into_config(self) -> Result<Config, Error> {
        let mut cfg = Config::default();
        if let Some(v) = self.project {
            cfg.project = v;
        }
        if let Some(v) = self.environment {
            cfg.environment = v;
        }
        if let Some(v) = self.target {
            cfg.target = v;
        }
        cfg.services = self.services;
        // A Kubernetes obs.toml shows its [kubernetes] table, defaults included.
        if self.namespace.is_some()
            || self.prometheus_release.is_some()
            || cfg.target == Target::Kubernetes
        {
            let defaults = Kubernetes::default();
            cfg.kubernetes = Some(Kubernetes {
                namespace: self.namespace.unwrap_or(defaults.namespace),
                prometheus_release: self
                    .prometheus_release
                    .unwrap_or(defaults.prometheus_release),
            });
        }
        cfg.remote_write = self.remote_write_url.map(|url| RemoteWrite {
            url,
            username: None,
            password_env: None,
            bearer_token_env: None,
        });
        cfg.slo = self.slo;
        if let Some(v) = self.log_shipper {
            cfg.log_shipper = v;
        }
        let target = cfg.target;
        let with_address = |db: Option<Database>, kind| {
            db.map(|mut db| {
                if db.address.is_none() && db.exporter.is_none() {
                    db.address = Some(default_address(kind, target));
                }
                db
            })
        };
        cfg.databases = Databases {
            postgres: with_address(
                self.postgres.unwrap_or(self.detected.postgres),
                DatabaseKind::Postgres,
            ),
            redis: with_address(
                self.redis.unwrap_or(self.detected.redis),
                DatabaseKind::Redis,
            ),
        };
        if let Some(v) = self.alerting {
            cfg.alerting = v;
        }
        if let Some(v) = self.retention {
            cfg.retention = v;
        }
        if let Some(v) = self.tracing {
            cfg.tracing = v;
        }
        if let Some(v) = self.sentry {
            cfg.sentry = v;
        }
        if let Some(v) = self.bind_address {
            cfg.bind_address = v;
        }
        cfg.frontend = self.frontend;
        cfg.grafana_url = self.grafana_url;
        if cfg.services.is_empty() {
            cfg.services.push(default_service(cfg.target));
        }
        for (i, (name, url)) in self.public_urls.into_iter().enumerate() {
            let Some(service) = cfg.services.iter_mut().find(|s| s.name == name) else {
                return Err(Error::Input(format!(
                    "--public-url[{i}]: no service is named {name:?} (give it with --service)"
                )));
            };
            service.public_url = Some(
                url.parse()
                    .map_err(|msg| Error::Input(format!("--public-url[{i}]: {msg}")))?,
            );
        }
        Ok(cfg)
    }
}

/// The service taken when none is given: the demo's default port on the docker host (on
/// Kubernetes, the Service labelled `app.kubernetes.io/name: app`).
pub fn default_service(target: Target) -> Service {
    match target {
        Target::Compose => Service::new("app", HostPort::docker_host(Port::known(3000))),
        Target::Kubernetes => Service::kubernetes("app"),
    }
}

/// A database `init` asks about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseKind {
    /// `[databases.postgres]`.
    Postgres,
    /// `[databases.redis]`.
    Redis,
}

/// Where `--postgres` or `--redis` without an address points: the server's port on the docker
/// host for compose; on Kubernetes a Service named after it in `default`, which the user
/// changes to theirs.
pub fn default_address(kind: DatabaseKind, target: Target) -> HostPort {
    use crate::model::{
        DEFAULT_KUBERNETES_POSTGRES_ADDRESS, DEFAULT_KUBERNETES_REDIS_ADDRESS,
        DEFAULT_POSTGRES_ADDRESS, DEFAULT_REDIS_ADDRESS,
    };
    let text = match (kind, target) {
        (DatabaseKind::Postgres, Target::Compose) => DEFAULT_POSTGRES_ADDRESS,
        (DatabaseKind::Redis, Target::Compose) => DEFAULT_REDIS_ADDRESS,
        (DatabaseKind::Postgres, Target::Kubernetes) => DEFAULT_KUBERNETES_POSTGRES_ADDRESS,
        (DatabaseKind::Redis, Target::Kubernetes) => DEFAULT_KUBERNETES_REDIS_ADDRESS,
    };
    text.parse().expect("the default addresses are valid")
}

/// The availability SLO of a service as `init` writes it: `<service>-availability` over the
/// default window, `objective` the percent of requests answered without a 5xx.
pub fn availability(service: &str, objective: f64) -> Slo {
    Slo::availability(&format!("{service}-availability"), service, objective)
}
