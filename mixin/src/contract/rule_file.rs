//! A Prometheus rule file against the contract: every expression, with the file's own recording
//! rules known, and annotations that use only labels the expression's result keeps.

use std::collections::HashMap;

use super::Violation;
use super::promql::analyse;

/// Checks every expression of a Prometheus rule file (YAML text). Recording rules defined in
/// the same file count as known metrics.
pub fn check_rule_file(yaml: &str) -> Vec<Violation> {
    let doc: serde_yaml_ng::Value = match serde_yaml_ng::from_str(yaml) {
        Ok(doc) => doc,
        Err(e) => {
            return vec![Violation {
                location: "rule file".into(),
                expr: String::new(),
                message: format!("not valid YAML: {e}"),
            }];
        }
    };
    let rules: Vec<&serde_yaml_ng::Value> = doc["groups"]
        .as_sequence()
        .into_iter()
        .flatten()
        .flat_map(|g| g["rules"].as_sequence().into_iter().flatten())
        .collect();
    let local: HashMap<String, ()> = rules
        .iter()
        .filter_map(|r| r["record"].as_str())
        .map(|r| (r.to_string(), ()))
        .collect();
    let mut out = Vec::new();
    for rule in rules {
        let name = rule["alert"]
            .as_str()
            .or_else(|| rule["record"].as_str())
            .unwrap_or("(unnamed)");
        let expr = rule["expr"].as_str().unwrap_or("");
        let location = format!("rule {name}");
        let (violations, labels) = analyse(&location, expr, &local);
        out.extend(violations);
        // Annotations may only use labels the alert's result keeps.
        let (Some(labels), Some(annotations)) = (labels, rule["annotations"].as_mapping()) else {
            continue;
        };
        for (key, text) in annotations {
            let text = text.as_str().unwrap_or("");
            for used in text.split("$labels.").skip(1) {
                let label: String = used
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !labels.contains(&label) {
                    out.push(Violation {
                        location: location.clone(),
                        expr: expr.into(),
                        message: format!(
                            "annotation {} uses `$labels.{label}`, which the expression's result does not carry",
                            key.as_str().unwrap_or("?")
                        ),
                    });
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_files_know_their_own_recordings() {
        let yaml = "groups:\n- name: g\n  rules:\n  - record: job:foo:rate5m\n    expr: sum by (job) (rate(process_cpu_seconds_total[5m]))\n  - alert: A\n    expr: job:foo:rate5m > 1\n  - alert: B\n    expr: http_requests_total > 1\n";
        let v = check_rule_file(yaml);
        assert_eq!(v.len(), 1, "{v:?}");
        assert_eq!(v[0].location, "rule B");
        assert!(v[0].message.contains("`http_requests_total`"));
        let yaml = "groups:\n- name: g\n  rules:\n  - alert: C\n    expr: sum by (job) (process_open_fds) > 1\n    annotations:\n      summary: '{{ $labels.job }} on {{ $labels.instance }}'\n";
        let v = check_rule_file(yaml);
        assert_eq!(v.len(), 1, "{v:?}");
        assert!(v[0].message.contains("`$labels.instance`"), "{v:?}");
    }
}
