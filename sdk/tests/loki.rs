//! Loki shipping against a stand-in receiver that decodes the real push format (snappy +
//! protobuf): labels, structured metadata, tenant header, flush on shutdown, the demo, and
//! lines identical to stdout's.
#![cfg(feature = "loki")]

mod common;
mod receivers;

use std::time::Duration;

use obs_service::loki::{LokiConfig, LokiLayer};
use obs_service::{Config, Metrics};
use receivers::{Mode, Receiver, loki_entries};
use tracing_subscriber::layer::SubscriberExt as _;

fn names(labels: &[(String, String)]) -> Vec<&str> {
    let mut names: Vec<&str> = labels.iter().map(|(k, _)| k.as_str()).collect();
    names.sort_unstable();
    names
}

#[test]
fn lines_arrive_with_three_labels_and_request_ids_as_structured_metadata() {
    let receiver = Receiver::start(Mode::Accept);
    let config = Config::new("billing").version("1.2.3").env("ci");
    let loki = LokiConfig::new(receiver.url()).tenant("team-a");
    let (layer, handle) = LokiLayer::new(&loki, &config, &Metrics::new()).unwrap();
    let subscriber = tracing_subscriber::registry().with(layer);
    tracing::subscriber::with_default(subscriber, || {
        let span = tracing::info_span!(
            target: "obs::request",
            "request",
            request_id = "req-42",
            method = "GET",
            route = "/users/{id}"
        );
        let _entered = span.enter();
        tracing::info!(user_id = 7, "looking up");
        tracing::error!(password = "hunter2", "lookup failed");
        tracing::warn!(target: "obs::export", "about exporting: never shipped");
    });
    assert!(handle.flush(Duration::from_secs(10)));
    let requests = receiver.wait_for("two entries", |r| loki_entries(r).len() >= 2);
    let entries = loki_entries(&requests);
    assert_eq!(entries.len(), 2, "{entries:#?}");
    for request in &requests {
        assert_eq!(request.headers["x-scope-orgid"], "team-a");
        assert_eq!(request.headers["content-type"], "application/x-protobuf");
    }
    let mut levels = Vec::new();
    for (labels, entry) in &entries {
        assert_eq!(names(labels), ["env", "level", "service"], "{labels:?}");
        let get = |k: &str| labels.iter().find(|(n, _)| n == k).unwrap().1.as_str();
        assert_eq!(get("service"), "billing");
        assert_eq!(get("env"), "ci");
        levels.push(get("level").to_owned());
        let line: serde_json::Value = serde_json::from_str(&entry.line).unwrap();
        assert_eq!(line["request_id"], "req-42");
        assert_eq!(line["level"], get("level"));
        assert_eq!(
            entry
                .structured_metadata
                .iter()
                .map(|p| (p.name.as_str(), p.value.as_str()))
                .collect::<Vec<_>>(),
            [("request_id", "req-42")]
        );
        assert!(entry.timestamp.unwrap().seconds > 1_700_000_000);
        assert!(!entry.line.contains("hunter2"));
    }
    levels.sort();
    assert_eq!(levels, ["ERROR", "INFO"]);
    assert_eq!((handle.sent(), handle.dropped()), (2, 0));
}

#[test]
fn the_demo_ships_its_lines_with_one_env_var_and_flushes_on_shutdown() {
    let receiver = Receiver::start(Mode::Accept);
    let demo = common::Demo::start(&[
        ("LOKI_URL", &receiver.url()),
        ("OBS_SERVICE_NAME", "demo-loki"),
        ("OBS_ENV", "ci"),
    ]);
    let id = request_id_of(&demo.url("/users/7"));
    let stdout = demo.lines.clone();
    // Terminating flushes what is still queued (batches otherwise leave every second).
    assert!(demo.terminate(), "the demo did not exit cleanly");
    let requests = receiver.wait_for("the access line", |r| {
        loki_entries(r)
            .iter()
            .any(|(_, e)| e.line.contains("request completed") && e.line.contains(id.as_str()))
    });
    let entries = loki_entries(&requests);
    let (labels, access) = entries
        .iter()
        .find(|(_, e)| e.line.contains("request completed") && e.line.contains(id.as_str()))
        .unwrap();
    assert_eq!(names(labels), ["env", "level", "service"]);
    assert!(labels.contains(&("service".into(), "demo-loki".into())));
    assert!(labels.contains(&("env".into(), "ci".into())));
    assert!(
        access
            .structured_metadata
            .iter()
            .any(|p| p.name == "request_id" && p.value == id)
    );
    assert!(
        entries
            .iter()
            .any(|(_, e)| e.line.contains("\"message\":\"listening\""))
    );

    // One rendering per event: every line Loki got is, byte for byte, a line of stdout, in
    // the same order, and its entry's timestamp is the line's own.
    let stdout = stdout.lock().unwrap().clone();
    let mut rest = stdout.iter();
    for (_, entry) in &entries {
        assert!(
            rest.any(|line| *line == entry.line),
            "Loki's copy is not a stdout line (or is out of order): {}\nstdout: {stdout:#?}",
            entry.line
        );
        let line: serde_json::Value = serde_json::from_str(&entry.line).unwrap();
        assert_eq!(
            millis_rfc3339(entry.timestamp.unwrap()),
            line["timestamp"].as_str().unwrap(),
            "{}",
            entry.line
        );
    }
    // And nothing the service logged about its requests was left out of Loki.
    let shipped: Vec<&str> = entries.iter().map(|(_, e)| e.line.as_str()).collect();
    for line in stdout.iter().filter(|l| l.contains(id.as_str())) {
        assert!(shipped.contains(&line.as_str()), "not shipped: {line}");
    }
}

/// A Loki entry timestamp as the JSON line writes time: RFC 3339, UTC, milliseconds.
fn millis_rfc3339(ts: receivers::Timestamp) -> String {
    let at = time::OffsetDateTime::from_unix_timestamp(ts.seconds).unwrap()
        + time::Duration::milliseconds(i64::from(ts.nanos / 1_000_000));
    at.format(time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    ))
    .unwrap()
}

/// GETs `url` on a runtime of its own and returns the response's request ID.
fn request_id_of(url: &str) -> String {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let res = reqwest::get(url).await.unwrap();
            assert_eq!(res.status(), 200);
            res.headers()["x-request-id"].to_str().unwrap().to_owned()
        })
}
