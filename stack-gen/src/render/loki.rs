//! `loki/config.yaml`: single binary, schema v13 on tsdb, filesystem storage, retention through
//! the compactor (with its delete-request store), structured metadata on, usage reporting off.

use serde_json::json;

use crate::model::Config;

/// Renders Loki's configuration.
pub fn render(cfg: &Config) -> String {
    let doc = json!({
        "auth_enabled": false,
        "server": { "http_listen_port": 3100, "grpc_listen_port": 9096, "log_level": "warn" },
        "common": {
            "instance_addr": "127.0.0.1",
            "path_prefix": "/loki",
            "replication_factor": 1,
            "ring": { "kvstore": { "store": "inmemory" } },
            "storage": { "filesystem": { "chunks_directory": "/loki/chunks", "rules_directory": "/loki/rules" } }
        },
        "schema_config": { "configs": [{
            "from": "2024-04-01",
            "store": "tsdb",
            "object_store": "filesystem",
            "schema": "v13",
            "index": { "prefix": "index_", "period": "24h" }
        }]},
        "limits_config": {
            "retention_period": cfg.retention,
            "allow_structured_metadata": true,
            "volume_enabled": true,
            "reject_old_samples": true,
            "reject_old_samples_max_age": "168h"
        },
        "compactor": {
            "working_directory": "/loki/compactor",
            "compaction_interval": "10m",
            "retention_enabled": true,
            "retention_delete_delay": "2h",
            "delete_request_store": "filesystem"
        },
        "analytics": { "reporting_enabled": false }
    });
    super::yaml(&doc)
}
