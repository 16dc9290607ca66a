//! Sentry reporting from the demo, against a stand-in receiver that parses the real envelope
//! format: one env var turns it on; 5xx answers and panics arrive tagged with `request_id`,
//! `route` and `method`, with release and environment, and without sensitive values.
#![cfg(feature = "sentry")]

mod common;
mod receivers;

use receivers::{Mode, Receiver, sentry_events};

async fn get(url: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let mut request = reqwest::Client::new().get(url);
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let res = request.send().await.unwrap();
    let id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    (res.status().as_u16(), id)
}

fn event_of(receiver: &Receiver, request_id: &str) -> serde_json::Value {
    let requests = receiver.wait_for("an event for the request", |r| {
        sentry_events(r)
            .iter()
            .any(|e| e["tags"]["request_id"] == request_id)
    });
    sentry_events(&requests)
        .into_iter()
        .find(|e| e["tags"]["request_id"] == request_id)
        .unwrap()
}

#[tokio::test]
async fn server_errors_and_panics_reach_sentry_tagged_and_redacted() {
    let receiver = Receiver::start(Mode::Accept);
    let dsn = format!("http://publickey@{}/42", receiver.addr);
    let demo = common::Demo::start(&[("SENTRY_DSN", &dsn), ("OBS_ENV", "ci")]);

    let (status, id) = get(
        &demo.url("/fail"),
        &[
            ("authorization", "Bearer supersecret-token"),
            ("cookie", "session=supersecret-cookie"),
        ],
    )
    .await;
    assert_eq!(status, 500);
    let event = event_of(&receiver, &id);
    assert_eq!(event["tags"]["route"], "/fail");
    assert_eq!(event["tags"]["method"], "GET");
    assert_eq!(event["environment"], "ci");
    let release = event["release"].as_str().unwrap();
    assert!(release.starts_with("demo@"), "{release}");
    // `level` is left out when it is the default, `error`.
    assert!(
        event["level"].is_null() || event["level"] == "error",
        "{event:#}"
    );

    let (status, panic_id) = get(&demo.url("/panic"), &[]).await;
    assert_eq!(status, 500);
    let panic = event_of(&receiver, &panic_id);
    assert_eq!(panic["tags"]["route"], "/panic");
    assert_eq!(panic["tags"]["method"], "GET");
    assert!(panic.to_string().contains("simulated panic"), "{panic:#}");

    let requests = receiver.requests();
    for request in &requests {
        assert!(
            request.path.ends_with("/api/42/envelope/"),
            "{}",
            request.path
        );
        let auth = request.headers["x-sentry-auth"].to_str().unwrap();
        assert!(auth.contains("sentry_key=publickey"), "{auth}");
        let body = String::from_utf8_lossy(&request.body);
        assert!(
            !body.contains("supersecret"),
            "a secret reached Sentry: {body}"
        );
    }
    // One event per failed request: the error log line of /fail is the report, the 5xx hook
    // does not add a second one.
    let for_fail = sentry_events(&requests)
        .into_iter()
        .filter(|e| e["tags"]["request_id"] == id.as_str())
        .count();
    assert_eq!(for_fail, 1);
    assert!(demo.terminate());
}

#[tokio::test]
async fn without_the_variable_nothing_is_sent() {
    let receiver = Receiver::start(Mode::Accept);
    let demo = common::Demo::start(&[]);
    let (status, _) = get(&demo.url("/fail"), &[]).await;
    assert_eq!(status, 500);
    assert!(demo.terminate());
    assert!(receiver.requests().is_empty());
}
