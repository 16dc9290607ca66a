//! Grafana provisioning: datasources under the fixed uids the bundled dashboards reference, and
//! the dashboard provider. Grafana expands `$VAR` in provisioning files, so a literal `$` is
//! written `$$`.

use obs_mixin::datasource_uids;
use serde_json::{Value, json};

use crate::model::Config;

/// Where the dashboards are mounted in the Grafana container.
pub const DASHBOARDS_PATH: &str = "/etc/grafana/dashboards";

/// Renders `datasources.yaml`.
pub fn datasources(cfg: &Config) -> String {
    let mut derived = vec![json!({
        "name": "request_id",
        "matcherType": "regex",
        "matcherRegex": "\"request_id\":\"([A-Za-z0-9._:-]+)\"",
        "url": "{service=~\".+\"} | request_id=\"$${__value.raw}\"",
        "datasourceUid": datasource_uids::LOKI,
        "urlDisplayLabel": "All lines of this request"
    })];
    let mut prometheus_json = json!({ "httpMethod": "POST", "timeInterval": "15s" });
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
            "url": "http://tempo:3200",
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
            "url": "http://prometheus:9090",
            "isDefault": true,
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
            "url": "http://loki:3100",
            "editable": false,
            "jsonData": { "maxLines": 1000, "derivedFields": derived }
        }),
    );
    super::yaml(&json!({ "apiVersion": 1, "datasources": list }))
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
