//! JSON string and number rendering for log lines.

/// Writes `value` as a JSON string. serde_json's escaping turns CR, LF, quotes and control
/// characters into escapes, so no value can end a line or forge a key.
///
/// Nearly every logged string (IDs, routes, messages) needs no escape at all; for those one
/// scan and one copy replace serde_json's byte-at-a-time table walk, which was the largest
/// single cost of a log line.
pub(crate) fn write_json_str(out: &mut Vec<u8>, value: &str) {
    let bytes = value.as_bytes();
    if needs_escape(bytes) {
        serde_json::to_writer(&mut *out, value).expect("writing to a Vec cannot fail");
    } else {
        write_json_str_unescaped(out, bytes);
    }
}

/// Writes `value`, which holds nothing JSON escapes (an ID, a method label), as a JSON string
/// without scanning it.
pub(super) fn write_json_str_unescaped(out: &mut Vec<u8>, value: &[u8]) {
    debug_assert!(!needs_escape(value), "{value:?} needs escaping");
    out.push(b'"');
    out.extend_from_slice(value);
    out.push(b'"');
}

/// Whether any byte of `bytes` is a control character, a quote or a backslash.
///
/// Eight bytes at a time, with the classic word tricks (a byte below `n`, a zero byte), where
/// the compiler left a plain byte loop scalar: logged strings are short (IDs, routes, paths),
/// so SIMD lanes of 16 or 32 bytes would mostly run their scalar tail anyway. Written out here
/// because `memchr` finds bytes from a set of at most three, not ranges.
fn needs_escape(bytes: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // The high bit of each byte of the result is set where a byte of `x` is zero (exact about
    // whether there is one, which is all that is asked).
    let has_zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    // Likewise for a byte below 0x20 (exact for any bound up to 0x80).
    let has_below_space = |x: u64| x.wrapping_sub(ONES * 0x20) & !x & HIGH;
    let word = |x: u64| {
        has_below_space(x)
            | has_zero(x ^ (ONES * u64::from(b'"')))
            | has_zero(x ^ (ONES * u64::from(b'\\')))
            != 0
    };
    let load = |chunk: &[u8]| u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
    if bytes.len() < 8 {
        return bytes.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\');
    }
    let mut chunks = bytes.chunks_exact(8);
    if chunks.by_ref().any(|chunk| word(load(chunk))) {
        return true;
    }
    // The tail as the last eight bytes, overlapping words already checked.
    !chunks.remainder().is_empty() && word(load(&bytes[bytes.len() - 8..]))
}

/// Writes an integer the way serde_json does, with the itoa it uses, without the serializer
/// around it.
pub(super) fn write_json_int(out: &mut Vec<u8>, value: impl itoa::Integer) {
    out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
}

/// Writes a finite float the way serde_json does: its shortest representation that reads back
/// as the same value (`0.106`, `5.0`).
///
/// Most floats in log lines are durations in milliseconds to the microsecond (the access
/// line's `duration_ms`), positive multiples of a thousandth. For those below 10⁹ no decimal
/// with fewer digits reads back as the same float (two multiples of 0.001 are further apart
/// than the float's precision there), so the shortest representation is the thousandths
/// themselves with trailing zeros dropped, written with two integer conversions instead of
/// the general shortest-representation search. Every other value takes serde_json's path.
pub(super) fn write_json_f64(out: &mut Vec<u8>, value: f64) {
    let thousandths = (value * 1000.0).round();
    if (1.0..1e12).contains(&thousandths) && thousandths / 1000.0 == value {
        write_thousandths(out, thousandths as u64);
    } else {
        serde_json::to_writer(&mut *out, &value).expect("writing to a Vec cannot fail");
    }
}

/// Writes whole microseconds as the milliseconds `micros as f64 / 1000.0` that serde_json would
/// write (`0.106`, `5.0`), without the float: the division is exact to the nearest float,
/// which below 10⁹ ms is the one the thousandths name (see [`write_json_f64`]).
pub(super) fn write_json_millis(out: &mut Vec<u8>, micros: u64) {
    if micros < 1_000_000_000_000 {
        write_thousandths(out, micros);
    } else {
        write_json_f64(out, crate::exchange::offer::millis(micros));
    }
}

/// `thousandths / 1000` as a decimal with at least one and at most three decimals.
///
/// Digits by hand into one stack buffer, copied out once: through itoa the integer part and
/// the decimals were two copies into the line, which cost more than the digits for the
/// one- to four-digit values durations are.
fn write_thousandths(out: &mut Vec<u8>, thousandths: u64) {
    let mut whole = thousandths / 1000;
    let frac = (thousandths % 1000) as u32;
    let digits = whole.checked_ilog10().unwrap_or(0) as usize + 1;
    // 20 digits of a u64, the point and three decimals, written from the left into a buffer
    // of fixed size that is copied whole and then cut to length: a copy whose length the
    // compiler knows is a few moves, where one of the digits' length is a call to `memcpy`.
    let mut buf = [0u8; 24];
    for slot in buf[..digits].iter_mut().rev() {
        *slot = b'0' + (whole % 10) as u8;
        whole /= 10;
    }
    buf[digits] = b'.';
    buf[digits + 1] = b'0' + (frac / 100) as u8;
    buf[digits + 2] = b'0' + (frac / 10 % 10) as u8;
    buf[digits + 3] = b'0' + (frac % 10) as u8;
    // `5.0`, `5.1`, `5.12`, `5.123`: at least one decimal, as serde_json writes.
    let kept = match frac {
        f if f % 100 == 0 => 1,
        f if f % 10 == 0 => 2,
        _ => 3,
    };
    let end = out.len() + digits + 1 + kept;
    out.extend_from_slice(&buf);
    out.truncate(end);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A repeatable stream of values spread over every bit width.
    fn xorshift(mut x: u64) -> impl FnMut() -> u64 {
        move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        }
    }

    fn ours(write: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        write(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn floats_are_written_as_serde_json_writes_them() {
        let mut samples = vec![
            0.0,
            -0.0,
            0.001,
            0.01,
            0.1,
            0.106,
            0.19,
            1.0,
            5.0,
            5.1,
            5.12,
            5.123,
            10.0,
            100.0,
            999.999,
            1000.0,
            123_456.789,
            999_999_999.999,
            1e9,
            1e12,
            1e15,
            1e16,
            1e17,
            1e-4,
            1e-5,
            1e-7,
            0.0005,
            0.0015,
            1.0005,
            -1.5,
            -0.106,
            0.1 + 0.2,
            1.0 / 3.0,
            f64::MIN_POSITIVE,
            f64::MAX,
            f64::MIN,
            f64::EPSILON,
        ];
        // Durations as the HTTP layer computes them (whole microseconds over 1 000), across
        // every scale, and their neighbours one float away, which are not whole thousandths.
        let mut random = xorshift(0x9e37_79b9_7f4a_7c15);
        for _ in 0..200_000 {
            let x = random();
            let micros = x >> (x % 60);
            let ms = micros as f64 / 1000.0;
            samples.extend([
                ms,
                f64::from_bits(ms.to_bits() + 1),
                f64::from_bits(ms.to_bits().saturating_sub(1)),
            ]);
        }
        for value in samples {
            assert_eq!(
                ours(|out| write_json_f64(out, value)),
                serde_json::to_string(&value).unwrap(),
                "{value:e}"
            );
        }
    }

    #[test]
    fn microseconds_are_written_as_serde_json_writes_their_milliseconds() {
        let mut samples: Vec<u64> = (0..200_000).collect();
        samples.extend([
            999_999_999_999,
            1_000_000_000_000,
            1_000_000_000_001,
            u64::MAX / 2,
            u64::MAX,
        ]);
        // Every scale, past the fast path's bound too.
        let mut random = xorshift(0x2545_f491_4f6c_dd1d);
        for _ in 0..200_000 {
            let x = random();
            samples.push(x >> (x % 64));
        }
        for micros in samples {
            assert_eq!(
                ours(|out| write_json_millis(out, micros)),
                serde_json::to_string(&(micros as f64 / 1000.0)).unwrap(),
                "{micros}"
            );
        }
    }

    #[test]
    fn integers_are_written_as_serde_json_writes_them() {
        for value in [
            0i64,
            1,
            -1,
            9,
            10,
            99,
            100,
            200,
            404,
            503,
            i64::MAX,
            i64::MIN,
        ] {
            assert_eq!(
                ours(|out| write_json_int(out, value)),
                serde_json::to_string(&value).unwrap()
            );
        }
        assert_eq!(
            ours(|out| write_json_int(out, u64::MAX)),
            serde_json::to_string(&u64::MAX).unwrap()
        );
        assert_eq!(
            ours(|out| write_json_int(out, u128::MAX)),
            serde_json::to_string(&u128::MAX).unwrap()
        );
        assert_eq!(
            ours(|out| write_json_int(out, i128::MIN)),
            serde_json::to_string(&i128::MIN).unwrap()
        );
    }

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
        // Every byte value below 0x80 at every position of strings of every length up to 40,
        // so the word-at-a-time scan's whole words, its overlapping tail and the byte loop of
        // short strings all see each one.
        for len in 1..=40 {
            for b in 0u8..0x80 {
                for pos in 0..len {
                    let mut s = "x".repeat(len).into_bytes();
                    s[pos] = b;
                    samples.push(String::from_utf8(s).unwrap());
                }
            }
        }
        // Bytes of multi-byte characters around the special ones (the high bit set).
        samples.push("é\"ü\\✓\u{1}".repeat(3));
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
