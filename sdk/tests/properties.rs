//! Property tests of the parsers and writers that face untrusted input: request-ID validation
//! and the JSON string escaper of the log lines. Modest case counts keep the normal test run
//! fast; the fuzz targets explore further.

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
