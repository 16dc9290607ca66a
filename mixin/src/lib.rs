//! The obs monitoring mixin: Grafana dashboards and Prometheus alerting and recording rules,
//! generated from code the way the Prometheus monitoring mixins are, so every query names exactly
//! what [`obs_catalogue`] lists.
//!
//! Service level objectives ([`slo`]) ride in the same configuration object
//! ([`Thresholds::slos`]): each becomes a multi-window multi-burn-rate rule group of
//! [`rule_files`] with its promtool tests ([`slo_test_files`]), read by the "obs / SLOs"
//! dashboard.
//!
//! Every rule, bundled ([`rules`]) or of an SLO ([`slo`]), is rendered into one typed
//! [`rule_model`]; the assembly above both runs the model's passes (the runbook links, and the
//! links to the dashboard panel that shows each alert's series) once over every group and writes the rule files ([`rule_files`], [`rule_groups`]) and their tests.
//!
//! Everything is rendered from code and data inside this crate, so it builds from its own
//! package. The JSON in `dashboards/` and the YAML in `alert-rules/` at the top of the repository
//! are this crate's output for the default [`Thresholds`], checked in for people to browse and
//! import; a test fails when they drift apart (`OBS_BLESS=1 cargo test -p obs-mixin --test
//! checked_in` rewrites them).
//!
//! ```
//! let dashboards = obs_mixin::dashboards();
//! assert!(dashboards.iter().any(|d| d.uid == "obs-service-overview"));
//! for d in &dashboards {
//!     assert!(obs_mixin::contract::check_dashboard(&d.json).is_empty());
//!     assert!(obs_mixin::lint::lint_dashboard(&d.json).is_empty());
//! }
//! let rules = obs_mixin::rule_files(&obs_mixin::Thresholds::default());
//! for file in &rules {
//!     assert!(obs_mixin::contract::check_rule_file(&file.yaml).is_empty());
//! }
//! ```

mod assembly;
pub mod contract;
pub mod dashboards;
mod duration;
pub mod exporters;
pub mod lint;
pub mod reference;
pub mod rule_model;
pub mod rules;
pub mod slo;
mod thresholds;
pub mod yaml;

pub use duration::{Duration, DurationError};
pub use rule_model::RuleFile;
pub use thresholds::{DEFAULT_GRAFANA_URL, Thresholds, ThresholdsError};

/// One bundled Grafana dashboard.
#[derive(Debug, Clone, PartialEq)]
pub struct Dashboard {
    /// Stable Grafana uid.
    pub uid: String,
    /// File name under `dashboards/` (and in the generated stack), e.g. `obs-service-overview.json`.
    pub file_name: String,
    /// Dashboard title.
    pub title: String,
    /// One line: the question this dashboard answers (listed in docs/dashboards.md and by
    /// `obs-gen dashboards list`).
    pub description: String,
    /// The dashboard model, in its provisioned form (fixed datasource uids).
    pub json: serde_json::Value,
}

impl Dashboard {
    /// The dashboard as pretty-printed JSON with a trailing newline: exactly the bytes of the
    /// checked-in file.
    pub fn to_json_string(&self) -> String {
        let mut text = serde_json::to_string_pretty(&self.json).expect("a JSON value serialises");
        text.push('\n');
        text
    }
}

/// Fixed datasource uids the provisioned dashboards reference; `obs-gen` provisions the
/// datasources under exactly these uids.
pub mod datasource_uids {
    /// Prometheus.
    pub const PROMETHEUS: &str = "obs-prometheus";
    /// Loki.
    pub const LOKI: &str = "obs-loki";
    /// Tempo.
    pub const TEMPO: &str = "obs-tempo";
}

/// Every bundled dashboard, in its provisioned form, for the default [`Thresholds`] (the
/// checked-in `dashboards/`).
pub fn dashboards() -> Vec<Dashboard> {
    dashboards_for(&Thresholds::default())
}

/// Every bundled dashboard with its colour thresholds taken from `thresholds`, the same values
/// the alerts of [`rule_files`] fire at.
///
/// ```
/// let t = obs_mixin::Thresholds { error_ratio: 0.2, latency_p99_seconds: 0.3, ..Default::default() };
/// let service = obs_mixin::dashboards_for(&t)
///     .into_iter()
///     .find(|d| d.uid == "obs-service-overview")
///     .unwrap();
/// let red = |title: &str| {
///     let panel = service.json["panels"].as_array().unwrap().iter()
///         .find(|p| p["title"] == title).unwrap();
///     panel["fieldConfig"]["defaults"]["thresholds"]["steps"][2]["value"].as_f64()
/// };
/// assert_eq!(red("5xx ratio"), Some(0.2));
/// assert_eq!(red("p99 latency"), Some(0.3));
/// ```
pub fn dashboards_for(thresholds: &Thresholds) -> Vec<Dashboard> {
    dashboards::all(thresholds)
}

/// The form of a dashboard that Grafana's UI "Import" accepts: datasources become `__inputs`
/// (`DS_PROMETHEUS`, `DS_LOKI`), with `__requires` naming Grafana, the datasources and the panel
/// types used.
pub fn for_import(dashboard: &Dashboard) -> serde_json::Value {
    dashboards::for_import(&dashboard.json)
}

/// Every rule file, with thresholds filled from `thresholds`, and one per SLO of
/// `thresholds.slos` ([`slo::group`]): each of [`rule_groups`] in its file.
pub fn rule_files(thresholds: &Thresholds) -> Vec<RuleFile> {
    assembly::files(thresholds)
}

/// Every rule group for `thresholds`, after the passes, with the file each goes into: the
/// recording rules, one group per alert group, then one per SLO of `thresholds.slos`. The one
/// renderer of the rules: the compose target writes each as a rule file ([`rule_files`]), the
/// Kubernetes target puts them all into one `PrometheusRule`.
pub fn rule_groups(thresholds: &Thresholds) -> Vec<(String, rule_model::RuleGroup)> {
    assembly::groups(thresholds)
}

/// The recording rules the dashboards read (`obs-recording-rules.yaml`; they do not depend on
/// the thresholds). A Prometheus without them shows no data on the panels built on them.
pub fn recording_rule_file() -> RuleFile {
    rule_files(&Thresholds::default())
        .into_iter()
        .find(|f| f.file_name == rules::RECORDING_FILE)
        .expect("the recording rules are a rule file")
}

/// The titles of the panels of `dashboard` that read a recording rule of
/// [`recording_rule_file`].
///
/// ```
/// let service = obs_mixin::dashboards().into_iter().find(|d| d.uid == "obs-service-overview").unwrap();
/// assert!(obs_mixin::panels_on_recording_rules(&service).contains(&"Request rate".to_string()));
/// ```
pub fn panels_on_recording_rules(dashboard: &Dashboard) -> Vec<String> {
    let records: Vec<&str> = rules::recordings().iter().map(|r| r.record).collect();
    let mut titles: Vec<String> = contract::panels(&dashboard.json)
        .into_iter()
        .filter(|p| {
            p["targets"].as_array().into_iter().flatten().any(|t| {
                t["expr"].as_str().is_some_and(|e| {
                    contract::metrics_in_expr(e)
                        .is_ok_and(|names| names.iter().any(|n| records.contains(&n.as_str())))
                })
            })
        })
        .filter_map(|p| p["title"].as_str().map(String::from))
        .collect();
    titles.dedup();
    titles
}

/// The promtool unit-test files (`alert-rules/tests/*.yaml`) for the rules of
/// [`Thresholds::default`]: a firing and a not-firing case for every alert. The rule files they
/// reference are named relative to the test file (`../<rule file>`).
pub fn rule_test_files() -> Vec<RuleFile> {
    assembly::test_files()
}

/// The promtool unit-test files of the SLOs of `thresholds.slos`, one per SLO
/// (`tests/obs-slo-<name>.test.yaml`): a fast burn fires only the critical alert, a slow burn
/// only the warning, half the budget nothing.
pub fn slo_test_files(thresholds: &Thresholds) -> Vec<RuleFile> {
    assembly::slo_test_files(thresholds)
}
