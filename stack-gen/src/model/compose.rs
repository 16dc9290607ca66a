//! The keys only the compose target reads: the `[ports]` it publishes on `bind_address`, and
//! the `[local]` table of host-process mode.

use serde::{Deserialize, Serialize};

use super::addr::{HostPort, Port};

/// Host ports the stack publishes (on `bind_address`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Ports {
    /// Grafana UI. Default 3001, because 3000 is the demo service's port.
    pub grafana: Port,
    /// Prometheus UI and API.
    pub prometheus: Port,
    /// Alertmanager UI and API.
    pub alertmanager: Port,
    /// Loki API (services may push logs here with `LOKI_URL`).
    pub loki: Port,
    /// Tempo API (with `tracing`).
    pub tempo: Port,
    /// OTLP over gRPC (with `tracing`).
    pub otlp_grpc: Port,
    /// OTLP over HTTP (with `tracing`).
    pub otlp_http: Port,
}

impl Default for Ports {
    fn default() -> Self {
        Ports {
            grafana: Port::known(3001),
            prometheus: Port::known(9090),
            alertmanager: Port::known(9093),
            loki: Port::known(3100),
            tempo: Port::known(3200),
            otlp_grpc: Port::known(4317),
            otlp_http: Port::known(4318),
        }
    }
}

impl Ports {
    /// The ports published for `cfg`, with their obs.toml key.
    pub fn published(&self, tracing: bool) -> Vec<(&'static str, Port)> {
        let mut v = vec![
            ("grafana", self.grafana),
            ("prometheus", self.prometheus),
            ("alertmanager", self.alertmanager),
            ("loki", self.loki),
        ];
        if tracing {
            v.extend([
                ("tempo", self.tempo),
                ("otlp_grpc", self.otlp_grpc),
                ("otlp_http", self.otlp_http),
            ]);
        }
        v
    }
}

/// The `[local]` table: the addresses of the stack's components when they run as programs on
/// one host rather than as compose containers. With it, `prometheus.yml` scrapes the services
/// at their targets as written (no `host.docker.internal`), itself, Alertmanager and the
/// exporters listed here, and nothing else (Grafana, Loki, the log shipper, Tempo and cAdvisor
/// are not scraped in this mode; their configuration files are still written, for running them
/// by hand); `alertmanager/entrypoint.sh` starts the `prometheus-alertmanager` on `PATH` (or
/// `$ALERTMANAGER`) listening on `alertmanager`; no `compose.yaml` is written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Local {
    /// `host:port` Prometheus listens on (pass it as `--web.listen-address`); also its
    /// self-scrape target.
    pub prometheus: HostPort,
    /// `host:port` Alertmanager listens on; Prometheus sends alerts there.
    pub alertmanager: HostPort,
    /// `host:port` of node-exporter (job `alerts.node_job`); none scraped when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_exporter: Option<HostPort>,
    /// `host:port` of postgres-exporter; required with `[databases.postgres]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postgres_exporter: Option<HostPort>,
    /// `host:port` of redis_exporter; required with `[databases.redis]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redis_exporter: Option<HostPort>,
}
