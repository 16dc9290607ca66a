//! Envelopes through the shared export queue, and the sink that posts them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sentry::{Envelope, Transport};

use crate::export::{self, ExportQueue, ExportSettings, ExporterHandle, Sink};

/// Hands envelopes to the export queue; never blocks.
pub(super) struct QueueTransport {
    pub(super) queue: ExportQueue<Envelope>,
    pub(super) handle: Arc<ExporterHandle>,
}

impl Transport for QueueTransport {
    fn send_envelope(&self, envelope: Envelope) {
        self.queue.push(envelope);
    }

    fn flush(&self, timeout: Duration) -> bool {
        self.handle.flush(timeout)
    }

    fn shutdown(&self, timeout: Duration) -> bool {
        self.handle.shutdown(Instant::now() + timeout)
    }
}

/// Posts envelopes to the project's envelope endpoint.
pub(super) struct SentrySink {
    client: reqwest::Client,
    url: String,
    auth: String,
}

impl SentrySink {
    pub(super) fn new(dsn: &sentry::types::Dsn, settings: &ExportSettings) -> Result<Self, String> {
        let agent = concat!("obs-service/", env!("CARGO_PKG_VERSION"));
        Ok(Self {
            client: export::http_client(settings)?,
            url: dsn.envelope_api_url().to_string(),
            auth: dsn.to_auth(Some(agent)).to_string(),
        })
    }
}

impl Sink for SentrySink {
    type Item = Envelope;

    async fn send(&mut self, batch: &[Envelope]) -> Result<(), export::SendError> {
        for envelope in batch {
            let mut body = Vec::new();
            envelope
                .to_writer(&mut body)
                .map_err(|e| export::SendError::permanent(format!("cannot encode: {e}")))?;
            let response = self
                .client
                .post(&self.url)
                .header("X-Sentry-Auth", &self.auth)
                .header(http::header::CONTENT_TYPE, "application/x-sentry-envelope")
                .body(body)
                .send()
                .await
                .map_err(|e| export::SendError::transient(format!("send failed: {e}")))?;
            export::classify(response.status(), response.headers())?;
        }
        Ok(())
    }
}
