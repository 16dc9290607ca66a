//! The Prometheus text format as `/metrics` serves it, read as strictly as Prometheus reads it:
//! the declared types and every sample with its labels (values are checked, not kept). Text
//! that Prometheus refuses is an error naming the line, because Prometheus drops the whole
//! scrape when one line does not parse.
//!
//! The parser is hand-written. The Rust crates made for the format are more lenient than
//! Prometheus: `prometheus-parse` matches lines with regular expressions and silently skips
//! those that do not match (and splits label values on commas); `openmetrics-parser` refuses
//! what Prometheus accepts (tabs between tokens, an unsigned `Inf`), accepts OpenMetrics-only
//! syntax, and is LGPL-licensed; the official `prometheus-client` only writes the format. This
//! one follows, state for state, the text parser of Prometheus's client libraries (Go's
//! `expfmt.TextParser`, which `promtool check metrics` runs), and the test in `promtool.rs`
//! compares its verdicts and line numbers with promtool's on valid and broken inputs.
//!
//! What that parser refuses: a name or label name outside `[a-zA-Z_:][a-zA-Z0-9_:]*` (labels
//! without `:`), `__name__` as a label, a label twice, a label value that is not a quoted UTF-8
//! string with the escapes `\\`, `\"` and `\n`, a value that is not a Go float (`1e400`,
//! `+NaN`, `0x10`, `1_000`), a timestamp that is not an integer or anything after it, a second
//! `HELP` or `TYPE` for a family or a `TYPE` after its samples, an unknown type, a `le` or
//! `quantile` that is not a float, a carriage return before the line feed, and a last line
//! without its line feed. What it accepts and `promtool check metrics` then lints (no HELP,
//! counters without `_total`, a histogram without its `+Inf` bucket) is accepted here: the
//! doctor's own checks hold the SDK's metrics to the catalogue.

mod number;
#[cfg(test)]
mod promtool;

use std::collections::{BTreeMap, HashMap};

use number::{parse_float, parse_int};

/// A parsed Prometheus text exposition: declared types and samples.
#[derive(Debug, Default)]
pub(crate) struct Exposition {
    /// The declared type of each metric family, in lower case (`histogram`).
    pub(crate) types: BTreeMap<String, String>,
    /// Every sample, in order.
    pub(crate) samples: Vec<Sample>,
}

/// One sample line.
#[derive(Debug)]
pub(crate) struct Sample {
    pub(crate) name: String,
    /// Every label, `le` and `quantile` included.
    pub(crate) labels: BTreeMap<String, String>,
}

/// The first line Prometheus would refuse, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParseError {
    /// 1-based.
    pub(crate) line: usize,
    /// The line as written, control characters escaped and cut to a readable length.
    pub(crate) text: String,
    /// What is wrong with it.
    pub(crate) reason: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}: {}", self.line, self.reason, self.text)
    }
}

/// The type a `# TYPE` line declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Counter,
    Gauge,
    Summary,
    Untyped,
    Histogram,
}

impl Kind {
    /// The type token, in any case: Go upper-cases it rune by rune (simple case mapping, so
    /// `ſ` becomes `S` but `ﬅ` stays itself) and looks it up.
    fn from_token(token: &str) -> Option<Kind> {
        let upper: String = token
            .chars()
            .map(|c| {
                let mut up = c.to_uppercase();
                match (up.next(), up.next()) {
                    (Some(u), None) => u,
                    _ => c,
                }
            })
            .collect();
        Some(match upper.as_str() {
            "COUNTER" => Kind::Counter,
            "GAUGE" => Kind::Gauge,
            "SUMMARY" => Kind::Summary,
            "UNTYPED" => Kind::Untyped,
            "HISTOGRAM" => Kind::Histogram,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Summary => "summary",
            Kind::Untyped => "untyped",
            Kind::Histogram => "histogram",
        }
    }
}

/// What the parser knows of a family: whether its type and help have been given.
#[derive(Debug, Default)]
struct Family {
    kind: Option<Kind>,
    has_help: bool,
}

/// The longest stretch of a refused line a report shows.
const SHOWN_CHARS: usize = 100;

impl Exposition {
    /// Parses `text` as Prometheus does, or says which line it refuses.
    pub(crate) fn parse(text: impl AsRef<[u8]>) -> Result<Exposition, ParseError> {
        let text = text.as_ref();
        let mut parser = Parser::default();
        let mut lines = text.split(|b| *b == b'\n').enumerate().peekable();
        while let Some((i, line)) = lines.next() {
            let number = i + 1;
            let last = lines.peek().is_none();
            let error = |reason: String| ParseError {
                line: number,
                text: shown(line),
                reason,
            };
            parser.line(line).map_err(error)?;
            // After the last line feed: blanks are the end of the text, anything else a line
            // cut short (Prometheus reads it as an unexpected end of input).
            if last && line.iter().any(|b| !is_blank(*b)) {
                return Err(error("no line feed at the end of the last line".into()));
            }
        }
        Ok(parser.exposition)
    }
}

/// `line` for a report: invalid UTF-8 replaced, control characters escaped (a carriage return
/// shown as `\r` rather than obeyed), cut after [`SHOWN_CHARS`] characters.
fn shown(line: &[u8]) -> String {
    let text = String::from_utf8_lossy(line);
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == SHOWN_CHARS {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

fn is_label_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_label_name_char(b: u8) -> bool {
    is_label_name_start(b) || b.is_ascii_digit()
}

fn is_metric_name_start(b: u8) -> bool {
    is_label_name_start(b) || b == b':'
}

fn is_metric_name_char(b: u8) -> bool {
    is_label_name_char(b) || b == b':'
}

/// The byte the line ends with, as the cursor reports it past its end: a line never contains
/// one, so each state can test for the end of the line as Go's parser tests the byte it read.
const END: u8 = b'\n';

/// A position in one line.
struct Cursor<'a> {
    line: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    /// The current byte, [`END`] past the end.
    fn cur(&self) -> u8 {
        self.line.get(self.pos).copied().unwrap_or(END)
    }

    fn advance(&mut self) {
        self.pos += 1;
    }

    /// Moves past the current byte and any blanks after it (Go's `skipBlankTab`).
    fn skip_blanks(&mut self) {
        self.advance();
        self.skip_blanks_here();
    }

    /// Moves past blanks at the current byte, if any.
    fn skip_blanks_here(&mut self) {
        while is_blank(self.cur()) {
            self.advance();
        }
    }

    /// The bytes from the current one up to a blank or the end of the line.
    fn token_until_blank(&mut self) -> &[u8] {
        let start = self.pos;
        while !is_blank(self.cur()) && self.cur() != END {
            self.advance();
        }
        &self.line[start..self.pos]
    }

    /// The longest name at the current byte (empty if it cannot start one).
    fn name(&mut self, start: fn(u8) -> bool, rest: fn(u8) -> bool) -> String {
        let from = self.pos;
        if start(self.cur()) {
            while rest(self.cur()) {
                self.advance();
            }
        }
        // ASCII by construction.
        String::from_utf8_lossy(&self.line[from..self.pos]).into_owned()
    }

    /// The rest of the line, with `\\` and `\n` unescaped when `escapes` (a HELP text).
    fn rest(&mut self, escapes: bool) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        while self.cur() != END {
            let b = self.cur();
            if escapes && b == b'\\' {
                self.advance();
                match self.cur() {
                    b'\\' => out.push(b'\\'),
                    b'n' => out.push(b'\n'),
                    other => return Err(invalid_escape(other)),
                }
            } else {
                out.push(b);
            }
            self.advance();
        }
        Ok(out)
    }
}

fn invalid_escape(b: u8) -> String {
    if b == END {
        "a backslash at the end of the line".into()
    } else {
        format!(
            "invalid escape sequence '\\{}'",
            char::from(b).escape_default()
        )
    }
}

/// Go's `%q` of a token, for the reasons.
fn quoted(token: &[u8]) -> String {
    format!("{:?}", String::from_utf8_lossy(token))
}

/// The state across lines: the families seen and what has been read.
#[derive(Default)]
struct Parser {
    families: HashMap<String, Family>,
    exposition: Exposition,
}

impl Parser {
    /// Reads one line (without its line feed).
    fn line(&mut self, line: &[u8]) -> Result<(), String> {
        let mut c = Cursor { line, pos: 0 };
        c.skip_blanks_here();
        match c.cur() {
            END => Ok(()),
            b'#' => self.comment(&mut c),
            _ => self.sample(&mut c),
        }
    }

    /// The family a name belongs to (Go's `setOrCreateCurrentMF`): its own, or for
    /// `x_sum`/`x_count` the summary `x`, for `x_sum`/`x_count`/`x_bucket` the histogram `x`,
    /// when `x` has been declared so; otherwise a new family.
    fn family_of(&mut self, name: &str) -> String {
        if self.families.contains_key(name) {
            return name.to_owned();
        }
        let declared = |base: Option<&str>, kind: Kind| {
            base.filter(|b| self.families.get(*b).is_some_and(|f| f.kind == Some(kind)))
                .map(str::to_owned)
        };
        let strip = |suffix: &str| {
            name.strip_suffix(suffix)
                .filter(|_| name.len() > suffix.len())
        };
        let summary = strip("_count").or_else(|| strip("_sum"));
        let histogram = summary.or_else(|| strip("_bucket"));
        if let Some(base) =
            declared(summary, Kind::Summary).or_else(|| declared(histogram, Kind::Histogram))
        {
            return base;
        }
        self.families.insert(name.to_owned(), Family::default());
        name.to_owned()
    }

    /// A comment, `# HELP name text` or `# TYPE name type`.
    fn comment(&mut self, c: &mut Cursor<'_>) -> Result<(), String> {
        c.skip_blanks();
        if c.cur() == END {
            return Ok(());
        }
        let keyword = c.token_until_blank().to_vec();
        if c.cur() == END || (keyword != b"HELP" && keyword != b"TYPE") {
            return Ok(());
        }
        c.skip_blanks();
        let name = c.name(is_metric_name_start, is_metric_name_char);
        if c.cur() == END {
            return Ok(());
        }
        if !is_blank(c.cur()) {
            return Err("invalid metric name in comment".into());
        }
        let family = self.family_of(&name);
        c.skip_blanks();
        if c.cur() == END {
            return Ok(());
        }
        let f = self.families.get_mut(&family).expect("family_of inserts");
        if keyword == b"HELP" {
            if f.has_help {
                return Err(format!("second HELP line for metric name {name:?}"));
            }
            c.rest(true)?;
            f.has_help = true;
            return Ok(());
        }
        if f.kind.is_some() {
            return Err(format!(
                "second TYPE line for metric name {name:?}, or TYPE reported after samples"
            ));
        }
        let token = c.rest(false)?;
        let kind = std::str::from_utf8(&token)
            .ok()
            .and_then(Kind::from_token)
            .ok_or_else(|| format!("unknown metric type {}", quoted(&token)))?;
        f.kind = Some(kind);
        self.exposition.types.insert(family, kind.name().to_owned());
        Ok(())
    }

    /// A sample: `name{label="value",…} value [timestamp]`.
    fn sample(&mut self, c: &mut Cursor<'_>) -> Result<(), String> {
        let name = c.name(is_metric_name_start, is_metric_name_char);
        if name.is_empty() {
            return Err("invalid metric name".into());
        }
        let family = self.family_of(&name);
        let kind = *self
            .families
            .get_mut(&family)
            .expect("family_of inserts")
            .kind
            .get_or_insert(Kind::Untyped);
        c.skip_blanks_here();
        let mut labels = BTreeMap::new();
        if c.cur() == b'{' {
            labels = Self::labels(c, &family, kind)?;
        }
        let value = c.token_until_blank();
        if std::str::from_utf8(value)
            .ok()
            .and_then(parse_float)
            .is_none()
        {
            return Err(format!("expected float as value, got {}", quoted(value)));
        }
        if c.cur() != END {
            c.skip_blanks();
            let timestamp = c.token_until_blank();
            if std::str::from_utf8(timestamp)
                .ok()
                .and_then(parse_int)
                .is_none()
            {
                return Err(format!(
                    "expected integer as timestamp, got {}",
                    quoted(timestamp)
                ));
            }
            let spurious = c.rest(false)?;
            if !spurious.is_empty() {
                return Err(format!(
                    "spurious string after timestamp: {}",
                    quoted(&spurious)
                ));
            }
        }
        self.exposition.samples.push(Sample { name, labels });
        Ok(())
    }

    /// The label set, from its `{` to the first byte of the value.
    fn labels(
        c: &mut Cursor<'_>,
        family: &str,
        kind: Kind,
    ) -> Result<BTreeMap<String, String>, String> {
        let mut labels = BTreeMap::new();
        // The names checked for duplicates: Go leaves out a summary's `quantile` and a
        // histogram's `le`, which it keeps apart from the labels.
        let mut names: Vec<String> = Vec::new();
        loop {
            c.skip_blanks();
            if c.cur() == b'}' {
                c.skip_blanks();
                return Ok(labels);
            }
            let label = c.name(is_label_name_start, is_label_name_char);
            if label.is_empty() {
                return Err(format!("invalid label name for metric {family:?}"));
            }
            if label == "__name__" {
                return Err("label name \"__name__\" is reserved".into());
            }
            let bound = matches!(
                (kind, label.as_str()),
                (Kind::Summary, "quantile") | (Kind::Histogram, "le")
            );
            if !bound {
                names.push(label.clone());
            }
            c.skip_blanks_here();
            if c.cur() != b'=' {
                return Err(format!(
                    "expected '=' after label name, found {:?}",
                    char::from(c.cur())
                ));
            }
            if names.iter().filter(|n| **n == label).count() > 1 {
                return Err(format!("duplicate label names for metric {family:?}"));
            }
            c.skip_blanks();
            if c.cur() != b'"' {
                return Err(format!(
                    "expected '\"' at start of label value, found {:?}",
                    char::from(c.cur())
                ));
            }
            let value = Self::label_value(c)?;
            if bound && parse_float(&value).is_none() {
                return Err(format!(
                    "expected float as value for '{label}' label, got {value:?}"
                ));
            }
            c.skip_blanks();
            let end = c.cur();
            if end != b',' && end != b'}' {
                return Err(format!("unexpected end of label value {value:?}"));
            }
            labels.insert(label, value);
            if end == b'}' {
                c.skip_blanks();
                return Ok(labels);
            }
        }
    }

    /// A quoted label value, the cursor on its opening quote; leaves it on the closing one.
    fn label_value(c: &mut Cursor<'_>) -> Result<String, String> {
        let mut value = Vec::new();
        loop {
            c.advance();
            match c.cur() {
                b'"' => break,
                END => {
                    return Err(format!(
                        "label value {} contains unescaped new-line",
                        quoted(&value)
                    ));
                }
                b'\\' => {
                    c.advance();
                    match c.cur() {
                        b'"' | b'\\' => value.push(c.cur()),
                        b'n' => value.push(b'\n'),
                        other => return Err(invalid_escape(other)),
                    }
                }
                b => value.push(b),
            }
        }
        String::from_utf8(value)
            .map_err(|e| format!("invalid label value {}", quoted(e.as_bytes())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_exposition_format() {
        let e = Exposition::parse(
            "# TYPE a histogram\na_bucket{le=\"0.5\",m=\"G\\\"ET\"} 1\na_sum 2\n\n# TYPE b GAUGE\nb 1\n",
        )
        .unwrap();
        assert_eq!(e.types["a"], "histogram");
        assert_eq!(e.types["b"], "gauge");
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
        )
        .unwrap();
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

    /// The error names the line, shows it with its control characters escaped and cuts a
    /// long one.
    #[test]
    fn a_refused_line_is_named_and_shown() {
        let err = Exposition::parse("# TYPE a gauge\na 1\r\n").unwrap_err();
        assert_eq!(err.line, 2);
        assert_eq!(err.text, "a 1\\r");
        assert_eq!(err.reason, "expected float as value, got \"1\\r\"");
        let long = format!("a{{x=\"{}\",x=\"1\"}} 1\n", "v".repeat(300));
        let err = Exposition::parse(&long).unwrap_err();
        assert_eq!((err.line, err.text.chars().count()), (1, SHOWN_CHARS + 1));
        assert!(err.text.ends_with('…'), "{err}");
        assert!(
            err.to_string()
                .starts_with("line 1: duplicate label names for metric \"a\": a{x=\"vvv"),
            "{err}"
        );
        let err = Exposition::parse("a 1\nb 2").unwrap_err();
        assert_eq!(
            (err.line, err.reason.as_str()),
            (2, "no line feed at the end of the last line")
        );
        // Blanks after the last line feed end the text.
        assert!(Exposition::parse("a 1\n \t").is_ok());
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
        // `le` and `quantile` are bounds of histograms and summaries, and `__name__` is
        // reserved: samples with them are another property's business.
        let label_name = "[a-zA-Z_][a-zA-Z0-9_]{0,10}".prop_filter("an ordinary label", |l| {
            !matches!(l.as_str(), "le" | "quantile" | "__name__")
        });
        let labels = proptest::collection::btree_map(label_name, label_value, 0..4);
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
    /// trailing comma, timestamps. (Not CRLF line ends: Prometheus refuses them.)
    fn render(families: &[Family], style: (bool, bool, bool, bool)) -> String {
        let (tabs, empty_braces, trailing_comma, spaced) = style;
        let blank = if tabs { "\t" } else { " " };
        let pad = if spaced { blank } else { "" };
        let escape = |s: &str| {
            s.replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n")
        };
        let mut out = String::new();
        for f in families {
            let help = f.help.replace('\\', "\\\\").replace('\n', "\\n");
            out.push_str(&format!("# HELP {} {help}\n", f.name));
            out.push_str(&format!("#{blank}TYPE{blank}{}{blank}{}\n", f.name, f.kind));
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
                out.push('\n');
            }
        }
        out
    }

    /// Distinct families: a prefix of its own for each (`[a-z]` then `_`).
    fn distinct(families: BTreeMap<String, Family>) -> Vec<Family> {
        families
            .into_iter()
            .map(|(prefix, f)| Family {
                name: format!("{prefix}_{}", f.name),
                ..f
            })
            .collect()
    }

    /// Lines Prometheus refuses, each for another reason.
    const REFUSED: &[&str] = &[
        "1bad 1",
        "ok{x=\"1\",x=\"2\"} 1",
        "ok{x=\"a\"b\"} 1",
        "ok{x=\"\\t\"} 1",
        "ok 1e400",
        "ok +NaN",
        "ok 1 2.5",
        "ok 1\r",
        "# TYPE ok gauges",
        "ok{__name__=\"x\"} 1",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Text written from random families parses back to the same types and samples.
        #[test]
        fn rendered_samples_parse_back(
            families in proptest::collection::btree_map("[a-z]{1,3}", family(), 0..5),
            style in any::<(bool, bool, bool, bool)>(),
        ) {
            let families = distinct(families);
            let text = render(&families, style);
            let e = Exposition::parse(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
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

        /// A refused line put anywhere among valid ones is the line the error names.
        #[test]
        fn the_refused_line_is_the_one_named(
            families in proptest::collection::btree_map("[a-z]{1,3}", family(), 0..4),
            style in any::<(bool, bool, bool, bool)>(),
            at in any::<proptest::sample::Index>(),
            refused in proptest::sample::select(REFUSED),
        ) {
            let text = render(&distinct(families), style);
            let mut lines: Vec<&str> = text.lines().collect();
            let at = at.index(lines.len() + 1);
            lines.insert(at, refused);
            let text = lines.join("\n") + "\n";
            let err = Exposition::parse(&text).err();
            prop_assert_eq!(err.as_ref().map(|e| e.line), Some(at + 1), "{:?}\n{}", err, text);
        }

        /// Arbitrary text, and text made of the format's own characters: no panic.
        #[test]
        fn arbitrary_text_never_panics(
            text in prop_oneof![any::<String>(), "[a-z_{}=\",# \\\\\n\t\"TYPE]{0,80}"],
            bytes in any::<Vec<u8>>(),
        ) {
            let _ = Exposition::parse(&text);
            let _ = Exposition::parse(&bytes);
        }
    }
}
