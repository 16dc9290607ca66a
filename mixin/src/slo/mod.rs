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
//! The parts, each on the ones before it, re-exported here: `format` (how the numbers are
//! written), `model` (the SLO, its checks and windows), `promql` (the recorded series and their
//! expressions), `rules` (the rule group, in the [rule model](crate::rule_model)) and
//! `promtool` (the generated unit tests). The rule files and their tests are written by the
//! assembly of every rule file ([`crate::rule_files`], [`crate::slo_test_files`]), after the
//! passes that stamp the runbook links.
//!
//! ```
//! use obs_mixin::slo::Slo;
//! let slo = Slo::availability("api-availability", "api", 99.9);
//! slo.validate().unwrap();
//! let groups = obs_mixin::slo::groups(&[slo]);
//! assert_eq!(groups[0].name, "obs-slo-api-availability");
//! assert!(groups[0].rules.iter().any(|r| r.alert() == Some(obs_mixin::slo::FAST_BURN)));
//! let latency = Slo { threshold: Some(0.3), ..Slo::latency("api-latency", "api", 0.25, 99.0) };
//! assert_eq!(latency.validate().unwrap_err().field, "threshold");
//! ```

mod format;
mod model;
mod promql;
mod promtool;
mod rules;

pub use crate::rule_model::{Rule, RuleGroup};
pub use format::duration;
pub use model::{
    BurnWindow, FAST_WINDOWS, MIN_WINDOW_SECONDS, REFERENCE_WINDOW_SECONDS, SLOW_WINDOWS, Slo,
    SloError, SloKind, WINDOWS, examples,
};
pub use promql::{
    BUDGET_REMAINING, ERROR_BUDGET, ERROR_RATIO_WINDOW, ERRORS_RATE, LABELS, OBJECTIVE,
    REQUESTS_RATE, error_ratio, le_regex,
};
pub(crate) use promtool::test_file;
pub(crate) use rules::HEADER;
pub use rules::{FAST_BURN, SLOW_BURN, group, groups, recorded_series, rule_file_name};
