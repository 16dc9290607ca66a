//! `obs-gen dashboards list` and `obs-gen dashboards export`: the bundled dashboards on their
//! own, for a Grafana and a Prometheus obs-gen did not set up.

use std::path::Path;

use super::messages;
use crate::error::Error;
use crate::render::OutFile;
use crate::write::{self, Planned, Policy};

/// One line per dashboard: uid, file, what it answers.
pub(super) fn list(out: &mut dyn std::io::Write) {
    for d in obs_mixin::dashboards() {
        let _ = writeln!(out, "{}\t{}\t{}", d.uid, d.file_name, d.description);
    }
}

/// Writes the dashboards (in the form Grafana's "Import" takes when `for_import`) and the
/// recording rules they read into `dir`.
pub(super) fn export(
    dir: &Path,
    for_import: bool,
    out: &mut dyn std::io::Write,
) -> Result<(), Error> {
    let mut files: Vec<Planned> = obs_mixin::dashboards()
        .iter()
        .map(|d| {
            let json = if for_import {
                obs_mixin::for_import(d)
            } else {
                d.json.clone()
            };
            let contents =
                serde_json::to_string_pretty(&json).expect("dashboards serialise") + "\n";
            Planned {
                file: OutFile {
                    path: d.file_name.clone(),
                    contents,
                },
                policy: Policy::Managed,
            }
        })
        .collect();
    let n = files.len();
    // The panels built on recording rules show nothing in a Prometheus without them, so the
    // rules travel with the dashboards.
    let rules = obs_mixin::recording_rule_file();
    files.push(Planned {
        file: OutFile {
            path: rules.file_name.clone(),
            contents: rules.yaml,
        },
        policy: Policy::Managed,
    });
    let plan = write::plan(dir, files, false)?;
    plan.apply()?;
    let on_rules: Vec<String> = obs_mixin::dashboards()
        .iter()
        .map(|d| {
            (
                d.title.clone(),
                obs_mixin::panels_on_recording_rules(d).len(),
            )
        })
        .filter(|(_, n)| *n > 0)
        .map(|(title, n)| format!("{n} of {title}"))
        .collect();
    messages::exported(n, &rules.file_name, dir, &on_rules, out);
    Ok(())
}
