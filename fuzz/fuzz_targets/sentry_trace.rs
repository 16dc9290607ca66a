//! `sentry-trace` parsing: accepted exactly when the format allows (`{32 hex}-{16 hex}` and an
//! optional `-0`/`-1`, ids not zero, blanks around), and an accepted value is passed on
//! unchanged; a rejected one continues nothing.
#![no_main]

use libfuzzer_sys::fuzz_target;

fn id(s: &str, len: usize) -> bool {
    s.len() == len
        && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        && s.bytes().any(|b| b != b'0')
}

fn by_the_format(v: &str) -> bool {
    let fields: Vec<&str> = v.split('-').collect();
    match fields.as_slice() {
        [trace, span] => id(trace, 32) && id(span, 16),
        [trace, span, sampled] => id(trace, 32) && id(span, 16) && matches!(*sampled, "0" | "1"),
        _ => false,
    }
}

fuzz_target!(|value: &str| {
    let trimmed = value.trim_matches([' ', '\t']);
    let parsed = obs_service::fuzzing::parse_sentry_trace(value);
    assert_eq!(parsed.is_some(), by_the_format(trimmed), "{value:?}");
    if let Some(t) = parsed {
        assert_eq!(t.sentry_trace, trimmed);
        assert_eq!(t.trace_id, trimmed[..32]);
        assert_eq!(t.parent_span_id, trimmed[33..49]);
        assert_eq!(t.sampled, trimmed.get(50..).map(|s| s == "1"));
    }
});
