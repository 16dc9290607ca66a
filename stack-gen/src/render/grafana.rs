//! Grafana provisioning: datasources under the fixed uids the bundled dashboards reference, and
//! the dashboard provider. Grafana expands `$VAR` in provisioning files, so a literal `$` is
//! written `$$`.

use obs_mixin::datasource_uids;
use serde_json::{Value, json};

use crate::model::Config;

/// Where the dashboards are mounted in the Grafana container.
pub const DASHBOARDS_PATH: &str = "/etc/grafana/dashboards";

/// Where Grafana reaches the data sources, and whether the Prometheus one is Grafana's default.
#[derive(Debug, Clone)]
pub struct Endpoints {
    /// Prometheus' URL.
    pub prometheus: String,
    /// Loki's URL.
    pub loki: String,
    /// Tempo's URL (with tracing).
    pub tempo: String,
    /// Mark Prometheus as the default data source. Off where another one already is (the
    /// kube-prometheus-stack Grafana provisions its own default Prometheus).
    pub prometheus_default: bool,
}

/// Renders `datasources.yaml` for the compose stack.
pub fn datasources(cfg: &Config) -> String {
    let endpoints = Endpoints {
        prometheus: "http://prometheus:9090".into(),
        loki: "http://loki:3100".into(),
        tempo: "http://tempo:3200".into(),
        prometheus_default: true,
    };
    super::yaml(&datasources_document(cfg, &endpoints))
}

/// The Grafana provisioning document of the data sources, under the dashboards' fixed uids.
pub fn datasources_document(cfg: &Config, endpoints: &Endpoints) -> Value {
    let mut derived = vec![json!({
        "name": "request_id",
        "matcherType": "regex",
        "matcherRegex": "\"request_id\":\"([A-Za-z0-9._:-]+)\"",
        "url": "{service=~\".+\"} | request_id=\"$${__value.raw}\"",
        "datasourceUid": datasource_uids::LOKI,
        "urlDisplayLabel": "All lines of this request"
    })];
    // Grafana's `$__rate_interval` and minimum step build on the scrape interval. It reads a
    // single unit only (`90s`, not `1m30s`), so the interval is given in seconds.
    let scrape = &cfg.scrape_interval;
    let time_interval = if scrape.as_millis().is_multiple_of(1000) {
        format!("{}s", scrape.as_secs())
    } else {
        format!("{}ms", scrape.as_millis())
    };
    let mut prometheus_json = json!({ "httpMethod": "POST", "timeInterval": time_interval });
    let mut list: Vec<Value> = Vec::new();
    if cfg.tracing {
        derived.push(json!({
            "name": "trace_id",
            "matcherType": "regex",
            "matcherRegex": "\"trace_id\":\"([0-9a-f]{32})\"",
            "url": "$${__value.raw}",
            "datasourceUid": datasource_uids::TEMPO,
            "urlDisplayLabel": "Open trace"
        }));
        prometheus_json["exemplarTraceIdDestinations"] =
            json!([{ "name": "trace_id", "datasourceUid": datasource_uids::TEMPO }]);
        list.push(json!({
            "name": "Tempo",
            "type": "tempo",
            "uid": datasource_uids::TEMPO,
            "access": "proxy",
            "url": endpoints.tempo,
            "editable": false,
            "jsonData": {
                "tracesToLogsV2": {
                    "datasourceUid": datasource_uids::LOKI,
                    "filterByTraceID": true,
                    "spanStartTimeShift": "-5m",
                    "spanEndTimeShift": "5m"
                },
                "serviceMap": { "datasourceUid": datasource_uids::PROMETHEUS },
                "nodeGraph": { "enabled": true }
            }
        }));
    }
    list.insert(
        0,
        json!({
            "name": "Prometheus",
            "type": "prometheus",
            "uid": datasource_uids::PROMETHEUS,
            "access": "proxy",
            "url": endpoints.prometheus,
            "isDefault": endpoints.prometheus_default,
            "editable": false,
            "jsonData": prometheus_json
        }),
    );
    list.insert(
        1,
        json!({
            "name": "Loki",
            "type": "loki",
            "uid": datasource_uids::LOKI,
            "access": "proxy",
            "url": endpoints.loki,
            "editable": false,
            "jsonData": { "maxLines": 1000, "derivedFields": derived }
        }),
    );
    json!({ "apiVersion": 1, "datasources": list })
}

/// Renders the dashboard provider.
pub fn provider() -> String {
    super::yaml(&json!({
        "apiVersion": 1,
        "providers": [{
            "name": "obs",
            "orgId": 1,
            "folder": "obs",
            "type": "file",
            "disableDeletion": true,
            "allowUiUpdates": false,
            "updateIntervalSeconds": 60,
            "options": { "path": DASHBOARDS_PATH, "foldersFromFilesStructure": false }
        }]
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_time_interval_follows_the_scrape_interval() {
        let mut cfg = Config::default();
        for (scrape, expected) in [("15s", "15s"), ("1m30s", "90s"), ("1s500ms", "1500ms")] {
            cfg.scrape_interval = scrape.parse().unwrap();
            let doc: serde_json::Value = serde_yaml_ng::from_str(&datasources(&cfg)).unwrap();
            let prometheus = doc["datasources"]
                .as_array()
                .unwrap()
                .iter()
                .find(|d| d["type"] == "prometheus")
                .unwrap();
            assert_eq!(prometheus["jsonData"]["timeInterval"], expected, "{scrape}");
        }
    }
}
