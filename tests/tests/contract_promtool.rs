//! The checked-in rules pass the real `promtool check rules`, and their unit tests (a firing and
//! a quiet case for every alert) pass `promtool test rules`.

use std::path::Path;
use std::process::Command;

fn run(promtool: &Path, args: &[&str], dir: &Path) -> String {
    let out = Command::new(promtool)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("promtool runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool {args:?} failed:\n{text}");
    text
}

fn yaml_files(dir: &Path) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    files.sort();
    files
}

#[test]
fn promtool_checks_the_rules() {
    let Some(promtool) = obs_tests::require_tool("promtool") else {
        return;
    };
    let dir = obs_tests::repo_root().join("alert-rules");
    let files = yaml_files(&dir);
    assert!(files.len() >= 3, "{files:?}");
    let mut args = vec!["check", "rules"];
    args.extend(files.iter().map(String::as_str));
    let out = run(&promtool, &args, &dir);
    assert_eq!(out.matches("SUCCESS").count(), files.len(), "{out}");
}

#[test]
fn promtool_unit_tests_cover_every_alert_and_pass() {
    let Some(promtool) = obs_tests::require_tool("promtool") else {
        return;
    };
    let dir = obs_tests::repo_root().join("alert-rules/tests");
    let files = yaml_files(&dir);
    let all_tests: String = files
        .iter()
        .map(|f| std::fs::read_to_string(dir.join(f)).unwrap())
        .collect();
    for group in obs_mixin::rules::alert_groups(&obs_mixin::Thresholds::default()) {
        for alert in group.alerts {
            for case in ["fires", "stays quiet"] {
                assert!(
                    all_tests.contains(&format!("name: {} {case}", alert.name)),
                    "no `{case}` test for {}",
                    alert.name
                );
            }
            assert!(
                all_tests.contains(&format!(
                    "runbook_url: {}",
                    obs_mixin::rules::runbook_url(alert.name)
                )),
                "{} test does not assert its runbook_url",
                alert.name
            );
        }
    }
    // Every example SLO has its three generated cases.
    for slo in obs_mixin::slo::examples() {
        for case in [
            "a fast burn pages, and only pages",
            "a slow burn opens a ticket, and does not page",
            "half the budget fires nothing",
        ] {
            assert!(
                all_tests.contains(&format!("name: '{}: {case}'", slo.name)),
                "no `{case}` test for SLO {}",
                slo.name
            );
        }
    }
    let mut args = vec!["test", "rules"];
    args.extend(files.iter().map(String::as_str));
    let out = run(&promtool, &args, &dir);
    assert_eq!(out.matches("SUCCESS").count(), files.len(), "{out}");
}

#[test]
fn promtool_accepts_rules_for_other_thresholds() {
    let Some(promtool) = obs_tests::require_tool("promtool") else {
        return;
    };
    let t = obs_mixin::Thresholds {
        service_job_regex: "api|worker".into(),
        latency_p99_seconds: 0.25,
        disk_fill_hours: 4.0,
        disk_fill_window: obs_mixin::Duration::from_static("1h"),
        restarts_for: obs_mixin::Duration::from_static("0s"),
        // Windows that scale to odd durations (13d: the 5m window is 2m10s).
        slos: vec![
            obs_mixin::slo::Slo {
                window: obs_mixin::Duration::from_static("13d"),
                ..obs_mixin::slo::Slo::availability("odd-window", "api", 99.95)
            },
            obs_mixin::slo::Slo {
                window: obs_mixin::Duration::from_static("90d"),
                route: Some("/items/{id}".into()),
                ..obs_mixin::slo::Slo::latency("long-window", "worker", 0.005, 99.99)
            },
        ],
        ..Default::default()
    };
    t.validate().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut names = Vec::new();
    for file in obs_mixin::rule_files(&t) {
        std::fs::write(dir.path().join(&file.file_name), &file.yaml).unwrap();
        names.push(file.file_name);
    }
    let mut args = vec!["check", "rules"];
    args.extend(names.iter().map(String::as_str));
    run(&promtool, &args, dir.path());
}

#[test]
fn prometheus_itself_parses_every_dashboard_query() {
    // promql-parser is not Prometheus: hand every dashboard query (variables replaced by the
    // same placeholders the contract uses) to Prometheus's own parser, as recording rules.
    let Some(promtool) = obs_tests::require_tool("promtool") else {
        return;
    };
    let mut rules = String::from("groups:\n- name: dashboard-queries\n  rules:\n");
    let mut count = 0;
    for d in obs_mixin::dashboards() {
        for (location, query) in obs_mixin::contract::promql_queries(&d.json) {
            let expr = obs_mixin::contract::substitute_variables(&query);
            rules.push_str(&format!(
                "  # {location}\n  - record: obs_dashboard_query_{count}\n    expr: {}\n",
                serde_json::to_string(&expr).unwrap()
            ));
            count += 1;
        }
    }
    assert!(count > 60, "{count}");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("queries.yaml"), &rules).unwrap();
    let out = run(&promtool, &["check", "rules", "queries.yaml"], dir.path());
    assert!(
        out.contains(&format!("SUCCESS: {count} rules found")),
        "{out}"
    );
}

/// The `job` and `instance` variables of the dashboards that show services list a service that
/// serves only gRPC as well as one that serves only HTTP: their queries, as the dashboards hold
/// them (variables replaced as "All" selects them), evaluated by Prometheus's own engine over
/// one of each, and their regex applied to the series Grafana's `query_result` lists.
#[test]
fn the_service_variables_list_a_service_that_serves_only_grpc() {
    let Some(promtool) = obs_tests::require_tool("promtool") else {
        return;
    };
    let http = obs_catalogue::HTTP_SERVER_REQUEST_DURATION.name;
    let grpc = obs_catalogue::RPC_SERVER_CALL_DURATION.name;
    let expected = [
        ("job", ["web", "grpc-only"]),
        ("instance", ["web:3000", "grpc:50051"]),
    ];
    let mut tests = String::new();
    let mut checked = Vec::new();
    for d in obs_mixin::dashboards() {
        for variable in d.json["templating"]["list"].as_array().unwrap() {
            let name = variable["name"].as_str().unwrap();
            let query = variable["query"].as_str().unwrap_or_default();
            let Some((_, values)) = expected.iter().find(|(n, _)| *n == name) else {
                continue;
            };
            let Some(expr) = query
                .strip_prefix("query_result(")
                .and_then(|q| q.strip_suffix(')'))
            else {
                continue;
            };
            // Grafana lists `{instance="web:3000"} 1 <time>`; the regex keeps the value.
            let regex = variable["regex"].as_str().unwrap();
            assert_eq!(regex, format!("/{name}=\"([^\"]+)\"/"), "{}: {name}", d.uid);
            let expr = expr.replace("$job", ".+");
            tests.push_str(&format!(
                "  - expr: {}\n    eval_time: 5m\n    exp_samples:\n",
                serde_json::to_string(&expr).unwrap()
            ));
            for value in values {
                tests.push_str(&format!(
                    "    - labels: '{{{name}=\"{value}\"}}'\n      value: 1\n"
                ));
            }
            checked.push(format!("{}: {name}", d.uid));
        }
    }
    for uid in ["obs-service-overview", "obs-logs"] {
        for name in ["job", "instance"] {
            assert!(
                checked.contains(&format!("{uid}: {name}")),
                "{uid} has no {name} variable of either server histogram: {checked:?}"
            );
        }
    }
    assert!(
        checked.contains(&"obs-slos: instance".to_owned()),
        "{checked:?}"
    );
    let file = format!(
        "rule_files: [empty.yaml]\nevaluation_interval: 1m\ntests:\n- interval: 1m\n  input_series:\n  - series: '{http}_count{{job=\"web\", instance=\"web:3000\", http_route=\"/\"}}'\n    values: '1+1x10'\n  - series: '{grpc}_count{{job=\"grpc-only\", instance=\"grpc:50051\", rpc_method=\"demo.v1.Users/Get\"}}'\n    values: '1+1x10'\n  promql_expr_test:\n{tests}"
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("empty.yaml"), "groups: []\n").unwrap();
    std::fs::write(dir.path().join("variables.yaml"), &file).unwrap();
    let out = run(&promtool, &["test", "rules", "variables.yaml"], dir.path());
    assert!(out.contains("SUCCESS"), "{out}");
}
