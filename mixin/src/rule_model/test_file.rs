//! The promtool unit-test file (`promtool test rules`) as serde structs, in the key order of
//! Prometheus' documentation: what the bundled rules' tests ([`crate::rules`]) and the SLOs'
//! ([`crate::slo`]) are written as.

use serde::Serialize;

use super::Labels;

/// One unit-test file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestFile {
    /// The rule files under test, relative to the test file (`../<rule file>`).
    pub rule_files: Vec<String>,
    /// How often the rules are evaluated, a Prometheus duration.
    pub evaluation_interval: String,
    /// The test cases.
    pub tests: Vec<TestCase>,
}

/// One test case: input series, then what the rules must make of them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestCase {
    /// What it proves.
    pub name: String,
    /// Time between two samples of the input series.
    pub interval: String,
    /// The input series.
    pub input_series: Vec<InputSeries>,
    /// Which alerts fire, and how, at given times.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alert_rule_test: Vec<AlertTest>,
    /// What expressions return at given times.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub promql_expr_test: Vec<ExprTest>,
}

/// One input series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InputSeries {
    /// The series with its labels, in PromQL notation.
    pub series: String,
    /// Its values in promtool's expanding notation (`0+10x20`).
    pub values: String,
}

/// The alerts of one name expected at one time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertTest {
    /// When, from the start of the input series.
    pub eval_time: String,
    /// The alert's name.
    pub alertname: String,
    /// Every firing alert of that name (none: it stays quiet).
    pub exp_alerts: Vec<ExpAlert>,
}

/// One firing alert, asserted in full.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExpAlert {
    /// Every label but `alertname`.
    pub exp_labels: Labels,
    /// Every annotation, templates rendered.
    pub exp_annotations: Labels,
}

/// The samples an expression must return at one time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExprTest {
    /// The expression.
    pub expr: String,
    /// When, from the start of the input series.
    pub eval_time: String,
    /// Every expected sample.
    pub exp_samples: Vec<Sample>,
}

/// One expected sample.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sample {
    /// The series with its labels, in PromQL notation.
    pub labels: String,
    /// Its value.
    pub value: f64,
}
