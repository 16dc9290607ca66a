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
//!   [`request_id`](crate::request_id) pass the current context on to outgoing calls. The
//!   pipeline turns this on while it lives; [`propagate`] does for a tracing-opentelemetry
//!   layer of your own.
//! - Every JSON log line written inside a traced span carries `trace_id` and `span_id`.
//! - Finished spans go through the shared [`export`] queue instead of the SDK's
//!   batch span processor, so an outage the queue outlasts loses no span (at most 2048 spans or
//!   [`QUEUE_BYTES`] by default), dropped spans are counted in
//!   `obs_exporter_dropped_total{exporter="otlp", reason}`, a `Retry-After` is honoured and
//!   shutdown keeps its deadline on any runtime (the gRPC client runs on the exporter's own
//!   runtime).
//!
//! Exemplars: the latency histogram is rendered by `metrics-exporter-prometheus` 0.18 in the text
//! format 0.0.4, which has no exemplars; neither its text nor its protobuf rendering fills them
//! and the `metrics` facade cannot attach one, so `http_server_request_duration_seconds` carries
//! none. The `trace_id` in the access-log line links a slow request to its trace.
//!
//! The parts: the configuration and the pipeline the core starts (here); how finished spans
//! travel through the export queue to the collector (`spans`); and W3C trace context
//! (`context`).

pub(crate) mod context;
mod spans;

use std::sync::Arc;
use std::time::{Duration, Instant};

use opentelemetry::KeyValue;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{Sampler, SdkTracer, SdkTracerProvider};
use tracing_subscriber::registry::LookupSpan;

use crate::catalogue::env as vars;
use crate::config::{ConfigError, Env};
use crate::export::{self, ExportSettings, ExporterHandle};
use crate::{Config, Metrics};

pub use crate::propagation::Propagating;
pub use context::inject;
use spans::{OtlpSink, QueueProcessor};

/// Continues W3C trace context in the [`HttpLayer`](crate::HttpLayer) (with
/// [`otel`](crate::HttpLayer::otel) on) and passes it on in outgoing calls, for a service that
/// installs its own `tracing-opentelemetry` layer; an [`OtlpPipeline`] does this itself while it
/// lives. Keep the guard for as long as it should last.
///
/// ```
/// let _w3c = obs_service::otlp::propagate();
/// ```
pub fn propagate() -> Propagating {
    crate::propagation::install(Arc::new(context::W3cPropagation))
}

/// The `exporter` label of this exporter's drop counter.
pub const EXPORTER: &str = crate::catalogue::Exporter::Otlp.as_str();

/// The W3C trace-context header.
pub const TRACEPARENT: &str = "traceparent";

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

/// The default bound of the OTLP span queue in bytes: 2048 spans of about 4 KiB each.
pub const QUEUE_BYTES: usize = 8 * 1024 * 1024;

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
            export: ExportSettings {
                queue_bytes: Some(QUEUE_BYTES),
                ..ExportSettings::default()
            },
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
        let Some(endpoint) = env.get(&vars::OTEL_EXPORTER_OTLP_ENDPOINT) else {
            return Ok(None);
        };
        let mut config = Self::new(endpoint);
        if let Some(protocol) = env.get(&vars::OTEL_EXPORTER_OTLP_PROTOCOL) {
            config.protocol = match protocol.to_ascii_lowercase().as_str() {
                "http/protobuf" => OtlpProtocol::HttpProtobuf,
                "grpc" => OtlpProtocol::Grpc,
                _ => {
                    return Err(ConfigError::InvalidEnv {
                        name: vars::OTEL_EXPORTER_OTLP_PROTOCOL.name,
                        value: protocol,
                        expected: "http/protobuf or grpc",
                    });
                }
            };
        }
        let ratio = match env.get(&vars::OTEL_TRACES_SAMPLER_ARG) {
            None => 1.0,
            Some(arg) => match arg.parse::<f64>() {
                Ok(r) if (0.0..=1.0).contains(&r) => r,
                _ => {
                    return Err(ConfigError::InvalidEnv {
                        name: vars::OTEL_TRACES_SAMPLER_ARG.name,
                        value: arg,
                        expected: "a ratio from 0 to 1",
                    });
                }
            },
        };
        if let Some(sampler) = env.get(&vars::OTEL_TRACES_SAMPLER) {
            config.sampler = match sampler.to_ascii_lowercase().as_str() {
                "always_on" => TraceSampler::AlwaysOn,
                "always_off" => TraceSampler::AlwaysOff,
                "traceidratio" => TraceSampler::TraceIdRatio(ratio),
                "parentbased_always_on" => TraceSampler::ParentBasedAlwaysOn,
                "parentbased_always_off" => TraceSampler::ParentBasedAlwaysOff,
                "parentbased_traceidratio" => TraceSampler::ParentBasedTraceIdRatio(ratio),
                _ => {
                    return Err(ConfigError::InvalidEnv {
                        name: vars::OTEL_TRACES_SAMPLER.name,
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
    pub fn otlp(self, otlp: impl Into<Option<OtlpConfig>>) -> Self {
        self.set_integration(otlp.into())
    }
}

/// The trace pipeline: a tracer provider whose finished spans go to the OTLP exporter.
/// [`Config::init`] builds one when `OTEL_EXPORTER_OTLP_ENDPOINT` is set; build one yourself to
/// compose the subscriber by hand.
#[derive(Debug)]
pub struct OtlpPipeline {
    provider: SdkTracerProvider,
    handle: Arc<ExporterHandle>,
    /// W3C trace context is continued and passed on while the pipeline lives.
    _propagation: Propagating,
}

impl OtlpPipeline {
    /// Starts the exporter for `otlp`, with the service name, version and environment of
    /// `config` as resource attributes and drops counted in `metrics`, and makes W3C trace
    /// context the global propagator; while the pipeline lives, requests continue a caller's
    /// `traceparent` and outgoing calls carry theirs (see [`propagate`]).
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
            .with_id_generator(context::ChosenIds::default())
            .with_resource(resource)
            .build();
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
        Ok(Self {
            provider,
            handle,
            _propagation: propagate(),
        })
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
    const EXPORTER: crate::catalogue::Exporter = crate::catalogue::Exporter::Otlp;
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
}
