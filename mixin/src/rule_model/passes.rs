//! Passes over finished rule groups, as kubernetes-mixin's `lib/add-runbook-links.libsonnet`:
//! what every alert gets is stamped here once, over every group of every rule file, instead of
//! by each renderer. The assembly of the rule files ([`crate::rule_files`]) runs them.

use super::{AlertingRule, DashboardRef, RuleGroup};
use crate::Dashboard;

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

/// The annotation [`add_dashboard_links`] stamps.
pub const DASHBOARD_ANNOTATION: &str = "dashboard_url";

/// Escapes `value` for a URL query the way Go's `url.QueryEscape` (Prometheus' template
/// function `urlquery`) does: letters, digits and `-_.~` stay, a space becomes `+`, every
/// other byte `%XX`.
pub fn query_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Why a [`DashboardRef`] cannot become a link: a mistake in the mixin's code, named with the
/// alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkError(pub String);

impl std::fmt::Display for LinkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LinkError {}

/// The `dashboard_url` of `alert`: `<grafana_url>/d/<uid>?var-<variable>=<label>…&viewPanel=<id>`
/// with the panel's id looked up by its title in `dashboards`. A label the rule sets itself is
/// written as its value; any other as the template `{{ $labels.<label> | urlquery }}`, which
/// Prometheus fills from the alert's series.
pub fn dashboard_url(
    alert: &AlertingRule,
    grafana_url: &str,
    dashboards: &[Dashboard],
) -> Result<String, LinkError> {
    let link: &DashboardRef = &alert.dashboard;
    let err = |why: String| Err(LinkError(format!("alert {}: {why}", alert.alert)));
    let Some(dashboard) = dashboards.iter().find(|d| d.uid == link.uid) else {
        return err(format!("no dashboard has the uid {:?}", link.uid));
    };
    let ids: Vec<u64> = crate::contract::panels(&dashboard.json)
        .into_iter()
        .filter(|p| p["type"] != "row" && p["title"] == link.panel)
        .filter_map(|p| p["id"].as_u64())
        .collect();
    let [id] = ids[..] else {
        return err(format!(
            "{} has {} panels titled {:?}, not one",
            link.uid,
            ids.len(),
            link.panel
        ));
    };
    let mut query = Vec::new();
    for (variable, label) in link.variables {
        let has = dashboard.json["templating"]["list"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|v| v["name"] == *variable);
        if !has {
            return err(format!("{} has no variable {variable:?}", link.uid));
        }
        let value = match alert.labels.get(*label) {
            Some(fixed) => query_escape(fixed),
            None => format!("{{{{ $labels.{label} | urlquery }}}}"),
        };
        query.push(format!("var-{variable}={value}"));
    }
    query.push(format!("viewPanel={id}"));
    Ok(format!(
        "{}/d/{}?{}",
        grafana_url.trim_end_matches('/'),
        link.uid,
        query.join("&")
    ))
}

/// Stamps [`dashboard_url`] on every alert of `group` as its `dashboard_url` annotation, right
/// after the `runbook_url` (or last): what is wrong, what to do, where to look.
pub fn add_dashboard_links(
    group: &mut RuleGroup,
    grafana_url: &str,
    dashboards: &[Dashboard],
) -> Result<(), LinkError> {
    for alert in group.alerts_mut() {
        let url = dashboard_url(alert, grafana_url, dashboards)?;
        let annotations = &mut alert.annotations;
        annotations.shift_remove(DASHBOARD_ANNOTATION);
        let at = annotations
            .get_index_of(RUNBOOK_ANNOTATION)
            .map_or(annotations.len(), |i| i + 1);
        annotations.shift_insert(at, DASHBOARD_ANNOTATION.into(), url);
    }
    Ok(())
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
            dashboard: DashboardRef {
                uid: "obs-service-overview",
                panel: "Targets up",
                variables: DashboardRef::JOB_AND_INSTANCE,
            },
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

    #[test]
    fn every_alert_links_its_panel_with_its_labels_as_variables() {
        let dashboards = crate::dashboards();
        let mut group = RuleGroup {
            name: "g".into(),
            rules: vec![alert("TargetDown", &[("summary", "s")])],
        };
        add_runbook_links(&mut group);
        add_dashboard_links(&mut group, "https://grafana.example.com/", &dashboards).unwrap();
        let a = group.alert("TargetDown").unwrap();
        assert_eq!(
            a.annotations.keys().collect::<Vec<_>>(),
            ["summary", "runbook_url", "dashboard_url"]
        );
        let service = dashboards
            .iter()
            .find(|d| d.uid == "obs-service-overview")
            .unwrap();
        let id = crate::contract::panels(&service.json)
            .into_iter()
            .find(|p| p["title"] == "Targets up")
            .unwrap()["id"]
            .clone();
        assert_eq!(
            a.annotations["dashboard_url"],
            format!(
                "https://grafana.example.com/d/obs-service-overview?var-job={{{{ $labels.job | urlquery }}}}&var-instance={{{{ $labels.instance | urlquery }}}}&viewPanel={id}"
            )
        );
    }

    #[test]
    fn a_label_the_rule_sets_is_written_as_its_value() {
        let mut rule = alert("Burn", &[]);
        let Rule::Alert(a) = &mut rule else {
            unreachable!()
        };
        a.labels.insert("job".into(), "my api".into());
        a.dashboard.variables = DashboardRef::JOB;
        let url = dashboard_url(a, "http://localhost:3000", &crate::dashboards()).unwrap();
        assert!(url.contains("?var-job=my+api&viewPanel="), "{url}");
    }

    #[test]
    fn a_reference_the_dashboards_lack_is_an_error_naming_the_alert() {
        let dashboards = crate::dashboards();
        let Rule::Alert(mut a) = alert("X", &[]) else {
            unreachable!()
        };
        let twice = Dashboard {
            uid: "obs-twice".into(),
            file_name: "obs-twice.json".into(),
            title: "t".into(),
            description: "d".into(),
            json: serde_json::json!({"panels": [
                {"id": 1, "type": "stat", "title": "Up"},
                {"id": 2, "type": "timeseries", "title": "Up"},
            ]}),
        };
        a.dashboard.uid = "obs-twice";
        a.dashboard.panel = "Up";
        let e = dashboard_url(&a, "http://g", std::slice::from_ref(&twice)).unwrap_err();
        assert_eq!(
            e.0,
            "alert X: obs-twice has 2 panels titled \"Up\", not one"
        );
        a.dashboard.uid = "obs-service-overview";
        a.dashboard.panel = "No such panel";
        assert!(dashboard_url(&a, "http://g", &dashboards).is_err());
        a.dashboard.panel = "Targets up";
        a.dashboard.variables = &[("route", "http_route"), ("nope", "x")];
        let e = dashboard_url(&a, "http://g", &dashboards).unwrap_err();
        assert!(e.0.contains("no variable \"nope\""), "{e}");
        a.dashboard.uid = "obs-nowhere";
        assert!(dashboard_url(&a, "http://g", &dashboards).is_err());
    }

    #[test]
    fn query_escape_matches_go() {
        assert_eq!(query_escape("api:8080"), "api%3A8080");
        assert_eq!(query_escape("/users/{id} x"), "%2Fusers%2F%7Bid%7D+x");
        assert_eq!(query_escape("a-b_c.d~"), "a-b_c.d~");
    }
}
