//! `docs/metrics.md` is rendered from the catalogue; this test fails when it is stale.
//! `OBS_BLESS=1 cargo test -p obs-sdk --test reference_page` rewrites it.

#[test]
fn metrics_reference_page_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/metrics.md");
    let expected = obs_sdk::catalogue::reference_markdown();
    if std::env::var_os("OBS_BLESS").is_some() {
        std::fs::write(&path, &expected).unwrap();
        return;
    }
    let actual = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        actual == expected,
        "docs/metrics.md is stale: run `OBS_BLESS=1 cargo test -p obs-sdk --test reference_page`"
    );
}

#[test]
fn reference_page_lists_every_catalogue_name() {
    let page = obs_sdk::catalogue::reference_markdown();
    for m in obs_sdk::catalogue::METRICS {
        assert!(page.contains(&format!("`{}`", m.name)), "{}", m.name);
        for l in m.labels {
            assert!(page.contains(&format!("`{l}`")), "{l}");
        }
    }
    for f in obs_sdk::catalogue::LOG_FIELDS {
        assert!(page.contains(&format!("`{}`", f.name)), "{}", f.name);
    }
}
