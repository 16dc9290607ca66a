//! `obs-gen check DIR` and the self-check of every run: the stack must parse and keep the name
//! contract of `obs_mixin::contract`, the files of each target keep their safety properties, and
//! `promtool` and `amtool` check the Prometheus and Alertmanager configurations when they are on
//! `PATH`.
//!
//! This file walks a directory and checks each file; `compose` and `kubernetes` hold what is
//! particular to each target's files and tool runs, `tools` finds and runs the programs.

use std::path::Path;

use crate::error::Error;
use crate::model::{CONFIG_FILE, Config, Target};
use crate::render::OutFile;

pub mod compose;
pub mod kubernetes;
mod tools;

pub use tools::find_tool;

/// Checks one file's text; returns the problems, each `path: message`.
pub fn check_file_text(path: &str, text: &str) -> Vec<String> {
    let in_file = |problem: String| format!("{path}: {problem}");
    if path.ends_with(".yml") || path.ends_with(".yaml") {
        let value: serde_yaml_ng::Value = match serde_yaml_ng::from_str(text) {
            Ok(v) => v,
            Err(e) => {
                return vec![format!(
                    "{path}: not valid YAML: {}",
                    crate::error::one_line(&e.to_string())
                )];
            }
        };
        kubernetes::check_object(&value)
            .into_iter()
            .chain(compose::check_yaml(path, text, &value))
            .map(in_file)
            .collect()
    } else if path.ends_with(".json") {
        match serde_json::from_str::<serde_json::Value>(text) {
            Ok(v) => compose::check_json(path, &v)
                .into_iter()
                .map(in_file)
                .collect(),
            Err(e) => vec![format!("{path}: not valid JSON: {e}")],
        }
    } else {
        Vec::new()
    }
}

/// Checks rendered files before anything is written: every YAML and JSON file parses, and the
/// bundled rules and dashboards pass the mixin's name-contract checks.
pub fn self_check(files: &[OutFile]) -> Result<(), Error> {
    let mut problems = Vec::new();
    for f in files {
        problems.extend(check_file_text(&f.path, &f.contents));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::Invalid(
            problems
                .into_iter()
                .map(|p| format!("internal error, generated output is invalid: {p}"))
                .collect(),
        ))
    }
}

fn list_files(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        if path.is_dir() {
            list_files(root, &path, out);
        } else if let Ok(rel) = path.strip_prefix(root) {
            out.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
}

/// Checks the generated directory `dir`, printing one line per check. Fails with every problem.
pub fn check_dir(dir: &Path, out: &mut dyn std::io::Write) -> Result<(), Error> {
    if !dir.is_dir() {
        return Err(Error::Input(format!("{}: not a directory", dir.display())));
    }
    let mut problems = Vec::new();
    // A stack generated in local mode (obs.toml [local]) has no compose.yaml.
    let cfg = std::fs::read_to_string(dir.join(CONFIG_FILE))
        .ok()
        .and_then(|text| Config::from_toml(&text, "obs.toml").ok());
    let local = cfg.as_ref().is_some_and(|cfg| cfg.local.is_some());
    let kubernetes = cfg
        .as_ref()
        .is_some_and(|cfg| cfg.target == Target::Kubernetes);
    let required = if kubernetes {
        kubernetes::REQUIRED
    } else {
        compose::REQUIRED
    };
    for f in required {
        if local && *f == "compose.yaml" {
            continue;
        }
        if !dir.join(f).is_file() {
            problems.push(format!("{f}: missing"));
        }
    }
    let mut files = Vec::new();
    list_files(dir, dir, &mut files);
    let mut checked = 0;
    for f in &files {
        if f == ".env" || f.starts_with('.') && f.ends_with(".obs-gen-tmp") {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(dir.join(f)) else {
            continue;
        };
        let found = check_file_text(f, &text);
        if found.is_empty() {
            checked += 1;
        }
        problems.extend(found);
    }
    let _ = writeln!(
        out,
        "ok    {checked} files parse and keep the name contract"
    );

    match find_tool("promtool") {
        // Kubernetes: no prometheus.yml (the Operator writes it); the rules are in the
        // PrometheusRule.
        Some(promtool) if kubernetes => match kubernetes::promtool_check_rules(&promtool, dir) {
            Ok(_) => {
                let _ = writeln!(out, "ok    promtool check rules (prometheusrule.yaml)");
            }
            Err(e) => problems.push(format!("promtool check rules prometheusrule.yaml: {e}")),
        },
        Some(promtool) => compose::promtool(&promtool, dir, &files, out, &mut problems),
        None => {
            let _ = writeln!(out, "skip  promtool is not on PATH");
        }
    }
    match find_tool("amtool") {
        Some(_) if kubernetes => {}
        Some(amtool) => compose::amtool(&amtool, dir, out, &mut problems),
        None => {
            let _ = writeln!(out, "skip  amtool is not on PATH");
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::CheckFailed(problems.join("\n")))
    }
}
