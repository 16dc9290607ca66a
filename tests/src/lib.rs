//! Shared helpers for the workspace-level tests in `tests/tests/`.

pub mod live;
pub mod markdown;
pub mod process;
pub mod prom;
pub mod receivers;

/// Whether this run is in CI, where a missing tool fails a test instead of skipping it.
pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// Finds `tool` on `PATH`. In CI a missing tool panics; on a developer machine it prints a loud
/// message and returns `None`, so the caller can skip.
pub fn require_tool(tool: &str) -> Option<std::path::PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(tool))
            .find(|candidate| candidate.is_file())
    });
    match found {
        Some(path) => Some(path),
        None if in_ci() => panic!(
            "{tool} is not installed; .ci/run installs it (CI=true, so this fails instead of skipping)"
        ),
        None => {
            eprintln!(
                "\n!!! SKIPPING: {tool} is not on PATH. Run `bash .ci/run deps` to install it. !!!\n"
            );
            None
        }
    }
}

/// The repository root.
pub fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lives in the repository")
        .to_path_buf()
}
