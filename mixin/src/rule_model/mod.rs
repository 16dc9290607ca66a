//! The one rule model every rule file is written from: a rule file of groups ([`RuleGroups`]),
//! each a list of alerting and recording rules ([`Rule`]), as serde structs in the shape
//! Prometheus reads. The bundled alerts and recording rules ([`crate::rules`]) and the SLO rules
//! ([`crate::slo`]) render into it; [`passes`] then run over every group, and
//! [`test_file`] is the format of the promtool unit tests written beside the rules.
//!
//! Every alerting rule names the dashboard panel that shows its series ([`DashboardRef`]): a
//! required field, so an alert without a link does not compile; the passes turn it into the
//! `dashboard_url` annotation.
//!
//! Labels and annotations are [`Labels`], ordered maps: they serialise in the order they were
//! written, so each renderer decides the order of its keys and the YAML keeps it.

pub mod passes;
pub mod test_file;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::duration::Duration;

/// Labels or annotations, in the order they were inserted (replacing a value keeps its place).
pub type Labels = IndexMap<String, String>;

/// One Prometheus rule file, as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleFile {
    /// File name under `alert-rules/` (and `prometheus/rules/` in the generated stack).
    pub file_name: String,
    /// The YAML text, as `promtool check rules` reads it.
    pub yaml: String,
}

impl RuleFile {
    /// `doc` as the YAML of `file_name`, after the comment lines of `header`.
    pub(crate) fn new(file_name: String, header: &str, doc: &impl Serialize) -> RuleFile {
        RuleFile {
            file_name,
            yaml: format!(
                "{header}{}",
                crate::yaml::to_string(doc).expect("rule files serialise")
            ),
        }
    }
}

/// What a rule file holds: `groups`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleGroups {
    /// The groups, each evaluated on its own.
    pub groups: Vec<RuleGroup>,
}

/// One rule group: rules Prometheus evaluates in order, at one interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleGroup {
    /// Group name, unique across the rule files (`obs-service`, `obs-slo-<name>`).
    pub name: String,
    /// The rules, in evaluation order: a rule reading a recorded series of its own group sees
    /// the value of the same evaluation when it comes after the recording rule.
    pub rules: Vec<Rule>,
}

impl RuleGroup {
    /// The alerting rules of the group, to change in place (what the [`passes`] do).
    pub fn alerts_mut(&mut self) -> impl Iterator<Item = &mut AlertingRule> {
        self.rules.iter_mut().filter_map(|r| match r {
            Rule::Alert(a) => Some(a),
            Rule::Record(_) => None,
        })
    }

    /// The alerting rule named `alert`, if the group has it.
    pub fn alert(&self, alert: &str) -> Option<&AlertingRule> {
        self.rules.iter().find_map(|r| match r {
            Rule::Alert(a) if a.alert == alert => Some(a),
            _ => None,
        })
    }
}

/// One rule: an alert or a recording.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Rule {
    /// An alerting rule.
    Alert(AlertingRule),
    /// A recording rule.
    Record(RecordingRule),
}

impl Rule {
    /// The alert's name, for an alerting rule.
    pub fn alert(&self) -> Option<&str> {
        match self {
            Rule::Alert(a) => Some(&a.alert),
            Rule::Record(_) => None,
        }
    }

    /// The recorded series' name, for a recording rule.
    pub fn record(&self) -> Option<&str> {
        match self {
            Rule::Alert(_) => None,
            Rule::Record(r) => Some(&r.record),
        }
    }

    /// The PromQL expression.
    pub fn expr(&self) -> &str {
        match self {
            Rule::Alert(a) => &a.expr,
            Rule::Record(r) => &r.expr,
        }
    }

    /// The labels the rule adds to its result.
    pub fn labels(&self) -> &Labels {
        match self {
            Rule::Alert(a) => &a.labels,
            Rule::Record(r) => &r.labels,
        }
    }
}

/// An alerting rule, its keys in the order Prometheus' own examples write them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertingRule {
    /// CamelCase alert name.
    pub alert: String,
    /// PromQL expression; every series of its result is an alert.
    pub expr: String,
    /// How long the expression must hold before the alert fires (absent: at once).
    #[serde(rename = "for", default, skip_serializing_if = "Option::is_none")]
    pub for_: Option<Duration>,
    /// Labels added to the alert, `severity` among them.
    #[serde(default, skip_serializing_if = "Labels::is_empty")]
    pub labels: Labels,
    /// Annotations: `summary`, `description`, and `runbook_url` and `dashboard_url` once
    /// [`passes`] ran.
    #[serde(default, skip_serializing_if = "Labels::is_empty")]
    pub annotations: Labels,
    /// The dashboard panel that shows the alert's series, which the passes turn into its
    /// `dashboard_url`. Not part of the rule file: a rule read back from one has its link in
    /// its annotations already, and this field is [`DashboardRef::READ_BACK`].
    #[serde(skip, default = "DashboardRef::read_back")]
    pub dashboard: DashboardRef,
}

/// The dashboard and panel that show an alert's series, and which of the alert's labels fill
/// which of the dashboard's variables. The panel is named by its title, so its id (what
/// Grafana's `viewPanel` takes) is looked up in the rendered dashboard and stays right when
/// panels are added before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DashboardRef {
    /// The dashboard's uid (`obs-service-overview`).
    pub uid: &'static str,
    /// The title of the panel, unique on that dashboard.
    pub panel: &'static str,
    /// `(variable, label)` pairs: `var-<variable>` is set to the alert's `<label>`. Only
    /// variables the dashboard has, and only labels every alert of the rule carries.
    pub variables: &'static [(&'static str, &'static str)],
}

impl DashboardRef {
    /// What a rule read back from a rule file holds: no reference (its `dashboard_url` is in
    /// its annotations).
    pub const READ_BACK: DashboardRef = DashboardRef {
        uid: "",
        panel: "",
        variables: &[],
    };

    fn read_back() -> DashboardRef {
        DashboardRef::READ_BACK
    }

    /// `job` and `instance`, each set from the label of the same name.
    pub const JOB_AND_INSTANCE: &'static [(&'static str, &'static str)] =
        &[("job", "job"), ("instance", "instance")];

    /// `job`, set from the label of the same name.
    pub const JOB: &'static [(&'static str, &'static str)] = &[("job", "job")];
}

/// A recording rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordingRule {
    /// The recorded series name (`level:metric:operations`).
    pub record: String,
    /// PromQL expression.
    pub expr: String,
    /// Labels added to the recorded series.
    #[serde(default, skip_serializing_if = "Labels::is_empty")]
    pub labels: Labels,
}

/// Alert severity, the `severity` label Alertmanager routes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Someone must act now.
    Critical,
    /// Someone must act within working hours.
    Warning,
    /// For awareness only.
    Info,
}

impl Severity {
    /// The label's name.
    pub const LABEL: &'static str = "severity";

    /// The `severity` label value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// A recorded series as the contract and the reference know it: its name, its expression and
/// every label it carries (a [`RecordingRule`] lists only the labels it adds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recording {
    /// The recorded series name.
    pub record: &'static str,
    /// Its expression.
    pub expr: String,
    /// Every label the recorded series carries.
    pub labels: &'static [&'static str],
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_serialise_in_prometheus_order_and_read_back() {
        let group = RuleGroup {
            name: "g".into(),
            rules: vec![
                Rule::Record(RecordingRule {
                    record: "job:x:rate5m".into(),
                    expr: "sum by (job) (rate(x[5m]))".into(),
                    labels: Labels::new(),
                }),
                Rule::Alert(AlertingRule {
                    alert: "XHigh".into(),
                    expr: "job:x:rate5m > 1".into(),
                    for_: Some(Duration::from_static("5m")),
                    labels: Labels::from([("severity".into(), "warning".into())]),
                    annotations: Labels::from([
                        ("summary".into(), "s".into()),
                        ("description".into(), "d".into()),
                    ]),
                    dashboard: DashboardRef::READ_BACK,
                }),
            ],
        };
        let doc = RuleGroups {
            groups: vec![group],
        };
        let yaml = serde_yaml_ng::to_string(&doc).unwrap();
        assert_eq!(
            yaml,
            "groups:\n- name: g\n  rules:\n  - record: job:x:rate5m\n    expr: sum by (job) (rate(x[5m]))\n  - alert: XHigh\n    expr: job:x:rate5m > 1\n    for: 5m\n    labels:\n      severity: warning\n    annotations:\n      summary: s\n      description: d\n"
        );
        let back: RuleGroups = serde_yaml_ng::from_str(&yaml).unwrap();
        assert_eq!(back, doc);
        assert_eq!(back.groups[0].rules[0].record(), Some("job:x:rate5m"));
        assert_eq!(back.groups[0].rules[1].alert(), Some("XHigh"));
        assert!(back.groups[0].alert("XHigh").is_some());
    }
}
