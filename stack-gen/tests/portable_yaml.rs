//! Every YAML file obs writes loads into the same values in a YAML 1.1 reader and a YAML 1.2
//! reader: PyYAML's `safe_load` (what Ansible and many CI linters use) against serde_yaml_ng.
//! The files of both targets (defaults and the all-options fixtures), the YAML documents
//! inside the Kubernetes ConfigMaps, the checked-in `compose/` and `alert-rules/`, a corpus of
//! scalars each schema resolves differently, and stacks generated from an obs.toml whose free
//! values are such scalars (a service named `on`, a label value `yes`, `1e3`, `2026-01-01`).
//!
//! PyYAML comes from `.ci/run deps` (pinned); with CI=true a missing PyYAML fails the test,
//! elsewhere it skips loudly.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use serde_json::{Value, json};

/// Reads files given as arguments with `yaml.safe_load` and prints one JSON object: path to
/// value, or to `{"!error": message}`. A value JSON has no form for (a date, a set) becomes
/// `{"!python": type, "repr": ...}`, which no Rust value equals.
const LOADER: &str = r#"
import json, sys, yaml
def other(o):
    return {"!python": type(o).__name__, "repr": repr(o)}
out = {}
for path in sys.argv[1:]:
    try:
        with open(path, encoding="utf-8") as f:
            out[path] = yaml.safe_load(f)
    except Exception as e:
        out[path] = {"!error": f"{type(e).__name__}: {e}"}
json.dump(out, sys.stdout, default=other)
"#;

/// `python3` with PyYAML, or `None` (skipping loudly) off CI.
fn pyyaml() -> Option<PathBuf> {
    let python = obs_tests::require_tool("python3")?;
    let ok = Command::new(&python)
        .args(["-c", "import yaml"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            !obs_tests::in_ci(),
            "PyYAML is not installed for python3; .ci/run deps installs it (CI=true, so this fails instead of skipping)"
        );
        eprintln!(
            "\n!!! SKIPPING: PyYAML is missing; run `bash .ci/run deps` (or pip install PyYAML) to compare the YAML 1.1 reading !!!\n"
        );
        return None;
    }
    Some(python)
}

/// What PyYAML reads from each of `paths`.
fn python_values(python: &Path, paths: &[PathBuf]) -> BTreeMap<String, Value> {
    let res = Command::new(python)
        .arg("-c")
        .arg(LOADER)
        .args(paths)
        .output()
        .expect("python3 runs");
    assert!(
        res.status.success(),
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );
    serde_json::from_slice(&res.stdout).expect("the loader prints JSON")
}

/// What serde_yaml_ng reads from `text`.
fn rust_value(text: &str) -> Value {
    serde_yaml_ng::from_str(text).unwrap_or_else(|e| json!({ "!error": e.to_string() }))
}

/// The YAML files under `dir`, and the YAML documents inside its ConfigMaps written out
/// beside them into `scratch` (`<file>#<key>`), as paths.
fn yaml_files(dir: &Path, scratch: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for f in files(dir) {
        if !(f.ends_with(".yaml") || f.ends_with(".yml")) {
            continue;
        }
        let path = dir.join(&f);
        let doc = rust_value(&std::fs::read_to_string(&path).unwrap());
        if doc["kind"] == "ConfigMap" {
            for (key, text) in doc["data"].as_object().into_iter().flatten() {
                if key.ends_with(".yaml") || key.ends_with(".yml") {
                    let name = format!("{}#{key}", f.replace('/', "_"));
                    let inner = scratch.join(name);
                    std::fs::write(&inner, text.as_str().unwrap()).unwrap();
                    out.push(inner);
                }
            }
        }
        out.push(path);
    }
    out
}

/// Asserts that both readers read each of `paths` into the same value; returns how many.
fn assert_same_values(python: &Path, paths: &[PathBuf]) -> usize {
    let py = python_values(python, paths);
    let mut problems = Vec::new();
    for path in paths {
        let key = path.to_string_lossy();
        let rust = rust_value(&std::fs::read_to_string(path).unwrap());
        let python = &py[key.as_ref()];
        if *python != rust {
            problems.push(format!(
                "{key}: {}",
                first_difference(python, &rust, String::new())
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "YAML 1.1 (PyYAML) and YAML 1.2 (serde_yaml_ng) read different values:\n{}",
        problems.join("\n")
    );
    paths.len()
}

/// Where two values first differ, as `at.path: python … rust …`.
fn first_difference(python: &Value, rust: &Value, at: String) -> String {
    match (python, rust) {
        (Value::Object(p), Value::Object(r)) if p.len() == r.len() => {
            for (k, pv) in p {
                match r.get(k) {
                    Some(rv) if rv == pv => {}
                    Some(rv) => return first_difference(pv, rv, format!("{at}.{k}")),
                    None => break,
                }
            }
        }
        (Value::Array(p), Value::Array(r)) if p.len() == r.len() => {
            for (i, (pv, rv)) in p.iter().zip(r).enumerate() {
                if pv != rv {
                    return first_difference(pv, rv, format!("{at}[{i}]"));
                }
            }
        }
        _ => {}
    }
    format!("at {at:?}: PyYAML {python}, serde_yaml_ng {rust}")
}

#[test]
fn every_generated_and_checked_in_yaml_file_reads_the_same_in_yaml_1_1_and_1_2() {
    let Some(python) = pyyaml() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let scratch = tmp.path().join("configmap-documents");
    std::fs::create_dir_all(&scratch).unwrap();
    let mut trees: Vec<PathBuf> = Vec::new();
    for (name, args) in [
        ("compose-default", &["init", "--yes"][..]),
        (
            "kubernetes-default",
            &["init", "--yes", "--target", "kubernetes"][..],
        ),
    ] {
        let cwd = tmp.path().join(name);
        std::fs::create_dir_all(&cwd).unwrap();
        obs_gen_ok(&cwd, args);
        trees.push(cwd.join("monitoring"));
    }
    for fixture in [
        "all-options.toml",
        "kubernetes-all-options.toml",
        "local.toml",
    ] {
        let cwd = tmp.path().join(fixture);
        trees.push(generate_fixture(&cwd, fixture));
    }
    let root = obs_tests::repo_root();
    trees.push(root.join("compose"));
    trees.push(root.join("alert-rules"));

    let mut paths = Vec::new();
    for tree in &trees {
        let found = yaml_files(tree, &scratch);
        assert!(!found.is_empty(), "{} has YAML files", tree.display());
        paths.extend(found);
    }
    let checked = assert_same_values(&python, &paths);
    assert!(checked > 60, "{checked} files");
    // The file that carried `matchType: =`, which PyYAML could not load at all.
    let amc = tmp
        .path()
        .join("kubernetes-default/monitoring/alertmanagerconfig.yaml");
    let doc = rust_value(&std::fs::read_to_string(amc).unwrap());
    assert_eq!(
        doc["spec"]["route"]["routes"][0]["matchers"][0]["matchType"],
        "="
    );
}

/// Scalars a YAML 1.1 or 1.2 reader may take for something other than a string, and their
/// neighbours that stay strings.
fn trap_scalars() -> Vec<String> {
    let mut s: Vec<String> = [
        "=",
        "<<",
        "~",
        "",
        "y",
        "Y",
        "n",
        "N",
        "yes",
        "Yes",
        "YES",
        "no",
        "NO",
        "on",
        "On",
        "ON",
        "off",
        "Off",
        "true",
        "False",
        "null",
        "NULL",
        "1e3",
        "1E3",
        "1e-7",
        "-1e+3",
        "2026-01-01",
        "2026-1-1 10:00:00",
        "2026-01-01T10:00:00Z",
        "2026-01-01 10:00:00.5 +01:00",
        "1:30",
        "-1:30",
        "190:20:30.15",
        "1_000",
        "0b101",
        "017",
        "08",
        "0o17",
        "0x1F",
        "+0x1f",
        ".5",
        "1.",
        "+1",
        "-0",
        "1.2.3",
        "127.0.0.1",
        ".inf",
        "-.Inf",
        ".nan",
        ".NaN",
        "0.",
        "+.5e+3",
        "15s",
        "30d",
        "=~",
        "yes!",
        "on-call",
        "no_way",
        "a=b",
        "<<x",
        "12:00",
        "1:2:3",
        "0:00",
        "60:00",
        "v1.0",
        "1.0.0-rc1",
        "2026-13-45",
        "2026-01-01x",
        "#1",
        "- x",
        "a: b",
        "x #y",
        "'q'",
        "\"q\"",
        "%d",
        "@at",
        "`tick`",
        "!bang",
        "&anchor",
        "*alias",
        "|pipe",
        ">gt",
        "? q",
        "[a]",
        "{a}",
        ",c",
        "---",
        "...",
        " lead",
        "trail ",
        "tab\tin",
        "line\nbreak",
        "ünï",
        "😀",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    // Every short combination of the characters number, date and time forms are made of.
    let alphabet = [
        '0', '1', '7', '9', '.', ':', '-', '+', '_', 'e', 'x', 'b', 'o',
    ];
    for a in alphabet {
        for b in alphabet {
            s.push(format!("{a}{b}"));
            for c in alphabet {
                s.push(format!("{a}{b}{c}"));
            }
        }
    }
    s
}

#[test]
fn trap_scalars_read_back_as_the_same_strings_in_both_readers() {
    let scalars = trap_scalars();
    // As values, as keys, and inside a sequence.
    let doc = json!({
        "values": scalars.iter().map(|s| json!({ "v": s })).collect::<Vec<_>>(),
        "keys": scalars.iter().map(|s| (s.clone(), json!(s))).collect::<serde_json::Map<_, _>>(),
        "list": scalars,
    });
    let text = obs_mixin::yaml::to_string(&doc).unwrap();
    assert_eq!(
        rust_value(&text),
        doc,
        "serde_yaml_ng reads the strings back"
    );
    let Some(python) = pyyaml() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("traps.yaml");
    std::fs::write(&path, &text).unwrap();
    assert_same_values(&python, &[path]);
}

/// Where each trap goes in obs.toml: the service name and the environment, the Kubernetes
/// selector's label value and the Slack channel, whatever each key accepts.
#[test]
fn trap_values_in_obs_toml_round_trip_as_the_same_strings() {
    let python = pyyaml();
    let tmp = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for (i, trap) in [
        "on",
        "yes",
        "n",
        "1e3",
        "2026-01-01",
        "017",
        "1_000",
        "0x1f",
    ]
    .iter()
    .enumerate()
    {
        let dir = tmp.path().join(format!("k{i}"));
        let toml = format!(
            "project = \"p\"\nenvironment = \"{trap}\"\ntarget = \"kubernetes\"\n\
             [[services]]\nname = \"{name}\"\nselector = {{ app = \"{trap}\" }}\n\
             [alerting]\nreceiver = \"slack\"\nslack_channel = \"{trap}\"\n",
            name = trap.replace('_', "-"),
        );
        let out = dir.join("monitoring");
        std::fs::create_dir_all(&out).unwrap();
        std::fs::write(out.join("obs.toml"), toml).unwrap();
        obs_gen_ok(&dir, &["generate"]);
        let name = trap.replace('_', "-");
        let sm = rust_value(
            &std::fs::read_to_string(out.join(format!("servicemonitors/{name}.yaml"))).unwrap(),
        );
        assert_eq!(sm["spec"]["selector"]["matchLabels"]["app"], json!(trap));
        assert_eq!(
            sm["spec"]["endpoints"][0]["relabelings"][0]["replacement"],
            json!(name)
        );
        let values = rust_value(
            &std::fs::read_to_string(out.join("values/kube-prometheus-stack.yaml")).unwrap(),
        );
        assert_eq!(
            values["prometheus"]["prometheusSpec"]["externalLabels"]["env"],
            json!(trap)
        );
        let amc =
            rust_value(&std::fs::read_to_string(out.join("alertmanagerconfig.yaml")).unwrap());
        assert_eq!(
            amc["spec"]["receivers"][0]["slackConfigs"][0]["channel"],
            json!(trap)
        );
        paths.extend(yaml_files(&out, &out));

        // The compose target: the service's job and the env label of every series.
        let dir = tmp.path().join(format!("c{i}"));
        let out = dir.join("monitoring");
        std::fs::create_dir_all(&out).unwrap();
        std::fs::write(
            out.join("obs.toml"),
            format!(
                "project = \"p\"\nenvironment = \"{trap}\"\n[[services]]\nname = \"{trap}\"\ntarget = \"api:80\"\n"
            ),
        )
        .unwrap();
        obs_gen_ok(&dir, &["generate"]);
        let prom =
            rust_value(&std::fs::read_to_string(out.join("prometheus/prometheus.yml")).unwrap());
        assert_eq!(prom["global"]["external_labels"]["env"], json!(trap));
        assert!(
            prom["scrape_configs"]
                .as_array()
                .unwrap()
                .iter()
                .any(|j| j["job_name"] == json!(trap)),
            "{prom}"
        );
        paths.extend(yaml_files(&out, &out));
    }
    if let Some(python) = python {
        assert_same_values(&python, &paths);
    }
}
