//! The promtool unit tests of the bundled rules: the recording rules' expected output for
//! obs-service and OpenTelemetry-style series, and a firing and a quiet case for every alert.
//!
//! A firing case asserts the alert's full labels and annotations as the finished rule file has
//! them (after the passes), templates rendered the way Prometheus would.

use super::alerts::{Alert, Scenario};
use super::groups::{HEADER, RECORDING_FILE, alert_groups};
use super::recording;
use crate::rule_model::test_file::{
    AlertTest, ExpAlert, ExprTest, InputSeries, Sample, TestCase, TestFile,
};
use crate::rule_model::{AlertingRule, RuleFile, RuleGroup};
use crate::thresholds::Thresholds;

/// Renders an annotation template the way Prometheus would for `scenario`: `{{ $labels.x }}`
/// from its labels (`{{ $labels.x | urlquery }}` escaped for a URL), `{{ $value … }}` as its
/// rendered value.
pub fn render_template(template: &str, scenario: &Scenario) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find("}}")
            .map(|e| start + e + 2)
            .unwrap_or(rest.len());
        let inner = rest[start + 2..end - 2].trim();
        if let Some(label) = inner.strip_prefix("$labels.") {
            let (label, escape) = match label.split_once('|') {
                Some((label, "urlquery")) | Some((label, " urlquery")) => (label.trim(), true),
                _ => (label, false),
            };
            let value = scenario
                .labels
                .iter()
                .find(|(k, _)| *k == label)
                .map(|(_, v)| *v)
                .unwrap_or("");
            if escape {
                out.push_str(&crate::rule_model::passes::query_escape(value));
            } else {
                out.push_str(value);
            }
        } else if inner.starts_with("$value") {
            out.push_str(scenario.value);
        } else {
            out.push_str(&rest[start..end]);
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

fn input_series<'a>(series: impl IntoIterator<Item = (&'a str, &'a str)>) -> Vec<InputSeries> {
    series
        .into_iter()
        .map(|(series, values)| InputSeries {
            series: series.into(),
            values: values.into(),
        })
        .collect()
}

fn test_case(alert: &Alert, rule: &AlertingRule, scenario: &Scenario, firing: bool) -> TestCase {
    let exp_alerts = if firing {
        let mut exp_labels = rule.labels.clone();
        exp_labels.extend(
            scenario
                .labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        let exp_annotations = rule
            .annotations
            .iter()
            .map(|(k, v)| (k.clone(), render_template(v, scenario)))
            .collect();
        vec![ExpAlert {
            exp_labels,
            exp_annotations,
        }]
    } else {
        Vec::new()
    };
    let what = if firing { "fires" } else { "stays quiet" };
    TestCase {
        name: format!("{} {what}", alert.name),
        interval: "1m".into(),
        input_series: input_series(
            scenario
                .series
                .iter()
                .map(|(s, v)| (s.as_str(), v.as_str())),
        ),
        alert_rule_test: vec![AlertTest {
            eval_time: scenario.eval_time.into(),
            alertname: alert.name.into(),
            exp_alerts,
        }],
        promql_expr_test: Vec::new(),
    }
}

fn test_file_name(rule_file: &str) -> String {
    format!("tests/{}.test.yaml", rule_file.trim_end_matches(".yaml"))
}

fn recording_test_file() -> RuleFile {
    let series = recording::test_series();
    let checks = recording::expr_checks()
        .into_iter()
        .map(|check| ExprTest {
            expr: check.expr,
            eval_time: "10m".into(),
            exp_samples: check
                .samples
                .into_iter()
                .map(|(labels, value)| Sample {
                    labels,
                    value: value.parse().expect("expected values are numbers"),
                })
                .collect(),
        })
        .collect();
    let doc = TestFile {
        rule_files: vec![format!("../{RECORDING_FILE}")],
        evaluation_interval: "1m".into(),
        tests: vec![TestCase {
            name: "RED recording rules for obs-service and OpenTelemetry SDK services".into(),
            interval: "1m".into(),
            input_series: input_series(series.iter().map(|(s, v)| (s.as_str(), *v))),
            alert_rule_test: Vec::new(),
            promql_expr_test: checks,
        }],
    };
    RuleFile::new(test_file_name(RECORDING_FILE), HEADER, &doc)
}

/// The promtool unit-test files for the default thresholds: the recording rules' expected
/// output, then one file per alert group with a firing and a quiet case for every alert.
/// `finished` holds the rule groups of the default thresholds after the passes, with their
/// files: what the tests assert.
pub(crate) fn test_files(finished: &[(String, RuleGroup)]) -> Vec<RuleFile> {
    let alerts = alert_groups(&Thresholds::default())
        .into_iter()
        .map(|group| {
            let rules = finished
                .iter()
                .find(|(file, _)| file == group.file_name)
                .map(|(_, g)| g)
                .expect("every alert group has its rule file");
            let tests = group
                .alerts
                .iter()
                .flat_map(|a| {
                    let rule = rules.alert(a.name).expect("every alert is in its group");
                    [
                        test_case(a, rule, &a.firing, true),
                        test_case(a, rule, &a.quiet, false),
                    ]
                })
                .collect();
            let doc = TestFile {
                rule_files: vec![
                    format!("../{RECORDING_FILE}"),
                    format!("../{}", group.file_name),
                ],
                evaluation_interval: "1m".into(),
                tests,
            };
            RuleFile::new(test_file_name(group.file_name), HEADER, &doc)
        });
    std::iter::once(recording_test_file())
        .chain(alerts)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alerts_follow_mixin_conventions() {
        let mut names = std::collections::HashSet::new();
        for group in alert_groups(&Thresholds::default()) {
            for a in &group.alerts {
                assert!(names.insert(a.name), "duplicate {}", a.name);
                assert!(
                    a.name.chars().next().unwrap().is_ascii_uppercase()
                        && !a.name.contains(['_', '-', ' ']),
                    "{}",
                    a.name
                );
                assert!(!a.summary.is_empty() && !a.description.is_empty());
                assert!(
                    !a.firing.series.is_empty() && !a.quiet.series.is_empty(),
                    "{}",
                    a.name
                );
                for text in [&a.summary, &a.description] {
                    let rendered = render_template(text, &a.firing);
                    assert!(!rendered.contains("{{"), "{}: {rendered}", a.name);
                }
            }
        }
    }

    #[test]
    fn templates_render_labels_and_value() {
        let scenario = Scenario {
            series: vec![],
            eval_time: "1m",
            labels: vec![("job", "api")],
            value: "10%",
        };
        assert_eq!(
            render_template(
                "{{ $value | humanizePercentage }} of {{ $labels.job }}",
                &scenario
            ),
            "10% of api"
        );
    }
}
