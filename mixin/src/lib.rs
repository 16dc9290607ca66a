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
