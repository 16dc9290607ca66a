//! JSON string and number rendering for log lines.

/// Writes `value` as a JSON string. serde_json's escaping turns CR, LF, quotes and control
/// characters into escapes, so no value can end a line or forge a key.
///
/// Nearly every logged string (IDs, routes, messages) needs no escape at all; for those one
/// branch-free scan and one copy replace serde_json's byte-at-a-time table walk, which was the
/// largest single cost of a log line.
pub(crate) fn write_json_str(out: &mut Vec<u8>, value: &str) {
    let bytes = value.as_bytes();
    // A fold rather than `any`: without the early exit the compiler turns it into SIMD.
    let needs_escape = bytes.iter().fold(false, |acc, &b| {
        acc | (b < 0x20) | (b == b'"') | (b == b'\\')
    });
    if needs_escape {
        serde_json::to_writer(&mut *out, value).expect("writing to a Vec cannot fail");
    } else {
        out.reserve(bytes.len() + 2);
        out.push(b'"');
        out.extend_from_slice(bytes);
        out.push(b'"');
    }
}

/// Writes a number the way serde_json does (itoa and a shortest-round-trip float formatter),
/// without `core::fmt`'s machinery.
pub(super) fn write_json_number(out: &mut Vec<u8>, value: impl serde::Serialize) {
    serde_json::to_writer(&mut *out, &value).expect("writing to a Vec cannot fail");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_escaping_matches_serde_json() {
        let mut samples: Vec<String> = [
            "",
            "plain",
            "/users/{id}",
            "tab\there",
            "quote\"",
            "back\\slash",
            "nul\0",
            "line\nbreak\r",
            "del\u{7f}",
            "unicode é ✓ \u{2028}",
            "\u{1f}\u{20}",
        ]
        .map(String::from)
        .to_vec();
        // Every byte value below 0x80 at every position of a 40-byte string, so the vectorised
        // scan's main loop and its tail both see each one.
        for b in 0u8..0x80 {
            for pos in [0, 15, 16, 31, 32, 39] {
                let mut s = "x".repeat(40).into_bytes();
                s[pos] = b;
                samples.push(String::from_utf8(s).unwrap());
            }
        }
        for sample in samples {
            let mut ours = Vec::new();
            write_json_str(&mut ours, &sample);
            assert_eq!(
                String::from_utf8(ours).unwrap(),
                serde_json::to_string(&sample).unwrap(),
                "{sample:?}"
            );
        }
    }
}
