//! The service's log lines: every line JSON, the fields the SDK always writes at the top level,
//! and the doctor's request found by its `request_id`.

use std::io::BufRead as _;

use obs_catalogue as catalogue;

use super::report::{Checks, snippet};

/// Checks `lines`, in which the doctor's request `request_id` should appear.
pub(super) fn check_logs(c: &mut Checks, lines: &[String], request_id: &str) {
    let lines: Vec<(usize, &str)> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty())
        .collect();
    if lines.is_empty() {
        c.fail(
            "logs",
            "no log line read",
            "give the service's stdout or OBS_LOG_FILE (and let INFO through: OBS_LOG=info), so the access log line of the doctor's request appears",
        );
        return;
    }
    let mut objects = Vec::new();
    let mut not_json = Vec::new();
    for (n, l) in &lines {
        match serde_json::from_str::<serde_json::Value>(l) {
            Ok(v) if v.is_object() => objects.push((*n, v)),
            _ => not_json.push(*n),
        }
    }
    if not_json.is_empty() {
        c.pass("log lines are JSON", format!("{} lines", lines.len()));
    } else {
        let first = lines
            .iter()
            .find(|(n, _)| *n == not_json[0])
            .map_or("", |(_, l)| l);
        c.fail(
            "log lines are JSON",
            format!(
                "{} of {} lines are not JSON objects (line {}: {})",
                not_json.len(),
                lines.len(),
                not_json[0],
                snippet(first)
            ),
            "log through obs-service (obs_service::init!) with OBS_LOG_FORMAT=json (the default), and print nothing else to stdout",
        );
    }
    let required: Vec<&str> = catalogue::LOG_FIELDS
        .iter()
        .filter(|f| f.always)
        .map(|f| f.name)
        .collect();
    // (field, lines lacking it, first such line), in the catalogue's order.
    let mut lacking: Vec<(&str, usize, usize)> = Vec::new();
    for f in &required {
        let missing: Vec<usize> = objects
            .iter()
            .filter(|(_, v)| v.get(*f).is_none_or(|x| x.is_null()))
            .map(|(n, _)| *n)
            .collect();
        if let Some(first) = missing.first() {
            lacking.push((f, missing.len(), *first));
        }
    }
    if objects.is_empty() {
        c.skip("log fields", "no JSON line");
    } else if lacking.is_empty() {
        c.pass(
            "log fields",
            format!("every JSON line has {}", required.join(", ")),
        );
    } else {
        let what: Vec<String> = lacking
            .iter()
            .map(|(f, count, first)| format!("{f} ({count} lines, first line {first})"))
            .collect();
        c.fail(
            "log fields",
            format!("missing {}", what.join(", ")),
            "write logs with obs-service's JSON layer (obs_service::init!), which puts these fields at the top level of every line",
        );
    }
    let with_id: Vec<&(usize, serde_json::Value)> = objects
        .iter()
        .filter(|(_, v)| v[catalogue::fields::REQUEST_ID] == request_id)
        .collect();
    if with_id.is_empty() {
        let mentioned = lines.iter().any(|(_, l)| l.contains(request_id));
        c.fail(
            "log request_id",
            if mentioned {
                format!("the request {request_id} is logged, but not in a top-level request_id field")
            } else {
                format!("no line with request_id {request_id} (the x-request-id the doctor sent)")
            },
            "add obs.layer() (obs_service::HttpLayer): it writes an access-log line with the request_id for every request (OBS_LOG must let INFO of obs::access through)",
        );
    } else {
        c.pass(
            "log request_id",
            format!(
                "{} line(s) carry request_id {request_id}, as the response header did",
                with_id.len()
            ),
        );
    }
}

/// Reads stdin line by line on a thread, from now on.
pub(super) fn read_stdin_lines() -> std::sync::mpsc::Receiver<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::super::report::Status;
    use super::*;

    #[test]
    fn logs_without_fields_or_request_id_fail() {
        let mut c = Checks(Vec::new());
        let lines = vec![
            "plain text".to_string(),
            r#"{"timestamp":"t","level":"INFO","message":"m","target":"x","service":"s","env":"e","version":"1","request_id":"abc"}"#.to_string(),
            r#"{"message":"m"}"#.to_string(),
        ];
        check_logs(&mut c, &lines, "abc");
        let by: BTreeMap<&str, Status> = c.0.iter().map(|f| (f.check.as_str(), f.status)).collect();
        assert_eq!(by["log lines are JSON"], Status::Fail);
        assert_eq!(by["log fields"], Status::Fail);
        assert_eq!(by["log request_id"], Status::Pass);
        let fields = c.0.iter().find(|f| f.check == "log fields").unwrap();
        assert!(
            fields.detail.contains("timestamp (1 lines, first line 3)"),
            "{}",
            fields.detail
        );
    }
}
