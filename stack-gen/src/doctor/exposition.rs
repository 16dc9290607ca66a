//! The Prometheus text format as `/metrics` serves it: `# TYPE` lines and samples with their
//! labels (values are not needed).

use std::collections::BTreeMap;

/// A parsed Prometheus text exposition: declared types and samples.
#[derive(Debug, Default)]
pub(super) struct Exposition {
    /// The declared type of each metric family.
    pub(super) types: BTreeMap<String, String>,
    /// Every sample, in order.
    pub(super) samples: Vec<Sample>,
}

/// One sample line.
#[derive(Debug)]
pub(super) struct Sample {
    pub(super) name: String,
    pub(super) labels: BTreeMap<String, String>,
}

impl Exposition {
    pub(super) fn parse(text: &str) -> Exposition {
        let mut e = Exposition::default();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let mut parts = rest.split_whitespace();
                if let (Some(name), Some(kind)) = (parts.next(), parts.next()) {
                    e.types.insert(name.into(), kind.into());
                }
                continue;
            }
            if line.starts_with('#') {
                continue;
            }
            let name_end = line.find(['{', ' ']).unwrap_or(line.len());
            let name = line[..name_end].to_string();
            let mut labels = BTreeMap::new();
            if line[name_end..].starts_with('{') {
                labels = parse_labels(&line[name_end + 1..]);
            }
            e.samples.push(Sample { name, labels });
        }
        e
    }
}

/// Parses `a="x",b="y\"z"} 1` up to the closing brace.
fn parse_labels(s: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none_or(|c| *c == '}') {
            break;
        }
        let name: String = chars.by_ref().take_while(|c| *c != '=').collect();
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
        out.insert(name.trim().to_string(), value);
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
}
