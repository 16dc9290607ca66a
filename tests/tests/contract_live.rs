//! The exporter-facing dashboards and alerts against real exporters: node-exporter,
//! postgres-exporter and redis-exporter from Debian's packages, scraped by a real Prometheus.
//! Every Infrastructure (host) and Database panel query must return data, and every
//! infrastructure alert expression must evaluate without error.
//!
//! Needs PostgreSQL on 127.0.0.1:5432 (trust auth, user postgres) and Redis on
//! 127.0.0.1:6379, as the test script sets up; `OBS_TEST_PG_DSN` and `OBS_TEST_REDIS_ADDR`
//! override them.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn spawn(program: &Path, args: &[String], env: &[(&str, String)]) -> Killed {
    let mut cmd = Command::new(program);
    cmd.args(args).stdout(Stdio::null()).stderr(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    Killed(
        cmd.spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", program.display())),
    )
}

fn query(promtool: &Path, url: &str, expr: &str) -> Result<String, String> {
    // A leading space keeps promtool from reading `-sum(…)` as a flag.
    let expr = format!(" {expr}");
    let out = Command::new(promtool)
        .args(["query", "instant", url, &expr])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        Ok(stdout)
    } else {
        Err(format!("{stdout}{}", String::from_utf8_lossy(&out.stderr)))
    }
}

/// Replaces Grafana variables by what "All" and a short range select.
fn concrete(query: &str) -> String {
    query
        .replace("$__rate_interval", "20s")
        .replace("$__range", "1m")
        .replace("${job:regex}", ".+")
        .replace("$job", ".+")
        .replace("$instance", ".+")
        .replace("$container", ".+")
}

/// Panel targets that may legitimately return nothing here, with the reason.
const MAY_BE_EMPTY: &[(&str, &str)] = &[
    (
        "redis_memory_max_bytes{",
        "the local Redis runs without maxmemory",
    ),
    (
        "node_disk_",
        "a container may expose no block device statistics",
    ),
    ("container_", "cAdvisor cannot run on this machine"),
];

#[test]
fn exporter_dashboards_and_alerts_work_against_real_exporters() {
    let tools: Vec<Option<PathBuf>> = [
        "prometheus",
        "promtool",
        "prometheus-node-exporter",
        "prometheus-postgres-exporter",
        "prometheus-redis-exporter",
    ]
    .iter()
    .map(|t| obs_tests::require_tool(t))
    .collect();
    let Some(tools) = tools.into_iter().collect::<Option<Vec<PathBuf>>>() else {
        return;
    };
    let [prometheus, promtool, node, postgres, redis] = &tools[..] else {
        unreachable!()
    };
    let dir = tempfile::tempdir().unwrap();
    let (node_port, pg_port, redis_port, prom_port) =
        (free_port(), free_port(), free_port(), free_port());
    let t = obs_mixin::Thresholds::default();

    let _node = spawn(
        node,
        &[format!("--web.listen-address=127.0.0.1:{node_port}")],
        &[],
    );
    let pg_dsn = std::env::var("OBS_TEST_PG_DSN")
        .unwrap_or_else(|_| "postgresql://postgres@127.0.0.1:5432/postgres?sslmode=disable".into());
    let _pg = spawn(
        postgres,
        &[format!("--web.listen-address=127.0.0.1:{pg_port}")],
        &[("DATA_SOURCE_NAME", pg_dsn)],
    );
    let redis_addr =
        std::env::var("OBS_TEST_REDIS_ADDR").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let _redis = spawn(
        redis,
        &[
            format!("-web.listen-address=127.0.0.1:{redis_port}"),
            format!("-redis.addr={redis_addr}"),
        ],
        &[],
    );
    let config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n\
         - job_name: {}\n  static_configs: [{{targets: ['127.0.0.1:{node_port}']}}]\n\
         - job_name: {}\n  static_configs: [{{targets: ['127.0.0.1:{pg_port}']}}]\n\
         - job_name: {}\n  static_configs: [{{targets: ['127.0.0.1:{redis_port}']}}]\n",
        t.node_job, t.postgres_job, t.redis_job
    );
    std::fs::write(dir.path().join("prometheus.yml"), config).unwrap();
    let _prom = spawn(
        prometheus,
        &[
            format!(
                "--config.file={}",
                dir.path().join("prometheus.yml").display()
            ),
            format!("--storage.tsdb.path={}", dir.path().join("data").display()),
            format!("--web.listen-address=127.0.0.1:{prom_port}"),
        ],
        &[],
    );
    let url = format!("http://127.0.0.1:{prom_port}");

    // Wait until all three targets are up, then long enough for 20s rate windows.
    let start = Instant::now();
    loop {
        let up = query(promtool, &url, "count(up == 1) == 3").unwrap_or_default();
        if !up.trim().is_empty() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "targets never came up: {:?}",
            query(promtool, &url, "up")
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    std::thread::sleep(Duration::from_secs(8));
    assert!(
        !query(promtool, &url, "pg_up == 1")
            .unwrap()
            .trim()
            .is_empty(),
        "postgres-exporter cannot reach PostgreSQL"
    );
    assert!(
        !query(promtool, &url, "redis_up == 1")
            .unwrap()
            .trim()
            .is_empty(),
        "redis-exporter cannot reach Redis"
    );

    let mut failures = Vec::new();
    let mut checked = 0;
    for d in obs_mixin::dashboards()
        .into_iter()
        .filter(|d| d.uid == "obs-infrastructure" || d.uid == "obs-database")
    {
        for (location, q) in obs_mixin::contract::promql_queries(&d.json) {
            let expr = concrete(&q);
            checked += 1;
            match query(promtool, &url, &expr) {
                Err(e) => failures.push(format!("{location}: error {e} in {expr}")),
                Ok(out)
                    if out.trim().is_empty()
                        && !MAY_BE_EMPTY.iter().any(|(p, _)| q.contains(p)) =>
                {
                    failures.push(format!("{location}: no data for {expr}"))
                }
                Ok(_) => {}
            }
        }
    }
    for group in obs_mixin::rules::alert_groups(&t)
        .into_iter()
        .filter(|g| g.name == "obs-infrastructure")
    {
        for alert in group.alerts {
            checked += 1;
            if let Err(e) = query(promtool, &url, &alert.expr) {
                failures.push(format!("alert {}: error {e}", alert.name));
            }
        }
    }
    assert!(checked > 30, "{checked}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
