//! `alloy/config.alloy`: the same pipeline as the Promtail configuration, in Alloy's syntax.
//! Alloy's configuration language is not YAML or JSON, so this renderer writes text; every
//! value placed in it is quoted with [`quote`].

use crate::model::Config;
use crate::render::promtail::{label_fields, metadata_fields};

/// Quotes a string for Alloy's syntax.
pub fn quote(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialise")
}

fn object(names: &[&str]) -> String {
    let body: Vec<String> = names
        .iter()
        .map(|n| format!("{n} = {}", quote(n)))
        .collect();
    format!("{{ {} }}", body.join(", "))
}

/// The `loki.process "sdk_json"` block both targets share: `stages` first (the container
/// runtime's framing on Kubernetes), then the static `env` label, the SDK's JSON parsed, its
/// label fields as labels, its structured-metadata fields as such, and every label dropped but
/// `keep_first` and the catalogue's label fields.
pub fn process_block(cfg: &Config, stages: &str, keep_first: &[&str], forward_to: &str) -> String {
    let labels = label_fields();
    let metadata = metadata_fields();
    let extracted: Vec<&str> = labels.iter().chain(metadata.iter()).copied().collect();
    let label_list: Vec<String> = keep_first
        .iter()
        .chain(labels.iter())
        .map(|l| quote(l))
        .collect();
    format!(
        r#"loki.process "sdk_json" {{
{stages}  stage.static_labels {{
    values = {{ env = {env} }}
  }}

  stage.json {{
    expressions = {extracted}
  }}

  stage.labels {{
    values = {labels}
  }}

  stage.structured_metadata {{
    values = {metadata}
  }}

  stage.label_keep {{
    values = [{label_list}]
  }}

  forward_to = [{forward_to}]
}}
"#,
        env = quote(&cfg.environment),
        extracted = object(&extracted),
        labels = object(&labels),
        metadata = object(&metadata),
        label_list = label_list.join(", "),
    )
}

/// Renders Alloy's configuration, reading containers through the Docker API at `docker_api`
/// (the target's to say: see `compose::docker_api`).
pub fn render(cfg: &Config, docker_api: &str) -> String {
    let header = super::HEADER.replace('#', "//");
    let process = process_block(cfg, "", &[], "loki.write.local.receiver");
    let docker = quote(docker_api);
    format!(
        r#"{header}// Reads every container's logs through the Docker API (in compose, a read-only proxy that
// allows only listing and reading containers), parses the obs-service JSON lines and ships them
// to Loki. Labels: service, env and level only; request_id and trace_id go to structured
// metadata. Read positions live in Alloy's storage path, a named volume.

discovery.docker "containers" {{
  host = {docker}
}}

discovery.relabel "containers" {{
  targets = []

  rule {{
    source_labels = ["__meta_docker_container_label_com_docker_compose_service"]
    target_label  = "service"
  }}
}}

loki.source.docker "containers" {{
  host          = {docker}
  targets       = discovery.docker.containers.targets
  relabel_rules = discovery.relabel.containers.rules
  forward_to    = [loki.process.sdk_json.receiver]
}}

{process}
loki.write "local" {{
  endpoint {{
    url = "http://loki:3100/loki/api/v1/push"
  }}
}}
"#
    )
}
