//! Helpers shared by the integration tests: run the real binary, read a generated tree.
#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs `obs-gen` with `args` in `cwd`, with no terminal on stdin.
pub fn obs_gen(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_obs-gen"))
        .args(args)
        .current_dir(cwd)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("obs-gen runs")
}

/// Like [`obs_gen`], asserting success; returns stdout.
pub fn obs_gen_ok(cwd: &Path, args: &[&str]) -> String {
    let out = obs_gen(cwd, args);
    assert!(
        out.status.success(),
        "obs-gen {args:?} failed ({:?}):\n{}{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The fixture directory.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Every file under `dir`, relative, sorted.
pub fn files(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.push(p.strip_prefix(root).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    let mut out = Vec::new();
    if dir.exists() {
        walk(dir, dir, &mut out);
    }
    out.sort();
    out
}

/// Whether obs-mixin renders (and snapshots) this file: the dashboards and the rules.
pub fn mixin_owned(path: &str) -> bool {
    path.starts_with("grafana/dashboards/") || path.starts_with("prometheus/rules/")
}

/// The whole tree as one text: every file with its content, except the dashboards and rules
/// (rendered and snapshotted by obs-mixin: counted here, checked to parse, and their hashes
/// checked against the manifest) and `.env`'s random password (redacted).
pub fn tree_text(dir: &Path) -> String {
    let all = files(dir);
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join(".obs-manifest.json")).unwrap())
            .unwrap();
    let mut s = String::new();
    let (mut dashboards, mut rules) = (0, 0);
    for f in &all {
        let text = std::fs::read_to_string(dir.join(f)).unwrap();
        if mixin_owned(f) {
            if f.ends_with(".json") {
                assert!(
                    serde_json::from_str::<serde_json::Value>(&text).is_ok(),
                    "{f} is JSON"
                );
                dashboards += 1;
            } else {
                assert!(
                    serde_yaml_ng::from_str::<serde_yaml_ng::Value>(&text).is_ok(),
                    "{f} is YAML"
                );
                rules += 1;
            }
            assert_eq!(
                manifest["files"][f.as_str()].as_str(),
                Some(obs_gen::write::sha256(&text).as_str()),
                "{f}"
            );
            continue;
        }
        s.push_str(&format!("===== {f}\n"));
        if f == ".obs-manifest.json" {
            let mut m = manifest.clone();
            m["files"]
                .as_object_mut()
                .unwrap()
                .retain(|k, _| !mixin_owned(k));
            s.push_str(&serde_json::to_string_pretty(&m).unwrap());
            s.push('\n');
        } else if f == ".env" {
            for line in text.lines() {
                match line.split_once('=') {
                    Some(("GF_SECURITY_ADMIN_PASSWORD", pw)) => {
                        assert_eq!(pw.len(), 32, "password length");
                        assert!(pw.bytes().all(|b| b.is_ascii_alphanumeric()));
                        s.push_str("GF_SECURITY_ADMIN_PASSWORD=[redacted]\n");
                    }
                    _ => s.push_str(&format!("{line}\n")),
                }
            }
        } else {
            s.push_str(&text);
        }
    }
    assert_eq!(
        dashboards,
        obs_mixin::dashboards().len(),
        "every bundled dashboard is written"
    );
    assert!(rules > 0, "the bundled rules are written");
    s
}

/// Sets up `tmp/monitoring/obs.toml` from a fixture and runs `generate`.
pub fn generate_fixture(tmp: &Path, name: &str) -> PathBuf {
    let out = tmp.join("monitoring");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::copy(fixture(name), out.join("obs.toml")).unwrap();
    obs_gen_ok(tmp, &["generate"]);
    out
}
