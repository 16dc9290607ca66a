//! [`Duration`]: a Prometheus duration, checked once when it is read.

use std::fmt;
use std::str::FromStr;

/// A duration as Prometheus and Alertmanager read them in their configuration files: `30s`,
/// `5m`, `1h30m`, `15d` (units `y w d h m s ms`, largest first, each at most once; `0s` is
/// zero). It keeps the text it was written as, so a configuration file written back reads as
/// the user wrote it (`90m` stays `90m`).
///
/// ```
/// let d: obs_mixin::Duration = "1h30m".parse().unwrap();
/// assert_eq!(d.as_secs(), 5400);
/// assert_eq!(d.to_string(), "1h30m");
/// assert!("5 minutes".parse::<obs_mixin::Duration>().is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Duration {
    text: String,
    millis: u64,
}

/// A string that is not a Prometheus duration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not a duration like 30s, 5m, 1h30m or 15d")]
pub struct DurationError {
    text: String,
}

impl Duration {
    /// The duration in milliseconds.
    pub fn as_millis(&self) -> u64 {
        self.millis
    }

    /// The duration in whole seconds (rounded down).
    pub fn as_secs(&self) -> u64 {
        self.millis / 1000
    }

    /// Whether it is zero (`0s`, `0m`, …).
    pub fn is_zero(&self) -> bool {
        self.millis == 0
    }

    /// The text it was written as.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// A duration written in the source, such as a default.
    ///
    /// # Panics
    ///
    /// When `text` is not a duration: meant for literals, not for input.
    pub fn from_static(text: &'static str) -> Duration {
        text.parse().expect("a built-in duration is valid")
    }
}

impl FromStr for Duration {
    type Err = DurationError;

    /// Prometheus's configuration grammar (`model.ParseDuration`), written out here because it
    /// differs from PromQL's (no bare numbers of seconds, no fractions) and no maintained crate
    /// implements it.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        const UNITS: &[(&str, u64)] = &[
            ("y", 365 * 86_400_000),
            ("w", 7 * 86_400_000),
            ("d", 86_400_000),
            ("h", 3_600_000),
            ("m", 60_000),
            ("s", 1000),
            ("ms", 1),
        ];
        let err = || DurationError { text: s.into() };
        if s.is_empty() {
            return Err(err());
        }
        let mut rest = s;
        let mut next_unit = 0;
        let mut millis: u64 = 0;
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            let n: u64 = rest[..digits].parse().map_err(|_| err())?;
            rest = &rest[digits..];
            let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
            let unit = &rest[..unit_len];
            rest = &rest[unit_len..];
            let idx = UNITS.iter().position(|(u, _)| *u == unit).ok_or_else(err)?;
            if idx < next_unit {
                return Err(err());
            }
            next_unit = idx + 1;
            millis = n
                .checked_mul(UNITS[idx].1)
                .and_then(|x| millis.checked_add(x))
                .ok_or_else(err)?;
        }
        Ok(Duration {
            text: s.into(),
            millis,
        })
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.text, f)
    }
}

impl TryFrom<String> for Duration {
    type Error = DurationError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl From<Duration> for String {
    fn from(d: Duration) -> String {
        d.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: &str) -> Option<u64> {
        s.parse::<Duration>().ok().map(|d| d.as_secs())
    }

    #[test]
    fn parses_what_prometheus_accepts() {
        assert_eq!(secs("15d"), Some(15 * 86400));
        assert_eq!(secs("1h30m"), Some(5400));
        assert_eq!(secs("0s"), Some(0));
        assert_eq!("1s500ms".parse::<Duration>().unwrap().as_millis(), 1500);
        assert_eq!("90m".parse::<Duration>().unwrap().to_string(), "90m");
    }

    #[test]
    fn refuses_what_prometheus_refuses() {
        for bad in [
            "",
            "30m1h",
            "15 d",
            "d",
            "5",
            "1.5h",
            "5 minutes",
            "1h1h",
            "-1s",
        ] {
            let err = bad.parse::<Duration>().unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("{bad:?} is not a duration like 30s, 5m, 1h30m or 15d")
            );
        }
        assert!("99999999999999y".parse::<Duration>().is_err(), "overflow");
    }

    #[test]
    fn serde_keeps_the_text() {
        let d: Duration = serde_json::from_str("\"6h\"").unwrap();
        assert_eq!(serde_json::to_string(&d).unwrap(), "\"6h\"");
        let err = serde_json::from_str::<Duration>("\"soon\"").unwrap_err();
        assert!(
            err.to_string().contains("\"soon\" is not a duration"),
            "{err}"
        );
    }
}
