//! Entry points for the fuzz targets in `fuzz/` (see FUZZING.md). Compiled only under
//! `cargo fuzz`, which passes `--cfg fuzzing`: the doctor's exposition parser is private to the
//! doctor, and no other caller should depend on it.

use std::collections::BTreeMap;

/// A Prometheus text exposition as the doctor reads it: the declared type of each family, and
/// each sample's name and labels, in order.
pub type Parsed = (
    BTreeMap<String, String>,
    Vec<(String, BTreeMap<String, String>)>,
);

/// Parses `text` as `obs-gen doctor` parses a service's `/metrics`. Text Prometheus refuses
/// (a CRLF line end, a `le` that is no number in a histogram, …) reads as nothing, as a scrape
/// of it would.
pub fn parse_exposition(text: &str) -> Parsed {
    let Ok(e) = crate::doctor::exposition::Exposition::parse(text) else {
        return Parsed::default();
    };
    let samples = e.samples.into_iter().map(|s| (s.name, s.labels)).collect();
    (e.types, samples)
}
