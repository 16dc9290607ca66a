//! The parser's verdicts against `promtool check metrics` on valid and broken expositions.
//!
//! `promtool check metrics` parses its input with Prometheus's text parser, then lints what
//! parsed (HELP present, counters named `_total`, …). Only the parse counts here: promtool
//! exits 1 with "text format parsing error in line N" when the text does not parse, and 0 or 3
//! (lint problems) when it does. Each case states the verdict it expects, so the cases check
//! the parser without promtool too; with promtool, they must also be promtool's verdicts and
//! line numbers. The cases avoid what changed between Prometheus versions (UTF-8 names in
//! quotes, the `gaugehistogram` type).

use std::io::Write as _;
use std::process::{Command, Stdio};

use super::Exposition;

/// A case: its name, the text, and the line the parser refuses (`None`: it parses).
type Case = (&'static str, &'static str, Option<usize>);

const CASES: &[Case] = &[
    // Valid text, some of it unusual.
    (
        "a family with help and type",
        "# HELP a_total Requests.\n# TYPE a_total counter\na_total 1\n",
        None,
    ),
    ("empty", "", None),
    ("blank lines and blanks", "\n  \na 1\n\t\nb 2\n", None),
    ("leading blanks", "  a 1\n\t# TYPE b gauge\nb 1\n", None),
    (
        "tabs between tokens",
        "a\t{x=\"1\"}\t1\t1700000000000\n",
        None,
    ),
    (
        "blanks inside braces",
        "a { x = \"1\" , y=\"2\" , } 1\n",
        None,
    ),
    ("empty braces", "a{} 1\n", None),
    ("no blank after the braces", "a{x=\"1\"}1\n", None),
    ("a colon in the name", "a:b:c 1\n", None),
    (
        "escapes in a label value",
        "a{x=\"q\\\"b\\\\n\\n\"} 1\n",
        None,
    ),
    ("any UTF-8 in a label value", "a{x=\"é ∞ \u{1}\"} 1\n", None),
    ("a comment", "# anything at all\n#\n# \u{ff}\na 1\n", None),
    ("HELP without text", "# HELP a\n# HELP a \na 1\n", None),
    ("TYPE without type", "# TYPE a\na 1\n", None),
    ("HELP after samples", "a 1\n# HELP a late help\n", None),
    (
        "HELP and TYPE of different names",
        "# HELP a x\n# TYPE b gauge\na 1\nb 1\n",
        None,
    ),
    ("TYPE in capitals", "# TYPE a GAUGE\na 1\n", None),
    ("TYPE with a long s", "# TYPE a ſummary\na_sum 1\n", None),
    ("untyped", "# TYPE a untyped\na 1\n", None),
    ("NaN spellings", "a NaN\nb nan\nc NAN\n", None),
    (
        "Inf spellings",
        "a Inf\nb +Inf\nc -Inf\nd inf\ne -infinity\nf INFINITY\n",
        None,
    ),
    (
        "float forms",
        "a .5\nb 5.\nc 1e5\nd -1E-5\ne +1\nf 007\ng 1e-400\n",
        None,
    ),
    ("signed timestamps", "a 1 -5\nb 1 +5\n", None),
    ("the same series twice", "a 1\na 2\n", None),
    (
        "a family split by another",
        "# TYPE a gauge\na 1\nb 1\na 2\n",
        None,
    ),
    (
        "a histogram without +Inf",
        "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n",
        None,
    ),
    (
        "a histogram bucket without le",
        "# TYPE h histogram\nh_bucket 1\n",
        None,
    ),
    (
        "a histogram sample without suffix",
        "# TYPE h histogram\nh 1\n",
        None,
    ),
    (
        "le given twice in a histogram",
        "# TYPE h histogram\nh_bucket{le=\"1\",le=\"2\"} 1\n",
        None,
    ),
    (
        "le that is no float outside a histogram",
        "a{le=\"x\"} 1\n",
        None,
    ),
    (
        "a negative counter",
        "# TYPE c_total counter\nc_total -1\n",
        None,
    ),
    ("#TYPE without a blank", "#TYPE a gauge\na 1\n", None),
    ("blanks after the last line feed", "a 1\n  ", None),
    // Names.
    ("a name starting with a digit", "1a 1\n", Some(1)),
    ("a dash in the name", "a 1\na-b 1\n", Some(2)),
    ("a non-ASCII name", "é 1\n", Some(1)),
    ("no name", "{x=\"1\"} 1\n", Some(1)),
    ("a bad name in TYPE", "# TYPE 1a gauge\n", Some(1)),
    ("a dash in a TYPE name", "# TYPE a-b gauge\n", Some(1)),
    // Label names.
    (
        "a label name starting with a digit",
        "a{1x=\"y\"} 1\n",
        Some(1),
    ),
    ("a dash in a label name", "a{x-y=\"1\"} 1\n", Some(1)),
    ("a colon in a label name", "a{x:y=\"1\"} 1\n", Some(1)),
    ("a non-ASCII label name", "a{é=\"1\"} 1\n", Some(1)),
    ("an empty label name", "a{=\"1\"} 1\n", Some(1)),
    ("a reserved label name", "a{__name__=\"b\"} 1\n", Some(1)),
    ("two commas", "a{x=\"1\",,y=\"2\"} 1\n", Some(1)),
    ("a leading comma", "a{,x=\"1\"} 1\n", Some(1)),
    ("a label without a value", "a{x} 1\n", Some(1)),
    (
        "duplicate labels",
        "a 1\na{x=\"1\",y=\"2\",x=\"3\"} 1\n",
        Some(2),
    ),
    // Label values.
    ("an unescaped quote", "a{x=\"a\"b\"} 1\n", Some(1)),
    ("an unknown escape", "a{x=\"a\\tb\"} 1\n", Some(1)),
    ("an unquoted value", "a{x=1} 1\n", Some(1)),
    ("a single-quoted value", "a{x='1'} 1\n", Some(1)),
    ("an unterminated value", "a{x=\"1} 1\n", Some(1)),
    ("no comma between labels", "a{x=\"1\" y=\"2\"} 1\n", Some(1)),
    ("no closing brace", "a{x=\"1\" 1\n", Some(1)),
    ("a line feed in a value", "a{x=\"1\n\"} 1\n", Some(1)),
    // Values and timestamps.
    ("no value", "a\n", Some(1)),
    ("no value after labels", "a{x=\"1\"}\n", Some(1)),
    ("two dots", "a 1.2.3\n", Some(1)),
    ("a hexadecimal value", "a 0x10\n", Some(1)),
    ("a hexadecimal float", "a 0x1p3\n", Some(1)),
    ("an underscore in a value", "a 1_000\n", Some(1)),
    ("a value beyond f64", "a 1e400\n", Some(1)),
    ("a negative value beyond f64", "a -1e400\n", Some(1)),
    ("a signed NaN", "a +NaN\n", Some(1)),
    ("a truncated Inf", "a infin\n", Some(1)),
    ("a word as value", "a one\n", Some(1)),
    ("an exponent without digits", "a 1e\n", Some(1)),
    ("a float timestamp", "a 1 17.5\n", Some(1)),
    (
        "a timestamp beyond i64",
        "a 1 99999999999999999999\n",
        Some(1),
    ),
    ("something after the timestamp", "a 1 2 3\n", Some(1)),
    ("a blank after the value", "a 1 \n", Some(1)),
    ("a blank after the timestamp", "a 1 2 \n", Some(1)),
    // HELP and TYPE.
    ("an unknown type", "# TYPE a foo\na 1\n", Some(1)),
    (
        "a type with more words",
        "# TYPE a gauge extra\na 1\n",
        Some(1),
    ),
    ("a blank after the type", "# TYPE a gauge \na 1\n", Some(1)),
    (
        "two TYPE lines",
        "# TYPE a gauge\n# TYPE a counter\na 1\n",
        Some(2),
    ),
    ("TYPE after samples", "a 1\n# TYPE a gauge\n", Some(2)),
    (
        "TYPE of a histogram's series",
        "# TYPE h histogram\n# TYPE h_bucket counter\n",
        Some(2),
    ),
    ("two HELP lines", "# HELP a x\n# HELP a y\na 1\n", Some(2)),
    (
        "an unknown escape in HELP",
        "# HELP a x\\ty\na 1\n",
        Some(1),
    ),
    ("a backslash ending HELP", "# HELP a x\\\na 1\n", Some(1)),
    (
        "le that is no float in a histogram",
        "# TYPE h histogram\nh_bucket{le=\"x\"} 1\n",
        Some(2),
    ),
    (
        "quantile that is no float in a summary",
        "# TYPE s summary\ns{quantile=\"x\"} 1\n",
        Some(2),
    ),
    // Line ends.
    (
        "no line feed at the end",
        "# TYPE a_total counter\na_total 1",
        Some(2),
    ),
    ("a comment without line feed", "a 1\n# the end", Some(2)),
    ("CRLF line ends", "a 1\r\nb 2\r\n", Some(1)),
    ("CRLF after a TYPE", "# TYPE a gauge\r\na 1\n", Some(1)),
];

/// Cases that are not UTF-8, which a `&str` cannot hold.
const BYTE_CASES: &[(&str, &[u8], Option<usize>)] = &[
    (
        "invalid UTF-8 in a value",
        b"a 1\na{x=\"\xff\"} 1\n",
        Some(2),
    ),
    ("invalid UTF-8 in HELP", b"# HELP a \xff\na 1\n", None),
    ("invalid UTF-8 in a comment", b"# \xff\xfe\na 1\n", None),
];

/// Every case as bytes.
fn cases() -> impl Iterator<Item = (&'static str, &'static [u8], Option<usize>)> {
    CASES
        .iter()
        .map(|(name, text, line)| (*name, text.as_bytes(), *line))
        .chain(BYTE_CASES.iter().copied())
}

/// The verdict on `text`: the line refused, or `None`.
fn ours(text: &[u8]) -> Option<usize> {
    Exposition::parse(text).err().map(|e| e.line)
}

#[test]
fn the_cases_get_the_verdicts_they_state() {
    let mut wrong = Vec::new();
    for (name, text, expected) in cases() {
        let got = ours(text);
        if got != expected {
            wrong.push(format!(
                "{name}: expected {expected:?}, got {got:?} ({:?})",
                String::from_utf8_lossy(text)
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    let refused = cases().filter(|c| c.2.is_some()).count();
    assert!(
        refused >= 40 && cases().count() - refused >= 25,
        "{refused}"
    );
}

/// promtool's verdict: the line of its parse error, or `None` when the text parsed (whatever
/// the lint said).
fn promtool(promtool: &std::path::Path, text: &[u8]) -> Option<usize> {
    let mut child = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool runs");
    child.stdin.take().unwrap().write_all(text).unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    match out.status.code() {
        Some(0 | 3) => None,
        Some(1) => {
            let line = stderr
                .split("parsing error in line ")
                .nth(1)
                .and_then(|rest| rest.split(':').next())
                .and_then(|n| n.parse().ok());
            Some(line.unwrap_or_else(|| panic!("no line number in promtool's error: {stderr}")))
        }
        other => panic!("promtool check metrics exited {other:?}: {stderr}"),
    }
}

#[test]
fn the_verdicts_are_promtools() {
    let Some(tool) = obs_tests::require_tool("promtool") else {
        return;
    };
    let mut differ = Vec::new();
    for (name, text, _) in cases() {
        let (theirs, ours) = (promtool(&tool, text), ours(text));
        if theirs != ours {
            differ.push(format!(
                "{name}: promtool {theirs:?}, the doctor {ours:?} ({:?})",
                String::from_utf8_lossy(text)
            ));
        }
    }
    assert!(differ.is_empty(), "{}", differ.join("\n"));
}

/// The SDK's own exposition, as the demo renders it, is the first text the doctor must read.
#[test]
fn an_sdk_style_exposition_parses_in_both() {
    let text = "\
# HELP http_server_request_duration_seconds Duration of HTTP server requests.
# TYPE http_server_request_duration_seconds histogram
http_server_request_duration_seconds_bucket{http_request_method=\"GET\",http_route=\"/\",http_response_status_code=\"200\",le=\"0.005\"} 1
http_server_request_duration_seconds_bucket{http_request_method=\"GET\",http_route=\"/\",http_response_status_code=\"200\",le=\"+Inf\"} 1
http_server_request_duration_seconds_sum{http_request_method=\"GET\",http_route=\"/\",http_response_status_code=\"200\"} 0.001
http_server_request_duration_seconds_count{http_request_method=\"GET\",http_route=\"/\",http_response_status_code=\"200\"} 1
";
    assert_eq!(ours(text.as_bytes()), None);
    if let Some(tool) = obs_tests::require_tool("promtool") {
        assert_eq!(promtool(&tool, text.as_bytes()), None);
    }
}
