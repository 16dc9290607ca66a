//! Every command in the `sh` blocks of the documents works as written on a fresh clone: the
//! README, the guides under docs/ and the README of each published crate. Each block runs in its
//! own scratch directory, in order, so `obs-gen check monitoring` reads what `init --yes` wrote
//! and `cd monitoring` enters it. `obs-gen` commands run; flags shown as `[--flag]` exist in the
//! subcommand's `--help`. `cargo` lines name a workspace package, feature and target (test,
//! bench, example, binary) that exist and build without the flags they do not give; `cargo run
//! -p obs-gen` runs. Scripts exist and are executable. Commands that need something outside this
//! test (a terminal, a running service, a Docker daemon, a cluster, a whole build or test run)
//! are checked as far as that goes, and listed.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::*;
use obs_tests::markdown;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Programs whose commands are shown but cannot run here, and what they need.
const OUTSIDE: &[(&str, &str)] = &[
    ("docker", "a Docker daemon"),
    ("kubectl", "a Kubernetes cluster"),
    ("helm", "a Kubernetes cluster"),
    ("curl", "a running service"),
];

/// The workspace's packages by name, with their folders and manifests.
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

/// The documents whose commands are checked, relative to the repository: the README, every
/// guide under docs/, and the README each published crate shows on crates.io.
fn documents() -> Vec<PathBuf> {
    let mut docs = vec![PathBuf::from("README.md")];
    let mut guides: Vec<PathBuf> = std::fs::read_dir(repo().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .map(|p| Path::new("docs").join(p.file_name().unwrap()))
        .collect();
    guides.sort();
    docs.extend(guides);
    for (dir, manifest) in packages().values() {
        let package = &manifest["package"];
        let published = package.get("publish").and_then(|p| p.as_bool()) != Some(false);
        if let (true, Some(readme)) = (published, package.get("readme").and_then(|r| r.as_str())) {
            let path = dir.join(readme);
            docs.push(path.strip_prefix(repo()).unwrap().to_path_buf());
        }
    }
    docs
}

/// One command as a document shows it.
#[derive(Debug)]
struct Command {
    /// `docs/sdk.md:42`: where the command starts, for every message about it.
    at: String,
    words: Vec<String>,
}

/// The `sh` blocks of a document, each a list of commands: continuation lines joined, comments
/// dropped.
fn sh_blocks(doc: &Path) -> Vec<Vec<Command>> {
    let text = std::fs::read_to_string(repo().join(doc)).unwrap();
    let mut blocks = Vec::new();
    for block in markdown::code_blocks(&text)
        .into_iter()
        .filter(|b| b.lang == "sh")
    {
        let mut commands = Vec::new();
        let mut pending = String::new();
        let mut start = block.first_line;
        for (i, line) in block.text.lines().enumerate() {
            if pending.is_empty() {
                start = block.first_line + i;
            }
            if let Some(head) = line.strip_suffix('\\') {
                pending.push_str(head);
                continue;
            }
            pending.push_str(line);
            let at = format!("{}:{start}", doc.display());
            let words = shell_words::split(&pending)
                .unwrap_or_else(|e| panic!("{at}: {pending:?} is not shell syntax: {e}"));
            if !words.is_empty() {
                commands.push(Command { at, words });
            }
            pending.clear();
        }
        blocks.push(commands);
    }
    blocks
}

/// A `cargo` line: the subcommand, `-p PACKAGE`, features, targets and what follows `--`.
#[derive(Debug, Default)]
struct Cargo {
    subcommand: String,
    packages: Vec<String>,
    features: Vec<String>,
    all_features: bool,
    /// `("test", "e2e")` for `--test e2e`; also bench, example and bin.
    targets: Vec<(&'static str, String)>,
    /// `cargo install NAME` or `cargo install --path DIR`.
    install: Option<String>,
    install_path: Option<String>,
    args: Vec<String>,
}

fn parse_cargo(cmd: &Command) -> Cargo {
    let at = &cmd.at;
    let mut cargo = Cargo {
        subcommand: cmd.words[1].clone(),
        ..Cargo::default()
    };
    let mut it = cmd.words[2..].iter();
    let value = |flag: &str, it: &mut std::slice::Iter<'_, String>| {
        it.next()
            .unwrap_or_else(|| panic!("{at}: {flag} without a value"))
            .clone()
    };
    while let Some(w) = it.next() {
        match w.as_str() {
            "-p" | "--package" | "--exclude" => cargo.packages.push(value(w, &mut it)),
            "--features" | "-F" => cargo.features.extend(
                value(w, &mut it)
                    .split([',', ' '])
                    .filter(|f| !f.is_empty())
                    .map(String::from),
            ),
            "--all-features" => cargo.all_features = true,
            "--test" => cargo.targets.push(("test", value(w, &mut it))),
            "--bench" => cargo.targets.push(("bench", value(w, &mut it))),
            "--example" => cargo.targets.push(("example", value(w, &mut it))),
            "--bin" => cargo.targets.push(("bin", value(w, &mut it))),
            "--path" => cargo.install_path = Some(value(w, &mut it)),
            "--root" => {
                value(w, &mut it);
            }
            "--release"
            | "--workspace"
            | "--locked"
            | "--no-deps"
            | "--quiet"
            | "-q"
            | "--debug"
            | "--no-default-features"
            | "--all-targets" => {}
            "--" => {
                cargo.args = it.cloned().collect();
                break;
            }
            name if cargo.subcommand == "install" && !name.starts_with('-') => {
                cargo.install = Some(name.to_string())
            }
            other => panic!(
                "{at}: cargo {} with {other:?}, which this test does not know",
                cargo.subcommand
            ),
        }
    }
    cargo
}

/// Whether `package` (folder `dir`, manifest `manifest`) has a target `kind` named `name`.
fn has_target(dir: &Path, manifest: &toml::Value, kind: &str, name: &str) -> bool {
    let declared = manifest
        .get(kind)
        .and_then(|t| t.as_array())
        .into_iter()
        .flatten()
        .any(|t| t["name"].as_str() == Some(name));
    let folder = match kind {
        "test" => "tests",
        "bench" => "benches",
        "example" => "examples",
        _ => "src/bin",
    };
    let by_file = dir.join(folder).join(format!("{name}.rs")).exists();
    let main_binary = kind == "bin"
        && manifest["package"]["name"].as_str() == Some(name)
        && dir.join("src/main.rs").exists();
    declared || by_file || main_binary
}

/// Checks a `cargo` line against the manifests; runs `cargo run -p obs-gen`. Returns whether it
/// ran.
fn check_cargo(cmd: &Command, cwd: &Path) -> bool {
    let at = &cmd.at;
    let cargo = parse_cargo(cmd);
    assert!(
        [
            "run", "test", "bench", "build", "check", "doc", "package", "install"
        ]
        .contains(&cargo.subcommand.as_str()),
        "{at}: cargo {}, which this test does not know",
        cargo.subcommand
    );
    let packages = packages();
    let lookup = |name: &str| {
        packages
            .get(name)
            .unwrap_or_else(|| panic!("{at}: no workspace package {name:?}"))
    };
    for p in &cargo.packages {
        lookup(p);
    }
    if let Some(name) = &cargo.install {
        let (dir, manifest) = lookup(name);
        assert!(
            has_target(dir, manifest, "bin", name),
            "{at}: {name} has no binary to install"
        );
    }
    if let Some(path) = &cargo.install_path {
        let (name, (dir, manifest)) = packages
            .iter()
            .find(|(_, (dir, _))| dir == &repo().join(path))
            .unwrap_or_else(|| panic!("{at}: --path {path} is no workspace package"));
        assert!(
            has_target(dir, manifest, "bin", name),
            "{at}: {name} has no binary to install"
        );
    }
    // Features and targets belong to the one package the line names.
    let Some(package) = cargo.packages.first() else {
        assert!(
            cargo.features.is_empty() && cargo.targets.is_empty(),
            "{at}: features or targets without -p"
        );
        return false;
    };
    let (dir, manifest) = lookup(package);
    let features = manifest.get("features").and_then(|f| f.as_table());
    for f in &cargo.features {
        assert!(
            features.is_some_and(|t| t.contains_key(f)),
            "{at}: {package} has no feature {f:?}"
        );
    }
    let given =
        |f: &str| cargo.all_features || cargo.features.iter().any(|g| g == f || g == "full");
    for (kind, name) in &cargo.targets {
        assert!(
            has_target(dir, manifest, kind, name),
            "{at}: {package} has no {kind} {name:?}"
        );
        // Features a target requires are given by the command, or it does not build.
        let required = manifest
            .get(*kind)
            .and_then(|t| t.as_array())
            .into_iter()
            .flatten()
            .filter(|t| t["name"].as_str() == Some(name))
            .flat_map(|t| {
                t.get("required-features")
                    .and_then(|r| r.as_array())
                    .into_iter()
                    .flatten()
                    .filter_map(|f| f.as_str())
            });
        for f in required {
            assert!(
                given(f),
                "{at}: the {kind} {name} of {package} needs --features {f}"
            );
        }
    }
    if cargo.subcommand == "run" && package == "obs-gen" {
        let args: Vec<&str> = cargo.args.iter().map(String::as_str).collect();
        obs_gen_as_shown(at, cwd, &args);
        return true;
    }
    // Building the demo, running a test suite or a benchmark is what other tests and CI do;
    // here, the manifest.
    false
}

/// Runs `obs-gen` as a document shows it, in `cwd`; a failure names where the document says so.
fn obs_gen_as_shown(at: &str, cwd: &Path, args: &[&str]) {
    let out = obs_gen(cwd, args);
    assert!(
        out.status.success(),
        "{at}: obs-gen {args:?} failed ({:?}):\n{}{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
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
fn expand_obs_gen(cmd: &Command) -> Vec<Vec<String>> {
    let words = &cmd.words;
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
            "{}: `obs-gen {}` has no flag {f}: {flags:?}",
            cmd.at,
            sub.join(" ")
        );
    }
    runs
}

/// What the commands of all documents did.
#[derive(Debug, Default)]
struct Log {
    ran: Vec<String>,
    checked_only: Vec<String>,
}

#[test]
fn every_command_of_the_documents_works_as_written() {
    let mut log = Log::default();
    let mut commands = 0;
    let docs = documents();
    for expected in ["README.md", "docs/generator.md", "stack-gen/README.md"] {
        assert!(docs.contains(&PathBuf::from(expected)), "{docs:?}");
    }
    for doc in &docs {
        for block in sh_blocks(doc) {
            let scratch = tempfile::tempdir().unwrap();
            let mut cwd = scratch.path().to_path_buf();
            let mut wrote_with = None;
            for cmd in block {
                commands += 1;
                let ran_before = log.ran.len();
                run_command(&cmd, &mut cwd, &mut log);
                if log.ran[ran_before..]
                    .iter()
                    .any(|c| c.contains("obs-gen") && c.contains(" init"))
                {
                    wrote_with = Some(cmd.at.clone());
                }
            }
            // A block that ran `init` left its answers behind for the commands after it.
            if let Some(at) = wrote_with {
                let found = walk(scratch.path()).iter().any(|p| p.ends_with("obs.toml"));
                assert!(found, "{at}: init wrote no obs.toml");
            }
        }
    }
    assert!(commands >= 30, "only {commands} commands found: {docs:?}");
    // The README's quick start and the generator guide's check of what init wrote.
    assert!(
        log.ran
            .iter()
            .any(|c| c.starts_with("cargo run -p obs-gen -- init --yes")),
        "{:?}",
        log.ran
    );
    assert!(
        log.ran.iter().any(|c| c.starts_with("obs-gen check")),
        "{:?}",
        log.ran
    );
    eprintln!(
        "ran: {:#?}\nchecked, not run: {:#?}",
        log.ran, log.checked_only
    );
}

/// Every file under `dir`.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn run_command(cmd: &Command, cwd: &mut PathBuf, log: &mut Log) {
    let at = &cmd.at;
    let mut words = cmd.words.clone();
    // `VAR=value command …`: the assignments only set the environment.
    while words[0].contains('=') && !words[0].starts_with('-') {
        words.remove(0);
    }
    let cmd = Command {
        at: at.clone(),
        words,
    };
    let words = &cmd.words;
    let line = words.join(" ");
    match words[0].as_str() {
        "cargo" => {
            if check_cargo(&cmd, cwd) {
                log.ran.push(line);
            } else {
                log.checked_only.push(line);
            }
        }
        "obs-gen" => {
            for run in expand_obs_gen(&cmd) {
                let args: Vec<&str> = run.iter().map(String::as_str).collect();
                match args.as_slice() {
                    // The wizard needs a terminal (tests/wizard_pty.rs drives it) and the
                    // doctor a running service (tests/doctor.rs starts the demo): their flags
                    // must exist.
                    ["init"] | ["doctor", ..] => {
                        let flags = help_flags(&args[..1]);
                        for flag in args.iter().filter(|a| a.starts_with("--")) {
                            let flag = flag.split('=').next().unwrap();
                            assert!(
                                flags.iter().any(|f| f == flag),
                                "{at}: `obs-gen {}` has no flag {flag}: {flags:?}",
                                args[0]
                            );
                        }
                        log.checked_only.push(format!("obs-gen {}", run.join(" ")));
                    }
                    _ => {
                        obs_gen_as_shown(at, cwd, &args);
                        log.ran.push(format!("obs-gen {}", run.join(" ")));
                    }
                }
            }
        }
        "cd" => {
            let dir = cwd.join(&words[1]);
            assert!(
                dir.is_dir(),
                "{at}: cd {}: no such directory after the commands before it",
                words[1]
            );
            *cwd = dir;
            log.ran.push(line);
        }
        "bash" => {
            let script = repo().join(&words[1]);
            assert!(script.is_file(), "{at}: {} does not exist", words[1]);
            log.checked_only.push(line);
        }
        program if OUTSIDE.iter().any(|(p, _)| *p == program) => {
            let (_, needs) = OUTSIDE.iter().find(|(p, _)| *p == program).unwrap();
            log.checked_only.push(format!("{line}   (needs {needs})"));
        }
        script if script.contains('/') => {
            let mode = std::fs::metadata(repo().join(script))
                .unwrap_or_else(|e| panic!("{at}: {script}: {e}"))
                .permissions();
            assert!(
                std::os::unix::fs::PermissionsExt::mode(&mode) & 0o111 != 0,
                "{at}: {script} is not executable"
            );
            log.checked_only.push(line);
        }
        other => panic!(
            "{at}: `{other}` is a command this test does not know: run it here, or add it to \
             OUTSIDE with what it needs"
        ),
    }
}
