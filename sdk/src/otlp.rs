//! OTLP trace export and W3C trace context (feature `otlp`; on at runtime when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set).
//!
//! - `tracing` spans become OpenTelemetry spans through `tracing-opentelemetry`, and are sent
//!   with `opentelemetry-otlp` over HTTP/protobuf (the default, `{endpoint}/v1/traces`) or gRPC
//!   (`OTEL_EXPORTER_OTLP_PROTOCOL=grpc`).
//! - The sampler comes from `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`, as the
//!   OpenTelemetry specification names them (default `parentbased_always_on`).
//! - An incoming `traceparent` makes the request's span a child of the caller's span
//!   ([`HttpLayer`](crate::HttpLayer)); [`inject`] and the client helpers in
//!   [`request_id`](crate::request_id) pass the current context on to outgoing calls.
//! - Every JSON log line written inside a traced span carries `trace_id` and `span_id`.
//! - Finished spans go through the shared [`export`] queue instead of the SDK's
//!   batch span processor, so dropped spans are counted in
//!   `obs_exporter_dropped_total{exporter="otlp"}`, a `Retry-After` is honoured and shutdown keeps
//!   its deadline on any runtime (the gRPC client runs on the exporter's own runtime).
//!
//! Exemplars: the latency histogram is rendered by `metrics-exporter-prometheus` 0.18 in the text
//! format 0.0.4, which has no exemplars; neither its text nor its protobuf rendering fills them
//! and the `metrics` facade cannot attach one, so `http_server_request_duration_seconds` carries
//! none. The `trace_id` in the access-log line links a slow request to its trace.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry::propagation::TextMapPropagator as _;
use opentelemetry::trace::{TraceContextExt as _, TracerProvider as _};
use opentelemetry::{Context as OtelContext, KeyValue};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{Sampler, SdkTracer, SdkTracerProvider, SpanData, SpanProcessor};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::registry::LookupSpan;

use crate::config::{ConfigError, Env};
use crate::export::{self, ExportQueue, ExportSettings, ExporterHandle, Retry, SendError, Sink};
use crate::{Config, Metrics};

/// The `exporter` label of this exporter's drop counter.
pub const EXPORTER: &str = "otlp";

/// The W3C trace-context header.
pub const TRACEPARENT: &str = "traceparent";

/// [`TRACEPARENT`] as a ready-made header name: every request looks it up, and a `&str` name
/// is parsed on each look-up.
const TRACEPARENT_HEADER: http::HeaderName = http::HeaderName::from_static(TRACEPARENT);

/// How spans travel to the collector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OtlpProtocol {
    /// Protobuf over HTTP, `POST {endpoint}/v1/traces` (`http/protobuf`, the default; port 4318).
    #[default]
    HttpProtobuf,
    /// gRPC (`grpc`; port 4317).
    Grpc,
}

/// Which traces are recorded, after `OTEL_TRACES_SAMPLER`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TraceSampler {
    /// `always_on`.
    AlwaysOn,
    /// `always_off`.
    AlwaysOff,
    /// `traceidratio`: this fraction of traces.
    TraceIdRatio(f64),
    /// `parentbased_always_on` (the default): follow the caller's decision, record new traces.
    ParentBasedAlwaysOn,
    /// `parentbased_always_off`: follow the caller's decision, drop new traces.
    ParentBasedAlwaysOff,
    /// `parentbased_traceidratio`: follow the caller's decision, this fraction of new traces.
    ParentBasedTraceIdRatio(f64),
}

impl TraceSampler {
    fn to_sdk(self) -> Sampler {
        let ratio = |r: f64| Sampler::TraceIdRatioBased(r.clamp(0.0, 1.0));
        match self {
            Self::AlwaysOn => Sampler::AlwaysOn,
            Self::AlwaysOff => Sampler::AlwaysOff,
            Self::TraceIdRatio(r) => ratio(r),
            Self::ParentBasedAlwaysOn => Sampler::ParentBased(Box::new(Sampler::AlwaysOn)),
            Self::ParentBasedAlwaysOff => Sampler::ParentBased(Box::new(Sampler::AlwaysOff)),
            Self::ParentBasedTraceIdRatio(r) => Sampler::ParentBased(Box::new(ratio(r))),
        }
    }
}

/// Where and how to export traces.
///
/// ```
/// use obs_service::otlp::{OtlpConfig, OtlpProtocol, TraceSampler};
///
/// let otlp = OtlpConfig::new("http://collector:4318")
///     .protocol(OtlpProtocol::HttpProtobuf)
///     .sampler(TraceSampler::ParentBasedTraceIdRatio(0.1));
/// assert_eq!(otlp.traces_url(), "http://collector:4318/v1/traces");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct OtlpConfig {
    endpoint: String,
    protocol: OtlpProtocol,
    sampler: TraceSampler,
    export: ExportSettings,
}

impl OtlpConfig {
    /// Exports to the collector at `endpoint` (its base URL, as in
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`).
    pub fn new(endpoint: impl Into<String>) -> Self {
        Self {
            endpoint: endpoint.into().trim_end_matches('/').to_owned(),
            protocol: OtlpProtocol::default(),
            sampler: TraceSampler::ParentBasedAlwaysOn,
            export: ExportSettings::default(),
        }
    }

    /// Chooses HTTP/protobuf or gRPC.
    pub fn protocol(mut self, protocol: OtlpProtocol) -> Self {
        self.protocol = protocol;
        self
    }

    /// Chooses the sampler.
    pub fn sampler(mut self, sampler: TraceSampler) -> Self {
        self.sampler = sampler;
        self
    }

    /// Replaces the queue, batching and retry settings (default: 2048 spans queued, batches of
    /// at most 512, sent at least every second).
    pub fn export_settings(mut self, settings: ExportSettings) -> Self {
        self.export = settings;
        self
    }

    /// The URL spans are posted to over HTTP (`{endpoint}/v1/traces`), or the gRPC endpoint.
    pub fn traces_url(&self) -> String {
        match self.protocol {
            OtlpProtocol::HttpProtobuf if !self.endpoint.ends_with("/v1/traces") => {
                format!("{}/v1/traces", self.endpoint)
            }
            _ => self.endpoint.clone(),
        }
    }

    /// Reads `OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_PROTOCOL`,
    /// `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`; `None` without an endpoint.
    pub(crate) fn from_env(env: &Env<'_>) -> Result<Option<Self>, ConfigError> {
        let get = |name: &str| env.get(name);
        let Some(endpoint) = get("OTEL_EXPORTER_OTLP_ENDPOINT") else {
            return Ok(None);
        };
        let mut config = Self::new(endpoint);
        if let Some(protocol) = get("OTEL_EXPORTER_OTLP_PROTOCOL") {
            config.protocol = match protocol.to_ascii_lowercase().as_str() {
                "http/protobuf" => OtlpProtocol::HttpProtobuf,
                "grpc" => OtlpProtocol::Grpc,
                _ => {
                    return Err(ConfigError::InvalidEnv {
                        name: "OTEL_EXPORTER_OTLP_PROTOCOL",
                        value: protocol,
                        expected: "http/protobuf or grpc",
                    });
                }
            };
        }
        let ratio = match get("OTEL_TRACES_SAMPLER_ARG") {
            None => 1.0,
            Some(arg) => match arg.parse::<f64>() {
                Ok(r) if (0.0..=1.0).contains(&r) => r,
                _ => {
                    return Err(ConfigError::InvalidEnv {
                        name: "OTEL_TRACES_SAMPLER_ARG",
                        value: arg,
                        expected: "a ratio from 0 to 1",
                    });
                }
            },
        };
        if let Some(sampler) = get("OTEL_TRACES_SAMPLER") {
            config.sampler = match sampler.to_ascii_lowercase().as_str() {
                "always_on" => TraceSampler::AlwaysOn,
                "always_off" => TraceSampler::AlwaysOff,
                "traceidratio" => TraceSampler::TraceIdRatio(ratio),
                "parentbased_always_on" => TraceSampler::ParentBasedAlwaysOn,
                "parentbased_always_off" => TraceSampler::ParentBasedAlwaysOff,
                "parentbased_traceidratio" => TraceSampler::ParentBasedTraceIdRatio(ratio),
                _ => {
                    return Err(ConfigError::InvalidEnv {
                        name: "OTEL_TRACES_SAMPLER",
                        value: sampler,
                        expected: "always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off or parentbased_traceidratio",
                    });
                }
            };
        }
        Ok(Some(config))
    }
}

impl Config {
    /// Exports traces over OTLP (what `OTEL_EXPORTER_OTLP_ENDPOINT` turns on), or stops with
    /// `None`.
    pub fn otlp(mut self, otlp: impl Into<Option<OtlpConfig>>) -> Self {
        self.integrations.otlp = otlp.into();
        self
    }
}

/// The trace pipeline: a tracer provider whose finished spans go to the OTLP exporter.
/// [`Config::init`] builds one when `OTEL_EXPORTER_OTLP_ENDPOINT` is set; build one yourself to
/// compose the subscriber by hand.
#[derive(Debug)]
pub struct OtlpPipeline {
    provider: SdkTracerProvider,
    handle: Arc<ExporterHandle>,
}

impl OtlpPipeline {
    /// Starts the exporter for `otlp`, with the service name, version and environment of
    /// `config` as resource attributes and drops counted in `metrics`, and makes W3C trace
    /// context the global propagator.
    pub fn new(
        otlp: &OtlpConfig,
        config: &Config,
        metrics: &Metrics,
    ) -> Result<Self, crate::InitError> {
        let resource = Resource::builder_empty()
            .with_service_name(config.service_name().to_owned())
            .with_attributes([
                KeyValue::new("service.version", config.service_version().to_owned()),
                KeyValue::new(
                    "deployment.environment.name",
                    config.environment().to_owned(),
                ),
            ])
            .build();
        let sink_config = otlp.clone();
        let sink_resource = resource.clone();
        let (queue, handle) = export::spawn(
            EXPORTER,
            &otlp.export,
            config.shutdown_timeout,
            metrics,
            move |settings| OtlpSink::new(&sink_config, &sink_resource, settings),
        )
        .map_err(|reason| crate::InitError::Exporter {
            exporter: EXPORTER,
            reason,
        })?;
        let handle = Arc::new(handle);
        let provider = SdkTracerProvider::builder()
            .with_span_processor(QueueProcessor {
                queue,
                handle: handle.clone(),
            })
            .with_sampler(otlp.sampler.to_sdk())
            .with_resource(resource)
            .build();
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
        Ok(Self { provider, handle })
    }

    /// The `tracing` layer that turns spans into OpenTelemetry spans of this pipeline.
    pub fn layer<S>(&self) -> tracing_opentelemetry::OpenTelemetryLayer<S, SdkTracer>
    where
        S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    {
        tracing_opentelemetry::layer()
            .with_tracer(self.provider.tracer("obs-service"))
            .with_tracked_inactivity(false)
    }

    /// The exporter's counters.
    pub fn handle(&self) -> &ExporterHandle {
        &self.handle
    }

    /// Sends the spans ended so far; returns whether they were sent or dropped in time.
    pub fn flush(&self, timeout: Duration) -> bool {
        self.handle.flush(timeout)
    }

    /// Sends what is queued until `deadline`, then stops. Returns by the deadline.
    pub fn shutdown(&self, deadline: Instant) {
        let _ = self
            .provider
            .shutdown_with_timeout(deadline.saturating_duration_since(Instant::now()));
        self.handle.shutdown(deadline);
    }
}

impl export::Integration for OtlpPipeline {
    type Config = OtlpConfig;
    type Layer<S>
        = tracing_opentelemetry::OpenTelemetryLayer<S, SdkTracer>
    where
        S: tracing::Subscriber + for<'a> LookupSpan<'a>;
    const EXPORTER: &'static str = EXPORTER;
    const EXPORTS_SPANS: bool = true;

    fn config_from_env(env: &Env<'_>) -> Result<Option<OtlpConfig>, ConfigError> {
        OtlpConfig::from_env(env)
    }

    fn start(
        otlp: &OtlpConfig,
        config: &Config,
        metrics: &Metrics,
    ) -> Result<Self, crate::InitError> {
        Self::new(otlp, config, metrics)
    }

    fn layer<S>(&mut self) -> Option<Self::Layer<S>>
    where
        S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    {
        Some(OtlpPipeline::layer(self))
    }

    fn handle(&self) -> &ExporterHandle {
        &self.handle
    }

    fn shutdown(&self, deadline: Instant) {
        OtlpPipeline::shutdown(self, deadline);
    }
}

/// Hands ended, sampled spans to the export queue; never blocks.
#[derive(Debug)]
struct QueueProcessor {
    queue: ExportQueue<SpanData>,
    handle: Arc<ExporterHandle>,
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
struct OtlpSink {
    exporter: opentelemetry_otlp::SpanExporter,
    /// What the HTTP client saw on the last answer (to honour `Retry-After`).
    last: Arc<Mutex<Option<Retry>>>,
}

impl OtlpSink {
    fn new(
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

/// W3C trace context as the core uses it (see [`integration`](crate::integration)).
pub(crate) mod context {
    pub(crate) use super::inject;
    pub(crate) use super::set_remote_parent as continue_remote;

    /// Finds the trace and span IDs of a log line's span, for [`JsonLayer`](crate::logging::JsonLayer).
    #[derive(Debug, Default)]
    pub(crate) struct LogIds {
        /// The subscriber the JSON layer belongs to, to read the OpenTelemetry context of spans.
        dispatch: std::sync::OnceLock<tracing::dispatcher::WeakDispatch>,
    }

    impl LogIds {
        pub(crate) fn new() -> Option<Self> {
            Some(Self::default())
        }

        pub(crate) fn register(&self, dispatch: &tracing::Dispatch) {
            let _ = self.dispatch.set(dispatch.downgrade());
        }

        pub(crate) fn ids<S>(
            &self,
            event: &tracing_core::Event<'_>,
            ctx: &tracing_subscriber::layer::Context<'_, S>,
        ) -> Option<(String, String)>
        where
            S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
        {
            super::log_ids(event, ctx, self.dispatch.get())
        }
    }
}

/// Makes `span` a child of the caller's span when `headers` carry a valid `traceparent`.
/// Called by [`HttpLayer`](crate::HttpLayer) right after it opens the request span.
pub(crate) fn set_remote_parent(span: &tracing::Span, headers: &http::HeaderMap) {
    if span.is_none() || !headers.contains_key(&TRACEPARENT_HEADER) {
        return;
    }
    let cx = TraceContextPropagator::new().extract(&opentelemetry_http::HeaderExtractor(headers));
    if cx.span().span_context().is_valid() {
        let _ = span.set_parent(cx);
    }
}

/// Adds `traceparent` (and `tracestate`) for the current span to `headers`, unless they carry
/// one already or no trace is active.
///
/// ```
/// let mut headers = http::HeaderMap::new();
/// obs_service::otlp::inject(&mut headers);
/// assert!(headers.get("traceparent").is_none()); // no trace outside a traced span
/// ```
pub fn inject(headers: &mut http::HeaderMap) {
    if headers.contains_key(&TRACEPARENT_HEADER) {
        return;
    }
    let cx = tracing::Span::current().context();
    if !cx.span().span_context().is_valid() {
        return;
    }
    TraceContextPropagator::new()
        .inject_context(&cx, &mut opentelemetry_http::HeaderInjector(headers));
}

/// The `trace_id` and `span_id` of the span an event belongs to, as JSON strings, for the log
/// line. `dispatch` is the subscriber the JSON layer belongs to, when it was told.
fn log_ids<S>(
    event: &tracing_core::Event<'_>,
    ctx: &tracing_subscriber::layer::Context<'_, S>,
    dispatch: Option<&tracing::dispatcher::WeakDispatch>,
) -> Option<(String, String)>
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    let id = ctx.event_span(event)?.id();
    let lookup =
        |dispatch: &tracing::Dispatch| tracing_opentelemetry::get_otel_context(&id, dispatch);
    let cx = match dispatch.and_then(tracing::dispatcher::WeakDispatch::upgrade) {
        Some(dispatch) => lookup(&dispatch),
        // The global subscriber is found even from inside an event.
        None => tracing::dispatcher::get_default(lookup),
    }?;
    let span = cx.span();
    let context = span.span_context();
    context.is_valid().then(|| {
        (
            format!("\"{}\"", context.trace_id()),
            format!("\"{}\"", context.span_id()),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(vars: &[(&str, &str)]) -> Result<Option<OtlpConfig>, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        OtlpConfig::from_env(&Env::new(&|k| map.get(k).cloned()))
    }

    #[test]
    fn environment_selects_protocol_and_sampler() {
        assert_eq!(from(&[]).unwrap(), None);
        let c = from(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318/")])
            .unwrap()
            .unwrap();
        assert_eq!(c.protocol, OtlpProtocol::HttpProtobuf);
        assert_eq!(c.sampler, TraceSampler::ParentBasedAlwaysOn);
        assert_eq!(c.traces_url(), "http://c:4318/v1/traces");
        let c = from(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4317"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "0.25"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(c.protocol, OtlpProtocol::Grpc);
        assert_eq!(c.traces_url(), "http://c:4317");
        assert_eq!(c.sampler, TraceSampler::ParentBasedTraceIdRatio(0.25));
        for (name, bad) in [
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
            ("OTEL_TRACES_SAMPLER", "sometimes"),
            ("OTEL_TRACES_SAMPLER_ARG", "2"),
        ] {
            let err =
                from(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c"), (name, bad)]).unwrap_err();
            assert!(err.to_string().contains(name), "{err}");
        }
    }

    #[test]
    fn incoming_traceparent_becomes_the_parent_and_is_passed_on() {
        use tracing_subscriber::layer::SubscriberExt as _;
        let provider = SdkTracerProvider::builder().build();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        tracing::subscriber::with_default(subscriber, || {
            let mut incoming = http::HeaderMap::new();
            incoming.insert(
                TRACEPARENT,
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
                    .parse()
                    .unwrap(),
            );
            let span = tracing::info_span!("request");
            set_remote_parent(&span, &incoming);
            let _entered = span.enter();
            let mut outgoing = http::HeaderMap::new();
            inject(&mut outgoing);
            let value = outgoing[TRACEPARENT].to_str().unwrap().to_owned();
            assert!(
                value.starts_with("00-0af7651916cd43dd8448eb211c80319c-"),
                "{value}"
            );
            assert!(
                !value.contains("b7ad6b7169203331"),
                "a new span id: {value}"
            );
        });
    }
}
