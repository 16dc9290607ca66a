//! Passes over finished rule groups, as kubernetes-mixin's `lib/add-runbook-links.libsonnet`:
//! what every alert gets is stamped here once, over every group of every rule file, instead of
//! by each renderer. The assembly of the rule files ([`crate::rule_files`]) runs them.

use super::RuleGroup;

/// Where the runbooks live; each alert links to `#<alertname in lower case>`.
pub const RUNBOOK_BASE: &str = "https://github.com/obs-rs/obs/blob/main/docs/runbooks.md";

/// The annotation [`add_runbook_links`] stamps.
pub const RUNBOOK_ANNOTATION: &str = "runbook_url";

/// The runbook link of an alert: its section of `docs/runbooks.md`, whose anchor GitHub makes
/// from the `## AlertName` heading.
pub fn runbook_url(alert: &str) -> String {
    format!("{RUNBOOK_BASE}#{}", alert.to_lowercase())
}

/// Stamps [`runbook_url`] on every alert of `group` as its `runbook_url` annotation, right
/// after the `description` (or last when there is none): the description says what is wrong,
/// the link what to do about it.
pub fn add_runbook_links(group: &mut RuleGroup) {
    for alert in group.alerts_mut() {
        let url = runbook_url(&alert.alert);
        let annotations = &mut alert.annotations;
        annotations.shift_remove(RUNBOOK_ANNOTATION);
        let at = annotations
            .get_index_of("description")
            .map_or(annotations.len(), |i| i + 1);
        annotations.shift_insert(at, RUNBOOK_ANNOTATION.into(), url);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rule_model::{AlertingRule, Labels, RecordingRule, Rule};

    fn alert(name: &str, annotations: &[(&str, &str)]) -> Rule {
        Rule::Alert(AlertingRule {
            alert: name.into(),
            expr: "up == 0".into(),
            for_: None,
            labels: Labels::new(),
            annotations: annotations
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        })
    }

    #[test]
    fn every_alert_links_its_runbook_after_the_description() {
        let mut group = RuleGroup {
            name: "g".into(),
            rules: vec![
                Rule::Record(RecordingRule {
                    record: "job:up:sum".into(),
                    expr: "sum by (job) (up)".into(),
                    labels: Labels::new(),
                }),
                alert("TargetDown", &[("summary", "s"), ("description", "d")]),
                alert("SloBurn", &[("description", "d"), ("summary", "s")]),
                alert("Bare", &[]),
                alert("Stale", &[("runbook_url", "old"), ("description", "d")]),
            ],
        };
        add_runbook_links(&mut group);
        let keys = |name: &str| -> Vec<String> {
            group
                .alert(name)
                .unwrap()
                .annotations
                .keys()
                .cloned()
                .collect()
        };
        assert_eq!(
            keys("TargetDown"),
            ["summary", "description", "runbook_url"]
        );
        assert_eq!(keys("SloBurn"), ["description", "runbook_url", "summary"]);
        assert_eq!(keys("Bare"), ["runbook_url"]);
        assert_eq!(keys("Stale"), ["description", "runbook_url"]);
        assert_eq!(
            group.alert("TargetDown").unwrap().annotations["runbook_url"],
            format!("{RUNBOOK_BASE}#targetdown")
        );
        assert_eq!(
            group.alert("Stale").unwrap().annotations["runbook_url"],
            format!("{RUNBOOK_BASE}#stale")
        );
        assert!(group.rules[0].labels().is_empty());
        let Rule::Record(recording) = &group.rules[0] else {
            panic!("the recording rule stays first")
        };
        assert_eq!(recording.record, "job:up:sum");
    }
}
