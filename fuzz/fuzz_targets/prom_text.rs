//! The doctor's Prometheus text parser: no panic on any text, and text written from samples
//! (any label values, HELP text, the blanks the format allows) parses back to those samples.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
enum Input {
    Text(String),
    Families {
        families: Vec<Family>,
        tabs: bool,
        spaced: bool,
        empty_braces: bool,
        trailing_comma: bool,
    },
}

#[derive(Debug, Arbitrary)]
struct Family {
    name: String,
    kind: u8,
    help: String,
    samples: Vec<Sample>,
}

#[derive(Debug, Arbitrary)]
struct Sample {
    /// Picks the suffix of the family's name.
    suffix: u8,
    labels: Vec<(String, String)>,
    value: f64,
    timestamp: Option<i64>,
}

/// `s` cut down to the characters of a metric (or, without `:`, label) name.
fn name(prefix: &str, s: &str, colon: bool) -> String {
    let rest: String = s
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || (colon && *c == ':'))
        .collect();
    format!("{prefix}{rest}")
}

fuzz_target!(|input: Input| {
    let Input::Families {
        families,
        tabs,
        spaced,
        empty_braces,
        trailing_comma,
    } = input
    else {
        let Input::Text(text) = input else {
            unreachable!()
        };
        let _ = obs_gen::fuzzing::parse_exposition(&text);
        return;
    };
    let blank = if tabs { "\t" } else { " " };
    let pad = if spaced { blank } else { "" };
    // Prometheus refuses CR line ends, so the doctor does too: not among the blanks written.
    let end = "\n";
    let escape = |s: &str| {
        s.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n")
    };
    let kinds = ["counter", "gauge", "histogram", "summary", "untyped"];
    let suffixes = ["", "_bucket", "_sum", "_count", "_total"];

    let mut text = String::new();
    let mut types = BTreeMap::new();
    let mut samples = Vec::new();
    for (i, f) in families.iter().enumerate() {
        // A prefix of its own per family keeps the names distinct.
        let family = name(&format!("f{i}_"), &f.name, true);
        let kind = kinds[usize::from(f.kind) % kinds.len()];
        let help = f.help.replace('\\', "\\\\").replace('\n', "\\n");
        text +=
            &format!("# HELP {family} {help}{end}#{blank}TYPE{blank}{family}{blank}{kind}{end}");
        types.insert(family.clone(), kind.to_owned());
        for Sample {
            suffix,
            labels,
            value,
            timestamp,
        } in &f.samples
        {
            let sample = format!(
                "{family}{}",
                suffixes[usize::from(*suffix) % suffixes.len()]
            );
            let labels: BTreeMap<String, String> = labels
                .iter()
                // `le` (of a histogram's buckets) must hold a number: kept out of the names.
                .map(|(k, v)| (name("l", k, false), v.clone()))
                .map(|(k, v)| (if k == "le" { "le_".to_owned() } else { k }, v))
                .collect();
            text += &sample;
            if !labels.is_empty() || empty_braces {
                let pairs: Vec<String> = labels
                    .iter()
                    .map(|(k, v)| format!("{pad}{k}{pad}={pad}\"{}\"{pad}", escape(v)))
                    .collect();
                let comma = if trailing_comma && !labels.is_empty() {
                    ","
                } else {
                    ""
                };
                text += &format!("{pad}{{{}{comma}{pad}}}", pairs.join(","));
            }
            text += &format!("{blank}{value:?}");
            if let Some(ts) = timestamp {
                text += &format!("{blank}{ts}");
            }
            text += end;
            samples.push((sample, labels));
        }
    }
    let (parsed_types, parsed_samples) = obs_gen::fuzzing::parse_exposition(&text);
    assert_eq!(parsed_types, types, "{text}");
    assert_eq!(parsed_samples, samples, "{text}");
});
