//! Outgoing calls through the SDK's reqwest integration, from the demo's `GET /upstream`: the
//! call carries the request ID, is measured by server, status and error, never shows its URL's
//! path, query or credentials, and (with OTLP on) is a client span between the two server
//! spans of the call.

mod common;
mod receivers;

use std::io::Read as _;
use std::net::TcpListener;
use std::time::Duration;

async fn get(url: &str, request_id: &str) -> u16 {
    reqwest::Client::new()
        .get(url)
        .header("x-request-id", request_id)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn metrics(demo: &common::Demo) -> String {
    reqwest::get(demo.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

fn port_of(addr: &str) -> &str {
    addr.rsplit(':').next().unwrap()
}

#[tokio::test]
async fn a_call_carries_the_request_id_and_is_measured_by_server_and_status() {
    let demo = common::Demo::start(&[]);
    assert_eq!(get(&demo.url("/upstream"), "req-upstream-1").await, 200);
    // The call the demo made to its own /users/1 arrived with the caller's request ID.
    let inner = demo.wait_for_line("the upstream's access line", |l| {
        l["target"] == "obs::access" && l["path"] == "/users/1"
    });
    assert_eq!(inner["request_id"], "req-upstream-1");
    let text = metrics(&demo).await;
    let series = format!(
        "http_client_request_duration_seconds_count{{http_request_method=\"GET\",server_address=\"127.0.0.1\",server_port=\"{}\",http_response_status_code=\"200\"}} 1",
        port_of(&demo.addr)
    );
    assert!(
        text.lines().any(|l| l == series),
        "{series} missing:\n{text}"
    );
    // The runtime's counts come with every scrape.
    assert!(text.contains("\ntokio_runtime_workers "), "{text}");
    assert!(demo.terminate());
}

#[tokio::test]
async fn failed_calls_say_why_and_never_show_the_url() {
    // Refused: nothing listens there.
    let refusing = receivers::refusing_url();
    let refused_port = port_of(&refusing).to_owned();
    let url = format!(
        "http://user:hunter2@{}/secret-path?token=abc123",
        &refusing["http://".len()..]
    );
    let demo = common::Demo::start(&[("DEMO_UPSTREAM_URL", &url)]);
    assert_eq!(get(&demo.url("/upstream"), "req-refused").await, 503);
    demo.wait_for_line("the /upstream access line", |l| {
        l["target"] == "obs::access" && l["request_id"] == "req-refused"
    });
    let text = metrics(&demo).await;
    let series = format!(
        "http_client_request_duration_seconds_count{{http_request_method=\"GET\",server_address=\"127.0.0.1\",server_port=\"{refused_port}\",error_type=\"connect_error\"}} 1"
    );
    assert!(
        text.lines().any(|l| l == series),
        "{series} missing:\n{text}"
    );
    // Only the host and port are recorded; the error the demo logs names the URL without its
    // credentials and query.
    for secret in ["hunter2", "secret-path", "abc123"] {
        assert!(!text.contains(secret), "{secret} on /metrics");
    }
    for secret in ["hunter2", "abc123"] {
        assert!(
            demo.lines().iter().all(|l| !l.contains(secret)),
            "{secret} in a log line: {:#?}",
            demo.lines()
        );
    }
    assert!(demo.terminate());
}

#[tokio::test]
async fn a_call_without_an_answer_in_time_is_a_timeout() {
    // Accepts the connection and never answers: the demo gives up after its 5 s timeout.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in silent.incoming().flatten() {
            let mut stream = stream;
            let mut buf = [0u8; 1024];
            let _ = stream.set_read_timeout(Some(Duration::from_millis(100)));
            let _ = stream.read(&mut buf);
            held.push(stream);
        }
    });
    let demo = common::Demo::start(&[(
        "DEMO_UPSTREAM_URL",
        &format!("http://127.0.0.1:{port}/never"),
    )]);
    assert_eq!(get(&demo.url("/upstream"), "req-timeout").await, 503);
    let text = metrics(&demo).await;
    let series = format!(
        "http_client_request_duration_seconds_count{{http_request_method=\"GET\",server_address=\"127.0.0.1\",server_port=\"{port}\",error_type=\"timeout\"}} 1"
    );
    assert!(
        text.lines().any(|l| l == series),
        "{series} missing:\n{text}"
    );
    assert!(demo.terminate());
}

/// With OTLP on, the call is a client span: a child of the server span of `/upstream`, and the
/// parent of the server span of `/users/{id}` it reached, all in the caller's trace.
#[cfg(feature = "otlp")]
#[tokio::test]
async fn a_call_is_a_client_span_between_the_two_server_spans() {
    use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
    use receivers::{Mode, Receiver, hex, otlp_spans};

    const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const PARENT_ID: &str = "00f067aa0ba902b7";
    let receiver = Receiver::start(Mode::Accept);
    let demo = common::Demo::start(&[("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.url())]);
    let status = reqwest::Client::new()
        .get(demo.url("/upstream"))
        .header("traceparent", format!("00-{TRACE_ID}-{PARENT_ID}-01"))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);
    demo.wait_for_line("the /upstream access line", |l| {
        l["target"] == "obs::access" && l["path"] == "/upstream"
    });
    assert!(demo.terminate());
    let requests = receiver.wait_for("three spans of the trace", |r| {
        otlp_spans(r)
            .iter()
            .filter(|(_, s)| hex(&s.trace_id) == TRACE_ID)
            .count()
            >= 3
    });
    let spans: Vec<_> = otlp_spans(&requests)
        .into_iter()
        .map(|(_, s)| s)
        .filter(|s| hex(&s.trace_id) == TRACE_ID)
        .collect();
    let find = |name: &str, kind: SpanKind| {
        spans
            .iter()
            .find(|s| s.name == name && s.kind == kind as i32)
            .unwrap_or_else(|| panic!("no {kind:?} span {name}: {spans:#?}"))
    };
    let outer = find("GET /upstream", SpanKind::Server);
    let call = find("GET", SpanKind::Client);
    let inner = find("GET /users/{id}", SpanKind::Server);
    assert_eq!(hex(&outer.parent_span_id), PARENT_ID);
    assert_eq!(call.parent_span_id, outer.span_id);
    assert_eq!(inner.parent_span_id, call.span_id);
    let address = call
        .attributes
        .iter()
        .find(|a| a.key == "server.address")
        .and_then(|a| a.value.as_ref())
        .and_then(|v| v.value.clone());
    assert_eq!(
        address,
        Some(
            opentelemetry_proto::tonic::common::v1::any_value::Value::StringValue(
                "127.0.0.1".into()
            )
        )
    );
}
