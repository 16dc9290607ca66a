//! The sink that encodes batches as Loki's push protobuf and posts them.

use std::time::{Duration, UNIX_EPOCH};

use tracing_core::Level;

use super::{LokiConfig, LokiEntry};
use crate::catalogue::env as vars;
use crate::catalogue::fields;
use crate::export::{self, ExportSettings, Sink};

/// Pushes batches to Loki.
pub(super) struct LokiSink {
    client: reqwest::Client,
    url: String,
    tenant: Option<String>,
    /// `service="…", env="…"`, rendered once; the level is added per stream.
    static_labels: String,
}

impl LokiSink {
    pub(super) fn new(
        config: &LokiConfig,
        labels: Vec<(String, String)>,
        settings: &ExportSettings,
    ) -> Result<Self, String> {
        let static_labels = labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{}\"", escape_label(v)))
            .collect::<Vec<_>>()
            .join(", ");
        let url = reqwest::Url::parse(&config.push_url).map_err(|e| {
            format!(
                "{} {:?} is not a URL: {e}",
                vars::LOKI_URL.name,
                config.push_url
            )
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!(
                "{} {:?} is not an http:// or https:// URL",
                vars::LOKI_URL.name,
                config.push_url
            ));
        }
        Ok(Self {
            client: export::http_client(settings)?,
            url: config.push_url.clone(),
            tenant: config.tenant.clone(),
            static_labels,
        })
    }

    /// One stream per level, entries in the order they were logged.
    fn encode(&self, batch: &[LokiEntry]) -> Vec<u8> {
        let mut levels: Vec<Level> = Vec::new();
        for entry in batch {
            if !levels.contains(&entry.level) {
                levels.push(entry.level);
            }
        }
        let streams: Vec<(String, Vec<&LokiEntry>)> = levels
            .into_iter()
            .map(|level| {
                let labels = format!(
                    "{{{}, {}=\"{}\"}}",
                    self.static_labels,
                    fields::LEVEL,
                    level.as_str()
                );
                (labels, batch.iter().filter(|e| e.level == level).collect())
            })
            .collect();
        let body = encode_push(&streams);
        snap::raw::Encoder::new()
            .compress_vec(&body)
            .expect("snappy compresses any input")
    }
}

// Loki's push protobuf, written straight from the queued entries. prost's derived messages
// (`proto`, which the tests compare this with) own their strings, so encoding through them
// copied every line and ID once more and dropped them again: about a quarter of what a line
// cost with Loki on. The messages (after Loki's `pkg/push/push.proto`):
//   PushRequest   { repeated StreamAdapter streams = 1; }
//   StreamAdapter { string labels = 1; repeated EntryAdapter entries = 2; uint64 hash = 3; }
//   EntryAdapter  { Timestamp timestamp = 1; string line = 2;
//                   repeated LabelPairAdapter structured_metadata = 3; }
//   LabelPairAdapter { string name = 1; string value = 2; }
//   Timestamp     { int64 seconds = 1; int32 nanos = 2; }
// As proto3 and prost do, empty strings and zero numbers are left out, and the hash (which
// Loki computes itself) is never sent.
mod wire {
    use prost::encoding::{WireType, encode_key, encode_varint, encoded_len_varint, key_len};

    /// Bytes of a length-delimited field of `len` bytes under `tag`.
    pub(super) fn field_len(tag: u32, len: usize) -> usize {
        key_len(tag) + encoded_len_varint(len as u64) + len
    }

    /// A length-delimited field's key and length; its `len` bytes follow.
    pub(super) fn put_len(out: &mut Vec<u8>, tag: u32, len: usize) {
        encode_key(tag, WireType::LengthDelimited, out);
        encode_varint(len as u64, out);
    }

    /// A `string` or `bytes` field, left out when empty.
    pub(super) fn put_str(out: &mut Vec<u8>, tag: u32, value: &str) {
        if !value.is_empty() {
            put_len(out, tag, value.len());
            out.extend_from_slice(value.as_bytes());
        }
    }

    pub(super) fn str_len(tag: u32, value: &str) -> usize {
        if value.is_empty() {
            0
        } else {
            field_len(tag, value.len())
        }
    }

    /// An `int64` or `int32` field (negative values as ten-byte varints), left out when 0.
    pub(super) fn put_int(out: &mut Vec<u8>, tag: u32, value: i64) {
        if value != 0 {
            encode_key(tag, WireType::Varint, out);
            encode_varint(value as u64, out);
        }
    }

    pub(super) fn int_len(tag: u32, value: i64) -> usize {
        if value == 0 {
            0
        } else {
            key_len(tag) + encoded_len_varint(value as u64)
        }
    }
}

/// The seconds and nanoseconds of an entry's time since the epoch.
fn timestamp(entry: &LokiEntry) -> (i64, i64) {
    let since = entry
        .time
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO);
    (since.as_secs() as i64, i64::from(since.subsec_nanos()))
}

/// The structured metadata of an entry, as `(name, value)`.
fn metadata(entry: &LokiEntry) -> impl Iterator<Item = (&'static str, &str)> {
    [
        (fields::REQUEST_ID, entry.request_id.as_deref()),
        (fields::TRACE_ID, entry.trace_id.as_deref()),
    ]
    .into_iter()
    .filter_map(|(name, value)| Some((name, value?)))
}

fn pair_len(name: &str, value: &str) -> usize {
    wire::str_len(1, name) + wire::str_len(2, value)
}

fn entry_len(entry: &LokiEntry) -> usize {
    let (seconds, nanos) = timestamp(entry);
    wire::field_len(1, wire::int_len(1, seconds) + wire::int_len(2, nanos))
        + wire::str_len(2, &entry.line)
        + metadata(entry)
            .map(|(name, value)| wire::field_len(3, pair_len(name, value)))
            .sum::<usize>()
}

/// A `PushRequest` of `streams` (labels and their entries, in order).
fn encode_push(streams: &[(String, Vec<&LokiEntry>)]) -> Vec<u8> {
    let lens: Vec<Vec<usize>> = streams
        .iter()
        .map(|(_, entries)| entries.iter().map(|e| entry_len(e)).collect())
        .collect();
    let stream_lens: Vec<usize> = streams
        .iter()
        .zip(&lens)
        .map(|((labels, _), lens)| {
            wire::str_len(1, labels) + lens.iter().map(|&l| wire::field_len(2, l)).sum::<usize>()
        })
        .collect();
    let total = stream_lens.iter().map(|&l| wire::field_len(1, l)).sum();
    let mut out = Vec::with_capacity(total);
    for (((labels, entries), lens), &stream_len) in streams.iter().zip(&lens).zip(&stream_lens) {
        wire::put_len(&mut out, 1, stream_len);
        wire::put_str(&mut out, 1, labels);
        for (entry, &len) in entries.iter().zip(lens) {
            wire::put_len(&mut out, 2, len);
            let (seconds, nanos) = timestamp(entry);
            wire::put_len(
                &mut out,
                1,
                wire::int_len(1, seconds) + wire::int_len(2, nanos),
            );
            wire::put_int(&mut out, 1, seconds);
            wire::put_int(&mut out, 2, nanos);
            wire::put_str(&mut out, 2, &entry.line);
            for (name, value) in metadata(entry) {
                wire::put_len(&mut out, 3, pair_len(name, value));
                wire::put_str(&mut out, 1, name);
                wire::put_str(&mut out, 2, value);
            }
        }
    }
    debug_assert_eq!(out.len(), total);
    out
}

impl Sink for LokiSink {
    type Item = LokiEntry;

    async fn send(&mut self, batch: &[LokiEntry]) -> Result<(), export::SendError> {
        let mut request = self
            .client
            .post(&self.url)
            .header(http::header::CONTENT_TYPE, "application/x-protobuf")
            .body(self.encode(batch));
        if let Some(tenant) = &self.tenant {
            request = request.header("X-Scope-OrgID", tenant);
        }
        let response = request
            .send()
            .await
            .map_err(|e| export::SendError::transient(format!("push failed: {e}")))?;
        export::classify(response.status(), response.headers())
    }

    fn weight(entry: &LokiEntry) -> usize {
        entry.weight()
    }
}

/// Escapes a label value for Loki's label text (`\`, `"` and line breaks).
pub(super) fn escape_label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use proptest::prelude::*;

    use super::super::proto;
    use super::*;

    /// What prost's derived messages encode for the same streams.
    fn derived(streams: &[(String, Vec<&LokiEntry>)]) -> Vec<u8> {
        let request = proto::PushRequest {
            streams: streams
                .iter()
                .map(|(labels, entries)| proto::StreamAdapter {
                    labels: labels.clone(),
                    hash: 0,
                    entries: entries
                        .iter()
                        .map(|e| {
                            let (seconds, nanos) = timestamp(e);
                            proto::EntryAdapter {
                                timestamp: Some(proto::Timestamp {
                                    seconds,
                                    nanos: nanos as i32,
                                }),
                                line: e.line.clone(),
                                structured_metadata: metadata(e)
                                    .map(|(name, value)| proto::LabelPairAdapter {
                                        name: name.to_owned(),
                                        value: value.to_owned(),
                                    })
                                    .collect(),
                            }
                        })
                        .collect(),
                })
                .collect(),
        };
        prost::Message::encode_to_vec(&request)
    }

    fn entry() -> impl Strategy<Value = LokiEntry> {
        (
            // Any second up to 2096, whole or not.
            (0u64..4_000_000_000, 0u32..1_000_000_000),
            prop_oneof![Just(Level::INFO), Just(Level::ERROR), Just(Level::DEBUG)],
            ".{0,300}",
            proptest::option::of("[a-z0-9-]{0,40}"),
            proptest::option::of("[0-9a-f]{32}"),
        )
            .prop_map(
                |((secs, nanos), level, line, request_id, trace_id)| LokiEntry {
                    time: SystemTime::UNIX_EPOCH + Duration::new(secs, nanos),
                    level,
                    line,
                    request_id,
                    trace_id,
                },
            )
    }

    proptest! {
        #[test]
        fn the_hand_encoding_is_what_prost_encodes(
            labels in proptest::collection::vec(".{0,40}", 1..4),
            entries in proptest::collection::vec(entry(), 0..20),
        ) {
            let streams: Vec<(String, Vec<&LokiEntry>)> = labels
                .into_iter()
                .enumerate()
                .map(|(i, labels)| (labels, entries.iter().skip(i).step_by(2).collect()))
                .collect();
            prop_assert_eq!(encode_push(&streams), derived(&streams));
        }
    }
}
