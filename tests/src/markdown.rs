//! Reading the repository's Markdown documents for the document tests: which files there are,
//! their code blocks, their links and the anchors of their headings. Parsing is pulldown-cmark's
//! (CommonMark with GitHub's tables), so a link inside a table, a code span that looks like a
//! link or a fence inside a list is read as GitHub reads it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};

/// The workspace root (the parent of this crate's folder).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the test crate sits inside the workspace")
        .to_path_buf()
}

/// Folders that hold no document of the project: build output, installed packages, git.
const SKIPPED_DIRS: &[&str] = &[".git", "target", "node_modules"];

/// Every `.md` file under `root`, relative to it and sorted, leaving out `.git`, `target` and
/// `node_modules` folders.
pub fn documents(root: &Path) -> Vec<PathBuf> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
        let entries =
            std::fs::read_dir(dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
        for entry in entries {
            let entry = entry.unwrap();
            let path = entry.path();
            // `file_type` does not follow symlinks: a linked node_modules is not walked.
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                let name = entry.file_name();
                if !SKIPPED_DIRS.iter().any(|s| name == *s) {
                    walk(root, &path, out);
                }
            } else if kind.is_file() && path.extension().is_some_and(|e| e == "md") {
                out.push(path.strip_prefix(root).unwrap().to_path_buf());
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

fn parser(text: &str) -> Parser<'_> {
    Parser::new_ext(text, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH)
}

/// The 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset].bytes().filter(|b| *b == b'\n').count() + 1
}

/// A fenced code block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeBlock {
    /// The info string's first word (`sh`, `rust`, …); empty when there is none.
    pub lang: String,
    /// The line of the block's first content line.
    pub first_line: usize,
    /// The content, without the fences.
    pub text: String,
}

/// The fenced code blocks of a document, in order.
pub fn code_blocks(text: &str) -> Vec<CodeBlock> {
    let mut blocks = Vec::new();
    let mut current: Option<CodeBlock> = None;
    for (event, range) in parser(text).into_offset_iter() {
        match event {
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info))) => {
                current = Some(CodeBlock {
                    lang: info.split_whitespace().next().unwrap_or("").to_string(),
                    // The range starts at the opening fence.
                    first_line: line_of(text, range.start) + 1,
                    text: String::new(),
                });
            }
            Event::Text(t) => {
                if let Some(block) = current.as_mut() {
                    block.text.push_str(&t);
                }
            }
            Event::End(TagEnd::CodeBlock) => blocks.extend(current.take()),
            _ => {}
        }
    }
    blocks
}

/// A link or image destination, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The destination (`docs/sdk.md#configuration`, `https://…`, `#anchor`).
    pub dest: String,
    /// The line the link starts on.
    pub line: usize,
}

/// The links and images of a document, in order; reference-style links are resolved.
pub fn links(text: &str) -> Vec<Link> {
    parser(text)
        .into_offset_iter()
        .filter_map(|(event, range)| match event {
            Event::Start(Tag::Link { dest_url, .. })
            | Event::Start(Tag::Image { dest_url, .. }) => Some(Link {
                dest: dest_url.to_string(),
                line: line_of(text, range.start),
            }),
            _ => None,
        })
        .collect()
}

/// GitHub's anchor for a heading's text: lower case, spaces become `-`, and every character
/// that is not a letter, a digit, `-` or `_` is dropped. Written here because pulldown-cmark
/// leaves anchors to the renderer and no well-kept crate implements GitHub's rule; this is the
/// rule of github-slugger, which GitHub uses, for the headings such documents have.
pub fn github_anchor(heading: &str) -> String {
    heading
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            '-' | '_' => Some(c),
            c if c.is_alphanumeric() => Some(c),
            _ => None,
        })
        .collect()
}

/// The anchors of a document's headings, numbered as GitHub numbers repeated ones (`-1`, `-2`).
pub fn anchors(text: &str) -> BTreeSet<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = BTreeSet::new();
    let mut heading: Option<String> = None;
    for event in parser(text) {
        match event {
            Event::Start(Tag::Heading { .. }) => heading = Some(String::new()),
            Event::Text(t) | Event::Code(t) => {
                if let Some(h) = heading.as_mut() {
                    h.push_str(&t);
                }
            }
            Event::End(TagEnd::Heading(_)) => {
                let base = github_anchor(&heading.take().unwrap_or_default());
                let n = seen.entry(base.clone()).or_insert(0);
                out.insert(if *n == 0 {
                    base.clone()
                } else {
                    format!("{base}-{n}")
                });
                *n += 1;
            }
            _ => {}
        }
    }
    out
}

/// Whether a destination leaves the repository (`https:`, `mailto:`, …).
fn is_external(dest: &str) -> bool {
    let scheme = dest.split(['/', '#', '?']).next().unwrap_or("");
    scheme.contains(':')
}

/// The relative links of `doc` (a path relative to `root`) that do not resolve: the file or
/// folder must exist, and for `file.md#anchor` (or `#anchor`) the heading must be in that file.
/// Each problem is one line, `doc:line: dest: why`.
pub fn broken_links(root: &Path, doc: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(root.join(doc))
        .unwrap_or_else(|e| panic!("reading {}: {e}", doc.display()));
    let dir = doc.parent().unwrap_or(Path::new(""));
    let mut problems = Vec::new();
    for link in links(&text) {
        if is_external(&link.dest) || link.dest.is_empty() {
            continue;
        }
        let (path, anchor) = match link.dest.split_once('#') {
            Some((path, anchor)) => (path, Some(anchor)),
            None => (link.dest.as_str(), None),
        };
        let path = path.split('?').next().unwrap_or("");
        let target = if path.is_empty() {
            doc.to_path_buf()
        } else if let Some(from_root) = path.strip_prefix('/') {
            PathBuf::from(from_root)
        } else {
            dir.join(path)
        };
        let on_disk = root.join(&target);
        let at = format!("{}:{}: {}", doc.display(), link.line, link.dest);
        if !on_disk.exists() {
            problems.push(format!("{at}: {} does not exist", target.display()));
            continue;
        }
        // An anchor into anything but Markdown (a line of a source file) is GitHub's to resolve.
        let Some(anchor) = anchor.filter(|a| !a.is_empty()) else {
            continue;
        };
        if on_disk.extension().is_some_and(|e| e == "md")
            && !anchors(&std::fs::read_to_string(&on_disk).unwrap()).contains(anchor)
        {
            problems.push(format!(
                "{at}: {} has no heading with the anchor #{anchor}",
                target.display()
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_follow_github() {
        for (heading, anchor) in [
            ("Sentry, traces and Loki", "sentry-traces-and-loki"),
            (
                "`obs-gen init`: the wizard and its flags",
                "obs-gen-init-the-wizard-and-its-flags",
            ),
            ("The obs.toml reference", "the-obstoml-reference"),
            ("`[alerting]`", "alerting"),
            ("obs / SLOs", "obs--slos"),
            ("A browser's trace continues", "a-browsers-trace-continues"),
            ("HTTP server (RED)", "http-server-red"),
            ("snake_case stays", "snake_case-stays"),
        ] {
            assert_eq!(github_anchor(heading), anchor, "{heading}");
        }
    }

    #[test]
    fn repeated_headings_are_numbered() {
        let got = anchors("# Setup\n\n## Setup\n\n### Setup\n\n## `Other` *one*\n");
        let want: BTreeSet<String> = ["setup", "setup-1", "setup-2", "other-one"]
            .map(String::from)
            .into();
        assert_eq!(got, want);
    }

    #[test]
    fn blocks_and_links_carry_their_lines() {
        let text = "# T\n\nSee [a](a.md#x) and\n[b][ref].\n\n```sh\necho hi\n```\n\n| c |\n|---|\n| [d](d/) |\n\n`[not](a link)`\n\n[ref]: b.md\n";
        let links = links(text);
        let got: Vec<(&str, usize)> = links.iter().map(|l| (l.dest.as_str(), l.line)).collect();
        assert_eq!(got, [("a.md#x", 3), ("b.md", 4), ("d/", 12)]);
        let blocks = code_blocks(text);
        assert_eq!(blocks.len(), 1);
        assert_eq!((blocks[0].lang.as_str(), blocks[0].first_line), ("sh", 7));
        assert_eq!(blocks[0].text, "echo hi\n");
    }
}
