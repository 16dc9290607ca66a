//! The assembly of every rule file, above [`crate::rules`] and [`crate::slo`], as
//! kubernetes-mixin's `mixin.libsonnet` merges its alerts and rules: the recording rules, the
//! alert groups and one group per SLO, each with its file, go once through the [`passes`]; the
//! rule files, the groups of a Kubernetes `PrometheusRule` and the promtool tests are all
//! written from these finished groups.

use crate::rule_model::{RuleFile, RuleGroup, RuleGroups, passes};
use crate::slo::Slo;
use crate::thresholds::Thresholds;
use crate::{rules, slo};

/// A rule group on its way into its file.
struct Placed {
    file_name: String,
    /// The comment the file opens with.
    header: &'static str,
    group: RuleGroup,
}

impl Placed {
    fn into_pair(self) -> (String, RuleGroup) {
        (self.file_name, self.group)
    }
}

fn bundled(thresholds: &Thresholds) -> impl Iterator<Item = Placed> {
    rules::groups(thresholds)
        .into_iter()
        .map(|(file_name, group)| Placed {
            file_name,
            header: rules::HEADER,
            group,
        })
}

fn slo_groups(slos: &[Slo]) -> impl Iterator<Item = Placed> + '_ {
    slos.iter().map(|slo| Placed {
        file_name: slo::rule_file_name(slo),
        header: slo::HEADER,
        group: slo::group(slo),
    })
}

/// The one place the passes run: every group that reaches a rule file comes through here.
/// The dashboard links point into the dashboards rendered for the same `thresholds`.
fn finished(placed: impl Iterator<Item = Placed>, thresholds: &Thresholds) -> Vec<Placed> {
    let dashboards = crate::dashboards_for(thresholds);
    placed
        .map(|mut p| {
            passes::add_runbook_links(&mut p.group);
            // Every alert names its panel in code; a reference no dashboard has is a bug of
            // the mixin that its tests catch, never an input error.
            passes::add_dashboard_links(&mut p.group, &thresholds.grafana_url, &dashboards)
                .unwrap_or_else(|e| panic!("{e}"));
            p
        })
        .collect()
}

/// Every group for `thresholds`, finished: the recording rules, the alert groups, then one per
/// SLO of `thresholds.slos`.
fn all(thresholds: &Thresholds) -> Vec<Placed> {
    finished(
        bundled(thresholds).chain(slo_groups(&thresholds.slos)),
        thresholds,
    )
}

/// Every finished rule group for `thresholds`, with its file.
pub(crate) fn groups(thresholds: &Thresholds) -> Vec<(String, RuleGroup)> {
    all(thresholds).into_iter().map(Placed::into_pair).collect()
}

/// Every rule file for `thresholds`, one group each.
pub(crate) fn files(thresholds: &Thresholds) -> Vec<RuleFile> {
    all(thresholds)
        .into_iter()
        .map(|p| {
            let doc = RuleGroups {
                groups: vec![p.group],
            };
            RuleFile::new(p.file_name, p.header, &doc)
        })
        .collect()
}

/// The promtool tests of the bundled rules, for the default thresholds.
pub(crate) fn test_files() -> Vec<RuleFile> {
    let defaults = Thresholds::default();
    let finished: Vec<(String, RuleGroup)> = finished(bundled(&defaults), &defaults)
        .into_iter()
        .map(Placed::into_pair)
        .collect();
    rules::test_files(&finished)
}

/// The promtool tests of the SLOs of `thresholds`, one file per SLO.
pub(crate) fn slo_test_files(thresholds: &Thresholds) -> Vec<RuleFile> {
    let slos = &thresholds.slos;
    slos.iter()
        .zip(finished(slo_groups(slos), thresholds))
        .map(|(slo, p)| slo::test_file(slo, &p.group))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rule_model::Rule;

    /// The default thresholds with the example SLOs of docs/slos.md (the checked-in files).
    fn with_examples() -> Thresholds {
        Thresholds {
            slos: slo::examples(),
            ..Thresholds::default()
        }
    }

    #[test]
    fn every_alert_of_every_file_links_its_runbook() {
        let thresholds = with_examples();
        let groups = groups(&thresholds);
        assert_eq!(groups.len(), 3 + thresholds.slos.len());
        let mut alerts = 0;
        for (file, group) in &groups {
            for rule in &group.rules {
                if let Rule::Alert(a) = rule {
                    assert_eq!(
                        a.annotations.get("runbook_url"),
                        Some(&rules::runbook_url(&a.alert)),
                        "{file}: {}",
                        a.alert
                    );
                    alerts += 1;
                }
            }
        }
        let bundled: usize = rules::alert_groups(&thresholds)
            .iter()
            .map(|g| g.alerts.len())
            .sum();
        assert_eq!(alerts, bundled + 2 * thresholds.slos.len());
    }

    #[test]
    fn tests_assert_the_finished_rules() {
        let thresholds = with_examples();
        for file in test_files().iter().skip(1) {
            assert!(file.yaml.contains("runbook_url: "), "{}", file.file_name);
        }
        let slo_tests = slo_test_files(&thresholds);
        assert_eq!(slo_tests.len(), thresholds.slos.len());
        for file in &slo_tests {
            let link = format!("runbook_url: {}", rules::runbook_url(slo::SLOW_BURN));
            assert!(file.yaml.contains(&link), "{}", file.file_name);
        }
    }

    #[test]
    fn files_hold_the_finished_groups() {
        let thresholds = with_examples();
        let files = files(&thresholds);
        let groups = groups(&thresholds);
        assert_eq!(files.len(), groups.len());
        for (file, (file_name, group)) in files.iter().zip(&groups) {
            assert_eq!(&file.file_name, file_name);
            let read: RuleGroups = serde_yaml_ng::from_str(&file.yaml).unwrap();
            // The dashboard references stay behind: their links are in the annotations.
            let mut expected = group.clone();
            for a in expected.alerts_mut() {
                a.dashboard = crate::rule_model::DashboardRef::READ_BACK;
            }
            assert_eq!(read.groups, [expected], "{file_name}");
        }
    }

    #[test]
    fn every_file_passes_the_contract() {
        for file in files(&with_examples()) {
            let v = crate::contract::check_rule_file(&file.yaml);
            assert!(v.is_empty(), "{}: {v:?}", file.file_name);
        }
    }
}
