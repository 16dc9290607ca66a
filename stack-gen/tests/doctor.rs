//! `obs-gen doctor` against the real demo (everything passes) and against deliberately broken
//! services (each problem is reported with a fix, and the exit code is 1).

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use obs_tests::process::{free_port, start_demo};
use serde_json::Value;

fn doctor(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_obs-gen"))
        .arg("doctor")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn parse_checks(json: &str) -> Vec<Value> {
    let v: Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json}"));
    v["checks"].as_array().unwrap().clone()
}

fn status_of<'a>(checks: &'a [Value], name: &str) -> &'a Value {
    checks
        .iter()
        .find(|c| c["check"] == name)
        .unwrap_or_else(|| panic!("no check {name} in {checks:?}"))
}

#[test]
fn the_demo_passes_every_check_with_its_log_file() {
    let tmp = tempfile::tempdir().unwrap();
    let (demo, addr) = start_demo("demo", &[], None, tmp.path());
    let url = format!("http://{addr}");
    let log = demo.log_path().display().to_string();
    let (code, stdout, stderr) = doctor(&[&url, "--log-file", &log, "--json"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let checks = parse_checks(&stdout);
    assert!(checks.len() >= 18, "{checks:?}");
    for c in &checks {
        assert_eq!(c["status"], "pass", "{c}");
    }
    // Every metric a plain SDK service always exposes was checked.
    for m in obs_catalogue::METRICS
        .iter()
        .filter(|m| obs_gen::doctor::always_exposed(m))
    {
        status_of(&checks, &format!("metric {}", m.name));
    }
    // The table for people.
    let (code, stdout, _) = doctor(&[&url]);
    assert_eq!(code, 0, "{stdout}");
    assert!(
        stdout.contains("ok    metric http_server_request_duration_seconds"),
        "{stdout}"
    );
    assert!(stdout.contains("skip  logs"), "{stdout}");
    assert!(stdout.contains("checks passed"), "{stdout}");
    assert!(
        !stdout.contains("error body"),
        "a 200 has no error body: {stdout}"
    );

    // A failing route: its answer is read as the SDK's error body.
    error_body_check(
        &url,
        0,
        "pass",
        "500 internal: code, message and the request_id sent",
    );
}

/// Runs the doctor against `url/fail` and checks its exit code and its "error body" finding.
fn error_body_check(url: &str, code: i32, status: &str, detail: &str) {
    let (got, stdout, _) = doctor(&[&format!("{url}/fail"), "--json", "--timeout", "1"]);
    assert_eq!(got, code, "{stdout}");
    let body = status_of(&parse_checks(&stdout), "error body").clone();
    assert_eq!(body["status"], status, "{body}");
    assert!(body["detail"].as_str().unwrap().contains(detail), "{body}");
}

#[test]
fn the_demo_passes_with_its_stdout_piped_in() {
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let mut demo = Command::new(obs_tests::process::demo_binary())
        .env("DEMO_ADDR", &addr)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = demo.stdout.take().unwrap();
    for _ in 0..200 {
        if std::net::TcpStream::connect(&addr).is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = Command::new(env!("CARGO_BIN_EXE_obs-gen"))
        .args([
            "doctor",
            &format!("http://{addr}/users/7"),
            "--log-file",
            "-",
            "--json",
        ])
        .stdin(Stdio::from(stdout))
        .output()
        .unwrap();
    let _ = demo.kill();
    let _ = demo.wait();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    let checks = parse_checks(&text);
    assert_eq!(status_of(&checks, "log request_id")["status"], "pass");
    assert_eq!(status_of(&checks, "log fields")["status"], "pass");
}

/// A service that gets observability wrong in many ways at once.
fn broken_service(metrics: &'static str) -> String {
    use axum::routing::get;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async move {
            let app = axum::Router::new()
                .route("/", get(|| async { "hello" }))
                .route("/metrics", get(move || async move { metrics }))
                .route("/health/live", get(|| async { "OK" }))
                .route(
                    "/fail",
                    get(|| async {
                        (
                            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                            r#"{"error":{"code":"internal","msg":"boom"}}"#,
                        )
                    }),
                )
                .route(
                    "/health/ready",
                    get(|| async {
                        r#"{"status":"down","timestamp":"2026-01-01T00:00:00Z","version":"1","uptime_seconds":3,"checks":{"db":{"status":"down","critical":true,"latency_ms":1.5}}}"#
                    }),
                );
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    format!("http://{addr}")
}

/// The latency metric as a summary (what metrics-exporter-prometheus renders without buckets),
/// the active-requests gauge without `url_scheme`, no `process_*`, no build information.
const SUMMARY_METRICS: &str = "\
# TYPE http_server_request_duration_seconds summary
http_server_request_duration_seconds{http_request_method=\"GET\",http_route=\"/\",http_response_status_code=\"200\",quantile=\"0.5\"} 0.001
http_server_request_duration_seconds_sum{http_request_method=\"GET\",http_route=\"/\",http_response_status_code=\"200\"} 0.001
http_server_request_duration_seconds_count{http_request_method=\"GET\",http_route=\"/\",http_response_status_code=\"200\"} 1
# TYPE http_server_active_requests gauge
http_server_active_requests{http_request_method=\"GET\"} 0
";

/// A histogram with buckets other than the catalogue's.
const WRONG_BUCKETS: &str = "\
# TYPE http_server_request_duration_seconds histogram
http_server_request_duration_seconds_bucket{http_request_method=\"GET\",http_route=\"/\",http_response_status_code=\"200\",le=\"0.1\"} 1
http_server_request_duration_seconds_bucket{http_request_method=\"GET\",http_route=\"/\",http_response_status_code=\"200\",le=\"1\"} 1
http_server_request_duration_seconds_bucket{http_request_method=\"GET\",http_route=\"/\",http_response_status_code=\"200\",le=\"+Inf\"} 1
http_server_request_duration_seconds_sum{http_request_method=\"GET\",http_route=\"/\",http_response_status_code=\"200\"} 0.001
http_server_request_duration_seconds_count{http_request_method=\"GET\",http_route=\"/\",http_response_status_code=\"200\"} 1
# TYPE process_cpu_seconds_total gauge
process_cpu_seconds_total 1
";

#[test]
fn a_broken_service_gets_every_problem_reported_with_a_fix() {
    let url = broken_service(SUMMARY_METRICS);
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("app.log");
    std::fs::write(
        &log,
        "starting up\n{\"msg\":\"plain tracing JSON\",\"lvl\":\"info\"}\n",
    )
    .unwrap();
    let log = log.display().to_string();
    let (code, stdout, stderr) = doctor(&[&url, "--log-file", &log, "--json", "--timeout", "1"]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    let checks = parse_checks(&stdout);
    let expect = [
        ("request id", "without x-request-id"),
        (
            "metric http_server_request_duration_seconds",
            "TYPE summary, expected histogram",
        ),
        (
            "metric http_server_active_requests",
            "lacks the label(s) url_scheme",
        ),
        ("metric obs_build_info", "missing from /metrics"),
        ("metric process_cpu_seconds_total", "missing from /metrics"),
        ("health live", "not JSON"),
        ("health ready", "status down answered with 200"),
        (
            "log lines are JSON",
            "1 of 2 lines are not JSON objects (line 1: starting up)",
        ),
        ("log fields", "missing timestamp"),
        ("log request_id", "no line with request_id"),
    ];
    for (name, detail) in expect {
        let c = status_of(&checks, name);
        assert_eq!(c["status"], "fail", "{c}");
        assert!(
            c["detail"].as_str().unwrap().contains(detail),
            "{name}: {c}"
        );
        assert!(
            !c["fix"].as_str().unwrap_or("").is_empty(),
            "{name} has a fix: {c}"
        );
    }
    assert!(
        status_of(&checks, "metric http_server_request_duration_seconds")["fix"]
            .as_str()
            .unwrap()
            .contains("histogram")
    );
    // The table: one line per failure, each with its fix.
    let (code, table, stderr) = doctor(&[&url, "--log-file", &log, "--timeout", "1"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("check(s) failed"), "{stderr}");
    let failed = checks.iter().filter(|c| c["status"] == "fail").count();
    let rows = table.lines().filter(|l| l.starts_with("FAIL  ")).count();
    let fixes = table
        .lines()
        .filter(|l| l.starts_with("FAIL ") && l.contains(". Fix: "))
        .count();
    assert_eq!((rows, fixes), (failed, failed), "{table}");
}

#[test]
fn wrong_buckets_wrong_types_and_no_service_are_reported() {
    let url = broken_service(WRONG_BUCKETS);
    let (code, stdout, _) = doctor(&[&url, "--json", "--timeout", "1"]);
    assert_eq!(code, 1, "{stdout}");
    let checks = parse_checks(&stdout);
    let h = status_of(&checks, "metric http_server_request_duration_seconds");
    assert_eq!(h["status"], "fail");
    assert!(
        h["detail"]
            .as_str()
            .unwrap()
            .contains("buckets le=0.1,1,+Inf instead of 0.005,0.01,"),
        "{h}"
    );
    let cpu = status_of(&checks, "metric process_cpu_seconds_total");
    assert!(
        cpu["detail"]
            .as_str()
            .unwrap()
            .contains("TYPE gauge, expected counter"),
        "{cpu}"
    );

    // An error answer that is not the SDK's error body.
    error_body_check(
        &url,
        1,
        "fail",
        "not the SDK's error body (missing field `message`",
    );

    // Nothing listening.
    let (code, stdout, _) = doctor(&[&format!("http://127.0.0.1:{}", free_port()), "--json"]);
    assert_eq!(code, 1, "{stdout}");
    let checks = parse_checks(&stdout);
    let r = status_of(&checks, "request id");
    assert!(
        r["detail"].as_str().unwrap().contains("cannot connect"),
        "{r}"
    );
    // And a URL the doctor cannot use.
    let (code, stdout, _) = doctor(&["https://example.com", "--json"]);
    assert_eq!(code, 1, "{stdout}");
}
