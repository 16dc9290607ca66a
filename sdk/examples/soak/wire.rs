//! How many items a stand-in received: each body decoded in the real wire format, Loki's
//! snappy-compressed `PushRequest` and OTLP's `ExportTraceServiceRequest`.

// The message types are the ones the exporter tests decode with; the rest of that module (its
// receivers keep every body, which a long run cannot afford) is left unused here.
#[path = "../../tests/receivers/mod.rs"]
mod receivers;

use axum::http::HeaderMap;

/// The log lines in a Loki push body.
pub(crate) fn loki_lines(headers: &HeaderMap, body: &[u8]) -> Result<u64, String> {
    encoding_is_identity(headers)?;
    let raw = snap::raw::Decoder::new()
        .decompress_vec(body)
        .map_err(|e| format!("not a snappy block: {e}"))?;
    let push: receivers::PushRequest =
        prost::Message::decode(raw.as_slice()).map_err(|e| format!("not a PushRequest: {e}"))?;
    Ok(push.streams.iter().map(|s| s.entries.len() as u64).sum())
}

/// The spans in an OTLP/HTTP protobuf body.
pub(crate) fn otlp_spans(headers: &HeaderMap, body: &[u8]) -> Result<u64, String> {
    encoding_is_identity(headers)?;
    let request: receivers::ExportTraceServiceRequest = prost::Message::decode(body)
        .map_err(|e| format!("not an ExportTraceServiceRequest: {e}"))?;
    Ok(request
        .resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .map(|s| s.spans.len() as u64)
        .sum())
}

/// Neither exporter compresses its body beyond the format itself; a compressed one would be
/// miscounted, so it fails loudly instead.
fn encoding_is_identity(headers: &HeaderMap) -> Result<(), String> {
    match headers
        .get("content-encoding")
        .map(|v| v.to_str().unwrap_or("?"))
    {
        None | Some("identity") => Ok(()),
        Some(other) => Err(format!("content-encoding {other} is not decoded here")),
    }
}
