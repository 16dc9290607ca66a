//! The Prometheus text format as `/metrics` serves it: `# TYPE` lines and samples with their
//! labels (values are not needed).

use std::collections::BTreeMap;

/// A parsed Prometheus text exposition: declared types and samples.
#[derive(Debug, Default)]
pub(crate) struct Exposition {
    /// The declared type of each metric family.
    pub(crate) types: BTreeMap<String, String>,
    /// Every sample, in order.
    pub(crate) samples: Vec<Sample>,
}

/// One sample line.
#[derive(Debug)]
pub(crate) struct Sample {
    pub(crate) name: String,
    pub(crate) labels: BTreeMap<String, String>,
}

impl Exposition {
    /// Parses `text`. Tokens may be separated by any blanks (spaces or tabs), as Prometheus
    /// reads them, also around the braces, `=` and `,` of the labels.
    pub(crate) fn parse(text: &str) -> Exposition {
        let mut e = Exposition::default();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            if let Some(comment) = line.strip_prefix('#') {
                let mut parts = comment.split_whitespace();
                if let (Some("TYPE"), Some(name), Some(kind)) =
                    (parts.next(), parts.next(), parts.next())
                {
                    e.types.insert(name.into(), kind.into());
                }
                continue;
            }
            let name_end = line.find(['{', ' ', '\t']).unwrap_or(line.len());
            let name = line[..name_end].to_string();
            let mut labels = BTreeMap::new();
            if let Some(rest) = line[name_end..]
                .trim_start_matches(BLANKS)
                .strip_prefix('{')
            {
                labels = parse_labels(rest);
            }
            e.samples.push(Sample { name, labels });
        }
        e
    }
}

/// What separates tokens in the text format.
const BLANKS: [char; 2] = [' ', '\t'];

/// Parses `a="x",b="y\"z"} 1` up to the closing brace.
fn parse_labels(s: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars
            .peek()
            .is_some_and(|c| *c == ',' || BLANKS.contains(c))
        {
            chars.next();
        }
        if chars.peek().is_none_or(|c| *c == '}') {
            break;
        }
        let name: String = chars.by_ref().take_while(|c| *c != '=').collect();
        while chars.peek().is_some_and(|c| BLANKS.contains(c)) {
            chars.next();
        }
        if chars.next() != Some('"') {
            break;
        }
        let mut value = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some('n') => value.push('\n'),
                    Some(other) => value.push(other),
                    None => break,
                },
                '"' => break,
                c => value.push(c),
            }
        }
        out.insert(name.trim_matches(BLANKS).to_string(), value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_exposition_format() {
        let e = Exposition::parse(
            "# TYPE a histogram\na_bucket{le=\"0.5\",m=\"G\\\"ET\"} 1\na_sum 2\n\n# TYPE b gauge\nb 1\n",
        );
        assert_eq!(e.types["a"], "histogram");
        assert_eq!(e.samples[0].labels["m"], "G\"ET");
        assert_eq!(e.samples[0].labels["le"], "0.5");
        assert_eq!(e.samples.len(), 3);
    }

    /// Found by the `rendered_samples_parse_back` property: Prometheus reads blanks (spaces
    /// or tabs) between tokens and around the label syntax, and so must the doctor, or a
    /// service's sample is taken for a metric named `a\t1`.
    #[test]
    fn blanks_between_tokens_are_separators() {
        let e = Exposition::parse(
            "#\tTYPE\ta\tgauge\na\t1\na {m = \"G\" ,\tle=\"1\" , } 1\na\t{m=\"P\"}\t1\t1700000000000\n",
        );
        assert_eq!(e.types["a"], "gauge");
        let samples: Vec<_> = e
            .samples
            .iter()
            .map(|s| (s.name.as_str(), &s.labels))
            .collect();
        let labels = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert_eq!(
            samples,
            [
                ("a", &labels(&[])),
                ("a", &labels(&[("m", "G"), ("le", "1")])),
                ("a", &labels(&[("m", "P")])),
            ]
        );
    }
}

/// Properties of the parser (the fuzz target `prom_text` checks the same ones for longer).
#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    /// One metric family as a service would expose it.
    #[derive(Debug, Clone)]
    struct Family {
        name: String,
        kind: &'static str,
        help: String,
        /// Suffix of the family name (`_bucket`, …), labels and value of each sample.
        samples: Vec<(&'static str, BTreeMap<String, String>, f64)>,
    }

    fn family() -> impl Strategy<Value = Family> {
        let name = "[a-zA-Z_:][a-zA-Z0-9_:]{0,24}";
        let kind =
            proptest::sample::select(vec!["counter", "gauge", "histogram", "summary", "untyped"]);
        let label_value = prop_oneof!["[a-z0-9 ._/{}=,\"\\\\\n-]{0,12}", any::<String>()];
        let labels =
            proptest::collection::btree_map("[a-zA-Z_][a-zA-Z0-9_]{0,10}", label_value, 0..4);
        let suffix = proptest::sample::select(vec!["", "_bucket", "_sum", "_count", "_total"]);
        (
            name,
            kind,
            any::<String>(),
            proptest::collection::vec((suffix, labels, any::<f64>()), 0..4),
        )
            .prop_map(|(name, kind, help, samples)| Family {
                name,
                kind,
                help,
                samples,
            })
    }

    /// Writes the families in the text format, varying what the format leaves free: the
    /// blanks between tokens (tabs, and blanks around the label syntax), `{}` for no labels, a
    /// trailing comma, timestamps, CRLF line ends.
    fn render(families: &[Family], style: (bool, bool, bool, bool, bool)) -> String {
        let (tabs, empty_braces, trailing_comma, crlf, spaced) = style;
        let blank = if tabs { "\t" } else { " " };
        let pad = if spaced { blank } else { "" };
        let end = if crlf { "\r\n" } else { "\n" };
        let escape = |s: &str| {
            s.replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n")
        };
        let mut out = String::new();
        for f in families {
            let help = f.help.replace('\\', "\\\\").replace('\n', "\\n");
            out.push_str(&format!("# HELP {} {help}{end}", f.name));
            out.push_str(&format!(
                "#{blank}TYPE{blank}{}{blank}{}{end}",
                f.name, f.kind
            ));
            for (i, (suffix, labels, value)) in f.samples.iter().enumerate() {
                out.push_str(&f.name);
                out.push_str(suffix);
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
                    out.push_str(&format!("{pad}{{{}{comma}{pad}}}", pairs.join(",")));
                }
                let value = if value.is_nan() {
                    "NaN".into()
                } else {
                    value.to_string()
                };
                out.push_str(&format!("{blank}{value}"));
                if i % 2 == 1 {
                    out.push_str(&format!("{blank}1700000000000"));
                }
                out.push_str(end);
            }
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Text written from random families parses back to the same types and samples.
        #[test]
        fn rendered_samples_parse_back(
            families in proptest::collection::btree_map("[a-z]{1,3}", family(), 0..5),
            style in any::<(bool, bool, bool, bool, bool)>(),
        ) {
            // Distinct families: a prefix of its own for each (`[a-z]` then `_`).
            let families: Vec<Family> = families
                .into_iter()
                .map(|(prefix, f)| Family { name: format!("{prefix}_{}", f.name), ..f })
                .collect();
            let text = render(&families, style);
            let e = Exposition::parse(&text);
            let types: BTreeMap<String, String> =
                families.iter().map(|f| (f.name.clone(), f.kind.to_owned())).collect();
            prop_assert_eq!(&e.types, &types, "{}", text);
            let expected: Vec<(String, &BTreeMap<String, String>)> = families
                .iter()
                .flat_map(|f| f.samples.iter().map(|(suffix, l, _)| (format!("{}{suffix}", f.name), l)))
                .collect();
            let got: Vec<(String, &BTreeMap<String, String>)> =
                e.samples.iter().map(|s| (s.name.clone(), &s.labels)).collect();
            prop_assert_eq!(got, expected, "{}", text);
        }

        /// Arbitrary text, and text made of the format's own characters: no panic.
        #[test]
        fn arbitrary_text_never_panics(
            text in prop_oneof![any::<String>(), "[a-z_{}=\",# \\\\\n\t\"TYPE]{0,80}"],
        ) {
            let _ = Exposition::parse(&text);
        }
    }
}
