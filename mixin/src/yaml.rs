//! The one YAML writer of the project: every YAML file obs writes (the rule files here, every
//! file of `obs-gen`) goes through [`to_string`], so each loads into the same values in a YAML
//! 1.1 reader (PyYAML's `safe_load`, go-yaml v2, SnakeYAML) and a YAML 1.2 reader
//! (serde_yaml_ng, the `yaml` npm package).
//!
//! serde_yaml_ng quotes only what its own YAML 1.2 resolver would read as another type. A YAML
//! 1.1 reader resolves more plain scalars: `yes`, `no`, `on`, `off`, `y`, `n` are booleans, `=`
//! is the "value" type (which PyYAML's `safe_load` cannot construct), `<<` a merge key,
//! `2026-01-01` a date, `1:30` a base-60 integer, `1_000` an integer. And the other way round,
//! `1e-7` is a float to YAML 1.2 but a string to PyYAML. So this writer decides every scalar's
//! style itself: a string is written plain only when neither schema resolves it to anything but
//! a string, and a float always with a dot and a signed exponent.
//!
//! The layout is libyaml's, as serde_yaml_ng writes it (two-space indentation, sequences inside
//! mappings not indented, literal blocks for multi-line strings, single quotes where plain is
//! not allowed, double quotes where single quotes cannot say it), so only the newly quoted
//! scalars differ from what serde_yaml_ng writes.
//!
//! ```
//! let doc = serde_json::json!({ "matchType": "=", "enabled": "on", "port": 9090, "interval": "15s" });
//! assert_eq!(
//!     obs_mixin::yaml::to_string(&doc).unwrap(),
//!     "matchType: '='\nenabled: 'on'\nport: 9090\ninterval: 15s\n"
//! );
//! ```

use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;
use serde_json::{Map, Number, Value};

/// A value that has no YAML form here: a map whose keys are not strings.
#[derive(Debug, thiserror::Error)]
#[error("cannot write as YAML: {0}")]
pub struct YamlError(#[from] serde_json::Error);

/// `value` as a YAML document (without `---`), ending with a line break.
///
/// # Errors
///
/// When `value` does not serialise to a tree with string keys (a map keyed by numbers or
/// structs); everything obs writes does.
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> Result<String, YamlError> {
    let value = serde_json::to_value(value)?;
    let mut out = String::new();
    match &value {
        Value::Object(map) if !map.is_empty() => mapping(&mut out, map, 0, false),
        Value::Array(seq) if !seq.is_empty() => sequence(&mut out, seq, 0, false),
        other => {
            scalar_or_empty(&mut out, other, 2);
            out.push('\n');
        }
    }
    Ok(out)
}

/// Whether `s` may be written as a plain scalar: a YAML 1.1 and a YAML 1.2 reader both read it
/// back as this string. Otherwise it needs quotes.
pub fn is_plain_safe(s: &str) -> bool {
    !resolves_to_other_type(s) && plain_syntax_allowed(s)
}

fn indent(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

/// A block mapping whose keys start at column `at`. With `inline_first`, the first key follows
/// what is already on the line (a sequence item's `- `).
fn mapping(out: &mut String, map: &Map<String, Value>, at: usize, inline_first: bool) {
    for (i, (key, value)) in map.iter().enumerate() {
        if i > 0 || !inline_first {
            indent(out, at);
        }
        key_scalar(out, key);
        out.push(':');
        match value {
            Value::Object(m) if !m.is_empty() => {
                out.push('\n');
                mapping(out, m, at + 2, false);
            }
            // A sequence in a mapping is not indented (libyaml's and kubectl's layout).
            Value::Array(s) if !s.is_empty() => {
                out.push('\n');
                sequence(out, s, at, false);
            }
            other => {
                out.push(' ');
                scalar_or_empty(out, other, at + 2);
                out.push('\n');
            }
        }
    }
}

/// A block sequence whose dashes stand at column `at`.
fn sequence(out: &mut String, seq: &[Value], at: usize, inline_first: bool) {
    for (i, item) in seq.iter().enumerate() {
        if i > 0 || !inline_first {
            indent(out, at);
        }
        out.push_str("- ");
        match item {
            Value::Object(m) if !m.is_empty() => mapping(out, m, at + 2, true),
            Value::Array(s) if !s.is_empty() => sequence(out, s, at + 2, true),
            other => {
                scalar_or_empty(out, other, at + 2);
                out.push('\n');
            }
        }
    }
}

/// A scalar, or an empty collection in flow style. A literal block's lines are indented to
/// `block_at`.
fn scalar_or_empty(out: &mut String, value: &Value, block_at: usize) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&number(n)),
        Value::String(s) => string(out, s, block_at),
        Value::Array(_) => out.push_str("[]"),
        Value::Object(_) => out.push_str("{}"),
    }
}

/// A number both schemas read as the same number. Integers are written as they are; a float
/// always carries a dot and, with an exponent, its sign (`1.0e-7`): YAML 1.1 reads `1e-7` as a
/// string.
fn number(n: &Number) -> String {
    if n.is_f64() {
        // serde_json holds only finite floats, and writes them as ryu does (as serde_yaml_ng).
        let text = n.to_string();
        let (mantissa, exponent) = match text.split_once(['e', 'E']) {
            Some((m, e)) => (m.to_string(), Some(e.to_string())),
            None => (text, None),
        };
        let mantissa = if mantissa.contains('.') {
            mantissa
        } else {
            format!("{mantissa}.0")
        };
        match exponent {
            Some(e) if e.starts_with(['-', '+']) => format!("{mantissa}e{e}"),
            Some(e) => format!("{mantissa}e+{e}"),
            None => mantissa,
        }
    } else {
        n.to_string()
    }
}

/// A mapping key: plain when safe, otherwise quoted on one line (a key cannot be a block).
fn key_scalar(out: &mut String, s: &str) {
    if is_plain_safe(s) {
        out.push_str(s);
    } else if single_quote_allowed(s) && !s.contains('\n') {
        single_quoted(out, s);
    } else {
        double_quoted(out, s);
    }
}

/// A string value: plain when safe, a literal block when it has lines, else quoted.
fn string(out: &mut String, s: &str, block_at: usize) {
    if s.contains('\n') {
        if literal_allowed(s) {
            literal(out, s, block_at);
        } else {
            double_quoted(out, s);
        }
    } else if is_plain_safe(s) {
        out.push_str(s);
    } else if single_quote_allowed(s) {
        single_quoted(out, s);
    } else {
        double_quoted(out, s);
    }
}

fn single_quoted(out: &mut String, s: &str) {
    out.push('\'');
    out.push_str(&s.replace('\'', "''"));
    out.push('\'');
}

fn double_quoted(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            c if printable(c) => out.push(c),
            c if (c as u32) <= 0xff => out.push_str(&format!("\\x{:02X}", c as u32)),
            c if (c as u32) <= 0xffff => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push_str(&format!("\\U{:08X}", c as u32)),
        }
    }
    out.push('"');
}

/// A literal block (`|`), its chomping indicator keeping the trailing line breaks exactly.
fn literal(out: &mut String, s: &str, at: usize) {
    out.push('|');
    if s.starts_with(' ') {
        // The first line's indentation would otherwise be taken for the block's.
        out.push('2');
    }
    let chomp = if !s.ends_with('\n') {
        "-"
    } else if s.ends_with("\n\n") {
        "+"
    } else {
        ""
    };
    out.push_str(chomp);
    out.push('\n');
    let mut lines: Vec<&str> = s.split('\n').collect();
    if s.ends_with('\n') {
        lines.pop();
    }
    // The caller ends the last line, as it does after any scalar.
    for (i, line) in lines.into_iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if !line.is_empty() {
            indent(out, at);
            out.push_str(line);
        }
    }
}

/// Characters YAML lets a file hold as they are (libyaml's printable set: no control
/// characters, no byte order mark, nothing beyond the Basic Multilingual Plane). The line and
/// paragraph separators are printable to YAML 1.2 but line breaks to a YAML 1.1 reader such as
/// libyaml, which would end the scalar there: they are written as escapes.
fn printable(c: char) -> bool {
    matches!(c, '\n' | ' '..='~' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}')
        && !matches!(c, '\u{feff}' | '\u{2028}' | '\u{2029}')
}

fn single_quote_allowed(s: &str) -> bool {
    s.chars().all(|c| c != '\n' && printable(c))
}

/// A literal block holds any printable text whose lines do not end in a space (which YAML
/// folds away) and that does not start with a line break.
fn literal_allowed(s: &str) -> bool {
    s.chars().all(printable) && !s.starts_with('\n') && !s.ends_with(' ') && !s.contains(" \n")
}

/// libyaml's rules for a plain scalar in block context: no indicator where it would start a
/// structure or a comment, no leading or trailing space, no `---`/`...` document marker, only
/// printable characters, one line.
fn plain_syntax_allowed(s: &str) -> bool {
    let bytes = s.as_bytes();
    if s.is_empty()
        || s.starts_with(' ')
        || s.ends_with(' ')
        || !s.chars().all(|c| c != '\n' && printable(c))
    {
        return false;
    }
    if (s.starts_with("---") || s.starts_with("...")) && bytes.get(3).is_none_or(|b| *b == b' ') {
        return false;
    }
    let followed_by_space = |i: usize| bytes.get(i + 1).is_none_or(|b| *b == b' ');
    for (i, &b) in bytes.iter().enumerate() {
        if i == 0 {
            if b"#,[]{}&*!|>'\"%@`".contains(&b) {
                return false;
            }
            if matches!(b, b'?' | b':' | b'-') && followed_by_space(i) {
                return false;
            }
        } else {
            if b == b':' && followed_by_space(i) {
                return false;
            }
            if b == b'#' && bytes[i - 1] == b' ' {
                return false;
            }
        }
    }
    true
}

/// Whether a YAML 1.1 or a YAML 1.2 (core schema) reader resolves the plain scalar `s` to
/// anything but a string. The patterns are the published ones: the YAML 1.1 type repository
/// (yaml.org/type: bool, null, int, float, timestamp, merge, value) as PyYAML implements it,
/// with the repository's looser float pattern, and the YAML 1.2 core schema (spec 10.3.2).
/// serde_yaml_ng's own resolver accepts a subset of their union.
fn resolves_to_other_type(s: &str) -> bool {
    static PATTERNS: LazyLock<Regex> = LazyLock::new(|| {
        let yaml_1_1 = [
            // bool
            r"y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF",
            // null
            r"~|null|Null|NULL",
            // int: binary, octal, decimal, hexadecimal, base 60
            r"[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+",
            // float: base 10 (the repository's pattern, and PyYAML's optional exponent sign),
            // base 60, infinity, not a number
            r"[-+]?(?:[0-9][0-9_]*)?\.[0-9._]*(?:[eE][-+]?[0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)",
            // timestamp
            r"[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?",
            // merge, value
            r"<<|=",
        ];
        let yaml_1_2_core = [
            r"null|Null|NULL|~|true|True|TRUE|false|False|FALSE",
            r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+",
            r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?(?:\.inf|\.Inf|\.INF)|\.nan|\.NaN|\.NAN",
        ];
        let all: Vec<String> = yaml_1_1
            .iter()
            .chain(yaml_1_2_core.iter())
            .map(|p| format!("(?:{p})"))
            .collect();
        Regex::new(&format!("^(?:{})$", all.join("|"))).expect("the resolver patterns compile")
    });
    s.is_empty() || PATTERNS.is_match(s)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn one(value: Value) -> String {
        to_string(&json!({ "k": value })).unwrap()
    }

    #[test]
    fn the_scalars_a_yaml_1_1_reader_takes_for_another_type_are_quoted() {
        for s in [
            "=",
            "<<",
            "y",
            "n",
            "Y",
            "N",
            "yes",
            "No",
            "on",
            "OFF",
            "~",
            "null",
            "",
            "true",
            "1e3",
            "1E3",
            "2026-01-01",
            "2026-1-1 10:00:00",
            "2026-01-01T10:00:00Z",
            "1:30",
            "190:20:30.15",
            "1_000",
            "0b101",
            "017",
            "0o17",
            "0x1F",
            ".5",
            "1.",
            "+1",
            "-.inf",
            ".NaN",
            "1.2.3",
            "3",
            "-0",
        ] {
            let text = one(json!(s));
            assert!(text == format!("k: '{s}'\n"), "{s:?} written as {text:?}");
        }
    }

    #[test]
    fn ordinary_strings_stay_plain() {
        for s in [
            "15s",
            "30d",
            "512m",
            "127.0.0.1:9093:9093",
            "host.docker.internal:3000",
            "api",
            "severity",
            "=~",
            "0.0.0.0:12345",
            "v13",
            "2024-04-01x",
            "a:b",
            "$labels.job }} down",
            "it's",
            "http://loki:3100/loki/api/v1/push",
        ] {
            assert_eq!(one(json!(s)), format!("k: {s}\n"), "{s:?}");
        }
    }

    #[test]
    fn syntax_quotes_as_libyaml_does() {
        assert_eq!(one(json!("{{ x }}")), "k: '{{ x }}'\n");
        assert_eq!(one(json!("a: b")), "k: 'a: b'\n");
        assert_eq!(one(json!("it's")), "k: it's\n");
        assert_eq!(one(json!("- x")), "k: '- x'\n");
        assert_eq!(one(json!("x #y")), "k: 'x #y'\n");
        assert_eq!(one(json!("'q'")), "k: '''q'''\n");
        assert_eq!(one(json!("tab\there")), "k: \"tab\\there\"\n");
        assert_eq!(one(json!("a\nb")), "k: |-\n  a\n  b\n");
        assert_eq!(one(json!("a\n")), "k: |\n  a\n");
        assert_eq!(one(json!("a\n\n")), "k: |+\n  a\n\n");
        assert_eq!(one(json!(" a\nb")), "k: |2-\n   a\n  b\n");
        assert_eq!(one(json!("a \nb")), "k: \"a \\nb\"\n");
    }

    #[test]
    fn floats_carry_a_dot_and_a_signed_exponent() {
        assert_eq!(one(json!(0.05)), "k: 0.05\n");
        assert_eq!(one(json!(1.0)), "k: 1.0\n");
        assert_eq!(one(json!(1e-7)), "k: 1.0e-7\n");
        assert_eq!(one(json!(1e300)), "k: 1.0e+300\n");
        assert_eq!(one(json!(1.5e16)), "k: 1.5e+16\n");
        assert_eq!(one(json!(42)), "k: 42\n");
    }

    #[test]
    fn layout_is_serde_yaml_ngs() {
        let doc = json!({
            "groups": [{ "name": "a", "rules": [{ "alert": "X", "labels": {} }] }],
            "nested": [[1, 2], []],
            "map": { "deep": { "x": null } },
            "empty": [],
        });
        let ours = to_string(&doc).unwrap();
        assert_eq!(ours, serde_yaml_ng::to_string(&doc).unwrap());
    }

    #[test]
    fn line_and_paragraph_separators_are_escaped() {
        for s in ["\u{2028}", "a\u{2029}b"] {
            let text = one(json!(s));
            assert!(text.starts_with("k: \""), "{text}");
            let back: Value = serde_yaml_ng::from_str(&text).unwrap();
            assert_eq!(back, json!({ "k": s }));
        }
    }

    proptest::proptest! {
        /// Any string, as a value and as a key, reads back as itself (serde_yaml_ng's YAML 1.2);
        /// stack-gen/tests/portable_yaml.rs compares with PyYAML's YAML 1.1.
        #[test]
        fn any_string_reads_back_as_itself(
            s in "(\\PC|[ \t\n'\"#:=<>~.+_-]|[0-9eExob]){0,12}",
        ) {
            let doc = json!({ "k": s, "list": [s], s.clone(): 1 });
            let text = to_string(&doc).unwrap();
            let back: Value = serde_yaml_ng::from_str(&text).unwrap();
            proptest::prop_assert_eq!(back, doc, "{}", text);
        }
    }

    #[test]
    fn a_whole_rule_file_matches_serde_yaml_ng_where_it_needs_no_new_quotes() {
        let files = crate::rule_files(&crate::Thresholds::default());
        for f in files {
            let groups: Value = serde_yaml_ng::from_str(&f.yaml).unwrap();
            assert_eq!(
                to_string(&groups).unwrap(),
                serde_yaml_ng::to_string(&groups).unwrap(),
                "{}",
                f.file_name
            );
        }
    }
}
