//! Request-ID validation: accepted exactly when the documented grammar allows (1 to
//! `REQUEST_ID_MAX_LEN` bytes of `A-Z a-z 0-9 - _ . :`); an accepted ID is echoed unchanged, a
//! rejected one is replaced by a fresh, valid ID and never becomes the request's.
#![no_main]

use libfuzzer_sys::fuzz_target;
use obs_service::RequestId;
use obs_service::catalogue::{REQUEST_ID_HEADER, REQUEST_ID_MAX_LEN, is_valid_request_id};

fn by_the_grammar(b: &[u8]) -> bool {
    (1..=REQUEST_ID_MAX_LEN).contains(&b.len())
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || b"-_.:".contains(c))
}

fuzz_target!(|data: &[u8]| {
    let valid = by_the_grammar(data);
    if let Ok(text) = std::str::from_utf8(data) {
        assert_eq!(is_valid_request_id(text), valid);
        match RequestId::parse(text) {
            Some(id) => {
                assert!(valid);
                assert_eq!(id.as_str(), text);
            }
            None => assert!(!valid),
        }
    }
    // What a request can carry: any bytes a header value allows.
    let Ok(header) = http::HeaderValue::from_bytes(data) else {
        return;
    };
    assert_eq!(RequestId::from_header(&header).is_some(), valid);
    let request = http::Request::builder()
        .header(REQUEST_ID_HEADER, header)
        .body(())
        .unwrap();
    let id = RequestId::from_request(&request);
    if valid {
        assert_eq!(id.as_str().as_bytes(), data);
    } else {
        assert_ne!(id.as_str().as_bytes(), data);
        assert!(by_the_grammar(id.as_str().as_bytes()));
    }
});
