//! The demo service over real HTTP: response headers, `/metrics` and the JSON lines it writes.

mod common;

use common::{Demo, sample};
use obs_service::catalogue;

fn client() -> reqwest::Client {
    reqwest::Client::builder().build().unwrap()
}

async fn metrics_text(demo: &Demo) -> String {
    let res = client().get(demo.url("/metrics")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    res.text().await.unwrap()
}

#[tokio::test]
async fn request_ids_are_kept_when_valid_and_replaced_when_not() {
    let demo = Demo::start(&[]);
    let res = client()
        .get(demo.url("/users/7"))
        .header("x-request-id", "edge-abc.123")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "edge-abc.123");

    let evil = "x\"injected";
    let res = client()
        .get(demo.url("/users/7"))
        .header("x-request-id", evil)
        .send()
        .await
        .unwrap();
    let replaced = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_ne!(replaced, evil);
    assert!(catalogue::is_valid_request_id(&replaced));

    let long = "a".repeat(500);
    let res = client()
        .get(demo.url("/"))
        .header("x-request-id", &long)
        .send()
        .await
        .unwrap();
    assert_ne!(res.headers()["x-request-id"], long.as_str());

    demo.wait_for_line("access line of the replaced id", |v| {
        v["request_id"] == replaced.as_str() && v["target"] == catalogue::ACCESS_LOG_TARGET
    });
    let all = demo.lines().join("\n");
    assert!(
        !all.contains("injected"),
        "a malformed request id reached the log"
    );
    assert!(
        !all.contains(&long),
        "a malformed request id reached the log"
    );
}

#[tokio::test]
async fn every_line_of_a_request_carries_its_id_and_one_access_line_is_written() {
    let demo = Demo::start(&[("OBS_SERVICE_NAME", "demo-test"), ("OBS_ENV", "ci")]);
    let res = client().get(demo.url("/users/42")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let id = res.headers()["x-request-id"].to_str().unwrap().to_owned();

    let access = demo.wait_for_line("access line", |v| {
        v["target"] == catalogue::ACCESS_LOG_TARGET && v["request_id"] == id.as_str()
    });
    assert_eq!(access["method"], "GET");
    assert_eq!(access["route"], "/users/{id}");
    assert_eq!(access["path"], "/users/42");
    assert_eq!(access["status"], 200);
    assert!(access["duration_ms"].as_f64().unwrap() >= 0.0);
    assert_eq!(access["level"], "INFO");

    let handler = demo.wait_for_line("handler line", |v| v["message"] == "looking up user");
    assert_eq!(handler["request_id"], id.as_str());
    assert_eq!(handler["user_id"], "42");
    for line in demo.json_lines() {
        for field in catalogue::LOG_FIELDS.iter().filter(|f| f.always) {
            assert!(
                line.get(field.name).is_some(),
                "{} missing from {line}",
                field.name
            );
        }
        assert_eq!(line["service"], "demo-test");
        assert_eq!(line["env"], "ci");
    }
    let access_lines = demo
        .json_lines()
        .into_iter()
        .filter(|v| v["target"] == catalogue::ACCESS_LOG_TARGET && v["request_id"] == id.as_str())
        .count();
    assert_eq!(access_lines, 1);

    // The SDK's own endpoints stay out of the access log.
    metrics_text(&demo).await;
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(!demo.json_lines().iter().any(|v| v["path"] == "/metrics"));
}

#[tokio::test]
async fn red_metrics_use_route_templates_and_bounded_labels() {
    let demo = Demo::start(&[]);
    let c = client();
    for id in 0..20 {
        c.get(demo.url(&format!("/users/{id}")))
            .send()
            .await
            .unwrap();
    }
    assert_eq!(c.get(demo.url("/fail")).send().await.unwrap().status(), 500);
    c.post(demo.url("/items"))
        .json(&serde_json::json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    c.request(
        reqwest::Method::from_bytes(b"PURGE").unwrap(),
        demo.url("/"),
    )
    .send()
    .await
    .unwrap();
    c.get(demo.url("/no/such/path")).send().await.unwrap();

    let text = metrics_text(&demo).await;
    let count = "http_server_request_duration_seconds_count";
    let route = catalogue::labels::HTTP_ROUTE;
    let method = catalogue::labels::HTTP_REQUEST_METHOD;
    let status = catalogue::labels::HTTP_RESPONSE_STATUS_CODE;
    assert_eq!(
        sample(
            &text,
            count,
            &[(route, "/users/{id}"), (method, "GET"), (status, "200")]
        ),
        Some(20.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, count, &[(route, "/fail"), (status, "500")]),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &text,
            count,
            &[(route, "/items"), (method, "POST"), (status, "201")]
        ),
        Some(1.0)
    );
    assert_eq!(sample(&text, count, &[(method, "_OTHER")]), Some(1.0));
    assert_eq!(
        sample(
            &text,
            count,
            &[(route, catalogue::UNMATCHED_ROUTE), (status, "404")]
        ),
        Some(1.0)
    );
    assert!(!text.contains("/users/3"), "raw path leaked into a label");
    assert!(!text.contains("/no/such/path"));
    assert!(text.contains("# TYPE http_server_request_duration_seconds histogram"));
    assert_eq!(
        sample(
            &text,
            "http_server_active_requests",
            &[(method, "GET"), (catalogue::labels::URL_SCHEME, "http")]
        ),
        Some(1.0),
        "only the /metrics request itself is in flight"
    );
    assert!(
        sample(&text, "obs_build_info", &[("service", "demo")]).is_some(),
        "{text}"
    );
    assert!(sample(&text, "process_resident_memory_bytes", &[]).unwrap() > 0.0);

    // Every catalogue metric that a plain service always exposes is there with its type.
    for m in catalogue::METRICS
        .iter()
        .filter(|m| matches!(m.group, catalogue::Group::Http | catalogue::Group::Build))
    {
        assert!(
            text.contains(&format!("# TYPE {} {}", m.name, m.kind)),
            "{} missing",
            m.name
        );
    }
}

#[tokio::test]
async fn a_flood_of_random_paths_adds_no_series() {
    let demo = Demo::start(&[]);
    let c = client();
    c.get(demo.url("/nothing-here")).send().await.unwrap();
    let series = |text: &str| text.lines().filter(|l| !l.starts_with('#')).count();
    // The first scrape records its own /metrics series; count from the second on.
    metrics_text(&demo).await;
    let before = series(&metrics_text(&demo).await);
    for i in 0..500 {
        let path = format!("/scan/{i}/{}?q={i}", "x".repeat(i % 50));
        c.get(demo.url(&path)).send().await.unwrap();
    }
    let long_path = format!("/{}", "a%0A".repeat(4000));
    c.get(demo.url(&long_path)).send().await.unwrap();
    let after = series(&metrics_text(&demo).await);
    assert_eq!(before, after, "random paths created series");
}

#[tokio::test]
async fn hostile_requests_do_not_break_the_service_or_the_log() {
    let demo = Demo::start(&[]);
    let c = client();
    // Past hyper's header limit: refused (431) or the connection closed, never a 5xx or a crash.
    let huge = "h".repeat(1_000_000);
    if let Ok(res) = c.get(demo.url("/")).header("x-big", &huge).send().await {
        assert!(!res.status().is_server_error(), "{}", res.status());
    }
    // Percent-encoded CR/LF and quotes in the path reach the log only escaped.
    let res = c
        .get(demo.url("/users/%0d%0a%22forged%22"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    demo.wait_for_line("access line", |v| {
        v["request_id"] == id.as_str() && v["target"] == catalogue::ACCESS_LOG_TARGET
    });
    // Every line is still one JSON object, and the service still answers.
    demo.json_lines();
    assert_eq!(c.get(demo.url("/")).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn a_client_that_goes_away_leaves_no_active_request_behind() {
    let demo = Demo::start(&[]);
    let c = reqwest::Client::builder()
        .timeout(std::time::Duration::from_millis(100))
        .build()
        .unwrap();
    for _ in 0..5 {
        assert!(c.get(demo.url("/slow?ms=2000")).send().await.is_err());
    }
    // The handlers are cancelled when the connections close.
    let mut active = None;
    for _ in 0..50 {
        let text = metrics_text(&demo).await;
        active = sample(
            &text,
            "http_server_active_requests",
            &[("http_request_method", "GET")],
        );
        if active == Some(1.0) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(active, Some(1.0), "only the scrape itself may be in flight");
}

#[tokio::test]
async fn metrics_pass_promtool_check_metrics() {
    let Some(promtool) = obs_tests::require_tool("promtool") else {
        return;
    };
    let demo = Demo::start(&[]);
    let c = client();
    c.get(demo.url("/users/1")).send().await.unwrap();
    c.get(demo.url("/fail")).send().await.unwrap();
    let text = metrics_text(&demo).await;
    let mut child = std::process::Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics failed:\n{}{}\n---\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn sigterm_shuts_down_cleanly_and_flushes_the_log() {
    let demo = Demo::start(&[]);
    client().get(demo.url("/")).send().await.unwrap();
    let lines = demo.lines.clone();
    assert!(demo.terminate(), "demo did not exit cleanly on SIGTERM");
    std::thread::sleep(std::time::Duration::from_millis(100));
    let lines = lines.lock().unwrap();
    assert!(
        lines.iter().any(|l| l.contains("\"shut down\"")),
        "{lines:?}"
    );
}
