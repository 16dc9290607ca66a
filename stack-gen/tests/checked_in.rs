//! The checked-in `compose/` at the top of the repository is exactly the stack `obs-gen init
//! --yes` writes, without `.env` (it holds a random password): what users browse of the compose
//! target. `OBS_BLESS=1 cargo test -p obs-gen --test checked_in` rewrites it.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::*;

fn checked_in() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../compose")
}

fn read_tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    files(dir)
        .into_iter()
        .filter(|f| f != ".env")
        .map(|f| {
            let bytes = std::fs::read(dir.join(&f)).unwrap();
            (f, bytes)
        })
        .collect()
}

#[test]
fn checked_in_compose_is_what_init_yes_writes() {
    let tmp = tempfile::tempdir().unwrap();
    obs_gen_ok(tmp.path(), &["init", "--yes"]);
    let generated_dir = tmp.path().join("monitoring");
    let generated = read_tree(&generated_dir);
    assert!(
        generated.contains_key("compose.yaml"),
        "{:?}",
        generated.keys()
    );
    let on_disk = read_tree(&checked_in());

    if std::env::var_os("OBS_BLESS").is_some_and(|v| v == "1") {
        if checked_in().exists() {
            std::fs::remove_dir_all(checked_in()).unwrap();
        }
        for f in generated.keys() {
            let to = checked_in().join(f);
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            // `copy` keeps the mode, so entrypoint.sh stays executable in git.
            std::fs::copy(generated_dir.join(f), to).unwrap();
        }
        return;
    }
    let mut drift = Vec::new();
    for (f, bytes) in &generated {
        match on_disk.get(f) {
            None => drift.push(format!("compose/{f} is missing")),
            Some(b) if b != bytes => {
                drift.push(format!("compose/{f} differs from what obs-gen writes"))
            }
            Some(_) => {}
        }
    }
    for f in on_disk.keys().filter(|f| !generated.contains_key(*f)) {
        drift.push(format!(
            "compose/{f} is not written by `obs-gen init --yes`"
        ));
    }
    assert!(
        drift.is_empty(),
        "{}\nRun `OBS_BLESS=1 cargo test -p obs-gen --test checked_in` and commit the result.",
        drift.join("\n")
    );
}
