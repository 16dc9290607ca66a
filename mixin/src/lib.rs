//! The obs monitoring mixin: Grafana dashboards and Prometheus alerting and recording rules,
//! generated from code the way the Prometheus monitoring mixins are, so every query names exactly
//! what [`obs_sdk::catalogue`] lists.
//!
//! The JSON in `dashboards/` and the YAML in `alert-rules/` at the top of the repository are this
//! crate's output for the default [`Thresholds`]; a test fails when they drift apart.

/// Alert thresholds and `for` durations. Every field has a documented default; `obs-gen` fills
/// them from the `[alerts]` table of `obs.toml`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Thresholds {
    /// Ratio of 5xx responses above which `HighErrorRate` fires. Default `0.05`.
    pub error_ratio: f64,
    /// How long the error ratio must stay high. Default `"5m"`.
    pub error_ratio_for: String,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self { error_ratio: 0.05, error_ratio_for: "5m".into() }
    }
}

/// One bundled Grafana dashboard.
#[derive(Debug, Clone, PartialEq)]
pub struct Dashboard {
    /// Stable Grafana uid.
    pub uid: String,
    /// File name under `dashboards/` (and in the generated stack), e.g. `obs-service-overview.json`.
    pub file_name: String,
    /// Dashboard title.
    pub title: String,
    /// One line: the question this dashboard answers (listed in the README and by
    /// `obs-gen dashboards list`).
    pub description: String,
    /// The dashboard model, in its provisioned form (fixed datasource uids).
    pub json: serde_json::Value,
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

/// Every bundled dashboard. (Stub: filled in by the dashboards work.)
pub fn dashboards() -> Vec<Dashboard> {
    Vec::new()
}

/// The form of a dashboard that Grafana's UI "Import" accepts: datasources become `__inputs`.
pub fn for_import(dashboard: &Dashboard) -> serde_json::Value {
    dashboard.json.clone()
}

/// One Prometheus rule file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleFile {
    /// File name under `alert-rules/` (and `prometheus/rules/` in the generated stack).
    pub file_name: String,
    /// The YAML text, as `promtool check rules` reads it.
    pub yaml: String,
}

/// Every rule file, with thresholds filled from `thresholds`. (Stub: filled in by the rules work.)
pub fn rule_files(thresholds: &Thresholds) -> Vec<RuleFile> {
    let _ = thresholds;
    Vec::new()
}
