//! Local mode (`[local]` in obs.toml): the stack's components as programs on one host.

mod common;

use std::process::Command;

use common::*;

fn yaml(path: &std::path::Path) -> serde_yaml_ng::Value {
    serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn local_mode_points_every_address_at_the_host_and_shortens_intervals() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = generate_fixture(tmp.path(), "local.toml");
    let printed = obs_gen_ok(tmp.path(), &["generate"]);
    assert!(
        printed.contains("Local mode") && !printed.contains("docker compose"),
        "{printed}"
    );
    let written = files(&dir);
    assert!(
        !written.contains(&"compose.yaml".to_string()),
        "{written:?}"
    );

    let prom = yaml(&dir.join("prometheus/prometheus.yml"));
    assert_eq!(prom["global"]["scrape_interval"].as_str(), Some("1s"));
    assert_eq!(prom["global"]["evaluation_interval"].as_str(), Some("1s"));
    assert_eq!(
        prom["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"][0].as_str(),
        Some("127.0.0.1:19093")
    );
    let jobs: Vec<(String, String)> = prom["scrape_configs"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|j| {
            (
                j["job_name"].as_str().unwrap().to_string(),
                j["static_configs"][0]["targets"][0]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect();
    let want: Vec<(String, String)> = [
        ("demo", "127.0.0.1:13000"),
        ("prometheus", "127.0.0.1:19090"),
        ("alertmanager", "127.0.0.1:19093"),
        ("node", "127.0.0.1:19100"),
        ("postgres", "127.0.0.1:19187"),
        ("redis", "127.0.0.1:19121"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(jobs, want);

    let am = yaml(&dir.join("alertmanager/alertmanager.yml"));
    assert_eq!(am["route"]["group_wait"].as_str(), Some("1s"));
    assert_eq!(am["route"]["group_interval"].as_str(), Some("2s"));
    for r in am["route"]["routes"].as_sequence().unwrap() {
        assert_eq!(r["repeat_interval"].as_str(), Some("1m"));
    }
    let entry = std::fs::read_to_string(dir.join("alertmanager/entrypoint.sh")).unwrap();
    assert!(
        entry.contains("--web.listen-address=127.0.0.1:19093"),
        "{entry}"
    );
    assert!(entry.contains("${ALERTMANAGER:-prometheus-alertmanager}"));
    assert!(!entry.contains("/etc/alertmanager"), "{entry}");
    let rules =
        std::fs::read_to_string(dir.join("prometheus/rules/obs-service-alerts.yaml")).unwrap();
    assert!(
        rules.contains("for: 3s"),
        "the [alerts] thresholds reach the rules"
    );

    let ignored = std::fs::read_to_string(dir.join(".gitignore")).unwrap();
    assert!(ignored.contains("alertmanager/.secrets/"), "{ignored}");

    // The directory passes `obs-gen check` (promtool and amtool when installed).
    obs_gen_ok(&dir, &["check", "."]);
}

/// Without `[local]` and the interval keys, the output keeps the compose defaults.
#[test]
fn compose_output_keeps_its_defaults() {
    let tmp = tempfile::tempdir().unwrap();
    obs_gen_ok(tmp.path(), &["init", "--yes"]);
    let dir = tmp.path().join("monitoring");
    assert!(dir.join("compose.yaml").is_file());
    let prom = yaml(&dir.join("prometheus/prometheus.yml"));
    assert_eq!(prom["global"]["scrape_interval"].as_str(), Some("15s"));
    let toml = std::fs::read_to_string(dir.join("obs.toml")).unwrap();
    assert!(
        !toml.contains("[local]") && !toml.contains("scrape_interval"),
        "{toml}"
    );
}

/// The local entrypoint starts Debian's Alertmanager on the configured address with the
/// webhook URL from the environment.
#[test]
fn local_entrypoint_starts_debians_alertmanager() {
    let Some(alertmanager) = obs_tests::require_tool("prometheus-alertmanager") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = tmp.path().join("monitoring");
    std::fs::create_dir_all(&out).unwrap();
    let text = std::fs::read_to_string(fixture("local.toml"))
        .unwrap()
        .replace("127.0.0.1:19093", &format!("127.0.0.1:{port}"));
    std::fs::write(out.join("obs.toml"), text).unwrap();
    obs_gen_ok(tmp.path(), &["generate"]);
    let mut child = Command::new("sh")
        .arg(out.join("alertmanager/entrypoint.sh"))
        .env("ALERTMANAGER", &alertmanager)
        .env("ALERT_WEBHOOK_URL", "http://127.0.0.1:9/hook")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut status = String::new();
    for _ in 0..100 {
        std::thread::sleep(std::time::Duration::from_millis(100));
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            use std::io::{Read as _, Write as _};
            let _ = write!(s, "GET /api/v2/status HTTP/1.0\r\nHost: x\r\n\r\n");
            let _ = s.read_to_string(&mut status);
            if status.contains(" 200 ") {
                break;
            }
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(status.contains("127.0.0.1:9/hook"), "{status}");
}
