//! Numbers as Prometheus's text parser reads them: Go's `strconv.ParseFloat` and `ParseInt`,
//! which differ from Rust's `str::parse` at the edges (`1e400` is an error in Go and infinity
//! in Rust; `+NaN` is refused by Go and read by Rust).

/// A sample value or an `le`/`quantile` bound: Go's `strconv.ParseFloat(s, 64)` without `p`,
/// `P` or `_` (the text parser refuses those before asking Go).
pub(super) fn parse_float(s: &str) -> Option<f64> {
    if s.contains(['p', 'P', '_']) {
        return None;
    }
    let (negative, body) = match s.as_bytes().first() {
        Some(b'+') => (false, &s[1..]),
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    // Go's special values: `inf` or `infinity` with or without a sign, `nan` only without
    // one; ASCII letters in any case.
    let special = body.to_ascii_lowercase();
    if special == "inf" || special == "infinity" {
        return Some(if negative {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        });
    }
    if special == "nan" && body.len() == s.len() {
        return Some(f64::NAN);
    }
    if !is_decimal(body) {
        // Hexadecimal mantissas need a `p` exponent in Go, and `p` is refused above.
        return None;
    }
    // Go reports a value beyond f64's range as an error, Rust as infinity.
    s.parse::<f64>().ok().filter(|x| x.is_finite())
}

/// A timestamp: Go's `strconv.ParseInt(s, 10, 64)`, whose grammar (an optional sign, decimal
/// digits, no `_`) and range are Rust's.
pub(super) fn parse_int(s: &str) -> Option<i64> {
    s.parse().ok()
}

/// `digits [. digits] [e [sign] digits]` or `. digits [e …]`: at least one mantissa digit.
fn is_decimal(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |mut i: usize| {
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        i
    };
    let int_end = digits(0);
    let mut i = int_end;
    let mut mantissa_digits = int_end;
    if b.get(i) == Some(&b'.') {
        let frac_end = digits(i + 1);
        mantissa_digits += frac_end - (i + 1);
        i = frac_end;
    }
    if mantissa_digits == 0 {
        return false;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let exp_end = digits(i);
        if exp_end == i {
            return false;
        }
        i = exp_end;
    }
    i == b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_as_go_reads_them() {
        for ok in [
            "1",
            "-1",
            "+1",
            ".5",
            "5.",
            "1e5",
            "1E+5",
            "1e-400",
            "007",
            "Inf",
            "+inf",
            "-Infinity",
            "NaN",
            "nan",
            "NAN",
            "infinity",
        ] {
            assert!(parse_float(ok).is_some(), "{ok}");
        }
        for bad in [
            "", ".", "+", "1e", "1e+", "1.2.3", "0x10", "0x1p3", "1_000", "1e400", "-1e400",
            "+NaN", "-nan", "infin", "1 ", " 1", "1\r", "∞", "one",
        ] {
            assert!(parse_float(bad).is_none(), "{bad}");
        }
        assert_eq!(parse_float("-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_float("2.5e1"), Some(25.0));
    }

    #[test]
    fn timestamps_as_go_reads_them() {
        assert_eq!(parse_int("+5"), Some(5));
        assert_eq!(parse_int("-1700000000000"), Some(-1_700_000_000_000));
        for bad in ["", "-", "1.5", "1e3", "1_0", "99999999999999999999"] {
            assert_eq!(parse_int(bad), None, "{bad}");
        }
    }
}
