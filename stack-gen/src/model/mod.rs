//! `obs.toml`: the answers of `obs-gen init`, the single input of `obs-gen generate`, typed so
//! that each value is checked once, when it is read.
//!
//! Every table rejects unknown keys, so a typo is an error naming the key instead of a
//! silently ignored setting. The model is target-neutral: [`Config`] and the keys both targets
//! read live here and beside it (`addr`, `alerting`, `service`, `frontend`, `remote_write`);
//! the keys one target alone reads sit in `compose` and `kubernetes`.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::error::Error;

mod addr;
mod alerting;
mod compose;
mod frontend;
mod http_url;
mod kubernetes;
mod remote_write;
mod service;

pub use addr::{AddrError, HostPort, Port};
pub use alerting::{Alerting, AlertingKeys, Receiver, ReceiverKind, SecretVar};
pub use compose::{Local, Ports};
pub use frontend::{Frontend, PublicUrl, SentrySampling};
pub use http_url::GrafanaUrl;
pub use kubernetes::{Kubernetes, KubernetesService};
pub use obs_mixin::Duration;
pub use remote_write::RemoteWrite;
pub use service::{
    DEFAULT_KUBERNETES_POSTGRES_ADDRESS, DEFAULT_KUBERNETES_REDIS_ADDRESS,
    DEFAULT_POSTGRES_ADDRESS, DEFAULT_REDIS_ADDRESS, Database, Databases, ExporterService,
    SecretKeyRef, Service,
};

/// The name of the configuration file, written into the output directory.
pub const CONFIG_FILE: &str = "obs.toml";

/// The whole of `obs.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Project name: the compose project name and a Prometheus external label.
    pub project: String,
    /// Deployment environment, the `env` label of every log stream.
    #[serde(default = "default_environment")]
    pub environment: String,
    /// What the stack is written for.
    #[serde(default)]
    pub target: Target,
    /// Address the published ports bind to. `127.0.0.1` unless asked otherwise.
    #[serde(default = "default_bind_address")]
    pub bind_address: IpAddr,
    /// Which log shipper reads the containers' logs.
    #[serde(default)]
    pub log_shipper: LogShipper,
    /// How long metrics, logs and traces are kept (Prometheus duration, e.g. `15d`).
    #[serde(default = "default_retention")]
    pub retention: Duration,
    /// Tempo with an OTLP endpoint.
    #[serde(default)]
    pub tracing: bool,
    /// Whether the services report errors to Sentry (adds `SENTRY_DSN` to `.env.example`).
    #[serde(default)]
    pub sentry: bool,
    /// Where people open Grafana: every alert's `dashboard_url` starts there. Absent: the
    /// compose stack's published Grafana port on localhost ([`Config::grafana_url`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grafana_url: Option<GrafanaUrl>,
    /// The services Prometheus scrapes.
    #[serde(default)]
    pub services: Vec<Service>,
    /// Databases and caches to watch through exporters.
    #[serde(default)]
    pub databases: Databases,
    /// Where Alertmanager sends notifications.
    #[serde(default)]
    pub alerting: Alerting,
    /// Alert thresholds and `for` durations, passed to the bundled rules as they are. Written
    /// out with only the values that differ from the defaults.
    #[serde(default, serialize_with = "serialize_changed_thresholds")]
    pub alerts: obs_mixin::Thresholds,
    /// Host ports the UIs and APIs are published on.
    #[serde(default)]
    pub ports: Ports,
    /// Service level objectives (`[[slo]]`), each rendered as burn-rate rules with their
    /// promtool tests ([`obs_mixin::slo`]); checked by [`crate::validate`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub slo: Vec<obs_mixin::slo::Slo>,
    /// How often Prometheus scrapes every target (Prometheus duration). Default `15s`.
    #[serde(
        default = "default_interval",
        skip_serializing_if = "is_default_interval"
    )]
    pub scrape_interval: Duration,
    /// How often Prometheus evaluates the recording and alerting rules. Default `15s`.
    #[serde(
        default = "default_interval",
        skip_serializing_if = "is_default_interval"
    )]
    pub evaluation_interval: Duration,
    /// Host-process mode: Prometheus, Alertmanager and the exporters run as programs on one
    /// host (Debian's packages, the end-to-end test) instead of compose containers. Absent by
    /// default; see [`Local`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local: Option<Local>,
    /// `[kubernetes]`: where the manifests go (`target = "kubernetes"` only; defaults apply when
    /// absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes: Option<Kubernetes>,
    /// `[remote_write]`: Prometheus also sends its samples to a scale-out store (both targets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_write: Option<RemoteWrite>,
    /// The web front end to write a Sentry setup for (`frontend = "nextjs"`, under
    /// `frontend/nextjs/`). Needs `sentry = true`. Absent by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frontend: Option<Frontend>,
    /// Sample rates of the generated frontend Sentry setup (`[sentry_sampling]`).
    #[serde(default, skip_serializing_if = "SentrySampling::is_default")]
    pub sentry_sampling: SentrySampling,
}

fn default_interval() -> Duration {
    Duration::from_static("15s")
}
fn is_default_interval(d: &Duration) -> bool {
    *d == default_interval()
}

/// Serialises only the thresholds that differ from their defaults, so `obs.toml` stays short
/// and picks up improved defaults of later releases.
fn serialize_changed_thresholds<S: serde::Serializer>(
    t: &obs_mixin::Thresholds,
    s: S,
) -> Result<S::Ok, S::Error> {
    let value = serde_json::to_value(t).map_err(serde::ser::Error::custom)?;
    let defaults = serde_json::to_value(obs_mixin::Thresholds::default())
        .map_err(serde::ser::Error::custom)?;
    let mut changed = serde_json::Map::new();
    if let (Some(v), Some(d)) = (value.as_object(), defaults.as_object()) {
        for (k, x) in v {
            if d.get(k) != Some(x) {
                changed.insert(k.clone(), x.clone());
            }
        }
    }
    changed.serialize(s)
}

fn default_environment() -> String {
    "production".into()
}
fn default_bind_address() -> IpAddr {
    IpAddr::from([127, 0, 0, 1])
}
fn default_retention() -> Duration {
    Duration::from_static("15d")
}

impl Default for Config {
    fn default() -> Self {
        Config {
            project: "obs".into(),
            environment: default_environment(),
            target: Target::default(),
            bind_address: default_bind_address(),
            log_shipper: LogShipper::default(),
            retention: default_retention(),
            tracing: false,
            sentry: false,
            grafana_url: None,
            services: Vec::new(),
            databases: Databases::default(),
            alerting: Alerting::default(),
            alerts: obs_mixin::Thresholds::default(),
            ports: Ports::default(),
            slo: Vec::new(),
            scrape_interval: default_interval(),
            evaluation_interval: default_interval(),
            local: None,
            kubernetes: None,
            remote_write: None,
            frontend: None,
            sentry_sampling: SentrySampling::default(),
        }
    }
}

impl Config {
    /// Parses `obs.toml` text. `origin` names the file in error messages.
    pub fn from_toml(text: &str, origin: &str) -> Result<Config, Error> {
        let input = |e: &toml::de::Error, path: &str| {
            Error::Input(format_toml_error(origin, text, e, path))
        };
        let de = toml::Deserializer::parse(text).map_err(|e| input(&e, ""))?;
        serde_path_to_error::deserialize(de).map_err(|e| input(e.inner(), &e.path().to_string()))
    }

    /// Renders the configuration as `obs.toml` text with a header comment.
    pub fn to_toml(&self) -> String {
        let mut body = toml::to_string_pretty(self).expect("the configuration always serialises");
        if self.target == Target::Kubernetes {
            // Compose-only keys at their defaults mean nothing there; leaving them out keeps a
            // Kubernetes obs.toml free of keys it does not read.
            let mut table = toml::Table::try_from(self).expect("serialises");
            let defaults = toml::Table::try_from(Config::default()).expect("serialises");
            for key in ["bind_address", "ports"] {
                if table.get(key) == defaults.get(key) {
                    table.remove(key);
                }
            }
            body = toml::to_string_pretty(&table).expect("serialises");
        }
        format!(
            "# obs.toml: the answers of `obs-gen init`. Edit it, then run `obs-gen generate`.\n\
             # Every key is documented in docs/generator.md in the obs repository; [alerts] lists only\n\
             # the thresholds changed from their defaults (all of them: docs/alerts.md in the obs repository).\n\n{body}"
        )
    }

    /// The service jobs' regex for the bundled rules: the configured one, or the services of
    /// this file when `alerts.service_job_regex` was left at its default.
    pub fn thresholds_for_rules(&self) -> obs_mixin::Thresholds {
        let mut t = self.alerts.clone();
        if t.service_job_regex == obs_mixin::Thresholds::default().service_job_regex
            && !self.services.is_empty()
        {
            let names: Vec<String> = self
                .services
                .iter()
                .map(|s| regex_escape(&s.name))
                .collect();
            t.service_job_regex = names.join("|");
        }
        t.slos = self.slo.clone();
        t.grafana_url = self.grafana_url();
        t
    }

    /// The root URL of Grafana the alerts link to: `grafana_url`, or else where the compose
    /// stack publishes Grafana (`http://localhost:<ports.grafana>`). The default is the same
    /// for both targets, so they carry the same rule groups; a Kubernetes Grafana is there
    /// once `kubectl port-forward` puts it on that port, and `grafana_url` names its real
    /// address.
    pub fn grafana_url(&self) -> String {
        match &self.grafana_url {
            Some(url) => url.as_str().to_owned(),
            None => format!("http://localhost:{}", self.ports.grafana),
        }
    }
}

fn regex_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Turns a toml error into one line. A value the model's types refuse is named by its key
/// (`obs.toml: ports.grafana: 70000 is not a port (must be 1-65535)`); anything else (broken
/// TOML, an unknown key) by its line (`obs.toml: line 3: unknown field ...`). `path` is the
/// key serde was reading, empty when unknown.
fn format_toml_error(origin: &str, text: &str, e: &toml::de::Error, path: &str) -> String {
    let message = e.message().trim().replace('\n', " ");
    let names_a_key = !path.is_empty()
        && path != "?"
        && !message.starts_with("unknown field")
        && !message.starts_with("missing field");
    if names_a_key {
        // A message that already names a key below `path` (`alerting.slack_channel: …`) keeps it.
        if message.starts_with(&format!("{path}.")) {
            return format!("{origin}: {message}");
        }
        return format!("{origin}: {path}: {message}");
    }
    let mut location = String::new();
    if let Some(span) = e.span() {
        let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
        location = format!(" line {line}:");
    }
    format!("{origin}:{location} {message}")
}

/// What the stack is written for. The model keeps nothing target-specific outside the
/// renderers, except the keys each target alone reads (checked by validation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    /// A docker compose project.
    #[default]
    Compose,
    /// Manifests for a cluster running kube-prometheus-stack, Grafana's sidecar, Loki and Alloy.
    Kubernetes,
}

impl Target {
    /// The name used in obs.toml and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Target::Compose => "compose",
            Target::Kubernetes => "kubernetes",
        }
    }
}

/// Which program ships the containers' logs to Loki.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogShipper {
    /// Grafana Alloy (the default: Promtail reached end of life on 2026-03-02).
    #[default]
    Alloy,
    /// Promtail, still supported for teams that run it elsewhere.
    Promtail,
    /// No shipper: services push to Loki themselves (`LOKI_URL`) or logs stay local.
    None,
}

impl LogShipper {
    /// The name used in obs.toml and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            LogShipper::Alloy => "alloy",
            LogShipper::Promtail => "promtail",
            LogShipper::None => "none",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_file_takes_defaults() {
        let cfg = Config::from_toml("project = \"shop\"\n", "obs.toml").unwrap();
        assert_eq!(cfg.bind_address.to_string(), "127.0.0.1");
        assert_eq!(cfg.log_shipper, LogShipper::Alloy);
        assert_eq!(cfg.alerts, obs_mixin::Thresholds::default());
    }

    #[test]
    fn unknown_keys_are_rejected_with_the_line() {
        let err =
            Config::from_toml("project = \"x\"\n[ports]\ngrafna = 1\n", "obs.toml").unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("obs.toml: line 3:"), "{msg}");
        assert!(msg.contains("grafna"), "{msg}");
        assert!(!msg.contains('\n'));
    }

    #[test]
    fn a_public_url_is_checked_when_read() {
        let err = Config::from_toml(
            "project = \"x\"\n[[services]]\nname = \"api\"\ntarget = \"api:80\"\npublic_url = \"ftp://api.example.com\"\n",
            "obs.toml",
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            err,
            "obs.toml: services[0].public_url: \"ftp://api.example.com\" is not an http or https URL; write an http(s) URL like https://api.example.com"
        );
        let cfg = Config::from_toml(
            "project = \"x\"\n[[services]]\nname = \"api\"\ntarget = \"api:80\"\npublic_url = \"https://api.example.com/v1\"\n",
            "obs.toml",
        )
        .unwrap();
        let url = cfg.services[0].public_url.as_ref().unwrap();
        assert_eq!(url.origin(), "https://api.example.com");
        assert!(
            cfg.to_toml()
                .contains("public_url = \"https://api.example.com/v1\"")
        );
    }

    #[test]
    fn grafana_url_is_checked_when_read_and_defaults_to_the_published_port() {
        let err = Config::from_toml(
            "project = \"x\"\ngrafana_url = \"grafana:3000\"\n",
            "obs.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("obs.toml: grafana_url: \"grafana:3000\" is not an http or https URL"),
            "{err}"
        );
        let cfg = Config::from_toml(
            "project = \"x\"\ngrafana_url = \"https://grafana.example.com/\"\n",
            "obs.toml",
        )
        .unwrap();
        assert_eq!(
            cfg.thresholds_for_rules().grafana_url,
            "https://grafana.example.com"
        );
        let mut cfg = Config::default();
        assert_eq!(cfg.grafana_url(), "http://localhost:3001");
        cfg.ports.grafana = Port::known(3300);
        assert_eq!(cfg.grafana_url(), "http://localhost:3300");
        cfg.target = Target::Kubernetes;
        assert_eq!(cfg.grafana_url(), "http://localhost:3300");
    }

    #[test]
    fn round_trips() {
        let mut cfg = Config::default();
        cfg.services
            .push(Service::new("api", "api:8080".parse().unwrap()));
        cfg.databases.redis = Some(Database::at("r:6379".parse().unwrap()));
        let back = Config::from_toml(&cfg.to_toml(), "x").unwrap();
        assert_eq!(back, cfg);
    }
}
