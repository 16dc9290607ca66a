//! The generated stack links its signals: Prometheus stores exemplars and, only with tracing,
//! takes the remote writes of Tempo's metrics generator (service graph, span metrics); every
//! alert's `dashboard_url` opens a dashboard and panel that exist, with variables it has.

mod common;

use std::path::Path;

use common::*;
use serde_json::Value;

fn yaml(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn compose_stack(tmp: &Path, tracing: bool) -> std::path::PathBuf {
    let tracing = format!("--tracing={tracing}");
    obs_gen_ok(
        tmp,
        &[
            "init",
            "--yes",
            &tracing,
            "--grafana-url",
            "https://grafana.example.com/",
        ],
    );
    tmp.join("monitoring")
}

fn prometheus_command(dir: &Path) -> Vec<String> {
    let compose = yaml(&dir.join("compose.yaml"));
    compose["services"]["prometheus"]["command"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn exemplar_storage_always_and_the_remote_write_receiver_only_with_tracing() {
    for tracing in [false, true] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = compose_stack(tmp.path(), tracing);
        let command = prometheus_command(&dir);
        assert!(
            command
                .iter()
                .any(|f| f == "--enable-feature=exemplar-storage"),
            "{command:?}"
        );
        assert_eq!(
            command
                .iter()
                .any(|f| f == "--web.enable-remote-write-receiver"),
            tracing,
            "{command:?}"
        );
        let datasources =
            std::fs::read_to_string(dir.join("grafana/provisioning/datasources/datasources.yaml"))
                .unwrap();
        assert_eq!(
            datasources.to_lowercase().contains("tempo"),
            tracing,
            "{datasources}"
        );
        assert_eq!(dir.join("tempo/config.yaml").exists(), tracing);
    }
}

#[test]
fn tempos_generator_writes_the_service_graph_into_the_stacks_prometheus() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = compose_stack(tmp.path(), true);
    let tempo = yaml(&dir.join("tempo/config.yaml"));
    let processors = &tempo["overrides"]["defaults"]["metrics_generator"]["processors"];
    assert_eq!(
        processors,
        &serde_json::json!(["service-graphs", "span-metrics"])
    );
    let url = tempo["metrics_generator"]["storage"]["remote_write"][0]["url"]
        .as_str()
        .unwrap();
    assert_eq!(url, "http://prometheus:9090/api/v1/write");
    // That host and port are the compose service of the Prometheus taking the writes.
    let compose = yaml(&dir.join("compose.yaml"));
    let ports = compose["services"]["prometheus"]["ports"].to_string();
    assert!(ports.contains(":9090"), "{ports}");
    // The Grafana data sources: exemplars open Tempo under the label the SDK writes, and the
    // service map reads Prometheus.
    let ds = yaml(&dir.join("grafana/provisioning/datasources/datasources.yaml"));
    let list = ds["datasources"].as_array().unwrap();
    let prometheus = list.iter().find(|d| d["type"] == "prometheus").unwrap();
    assert_eq!(
        prometheus["jsonData"]["exemplarTraceIdDestinations"][0]["name"],
        obs_catalogue::fields::TRACE_ID
    );
    let tempo_ds = list.iter().find(|d| d["type"] == "tempo").unwrap();
    assert_eq!(
        tempo_ds["jsonData"]["serviceMap"]["datasourceUid"],
        prometheus["uid"]
    );
}

#[test]
fn kubernetes_values_store_exemplars_and_run_the_generator_with_tracing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = generate_fixture(tmp.path(), "kubernetes-all-options.toml");
    let values = yaml(&dir.join("values/kube-prometheus-stack.yaml"));
    let spec = &values["prometheus"]["prometheusSpec"];
    assert_eq!(
        spec["enableFeatures"],
        serde_json::json!(["exemplar-storage"])
    );
    assert!(spec["exemplars"]["maxSize"].as_u64().unwrap() > 0);
    assert_eq!(spec["enableRemoteWriteReceiver"], true);
    let tempo = yaml(&dir.join("values/tempo.yaml"));
    assert_eq!(tempo["tempo"]["metricsGenerator"]["enabled"], true);
    let url = tempo["tempo"]["metricsGenerator"]["remoteWriteUrl"]
        .as_str()
        .unwrap();
    let ds = yaml(&dir.join("grafana/datasources.yaml"));
    let text = ds["data"]["obs-datasources.yaml"].as_str().unwrap();
    let ds: Value = serde_yaml_ng::from_str(text).unwrap();
    let prometheus = ds["datasources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["type"] == "prometheus")
        .unwrap();
    assert_eq!(
        url,
        format!("{}/api/v1/write", prometheus["url"].as_str().unwrap())
    );
    assert_eq!(
        tempo["tempo"]["overrides"]["defaults"]["metrics_generator"]["processors"],
        serde_json::json!(["service-graphs", "span-metrics"])
    );

    // Without tracing: no receiver, no Tempo values.
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("monitoring");
    std::fs::create_dir_all(&out).unwrap();
    let toml = std::fs::read_to_string(fixture("kubernetes-all-options.toml"))
        .unwrap()
        .replace("tracing = true", "tracing = false");
    std::fs::write(out.join("obs.toml"), toml).unwrap();
    obs_gen_ok(tmp.path(), &["generate"]);
    let values = yaml(&out.join("values/kube-prometheus-stack.yaml"));
    let spec = &values["prometheus"]["prometheusSpec"];
    assert_eq!(
        spec["enableFeatures"],
        serde_json::json!(["exemplar-storage"])
    );
    assert!(spec.get("enableRemoteWriteReceiver").is_none());
    assert!(!out.join("values/tempo.yaml").exists());
    let datasources = std::fs::read_to_string(out.join("grafana/datasources.yaml")).unwrap();
    assert!(
        !datasources.to_lowercase().contains("tempo"),
        "{datasources}"
    );
}

/// `https://grafana.example.com/d/<uid>?var-a=…&viewPanel=<id>`, split.
fn split_link(url: &str) -> (String, Vec<(String, String)>) {
    let rest = url
        .strip_prefix("https://grafana.example.com/d/")
        .unwrap_or_else(|| panic!("{url} does not start at grafana_url"));
    let (uid, query) = rest.split_once('?').expect("a query");
    let pairs = query
        .split('&')
        .map(|p| {
            let (k, v) = p.split_once('=').expect("key=value");
            (k.to_string(), v.to_string())
        })
        .collect();
    (uid.to_string(), pairs)
}

#[test]
fn every_dashboard_url_names_a_dashboard_panel_and_variables_that_exist() {
    let tmp = tempfile::tempdir().unwrap();
    // With an SLO, for the burn-rate alerts' rule file too.
    obs_gen_ok(
        tmp.path(),
        &[
            "init",
            "--yes",
            "--tracing",
            "--slo",
            "app=99.9",
            "--grafana-url",
            "https://grafana.example.com/",
        ],
    );
    let dir = tmp.path().join("monitoring");
    let mut alerts = 0;
    for file in files(&dir) {
        let is_rules =
            file.starts_with("prometheus/rules/") && !file.starts_with("prometheus/rules/tests/");
        if !is_rules {
            continue;
        }
        let doc = yaml(&dir.join(&file));
        for group in doc["groups"].as_array().unwrap() {
            for rule in group["rules"].as_array().unwrap() {
                let Some(alert) = rule["alert"].as_str() else {
                    continue;
                };
                alerts += 1;
                let url = rule["annotations"]["dashboard_url"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{file}: {alert} has no dashboard_url"));
                let (uid, query) = split_link(url);
                let dashboard = dir.join(format!("grafana/dashboards/{uid}.json"));
                let dashboard: Value = serde_json::from_str(
                    &std::fs::read_to_string(&dashboard)
                        .unwrap_or_else(|e| panic!("{alert}: {url}: {e}")),
                )
                .unwrap();
                assert_eq!(dashboard["uid"], uid.as_str());
                let panel: u64 = query
                    .iter()
                    .find(|(k, _)| k == "viewPanel")
                    .unwrap_or_else(|| panic!("{alert}: {url} names no panel"))
                    .1
                    .parse()
                    .unwrap();
                let panels = obs_mixin::contract::panels(&dashboard);
                assert!(
                    panels
                        .iter()
                        .any(|p| p["id"] == panel && p["type"] != "row"),
                    "{alert}: {uid} has no panel {panel}"
                );
                let variables: Vec<&str> = dashboard["templating"]["list"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter_map(|v| v["name"].as_str())
                    .collect();
                for (key, value) in &query {
                    if let Some(var) = key.strip_prefix("var-") {
                        assert!(variables.contains(&var), "{alert}: {uid} has no ${var}");
                        assert!(!value.is_empty(), "{alert}: {key} is empty");
                    }
                }
            }
        }
    }
    assert!(alerts > 20, "{alerts} alerts");
}
