//! Entry points for the fuzz targets in `fuzz/` (see FUZZING.md). Compiled only under
//! `cargo fuzz`, which passes `--cfg fuzzing`: the parsers the targets reach are crate-private,
//! and making them public API would be a promise the SDK does not mean to keep.

/// Appends `value` to `out` as a JSON string, exactly as log lines write strings.
pub fn write_json_str(out: &mut Vec<u8>, value: &str) {
    crate::logging::escape::write_json_str(out, value);
}

/// A caller's trace as the SDK parsed it, its ids rendered anew as hex.
#[cfg(feature = "sentry")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trace {
    /// 32 lower-case hex digits.
    pub trace_id: String,
    /// 16 lower-case hex digits.
    pub parent_span_id: String,
    /// The caller's sampling decision, when it made one.
    pub sampled: Option<bool>,
    /// The `sentry-trace` value the SDK would send on for this trace.
    pub sentry_trace: String,
}

#[cfg(feature = "sentry")]
impl From<crate::sentry::headers::Incoming> for Trace {
    fn from(t: crate::sentry::headers::Incoming) -> Self {
        Trace {
            trace_id: t.trace_id_hex(),
            parent_span_id: sentry::protocol::SpanId::from(t.parent_span_id).to_string(),
            sampled: t.sampled,
            sentry_trace: t.header(),
        }
    }
}

/// Parses a `sentry-trace` value.
#[cfg(feature = "sentry")]
pub fn parse_sentry_trace(value: &str) -> Option<Trace> {
    crate::sentry::headers::parse_sentry_trace(value).map(Trace::from)
}

/// Parses a W3C `traceparent` value, as the Sentry integration does.
#[cfg(feature = "sentry")]
pub fn parse_traceparent(value: &str) -> Option<Trace> {
    crate::sentry::headers::parse_traceparent(value).map(Trace::from)
}
