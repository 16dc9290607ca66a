//! Exemplars, live: with OTLP export on, a real Prometheus with exemplar storage scrapes the
//! demo (in OpenMetrics, which it asks for) and keeps exemplars on the duration histogram whose
//! trace ids are among the spans the collector received and on the requests' log lines; a
//! scrape in the text format 0.0.4 stays as it was and promtool-clean.
#![cfg(feature = "otlp")]

mod common;
mod receivers;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use receivers::{Mode, Receiver, hex, otlp_spans};

fn prometheus_config(dir: &std::path::Path, demo: &str) -> std::path::PathBuf {
    let path = dir.join("prometheus.yml");
    std::fs::write(
        &path,
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n- job_name: demo\n  static_configs: [{{targets: ['{demo}']}}]\n"
        ),
    )
    .unwrap();
    path
}

#[tokio::test]
async fn prometheus_keeps_exemplars_of_traced_requests() {
    let Some(prometheus) = obs_tests::require_tool("prometheus") else {
        return;
    };
    let Some(promtool) = obs_tests::require_tool("promtool") else {
        return;
    };
    let collector = Receiver::start(Mode::Accept);
    let demo = common::Demo::start(&[("OTEL_EXPORTER_OTLP_ENDPOINT", &collector.url())]);
    let dir = tempfile::tempdir().unwrap();
    let prom_addr = obs_tests::process::free_addr();
    let mut prom = obs_tests::process::Proc::spawn(
        "prometheus",
        &prometheus,
        &[
            format!(
                "--config.file={}",
                prometheus_config(dir.path(), &demo.addr).display()
            ),
            format!("--storage.tsdb.path={}", dir.path().join("data").display()),
            format!("--web.listen-address={prom_addr}"),
            "--enable-feature=exemplar-storage".into(),
        ],
        &[],
        dir.path(),
    );
    obs_tests::process::wait_for_port(&prom_addr, Duration::from_secs(30), &mut prom);

    let http = reqwest::Client::new();
    let exemplars_url = format!("http://{prom_addr}/api/v1/query_exemplars");
    let started = Instant::now();
    let exemplars = loop {
        for _ in 0..5 {
            http.get(demo.url("/users/7")).send().await.unwrap();
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let answer: serde_json::Value = http
            .get(&exemplars_url)
            .query(&[
                (
                    "query",
                    // The test's own requests: Prometheus's scrapes of /metrics are traced
                    // too, and their exemplars have no log line (the access log leaves the
                    // SDK's own paths out).
                    "http_server_request_duration_seconds_bucket{job=\"demo\",http_route=\"/users/{id}\"}"
                        .to_owned(),
                ),
                ("start", (now - 600).to_string()),
                ("end", (now + 60).to_string()),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let found: Vec<String> = answer["data"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|series| series["exemplars"].as_array().cloned().unwrap_or_default())
            .filter_map(|e| e["labels"]["trace_id"].as_str().map(str::to_owned))
            .collect();
        if !found.is_empty() {
            break found;
        }
        prom.assert_running();
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no exemplars in Prometheus after a minute: {answer}\n{}",
            prom.log()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    for trace_id in &exemplars {
        assert!(
            trace_id.len() == 32 && trace_id.bytes().all(|b| b.is_ascii_hexdigit()),
            "{trace_id}"
        );
    }

    // The exemplars' traces are the requests' own: in the log lines and in the collector. A
    // line reaches the output through the log writer's thread, after the histogram kept the
    // exemplar, so the latest request's may still be on its way.
    for trace_id in &exemplars {
        demo.wait_for_line(&format!("with trace_id {trace_id}"), |l| {
            l["trace_id"] == trace_id.as_str()
        });
    }
    let text = reqwest::get(demo.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(demo.terminate());
    let requests = collector.wait_for("the exemplars' spans", |r| {
        let exported: BTreeSet<String> = otlp_spans(r)
            .iter()
            .map(|(_, s)| hex(&s.trace_id))
            .collect();
        exemplars.iter().all(|t| exported.contains(t))
    });
    assert!(!requests.is_empty());

    // A scraper that asks for nothing gets the text format, without exemplars, promtool-clean.
    assert!(!text.contains("# {") && !text.contains("# EOF"), "{text}");
    let mut check = std::process::Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    check
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = check.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn without_tracing_no_exemplar_is_kept() {
    let demo = common::Demo::start(&[]);
    reqwest::get(demo.url("/users/7")).await.unwrap();
    let text = reqwest::Client::new()
        .get(demo.url("/metrics"))
        .header("accept", "application/openmetrics-text;version=1.0.0")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.ends_with("# EOF\n"), "{text}");
    assert!(
        text.contains("http_server_request_duration_seconds_bucket{"),
        "{text}"
    );
    assert!(!text.contains("trace_id"), "{text}");
    assert!(demo.terminate());
}
