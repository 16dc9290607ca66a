//! Every relative link in the repository's Markdown resolves: the file or folder exists, and a
//! `#anchor` names a heading of the file it points into, by GitHub's anchor rules. Documents
//! under `target/` and `node_modules/` are not the project's and are left out.

use std::path::{Path, PathBuf};

use obs_tests::markdown;

#[test]
fn every_relative_link_in_the_markdown_resolves() {
    let root = markdown::workspace_root();
    let docs = markdown::documents(&root);
    for expected in [
        "README.md",
        "ARCHITECTURE.md",
        "docs/sdk.md",
        "sdk/README.md",
    ] {
        assert!(
            docs.contains(&PathBuf::from(expected)),
            "{expected} was not found among {docs:?}"
        );
    }
    let broken: Vec<String> = docs
        .iter()
        .flat_map(|doc| markdown::broken_links(&root, doc))
        .collect();
    assert!(
        broken.is_empty(),
        "{} broken links in {} documents:\n{}",
        broken.len(),
        docs.len(),
        broken.join("\n")
    );
}

#[test]
fn broken_links_are_reported_with_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let write = |path: &str, text: &str| {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write(
        "docs/a.md",
        "# A\n\n## Part one\n\n[ok](b.md#b-title) [self](#part-one) [dir](../docs/)\n\
         [gone](missing.md)\n[bad anchor](b.md#nope)\n[web](https://example.com/x.md) \
         [mail](mailto:a@example.com) [root](/docs/b.md)\n[own](#no-such-part)\n",
    );
    write("docs/b.md", "# B title\n");
    // Not the project's documents: never read, so their broken links do not count.
    write("node_modules/pkg/README.md", "[x](nowhere.md)\n");
    write("target/doc/x.md", "[x](nowhere.md)\n");

    assert_eq!(
        markdown::documents(root),
        [Path::new("docs/a.md"), Path::new("docs/b.md")]
    );
    assert_eq!(
        markdown::broken_links(root, Path::new("docs/a.md")),
        [
            "docs/a.md:6: missing.md: docs/missing.md does not exist",
            "docs/a.md:7: b.md#nope: docs/b.md has no heading with the anchor #nope",
            "docs/a.md:9: #no-such-part: docs/a.md has no heading with the anchor #no-such-part",
        ]
    );
    assert!(markdown::broken_links(root, Path::new("docs/b.md")).is_empty());
}
