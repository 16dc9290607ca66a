//! OTLP traces from the demo, against stand-in collectors that decode the real protobuf (over
//! HTTP and over gRPC): the incoming `traceparent` is continued, and the `trace_id` and
//! `span_id` of the JSON log lines match the exported span.
#![cfg(feature = "otlp")]

mod common;
mod receivers;

use std::time::Duration;

use opentelemetry_proto::tonic::common::v1::any_value::Value::StringValue;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use receivers::{GrpcReceiver, Mode, Receiver, hex, otlp_spans};

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID: &str = "00f067aa0ba902b7";

async fn get_traced(url: &str) -> String {
    let res = reqwest::Client::new()
        .get(url)
        .header("traceparent", format!("00-{TRACE_ID}-{PARENT_ID}-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.headers()["x-request-id"].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn http_export_continues_the_callers_trace_and_logs_carry_its_ids() {
    let receiver = Receiver::start(Mode::Accept);
    let demo = common::Demo::start(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.url()),
        ("OBS_SERVICE_NAME", "demo-traced"),
    ]);
    let id = get_traced(&demo.url("/users/7")).await;
    let access = demo.wait_for_line("the access line", |v| {
        v["request_id"] == id.as_str() && v["target"] == "obs::access"
    });
    let handler_line = demo.wait_for_line("the handler's line", |v| {
        v["request_id"] == id.as_str() && v["message"] == "looking up user"
    });
    assert!(demo.terminate());

    let requests = receiver.wait_for("the request span", |r| {
        otlp_spans(r)
            .iter()
            .any(|(_, s)| hex(&s.trace_id) == TRACE_ID)
    });
    for request in &requests {
        assert_eq!(request.headers["content-type"], "application/x-protobuf");
    }
    let spans = otlp_spans(&requests);
    let (service, span) = spans
        .iter()
        .find(|(_, s)| hex(&s.trace_id) == TRACE_ID && s.name == "GET /users/{id}")
        .expect("the request span, named by the semantic conventions");
    assert_eq!(service, "demo-traced");
    assert_eq!(hex(&span.parent_span_id), PARENT_ID);
    assert_eq!(span.kind, SpanKind::Server as i32);
    let attribute = |key: &str| {
        span.attributes
            .iter()
            .find(|a| a.key == key)
            .and_then(|a| a.value.as_ref())
            .and_then(|v| v.value.clone())
    };
    assert_eq!(attribute("request_id"), Some(StringValue(id.clone())));
    assert_eq!(attribute("route"), Some(StringValue("/users/{id}".into())));
    // The tracer's instructions are not exported as attributes, nor logged.
    assert!(span.attributes.iter().all(|a| !a.key.starts_with("otel.")));
    for line in [&access, &handler_line] {
        assert!(
            line.as_object()
                .unwrap()
                .keys()
                .all(|k| !k.starts_with("otel.")),
            "{line}"
        );
    }
    for line in [&access, &handler_line] {
        assert_eq!(line["trace_id"], TRACE_ID, "{line}");
        assert_eq!(line["span_id"], hex(&span.span_id).as_str(), "{line}");
    }
}

#[tokio::test]
async fn grpc_export_with_one_more_variable() {
    let collector = GrpcReceiver::start();
    let demo = common::Demo::start(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &collector.url()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
    ]);
    let id = get_traced(&demo.url("/")).await;
    let access = demo.wait_for_line("the access line", |v| {
        v["request_id"] == id.as_str() && v["target"] == "obs::access"
    });
    assert!(demo.terminate());
    let spans = collector.wait_for("the request span", |spans| {
        spans
            .iter()
            .any(|(_, s)| hex(&s.trace_id) == TRACE_ID && s.name == "GET /")
    });
    let (service, span) = spans
        .iter()
        .find(|(_, s)| hex(&s.trace_id) == TRACE_ID && s.name == "GET /")
        .unwrap();
    assert_eq!(service, "demo");
    assert_eq!(access["span_id"], hex(&span.span_id).as_str());
}

#[tokio::test]
async fn a_request_without_traceparent_starts_a_trace_and_sampling_off_exports_nothing() {
    let receiver = Receiver::start(Mode::Accept);
    let demo = common::Demo::start(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.url()),
        ("OTEL_TRACES_SAMPLER", "always_off"),
    ]);
    let res = reqwest::get(demo.url("/")).await.unwrap();
    let id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    let access = demo.wait_for_line("the access line", |v| {
        v["request_id"] == id.as_str() && v["target"] == "obs::access"
    });
    // Not sampled, yet the logs still carry a fresh trace id.
    let trace_id = access["trace_id"].as_str().unwrap();
    assert_eq!(trace_id.len(), 32);
    assert_ne!(trace_id, TRACE_ID);
    assert!(demo.terminate());
    std::thread::sleep(Duration::from_millis(200));
    assert!(otlp_spans(&receiver.requests()).is_empty());
}

#[tokio::test]
async fn outgoing_calls_carry_the_current_traceparent() {
    use obs_service::request_id::PropagateRequestIdLayer;
    use tower::{Layer as _, Service as _, ServiceExt as _};
    use tracing_subscriber::layer::SubscriberExt as _;

    let receiver = Receiver::start(Mode::Accept);
    let config = obs_service::Config::new("client");
    let pipeline = obs_service::otlp::OtlpPipeline::new(
        &obs_service::otlp::OtlpConfig::new(receiver.url()),
        &config,
        &obs_service::Metrics::new(),
    )
    .unwrap();
    let subscriber = tracing_subscriber::registry().with(pipeline.layer());
    let _default = tracing::subscriber::set_default(subscriber);
    let client = tower::service_fn(|req: http::Request<()>| async move {
        Ok::<_, std::convert::Infallible>(req.headers().get("traceparent").cloned())
    });
    let mut client = PropagateRequestIdLayer.layer(client);
    let span = tracing::info_span!("outer");
    let sent = {
        let _entered = span.enter();
        client
            .ready()
            .await
            .unwrap()
            .call(http::Request::new(()))
            .await
            .unwrap()
    };
    let sent = sent.expect("a traceparent").to_str().unwrap().to_owned();
    drop(span);
    assert!(pipeline.flush(Duration::from_secs(10)));
    let spans = otlp_spans(&receiver.wait_for("the span", |r| !otlp_spans(r).is_empty()));
    let (_, outer) = spans.iter().find(|(_, s)| s.name == "outer").unwrap();
    assert_eq!(
        sent,
        format!("00-{}-{}-01", hex(&outer.trace_id), hex(&outer.span_id))
    );
}

#[tokio::test]
async fn a_server_error_fails_its_span_and_an_unmatched_path_is_named_by_its_method() {
    let receiver = Receiver::start(Mode::Accept);
    let demo = common::Demo::start(&[("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.url())]);
    let client = reqwest::Client::new();
    for (path, status) in [("/fail", 500), ("/no/such/path", 404), ("/users/7", 200)] {
        let res = client
            .get(demo.url(path))
            .header("traceparent", format!("00-{TRACE_ID}-{PARENT_ID}-01"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), status, "{path}");
    }
    // The last request's access line is written after its span ends; by then the earlier
    // spans are queued for export too.
    demo.wait_for_line("the last access line", |v| {
        v["target"] == "obs::access" && v["path"] == "/users/7"
    });
    assert!(demo.terminate());
    let requests = receiver.wait_for("three request spans", |r| {
        otlp_spans(r)
            .iter()
            .filter(|(_, s)| hex(&s.trace_id) == TRACE_ID)
            .count()
            >= 3
    });
    let spans = otlp_spans(&requests);
    let status_of = |name: &str| {
        let (_, span) = spans
            .iter()
            .find(|(_, s)| hex(&s.trace_id) == TRACE_ID && s.name == name)
            .unwrap_or_else(|| panic!("no span named {name:?}"));
        span.status.as_ref().map_or(0, |s| s.code)
    };
    assert_eq!(status_of("GET /fail"), StatusCode::Error as i32);
    assert_ne!(
        status_of("GET"),
        StatusCode::Error as i32,
        "a 404 is the client's error"
    );
    assert_ne!(status_of("GET /users/{id}"), StatusCode::Error as i32);
}
