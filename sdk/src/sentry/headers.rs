//! The trace headers a caller sends to continue its trace in Sentry, parsed: `sentry-trace`,
//! W3C `traceparent` and `baggage`. Which trace a request joins:
//! - a valid W3C `traceparent` wins, also over a `sentry-trace` that names another trace, so
//!   Sentry and an OpenTelemetry collector (which continues `traceparent`) see one trace;
//! - otherwise a valid `sentry-trace`;
//! - otherwise none: Sentry starts a trace of its own, as without these headers.
//!
//! `baggage` (W3C baggage, Sentry's `sentry-*` members) adds the sampling decision when
//! `sentry-trace` has none (`sentry-sampled`), and stops the continuation of a trace from
//! another Sentry organisation (`sentry-org_id` differing from the DSN's). Baggage that names
//! another trace than the one joined is not used.
//!
//! Malformed headers are ignored (the request goes on as if they were absent).

use http::HeaderMap;
use sentry::protocol::{SpanId, TraceId};

use crate::traceparent::{TRACEPARENT, hex_id, single};

/// The `sentry-trace` header: `{trace_id}-{span_id}` with an optional `-{sampled}`.
pub(crate) const SENTRY_TRACE: &str = "sentry-trace";
/// The W3C baggage header.
pub(crate) const BAGGAGE: &str = "baggage";

/// The trace of the caller a request continues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Incoming {
    pub(crate) trace_id: [u8; 16],
    /// The caller's span, the parent of the request's.
    pub(crate) parent_span_id: [u8; 8],
    /// The caller's sampling decision, when it made one.
    pub(crate) sampled: Option<bool>,
}

impl Incoming {
    /// The trace `headers` continue, by the rules of the module docs, for a Sentry client whose
    /// DSN belongs to organisation `org_id`.
    pub(crate) fn from_headers(headers: &HeaderMap, org_id: Option<&str>) -> Option<Self> {
        let traceparent = single(headers, TRACEPARENT).and_then(parse_traceparent);
        let mut trace =
            traceparent.or_else(|| single(headers, SENTRY_TRACE).and_then(parse_sentry_trace))?;
        let baggage = baggage(headers).filter(|b| b.trace_id.is_none_or(|id| id == trace.trace_id));
        if let Some(baggage) = baggage {
            if let (Some(theirs), Some(ours)) = (&baggage.org_id, org_id)
                && theirs != ours
            {
                return None;
            }
            trace.sampled = trace.sampled.or(baggage.sampled);
        }
        Some(trace)
    }

    /// The trace id as 32 hex digits, as log lines and Sentry show it.
    pub(crate) fn trace_id_hex(&self) -> String {
        TraceId::from(self.trace_id).to_string()
    }

    /// The `sentry-trace` value of this trace, rendered from the parsed ids.
    pub(crate) fn header(&self) -> String {
        let (trace, span) = (self.trace_id_hex(), SpanId::from(self.parent_span_id));
        match self.sampled {
            Some(sampled) => format!("{trace}-{span}-{}", u8::from(sampled)),
            None => format!("{trace}-{span}"),
        }
    }
}

/// Parses `{32 hex trace id}-{16 hex span id}[-{0|1}]`, surrounding blanks allowed.
pub(crate) fn parse_sentry_trace(value: &str) -> Option<Incoming> {
    let value = value.trim_matches([' ', '\t']);
    // The longest valid value is 51 characters; a longer one is not looked into.
    if value.len() > 51 {
        return None;
    }
    let mut parts = value.split('-');
    let trace_id = hex_id::<16>(parts.next()?)?;
    let parent_span_id = hex_id::<8>(parts.next()?)?;
    let sampled = match parts.next() {
        None => None,
        Some("1") => Some(true),
        Some("0") => Some(false),
        Some(_) => return None,
    };
    if parts.next().is_some() {
        return None;
    }
    Some(Incoming {
        trace_id,
        parent_span_id,
        sampled,
    })
}

/// Parses a W3C `traceparent` (see [`crate::traceparent::parse`]).
pub(crate) fn parse_traceparent(value: &str) -> Option<Incoming> {
    crate::traceparent::parse(value).map(|t| Incoming {
        trace_id: t.trace_id,
        parent_span_id: t.parent_span_id,
        sampled: Some(t.sampled()),
    })
}

/// What `baggage` says about a Sentry trace.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Baggage {
    pub(crate) trace_id: Option<[u8; 16]>,
    pub(crate) sampled: Option<bool>,
    pub(crate) org_id: Option<String>,
}

/// Reads the `sentry-*` members of every `baggage` header; `None` when the baggage is
/// malformed or has no Sentry member.
fn baggage(headers: &HeaderMap) -> Option<Baggage> {
    let mut found = None;
    let mut total = 0;
    for value in headers.get_all(BAGGAGE) {
        total += value.len();
        let parsed = parse_baggage(value.to_str().ok()?)?;
        if total > MAX_BAGGAGE {
            return None;
        }
        let merged: &mut Baggage = found.get_or_insert_with(Baggage::default);
        merged.trace_id = merged.trace_id.or(parsed.trace_id);
        merged.sampled = merged.sampled.or(parsed.sampled);
        merged.org_id = merged.org_id.take().or(parsed.org_id);
    }
    found.filter(|b| *b != Baggage::default())
}

/// The W3C baggage limits: 8192 bytes and 180 list members.
const MAX_BAGGAGE: usize = 8192;
const MAX_MEMBERS: usize = 180;

/// Parses one `baggage` value (`key=value;property,…`), keeping the Sentry members; `None` when
/// any member is malformed, as the W3C format asks.
pub(crate) fn parse_baggage(value: &str) -> Option<Baggage> {
    if value.len() > MAX_BAGGAGE {
        return None;
    }
    let mut out = Baggage::default();
    for (i, member) in value.split(',').enumerate() {
        if i >= MAX_MEMBERS {
            return None;
        }
        // Properties (`;…`) carry nothing Sentry reads.
        let member = member.split(';').next().unwrap_or_default();
        let (key, value) = member.split_once('=')?;
        let (key, value) = (
            key.trim_matches([' ', '\t']),
            value.trim_matches([' ', '\t']),
        );
        let is_token = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
        };
        // baggage-octet: visible ASCII but `"`, `,`, `;` and `\`.
        let is_octets = value
            .bytes()
            .all(|b| matches!(b, 0x21 | 0x23..=0x2b | 0x2d..=0x3a | 0x3c..=0x5b | 0x5d..=0x7e));
        if !is_token(key) || !is_octets {
            return None;
        }
        match key {
            "sentry-trace_id" => out.trace_id = Some(hex_id::<16>(value)?),
            "sentry-sampled" => {
                out.sampled = Some(match value {
                    "true" => true,
                    "false" => false,
                    _ => return None,
                })
            }
            "sentry-org_id" => {
                if !value.bytes().all(|b| b.is_ascii_digit())
                    || value.is_empty()
                    || value.len() > 20
                {
                    return None;
                }
                out.org_id = Some(value.to_owned());
            }
            _ => {}
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
    const SPAN: &str = "b7ad6b7169203331";

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                http::HeaderValue::from_bytes(v.as_bytes()).unwrap(),
            );
        }
        map
    }

    #[test]
    fn sentry_trace_with_and_without_a_sampling_decision() {
        let t = parse_sentry_trace(&format!("{TRACE}-{SPAN}-1")).unwrap();
        assert_eq!(t.trace_id_hex(), TRACE);
        assert_eq!(SpanId::from(t.parent_span_id).to_string(), SPAN);
        assert_eq!(t.sampled, Some(true));
        assert_eq!(t.header(), format!("{TRACE}-{SPAN}-1"));
        let t = parse_sentry_trace(&format!(" {TRACE}-{SPAN} ")).unwrap();
        assert_eq!((t.sampled, t.header()), (None, format!("{TRACE}-{SPAN}")));
        assert_eq!(
            parse_sentry_trace(&format!("{TRACE}-{SPAN}-0"))
                .unwrap()
                .sampled,
            Some(false)
        );
    }

    #[test]
    fn malformed_sentry_trace_values_are_refused() {
        for bad in [
            String::new(),
            "garbage".into(),
            TRACE.into(),
            format!("{TRACE}-"),
            format!("{TRACE}-{SPAN}-2"),
            format!("{TRACE}-{SPAN}-1-extra"),
            format!("{}-{SPAN}", TRACE.to_uppercase()),
            format!("{}-{SPAN}", &TRACE[1..]),
            format!("{TRACE}0-{SPAN}"),
            format!("{}-{SPAN}", "0".repeat(32)),
            format!("{TRACE}-{}", "0".repeat(16)),
            format!("{TRACE}-{SPAN}\n{{\"level\":\"ERROR\"}}"),
            format!("{}-{SPAN}", "é".repeat(16)),
            "x".repeat(10_000),
        ] {
            assert_eq!(parse_sentry_trace(&bad), None, "{bad:?}");
        }
    }

    #[test]
    fn traceparent_by_the_w3c_rules() {
        let t = parse_traceparent(&format!("00-{TRACE}-{SPAN}-01")).unwrap();
        assert_eq!(
            (t.trace_id_hex(), t.sampled),
            (TRACE.to_owned(), Some(true))
        );
        assert_eq!(
            parse_traceparent(&format!("00-{TRACE}-{SPAN}-00"))
                .unwrap()
                .sampled,
            Some(false)
        );
        // A later version may carry more fields.
        assert!(parse_traceparent(&format!("01-{TRACE}-{SPAN}-01-what-ever")).is_some());
        for bad in [
            format!("00-{TRACE}-{SPAN}-01-extra"),
            format!("ff-{TRACE}-{SPAN}-01"),
            format!("01-{TRACE}-{SPAN}-01x"),
            format!("00-{TRACE}-{SPAN}-1"),
            format!("00_{TRACE}-{SPAN}-01"),
            format!("00-{}-{SPAN}-01", "0".repeat(32)),
            format!("00-{TRACE}-{}-01", "0".repeat(16)),
            format!("00-{TRACE}-{SPAN}-zz"),
            format!("00-{}-{SPAN}-01", "é".repeat(16)),
            "00".into(),
        ] {
            assert_eq!(parse_traceparent(&bad), None, "{bad:?}");
        }
    }

    #[test]
    fn baggage_gives_the_sentry_members_and_refuses_malformed_lists() {
        let b = parse_baggage(&format!(
            "other=1, sentry-trace_id={TRACE};prop=x, sentry-sampled=true,sentry-org_id=42"
        ))
        .unwrap();
        assert_eq!(
            b.trace_id.map(|t| TraceId::from(t).to_string()).as_deref(),
            Some(TRACE)
        );
        assert_eq!(b.sampled, Some(true));
        assert_eq!(b.org_id.as_deref(), Some("42"));
        for bad in [
            "novalue".to_owned(),
            "a=1,,b=2".into(),
            "sp ace=1".into(),
            "k=\"quoted\"".into(),
            "sentry-sampled=yes".into(),
            "sentry-trace_id=123".into(),
            "sentry-org_id=o1".into(),
            (0..181)
                .map(|i| format!("k{i}=v"))
                .collect::<Vec<_>>()
                .join(","),
            format!("k={}", "v".repeat(8200)),
        ] {
            assert_eq!(parse_baggage(&bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_w3c_trace_wins_over_a_disagreeing_sentry_trace() {
        let other = "11111111111111111111111111111111";
        let h = headers(&[
            ("traceparent", &format!("00-{TRACE}-{SPAN}-01")),
            ("sentry-trace", &format!("{other}-{SPAN}-0")),
        ]);
        let t = Incoming::from_headers(&h, None).unwrap();
        assert_eq!(
            (t.trace_id_hex(), t.sampled),
            (TRACE.to_owned(), Some(true))
        );
        // A malformed traceparent leaves the sentry-trace.
        let h = headers(&[
            ("traceparent", "00-nonsense"),
            ("sentry-trace", &format!("{other}-{SPAN}")),
        ]);
        assert_eq!(
            Incoming::from_headers(&h, None).unwrap().trace_id_hex(),
            other
        );
    }

    #[test]
    fn baggage_adds_the_decision_and_guards_the_organisation() {
        let trace = format!("{TRACE}-{SPAN}");
        let with = |baggage: &str, org: Option<&str>| {
            Incoming::from_headers(
                &headers(&[("sentry-trace", &trace), ("baggage", baggage)]),
                org,
            )
        };
        assert_eq!(
            with("sentry-sampled=false", None).unwrap().sampled,
            Some(false)
        );
        // Baggage of another trace, or malformed baggage, is not used; the trace still is.
        let other = "sentry-trace_id=11111111111111111111111111111111,sentry-sampled=true";
        assert_eq!(with(other, None).unwrap().sampled, None);
        assert_eq!(with("sentry-sampled=maybe", None).unwrap().sampled, None);
        // A trace of another Sentry organisation starts afresh.
        assert_eq!(with("sentry-org_id=7", Some("8")), None);
        assert!(with("sentry-org_id=7", Some("7")).is_some());
        assert!(with("sentry-org_id=7", None).is_some());
    }

    #[test]
    fn repeated_or_absent_headers_continue_nothing() {
        let value = format!("{TRACE}-{SPAN}");
        let h = headers(&[("sentry-trace", &value), ("sentry-trace", &value)]);
        assert_eq!(Incoming::from_headers(&h, None), None);
        assert_eq!(Incoming::from_headers(&HeaderMap::new(), None), None);
    }
}

/// Properties of the two trace parsers on values near and far from valid (the fuzz targets
/// `traceparent` and `sentry_trace` check the same ones for longer).
#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;
    use proptest::sample::Index;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// One edit of a value: the characters a near miss is made of, and any other.
    #[derive(Debug, Clone)]
    enum Edit {
        Replace(Index, char),
        Insert(Index, char),
        Delete(Index),
    }

    fn edit() -> impl Strategy<Value = Edit> {
        let c = prop_oneof![
            4 => proptest::sample::select("0123456789abcdefABCDEF- \t+_é\u{0}".chars().collect::<Vec<_>>()),
            1 => any::<char>(),
        ];
        prop_oneof![
            (any::<Index>(), c.clone()).prop_map(|(i, c)| Edit::Replace(i, c)),
            (any::<Index>(), c).prop_map(|(i, c)| Edit::Insert(i, c)),
            any::<Index>().prop_map(Edit::Delete),
        ]
    }

    fn apply(value: &str, edits: &[Edit]) -> String {
        let mut chars: Vec<char> = value.chars().collect();
        for e in edits {
            match e {
                Edit::Replace(i, c) if !chars.is_empty() => {
                    let at = i.index(chars.len());
                    chars[at] = *c;
                }
                Edit::Insert(i, c) => {
                    let at = i.index(chars.len() + 1);
                    chars.insert(at, *c);
                }
                Edit::Delete(i) if !chars.is_empty() => {
                    let at = i.index(chars.len());
                    chars.remove(at);
                }
                _ => {}
            }
        }
        chars.into_iter().collect()
    }

    fn ids() -> impl Strategy<Value = ([u8; 16], [u8; 8])> {
        (any::<[u8; 16]>(), any::<[u8; 8]>()).prop_filter("the zero id is invalid", |(t, s)| {
            *t != [0; 16] && *s != [0; 8]
        })
    }

    fn sentry_trace_value() -> impl Strategy<Value = (String, Incoming)> {
        (ids(), proptest::option::of(any::<bool>())).prop_map(|((trace_id, span), sampled)| {
            let incoming = Incoming {
                trace_id,
                parent_span_id: span,
                sampled,
            };
            let value = match sampled {
                Some(s) => format!("{}-{}-{}", hex(&trace_id), hex(&span), u8::from(s)),
                None => format!("{}-{}", hex(&trace_id), hex(&span)),
            };
            (value, incoming)
        })
    }

    fn traceparent_value() -> impl Strategy<Value = (String, Incoming)> {
        (
            ids(),
            any::<u8>(),
            prop_oneof![Just(0u8), 1u8..0xff],
            "(-[a-z0-9]{0,8}){0,2}",
        )
            .prop_map(|((trace_id, span), flags, version, tail)| {
                let tail = if version == 0 { String::new() } else { tail };
                let value = format!(
                    "{version:02x}-{}-{}-{flags:02x}{tail}",
                    hex(&trace_id),
                    hex(&span)
                );
                let incoming = Incoming {
                    trace_id,
                    parent_span_id: span,
                    sampled: Some(flags & 1 == 1),
                };
                (value, incoming)
            })
    }

    /// What `parse_traceparent` must have read from an accepted value: the fixed fields.
    fn traceparent_fields(value: &str) -> (String, String, bool) {
        let v = value.trim_matches([' ', '\t']);
        let flags = u8::from_str_radix(&v[53..55], 16).expect("accepted flags are hex");
        (v[3..35].to_owned(), v[36..52].to_owned(), flags & 1 == 1)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// A well-formed `sentry-trace` parses to its ids, and is sent on exactly as it came.
        #[test]
        fn valid_sentry_trace_round_trips(
            (value, incoming) in sentry_trace_value(),
            blanks in "[ \t]{0,2}",
        ) {
            let parsed = parse_sentry_trace(&format!("{blanks}{value}{blanks}"));
            prop_assert_eq!(parsed, Some(incoming));
            prop_assert_eq!(parsed.unwrap().header(), value);
        }

        /// An edited `sentry-trace` is refused, or accepted and sent on unchanged: the SDK never
        /// passes on a value that differs from what it accepted.
        #[test]
        fn edited_sentry_trace_is_refused_or_echoed(
            (value, _) in sentry_trace_value(),
            edits in proptest::collection::vec(edit(), 1..4),
        ) {
            let edited = apply(&value, &edits);
            if let Some(t) = parse_sentry_trace(&edited) {
                prop_assert_eq!(t.header(), edited.trim_matches([' ', '\t']));
            }
        }

        /// A well-formed `traceparent` of any version parses to its ids and sampled flag.
        #[test]
        fn valid_traceparent_parses_to_its_ids(
            (value, incoming) in traceparent_value(),
            blanks in "[ \t]{0,2}",
        ) {
            prop_assert_eq!(parse_traceparent(&format!("{blanks}{value}{blanks}")), Some(incoming));
        }

        /// An edited `traceparent` is refused, or its ids and flag are the ones written in it.
        #[test]
        fn edited_traceparent_is_refused_or_read_as_written(
            (value, _) in traceparent_value(),
            edits in proptest::collection::vec(edit(), 1..4),
        ) {
            let edited = apply(&value, &edits);
            if let Some(t) = parse_traceparent(&edited) {
                let (trace, span, sampled) = traceparent_fields(&edited);
                prop_assert_eq!(t.trace_id_hex(), trace);
                prop_assert_eq!(SpanId::from(t.parent_span_id).to_string(), span);
                prop_assert_eq!(t.sampled, Some(sampled));
            }
        }

        /// Arbitrary text: no panic, in any of the three parsers.
        #[test]
        fn arbitrary_text_never_panics(value in any::<String>()) {
            let _ = parse_sentry_trace(&value);
            let _ = parse_traceparent(&value);
            let _ = parse_baggage(&value);
        }
    }
}
