//! Service level objectives: multi-window, multi-burn-rate rules (the Google SRE workbook's
//! "Alerting on SLOs", as sloth and pyrra generate them), the error budget series and their
//! promtool tests.
//!
//! An [`Slo`] names a service's job and what counts as a good request: one answered without a
//! 5xx (`availability`) or one faster than a bucket bound of the catalogue's duration histogram
//! (`latency`). Each SLO becomes one rule group: the SLI's error ratio recorded over seven
//! windows, its requests and bad requests per second, the objective, the budget and what is
//! left of it over the SLO window, and two alerts.
//!
//! **Burn rate** is the error ratio divided by the budget (`1 - objective`): at 1 the budget
//! lasts exactly the SLO window. The workbook pages when 2 % of a 30-day budget goes in an hour
//! (14.4 × over 1h) or 5 % in six hours (6 × over 6h), and opens a ticket when 10 % goes in a
//! day (3 × over 1d) or in three days (1 × over 3d). Each long window is paired with a short
//! one, a twelfth of it, so an alert stops soon after the errors stop. Other SLO windows keep
//! the factors and scale every window by `window / 30d`: a 7-day SLO pages on 14.4 × over 14m
//! and 70s. The recorded series keep the names of the 30-day windows (`…_rate1h`) whatever the
//! scale, so dashboards and queries work for every SLO.
//!
//! ```
//! use obs_mixin::slo::Slo;
//! let slo = Slo::availability("api-availability", "api", 99.9);
//! slo.validate().unwrap();
//! let groups = obs_mixin::slo::groups(&[slo]);
//! assert_eq!(groups[0].name, "obs-slo-api-availability");
//! assert!(groups[0].rules.iter().any(|r| r.alert.as_deref() == Some(obs_mixin::slo::FAST_BURN)));
//! let latency = Slo { threshold: Some(0.3), ..Slo::latency("api-latency", "api", 0.25, 99.0) };
//! assert_eq!(latency.validate().unwrap_err().field, "threshold");
//! ```

mod promtool;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::OnceLock;

use obs_catalogue as catalogue;
use serde::{Deserialize, Serialize};

use crate::Duration;
use crate::rules::Recording;

pub use promtool::test_file;

/// File name of an SLO's rules (under `alert-rules/` and `prometheus/rules/`):
/// `obs-slo-<name>.yaml`, one group per file, so each SLO's promtool tests load only its own
/// rules.
pub fn rule_file_name(slo: &Slo) -> String {
    format!("obs-slo-{}.yaml", slo.name)
}

/// The alert paging on a fast burn (`severity="critical"`).
pub const FAST_BURN: &str = "SloErrorBudgetFastBurn";
/// The alert opening a ticket on a slow burn (`severity="warning"`).
pub const SLOW_BURN: &str = "SloErrorBudgetSlowBurn";

/// The SLO window the workbook's factors are given for; other windows scale from it.
pub const REFERENCE_WINDOW_SECONDS: u64 = 30 * 86400;

/// The shortest SLO window: below a day even the long alert windows hold too few requests.
pub const MIN_WINDOW_SECONDS: u64 = 86400;

/// Recorded: the objective as a ratio (`0.999`).
pub const OBJECTIVE: &str = "slo:objective:ratio";
/// Recorded: the error budget as a ratio (`1 - objective`).
pub const ERROR_BUDGET: &str = "slo:error_budget:ratio";
/// Recorded: the SLO's requests per second over the 5m window (scaled).
pub const REQUESTS_RATE: &str = "slo:sli_requests:rate5m";
/// Recorded: the SLO's bad requests per second over the 5m window (scaled).
pub const ERRORS_RATE: &str = "slo:sli_errors:rate5m";
/// Recorded: the SLI's error ratio over the whole SLO window, from the two rates above summed
/// over the window: weighted by traffic like a ratio of the raw counters, but reading two
/// recorded series instead of every histogram series over 30 days at each evaluation (pyrra
/// evaluates that in a slower group; sloth averages ratios, which weighs a quiet night like a
/// busy day).
pub const ERROR_RATIO_WINDOW: &str = "slo:sli_error:ratio_window";
/// Recorded: the share of the error budget left over the SLO window (1 untouched, 0 spent,
/// negative when overspent).
pub const BUDGET_REMAINING: &str = "slo:error_budget_remaining:ratio";
/// The labels every recorded SLO series and both alerts carry (besides `severity`): the SLO,
/// its service and, with the same value, `job`, so Alertmanager groups and inhibits SLO alerts
/// per job like every other alert.
pub const LABELS: &[&str] = &["slo", "service", "job"];

/// The alert windows of a 30-day SLO, as the names of the recorded error ratios use them, with
/// their length in seconds.
pub const WINDOWS: &[(&str, u64)] = &[
    ("5m", 300),
    ("30m", 1800),
    ("1h", 3600),
    ("2h", 7200),
    ("6h", 21600),
    ("1d", 86400),
    ("3d", 259200),
];

/// The name of the error ratio recorded over `window` (one of [`WINDOWS`]' names).
pub fn error_ratio(window: &str) -> String {
    format!("slo:sli_error:ratio_rate{window}")
}

/// One long/short window pair of an alert and the burn rate both must exceed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BurnWindow {
    /// Long window (one of [`WINDOWS`]' names).
    pub long: &'static str,
    /// Short window, a twelfth of the long one.
    pub short: &'static str,
    /// Burn rate both windows must exceed.
    pub factor: f64,
}

/// The two pairs of the fast burn (page) and of the slow burn (ticket), the workbook's numbers.
pub const FAST_WINDOWS: [BurnWindow; 2] = [
    BurnWindow {
        long: "1h",
        short: "5m",
        factor: 14.4,
    },
    BurnWindow {
        long: "6h",
        short: "30m",
        factor: 6.0,
    },
];
/// See [`FAST_WINDOWS`].
pub const SLOW_WINDOWS: [BurnWindow; 2] = [
    BurnWindow {
        long: "1d",
        short: "2h",
        factor: 3.0,
    },
    BurnWindow {
        long: "3d",
        short: "6h",
        factor: 1.0,
    },
];

/// What an SLO counts as a good request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SloKind {
    /// Answered without a 5xx status.
    Availability,
    /// Answered within `threshold` seconds (a bucket bound of the duration histogram).
    Latency,
}

/// One service level objective, as `[[slo]]` of `obs.toml` declares it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Slo {
    /// Unique name, `[a-z0-9-]`: the `slo` label of every series and alert.
    pub name: String,
    /// The Prometheus `job` of the service (in `obs.toml`, a `[[services]]` name).
    pub service: String,
    /// Availability or latency.
    pub kind: SloKind,
    /// Percent of good requests, `0 < objective < 100`.
    pub objective: f64,
    /// The SLO window, a Prometheus duration of at least `1d`. Default `30d`.
    #[serde(default = "default_window")]
    pub window: Duration,
    /// One route template (`/users/{id}`); absent: every request of the service, unrouted
    /// ones included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    /// Latency only: seconds, one of the histogram's bucket bounds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
}

fn default_window() -> Duration {
    Duration::from_static("30d")
}

/// An [`Slo`] that cannot produce valid rules, naming the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SloError {
    /// The offending field (`objective`, `threshold`, …).
    pub field: &'static str,
    /// What is wrong with it and what would be right.
    pub message: String,
}

impl fmt::Display for SloError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for SloError {}

impl Slo {
    /// An availability SLO over the default 30-day window.
    pub fn availability(name: &str, service: &str, objective: f64) -> Slo {
        Slo {
            name: name.into(),
            service: service.into(),
            kind: SloKind::Availability,
            objective,
            window: default_window(),
            route: None,
            threshold: None,
        }
    }

    /// A latency SLO over the default 30-day window: `objective` percent faster than
    /// `threshold` seconds.
    pub fn latency(name: &str, service: &str, threshold: f64, objective: f64) -> Slo {
        Slo {
            kind: SloKind::Latency,
            threshold: Some(threshold),
            ..Slo::availability(name, service, objective)
        }
    }

    /// Checks every field: the name, the job and the route can be quoted in PromQL, the
    /// objective lies in (0, 100), the window is a duration of at least a day, and a latency
    /// threshold is a bucket bound of the duration histogram.
    pub fn validate(&self) -> Result<(), SloError> {
        let err = |field, message: String| Err(SloError { field, message });
        if self.name.is_empty()
            || !self
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return err(
                "name",
                format!(
                    "{:?} must be lower-case letters, digits and '-' ([a-z0-9-])",
                    self.name
                ),
            );
        }
        if self.service.is_empty() || self.service.contains(['"', '\\', '\n']) {
            return err(
                "service",
                format!(
                    "{:?} must be a job name, without quotes or backslashes",
                    self.service
                ),
            );
        }
        if !(self.objective > 0.0 && self.objective < 100.0) {
            return err(
                "objective",
                format!(
                    "{} must be a percentage between 0 and 100, both excluded (e.g. 99.9)",
                    self.objective
                ),
            );
        }
        // The rules divide by the budget, written with twelve decimals.
        if ratio(self.budget()) == "0" {
            return err(
                "objective",
                format!(
                    "{} leaves no error budget to alert on; at most 99.9999999999",
                    self.objective
                ),
            );
        }
        if self.window_seconds() < MIN_WINDOW_SECONDS {
            return err(
                "window",
                format!("{:?} is shorter than one day (1d)", self.window),
            );
        }
        if let Some(route) = &self.route
            && (!route.starts_with('/')
                || route.contains(['"', '\\', '\n'])
                || route.contains("{{")
                || route.contains("}}"))
        {
            return err(
                "route",
                format!("{route:?} must be a route template like \"/users/{{id}}\""),
            );
        }
        let buckets = catalogue::HTTP_SERVER_REQUEST_DURATION
            .buckets
            .unwrap_or_default();
        match (self.kind, self.threshold) {
            (SloKind::Latency, Some(t)) if buckets.contains(&t) => {}
            (SloKind::Latency, Some(t)) => {
                return err(
                    "threshold",
                    format!(
                        "{t} is not a bucket bound of {} (one of {})",
                        catalogue::HTTP_SERVER_REQUEST_DURATION.name,
                        bucket_list(buckets)
                    ),
                );
            }
            (SloKind::Latency, None) => {
                return err(
                    "threshold",
                    format!(
                        "a latency SLO needs a threshold in seconds, one of {}",
                        bucket_list(buckets)
                    ),
                );
            }
            (SloKind::Availability, Some(_)) => {
                return err(
                    "threshold",
                    "only a latency SLO has a threshold; remove it or set kind = \"latency\""
                        .into(),
                );
            }
            (SloKind::Availability, None) => {}
        }
        Ok(())
    }

    /// The SLO window in seconds.
    pub fn window_seconds(&self) -> u64 {
        self.window.as_secs()
    }

    /// The error budget, `1 - objective`, as a ratio.
    pub fn budget(&self) -> f64 {
        (100.0 - self.objective) / 100.0
    }

    /// How long the 30-day window `nominal_seconds` lasts for this SLO: scaled by
    /// `window / 30d`, in whole seconds (at least one).
    pub fn scaled_seconds(&self, nominal_seconds: u64) -> u64 {
        let window = self.window_seconds();
        let scaled = (nominal_seconds as u128 * window as u128
            + REFERENCE_WINDOW_SECONDS as u128 / 2)
            / REFERENCE_WINDOW_SECONDS as u128;
        (scaled as u64).max(1)
    }

    /// The range of the error ratio recorded as `…_rate<window>`, as a Prometheus duration.
    pub fn range(&self, window: &str) -> String {
        let nominal = WINDOWS
            .iter()
            .find(|(w, _)| *w == window)
            .map(|(_, s)| *s)
            .expect("one of WINDOWS");
        duration(self.scaled_seconds(nominal))
    }

    /// The selector of the SLO's requests: its job, and its route when it has one. Without a
    /// route, requests no route matched count too (`http_route="unmatched"` from obs-service,
    /// no `http_route` at all from OpenTelemetry SDKs).
    fn selector(&self, extra: &str) -> String {
        let mut matchers = vec![format!("job=\"{}\"", self.service)];
        if let Some(route) = &self.route {
            matchers.push(format!("{}=\"{route}\"", catalogue::labels::HTTP_ROUTE));
        }
        if !extra.is_empty() {
            matchers.push(extra.into());
        }
        format!("{{{}}}", matchers.join(","))
    }

    /// The SLO's requests per second over `range` (a Prometheus duration).
    pub fn requests_expr(&self, range: &str) -> String {
        let duration = catalogue::HTTP_SERVER_REQUEST_DURATION.name;
        format!("sum(rate({duration}_count{}[{range}]))", self.selector(""))
    }

    /// The SLO's bad requests per second over `range`: 5xx answers, or requests slower than
    /// the threshold (all requests less those in the threshold's bucket).
    pub fn errors_expr(&self, range: &str) -> String {
        let duration = catalogue::HTTP_SERVER_REQUEST_DURATION.name;
        let total = self.requests_expr(range);
        match self.kind {
            // `or … * 0`: a 0 for a window without 5xx, not no series at all.
            SloKind::Availability => format!(
                "(\n  sum(rate({duration}_count{}[{range}]))\n  or\n  {total} * 0\n)",
                self.selector(&format!(
                    "{}=~\"5..\"",
                    catalogue::labels::HTTP_RESPONSE_STATUS_CODE
                ))
            ),
            SloKind::Latency => {
                let le = le_regex(self.threshold.unwrap_or_default());
                format!(
                    "(\n  {total}\n  -\n  sum(rate({duration}_bucket{}[{range}]))\n)",
                    self.selector(&format!("le=~\"{le}\""))
                )
            }
        }
    }

    /// The SLI's error ratio over `range` (a Prometheus duration).
    pub fn error_ratio_expr(&self, range: &str) -> String {
        format!(
            "{}\n/\n{}",
            self.errors_expr(range),
            self.requests_expr(range)
        )
    }

    /// What the SLO promises, in words: `99.9% of requests to api answered without a 5xx over
    /// 30d`.
    pub fn promise(&self) -> String {
        let requests = match &self.route {
            Some(route) => format!("requests to {} {route}", self.service),
            None => format!("requests to {}", self.service),
        };
        let good = match self.kind {
            SloKind::Availability => "answered without a 5xx".to_string(),
            SloKind::Latency => {
                format!(
                    "answered within {}s",
                    number(self.threshold.unwrap_or_default())
                )
            }
        };
        format!(
            "{}% of {requests} {good} over {}",
            number(self.objective),
            self.window
        )
    }
}

fn bucket_list(buckets: &[f64]) -> String {
    buckets
        .iter()
        .map(|b| number(*b))
        .collect::<Vec<_>>()
        .join(", ")
}

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

/// A regular expression matching a bucket bound however it is written: Prometheus 2 keeps
/// what the exporter wrote (`1` from obs-service, `1.0` from Python's client), Prometheus 3
/// normalises classic histograms' `le` to `1.0`. `[.]` rather than `\.` keeps it free of
/// escapes in both PromQL and YAML.
pub fn le_regex(threshold: f64) -> String {
    let shortest = number(threshold);
    match shortest.split_once('.') {
        Some((int, frac)) => format!("{int}[.]{frac}0*"),
        None => format!("{shortest}([.]0+)?"),
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

/// One Prometheus rule (recording or alerting), as it is serialised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    /// Recorded series name (recording rules).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
    /// Alert name (alerting rules).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert: Option<String>,
    /// PromQL expression.
    pub expr: String,
    /// How long the expression must hold before the alert fires.
    #[serde(rename = "for", default, skip_serializing_if = "Option::is_none")]
    pub for_: Option<String>,
    /// Labels added to the result.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Annotations of an alert.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// One rule group: every rule of one SLO.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleGroup {
    /// `obs-slo-<name>`.
    pub name: String,
    /// The rules, recording rules first (a group evaluates in order, so the alerts read
    /// ratios of the same evaluation).
    pub rules: Vec<Rule>,
}

fn labels(slo: &Slo, extra: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::from([
        ("slo".to_string(), slo.name.clone()),
        ("service".to_string(), slo.service.clone()),
        ("job".to_string(), slo.service.clone()),
    ]);
    for (k, v) in extra {
        out.insert(k.to_string(), v.to_string());
    }
    out
}

fn record(slo: &Slo, name: String, expr: String) -> Rule {
    Rule {
        record: Some(name),
        alert: None,
        expr,
        for_: None,
        labels: labels(slo, &[]),
        annotations: BTreeMap::new(),
    }
}

fn burn_expr(slo: &Slo, pairs: &[BurnWindow]) -> String {
    let budget = ratio(slo.budget());
    let sel = format!("{{slo=\"{}\"}}", slo.name);
    pairs
        .iter()
        .map(|p| {
            format!(
                "(\n  {long}{sel} / {budget} > {f}\n  and\n  {short}{sel} / {budget} > {f}\n)",
                long = error_ratio(p.long),
                short = error_ratio(p.short),
                f = number(p.factor),
            )
        })
        .collect::<Vec<_>>()
        .join("\nor\n")
}

/// The windows of an alert's pairs in words, scaled: `1h and 5m, or 6h and 30m`.
fn windows_in_words(slo: &Slo, pairs: &[BurnWindow]) -> String {
    pairs
        .iter()
        .map(|p| format!("{} and {}", slo.range(p.long), slo.range(p.short)))
        .collect::<Vec<_>>()
        .join(", or ")
}

/// What a firing burn alert's templates evaluate to: the burn rate over the long window
/// (`$value`) and the budget left ([`BUDGET_REMAINING`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Evaluated {
    pub(crate) burn: f64,
    pub(crate) remaining: f64,
}

/// The description of a burn alert: the template (`None`), or what Prometheus renders it to.
/// `{{ $value }}` is the burn rate over the long window; the budget left and how long it lasts
/// at that rate come from `query`, since Prometheus' templates have no arithmetic.
pub(crate) fn description(slo: &Slo, pairs: &[BurnWindow], at: Option<Evaluated>) -> String {
    let remaining = format!("clamp_min({BUDGET_REMAINING}{{slo=\"{}\"}}, 0)", slo.name);
    let window_hours = number(slo.window_seconds() as f64 / 3600.0);
    let (burn, left, lasts) = match at {
        None => (
            "{{ $value | printf \"%.1f\" }}".to_string(),
            format!(
                "{{{{ with query `{remaining}` }}}}{{{{ . | first | value | humanizePercentage }}}}{{{{ end }}}}"
            ),
            format!(
                "{{{{ with printf `{remaining} * {window_hours} / %f` $value | query }}}}{{{{ . | first | value | printf \"%.1f\" }}}}{{{{ end }}}}"
            ),
        ),
        Some(e) => {
            let left = e.remaining.max(0.0);
            // `printf "%f"` hands the query six decimals of the burn rate.
            let burn6: f64 = format!("{:.6}", e.burn).parse().expect("a number");
            let hours = left * (slo.window_seconds() as f64 / 3600.0) / burn6;
            (
                format!("{:.1}", e.burn),
                format!("{}%", promtool::go_g4(left * 100.0)),
                format!("{hours:.1}"),
            )
        }
    };
    format!(
        "The error budget of {} ({}) burns {burn} times as fast as the objective allows, over the last {}. \
At this rate what is left of it ({left}) is gone in {lasts} hours.",
        slo.name,
        slo.promise(),
        windows_in_words(slo, pairs),
    )
}

fn alert(slo: &Slo, name: &str, severity: &str, pairs: &[BurnWindow], speed: &str) -> Rule {
    // Half the first short window, as pyrra does: one bad scrape does not page, and the alert
    // still fires well before the short window has passed.
    let for_ = duration(
        slo.scaled_seconds(
            WINDOWS
                .iter()
                .find(|(w, _)| *w == pairs[0].short)
                .map(|(_, s)| *s)
                .expect("one of WINDOWS")
                / 2,
        ),
    );
    Rule {
        record: None,
        alert: Some(name.into()),
        expr: burn_expr(slo, pairs),
        for_: Some(for_),
        labels: labels(slo, &[("severity", severity)]),
        annotations: BTreeMap::from([
            (
                "summary".to_string(),
                format!(
                    "SLO {} of {} burns its error budget {speed}.",
                    slo.name, slo.service
                ),
            ),
            ("description".to_string(), description(slo, pairs, None)),
            ("runbook_url".to_string(), crate::rules::runbook_url(name)),
        ]),
    }
}

/// The rule group of one SLO: the error ratios, objective, budget and budget left, then the
/// fast-burn and slow-burn alerts.
pub fn group(slo: &Slo) -> RuleGroup {
    let short = slo.range(WINDOWS[0].0);
    let mut rules = vec![
        record(slo, REQUESTS_RATE.into(), slo.requests_expr(&short)),
        record(slo, ERRORS_RATE.into(), slo.errors_expr(&short)),
    ];
    rules.extend(
        WINDOWS
            .iter()
            .map(|(w, _)| record(slo, error_ratio(w), slo.error_ratio_expr(&slo.range(w)))),
    );
    let sel = format!("{{slo=\"{}\"}}", slo.name);
    let window = slo.window.as_str();
    rules.push(record(
        slo,
        ERROR_RATIO_WINDOW.into(),
        format!(
            "sum_over_time({ERRORS_RATE}{sel}[{window}])\n/\nsum_over_time({REQUESTS_RATE}{sel}[{window}])"
        ),
    ));
    rules.push(record(
        slo,
        OBJECTIVE.into(),
        format!("vector({})", ratio(slo.objective / 100.0)),
    ));
    rules.push(record(
        slo,
        ERROR_BUDGET.into(),
        format!("vector({})", ratio(slo.budget())),
    ));
    rules.push(record(
        slo,
        BUDGET_REMAINING.into(),
        format!(
            "1 - {ERROR_RATIO_WINDOW}{{slo=\"{}\"}} / {}",
            slo.name,
            ratio(slo.budget())
        ),
    ));
    rules.push(alert(slo, FAST_BURN, "critical", &FAST_WINDOWS, "fast"));
    rules.push(alert(slo, SLOW_BURN, "warning", &SLOW_WINDOWS, "slowly"));
    RuleGroup {
        name: format!("obs-slo-{}", slo.name),
        rules,
    }
}

/// One rule group per SLO, in the order given.
pub fn groups(slos: &[Slo]) -> Vec<RuleGroup> {
    slos.iter().map(group).collect()
}

const HEADER: &str = "# Generated by obs-mixin (mixin/src/slo/) from the [[slo]] tables of obs.toml. Do not edit by\n# hand: change obs.toml and run `obs-gen generate`.\n";

/// The rule file of one SLO: its group alone.
pub fn rule_file(slo: &Slo) -> crate::RuleFile {
    #[derive(Serialize)]
    struct Doc {
        groups: [RuleGroup; 1],
    }
    let doc = Doc {
        groups: [group(slo)],
    };
    crate::RuleFile {
        file_name: rule_file_name(slo),
        yaml: format!(
            "{HEADER}{}",
            serde_yaml_ng::to_string(&doc).expect("rules serialise")
        ),
    }
}

/// The rule files of `slos`, one per SLO, in the order given.
pub fn rule_files(slos: &[Slo]) -> Vec<crate::RuleFile> {
    slos.iter().map(rule_file).collect()
}

/// The promtool test files of `slos` (`tests/obs-slo-<name>.test.yaml`), one per SLO.
pub fn test_files(slos: &[Slo]) -> Vec<crate::RuleFile> {
    slos.iter().map(test_file).collect()
}

/// The SLOs of the README, whose rules and tests are checked in under `alert-rules/`: the
/// issue's availability and latency SLOs, a route's availability over 7 days and a latency
/// at a whole-second bound (whose `le` Prometheus 2 and 3 write differently).
pub fn examples() -> Vec<Slo> {
    vec![
        Slo::availability("api-availability", "api", 99.9),
        Slo::latency("api-latency", "api", 0.25, 99.0),
        Slo {
            route: Some("/users/{id}".into()),
            window: Duration::from_static("7d"),
            ..Slo::availability("api-users-availability", "api", 99.5)
        },
        Slo {
            window: Duration::from_static("28d"),
            ..Slo::latency("worker-latency", "worker", 1.0, 95.0)
        },
    ]
}

/// The series every SLO group records, as the contract knows them: name, [`LABELS`], and the expression of the first example SLO (what they read). `ALERTS`,
/// which Prometheus writes for the burn alerts, is listed too, for the dashboard's alert
/// states.
pub fn recorded_series() -> &'static [Recording] {
    static ALL: OnceLock<Vec<Recording>> = OnceLock::new();
    ALL.get_or_init(|| {
        let example = &examples()[0];
        let mut out: Vec<Recording> = group(example)
            .rules
            .into_iter()
            .filter_map(|r| {
                Some(Recording {
                    record: Box::leak(r.record?.into_boxed_str()),
                    expr: r.expr,
                    labels: LABELS,
                })
            })
            .collect();
        out.push(Recording {
            record: "ALERTS",
            expr: burn_expr(example, &FAST_WINDOWS),
            labels: &[
                "alertname",
                "alertstate",
                "severity",
                "slo",
                "service",
                "job",
            ],
        });
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_scale_with_the_slo_window() {
        let month = Slo::availability("a", "api", 99.9);
        assert_eq!(month.range("5m"), "5m");
        assert_eq!(month.range("3d"), "3d");
        let week = Slo {
            window: Duration::from_static("7d"),
            ..month.clone()
        };
        assert_eq!(week.range("1h"), "14m");
        assert_eq!(week.range("5m"), "1m10s");
        let day = Slo {
            window: Duration::from_static("1d"),
            ..month.clone()
        };
        assert_eq!(day.range("5m"), "10s");
        assert_eq!(day.range("3d"), "2h24m");
        let four_weeks = Slo {
            window: Duration::from_static("4w"),
            ..month
        };
        assert_eq!(four_weeks.range("5m"), "4m40s");
    }

    #[test]
    fn le_matches_both_renderings_of_a_bound() {
        assert_eq!(le_regex(1.0), "1([.]0+)?");
        assert_eq!(le_regex(10.0), "10([.]0+)?");
        assert_eq!(le_regex(0.25), "0[.]250*");
        // Checked the way Prometheus matches: the whole value, as promql-parser compiles it.
        for (threshold, yes, no) in [
            (1.0, ["1", "1.0"], ["10", "0.1"]),
            (0.25, ["0.25", "0.250"], ["0.025", "0.255"]),
            (10.0, ["10", "10.0"], ["1", "100"]),
        ] {
            let re = regex_anchored(&le_regex(threshold));
            for v in yes {
                assert!(re(v), "{threshold}: {v}");
            }
            for v in no {
                assert!(!re(v), "{threshold}: {v}");
            }
        }
    }

    /// A matcher the PromQL parser builds, applied to one value.
    fn regex_anchored(re: &str) -> impl Fn(&str) -> bool + use<> {
        let expr = promql_parser::parser::parse(&format!("x{{le=~\"{re}\"}}")).unwrap();
        let promql_parser::parser::Expr::VectorSelector(vs) = expr else {
            panic!()
        };
        let m = vs.matchers.matchers[0].clone();
        move |v| m.is_match(v)
    }

    #[test]
    fn validation_names_the_field() {
        let ok = Slo::availability("api-availability", "api", 99.9);
        ok.validate().unwrap();
        let cases: Vec<(Slo, &str, &str)> = vec![
            (
                Slo {
                    objective: 100.0,
                    ..ok.clone()
                },
                "objective",
                "between 0 and 100",
            ),
            (
                Slo {
                    objective: 0.0,
                    ..ok.clone()
                },
                "objective",
                "between 0 and 100",
            ),
            (
                Slo {
                    objective: 99.99999999999999,
                    ..ok.clone()
                },
                "objective",
                "leaves no error budget",
            ),
            (
                Slo {
                    name: "API_avail".into(),
                    ..ok.clone()
                },
                "name",
                "[a-z0-9-]",
            ),
            (
                Slo {
                    window: Duration::from_static("12h"),
                    ..ok.clone()
                },
                "window",
                "shorter than one day",
            ),
            (
                Slo {
                    route: Some("users".into()),
                    ..ok.clone()
                },
                "route",
                "route template",
            ),
            (
                Slo {
                    threshold: Some(0.25),
                    ..ok.clone()
                },
                "threshold",
                "only a latency SLO",
            ),
            (
                Slo::latency("l", "api", 0.3, 99.0),
                "threshold",
                "one of 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10",
            ),
            (
                Slo {
                    threshold: None,
                    ..Slo::latency("l", "api", 0.25, 99.0)
                },
                "threshold",
                "needs a threshold",
            ),
        ];
        for (slo, field, text) in cases {
            let e = slo.validate().unwrap_err();
            assert_eq!(e.field, field, "{e}");
            assert!(e.message.contains(text), "{e}");
        }
        Slo {
            window: Duration::from_static("1d"),
            ..ok
        }
        .validate()
        .unwrap();
    }

    #[test]
    fn service_slos_count_unrouted_requests_and_route_slos_do_not() {
        let service = Slo::availability("a", "api", 99.9);
        assert!(!service.error_ratio_expr("5m").contains("http_route"));
        let route = Slo {
            route: Some("/users/{id}".into()),
            ..service
        };
        let expr = route.error_ratio_expr("5m");
        assert_eq!(
            expr.matches(r#"http_route="/users/{id}""#).count(),
            3,
            "{expr}"
        );
    }

    #[test]
    fn rules_pass_the_contract() {
        for file in rule_files(&examples()) {
            let v = crate::contract::check_rule_file(&file.yaml);
            assert!(v.is_empty(), "{}: {v:?}", file.file_name);
        }
    }

    #[test]
    fn ratios_print_as_decimals() {
        assert_eq!(ratio(Slo::availability("a", "b", 99.9).budget()), "0.001");
        assert_eq!(ratio(0.999), "0.999");
        assert_eq!(ratio(0.0), "0");
        assert_eq!(duration(86400 * 3), "3d");
        assert_eq!(duration(3661), "1h1m1s");
    }
}
