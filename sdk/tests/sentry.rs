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
    // One event per panic too, whichever part saw it first (Sentry's panic hook, the
    // catch-panic layer's line, the completion hooks, the 500 it became).
    let for_panic: Vec<_> = sentry_events(&requests)
        .into_iter()
        .filter(|e| {
            e["tags"]["request_id"] == panic_id.as_str()
                || e.to_string().contains("simulated panic")
        })
        .collect();
    assert_eq!(for_panic.len(), 1, "{for_panic:#?}");
    assert_eq!(for_panic[0]["tags"]["request_id"], panic_id.as_str());
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

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID: &str = "00f067aa0ba902b7";

/// The envelope items of type `kind` so far.
fn items(receiver: &Receiver, kind: &str) -> Vec<serde_json::Value> {
    receiver
        .requests()
        .iter()
        .flat_map(|r| receivers::decode_envelope(&r.body).1)
        .filter(|item| item.header["type"] == kind)
        .map(|item| item.payload)
        .collect()
}

/// Every log line of the request `id`, once its access line is written.
fn lines_of(demo: &common::Demo, id: &str) -> Vec<serde_json::Value> {
    demo.wait_for_line("the access line", |l| {
        l["request_id"] == id && l["message"] == "request completed"
    });
    demo.json_lines()
        .into_iter()
        .filter(|l| l["request_id"] == id)
        .collect()
}

#[tokio::test]
async fn an_incoming_sentry_trace_is_continued_by_events_transactions_and_logs() {
    let receiver = Receiver::start(Mode::Accept);
    let dsn = format!("http://publickey@{}/42", receiver.addr);
    let demo = common::Demo::start(&[("SENTRY_DSN", &dsn), ("SENTRY_TRACES_SAMPLE_RATE", "1")]);
    let (status, id) = get(
        &demo.url("/fail"),
        &[
            ("sentry-trace", &format!("{TRACE_ID}-{PARENT_ID}-1")),
            (
                "baggage",
                &format!("sentry-trace_id={TRACE_ID},sentry-sampled=true"),
            ),
        ],
    )
    .await;
    assert_eq!(status, 500);

    let event = event_of(&receiver, &id);
    assert_eq!(
        event["contexts"]["trace"]["trace_id"], TRACE_ID,
        "{event:#}"
    );
    let transaction = {
        receiver.wait_for("the request's transaction", |_| {
            !items(&receiver, "transaction").is_empty()
        });
        items(&receiver, "transaction").remove(0)
    };
    let trace = &transaction["contexts"]["trace"];
    assert_eq!(trace["trace_id"], TRACE_ID, "{transaction:#}");
    assert_eq!(trace["parent_span_id"], PARENT_ID, "{transaction:#}");

    let lines = lines_of(&demo, &id);
    assert!(
        lines.len() >= 2,
        "the error line and the access line: {lines:#?}"
    );
    for line in &lines {
        assert_eq!(line["trace_id"], TRACE_ID, "{line}");
        assert!(line.get("sentry.trace").is_none(), "{line}");
    }
    assert!(demo.terminate());
}

#[tokio::test]
async fn traceparent_wins_and_malformed_headers_start_a_fresh_trace() {
    let receiver = Receiver::start(Mode::Accept);
    let dsn = format!("http://publickey@{}/42", receiver.addr);
    let demo = common::Demo::start(&[("SENTRY_DSN", &dsn)]);

    // Both headers, naming different traces: the W3C one is joined.
    let other = "11111111111111111111111111111111";
    let (_, both) = get(
        &demo.url("/fail"),
        &[
            ("traceparent", &format!("00-{TRACE_ID}-{PARENT_ID}-01")),
            ("sentry-trace", &format!("{other}-{PARENT_ID}-1")),
        ],
    )
    .await;
    let event = event_of(&receiver, &both);
    assert_eq!(
        event["contexts"]["trace"]["trace_id"], TRACE_ID,
        "{event:#}"
    );
    assert_eq!(event["contexts"]["trace"]["parent_span_id"], PARENT_ID);
    for line in lines_of(&demo, &both) {
        assert_eq!(line["trace_id"], TRACE_ID, "{line}");
    }

    // A forged value: not continued, not logged, no panic.
    let forged = format!("{TRACE_ID}-{PARENT_ID}-1\",\"level\":\"FORGED");
    let (status, bad) = get(
        &demo.url("/fail"),
        &[
            ("sentry-trace", &forged),
            ("baggage", "sentry-sampled=maybe,,"),
        ],
    )
    .await;
    assert_eq!(status, 500);
    let event = event_of(&receiver, &bad);
    assert_ne!(
        event["contexts"]["trace"]["trace_id"], TRACE_ID,
        "{event:#}"
    );
    for line in lines_of(&demo, &bad) {
        assert!(line.get("trace_id").is_none(), "{line}");
    }
    let all = demo.lines().join("\n");
    assert!(!all.contains("FORGED"), "the raw header reached the log");
    assert!(demo.terminate());
}

#[cfg(feature = "otlp")]
#[tokio::test]
async fn with_otlp_too_the_opentelemetry_span_continues_a_sentry_trace() {
    use receivers::{hex, otlp_spans};
    let sentry = Receiver::start(Mode::Accept);
    let collector = Receiver::start(Mode::Accept);
    let dsn = format!("http://publickey@{}/42", sentry.addr);
    let demo = common::Demo::start(&[
        ("SENTRY_DSN", &dsn),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &collector.url()),
    ]);
    let (_, id) = get(
        &demo.url("/fail"),
        &[("sentry-trace", &format!("{TRACE_ID}-{PARENT_ID}"))],
    )
    .await;
    let event = event_of(&sentry, &id);
    assert_eq!(
        event["contexts"]["trace"]["trace_id"], TRACE_ID,
        "{event:#}"
    );
    for line in lines_of(&demo, &id) {
        assert_eq!(line["trace_id"], TRACE_ID, "{line}");
    }
    assert!(demo.terminate());
    let requests = collector.wait_for("the request span", |r| {
        otlp_spans(r)
            .iter()
            .any(|(_, s)| hex(&s.trace_id) == TRACE_ID)
    });
    let spans = otlp_spans(&requests);
    let (_, span) = spans
        .iter()
        .find(|(_, s)| hex(&s.trace_id) == TRACE_ID && s.name == "GET /fail")
        .expect("the request span in the browser's trace");
    assert_eq!(hex(&span.parent_span_id), PARENT_ID);
}

/// Answers 200 to every request and keeps the headers of each.
fn header_recorder() -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{Read as _, Write as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/recorded", listener.local_addr().unwrap());
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let keep = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                head.push(byte[0]);
            }
            keep.lock()
                .unwrap()
                .push(String::from_utf8_lossy(&head).to_lowercase());
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        }
    });
    (url, seen)
}

/// With Sentry and OTLP both on, a request that came without trace headers is one trace: its
/// OpenTelemetry span, its Sentry transaction and its log lines name the same trace id, and its
/// outgoing call passes that trace on as `traceparent`, `sentry-trace` and `baggage`.
#[cfg(feature = "otlp")]
#[tokio::test]
async fn sentry_and_otlp_share_one_trace_and_pass_it_on() {
    use receivers::{hex, otlp_spans};
    let sentry = Receiver::start(Mode::Accept);
    let collector = Receiver::start(Mode::Accept);
    let (upstream, seen) = header_recorder();
    let dsn = format!("http://publickey@{}/42", sentry.addr);
    let demo = common::Demo::start(&[
        ("SENTRY_DSN", &dsn),
        ("SENTRY_TRACES_SAMPLE_RATE", "1"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &collector.url()),
        ("DEMO_UPSTREAM_URL", &upstream),
    ]);
    let (status, id) = get(&demo.url("/upstream"), &[]).await;
    assert_eq!(status, 200);
    let lines = lines_of(&demo, &id);
    let trace = lines[0]["trace_id"].as_str().unwrap().to_owned();
    assert_eq!(trace.len(), 32, "{lines:#?}");
    for line in &lines {
        assert_eq!(line["trace_id"], trace.as_str(), "{line}");
    }

    // The call passed the trace on, in all three headers.
    let head = seen
        .lock()
        .unwrap()
        .first()
        .cloned()
        .expect("the upstream was called");
    let header = |name: &str| {
        head.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")))
            .unwrap_or_else(|| panic!("no {name} in:\n{head}"))
            .trim()
            .to_owned()
    };
    assert!(
        header("traceparent").starts_with(&format!("00-{trace}-")),
        "{head}"
    );
    assert!(
        header("sentry-trace").starts_with(&format!("{trace}-")),
        "{head}"
    );
    assert!(
        header("baggage").contains(&format!("sentry-trace_id={trace}")),
        "{head}"
    );
    assert!(
        header("baggage").contains("sentry-public_key=publickey"),
        "{head}"
    );

    // Sentry's transaction and the exported span are in that trace.
    sentry.wait_for("the request's transaction", |_| {
        items(&sentry, "transaction").iter().any(|t| {
            t["transaction"] == "GET /upstream"
                || t["contexts"]["trace"]["trace_id"] == trace.as_str()
        })
    });
    let transaction = items(&sentry, "transaction")
        .into_iter()
        .find(|t| t["contexts"]["trace"]["trace_id"] == trace.as_str())
        .unwrap_or_else(|| {
            panic!(
                "no transaction in {trace}: {:#?}",
                items(&sentry, "transaction")
            )
        });
    assert!(transaction["contexts"]["trace"]["trace_id"] == trace.as_str());
    assert!(demo.terminate());
    let requests = collector.wait_for("the request span", |r| {
        otlp_spans(r).iter().any(|(_, s)| hex(&s.trace_id) == trace)
    });
    assert!(
        otlp_spans(&requests)
            .iter()
            .any(|(_, s)| hex(&s.trace_id) == trace && s.name == "GET /upstream"),
        "the server span of /upstream is in the trace"
    );
}
