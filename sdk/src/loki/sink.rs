//! The sink that encodes batches as Loki's push protobuf and posts them.

use std::time::{Duration, UNIX_EPOCH};

use tracing_core::Level;

use super::{LokiConfig, LokiEntry, proto};
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
        let mut streams: Vec<(Level, proto::StreamAdapter)> = Vec::new();
        for entry in batch {
            let index = match streams.iter().position(|(level, _)| *level == entry.level) {
                Some(index) => index,
                None => {
                    streams.push((
                        entry.level,
                        proto::StreamAdapter {
                            labels: format!(
                                "{{{}, {}=\"{}\"}}",
                                self.static_labels,
                                fields::LEVEL,
                                entry.level.as_str()
                            ),
                            entries: Vec::new(),
                            hash: 0,
                        },
                    ));
                    streams.len() - 1
                }
            };
            let since = entry
                .time
                .duration_since(UNIX_EPOCH)
                .unwrap_or(Duration::ZERO);
            let mut metadata = Vec::new();
            for (name, value) in [
                (fields::REQUEST_ID, &entry.request_id),
                (fields::TRACE_ID, &entry.trace_id),
            ] {
                if let Some(value) = value {
                    metadata.push(proto::LabelPairAdapter {
                        name: name.to_owned(),
                        value: value.clone(),
                    });
                }
            }
            streams[index].1.entries.push(proto::EntryAdapter {
                timestamp: Some(proto::Timestamp {
                    seconds: since.as_secs() as i64,
                    nanos: since.subsec_nanos() as i32,
                }),
                line: entry.line.clone(),
                structured_metadata: metadata,
            });
        }
        let request = proto::PushRequest {
            streams: streams.into_iter().map(|(_, stream)| stream).collect(),
        };
        let body = prost::Message::encode_to_vec(&request);
        snap::raw::Encoder::new()
            .compress_vec(&body)
            .expect("snappy compresses any input")
    }
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
