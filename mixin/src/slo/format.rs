//! How an SLO's numbers are written, in its rules, its messages and its tests. They sit under
//! everything else of [`crate::slo`]: validation must know that a budget can be written
//! before any expression divides by it.

/// A number as Rust's shortest round-trip form prints it (`0.25`, `1`, `99.9`).
pub(crate) fn number(x: f64) -> String {
    format!("{x}")
}

/// A ratio with at most twelve decimals, trailing zeros dropped, so `1 - 0.999` reads `0.001`
/// and not the nearest binary fraction's digits.
pub(crate) fn ratio(x: f64) -> String {
    let s = format!("{x:.12}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() || s == "-" {
        "0".into()
    } else {
        s.into()
    }
}

/// Seconds as a Prometheus duration in its largest units (`10s`, `1m10s`, `2h24m`, `3d`).
pub fn duration(seconds: u64) -> String {
    let mut rest = seconds;
    let mut out = String::new();
    for (unit, size) in [("d", 86400), ("h", 3600), ("m", 60), ("s", 1)] {
        if rest >= size {
            out.push_str(&format!("{}{unit}", rest / size));
            rest %= size;
        }
    }
    if out.is_empty() { "0s".into() } else { out }
}

/// `%.4g` as Go prints it (what `humanizePercentage` uses), for the values the promtool
/// scenarios produce: four significant digits, trailing zeros dropped, no exponent.
pub(crate) fn go_g4(x: f64) -> String {
    if x == 0.0 {
        return "0".into();
    }
    let decimals = (3 - x.abs().log10().floor() as i32).max(0) as usize;
    let s = format!("{x:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').into()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_print_as_decimals() {
        assert_eq!(ratio((100.0 - 99.9) / 100.0), "0.001");
        assert_eq!(ratio(0.999), "0.999");
        assert_eq!(ratio(0.0), "0");
        assert_eq!(duration(86400 * 3), "3d");
        assert_eq!(duration(3661), "1h1m1s");
    }

    #[test]
    fn go_percent_format() {
        assert_eq!(go_g4(20.000000000000004), "20");
        assert_eq!(go_g4(12.5), "12.5");
        assert_eq!(go_g4(0.0), "0");
        assert_eq!(go_g4(33.33333), "33.33");
    }
}
