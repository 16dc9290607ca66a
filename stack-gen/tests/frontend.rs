//! The generated Next.js Sentry files (`frontend = "nextjs"`) type-check with `tsc --noEmit`
//! against the real `@sentry/nextjs` and `next` packages, at the versions locked in
//! `tests/frontend/package-lock.json` (`.ci/run` installs them with `npm ci`). Without the
//! packages the tests fail in CI and skip loudly elsewhere.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

/// The locked packages' folder, when its `node_modules` is installed.
fn packages() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/frontend");
    obs_tests::require_tool("node")?;
    let installed = [
        "@sentry/nextjs",
        "next",
        "typescript",
        "react",
        "@types/react",
    ]
    .iter()
    .all(|p| {
        dir.join("node_modules")
            .join(p)
            .join("package.json")
            .is_file()
    });
    if installed {
        return Some(dir);
    }
    let hint = "run `bash .ci/run deps` (or `npm ci --ignore-scripts` in stack-gen/tests/frontend)";
    assert!(
        !obs_tests::in_ci(),
        "the npm packages of stack-gen/tests/frontend are not installed; {hint} (CI=true, so this fails instead of skipping)"
    );
    eprintln!(
        "\n!!! SKIPPING: the npm packages of stack-gen/tests/frontend are missing; {hint}. !!!\n"
    );
    None
}

/// A Next.js project skeleton in a temporary folder: the locked packages, the tsconfig.json
/// `create-next-app` writes, and the generated files where the generated README puts them.
fn skeleton(packages: &Path, generated: &Path) -> tempfile::TempDir {
    let app = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(
        packages.join("node_modules"),
        app.path().join("node_modules"),
    )
    .unwrap();
    for f in ["package.json", "tsconfig.json", "next-env.d.ts"] {
        std::fs::copy(packages.join(f), app.path().join(f)).unwrap();
    }
    std::fs::create_dir(app.path().join("app")).unwrap();
    for (from, to) in [
        ("instrumentation-client.ts", "instrumentation-client.ts"),
        ("instrumentation.ts", "instrumentation.ts"),
        ("sentry.server.config.ts", "sentry.server.config.ts"),
        ("sentry.edge.config.ts", "sentry.edge.config.ts"),
        ("sentry.shared.ts", "sentry.shared.ts"),
        ("app/global-error.tsx", "app/global-error.tsx"),
        ("next.config.snippet.ts", "next.config.ts"),
    ] {
        std::fs::copy(generated.join(from), app.path().join(to))
            .unwrap_or_else(|e| panic!("{from}: {e}"));
    }
    app
}

/// Runs `tsc --noEmit` in `app`; returns whether it passed and what it printed.
fn tsc(app: &Path) -> (bool, String) {
    let out = Command::new(app.join("node_modules/.bin/tsc"))
        .args(["--noEmit", "-p", "tsconfig.json"])
        .current_dir(app)
        .output()
        .expect("tsc runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn generated() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let out = generate_fixture(tmp.path(), "all-options.toml");
    (tmp, out.join("frontend/nextjs"))
}

#[test]
fn generated_files_type_check_against_the_real_packages() {
    let Some(packages) = packages() else { return };
    let (_tmp, generated) = generated();
    let app = skeleton(&packages, &generated);
    let (ok, output) = tsc(app.path());
    assert!(ok, "tsc --noEmit failed:\n{output}");
}

#[test]
fn the_type_check_catches_a_wrong_option_and_a_wrong_hook() {
    let Some(packages) = packages() else { return };
    let (_tmp, generated) = generated();
    for (file, from, to, expected) in [
        (
            "sentry.shared.ts",
            "tracePropagationTargets,\n",
            "tracePropagationTarget: tracePropagationTargets,\n",
            "'tracePropagationTarget' does not exist",
        ),
        (
            "instrumentation.ts",
            "= Sentry.captureRequestError;",
            "= Sentry.captureException;",
            "InstrumentationOnRequestError",
        ),
    ] {
        let app = skeleton(&packages, &generated);
        let path = app.path().join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{file} has {from:?}");
        std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
        let (ok, output) = tsc(app.path());
        assert!(!ok, "tsc accepted a broken {file}");
        assert!(
            output.contains(file) && output.contains(expected),
            "{output}"
        );
    }
}

#[test]
fn the_readme_names_the_versions_of_the_lock() {
    let lock: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/frontend/package-lock.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let (_tmp, generated) = generated();
    let readme = std::fs::read_to_string(generated.join("README.md")).unwrap();
    for (name, version) in obs_gen::render::frontend::CHECKED_WITH {
        assert!(
            readme.contains(&format!("`{name}` {version}")),
            "{name}: {readme}"
        );
        assert_eq!(
            lock["packages"][format!("node_modules/{name}")]["version"].as_str(),
            Some(*version),
            "{name}: CHECKED_WITH and the lock differ"
        );
    }
}
