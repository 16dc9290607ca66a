//! The W3C `traceparent` header, read by the spec for both integrations that continue a
//! caller's trace: Sentry (`sentry_trace`) and OTLP (`otlp::context`).
//!
//! OpenTelemetry's propagator reads more than the spec allows (a version of three digits,
//! `000-…`; ids shorter than 32 and 16 digits, `00-1-1-01`; a trailing `-`), and the Sentry
//! side reads the spec. Both going through [`parse`] keeps them on one trace: with Sentry and
//! OTLP on, a value only one of them accepted gave the log lines (OpenTelemetry's ids) another
//! trace than Sentry showed.

use http::HeaderMap;

/// The W3C trace-context header.
pub(crate) const TRACEPARENT: &str = "traceparent";

/// A valid `traceparent`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TraceParent {
    pub(crate) trace_id: [u8; 16],
    /// The caller's span, the parent of the request's.
    pub(crate) parent_span_id: [u8; 8],
    pub(crate) flags: u8,
}

impl TraceParent {
    /// The caller's sampling decision (the `sampled` flag).
    #[cfg_attr(not(feature = "sentry"), allow(dead_code))]
    pub(crate) fn sampled(&self) -> bool {
        self.flags & 1 == 1
    }
}

/// The one `traceparent` of `headers`, when valid; a repeated one is ignored, as the spec
/// allows for a header that must appear once.
#[cfg_attr(not(feature = "otlp"), allow(dead_code))]
pub(crate) fn from_headers(headers: &HeaderMap) -> Option<TraceParent> {
    single(headers, TRACEPARENT).and_then(parse)
}

/// The one value of `name`, as text; `None` when absent, repeated or not visible ASCII.
pub(crate) fn single<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    let mut values = headers.get_all(name).iter();
    let value = values.next()?;
    if values.next().is_some() {
        return None;
    }
    value.to_str().ok()
}

/// `2 * N` lower-case hex digits (what both formats write; upper case is invalid in W3C).
fn hex_bytes<const N: usize>(s: &str) -> Option<[u8; N]> {
    if s.len() != 2 * N || !s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    let mut out = [0u8; N];
    for (i, byte) in out.iter_mut().enumerate() {
        // All ASCII, checked above, so every index is a character boundary.
        *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// An id: hex as [`hex_bytes`], not all zero (both formats reserve the zero id as invalid).
pub(crate) fn hex_id<const N: usize>(s: &str) -> Option<[u8; N]> {
    hex_bytes::<N>(s).filter(|id| *id != [0u8; N])
}

/// Parses `{version}-{trace id}-{parent id}-{flags}`, surrounding blanks allowed: version `00`
/// is exactly that; a later version may append `-…` fields, which are ignored; `ff` is invalid.
pub(crate) fn parse(value: &str) -> Option<TraceParent> {
    let value = value.trim_matches([' ', '\t']);
    // ASCII only, so the fixed offsets below are character boundaries.
    if !value.is_ascii() || value.len() < 55 {
        return None;
    }
    let (head, rest) = value.split_at(55);
    let [version] = hex_bytes::<1>(&head[..2])?;
    match version {
        0 if !rest.is_empty() => return None,
        0xff => return None,
        _ if !rest.is_empty() && !rest.starts_with('-') => return None,
        _ => {}
    }
    let bytes = head.as_bytes();
    if bytes[2] != b'-' || bytes[35] != b'-' || bytes[52] != b'-' {
        return None;
    }
    let trace_id = hex_id::<16>(&head[3..35])?;
    let parent_span_id = hex_id::<8>(&head[36..52])?;
    let [flags] = hex_bytes::<1>(&head[53..55])?;
    Some(TraceParent {
        trace_id,
        parent_span_id,
        flags,
    })
}
