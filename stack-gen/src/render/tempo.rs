//! `tempo/config.yaml` (with `tracing = true`): OTLP over gRPC and HTTP, local storage, block
//! retention equal to the stack's retention, and the metrics generator: its service-graph and
//! span-metrics processors derive series from the spans and remote-write them into the stack's
//! Prometheus, which the Tempo data source's service map and the service dashboard read.

use serde_json::{Value, json};

use crate::model::Config;

/// The metrics generator's processors the stack runs: the service graph (requests, failures
/// and durations between a client and a server service) and span metrics (calls and latency
/// per service and span name).
pub const PROCESSORS: [&str; 2] = ["service-graphs", "span-metrics"];

/// The path of Prometheus' remote-write receiver (`--web.enable-remote-write-receiver`), where
/// the metrics generator writes.
pub const REMOTE_WRITE_PATH: &str = "/api/v1/write";

/// Where the metrics generator writes: the stack's Prometheus (its host address in local
/// mode, the compose service otherwise).
pub fn remote_write_url(cfg: &Config) -> String {
    match &cfg.local {
        Some(local) => format!("http://{}{REMOTE_WRITE_PATH}", local.prometheus),
        None => format!("http://prometheus:9090{REMOTE_WRITE_PATH}"),
    }
}

/// The `overrides` that turn the [`PROCESSORS`] on for every tenant (Tempo runs them for no
/// tenant unless told), in the form both Tempo's file and its chart's `tempo.overrides` take.
pub fn processor_overrides() -> Value {
    json!({ "defaults": { "metrics_generator": { "processors": PROCESSORS } } })
}

/// Renders Tempo's configuration.
pub fn render(cfg: &Config) -> String {
    // Tempo takes Go durations, which have no `d` unit: convert to hours.
    let hours = cfg.retention.as_secs() / 3600;
    let doc = json!({
        "server": { "http_listen_port": 3200, "log_level": "warn" },
        "distributor": { "receivers": { "otlp": { "protocols": {
            "grpc": { "endpoint": "0.0.0.0:4317" },
            "http": { "endpoint": "0.0.0.0:4318" }
        }}}},
        "storage": { "trace": {
            "backend": "local",
            "wal": { "path": "/var/tempo/wal" },
            "local": { "path": "/var/tempo/blocks" }
        }},
        "compactor": { "compaction": { "block_retention": format!("{hours}h") } },
        "metrics_generator": {
            "storage": {
                "path": "/var/tempo/generator/wal",
                // Exemplars too: a point of the service graph's latency opens its trace.
                "remote_write": [{ "url": remote_write_url(cfg), "send_exemplars": true }]
            },
            "traces_storage": { "path": "/var/tempo/generator/traces" }
        },
        "overrides": processor_overrides(),
        "usage_report": { "reporting_enabled": false }
    });
    super::yaml(&doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generator_writes_both_processors_into_the_stacks_prometheus() {
        let cfg = Config {
            tracing: true,
            ..Config::default()
        };
        let doc: Value = serde_yaml_ng::from_str(&render(&cfg)).unwrap();
        assert_eq!(
            doc["metrics_generator"]["storage"]["remote_write"][0]["url"],
            "http://prometheus:9090/api/v1/write"
        );
        assert_eq!(
            doc["overrides"]["defaults"]["metrics_generator"]["processors"],
            json!(["service-graphs", "span-metrics"])
        );
    }
}
