//! What Grafana's sidecar collects: the bundled dashboards as ConfigMaps (label
//! `grafana_dashboard: "1"`, folder annotation) and the data sources under the dashboards'
//! fixed uids (label `grafana_datasource: "1"`).

use serde_json::{Value, json};

use super::{
    DASHBOARD_LABEL, DATASOURCE_LABEL, FOLDER_ANNOTATION, metadata, service_url, settings,
};
use crate::model::Config;
use crate::render::grafana::{Endpoints, datasources_document};

/// The Grafana folder the dashboards go into (as in the compose stack's provider).
pub(super) const FOLDER: &str = "obs";

/// Where the charts' Services answer: `<fullname>-prometheus` of kube-prometheus-stack, the
/// loki chart's gateway, Tempo's single binary.
pub(super) fn endpoints(cfg: &Config) -> Endpoints {
    let prometheus = format!("{}-prometheus", settings(cfg).stack_fullname());
    Endpoints {
        prometheus: service_url(cfg, &prometheus, Some(9090)),
        loki: service_url(cfg, "loki-gateway", None),
        tempo: service_url(cfg, "tempo", Some(3200)),
        prometheus_default: false,
    }
}

/// The data sources ConfigMap.
pub(super) fn datasources(cfg: &Config) -> Value {
    let doc = datasources_document(cfg, &endpoints(cfg));
    let text = obs_mixin::yaml::to_string(&doc).expect("data sources serialise");
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(cfg, "obs-grafana-datasources", &[DATASOURCE_LABEL]),
        "data": { "obs-datasources.yaml": text },
    })
}

/// One ConfigMap per bundled dashboard, by its uid; the JSON is the provisioned form the
/// compose stack mounts (colours from the same thresholds), byte for byte.
pub(super) fn dashboards(cfg: &Config) -> Vec<(String, Value)> {
    obs_mixin::dashboards_for(&cfg.thresholds_for_rules())
        .into_iter()
        .map(|d| {
            let mut meta = metadata(cfg, &d.uid, &[DASHBOARD_LABEL]);
            meta["annotations"] = json!({ FOLDER_ANNOTATION: FOLDER });
            let object = json!({
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": meta,
                "data": { d.file_name.clone(): d.to_json_string() },
            });
            (d.uid, object)
        })
        .collect()
}
