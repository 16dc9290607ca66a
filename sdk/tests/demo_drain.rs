//! The demo drains on SIGTERM, as a pod must: readiness answers 503 `draining` while liveness
//! and every other route keep answering; after `OBS_SHUTDOWN_DRAIN` the server stops accepting,
//! a request that was in flight still completes, and the process exits cleanly.

mod common;

use std::time::Duration;

use common::Demo;

/// Long enough that the requests made while draining all land inside the window on a loaded
/// machine; the test waits on events (the 503, the log lines, the exit), never on this clock.
const DRAIN: &str = "6s";
/// The in-flight request outlasts the drain, so it is still running when accepting stops.
const SLOW_MS: u64 = 9_000;

/// A client without connection reuse: each request opens a new connection, as a new client
/// routed by a load balancer would.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_then_finishes_the_requests_in_flight() {
    let mut demo = Demo::start(&[("OBS_SHUTDOWN_DRAIN", DRAIN), ("OBS_LOG", "info")]);
    let http = client();
    let ready = http.get(demo.url("/health/ready")).send().await.unwrap();
    assert_eq!(ready.status(), 200, "ready before the signal");

    let in_flight = tokio::spawn(
        http.get(demo.url(&format!("/slow?ms={SLOW_MS}")))
            .timeout(Duration::from_secs(60))
            .send(),
    );
    // Wait until the server is handling the slow request: the active-requests gauge counts it
    // (no log line shows a request before it ends).
    let started = std::time::Instant::now();
    loop {
        let metrics = http
            .get(demo.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let active = common::sample(
            &metrics,
            "http_server_active_requests",
            &[("http_request_method", "GET")],
        )
        .unwrap_or(0.0);
        // The /metrics request itself counts as one.
        if active >= 2.0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the slow request never started"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    demo.send_sigterm();
    let started = std::time::Instant::now();
    let draining = loop {
        let r = http.get(demo.url("/health/ready")).send().await.unwrap();
        if r.status() == 503 {
            break r.json::<serde_json::Value>().await.unwrap();
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "readiness never failed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(draining["status"], "draining", "{draining}");
    assert!(draining["version"].is_string() && draining["timestamp"].is_string());

    // While draining: liveness is fine and the service serves.
    let live = http.get(demo.url("/health/live")).send().await.unwrap();
    assert_eq!(live.status(), 200);
    let user = http.get(demo.url("/users/7")).send().await.unwrap();
    assert_eq!(user.status(), 200);
    assert_eq!(user.json::<serde_json::Value>().await.unwrap()["id"], 7);
    let index = http.get(demo.url("/")).send().await.unwrap();
    assert_eq!(index.status(), 200);
    let again = http.get(demo.url("/health")).send().await.unwrap();
    assert_eq!(again.status(), 503, "/health answers as readiness does");
    // Those answers came inside the drain window: the drain had not ended yet.
    assert!(
        !demo
            .lines()
            .iter()
            .any(|l| l.contains("drained; no new connections")),
        "the drain window ended before the checks above; raise DRAIN"
    );

    demo.wait_for_line("that the drain ended", |v| {
        v["target"] == "obs::shutdown"
            && v["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("drained"))
    });
    // Accepting stops: a new connection is refused (the listener is closed) or closed unanswered.
    let started = std::time::Instant::now();
    loop {
        match http.get(demo.url("/")).send().await {
            Err(e) if e.is_connect() || e.is_request() => break,
            Err(e) => panic!("unexpected error after the drain: {e}"),
            Ok(_) => {
                assert!(
                    started.elapsed() < Duration::from_secs(10),
                    "the server kept accepting"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }

    // The request in flight still completes, then the process exits cleanly.
    let slow = in_flight
        .await
        .unwrap()
        .expect("the in-flight request completes");
    assert_eq!(slow.status(), 200);
    assert_eq!(
        slow.json::<serde_json::Value>().await.unwrap()["slept_ms"],
        SLOW_MS
    );
    let status = demo
        .wait_exit(Duration::from_secs(20))
        .expect("the demo exits");
    assert!(status.success(), "{status}");
    let lines = demo.lines();
    assert!(
        lines.iter().any(|l| l.contains("shutdown signal received")),
        "{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("\"message\":\"shut down\"")),
        "{lines:#?}"
    );
}
