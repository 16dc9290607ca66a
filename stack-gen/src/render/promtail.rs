//! `promtail/config.yml`: discovers the containers through the Docker API (in compose, the
//! read-only socket proxy), parses the SDK's JSON lines, sets only `service`, `env` and `level`
//! as labels and puts `request_id` and `trace_id` in structured metadata. Read positions live on a named volume.

use obs_catalogue::{LOG_FIELDS, LokiPlacement};
use serde_json::{Map, Value, json};

use crate::model::Config;

/// Log fields that become Loki labels, from the catalogue (`level`, `service`, `env`).
pub fn label_fields() -> Vec<&'static str> {
    LOG_FIELDS
        .iter()
        .filter(|f| f.loki == LokiPlacement::Label)
        .map(|f| f.name)
        .collect()
}

/// Log fields that become structured metadata (`request_id`, `trace_id`).
pub fn metadata_fields() -> Vec<&'static str> {
    LOG_FIELDS
        .iter()
        .filter(|f| f.loki == LokiPlacement::StructuredMetadata)
        .map(|f| f.name)
        .collect()
}

fn identity_map(names: &[&str]) -> Value {
    Value::Object(
        names
            .iter()
            .map(|n| (n.to_string(), Value::String(n.to_string())))
            .collect::<Map<_, _>>(),
    )
}

/// Renders Promtail's configuration, reading containers through the Docker API at `docker_api`
/// (the target's to say: see `compose::docker_api`).
pub fn render(cfg: &Config, docker_api: &str) -> String {
    let labels = label_fields();
    let metadata = metadata_fields();
    let extracted: Vec<&str> = labels.iter().chain(metadata.iter()).copied().collect();
    let doc = json!({
        "server": { "http_listen_port": 9080, "grpc_listen_port": 0, "log_level": "warn" },
        "positions": { "filename": "/var/lib/promtail/positions.yaml" },
        "clients": [{ "url": "http://loki:3100/loki/api/v1/push" }],
        "scrape_configs": [{
            "job_name": "containers",
            "docker_sd_configs": [{ "host": docker_api, "refresh_interval": "5s" }],
            "relabel_configs": [{
                "source_labels": ["__meta_docker_container_label_com_docker_compose_service"],
                "target_label": "service"
            }],
            "pipeline_stages": [
                { "static_labels": { "env": cfg.environment } },
                { "json": { "expressions": identity_map(&extracted) } },
                { "labels": identity_map(&labels) },
                { "structured_metadata": identity_map(&metadata) },
                { "labelallow": labels }
            ]
        }]
    });
    super::yaml_with_note(
        &doc,
        &super::comment(&[
            "Labels: service (the compose service, or the SDK's `service` field), env and level only.",
            "request_id and trace_id go to structured metadata: searchable without creating streams.",
        ]),
    )
}
