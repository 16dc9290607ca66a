//! Every command in the repository README's `sh` blocks works as written on a fresh clone:
//! `obs-gen` commands run (one scratch directory per block, in the README's order, so `check
//! monitoring` reads what `init --yes` wrote), flags shown as `[--flag]` exist in the subcommand's `--help`,
//! and `cargo run` lines name a workspace package, feature and example that build without the
//! flags they do not give. Commands that need something outside this test (a terminal, a running
//! service, a whole build) are checked by their flags only, and listed.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::*;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The README's `sh` blocks, each a list of commands: continuation lines joined, comments
/// dropped.
fn readme_blocks() -> Vec<Vec<Vec<String>>> {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let mut blocks: Vec<Vec<Vec<String>>> = Vec::new();
    let mut in_sh = false;
    let mut pending = String::new();
    for line in readme.lines() {
        if line.trim_start().starts_with("```") {
            in_sh = line.trim() == "```sh";
            if in_sh {
                blocks.push(Vec::new());
            }
            continue;
        }
        if !in_sh {
            continue;
        }
        if let Some(head) = line.strip_suffix('\\') {
            pending.push_str(head);
            continue;
        }
        pending.push_str(line);
        let words = shell_words::split(&pending)
            .unwrap_or_else(|e| panic!("README: {pending:?} is not shell syntax: {e}"));
        if !words.is_empty() {
            blocks.last_mut().unwrap().push(words);
        }
        pending.clear();
    }
    assert!(
        blocks.iter().map(Vec::len).sum::<usize>() >= 10,
        "{blocks:?}"
    );
    blocks
}

/// A `cargo run` line: `-p PACKAGE`, `--features F`, `--example E`, and what follows `--`.
#[derive(Debug, Default)]
struct CargoRun {
    package: String,
    features: Vec<String>,
    example: Option<String>,
    args: Vec<String>,
}

fn parse_cargo_run(words: &[String]) -> CargoRun {
    let mut run = CargoRun::default();
    let mut it = words.iter();
    while let Some(w) = it.next() {
        match w.as_str() {
            "-p" | "--package" => run.package = it.next().unwrap().clone(),
            "--features" | "-F" => run
                .features
                .extend(it.next().unwrap().split(',').map(String::from)),
            "--example" => run.example = it.next().cloned(),
            "--" => {
                run.args = it.cloned().collect();
                break;
            }
            other => panic!("README: cargo run with {other:?}, which this test does not know"),
        }
    }
    run
}

/// The workspace's packages by name, with their manifests.
fn packages() -> BTreeMap<String, (PathBuf, toml::Value)> {
    let root: toml::Value =
        toml::from_str(&std::fs::read_to_string(repo().join("Cargo.toml")).unwrap()).unwrap();
    root["workspace"]["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let dir = repo().join(m.as_str().unwrap());
            let manifest: toml::Value =
                toml::from_str(&std::fs::read_to_string(dir.join("Cargo.toml")).unwrap()).unwrap();
            let name = manifest["package"]["name"].as_str().unwrap().to_string();
            (name, (dir, manifest))
        })
        .collect()
}

/// Checks a `cargo run` line against the manifests; runs it when it is `-p obs-gen`.
fn check_cargo_run(run: &CargoRun, scratch: &Path) {
    let packages = packages();
    let (dir, manifest) = packages
        .get(&run.package)
        .unwrap_or_else(|| panic!("README: no workspace package {:?}", run.package));
    let features = manifest.get("features").and_then(|f| f.as_table());
    for f in &run.features {
        assert!(
            features.is_some_and(|t| t.contains_key(f)),
            "README: {} has no feature {f:?}",
            run.package
        );
    }
    if let Some(example) = &run.example {
        assert!(
            dir.join("examples").join(format!("{example}.rs")).exists(),
            "README: {} has no example {example:?}",
            run.package
        );
        // Features an example requires are given by the command, or it does not build.
        let required: Vec<&str> = manifest
            .get("example")
            .and_then(|e| e.as_array())
            .into_iter()
            .flatten()
            .filter(|e| e["name"].as_str() == Some(example))
            .flat_map(|e| {
                e.get("required-features")
                    .and_then(|r| r.as_array())
                    .into_iter()
                    .flatten()
                    .filter_map(|f| f.as_str())
            })
            .collect();
        let given = |f: &str| run.features.iter().any(|g| g == f || g == "full");
        for f in required {
            assert!(
                given(f),
                "README: `cargo run -p {} --example {example}` needs --features {f}",
                run.package
            );
        }
    }
    if run.package == "obs-gen" {
        let args: Vec<&str> = run.args.iter().map(String::as_str).collect();
        obs_gen_ok(scratch, &args);
    }
}

/// Flags of `obs-gen <subcommand...> --help`.
fn help_flags(subcommand: &[&str]) -> Vec<String> {
    let mut args = subcommand.to_vec();
    args.push("--help");
    let tmp = tempfile::tempdir().unwrap();
    obs_gen_ok(tmp.path(), &args)
        .split(|c: char| c.is_whitespace() || c == ',' || c == '[' || c == ']')
        .filter(|w| w.starts_with("--"))
        .map(|w| w.split('=').next().unwrap().to_string())
        .collect()
}

/// An `obs-gen` line: synopsis alternatives (`a|b`, `list | export`) expanded, `[--flag …]`
/// groups checked against `--help` and left out; returns the commands to run.
fn expand_obs_gen(words: &[String]) -> Vec<Vec<String>> {
    let mut required = Vec::new();
    let mut optional = Vec::new();
    let mut depth = 0;
    for w in &words[1..] {
        let opens = w.starts_with('[');
        let closes = w.ends_with(']');
        let bare = w.trim_start_matches('[').trim_end_matches(']');
        if opens {
            depth += 1;
        }
        if depth > 0 {
            if bare.starts_with("--") {
                optional.push(bare.to_string());
            }
        } else {
            required.push(w.clone());
        }
        if closes {
            depth -= 1;
        }
    }
    // `list | export`: alternatives of the word before the bar and the words after it.
    let runs: Vec<Vec<String>> = match required.iter().position(|w| w == "|") {
        Some(bar) => vec![
            required[..bar].to_vec(),
            required[..bar - 1]
                .iter()
                .chain(&required[bar + 1..])
                .cloned()
                .collect(),
        ],
        None => {
            let alternatives = required.iter().position(|w| w.contains('|'));
            match alternatives {
                Some(i) => required[i]
                    .split('|')
                    .map(|alt| {
                        let mut r = required.clone();
                        r[i] = alt.to_string();
                        r
                    })
                    .collect(),
                None => vec![required],
            }
        }
    };
    let subcommands: Vec<&String> = runs[runs.len() - 1]
        .iter()
        .take_while(|w| !w.starts_with("--") && !w.contains("://") && !w.contains('/'))
        .collect();
    let sub: Vec<&str> = subcommands.iter().map(|s| s.as_str()).collect();
    let flags = help_flags(&sub[..sub.len().min(2)]);
    for f in &optional {
        assert!(
            flags.contains(f),
            "README: `obs-gen {}` has no flag {f}: {flags:?}",
            sub.join(" ")
        );
    }
    runs
}

#[test]
fn every_command_of_the_readme_works_as_written() {
    let mut ran = Vec::new();
    let mut checked_only = Vec::new();
    let mut scratch = tempfile::tempdir().unwrap();
    let mut wrote_a_stack = 0;
    for block in readme_blocks() {
        if scratch.path().join("monitoring/compose.yaml").exists() {
            wrote_a_stack += 1;
        }
        scratch = tempfile::tempdir().unwrap();
        for words in block {
            run_command(words, scratch.path(), &mut ran, &mut checked_only);
        }
    }
    if scratch.path().join("monitoring/compose.yaml").exists() {
        wrote_a_stack += 1;
    }
    // The quick start's `cargo run … init --yes`, the generator's block (whose `check
    // monitoring` then validated it) and the frontend example each wrote a stack.
    assert_eq!(wrote_a_stack, 3, "{ran:#?}");
    assert!(
        ran.iter().any(|c| c.starts_with("obs-gen check")),
        "{ran:?}"
    );
    eprintln!("ran: {ran:#?}\nchecked, not run: {checked_only:#?}");
}

fn run_command(
    mut words: Vec<String>,
    scratch: &Path,
    ran: &mut Vec<String>,
    checked_only: &mut Vec<String>,
) {
    {
        // `VAR=value command …`: the assignments only set the environment.
        while words[0].contains('=') && !words[0].starts_with('-') {
            words.remove(0);
        }
        let line = words.join(" ");
        match words[0].as_str() {
            "cargo" => {
                assert_eq!(words[1], "run", "README: {line}");
                let run = parse_cargo_run(&words[2..]);
                check_cargo_run(&run, scratch);
                if run.package == "obs-gen" {
                    ran.push(line);
                } else {
                    // Building the demo is what the end-to-end tests do; here, the manifest.
                    checked_only.push(line);
                }
            }
            "obs-gen" => {
                for run in expand_obs_gen(&words) {
                    let args: Vec<&str> = run.iter().map(String::as_str).collect();
                    match args.as_slice() {
                        // The wizard needs a terminal (tests/wizard_pty.rs drives it) and the
                        // doctor a running service (tests/doctor.rs starts the demo).
                        ["init"] | ["doctor", ..] => {
                            help_flags(&args[..1]);
                            checked_only.push(run.join(" "));
                        }
                        _ => {
                            obs_gen_ok(scratch, &args);
                            ran.push(format!("obs-gen {}", run.join(" ")));
                        }
                    }
                }
            }
            script => {
                let path = repo().join(script);
                let mode = std::fs::metadata(&path)
                    .unwrap_or_else(|e| panic!("README: {script}: {e}"))
                    .permissions();
                assert!(
                    std::os::unix::fs::PermissionsExt::mode(&mode) & 0o111 != 0,
                    "README: {script} is not executable"
                );
                checked_only.push(line);
            }
        }
    }
}
