//! Finished spans through the shared export queue, and the sink that sends them with
//! `opentelemetry-otlp`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry::Context as OtelContext;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanProcessor};

use super::{OtlpConfig, OtlpProtocol};
use crate::export::queue::Retry;
use crate::export::{self, ExportQueue, ExportSettings, ExporterHandle, SendError, Sink};

/// Hands ended, sampled spans to the export queue; never blocks.
#[derive(Debug)]
pub(super) struct QueueProcessor {
    pub(super) queue: ExportQueue<SpanData>,
    pub(super) handle: Arc<ExporterHandle>,
}

impl SpanProcessor for QueueProcessor {
    fn on_start(&self, _span: &mut opentelemetry_sdk::trace::Span, _cx: &OtelContext) {}

    fn on_end(&self, span: SpanData) {
        if span.span_context.is_sampled() {
            self.queue.push(span);
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        let timeout = Duration::from_secs(5);
        if self.handle.flush(timeout) {
            Ok(())
        } else {
            Err(OTelSdkError::Timeout(timeout))
        }
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        if self.handle.shutdown(Instant::now() + timeout) {
            Ok(())
        } else {
            Err(OTelSdkError::Timeout(timeout))
        }
    }
}

/// Sends batches with `opentelemetry-otlp`'s exporter.
pub(super) struct OtlpSink {
    exporter: opentelemetry_otlp::SpanExporter,
    /// What the HTTP client saw on the last answer (to honour `Retry-After`).
    last: Arc<Mutex<Option<Retry>>>,
}

impl OtlpSink {
    pub(super) fn new(
        config: &OtlpConfig,
        resource: &Resource,
        settings: &ExportSettings,
    ) -> Result<Self, String> {
        use opentelemetry_otlp::{WithExportConfig as _, WithHttpConfig as _};
        let last = Arc::new(Mutex::new(None));
        let built = match config.protocol {
            OtlpProtocol::HttpProtobuf => opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
                .with_endpoint(config.traces_url())
                .with_timeout(settings.request_timeout)
                .with_http_client(HttpClient {
                    client: export::http_client(settings)?,
                    last: last.clone(),
                })
                .build(),
            OtlpProtocol::Grpc => opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_protocol(opentelemetry_otlp::Protocol::Grpc)
                .with_endpoint(config.traces_url())
                .with_timeout(settings.request_timeout)
                .build(),
        };
        let mut exporter = built.map_err(|e| format!("cannot build the OTLP exporter: {e}"))?;
        opentelemetry_sdk::trace::SpanExporter::set_resource(&mut exporter, resource);
        Ok(Self { exporter, last })
    }
}

impl Sink for OtlpSink {
    type Item = SpanData;

    async fn send(&mut self, batch: &[SpanData]) -> Result<(), SendError> {
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = None;
        let result =
            opentelemetry_sdk::trace::SpanExporter::export(&self.exporter, batch.to_vec()).await;
        let seen = self.last.lock().unwrap_or_else(|e| e.into_inner()).take();
        match result {
            Ok(()) => Ok(()),
            Err(e) => Err(SendError {
                retry: seen.unwrap_or(Retry::Backoff),
                reason: format!("export failed: {e}"),
            }),
        }
    }

    fn weight(span: &SpanData) -> usize {
        span_weight(span)
    }
}

/// About the bytes a span holds: its fixed part, its name, and its attributes' and events'
/// text, which is what grows with what a service records.
fn span_weight(span: &SpanData) -> usize {
    let attributes = |attrs: &[opentelemetry::KeyValue]| -> usize {
        attrs
            .iter()
            .map(|kv| kv.key.as_str().len() + kv.value.as_str().len() + 16)
            .sum()
    };
    std::mem::size_of::<SpanData>()
        + span.name.len()
        + attributes(&span.attributes)
        + span
            .events
            .iter()
            .map(|event| event.name.len() + attributes(&event.attributes) + 32)
            .sum::<usize>()
}

/// The HTTP client of the OTLP/HTTP exporter: reqwest on the exporter's runtime, remembering
/// how the collector answered so a 429's `Retry-After` is honoured.
#[derive(Debug, Clone)]
struct HttpClient {
    client: reqwest::Client,
    last: Arc<Mutex<Option<Retry>>>,
}

#[async_trait::async_trait]
impl opentelemetry_http::HttpClient for HttpClient {
    async fn send_bytes(
        &self,
        request: http::Request<bytes::Bytes>,
    ) -> Result<http::Response<bytes::Bytes>, opentelemetry_http::HttpError> {
        let request = reqwest::Request::try_from(request)?;
        let response = self.client.execute(request).await?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await?;
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) =
            export::classify(status, &headers).err().map(|e| e.retry);
        let mut answer = http::Response::new(body);
        *answer.status_mut() = status;
        *answer.headers_mut() = headers;
        Ok(answer)
    }
}
