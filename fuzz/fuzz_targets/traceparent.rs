//! W3C `traceparent` parsing: accepted exactly when the spec's grammar allows, and then the ids
//! and sampled flag are the ones written in the value; nothing of a rejected value is read.
#![no_main]

use libfuzzer_sys::fuzz_target;

fn lower_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn nonzero(s: &str) -> bool {
    s.bytes().any(|b| b != b'0')
}

/// The grammar of the spec (version-format `00`, and the rule for later versions), written
/// independently of the SDK's parser.
fn by_the_spec(v: &str) -> bool {
    let Some((version, rest)) = v.split_once('-') else {
        return false;
    };
    if !lower_hex(version, 2) || version == "ff" {
        return false;
    }
    let mut fields = rest.splitn(4, '-');
    let (Some(trace), Some(span), Some(flags)) = (fields.next(), fields.next(), fields.next())
    else {
        return false;
    };
    let tail = fields.next();
    // Header values are visible ASCII, so the SDK refuses anything else anywhere.
    v.is_ascii()
        && lower_hex(trace, 32)
        && nonzero(trace)
        && lower_hex(span, 16)
        && nonzero(span)
        && lower_hex(flags, 2)
        && (tail.is_none() || version != "00")
}

fuzz_target!(|value: &str| {
    let trimmed = value.trim_matches([' ', '\t']);
    let parsed = obs_service::fuzzing::parse_traceparent(value);
    assert_eq!(parsed.is_some(), by_the_spec(trimmed), "{value:?}");
    if let Some(t) = parsed {
        assert_eq!(t.trace_id, trimmed[3..35]);
        assert_eq!(t.parent_span_id, trimmed[36..52]);
        let flags = u8::from_str_radix(&trimmed[53..55], 16).unwrap();
        assert_eq!(t.sampled, Some(flags & 1 == 1));
        // Passed on to Sentry as the ids alone, rendered anew.
        assert_eq!(
            t.sentry_trace,
            format!("{}-{}-{}", t.trace_id, t.parent_span_id, flags & 1)
        );
    }
});
