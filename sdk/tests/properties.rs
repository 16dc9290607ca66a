//! Property tests of the parsers and writers that face untrusted input: request-ID validation,
//! the JSON string escaper of the log lines, and (with Sentry) a caller's `traceparent` and
//! `sentry-trace` as the log lines show them. The parsers' own properties are unit tests
//! (`sentry_trace`, `otlp::context`). Modest case counts keep the normal test run fast; the fuzz
//! targets explore further (FUZZING.md).

use http::Request;
use obs_service::catalogue;
use obs_service::logging::{JsonLayer, MemoryWriter};
use obs_service::request_id::RequestId;
use proptest::prelude::*;
use tracing_subscriber::layer::SubscriberExt as _;

/// Strings near the edge of validity: mostly ID characters, with some of everything else.
fn id_like() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z0-9._:-]{0,140}",
        "[A-Za-z0-9 \"\\\\\r\n\t{}<>=%-]{0,40}",
        any::<String>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A value that passes validation is echoed unchanged; a rejected one is replaced by a
    /// fresh ID and never appears as the request's ID.
    #[test]
    fn request_ids_are_echoed_when_valid_and_replaced_when_not(value in id_like()) {
        let parsed = RequestId::parse(&value);
        prop_assert_eq!(parsed.is_some(), catalogue::is_valid_request_id(&value));
        if let Some(id) = &parsed {
            prop_assert_eq!(id.as_str(), value.as_str());
        }
        let Ok(header) = http::HeaderValue::from_str(&value) else {
            // Not even a header value: no request can carry it.
            return Ok(());
        };
        let request = Request::builder()
            .header(catalogue::REQUEST_ID_HEADER, header)
            .body(())
            .unwrap();
        let id = RequestId::from_request(&request);
        if parsed.is_some() {
            prop_assert_eq!(id.as_str(), value.as_str());
        } else {
            prop_assert_ne!(id.as_str(), value.as_str());
            prop_assert!(catalogue::is_valid_request_id(id.as_str()));
        }
    }

    /// Every string a service logs comes back unchanged when the line is parsed as JSON, and
    /// the line stays one line.
    #[test]
    fn escaped_strings_parse_back_to_the_original(
        message in any::<String>(),
        field in any::<String>(),
    ) {
        let writer = MemoryWriter::new();
        let subscriber = tracing_subscriber::registry().with(JsonLayer::new(writer.clone()));
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(value = field.as_str(), "{message}");
        });
        let contents = writer.contents();
        prop_assert_eq!(contents.matches('\n').count(), 1, "{:?}", contents);
        let line: serde_json::Value = serde_json::from_str(contents.trim_end()).unwrap();
        prop_assert_eq!(line["message"].as_str(), Some(message.as_str()));
        prop_assert_eq!(line["value"].as_str(), Some(field.as_str()));
    }
}

/// A caller's `traceparent` or `sentry-trace` as the request's log lines show it, with a Sentry
/// client bound: every line of the request names the trace of a valid header, and nothing of a
/// malformed one appears.
#[cfg(feature = "sentry")]
mod caller_trace {
    use std::sync::Arc;

    use axum::body::Body;
    use http::{Request, Response};
    use obs_service::HttpLayer;
    use obs_service::logging::{JsonLayer, MemoryWriter};
    use proptest::prelude::*;
    use tower::{Layer as _, ServiceExt as _};
    use tracing_subscriber::layer::SubscriberExt as _;

    /// The JSON lines one request through `HttpLayer` writes, with `header: value` on it.
    fn lines_of_request(header: &str, value: http::HeaderValue) -> Vec<serde_json::Value> {
        let mut options = sentry::ClientOptions::new();
        options.dsn = Some("https://public@sentry.invalid/1".parse().unwrap());
        options.transport = Some(Arc::new(Arc::new(sentry::test::TestTransport::new())));
        let client = sentry::Client::from(options);
        let hub = Arc::new(sentry::Hub::new(
            Some(Arc::new(client)),
            Arc::new(Default::default()),
        ));
        // The client is bound by hand, as `SentryReporter::client` allows: requests continue
        // callers' Sentry traces once asked to.
        let _propagating = obs_service::sentry::propagate();
        let writer = MemoryWriter::new();
        let subscriber = tracing_subscriber::registry().with(JsonLayer::new(writer.clone()));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        sentry::Hub::run(hub, || {
            tracing::subscriber::with_default(subscriber, || {
                let service = HttpLayer::without_metrics().layer(tower::service_fn(
                    |_: Request<Body>| async {
                        tracing::info!("handled");
                        Ok::<_, std::convert::Infallible>(Response::new(Body::empty()))
                    },
                ));
                let request = Request::get("/").header(header, value).body(Body::empty());
                runtime.block_on(async {
                    let response = service.oneshot(request.unwrap()).await.unwrap();
                    http_body_util::BodyExt::collect(response.into_body())
                        .await
                        .unwrap();
                });
            })
        });
        writer
            .contents()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn lower_hex_id(s: &str, len: usize) -> bool {
        s.len() == len
            && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
            && s.bytes().any(|b| b != b'0')
    }

    /// The trace id a valid value names, by the formats' grammar (written apart from the SDK).
    fn trace_of(header: &str, value: &str) -> Option<String> {
        let v = value.trim_matches([' ', '\t']);
        let fields: Vec<&str> = v.split('-').collect();
        let ok = match (header, fields.as_slice()) {
            ("sentry-trace", [t, s]) => lower_hex_id(t, 32) && lower_hex_id(s, 16),
            ("sentry-trace", [t, s, f]) => {
                lower_hex_id(t, 32) && lower_hex_id(s, 16) && matches!(*f, "0" | "1")
            }
            ("traceparent", [version, t, s, f, rest @ ..]) => {
                let hex2 = |x: &str| x.len() == 2 && u8::from_str_radix(x, 16).is_ok();
                version.bytes().all(|b| !b.is_ascii_uppercase())
                    && f.bytes().all(|b| !b.is_ascii_uppercase())
                    && hex2(version)
                    && *version != "ff"
                    && (rest.is_empty() || *version != "00")
                    && lower_hex_id(t, 32)
                    && lower_hex_id(s, 16)
                    && hex2(f)
            }
            _ => false,
        };
        ok.then(|| fields[usize::from(header == "traceparent")].to_owned())
    }

    fn header_value() -> impl Strategy<Value = (&'static str, String)> {
        let regex = |r: &str| proptest::string::string_regex(r).unwrap();
        let hex = |n: usize| format!("[0-9a-f]{{{}}}", n);
        let near_valid_sentry = format!("[ ]?({})-({})(-[012])?[ ]?", hex(32), hex(16));
        let near_valid_w3c = format!("(00|01|0A|ff)-({})-({})-(01|00|1)(-x)?", hex(32), hex(16));
        prop_oneof![
            regex(&near_valid_sentry).prop_map(|v| ("sentry-trace", v)),
            "[0-9a-f-]{40,55}\n?\\{?".prop_map(|v| ("sentry-trace", v)),
            regex(&near_valid_w3c).prop_map(|v| ("traceparent", v)),
            "[0-9a-fA-F-]{50,60}".prop_map(|v| ("traceparent", v)),
            any::<String>().prop_map(|v| ("traceparent", v)),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn valid_trace_headers_name_the_trace_and_malformed_ones_leave_no_trace(
            (header, value) in header_value(),
        ) {
            let Ok(header_value) = http::HeaderValue::from_str(&value) else {
                // Not a header value: no request can carry it.
                return Ok(());
            };
            let lines = lines_of_request(header, header_value);
            prop_assert!(lines.len() >= 2, "{:?}", lines);
            let expected = trace_of(header, &value);
            for line in &lines {
                prop_assert_eq!(line["trace_id"].as_str(), expected.as_deref(), "{}", line);
            }
            let trimmed = value.trim_matches([' ', '\t']);
            if expected.is_none() && trimmed.len() >= 8 {
                let text = lines.iter().map(|l| l.to_string()).collect::<String>();
                prop_assert!(!text.contains(trimmed), "{:?} appears in {}", trimmed, text);
            }
        }
    }
}
