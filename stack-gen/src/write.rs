//! Safe writes: a plan of every change is made first (and can be shown as a diff), a file the
//! user changed since obs-gen wrote it is never overwritten without `--force`, and the files are
//! staged next to their targets and renamed into place only once all were staged.
//!
//! `.obs-manifest.json` records the SHA-256 of every file obs-gen wrote; a file whose content
//! no longer matches its recorded hash was edited by hand.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::Error;
use crate::render::OutFile;

/// The manifest's file name in the output directory.
pub const MANIFEST: &str = ".obs-manifest.json";

/// How a file is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Generated and recorded in the manifest; rewritten when obs.toml changes, unless edited.
    Managed,
    /// Written only when absent, never rewritten (the `.env` with its random password). Mode 0600.
    CreateOnce,
    /// The configuration itself (`obs.toml` from `init`): written when absent or equal; a
    /// different existing one is a conflict unless `--force`.
    Config,
}

/// One file to write, with its policy.
#[derive(Debug, Clone)]
pub struct Planned {
    /// The file.
    pub file: OutFile,
    /// How it is treated.
    pub policy: Policy,
}

/// What happens to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// New file.
    Create,
    /// Rewritten (it was unchanged since obs-gen wrote it, or `--force`).
    Update,
    /// Already as generated.
    Keep,
    /// Generated before, no longer part of the stack, unchanged: removed.
    Delete,
}

/// One change of a plan.
#[derive(Debug, Clone)]
pub struct Change {
    /// Relative path.
    pub path: String,
    /// What happens.
    pub action: Action,
    /// The current content, if any.
    pub old: Option<String>,
    /// The new content (`None` for deletions).
    pub new: Option<String>,
    /// How the file is treated.
    pub policy: Policy,
}

/// Everything a run would do to the output directory.
#[derive(Debug)]
pub struct Plan {
    /// The output directory.
    pub dir: PathBuf,
    /// Every file, sorted by path.
    pub changes: Vec<Change>,
    /// Notes for the user (stale files left in place).
    pub notes: Vec<String>,
    manifest: Manifest,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Manifest {
    generator: String,
    files: BTreeMap<String, String>,
}

/// The SHA-256 of `text`, in hex.
pub fn sha256(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn read_optional(path: &Path) -> Result<Option<String>, Error> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => Ok(None),
        Err(e) => Err(Error::io(path, "read", &e)),
    }
}

/// Compares `files` with what `dir` holds and decides what to do with each. Edited files are
/// conflicts (one line each, naming the file) unless `force`.
pub fn plan(dir: &Path, files: Vec<Planned>, force: bool) -> Result<Plan, Error> {
    let manifest_path = dir.join(MANIFEST);
    let old_manifest: Manifest = match read_optional(&manifest_path)? {
        Some(text) => serde_json::from_str(&text).map_err(|e| {
            Error::Input(format!(
                "{}: not a valid obs-gen manifest ({e}); remove it to start afresh",
                manifest_path.display()
            ))
        })?,
        None => Manifest::default(),
    };
    let mut changes = Vec::new();
    let mut conflicts = Vec::new();
    let mut manifest = Manifest {
        generator: "obs-gen".into(),
        files: BTreeMap::new(),
    };
    for Planned { file, policy } in files {
        let target = dir.join(&file.path);
        let old = read_optional(&target)?;
        let action = match (&old, policy) {
            (None, _) => Action::Create,
            (Some(_), Policy::CreateOnce) => Action::Keep,
            (Some(o), _) if *o == file.contents => Action::Keep,
            (Some(o), Policy::Managed)
                if old_manifest.files.get(&file.path) == Some(&sha256(o)) =>
            {
                Action::Update
            }
            (Some(_), _) if force => Action::Update,
            (Some(_), Policy::Config) => {
                conflicts.push(format!(
                    "{}: exists with other settings; edit it and run `obs-gen generate`, or pass --force to replace it",
                    target.display()
                ));
                Action::Keep
            }
            (Some(_), _) => {
                let why = if old_manifest.files.contains_key(&file.path) {
                    "was changed by hand since obs-gen wrote it"
                } else {
                    "exists and was not written by obs-gen"
                };
                conflicts.push(format!(
                    "{}: {why}; obs-gen will not overwrite it (--dry-run shows the diff, --force overwrites)",
                    target.display()
                ));
                Action::Keep
            }
        };
        if policy == Policy::Managed {
            manifest
                .files
                .insert(file.path.clone(), sha256(&file.contents));
        }
        changes.push(Change {
            path: file.path,
            action,
            old,
            new: Some(file.contents),
            policy,
        });
    }
    if !conflicts.is_empty() {
        return Err(Error::Conflict(conflicts.join("\n")));
    }
    let mut notes = Vec::new();
    for (path, hash) in &old_manifest.files {
        if manifest.files.contains_key(path) {
            continue;
        }
        let target = dir.join(path);
        match read_optional(&target)? {
            Some(old) if sha256(&old) == *hash || force => changes.push(Change {
                path: path.clone(),
                action: Action::Delete,
                old: Some(old),
                new: None,
                policy: Policy::Managed,
            }),
            Some(_) => notes.push(format!(
                "{}: no longer generated, but changed by hand: left in place",
                target.display()
            )),
            None => {}
        }
    }
    changes.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Plan {
        dir: dir.to_path_buf(),
        changes,
        notes,
        manifest,
    })
}

impl Plan {
    /// Whether the run changes anything on disk.
    pub fn is_noop(&self) -> bool {
        self.changes.iter().all(|c| c.action == Action::Keep)
    }

    /// A unified diff of every change (secrets of `CreateOnce` files are not shown).
    pub fn diff(&self) -> String {
        let mut out = String::new();
        for c in &self.changes {
            if c.action == Action::Keep {
                continue;
            }
            if c.policy == Policy::CreateOnce {
                out.push_str(&format!(
                    "--- /dev/null\n+++ b/{}\n(new file with generated secrets, not shown)\n",
                    c.path
                ));
                continue;
            }
            let old = c.old.as_deref().unwrap_or("");
            let new = c.new.as_deref().unwrap_or("");
            let (a, b) = match c.action {
                Action::Create => ("/dev/null".to_string(), format!("b/{}", c.path)),
                Action::Delete => (format!("a/{}", c.path), "/dev/null".to_string()),
                _ => (format!("a/{}", c.path), format!("b/{}", c.path)),
            };
            let diff = similar::TextDiff::from_lines(old, new);
            out.push_str(
                &diff
                    .unified_diff()
                    .context_radius(3)
                    .header(&a, &b)
                    .to_string(),
            );
        }
        out
    }

    /// A one-line summary: `12 created, 1 updated, 3 unchanged, 0 removed`.
    pub fn summary(&self) -> String {
        let count = |a: Action| self.changes.iter().filter(|c| c.action == a).count();
        format!(
            "{} created, {} updated, {} unchanged, {} removed",
            count(Action::Create),
            count(Action::Update),
            count(Action::Keep),
            count(Action::Delete)
        )
    }

    /// Writes the plan: checks the directory is writable, stages every file next to its target,
    /// then renames them into place, and writes the manifest last.
    pub fn apply(&self) -> Result<(), Error> {
        fs::create_dir_all(&self.dir)
            .map_err(|e| Error::io(&self.dir, "create the output directory", &e))?;
        let probe = self
            .dir
            .join(format!(".obs-gen-probe-{}", std::process::id()));
        fs::write(&probe, b"")
            .map_err(|e| Error::io(&self.dir, "write into the output directory", &e))?;
        let _ = fs::remove_file(&probe);

        let mut staged: Vec<(PathBuf, PathBuf)> = Vec::new();
        let result = (|| {
            for c in &self.changes {
                let (Action::Create | Action::Update) = c.action else {
                    continue;
                };
                let content = c.new.as_deref().unwrap_or_default();
                let mode = if c.policy == Policy::CreateOnce {
                    0o600
                } else if c.path.ends_with(".sh") {
                    0o755
                } else {
                    0o644
                };
                let target = self.dir.join(&c.path);
                let tmp = stage(&target, content, mode)?;
                staged.push((tmp, target));
            }
            let manifest =
                serde_json::to_string_pretty(&self.manifest).expect("manifest serialises") + "\n";
            let target = self.dir.join(MANIFEST);
            let tmp = stage(&target, &manifest, 0o644)?;
            staged.push((tmp, target));
            Ok(())
        })();
        if let Err(e) = result {
            for (tmp, _) in &staged {
                let _ = fs::remove_file(tmp);
            }
            return Err(e);
        }
        for (tmp, target) in &staged {
            fs::rename(tmp, target).map_err(|e| Error::io(target, "rename into place", &e))?;
        }
        for c in &self.changes {
            if c.action == Action::Delete {
                let target = self.dir.join(&c.path);
                fs::remove_file(&target).map_err(|e| Error::io(&target, "remove", &e))?;
            }
        }
        Ok(())
    }
}

/// Writes `content` to a temporary file beside `target` (same directory, so the rename is
/// atomic), synced to disk, with `mode`.
fn stage(target: &Path, content: &str, mode: u32) -> Result<PathBuf, Error> {
    let dir = target
        .parent()
        .expect("targets live in the output directory");
    fs::create_dir_all(dir).map_err(|e| Error::io(dir, "create directory", &e))?;
    let name = target
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("file");
    let tmp = dir.join(format!(".{name}.obs-gen-tmp"));
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(mode);
    }
    let mut f = options
        .open(&tmp)
        .map_err(|e| Error::io(&tmp, "create", &e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        f.set_permissions(fs::Permissions::from_mode(mode))
            .map_err(|e| Error::io(&tmp, "set permissions of", &e))?;
    }
    #[cfg(not(unix))]
    let _ = mode;
    f.write_all(content.as_bytes())
        .map_err(|e| Error::io(&tmp, "write", &e))?;
    f.sync_all().map_err(|e| Error::io(&tmp, "sync", &e))?;
    Ok(tmp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn managed(path: &str, text: &str) -> Planned {
        Planned {
            file: OutFile {
                path: path.into(),
                contents: text.into(),
            },
            policy: Policy::Managed,
        }
    }

    #[test]
    fn create_update_keep_and_conflict() {
        let dir = tempfile::tempdir().unwrap();
        let p = plan(
            dir.path(),
            vec![managed("a/x.yml", "1\n"), managed("b.txt", "b\n")],
            false,
        )
        .unwrap();
        assert!(p.changes.iter().all(|c| c.action == Action::Create));
        p.apply().unwrap();

        let p = plan(
            dir.path(),
            vec![managed("a/x.yml", "2\n"), managed("b.txt", "b\n")],
            false,
        )
        .unwrap();
        assert_eq!(p.changes[0].action, Action::Update);
        assert_eq!(p.changes[1].action, Action::Keep);
        assert!(p.diff().contains("-1\n+2\n"), "{}", p.diff());
        p.apply().unwrap();

        fs::write(dir.path().join("a/x.yml"), "mine\n").unwrap();
        let err = plan(
            dir.path(),
            vec![managed("a/x.yml", "3\n"), managed("b.txt", "b\n")],
            false,
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("x.yml: was changed by hand"),
            "{err}"
        );
        let p = plan(
            dir.path(),
            vec![managed("a/x.yml", "3\n"), managed("b.txt", "b\n")],
            true,
        )
        .unwrap();
        p.apply().unwrap();
        assert_eq!(
            fs::read_to_string(dir.path().join("a/x.yml")).unwrap(),
            "3\n"
        );
    }

    #[test]
    fn stale_files_are_removed_and_create_once_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let once = Planned {
            file: OutFile {
                path: ".env".into(),
                contents: "secret\n".into(),
            },
            policy: Policy::CreateOnce,
        };
        plan(
            dir.path(),
            vec![managed("old.yml", "o\n"), once.clone()],
            false,
        )
        .unwrap()
        .apply()
        .unwrap();
        let mut again = once;
        again.file.contents = "other\n".into();
        let p = plan(dir.path(), vec![again], false).unwrap();
        assert_eq!(
            p.changes
                .iter()
                .find(|c| c.path == "old.yml")
                .unwrap()
                .action,
            Action::Delete
        );
        assert!(!p.diff().contains("secret"));
        p.apply().unwrap();
        assert!(!dir.path().join("old.yml").exists());
        assert_eq!(
            fs::read_to_string(dir.path().join(".env")).unwrap(),
            "secret\n"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = fs::metadata(dir.path().join(".env"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
