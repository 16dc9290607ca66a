//! `[remote_write]` live: the `prometheus.yml` that `obs-gen generate` writes in local mode
//! scrapes the SDK's demo and writes every sample to a second real Prometheus started with
//! `--web.enable-remote-write-receiver` (standing in for Mimir, Thanos Receive or
//! VictoriaMetrics, which take the same protocol), and the SDK's series arrive there.

use std::time::Duration;

use obs_tests::process::{Proc, free_addr, start_demo, wait_for_port};
use obs_tests::prom::{Prometheus, wait_until};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sdk_series_reach_a_remote_write_receiver() {
    let (Some(prometheus), Some(_)) = (
        obs_tests::require_tool("prometheus"),
        obs_tests::require_tool("prometheus-alertmanager"),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path();
    let (demo, demo_addr) = start_demo(
        "demo",
        &[("OBS_SERVICE_NAME", "shop-api".to_string())],
        None,
        logs,
    );

    // The receiver: a plain Prometheus that accepts remote write and scrapes nothing.
    let receiver_addr = free_addr();
    let receiver_dir = logs.join("receiver");
    std::fs::create_dir_all(&receiver_dir).unwrap();
    std::fs::write(receiver_dir.join("prometheus.yml"), "global: {}\n").unwrap();
    let mut receiver = Proc::spawn(
        "receiver",
        &prometheus,
        &[
            format!(
                "--config.file={}",
                receiver_dir.join("prometheus.yml").display()
            ),
            format!(
                "--storage.tsdb.path={}",
                receiver_dir.join("data").display()
            ),
            format!("--web.listen-address={receiver_addr}"),
            "--web.enable-remote-write-receiver".into(),
        ],
        &[],
        logs,
    );
    wait_for_port(&receiver_addr, Duration::from_secs(30), &mut receiver);

    // The sender: exactly what the generator writes for this obs.toml.
    let sender_addr = free_addr();
    let out = logs.join("monitoring");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(
        out.join("obs.toml"),
        format!(
            r#"project = "rw"
environment = "test"
scrape_interval = "1s"
evaluation_interval = "1s"

[[services]]
name = "shop-api"
target = "{demo_addr}"

[local]
prometheus = "{sender_addr}"
alertmanager = "{am}"

[remote_write]
url = "http://{receiver_addr}/api/v1/write"
"#,
            am = free_addr(),
        ),
    )
    .unwrap();
    let mut printed = Vec::new();
    obs_gen::cli::run_from(
        ["obs-gen", "generate", "--output", out.to_str().unwrap()],
        &mut printed,
    )
    .unwrap_or_else(|e| panic!("obs-gen generate: {e}"));
    let config = std::fs::read_to_string(out.join("prometheus/prometheus.yml")).unwrap();
    assert!(
        config.contains(&format!("url: http://{receiver_addr}/api/v1/write")),
        "{config}"
    );
    let mut sender = Proc::spawn(
        "sender",
        &prometheus,
        &[
            format!(
                "--config.file={}",
                out.join("prometheus/prometheus.yml").display()
            ),
            format!(
                "--storage.tsdb.path={}",
                out.join("prometheus/data").display()
            ),
            format!("--web.listen-address={sender_addr}"),
        ],
        &[],
        logs,
    );
    wait_for_port(&sender_addr, Duration::from_secs(30), &mut sender);

    // Traffic, so the request histogram has series.
    let http = reqwest::Client::new();
    for path in ["/", "/users/1", "/users/x", "/fail"] {
        http.get(format!("http://{demo_addr}{path}"))
            .send()
            .await
            .unwrap();
    }

    // The receiver scrapes nothing itself: whatever it holds arrived by remote write.
    let remote = Prometheus::new(&receiver_addr);
    let series = wait_until(
        "the SDK's request histogram at the receiver",
        Duration::from_secs(90),
        || async {
            let found = remote
                .query(r#"http_server_request_duration_seconds_bucket{job="shop-api", http_route="/users/{id}"}"#)
                .await?;
            if found.is_empty() {
                Err(format!("nothing yet; sender log:\n{}", sender.log()))
            } else {
                Ok(found)
            }
        },
    )
    .await;
    let labels = &series[0]["metric"];
    assert_eq!(
        labels["env"], "test",
        "external labels travel with the samples"
    );
    assert_eq!(labels["project"], "rw");
    // The rest of the SDK's series (remote write sends in shards, so each may come later).
    for metric in [
        "obs_build_info",
        "http_server_active_requests",
        "process_resident_memory_bytes",
    ] {
        let query = format!(r#"{metric}{{job="shop-api"}}"#);
        wait_until(metric, Duration::from_secs(60), || async {
            let found = remote.query(&query).await?;
            if found.is_empty() {
                Err("not yet".to_string())
            } else {
                Ok(())
            }
        })
        .await;
    }
    drop(demo);
}
