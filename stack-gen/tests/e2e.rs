//! The generated stack, end to end, without Docker: two instances of the SDK's demo service,
//! its actix-web twin (the `actix` example: the same routes through the SDK's actix-web
//! adapter) and the `grpc` example (its `/upstream/{id}` calls its own gRPC service through the
//! SDK's client layer, so both ends of each call are recorded), node-exporter, postgres-exporter and redis-exporter (Debian's packages) against the
//! PostgreSQL and Redis running on this machine, Alertmanager and Prometheus (Debian's), all on
//! free 127.0.0.1 ports. Prometheus and Alertmanager load exactly what `obs-gen generate` wrote
//! for an `obs.toml` in local mode (`[local]`, 2 s scrapes, 1 s rule evaluation, short
//! `for` durations and Alertmanager group timings), and Alertmanager posts to a webhook
//! receiver this test runs.
//!
//! 1. Traffic (2xx, 4xx, 5xx, slow) to the four services; then every PromQL query of every
//!    bundled dashboard panel returns data (LogQL panels are Loki's, out of scope here), every
//!    panel of the service overview returns data for the axum demo and for the actix-web one
//!    alone, and every recording and alerting rule evaluates without error.
//! 2. Things break: a burst of 5xx on one demo (`HighErrorRate`, and `SloErrorBudgetFastBurn`
//!    of its 1-day availability SLO), the other demo killed
//!    (`TargetDown`), node-exporter stopped (`HostDown`, `TargetDown`), and the connections
//!    from postgres-exporter and redis-exporter to their databases cut (`PostgresDown`,
//!    `RedisDown`). The matching alerts fire in Prometheus, reach Alertmanager and arrive at
//!    the webhook with the labels and annotations
//!    `docs/runbooks.md` promises.
//!
//! 3. Linked signals (a test of its own): a demo exporting its spans over OTLP to a stand-in
//!    collector, scraped by a Prometheus with exemplar storage as the generator starts it;
//!    the exemplars Prometheus returns name traces the collector received and the request's
//!    log lines carry, and a scrape in the Prometheus text format stays `promtool`-clean.
//!
//! Needs PostgreSQL on 127.0.0.1:5432 (trust auth, user postgres) and Redis on 127.0.0.1:6379
//! (`bash .ci/run deps`); `OBS_TEST_PG_ADDR` and `OBS_TEST_REDIS_ADDR` (host:port) and
//! `OBS_TEST_PG_DSN` (which must contain `OBS_TEST_PG_ADDR`) override them.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use obs_tests::live::check_dashboards;
use obs_tests::process::{Proc, free_addr, start_demo, start_example, wait_for_port};
use obs_tests::prom::{Prometheus, alertmanager_alerts, has_labels, wait_until};
use obs_tests::receivers::{OtlpCollector, TcpProxy, Webhook};
use serde_json::Value;

/// Panel queries that cannot return data on this machine, with the reason. Keep it short:
/// everything else must return data.
const MAY_BE_EMPTY: &[(&str, &str)] = &[
    (
        "traces_service_graph_",
        "the service graph: Tempo's metrics generator writes it, and no Tempo runs here",
    ),
    (
        "container_",
        "cAdvisor metrics: cAdvisor needs Docker, which this test does without",
    ),
    (
        "redis_memory_max_bytes{",
        "the machine's Redis runs without maxmemory (the panel shows the limit only when set)",
    ),
];

/// The programs the test runs, from Debian's packages.
const TOOLS: &[&str] = &[
    "prometheus",
    "prometheus-alertmanager",
    "prometheus-node-exporter",
    "prometheus-postgres-exporter",
    "prometheus-redis-exporter",
];

struct Stack {
    _dir: tempfile::TempDir,
    demo_a: (Proc, String),
    demo_b: (Proc, String),
    /// The actix-web twin of the demo.
    actix: (Proc, String),
    /// The gRPC example, calling its own gRPC service through the SDK's client layer.
    grpc: (Proc, String),
    node: (Proc, String),
    postgres: (Proc, String),
    redis: (Proc, String),
    pg_proxy: TcpProxy,
    redis_proxy: TcpProxy,
    alertmanager: (Proc, String),
    prometheus: (Proc, String),
    webhook: Webhook,
}

impl Stack {
    fn logs(&self) -> String {
        [
            &self.demo_a.0,
            &self.demo_b.0,
            &self.actix.0,
            &self.grpc.0,
            &self.node.0,
            &self.postgres.0,
            &self.redis.0,
            &self.alertmanager.0,
            &self.prometheus.0,
        ]
        .iter()
        .map(|p| p.log())
        .collect::<Vec<_>>()
        .join("\n")
    }
}

/// Addresses written into obs.toml.
struct Addrs<'a> {
    demo_a: &'a str,
    demo_b: &'a str,
    actix: &'a str,
    grpc: &'a str,
    pg_db: &'a str,
    redis_db: &'a str,
    prometheus: &'a str,
    alertmanager: &'a str,
    node: &'a str,
    postgres: &'a str,
    redis: &'a str,
}

fn obs_toml(s: &Addrs<'_>) -> String {
    format!(
        r#"# The end-to-end test's stack: local mode, everything on 127.0.0.1, fast intervals.
project = "e2e"
environment = "test"
log_shipper = "none"
# postgres-exporter takes a second to report a refused connection (pg_up 0): the scrape
# timeout, which equals the interval, must be longer.
scrape_interval = "2s"
evaluation_interval = "1s"

[[services]]
name = "demo-a"
target = "{demo_a}"

[[services]]
name = "demo-b"
target = "{demo_b}"

[[services]]
name = "demo-actix"
target = "{actix}"

[[services]]
name = "demo-grpc"
target = "{grpc}"

[databases.postgres]
address = "{pg_db}"

[databases.redis]
address = "{redis_db}"

[alerting]
receiver = "webhook"
webhook_url_env = "E2E_WEBHOOK_URL"
group_wait = "1s"
group_interval = "1s"
repeat_interval = "1m"

[alerts]
error_ratio = 0.3
error_ratio_for = "3s"
target_down_for = "3s"
redis_down_for = "3s"
postgres_down_for = "3s"
host_down_for = "3s"

{slo}
[local]
prometheus = "{prometheus}"
alertmanager = "{alertmanager}"
node_exporter = "{node}"
postgres_exporter = "{postgres}"
redis_exporter = "{redis}"
"#,
        demo_a = s.demo_a,
        demo_b = s.demo_b,
        actix = s.actix,
        grpc = s.grpc,
        pg_db = s.pg_db,
        redis_db = s.redis_db,
        prometheus = s.prometheus,
        alertmanager = s.alertmanager,
        node = s.node,
        postgres = s.postgres,
        redis = s.redis,
        slo = SLO_TOML,
    )
}

/// demo-a's availability SLO, over the shortest window obs-gen accepts. Its burn-rate windows
/// scale with it (1d / 30d): the page watches 2m and 10s, which the 2 s scrapes fill, so the
/// 5xx burst fires it within seconds. The objective lets the demo's normal traffic (one
/// request in eleven is a 5xx, 4.5 times the budget) stay below both page factors (14.4 and
/// 6), while the burst (all 5xx, 50 times) exceeds them.
const SLO_TOML: &str = r#"[[slo]]
name = "demo-a-availability"
service = "demo-a"
kind = "availability"
objective = 98
window = "1d"
"#;

fn slo() -> obs_mixin::slo::Slo {
    obs_mixin::slo::Slo {
        window: obs_mixin::Duration::from_static("1d"),
        ..obs_mixin::slo::Slo::availability("demo-a-availability", "demo-a", 98.0)
    }
}

fn tool(name: &str) -> PathBuf {
    obs_tests::require_tool(name).expect("checked before")
}

/// Starts every program; Prometheus and Alertmanager with the generator's files.
async fn start_stack() -> Stack {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().to_path_buf();
    let pg_upstream = std::env::var("OBS_TEST_PG_ADDR").unwrap_or_else(|_| "127.0.0.1:5432".into());
    let pg_dsn = std::env::var("OBS_TEST_PG_DSN").unwrap_or_else(|_| {
        format!("postgresql://postgres@{pg_upstream}/postgres?sslmode=disable")
    });
    let redis_upstream =
        std::env::var("OBS_TEST_REDIS_ADDR").unwrap_or_else(|_| "127.0.0.1:6379".into());
    // The exporters reach PostgreSQL and Redis through proxies the test can cut ("the
    // database went down"); the demos connect directly.
    let pg_proxy = TcpProxy::start(&pg_upstream).await;
    let redis_proxy = TcpProxy::start(&redis_upstream).await;
    let demo_env = |name: &str| {
        vec![
            ("OBS_SERVICE_NAME", name.to_string()),
            ("OBS_ENV", "test".to_string()),
            ("DATABASE_URL", pg_dsn.clone()),
            ("REDIS_URL", format!("redis://{redis_upstream}")),
        ]
    };
    // Under an address-space limit, so the "Memory" panel's limit series has a value.
    let limit = Some(64 << 30);
    let demo_a = start_demo("demo-a", &demo_env("demo-a"), limit, &logs);
    // demo-b ships its logs to a Loki that refuses connections: the SDK drops them after its
    // retries and counts them, so the self-health panels on drops have data.
    let mut env_b = demo_env("demo-b");
    env_b.push(("LOKI_URL", format!("http://{}", free_addr())));
    let demo_b = start_demo("demo-b", &env_b, limit, &logs);
    // The same service on actix-web, with the same checks.
    let actix = start_example("actix", "demo-actix", &demo_env("demo-actix"), limit, &logs);
    // The gRPC example: its `/upstream/{id}` calls its own gRPC service through the SDK's
    // client layer, so both ends of a gRPC call are recorded (grpcio drives it in
    // tests/tests/contract_live.rs).
    let mut grpc_env = demo_env("demo-grpc");
    grpc_env.push(("DEMO_GRPC_ADDR", free_addr()));
    let grpc = start_example("grpc", "demo-grpc", &grpc_env, limit, &logs);

    let node_addr = free_addr();
    let node = Proc::spawn(
        "node-exporter",
        &tool("prometheus-node-exporter"),
        &[format!("--web.listen-address={node_addr}")],
        &[],
        &logs,
    );
    let pg_addr = free_addr();
    let postgres = Proc::spawn(
        "postgres-exporter",
        &tool("prometheus-postgres-exporter"),
        &[format!("--web.listen-address={pg_addr}")],
        &[(
            "DATA_SOURCE_NAME",
            pg_dsn.replace(&pg_upstream, &pg_proxy.addr.to_string()),
        )],
        &logs,
    );
    let redis_addr = free_addr();
    let redis = Proc::spawn(
        "redis-exporter",
        &tool("prometheus-redis-exporter"),
        &[
            format!("-web.listen-address={redis_addr}"),
            format!("-redis.addr=redis://{}", redis_proxy.addr),
        ],
        &[],
        &logs,
    );
    let webhook = Webhook::start().await;

    // The configuration is the generator's output: `obs-gen generate` on this obs.toml.
    let (am_addr, prom_addr) = (free_addr(), free_addr());
    let out = logs.join("monitoring");
    std::fs::create_dir_all(&out).unwrap();
    let (pg_db, redis_db) = (pg_proxy.addr.to_string(), redis_proxy.addr.to_string());
    let toml = obs_toml(&Addrs {
        demo_a: &demo_a.1,
        demo_b: &demo_b.1,
        actix: &actix.1,
        grpc: &grpc.1,
        pg_db: &pg_db,
        redis_db: &redis_db,
        prometheus: &prom_addr,
        alertmanager: &am_addr,
        node: &node_addr,
        postgres: &pg_addr,
        redis: &redis_addr,
    });
    std::fs::write(out.join("obs.toml"), toml).unwrap();
    let mut printed = Vec::new();
    obs_gen::cli::run_from(
        ["obs-gen", "generate", "--output", out.to_str().unwrap()],
        &mut printed,
    )
    .unwrap_or_else(|e| panic!("obs-gen generate: {e}"));
    assert!(
        !out.join("compose.yaml").exists(),
        "local mode writes no compose file"
    );
    // What `obs-gen check` says of it: YAML, the name contract, promtool and amtool.
    let mut checked = Vec::new();
    obs_gen::cli::run_from(["obs-gen", "check", out.to_str().unwrap()], &mut checked)
        .unwrap_or_else(|e| panic!("obs-gen check: {e}\n{}", String::from_utf8_lossy(&checked)));
    let checked = String::from_utf8_lossy(&checked);
    assert!(
        checked.contains("promtool check config") && checked.contains("amtool check-config"),
        "{checked}"
    );

    // Alertmanager through the generated entrypoint, which puts the webhook URL from the
    // environment into its private copy of alertmanager.yml.
    let alertmanager = Proc::spawn(
        "alertmanager",
        Path::new("/bin/sh"),
        &[out.join("alertmanager/entrypoint.sh").display().to_string()],
        &[
            (
                "ALERTMANAGER",
                tool("prometheus-alertmanager").display().to_string(),
            ),
            ("E2E_WEBHOOK_URL", webhook.url.clone()),
        ],
        &logs,
    );
    let prometheus = Proc::spawn(
        "prometheus",
        &tool("prometheus"),
        &[
            format!(
                "--config.file={}",
                out.join("prometheus/prometheus.yml").display()
            ),
            format!("--storage.tsdb.path={}", logs.join("prom-data").display()),
            format!("--web.listen-address={prom_addr}"),
        ],
        &[],
        &logs,
    );
    let mut stack = Stack {
        _dir: dir,
        demo_a,
        demo_b,
        actix,
        grpc,
        node: (node, node_addr),
        postgres: (postgres, pg_addr),
        redis: (redis, redis_addr),
        pg_proxy,
        redis_proxy,
        alertmanager: (alertmanager, am_addr),
        prometheus: (prometheus, prom_addr),
        webhook,
    };
    for p in [
        &mut stack.node,
        &mut stack.postgres,
        &mut stack.redis,
        &mut stack.alertmanager,
        &mut stack.prometheus,
    ] {
        let (proc, addr) = (&mut p.0, p.1.clone());
        tokio::task::block_in_place(|| wait_for_port(&addr, Duration::from_secs(30), proc));
    }
    stack
}

/// Requests to one demo, forever: 2xx, 4xx, 5xx (one in eleven), slow ones, and one whose
/// handler calls the demo's own `/users/1` (the outgoing-call panels); only 5xx when
/// `only_errors` is set.
async fn traffic(addr: String, stop: Arc<AtomicBool>, only_errors: Arc<AtomicBool>) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let base = format!("http://{addr}");
    let mix = [
        "/",
        "/users/1",
        "/users/2",
        "/",
        "/no/such/route",
        "/users/3",
        "/slow?ms=30",
        "/health/ready",
        "/",
        "/upstream",
        "/fail",
    ];
    while !stop.load(Ordering::Relaxed) {
        if only_errors.load(Ordering::Relaxed) {
            let _ = http.get(format!("{base}/fail")).send().await;
            continue;
        }
        for path in mix {
            let _ = http.get(format!("{base}{path}")).send().await;
        }
        let _ = http
            .post(format!("{base}/items"))
            .header("x-user-id", "e2e")
            .body("{}")
            .send()
            .await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Calls through the gRPC example's `/upstream/{id}`: OK and NOT_FOUND answers (no server
/// faults: the alerts part of the test expects none from this service).
async fn grpc_traffic(addr: String, stop: Arc<AtomicBool>) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    while !stop.load(Ordering::Relaxed) {
        for id in ["1", "2", "missing"] {
            let _ = http
                .get(format!("http://{addr}/upstream/{id}"))
                .send()
                .await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn firing<'a>(alerts: &'a [Value], name: &str, labels: &[(&str, &str)]) -> Option<&'a Value> {
    alerts.iter().find(|a| {
        a["labels"]["alertname"] == name && has_labels(a, labels) && a["state"] == "firing"
    })
}

/// The `**Meaning.**` paragraph of `## <alert>` in docs/runbooks.md states the severity.
fn runbook_severity(runbooks: &str, alert: &str) -> Option<String> {
    let section = runbooks.split(&format!("\n## {alert}\n")).nth(1)?;
    let section = section.split("\n## ").next()?;
    let i = section.find("Severity ")?;
    let word = section[i + "Severity ".len()..]
        .split(|c: char| !c.is_ascii_alphabetic())
        .next()?;
    Some(word.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn generated_stack_serves_every_panel_and_routes_every_alert() {
    if TOOLS
        .iter()
        .map(|t| obs_tests::require_tool(t))
        .any(|t| t.is_none())
    {
        return;
    }
    let mut stack = start_stack().await;
    let prom = Prometheus::new(&stack.prometheus.1);

    let stop = Arc::new(AtomicBool::new(false));
    let burst_a = Arc::new(AtomicBool::new(false));
    let mut load = Vec::new();
    for (addr, burst) in [
        (stack.demo_a.1.clone(), burst_a.clone()),
        (stack.demo_b.1.clone(), Arc::new(AtomicBool::new(false))),
        (stack.actix.1.clone(), Arc::new(AtomicBool::new(false))),
    ] {
        load.push(tokio::spawn(traffic(addr, stop.clone(), burst)));
    }
    load.push(tokio::spawn(grpc_traffic(
        stack.grpc.1.clone(),
        stop.clone(),
    )));

    // Every scrape target of the generated configuration is up.
    let jobs = [
        "demo-a",
        "demo-b",
        "demo-actix",
        "demo-grpc",
        "prometheus",
        "alertmanager",
        "node",
        "postgres",
        "redis",
    ];
    let targets = wait_until("every target up", Duration::from_secs(60), || async {
        let t = prom.targets().await?;
        let up: Vec<&str> = t
            .iter()
            .filter(|t| t["health"] == "up")
            .filter_map(|t| t["labels"]["job"].as_str())
            .collect();
        if jobs.iter().all(|j| up.contains(j)) && t.len() == jobs.len() {
            Ok(t)
        } else {
            Err(format!("up: {up:?} of {} targets", t.len()))
        }
    })
    .await;
    assert_eq!(targets.len(), jobs.len());
    // The recording rules have seen traffic, 5xx included, for both services.
    for job in ["demo-a", "demo-b", "demo-actix"] {
        let expr = format!("job:http_server_request_errors:ratio_rate5m{{job=\"{job}\"}} > 0");
        wait_until(&expr, Duration::from_secs(60), || async {
            match prom.query(&expr).await?.len() {
                0 => Err("no data".into()),
                _ => Ok(()),
            }
        })
        .await;
    }
    for expr in ["pg_up == 1", "redis_up == 1"] {
        wait_until(expr, Duration::from_secs(30), || async {
            match prom.query(expr).await?.len() {
                0 => Err("no data".into()),
                _ => Ok(()),
            }
        })
        .await;
    }
    // demo-b's refused Loki batches are dropped (after the SDK's retries) and counted.
    let dropped =
        r#"count_over_time(obs_exporter_dropped_total{job="demo-b",exporter="loki"}[20s]) >= 2"#;
    wait_until(dropped, Duration::from_secs(90), || async {
        match prom.query(dropped).await?.len() {
            0 => Err("no data".into()),
            _ => Ok(()),
        }
    })
    .await;
    // A few more scrapes, so every rate window holds several samples.
    tokio::time::sleep(Duration::from_secs(5)).await;

    // 1. Every panel of every bundled dashboard has data.
    let dashboards: Vec<Value> = obs_mixin::dashboards()
        .into_iter()
        .map(|d| d.json)
        .collect();
    let report = check_dashboards(&prom, &dashboards, MAY_BE_EMPTY).await;
    assert!(report.checked > 80, "only {} queries", report.checked);
    assert!(
        report.failures.is_empty(),
        "{} of {} panel queries failed:\n{}\n\n{}",
        report.failures.len(),
        report.checked,
        report.failures.join("\n"),
        stack.logs()
    );
    eprintln!(
        "e2e: {} panel queries returned data; allowed to be empty:\n  {}",
        report.checked - report.allowed_empty.len(),
        report.allowed_empty.join("\n  ")
    );

    // The service overview, for one service at a time: every panel has data for the axum demo,
    // and the same for its actix-web twin, so neither adapter hides behind the other.
    let overview = dashboards
        .iter()
        .find(|d| d["uid"] == "obs-service-overview")
        .expect("the service overview dashboard");
    // An HTTP service serves and calls no gRPC: its gRPC row stays empty.
    let http_only: Vec<(&str, &str)> = MAY_BE_EMPTY
        .iter()
        .copied()
        .chain([
            (
                obs_catalogue::RPC_SERVER_CALL_DURATION.name,
                "an HTTP service serves no gRPC",
            ),
            (
                obs_catalogue::RPC_CLIENT_CALL_DURATION.name,
                "an HTTP service calls no gRPC",
            ),
        ])
        .collect();
    for job in ["demo-a", "demo-actix"] {
        let mut one = overview.clone();
        for variable in one["templating"]["list"].as_array_mut().unwrap() {
            if variable["name"] == "job" {
                variable["allValue"] = Value::from(job);
            }
        }
        let report = check_dashboards(&prom, &[one], &http_only).await;
        assert!(report.checked > 20, "only {} queries", report.checked);
        assert!(
            report.failures.is_empty(),
            "{job}: {} of {} service panel queries failed:\n{}\n\n{}",
            report.failures.len(),
            report.checked,
            report.failures.join("\n"),
            stack.logs()
        );
    }

    // The same check fails on a dashboard that queries a metric the SDK does not emit: the
    // fixture's renamed panel, and only it, is reported.
    let fixture: Value = serde_json::from_str(
        &std::fs::read_to_string(
            obs_tests::repo_root().join("tests/fixtures/e2e-renamed-metric-dashboard.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let broken = check_dashboards(&prom, &[fixture], MAY_BE_EMPTY).await;
    assert!(broken.checked >= 3, "{broken:?}");
    assert_eq!(broken.failures.len(), 1, "{:?}", broken.failures);
    assert!(
        broken.failures[0].contains("panel Request rate by method (renamed metric): no data")
            && broken.failures[0].contains("http_server_requests_seconds_count"),
        "{:?}",
        broken.failures
    );

    // Every rule of the generated rule files is loaded, healthy, and the recording rules
    // record something.
    let groups = prom.rule_groups().await.unwrap();
    let mut rules = 0;
    for g in &groups {
        for r in g["rules"].as_array().into_iter().flatten() {
            rules += 1;
            assert_eq!(r["health"], "ok", "rule {}: {r}", r["name"]);
            assert!(
                r["lastError"].as_str().unwrap_or("").is_empty(),
                "rule {}: {}",
                r["name"],
                r["lastError"]
            );
        }
    }
    let slo_group = obs_mixin::slo::group(&slo());
    let expected: usize = obs_mixin::rules::recordings().len()
        + obs_mixin::rules::alert_groups(&obs_mixin::Thresholds::default())
            .iter()
            .map(|g| g.alerts.len())
            .sum::<usize>()
        + slo_group.rules.len();
    assert_eq!(rules, expected, "every generated rule is loaded");
    assert!(
        groups.iter().any(|g| g["name"] == slo_group.name.as_str()),
        "the SLO's group {} is loaded",
        slo_group.name
    );
    let slo_records = slo_group.rules.iter().filter_map(|r| r.record());
    for record in obs_mixin::rules::recordings()
        .iter()
        .map(|r| r.record)
        .chain(slo_records)
    {
        let samples = prom.query(record).await.unwrap();
        assert!(!samples.is_empty(), "recording rule {record} has no data");
    }

    // Before anything breaks, none of the alerts below is active.
    let quiet = prom.alerts().await.unwrap();
    for name in [
        "HighErrorRate",
        obs_mixin::slo::FAST_BURN,
        "TargetDown",
        "HostDown",
        "PostgresDown",
        "RedisDown",
    ] {
        assert!(
            !quiet.iter().any(|a| a["labels"]["alertname"] == name),
            "{name} is active before anything broke: {quiet:?}"
        );
    }

    // 2. Break things.
    burst_a.store(true, Ordering::Relaxed);
    stack.demo_b.0.stop();
    stack.node.0.stop();
    stack.pg_proxy.cut();
    stack.redis_proxy.cut();
    let expected: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("HighErrorRate", vec![("job", "demo-a")]),
        // The burst spends demo-a's error budget 50 times too fast: the SLO pages.
        (
            obs_mixin::slo::FAST_BURN,
            vec![
                ("slo", "demo-a-availability"),
                ("service", "demo-a"),
                ("job", "demo-a"),
                ("severity", "critical"),
            ],
        ),
        (
            "TargetDown",
            vec![("job", "demo-b"), ("instance", stack.demo_b.1.as_str())],
        ),
        // The exporter stopped: its own down alert, and its target down.
        (
            "HostDown",
            vec![("job", "node"), ("instance", stack.node.1.as_str())],
        ),
        (
            "TargetDown",
            vec![("job", "node"), ("instance", stack.node.1.as_str())],
        ),
        // The databases unreachable from their (running) exporters.
        (
            "PostgresDown",
            vec![("job", "postgres"), ("instance", stack.postgres.1.as_str())],
        ),
        (
            "RedisDown",
            vec![("job", "redis"), ("instance", stack.redis.1.as_str())],
        ),
    ];

    // Firing in Prometheus.
    wait_until(
        "the alerts firing in Prometheus",
        Duration::from_secs(120),
        || async {
            let alerts = prom.alerts().await?;
            let missing: Vec<&str> = expected
                .iter()
                .filter(|(n, l)| firing(&alerts, n, l).is_none())
                .map(|(n, _)| *n)
                .collect();
            if missing.is_empty() {
                Ok(())
            } else {
                Err(format!("not firing: {missing:?}; active: {alerts:?}"))
            }
        },
    )
    .await;

    // Held by Alertmanager.
    let am_addr = stack.alertmanager.1.clone();
    wait_until(
        "the alerts in Alertmanager",
        Duration::from_secs(60),
        || async {
            let alerts = alertmanager_alerts(&am_addr).await?;
            let missing: Vec<&str> = expected
                .iter()
                .filter(|(n, l)| {
                    !alerts.iter().any(|a| {
                        a["labels"]["alertname"] == *n
                            && has_labels(a, l)
                            && a["status"]["state"] == "active"
                    })
                })
                .map(|(n, _)| *n)
                .collect();
            if missing.is_empty() {
                Ok(())
            } else {
                Err(format!("missing: {missing:?}; held: {alerts:?}"))
            }
        },
    )
    .await;

    // Posted to the webhook, with the runbooks' labels and annotations.
    let webhook = &stack.webhook;
    let received = wait_until(
        "the alerts at the webhook",
        Duration::from_secs(60),
        || async {
            let alerts = webhook.alerts();
            let mut found = Vec::new();
            for (n, l) in &expected {
                match alerts.iter().find(|a| {
                    a["labels"]["alertname"] == *n && has_labels(a, l) && a["status"] == "firing"
                }) {
                    Some(a) => found.push(a.clone()),
                    None => return Err(format!("{n} {l:?} not received; got {alerts:?}")),
                }
            }
            Ok(found)
        },
    )
    .await;
    stop.store(true, Ordering::Relaxed);
    for l in load {
        let _ = l.await;
    }

    let runbooks =
        std::fs::read_to_string(obs_tests::repo_root().join("docs/runbooks.md")).unwrap();
    for alert in &received {
        let name = alert["labels"]["alertname"].as_str().unwrap();
        let severity = alert["labels"]["severity"].as_str().unwrap_or("");
        assert_eq!(
            runbook_severity(&runbooks, name).as_deref(),
            Some(severity),
            "{name}: the severity label matches docs/runbooks.md"
        );
        // Routed by severity, as the generated alertmanager.yml says.
        assert_eq!(alert["_receiver"], severity, "{name}: {alert}");
        assert!(alert["labels"]["job"].is_string(), "{name}: no job label");
        for key in ["summary", "description"] {
            let text = alert["annotations"][key].as_str().unwrap_or("");
            assert!(
                !text.is_empty() && !text.contains("{{") && !text.contains("<no value>"),
                "{name}: {key} {text:?}"
            );
        }
        let job = alert["labels"]["job"].as_str().unwrap();
        assert!(
            alert["annotations"]["summary"]
                .as_str()
                .unwrap()
                .contains(job)
                || alert["annotations"]["description"]
                    .as_str()
                    .unwrap()
                    .contains(job),
            "{name}: the annotations name the job {job}: {alert}"
        );
        let url = alert["annotations"]["runbook_url"].as_str().unwrap_or("");
        let anchor = url
            .strip_prefix(&format!("{}#", obs_mixin::rules::RUNBOOK_BASE))
            .unwrap_or_else(|| panic!("{name}: runbook_url {url:?}"));
        assert_eq!(
            anchor,
            name.to_lowercase(),
            "{name}: GitHub's anchor of the heading"
        );
        assert!(
            runbooks.contains(&format!("\n## {name}\n")),
            "{name}: docs/runbooks.md has the section {url} links to"
        );
    }
    // The instance-level alerts name the instance.
    for a in received
        .iter()
        .filter(|a| a["labels"]["alertname"] != "HighErrorRate")
    {
        let instance = a["labels"]["instance"].as_str().unwrap_or("");
        assert!(
            a["annotations"]["summary"]
                .as_str()
                .unwrap()
                .contains(instance)
                || a["annotations"]["description"]
                    .as_str()
                    .unwrap()
                    .contains(instance),
            "{a}"
        );
    }
    // The SLO page says which SLO, how fast its budget burns and how long what is left lasts:
    // Prometheus rendered the query templates, none came out empty.
    let page = received
        .iter()
        .find(|a| a["labels"]["alertname"] == obs_mixin::slo::FAST_BURN)
        .unwrap();
    let description = page["annotations"]["description"].as_str().unwrap();
    for part in [
        "The error budget of demo-a-availability (98% of requests to demo-a answered without a 5xx over 1d) burns ",
        " times as fast as the objective allows, over the last 2m and 10s, or 12m and 1m.",
        "At this rate what is left of it (",
        "%) is gone in ",
        " hours.",
    ] {
        assert!(description.contains(part), "{part:?} in {description:?}");
    }
    assert!(!description.contains("()"), "{description}");
    // HighErrorRate's description states the measured ratio and the configured threshold.
    let high = received
        .iter()
        .find(|a| a["labels"]["alertname"] == "HighErrorRate")
        .unwrap();
    assert!(
        high["annotations"]["description"]
            .as_str()
            .unwrap()
            .contains("threshold 30%"),
        "{high}"
    );
}

/// The `trace_id` of every JSON line of `log` that has one.
fn logged_trace_ids(log: &str) -> Vec<String> {
    log.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| {
            v[obs_catalogue::fields::TRACE_ID]
                .as_str()
                .map(String::from)
        })
        .collect()
}

/// The trace ids on the exemplars of `answer` (`/api/v1/query_exemplars`).
fn exemplar_trace_ids(answer: &[Value]) -> Vec<String> {
    answer
        .iter()
        .flat_map(|series| series["exemplars"].as_array().cloned().unwrap_or_default())
        .filter_map(|e| {
            e["labels"][obs_catalogue::fields::TRACE_ID]
                .as_str()
                .map(String::from)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traced_requests_leave_exemplars_that_lead_to_their_trace_and_logs() {
    let (Some(prometheus), Some(promtool)) = (
        obs_tests::require_tool("prometheus"),
        obs_tests::require_tool("promtool"),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().to_path_buf();
    let collector = OtlpCollector::start().await;
    let env = vec![
        ("OBS_SERVICE_NAME", "traced".to_string()),
        ("OBS_ENV", "test".to_string()),
        (
            obs_catalogue::env::OTEL_EXPORTER_OTLP_ENDPOINT.name,
            collector.endpoint.clone(),
        ),
    ];
    let mut demo = start_demo("traced", &env, None, &logs);

    // The generator's Prometheus: its prometheus.yml for this obs.toml, and its flags.
    let (prom_addr, am_addr) = (free_addr(), free_addr());
    let out = logs.join("monitoring");
    std::fs::create_dir_all(&out).unwrap();
    let toml = format!(
        "project = \"exemplars\"\nlog_shipper = \"none\"\ntracing = true\nscrape_interval = \"1s\"\n\n\
         [[services]]\nname = \"traced\"\ntarget = \"{}\"\n\n\
         [local]\nprometheus = \"{prom_addr}\"\nalertmanager = \"{am_addr}\"\n",
        demo.1
    );
    std::fs::write(out.join("obs.toml"), &toml).unwrap();
    let mut printed = Vec::new();
    obs_gen::cli::run_from(
        ["obs-gen", "generate", "--output", out.to_str().unwrap()],
        &mut printed,
    )
    .unwrap_or_else(|e| panic!("obs-gen generate: {e}"));
    let cfg = obs_gen::model::Config::from_toml(&toml, "obs.toml").unwrap();
    let mut args = vec![
        format!(
            "--config.file={}",
            out.join("prometheus/prometheus.yml").display()
        ),
        format!("--storage.tsdb.path={}", logs.join("prom-data").display()),
        format!("--web.listen-address={prom_addr}"),
    ];
    args.extend(obs_gen::render::prometheus::flags(&cfg));
    assert!(
        args.iter()
            .any(|a| a == "--enable-feature=exemplar-storage")
    );
    let mut prom_proc = Proc::spawn("prometheus", &prometheus, &args, &[], &logs);
    tokio::task::block_in_place(|| {
        wait_for_port(&prom_addr, Duration::from_secs(30), &mut prom_proc)
    });
    let prom = Prometheus::new(&prom_addr);

    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let base = format!("http://{}", demo.1);
    let selector = format!(
        "{}_bucket{{job=\"traced\"}}",
        obs_catalogue::HTTP_SERVER_REQUEST_DURATION.name
    );
    // Traffic until Prometheus holds exemplars whose traces the collector has received (the
    // SDK exports spans in batches, so the trace may arrive after the scrape).
    let (exemplars, received) = wait_until(
        "exemplars of received traces",
        Duration::from_secs(90),
        || {
            let (http, base, prom, selector) = (&http, &base, &prom, &selector);
            let (collector, demo_log) = (&collector, &demo.0);
            async move {
                for path in ["/", "/users/1", "/slow?ms=20", "/no/such/route"] {
                    let _ = http.get(format!("{base}{path}")).send().await;
                }
                let answer = prom.query_exemplars(selector, 10).await?;
                let ids = exemplar_trace_ids(&answer);
                let received = collector.trace_ids();
                if ids.is_empty() {
                    return Err(format!("no exemplar yet: {answer:?}"));
                }
                if !ids.iter().any(|id| received.contains(id)) {
                    return Err(format!(
                        "exemplars {ids:?}, none among {} received traces",
                        received.len()
                    ));
                }
                // The log writer is non-blocking too: the line may reach the file after the
                // scrape that saw its exemplar.
                let logged = logged_trace_ids(&demo_log.log());
                if !ids
                    .iter()
                    .any(|id| received.contains(id) && logged.contains(id))
                {
                    return Err(format!(
                        "exemplars {ids:?}, none both received and among {} logged traces",
                        logged.len()
                    ));
                }
                Ok((ids, received))
            }
        },
    )
    .await;
    demo.0.assert_running();
    for id in &exemplars {
        assert!(
            id.len() == 32
                && id
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
            "exemplar trace id {id:?}"
        );
    }
    let logged = logged_trace_ids(&demo.0.log());
    let linked: Vec<&String> = exemplars
        .iter()
        .filter(|id| received.contains(id) && logged.contains(id))
        .collect();
    assert!(
        !linked.is_empty(),
        "no exemplar names a trace both received and logged: exemplars {exemplars:?}"
    );

    // A scraper that asks for the Prometheus text format gets it, exemplar-free and clean.
    let text = http
        .get(format!("{base}/metrics"))
        .header("accept", "text/plain;version=0.0.4")
        .send()
        .await
        .unwrap();
    assert!(
        text.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain"),
        "{:?}",
        text.headers()
    );
    let text = text.text().await.unwrap();
    assert!(!text.contains("# EOF") && !text.contains(" # {"), "{text}");
    let mut check = std::process::Command::new(&promtool)
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        check
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    let result = check.wait_with_output().unwrap();
    assert!(
        result.status.success(),
        "promtool check metrics: {}{}",
        String::from_utf8_lossy(&result.stdout),
        String::from_utf8_lossy(&result.stderr)
    );
}
