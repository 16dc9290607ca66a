//! Readiness checks against the real PostgreSQL and Redis on this machine, over real HTTP.
//!
//! PostgreSQL must answer on 127.0.0.1:5432 (trust auth, user `postgres`, database `test`) and
//! Redis on 127.0.0.1:6379; `bash .ci/run deps` starts both. With CI=true a missing server fails
//! the test; on a developer machine it skips with a loud message.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use obs_service::Metrics;
use obs_service::health::{
    CheckFuture, DiskCheck, Health, HealthCheck, HttpCheck, PostgresCheck, RedisCheck, Status,
};
use tokio::net::TcpListener;

const PG_ADDR: &str = "127.0.0.1:5432";
const REDIS_ADDR: &str = "127.0.0.1:6379";
/// Trust auth ignores the password, so the healthy checks carry one too: it must never show.
const PASSWORD: &str = "s3cret-pw-7f3a";

fn pg_url(port: u16) -> String {
    format!("postgres://postgres:{PASSWORD}@127.0.0.1:{port}/test?connect_timeout=10")
}

/// Redis here has no password (it would refuse an `AUTH`), so only failing checks carry one.
fn redis_url(port: u16) -> String {
    if port == 6379 {
        format!("redis://127.0.0.1:{port}/0")
    } else {
        format!("redis://:{PASSWORD}@127.0.0.1:{port}/0")
    }
}

/// Whether the server at `addr` answers; in CI a missing server fails the test.
fn require_server(name: &str, addr: &str) -> bool {
    match std::net::TcpStream::connect_timeout(&addr.parse().unwrap(), Duration::from_secs(2)) {
        Ok(_) => true,
        Err(e) if obs_tests::in_ci() => {
            panic!(
                "{name} does not answer on {addr} ({e}); .ci/run starts it (CI=true, so this fails instead of skipping)"
            )
        }
        Err(e) => {
            eprintln!(
                "\n!!! SKIPPING: {name} does not answer on {addr} ({e}). Run `bash .ci/run deps`. !!!\n"
            );
            false
        }
    }
}

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A server that accepts connections and never says a word.
async fn black_hole() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    port
}

async fn serve(app: axum::Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

async fn get_json(url: &str) -> (u16, serde_json::Value) {
    let res = reqwest::get(url).await.unwrap();
    let status = res.status().as_u16();
    assert_eq!(res.headers()["content-type"], "application/json");
    (status, res.json().await.unwrap())
}

fn assert_no_password(report: &serde_json::Value) {
    let text = report.to_string();
    assert!(!text.contains(PASSWORD), "the password leaked: {text}");
}

#[tokio::test]
async fn healthy_postgres_and_redis_over_http() {
    if !require_server("PostgreSQL", PG_ADDR) || !require_server("Redis", REDIS_ADDR) {
        return;
    }
    let metrics = Metrics::new();
    let health = Health::new("3.1.4")
        .metrics(&metrics)
        .check("postgres", PostgresCheck::new(&pg_url(5432)).unwrap())
        .check("redis", RedisCheck::new(&redis_url(6379)).unwrap())
        .check(
            "disk",
            DiskCheck::new(".").min_free_bytes(1).min_free_ratio(0.0),
        );
    let addr = serve(health.router()).await;

    for path in ["/health/ready", "/health"] {
        let (status, body) = get_json(&format!("http://{addr}{path}")).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["status"], "ok", "{body}");
        assert_eq!(body["version"], "3.1.4");
        assert!(body["uptime_seconds"].is_u64());
        assert!(body["timestamp"].as_str().unwrap().ends_with('Z'));
        for check in ["postgres", "redis", "disk"] {
            let c = &body["checks"][check];
            assert_eq!(c["status"], "ok", "{check}: {body}");
            assert_eq!(c["critical"], true);
            assert!(c["latency_ms"].as_f64().unwrap() >= 0.0);
            assert!(c.get("error").is_none(), "{body}");
        }
    }
    let (status, live) = get_json(&format!("http://{addr}/health/live")).await;
    assert_eq!((status, &live["status"]), (200, &serde_json::json!("ok")));

    metrics.run_upkeep();
    let text = metrics.render();
    for check in ["postgres", "redis", "disk"] {
        assert!(
            text.contains(&format!(
                "obs_health_check_status{{check=\"{check}\",critical=\"true\"}} 1"
            )),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "obs_health_check_duration_seconds_count{{check=\"{check}\"}} 2"
            )),
            "{text}"
        );
    }
}

#[tokio::test]
async fn unreachable_dependencies_fail_without_leaking_the_password() {
    let port = closed_port();
    let metrics = Metrics::new();
    let health = Health::new("1.0.0")
        .metrics(&metrics)
        .check("postgres", PostgresCheck::new(&pg_url(port)).unwrap())
        .check("redis", RedisCheck::new(&redis_url(port)).unwrap())
        .critical(false);
    let addr = serve(health.router()).await;
    let (status, body) = get_json(&format!("http://{addr}/health/ready")).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "down");
    let pg = &body["checks"]["postgres"];
    assert_eq!(pg["status"], "down");
    let error = pg["error"].as_str().unwrap();
    assert!(error.starts_with("connecting to PostgreSQL"), "{error}");
    assert!(error.to_lowercase().contains("refused"), "{error}");
    let redis = &body["checks"]["redis"];
    assert_eq!(
        (&redis["status"], &redis["critical"]),
        (&"down".into(), &false.into())
    );
    assert!(
        redis["error"]
            .as_str()
            .unwrap()
            .starts_with("connecting to Redis"),
        "{body}"
    );
    assert_no_password(&body);

    // Liveness touches nothing: still 200.
    let (status, _) = get_json(&format!("http://{addr}/health/live")).await;
    assert_eq!(status, 200);

    metrics.run_upkeep();
    let text = metrics.render();
    assert!(
        text.contains(r#"obs_health_check_status{check="postgres",critical="true"} 0"#),
        "{text}"
    );
    assert!(
        text.contains(r#"obs_health_check_status{check="redis",critical="false"} 0"#),
        "{text}"
    );
}

#[tokio::test]
async fn only_a_non_critical_failure_degrades() {
    if !require_server("PostgreSQL", PG_ADDR) {
        return;
    }
    let health = Health::new("1.0.0")
        .check("postgres", PostgresCheck::new(&pg_url(5432)).unwrap())
        .check("redis", RedisCheck::new(&redis_url(closed_port())).unwrap())
        .critical(false);
    let addr = serve(health.router()).await;
    let (status, body) = get_json(&format!("http://{addr}/health")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "degraded");
    assert_eq!(body["checks"]["postgres"]["status"], "ok");
    assert_eq!(body["checks"]["redis"]["status"], "down");
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let port = black_hole().await;
    let health = Health::new("1.0.0")
        .check("postgres", PostgresCheck::new(&pg_url(port)).unwrap())
        .timeout(Duration::from_millis(300))
        .check("redis", RedisCheck::new(&redis_url(port)).unwrap())
        .timeout(Duration::from_millis(400))
        .check(
            "http",
            HttpCheck::new(&format!("http://user:{PASSWORD}@127.0.0.1:{port}/health")).unwrap(),
        )
        .timeout(Duration::from_millis(500));
    let start = Instant::now();
    let report = health.ready().await;
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(500) && took < Duration::from_millis(1500),
        "the checks ran concurrently, each until its own timeout: {took:?}"
    );
    assert_eq!(report.status, Status::Down);
    assert_eq!(
        report.checks["postgres"].error.as_deref(),
        Some("timed out after 300ms")
    );
    assert_eq!(
        report.checks["redis"].error.as_deref(),
        Some("timed out after 400ms")
    );
    assert_eq!(
        report.checks["http"].error.as_deref(),
        Some("timed out after 500ms")
    );
    assert!(report.checks["postgres"].latency_ms >= 300.0);
    assert!(report.checks["postgres"].latency_ms < 1000.0);
}

/// Wraps a check and counts how often it really runs.
struct Counted<C> {
    inner: C,
    calls: Arc<AtomicUsize>,
}

impl<C: HealthCheck> HealthCheck for Counted<C> {
    fn check(&self) -> CheckFuture<'_> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.check()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_probe_storm_runs_the_real_checks_once_per_interval() {
    if !require_server("PostgreSQL", PG_ADDR) || !require_server("Redis", REDIS_ADDR) {
        return;
    }
    let pg_calls = Arc::new(AtomicUsize::new(0));
    let redis_calls = Arc::new(AtomicUsize::new(0));
    let interval = Duration::from_secs(5);
    let health = Health::new("1.0.0")
        .cache_for(interval)
        .check(
            "postgres",
            Counted {
                inner: PostgresCheck::new(&pg_url(5432)).unwrap(),
                calls: pg_calls.clone(),
            },
        )
        .check(
            "redis",
            Counted {
                inner: RedisCheck::new(&redis_url(6379)).unwrap(),
                calls: redis_calls.clone(),
            },
        );
    let addr = serve(health.router()).await;
    let client = reqwest::Client::new();

    let storm = |n: usize| {
        let client = client.clone();
        async move {
            let mut probes = tokio::task::JoinSet::new();
            for i in 0..n {
                let client = client.clone();
                let path = if i % 2 == 0 {
                    "/health/ready"
                } else {
                    "/health"
                };
                probes.spawn(async move {
                    let res = client
                        .get(format!("http://{addr}{path}"))
                        .send()
                        .await
                        .unwrap();
                    let status = res.status().as_u16();
                    let body: serde_json::Value = res.json().await.unwrap();
                    (status, body["timestamp"].as_str().unwrap().to_owned())
                });
            }
            let mut timestamps = std::collections::HashSet::new();
            while let Some(probe) = probes.join_next().await {
                let (status, timestamp) = probe.unwrap();
                assert_eq!(status, 200);
                timestamps.insert(timestamp);
            }
            timestamps
        }
    };

    let start = Instant::now();
    let timestamps = storm(200).await;
    assert!(
        start.elapsed() < interval,
        "the storm outlasted the interval"
    );
    assert_eq!(
        pg_calls.load(Ordering::SeqCst),
        1,
        "PostgreSQL was hit more than once"
    );
    assert_eq!(
        redis_calls.load(Ordering::SeqCst),
        1,
        "Redis was hit more than once"
    );
    assert_eq!(timestamps.len(), 1, "every probe got the one shared report");

    // The cached report is now older than the interval.
    tokio::time::sleep(interval + Duration::from_millis(200)).await;
    storm(50).await;
    assert_eq!(
        pg_calls.load(Ordering::SeqCst),
        2,
        "a stale report runs the checks again"
    );
    assert_eq!(redis_calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn http_dependency_check() {
    use axum::routing::get;
    let upstream = serve(
        axum::Router::new()
            .route("/ok", get(|| async { "fine" }))
            .route(
                "/broken",
                get(|| async { (http::StatusCode::INTERNAL_SERVER_ERROR, "no") }),
            ),
    )
    .await;
    let health = Health::new("1")
        .check(
            "ok",
            HttpCheck::new(&format!("http://{upstream}/ok")).unwrap(),
        )
        .check(
            "broken",
            HttpCheck::new(&format!("http://u:{PASSWORD}@{upstream}/broken")).unwrap(),
        )
        .check(
            "closed",
            HttpCheck::new(&format!("http://u:{PASSWORD}@127.0.0.1:{}/", closed_port())).unwrap(),
        );
    let report = health.ready().await;
    assert_eq!(report.checks["ok"].status, Status::Ok);
    let broken = report.checks["broken"].error.as_deref().unwrap();
    assert!(
        broken.ends_with("answered 500 Internal Server Error"),
        "{broken}"
    );
    let closed = report.checks["closed"].error.as_deref().unwrap();
    assert!(
        closed.starts_with("GET http://u:[REDACTED]@127.0.0.1:"),
        "{closed}"
    );
    assert_no_password(&serde_json::to_value(&*report).unwrap());
}

/// A server that accepts connections, never answers, and counts the connections.
async fn counting_black_hole() -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            held.push(socket);
        }
    });
    (port, accepted)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_that_time_out_against_a_hung_database_open_one_connection_per_interval() {
    let (port, connections) = counting_black_hole().await;
    let health = Health::new("1.0.0")
        .cache_for(Duration::from_secs(30))
        .check("postgres", PostgresCheck::new(&pg_url(port)).unwrap())
        .timeout(Duration::from_millis(1500));
    let addr = serve(health.router()).await;
    // An orchestrator whose probe timeout is shorter than the check's.
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    let mut probes = tokio::task::JoinSet::new();
    for _ in 0..40 {
        let client = impatient.clone();
        probes.spawn(async move {
            client
                .get(format!("http://{addr}/health/ready"))
                .send()
                .await
        });
    }
    while let Some(probe) = probes.join_next().await {
        assert!(probe.unwrap().is_err(), "the probe should have timed out");
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        connections.load(Ordering::SeqCst),
        1,
        "40 timed-out probes opened more than one database connection"
    );
    // The run finishes (its own timeout) and the next probe gets its report.
    let (status, body) = get_json(&format!("http://{addr}/health/ready")).await;
    assert_eq!(status, 503);
    assert_eq!(body["checks"]["postgres"]["error"], "timed out after 1.5s");
    assert_eq!(connections.load(Ordering::SeqCst), 1);
}
