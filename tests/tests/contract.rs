//! The name contract: every PromQL expression of every checked-in dashboard and rule file parses
//! and names only metrics and labels the SDK catalogue, the exporter lists or the recording
//! rules define; every catalogue metric is on some panel; the dashboard lint passes; and a
//! fixture with renamed metrics proves the check fails.

use std::collections::BTreeSet;
use std::path::Path;

use obs_catalogue as catalogue;
use obs_mixin::contract::{self, Violation};

fn read_dir(dir: &Path, ext: &str) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .map(|p| {
            (
                p.display().to_string(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

fn checked_in_dashboards() -> Vec<(String, serde_json::Value)> {
    let dashboards: Vec<_> = read_dir(&obs_tests::repo_root().join("dashboards"), "json")
        .into_iter()
        .map(|(path, text)| {
            let json = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
            (path, json)
        })
        .collect();
    assert_eq!(
        dashboards.len(),
        obs_mixin::dashboards().len(),
        "every bundled dashboard is checked in"
    );
    dashboards
}

fn assert_clean(what: &str, violations: Vec<Violation>) {
    let list: Vec<String> = violations.iter().map(ToString::to_string).collect();
    assert!(list.is_empty(), "{what}:\n{}", list.join("\n"));
}

#[test]
fn every_dashboard_query_names_only_known_metrics_and_labels() {
    let mut queries = 0;
    for (path, dashboard) in checked_in_dashboards() {
        let promql = contract::promql_queries(&dashboard);
        assert!(!promql.is_empty(), "{path} has no PromQL query");
        queries += promql.len();
        assert_clean(&path, contract::check_dashboard(&dashboard));
    }
    assert!(
        queries > 60,
        "only {queries} queries found: is the traversal broken?"
    );
}

#[test]
fn every_rule_expression_names_only_known_metrics_and_labels() {
    let files = read_dir(&obs_tests::repo_root().join("alert-rules"), "yaml");
    assert!(files.len() >= 3, "{files:?}");
    for (path, yaml) in files {
        assert!(yaml.contains("expr:"), "{path}");
        assert_clean(&path, contract::check_rule_file(&yaml));
    }
}

#[test]
fn rules_for_other_thresholds_pass_the_contract_too() {
    let t = obs_mixin::Thresholds {
        service_job_regex: "api|worker".into(),
        node_job: "hosts".into(),
        error_ratio: 0.01,
        ..Default::default()
    };
    for file in obs_mixin::rule_files(&t) {
        assert_clean(&file.file_name, contract::check_rule_file(&file.yaml));
    }
}

#[test]
fn every_catalogue_metric_is_shown_by_a_panel() {
    let shown: BTreeSet<&str> = checked_in_dashboards()
        .iter()
        .flat_map(|(_, d)| contract::catalogue_metrics_shown(d))
        .collect();
    let missing: Vec<&str> = catalogue::METRICS
        .iter()
        .map(|m| m.name)
        .filter(|n| !shown.contains(n))
        .collect();
    assert!(
        missing.is_empty(),
        "catalogue metrics no panel shows: {missing:?}"
    );
}

#[test]
fn every_dashboard_passes_the_lint() {
    for (path, dashboard) in checked_in_dashboards() {
        assert_clean(&path, obs_mixin::lint::lint_dashboard(&dashboard));
    }
}

#[test]
fn the_service_overview_selects_only_by_target_and_catalogue_labels() {
    // What an upstream OpenTelemetry SDK adds must never be selected on, only summed away.
    let (_, service) = checked_in_dashboards()
        .into_iter()
        .find(|(_, d)| d["uid"] == "obs-service-overview")
        .expect("service overview");
    for (location, query) in contract::promql_queries(&service) {
        // The outgoing-call histogram has `error_type` of its own, by the same conventions.
        let server_only = !query.contains(catalogue::HTTP_CLIENT_REQUEST_DURATION.name);
        for label in catalogue::OTEL_EXTRA_HTTP_LABELS {
            assert!(
                !server_only || !query.contains(label),
                "{location} mentions `{label}`: {query}"
            );
        }
        if query.contains(catalogue::HTTP_SERVER_ACTIVE_REQUESTS.name) {
            assert!(
                !query.contains("http_route"),
                "{location} filters active requests by route: {query}"
            );
        }
    }
}

#[test]
fn a_dashboard_with_renamed_metrics_fails_the_contract() {
    let text = std::fs::read_to_string(
        obs_tests::repo_root().join("tests/fixtures/renamed-metric-dashboard.json"),
    )
    .unwrap();
    let dashboard: serde_json::Value = serde_json::from_str(&text).unwrap();
    // The fixture is otherwise well formed: the lint has nothing to say.
    assert_clean("fixture lint", obs_mixin::lint::lint_dashboard(&dashboard));
    let violations = contract::check_dashboard(&dashboard);
    let text: Vec<String> = violations.iter().map(ToString::to_string).collect();
    let report = text.join("\n");
    assert_eq!(violations.len(), 3, "{report}");
    assert!(
        report.contains(
            "panel p99 latency: unknown metric `http_server_request_duration_seconds_buckets`"
        ),
        "{report}"
    );
    assert!(
        report.contains("panel Request rate: unknown metric `http_requests_total`"),
        "{report}"
    );
    assert!(
        report.contains("panel Active requests by route: label `http_route`"),
        "{report}"
    );
}

#[test]
fn a_rule_file_with_renamed_names_fails_the_contract() {
    let yaml = std::fs::read_to_string(
        obs_tests::repo_root().join("tests/fixtures/renamed-metric-rules.yaml"),
    )
    .unwrap();
    let violations = contract::check_rule_file(&yaml);
    let report: Vec<String> = violations.iter().map(ToString::to_string).collect();
    assert_eq!(violations.len(), 2, "{report:?}");
    assert_eq!(violations[0].location, "rule OldErrorRate");
    assert!(
        violations[0].message.contains("`http_requests_total`"),
        "{report:?}"
    );
    assert_eq!(violations[1].location, "rule WrongStatusLabel");
    assert!(
        violations[1].message.contains("`status_code`"),
        "{report:?}"
    );
}
