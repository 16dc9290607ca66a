//! Property tests of the obs.toml reader and validator: mutated configurations either load
//! (and then render a stack that passes its own checks) or fail with a typed error; through the
//! real binary, a failure is exit code 2 with nothing written. The fuzz target `obs_toml`
//! checks the in-process properties for longer (FUZZING.md).

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::*;
use obs_gen::error::Error;
use obs_gen::model::Config;
use proptest::prelude::*;
use proptest::sample::{Index, select};

/// Valid configurations to start from: every key the fixtures set, both targets.
fn seeds() -> Vec<String> {
    let mut seeds: Vec<String> = [
        "all-options.toml",
        "kubernetes-all-options.toml",
        "local.toml",
    ]
    .iter()
    .map(|f| std::fs::read_to_string(fixture(f)).unwrap())
    .collect();
    seeds.push("project = \"x\"\n".into());
    seeds
}

/// Values a mutation puts after a key's `=`: edge cases of each kind the model reads.
const VALUES: &[&str] = &[
    "\"\"",
    "0",
    "-1",
    "65535",
    "65536",
    "1e400",
    "nan",
    "true",
    "[]",
    "{}",
    "\"0s\"",
    "\"1h\"",
    "\"99999999999999999999d\"",
    "\"127.0.0.1:0\"",
    "\"host:99999\"",
    "\"[::1]:3000\"",
    "\"a\\nb\"",
    "\"é\"",
    "\"https://x.example/\"",
    "\"compose\"",
    "\"kubernetes\"",
    "0.5",
    "1.5",
    "[\"a\", \"a\"]",
    "\"${X}\"",
];

/// One line-level edit of a configuration.
#[derive(Debug, Clone)]
enum Edit {
    DeleteLine(Index),
    DuplicateLine(Index),
    SwapLines(Index, Index),
    SetValue(Index, String),
    InsertText(Index, String),
    Truncate(Index),
}

fn edit() -> impl Strategy<Value = Edit> {
    let value = prop_oneof![
        4 => select(VALUES).prop_map(str::to_owned),
        1 => any::<String>().prop_map(|s| format!("{s:?}")),
    ];
    let text = prop_oneof!["[\\[\\]=\"#\n .a-z0-9]{1,12}", any::<String>(),];
    prop_oneof![
        2 => any::<Index>().prop_map(Edit::DeleteLine),
        1 => any::<Index>().prop_map(Edit::DuplicateLine),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Edit::SwapLines(a, b)),
        6 => (any::<Index>(), value).prop_map(|(i, v)| Edit::SetValue(i, v)),
        1 => (any::<Index>(), text).prop_map(|(i, t)| Edit::InsertText(i, t)),
        1 => any::<Index>().prop_map(Edit::Truncate),
    ]
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    for e in edits {
        if lines.is_empty() {
            lines.push(String::new());
        }
        let n = lines.len();
        match e {
            Edit::DeleteLine(i) => {
                lines.remove(i.index(n));
            }
            Edit::DuplicateLine(i) => {
                let line = lines[i.index(n)].clone();
                lines.insert(i.index(n), line);
            }
            Edit::SwapLines(a, b) => lines.swap(a.index(n), b.index(n)),
            Edit::SetValue(i, v) => {
                // The nth line that assigns a key, if any.
                let keyed: Vec<usize> = (0..n).filter(|&l| lines[l].contains(" = ")).collect();
                if !keyed.is_empty() {
                    let l = keyed[i.index(keyed.len())];
                    let key = lines[l].split(" = ").next().unwrap().to_owned();
                    lines[l] = format!("{key} = {v}");
                }
            }
            Edit::InsertText(i, t) => {
                let line = &mut lines[i.index(n)];
                let at = boundary(line, i.index(line.len() + 1));
                line.insert_str(at, t);
            }
            Edit::Truncate(i) => {
                let mut joined = lines.join("\n");
                joined.truncate(boundary(&joined, i.index(joined.len() + 1)));
                lines = joined.lines().map(str::to_owned).collect();
            }
        }
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

/// The last character boundary at or before `at`.
fn boundary(s: &str, mut at: usize) -> usize {
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn mutated() -> impl Strategy<Value = String> {
    (select(seeds()), proptest::collection::vec(edit(), 1..3))
        .prop_map(|(seed, edits)| apply(&seed, &edits))
}

/// What loading `text` in-process gives: the checks `obs-gen generate` makes before writing.
/// Panics (failing the property) on anything but a clean success or a typed, one-line error.
fn load(text: &str) -> Result<(), String> {
    let cfg = match Config::from_toml(text, "obs.toml") {
        Ok(cfg) => cfg,
        Err(Error::Input(msg)) => {
            assert!(
                msg.starts_with("obs.toml:") && !msg.contains('\n'),
                "{msg:?}"
            );
            return Err(msg);
        }
        Err(other) => panic!("reading gives Error::Input, not {other:?}"),
    };
    if let Err(errs) = obs_gen::validate::validate(&cfg, "obs.toml") {
        assert!(!errs.is_empty());
        for e in &errs {
            assert!(e.starts_with("obs.toml") && !e.contains('\n'), "{e:?}");
        }
        return Err(errs.join("\n"));
    }
    // A configuration that validates is written back (as `init` writes it) to the same one,
    // and renders a stack that passes its own checks.
    let back = Config::from_toml(&cfg.to_toml(), "obs.toml").expect("written obs.toml reads");
    assert_eq!(back, cfg, "obs.toml round trip");
    let files = obs_gen::render::render(&cfg).expect("a valid configuration renders");
    obs_gen::check::self_check(&files).expect("a valid configuration passes the self-check");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// Mutated configurations load or fail with a typed error; nothing panics.
    #[test]
    fn mutated_obs_toml_loads_or_fails_cleanly(text in mutated()) {
        let _ = load(&text);
    }

    /// Arbitrary text: no panic.
    #[test]
    fn arbitrary_text_fails_cleanly(text in any::<String>()) {
        let _ = load(&text);
    }
}

/// Every file under `dir` with its contents.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    files(dir)
        .into_iter()
        .map(|f| {
            let bytes = std::fs::read(dir.join(&f)).unwrap();
            (f, bytes)
        })
        .collect()
}

proptest! {
    // Each case runs `obs-gen generate` twice: a few dozen are enough to reach both outcomes.
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// Through the binary: a mutated obs.toml either generates (exit 0) or exits 2 with one
    /// line per problem and leaves the output directory, a stack generated before included,
    /// exactly as it was.
    #[test]
    fn the_binary_exits_2_and_writes_nothing_on_bad_obs_toml(
        // Some seeds as they are, so both outcomes are seen.
        text in prop_oneof![1 => select(seeds()), 3 => mutated()],
    ) {
        let expected = load(&text);
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("monitoring");
        std::fs::create_dir_all(&out).unwrap();
        std::fs::copy(fixture("all-options.toml"), out.join("obs.toml")).unwrap();
        obs_gen_ok(tmp.path(), &["generate"]);
        std::fs::write(out.join("obs.toml"), &text).unwrap();
        let before = snapshot(&out);

        let res = obs_gen(tmp.path(), &["generate"]);
        let stderr = String::from_utf8_lossy(&res.stderr);
        match expected {
            Ok(()) => prop_assert_eq!(res.status.code(), Some(0), "{}", stderr),
            Err(msg) => {
                prop_assert_eq!(res.status.code(), Some(2), "{}", stderr);
                prop_assert_eq!(stderr.lines().count(), msg.lines().count(), "{}", stderr);
                prop_assert!(snapshot(&out) == before, "the output directory changed");
            }
        }
    }
}
