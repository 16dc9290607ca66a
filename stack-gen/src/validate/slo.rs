//! The `[[slo]]` tables of `obs.toml`, checked against the rest of the file (the services, the
//! scrape interval); [`obs_mixin::slo`] renders them with the other rules.

use std::collections::BTreeMap;

use obs_mixin::Duration;
use obs_mixin::slo::{Slo, WINDOWS};

use crate::model::Config;

/// How many scrapes the shortest burn-rate window must span: `rate()` needs two samples, and
/// four leave room for a missed scrape (Prometheus' own advice for range selectors).
const MIN_SCRAPES_PER_WINDOW: u64 = 4;

/// Checks every `[[slo]]`: the fields ([`Slo::validate`]), a unique name, a service of
/// `[[services]]`, and a window long enough that its shortest burn-rate window spans
/// [`MIN_SCRAPES_PER_WINDOW`] scrapes. Each problem is reported on `slo[i].key`.
pub(super) fn check(cfg: &Config, report: &mut impl FnMut(&str, String)) {
    let mut names: BTreeMap<&str, usize> = BTreeMap::new();
    let scrape = &cfg.scrape_interval;
    for (i, slo) in cfg.slo.iter().enumerate() {
        let mut err = |field: &str, msg: String| report(&format!("slo[{i}].{field}"), msg);
        if let Err(e) = slo.validate() {
            err(e.field, e.message);
            continue;
        }
        if let Some(first) = names.insert(&slo.name, i) {
            err(
                "name",
                format!("{:?} is already the name of slo[{first}]", slo.name),
            );
        }
        if !cfg.services.iter().any(|s| s.name == slo.service) {
            // Quoted as Rust writes strings, so a name with a line break cannot split the
            // one-line error.
            let known: Vec<String> = cfg
                .services
                .iter()
                .map(|s| format!("{:?}", s.name))
                .collect();
            err(
                "service",
                format!(
                    "{:?} is not a [[services]] name (one of {})",
                    slo.service,
                    known.join(", ")
                ),
            );
        }
        // A zero interval is reported on its own key.
        if !scrape.is_zero() {
            check_shortest_window(slo, scrape, &mut err);
        }
    }
}

fn check_shortest_window(slo: &Slo, scrape: &Duration, err: &mut impl FnMut(&str, String)) {
    let (name, nominal) = WINDOWS[0];
    let shortest_ms = slo.scaled_seconds(nominal) * 1000;
    let needed_ms = MIN_SCRAPES_PER_WINDOW * scrape.as_millis();
    if shortest_ms < needed_ms {
        // The window at which the shortest one spans enough scrapes, rounded up to a day.
        let days =
            (needed_ms * obs_mixin::slo::REFERENCE_WINDOW_SECONDS).div_ceil(nominal * 86_400_000);
        err(
            "window",
            format!(
                "{:?} makes the shortest burn-rate window (the {name} of a 30d SLO) {}, under {MIN_SCRAPES_PER_WINDOW} scrapes of {scrape}: use a window of at least {days}d or a shorter scrape_interval",
                slo.window,
                obs_mixin::slo::duration(shortest_ms / 1000),
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Service;

    fn cfg(slo: Slo) -> Config {
        let mut c = Config::default();
        c.services
            .push(Service::new("api", "api:8080".parse().unwrap()));
        c.slo.push(slo);
        c
    }

    fn errors(c: &Config) -> Vec<String> {
        let mut errs = Vec::new();
        check(c, &mut |field, msg| {
            errs.push(format!("obs.toml: {field}: {msg}"))
        });
        errs
    }

    /// The availability SLO `obs-gen init` writes for `--slo SERVICE=OBJECTIVE`.
    fn availability(service: &str, objective: f64) -> Slo {
        Slo::availability(&format!("{service}-availability"), service, objective)
    }

    #[test]
    fn a_valid_slo_passes() {
        assert_eq!(
            errors(&cfg(availability("api", 99.9))),
            Vec::<String>::new()
        );
    }

    #[test]
    fn unknown_service_and_duplicate_name() {
        let mut c = cfg(availability("api", 99.9));
        c.slo.push(Slo {
            service: "web".into(),
            ..availability("api", 99.0)
        });
        assert_eq!(
            errors(&c),
            [
                "obs.toml: slo[1].name: \"api-availability\" is already the name of slo[0]",
                "obs.toml: slo[1].service: \"web\" is not a [[services]] name (one of \"api\")",
            ]
        );
    }

    #[test]
    fn a_short_window_needs_fast_scrapes() {
        let day = Slo {
            window: Duration::from_static("1d"),
            ..availability("api", 99.0)
        };
        let errs = errors(&cfg(day.clone()));
        assert_eq!(
            errs,
            [
                "obs.toml: slo[0].window: \"1d\" makes the shortest burn-rate window (the 5m of a 30d SLO) 10s, under 4 scrapes of 15s: use a window of at least 6d or a shorter scrape_interval"
            ]
        );
        let mut fast = cfg(day);
        fast.scrape_interval = Duration::from_static("2s");
        assert_eq!(errors(&fast), Vec::<String>::new());
        let mut week = cfg(Slo {
            window: Duration::from_static("6d"),
            ..availability("api", 99.0)
        });
        assert_eq!(errors(&week), Vec::<String>::new());
        week.scrape_interval = Duration::from_static("1m");
        assert!(
            errors(&week)[0].contains("at least 24d"),
            "{:?}",
            errors(&week)
        );
    }
}
