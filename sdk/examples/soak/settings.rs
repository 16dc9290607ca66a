//! The run's settings, read from the environment.

use std::path::PathBuf;
use std::time::Duration;

/// What the run is asked for: the variables the crate docs list.
pub(crate) struct Settings {
    pub(crate) demo: PathBuf,
    pub(crate) duration: Duration,
    pub(crate) capacity_secs: u64,
    pub(crate) connections: usize,
    pub(crate) load_fraction: f64,
    pub(crate) flap: Duration,
}

/// `90s`, `2m`, `1h` or plain seconds.
fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let n: u64 = number.parse().ok()?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => return None,
    };
    (secs > 0).then(|| Duration::from_secs(secs))
}

impl Settings {
    /// Reads the variables, with their defaults; panics on a malformed one.
    pub(crate) fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let number = |name: &str, default: f64| {
            var(name).map_or(default, |v| {
                v.trim()
                    .parse()
                    .unwrap_or_else(|_| panic!("{name}={v:?} is not a number"))
            })
        };
        let duration = var("DURATION").map_or(Duration::from_secs(30 * 60), |v| {
            parse_duration(&v)
                .unwrap_or_else(|| panic!("DURATION={v:?}: give e.g. 30m, 90s or 1800"))
        });
        let flap = var("FLAP_SECS").map_or(Duration::from_secs(30), |v| {
            parse_duration(&v).unwrap_or_else(|| panic!("FLAP_SECS={v:?} is not a duration"))
        });
        let demo = crate::support::binary();
        Settings {
            demo,
            duration,
            capacity_secs: number("CAPACITY_SECS", 10.0) as u64,
            connections: (number("CONNECTIONS", 8.0) as usize).max(1),
            load_fraction: number("LOAD_FRACTION", 0.5),
            flap,
        }
    }
}
