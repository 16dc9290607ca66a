//! The demo service over real HTTP: health endpoints against the real PostgreSQL and Redis,
//! safe error bodies for `/fail` and `/panic`, the audit log of `POST /items`.
//!
//! PostgreSQL (127.0.0.1:5432, trust auth, database `test`) and Redis (127.0.0.1:6379) must be
//! running; `bash .ci/run deps` starts them. With CI=true a missing server fails the test.

mod common;

use common::{Demo, sample};
use obs_service::catalogue;

const PASSWORD: &str = "demo-pw-91c2e";

fn client() -> reqwest::Client {
    reqwest::Client::builder().build().unwrap()
}

/// Whether the server at `addr` answers; in CI a missing server fails the test.
fn require_server(name: &str, addr: &str) -> bool {
    let addr = addr.parse().unwrap();
    match std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(2)) {
        Ok(_) => true,
        Err(e) if obs_tests::in_ci() => panic!(
            "{name} does not answer on {addr} ({e}); .ci/run starts it (CI=true, so this fails instead of skipping)"
        ),
        Err(e) => {
            eprintln!(
                "\n!!! SKIPPING: {name} does not answer on {addr} ({e}). Run `bash .ci/run deps`. !!!\n"
            );
            false
        }
    }
}

fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn get_json(demo: &Demo, path: &str) -> (u16, serde_json::Value) {
    let res = client().get(demo.url(path)).send().await.unwrap();
    let status = res.status().as_u16();
    assert_eq!(res.headers()["content-type"], "application/json", "{path}");
    (status, res.json().await.unwrap())
}

#[tokio::test]
async fn readiness_checks_the_real_database_redis_and_disk() {
    if !require_server("PostgreSQL", "127.0.0.1:5432") || !require_server("Redis", "127.0.0.1:6379")
    {
        return;
    }
    let demo = Demo::start(&[
        ("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test"),
        ("REDIS_URL", "redis://127.0.0.1:6379"),
        ("OBS_SERVICE_VERSION", "9.8.7"),
    ]);
    let (status, live) = get_json(&demo, "/health/live").await;
    assert_eq!(status, 200);
    assert_eq!(live["status"], "ok");
    assert_eq!(live["version"], "9.8.7");

    for path in ["/health/ready", "/health"] {
        let (status, body) = get_json(&demo, path).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["status"], "ok", "{body}");
        assert_eq!(body["version"], "9.8.7");
        assert!(body["uptime_seconds"].is_u64());
        assert_eq!(body["checks"]["postgres"]["status"], "ok", "{body}");
        assert_eq!(body["checks"]["postgres"]["critical"], true);
        assert_eq!(body["checks"]["redis"]["status"], "ok", "{body}");
        assert_eq!(body["checks"]["redis"]["critical"], false);
        assert_eq!(body["checks"]["disk"]["status"], "ok", "{body}");
    }

    let text = client()
        .get(demo.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let status = catalogue::HEALTH_CHECK_STATUS.name;
    assert_eq!(
        sample(
            &text,
            status,
            &[("check", "postgres"), ("critical", "true")]
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, status, &[("check", "redis"), ("critical", "false")]),
        Some(1.0)
    );
    assert!(text.contains("# TYPE obs_health_check_duration_seconds histogram"));
    // Probes stay out of the access log.
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(
        !demo
            .json_lines()
            .iter()
            .any(|l| l["target"] == catalogue::ACCESS_LOG_TARGET
                && l["path"]
                    .as_str()
                    .unwrap_or_default()
                    .starts_with("/health")),
        "health probes reached the access log"
    );
}

#[tokio::test]
async fn an_unreachable_database_takes_the_service_down_without_leaking_its_password() {
    let port = closed_port();
    let dsn = format!("postgres://app:{PASSWORD}@127.0.0.1:{port}/app");
    let redis = format!("redis://:{PASSWORD}@127.0.0.1:{port}/0");
    let demo = Demo::start(&[("DATABASE_URL", &dsn), ("REDIS_URL", &redis)]);
    let (status, body) = get_json(&demo, "/health/ready").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "down");
    assert_eq!(body["checks"]["postgres"]["status"], "down");
    assert_eq!(body["checks"]["redis"]["status"], "down");
    let error = body["checks"]["postgres"]["error"].as_str().unwrap();
    assert!(error.contains("refused"), "{error}");
    assert!(!body.to_string().contains(PASSWORD), "{body}");

    // Liveness does not depend on the database.
    let (status, _) = get_json(&demo, "/health/live").await;
    assert_eq!(status, 200);

    let warning = demo.wait_for_line("readiness warning", |l| {
        l["message"] == "readiness check failed" && l["check"] == "postgres"
    });
    assert_eq!(warning["level"], "WARN");
    assert_eq!(warning["target"], obs_service::health::HEALTH_LOG_TARGET);
    let all = demo.lines().join("\n");
    assert!(!all.contains(PASSWORD), "the password reached the log");
}

#[tokio::test]
async fn non_critical_failures_only_degrade() {
    let redis = format!("redis://127.0.0.1:{}", closed_port());
    // More free space than any disk has: the disk check fails too.
    let demo = Demo::start(&[("REDIS_URL", &redis), ("DISK_MIN_FREE_MB", "1000000000000")]);
    let (status, body) = get_json(&demo, "/health").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "degraded");
    assert_eq!(body["checks"]["redis"]["status"], "down");
    let disk = body["checks"]["disk"]["error"].as_str().unwrap();
    assert!(disk.contains("below the minimum"), "{disk}");
    assert!(
        body["checks"].get("postgres").is_none(),
        "no DATABASE_URL, no check"
    );
}

#[tokio::test]
async fn fail_and_panic_answer_with_the_same_safe_shape() {
    let demo = Demo::start(&[]);
    let c = client();
    let mut ids = Vec::new();
    for path in ["/fail", "/panic"] {
        let res = c.get(demo.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 500, "{path}");
        let id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
        let raw = res.text().await.unwrap();
        let body: serde_json::Value = serde_json::from_str(&raw).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"error": {"code": "internal", "message": "internal server error", "request_id": id}}),
            "{path}"
        );
        assert!(
            !raw.contains("db-primary") && !raw.contains("simulated"),
            "{raw}"
        );
        ids.push(id);
    }
    // The service survived the panic.
    assert_eq!(c.get(demo.url("/")).send().await.unwrap().status(), 200);

    let failed = demo.wait_for_line("ERROR line of /fail", |l| {
        l["level"] == "ERROR" && l["request_id"] == ids[0].as_str()
    });
    assert_eq!(
        failed["error"],
        "loading the report: simulated failure: db-primary:5432 refused the connection"
    );
    // The panic is one JSON line, from the process hook, instead of stderr text; the
    // catch-panic layer that answers 500 adds none of its own.
    let hook_line = demo.wait_for_line("the panic's own line", |l| {
        l["target"] == obs_service::panic::PANIC_LOG_TARGET && l["request_id"] == ids[1].as_str()
    });
    assert_eq!(hook_line["level"], "ERROR");
    assert_eq!(hook_line["panic"], "simulated panic in a handler");
    let location = hook_line["location"].as_str().unwrap_or_default();
    assert!(location.contains("demo.rs:"), "{hook_line}");
    let access = demo.wait_for_line("access line of /panic", |l| {
        l["target"] == catalogue::ACCESS_LOG_TARGET && l["request_id"] == ids[1].as_str()
    });
    assert_eq!(access["status"], 500);
    assert_eq!(access["route"], "/panic");
    let errors = demo
        .json_lines()
        .into_iter()
        .filter(|l| l["level"] == "ERROR" && l["request_id"] == ids[1].as_str())
        .count();
    assert_eq!(errors, 1, "one ERROR line per panic");

    let text = c
        .get(demo.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        sample(
            &text,
            "http_server_request_duration_seconds_count",
            &[
                ("http_route", "/panic"),
                ("http_response_status_code", "500")
            ]
        ),
        Some(1.0),
        "{text}"
    );
}

#[tokio::test]
async fn post_items_is_audited_and_forwarded_for_needs_a_trusted_proxy() {
    for (trusted, expected_ip) in [("", "127.0.0.1"), ("127.0.0.1", "198.51.100.23")] {
        let demo = Demo::start(&[("DEMO_TRUSTED_PROXIES", trusted)]);
        let c = client();
        let res = c
            .post(demo.url("/items"))
            .header("x-user-id", "u-7")
            .header("x-forwarded-for", "198.51.100.23")
            .json(&serde_json::json!({"name": "lamp"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        let id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
        c.get(demo.url("/users/1")).send().await.unwrap();

        let audit = demo.wait_for_line("audit line", |l| {
            l["target"] == catalogue::AUDIT_LOG_TARGET && l["request_id"] == id.as_str()
        });
        assert_eq!(audit["user_id"], "u-7");
        assert_eq!(audit["method"], "POST");
        assert_eq!(audit["route"], "/items");
        assert_eq!(audit["status"], 201);
        assert_eq!(
            audit["client_ip"], expected_ip,
            "trusted proxies: {trusted:?}"
        );
        assert_eq!(audit["service"], "demo");
        // Reads are not audited.
        demo.wait_for_line("access line of the GET", |l| {
            l["target"] == catalogue::ACCESS_LOG_TARGET && l["path"] == "/users/1"
        });
        let audited = demo
            .json_lines()
            .into_iter()
            .filter(|l| l["target"] == catalogue::AUDIT_LOG_TARGET)
            .count();
        assert_eq!(audited, 1);
    }
}
