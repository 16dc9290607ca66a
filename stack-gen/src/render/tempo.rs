//! `tempo/config.yaml` (with `tracing = true`): OTLP over gRPC and HTTP, local storage, block
//! retention equal to the stack's retention.

use serde_json::json;

use crate::model::Config;

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
        "usage_report": { "reporting_enabled": false }
    });
    super::yaml(&doc)
}
