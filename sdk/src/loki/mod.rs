//! Log shipping to Grafana Loki (feature `loki`; on at runtime when `LOKI_URL` is set).
//!
//! Every JSON log line the service writes to stdout is also pushed to Loki's
//! `/loki/api/v1/push` as a snappy-compressed protobuf `PushRequest`, in batches, from the
//! exporter's own thread. The line is the same bytes as the stdout copy, rendered once
//! ([`LokiLines`] is one more sink of the JSON layer), and the entry's timestamp is the
//! event's (see [`export`] for the queue, retries, drop counting
//! and the shutdown deadline).
//!
//! - **Labels: `service`, `env` and `level` only** (the catalogue's
//!   [`LokiPlacement::Label`](crate::catalogue::LokiPlacement) fields), so streams stay few.
//! - `request_id` and `trace_id` travel as **structured metadata** (Loki 3), and stay in the
//!   JSON line as well; they are never labels.
//! - `LOKI_TENANT` sets the `X-Scope-OrgID` header of a multi-tenant Loki.
//! - The SDK's own warnings about exporting (target `obs::export`) and anything logged on an
//!   exporter thread are never shipped, so trouble reaching Loki cannot feed on itself.
//!
//! Why not `tracing-loki`: it ships through a task that must be spawned on the service's tokio
//! runtime (so it cannot flush from a guard dropped after the runtime, and stalls with a blocked
//! current-thread runtime), drops events silently when its channel is full (nothing to count),
//! ignores `Retry-After`, and its protobuf (`loki-api` 0.1) predates structured metadata. The
//! shared [`export`] machinery meets all of these; this module only formats.
//!
//! No crate ships Loki's push protobuf with structured metadata, so the sink writes the four
//! messages itself with `prost`'s encoding functions, straight from the queued lines, and the
//! tests check it against the same messages declared with `prost` derive (`proto`), after
//! Loki's `pkg/push/push.proto`.
//!
//! The parts: the configuration, the line sink that queues lines and a layer for hand-built
//! subscribers (here); the
//! sink that encodes and posts batches (`sink`); the derived protobuf messages its tests
//! compare with (`proto`).

#[cfg(test)]
mod proto;
mod sink;

use std::time::SystemTime;

use tracing_core::span::{Attributes, Id, Record};
use tracing_core::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use crate::catalogue::env as vars;
use crate::catalogue::fields;
use crate::config::{ConfigError, Env};
use crate::export::{self, EXPORT_LOG_TARGET, ExportQueue, ExportSettings, ExporterHandle};
use crate::logging::{JsonLayer, Line, LineSink};
use crate::{Config, Metrics};
use sink::LokiSink;

/// The `exporter` label of this exporter's drop counter.
pub const EXPORTER: &str = crate::catalogue::Exporter::Loki.as_str();

/// Path of Loki's push API, appended to `LOKI_URL` unless it already ends with it.
pub const PUSH_PATH: &str = "/loki/api/v1/push";

/// Where and how to push logs.
///
/// ```
/// use obs_service::loki::LokiConfig;
///
/// let loki = LokiConfig::new("http://loki:3100").tenant("team-a");
/// assert_eq!(loki.push_url(), "http://loki:3100/loki/api/v1/push");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct LokiConfig {
    push_url: String,
    tenant: Option<String>,
    export: ExportSettings,
}

impl LokiConfig {
    /// Pushes to `url`: Loki's base URL (`http://loki:3100`) or its full push URL.
    pub fn new(url: impl Into<String>) -> Self {
        let url = url.into();
        let base = url.trim_end_matches('/');
        let push_url = if base.ends_with(PUSH_PATH) {
            base.to_owned()
        } else {
            format!("{base}{PUSH_PATH}")
        };
        Self {
            push_url,
            tenant: None,
            export: ExportSettings {
                queue_capacity: 10_000,
                queue_bytes: Some(QUEUE_BYTES),
                max_batch: 1000,
                ..ExportSettings::default()
            },
        }
    }

    /// Sends `X-Scope-OrgID: tenant` with every push (multi-tenant Loki).
    pub fn tenant(mut self, tenant: impl Into<String>) -> Self {
        self.tenant = Some(tenant.into());
        self
    }

    /// Replaces the queue, batching and retry settings (default: 10 000 lines or 16 MiB
    /// queued, whichever comes first, batches of at most 1000 lines, sent at least every
    /// second).
    pub fn export_settings(mut self, settings: ExportSettings) -> Self {
        self.export = settings;
        self
    }

    /// The URL pushed to.
    pub fn push_url(&self) -> &str {
        &self.push_url
    }

    /// Reads `LOKI_URL` and `LOKI_TENANT`; `None` when `LOKI_URL` is unset.
    pub(crate) fn from_env(env: &Env<'_>) -> Option<Self> {
        let mut config = Self::new(env.get(&vars::LOKI_URL)?);
        if let Some(tenant) = env.get(&vars::LOKI_TENANT) {
            config = config.tenant(tenant);
        }
        Some(config)
    }
}

impl Config {
    /// Ships logs to Loki (what `LOKI_URL` turns on), or stops with `None`.
    pub fn loki(self, loki: impl Into<Option<LokiConfig>>) -> Self {
        self.set_integration(loki.into())
    }
}

/// The Loki integration as the core sees it: the exporter, and its layer until the subscriber
/// takes it.
pub(crate) struct Loki {
    lines: Option<LokiLines>,
    handle: ExporterHandle,
}

impl export::Integration for Loki {
    type Config = LokiConfig;
    type Layer<S>
        = tracing_subscriber::layer::Identity
    where
        S: Subscriber + for<'a> LookupSpan<'a>;
    const EXPORTER: crate::catalogue::Exporter = crate::catalogue::Exporter::Loki;

    fn config_from_env(env: &Env<'_>) -> Result<Option<LokiConfig>, ConfigError> {
        Ok(LokiConfig::from_env(env))
    }

    fn start(
        loki: &LokiConfig,
        config: &Config,
        metrics: &Metrics,
    ) -> Result<Self, crate::InitError> {
        let (lines, handle) = LokiLines::start(loki, config, metrics)?;
        Ok(Self {
            lines: Some(lines),
            handle,
        })
    }

    /// None: the lines come rendered from the core's JSON layer ([`Loki::line_sink`]).
    fn layer<S>(&mut self) -> Option<Self::Layer<S>>
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        None
    }

    fn line_sink(&mut self) -> Option<Box<dyn LineSink>> {
        self.lines
            .take()
            .map(|lines| Box::new(lines) as Box<dyn LineSink>)
    }

    fn handle(&self) -> &ExporterHandle {
        &self.handle
    }

    fn shutdown(&self, deadline: std::time::Instant) {
        self.handle.shutdown(deadline);
    }
}

/// The default bound of the Loki queue in bytes: 10 000 lines of about 1.6 KiB each.
pub const QUEUE_BYTES: usize = 16 * 1024 * 1024;

/// One log line on its way to Loki.
#[derive(Debug, Clone)]
pub(crate) struct LokiEntry {
    time: SystemTime,
    level: Level,
    line: String,
    request_id: Option<String>,
    trace_id: Option<String>,
}

impl LokiEntry {
    /// The bytes it holds, for the queue's byte bound.
    fn weight(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.line.len()
            + self.request_id.as_ref().map_or(0, String::len)
            + self.trace_id.as_ref().map_or(0, String::len)
    }
}

/// The [`LineSink`] that queues each line for Loki: the bytes the core's
/// [`JsonLayer`] rendered for stdout, with the event's own timestamp. [`Config::init`] adds it
/// to that layer when `LOKI_URL` is set, so the stdout and Loki copies of a line are identical
/// and rendered once.
#[derive(Debug, Clone)]
pub struct LokiLines {
    queue: ExportQueue<LokiEntry>,
    request_id: KeyFinder,
    trace_id: KeyFinder,
}

impl LokiLines {
    /// Starts the exporter for `loki`, with the `service` and `env` labels of `config`, and
    /// drops counted in `metrics`. Keep the handle: dropping it flushes and stops the exporter
    /// (within `config`'s shutdown timeout).
    pub fn start(
        loki: &LokiConfig,
        config: &Config,
        metrics: &Metrics,
    ) -> Result<(Self, ExporterHandle), crate::InitError> {
        let static_labels: Vec<(String, String)> = [
            (fields::SERVICE, config.service_name()),
            (fields::ENV, config.environment()),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        let sink_config = loki.clone();
        let (queue, handle) = export::spawn(
            EXPORTER,
            &loki.export,
            config.shutdown_timeout,
            metrics,
            move |settings| LokiSink::new(&sink_config, static_labels, settings),
        )
        .map_err(|reason| crate::InitError::Exporter {
            exporter: EXPORTER,
            reason,
        })?;
        Ok((
            Self {
                queue,
                request_id: KeyFinder::new(fields::REQUEST_ID),
                trace_id: KeyFinder::new(fields::TRACE_ID),
            },
            handle,
        ))
    }
}

impl LineSink for LokiLines {
    /// Everything but the SDK's own warnings about exporting and what exporter threads log:
    /// trouble reaching Loki must not feed on itself.
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        !metadata.target().starts_with(EXPORT_LOG_TARGET) && !export::queue::on_export_thread()
    }

    fn write_line(&self, line: &Line<'_>) {
        let json = line.json();
        if json.is_empty() {
            return;
        }
        self.queue.push(LokiEntry {
            time: line.time(),
            level: *line.metadata().level(),
            request_id: self.request_id.value(json),
            trace_id: self.trace_id.value(json),
            line: json.to_owned(),
        });
    }
}

/// A [`tracing_subscriber::Layer`] that ships each event, formatted exactly like the stdout
/// JSON line, to Loki alone: for a subscriber assembled by hand. Where the service also logs
/// JSON to stdout, add [`LokiLines`] to that [`JsonLayer`] instead (`.also(lines)`), so each
/// line is rendered once; [`Config::init`] does.
#[derive(Debug)]
pub struct LokiLayer {
    json: JsonLayer,
}

impl LokiLayer {
    /// Starts the exporter (see [`LokiLines::start`]) and a JSON layer writing to it with the
    /// `service`, `env`, `version` and redaction of `config`.
    pub fn new(
        loki: &LokiConfig,
        config: &Config,
        metrics: &Metrics,
    ) -> Result<(Self, ExporterHandle), crate::InitError> {
        let (lines, handle) = LokiLines::start(loki, config, metrics)?;
        let json = JsonLayer::for_sink(lines)
            .service(
                config.service_name(),
                config.environment(),
                config.service_version(),
            )
            .redactor(config.redactor.clone());
        Ok((Self { json }, handle))
    }
}

impl<S> tracing_subscriber::Layer<S> for LokiLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        self.json.on_new_span(attrs, id, ctx);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        self.json.on_record(id, values, ctx);
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        self.json.on_event(event, ctx);
    }

    fn on_register_dispatch(&self, subscriber: &tracing::Dispatch) {
        tracing_subscriber::Layer::<S>::on_register_dispatch(&self.json, subscriber);
    }
}

/// Reads a top-level string field of a flat JSON line written by [`JsonLayer`] without parsing
/// the whole line. Inside a JSON string every `"` is escaped, so `,"key":"` can only be a key.
/// The searcher for `,"key":"` is built once: building it for every line (as `str::find`
/// does) cost more than the rest of queueing the line.
#[derive(Debug, Clone)]
struct KeyFinder(memchr::memmem::Finder<'static>);

impl KeyFinder {
    fn new(key: &str) -> Self {
        Self(memchr::memmem::Finder::new(&format!(",\"{key}\":\"")).into_owned())
    }

    fn value(&self, line: &str) -> Option<String> {
        let start = self.0.find(line.as_bytes())? + self.0.needle().len();
        let rest = &line[start..];
        let value = &rest[..rest.find('"')?];
        // Request and trace IDs never need escapes; anything else is left in the line only.
        (!value.contains('\\') && !value.is_empty()).then(|| value.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::sink::escape_label;
    use super::*;

    #[test]
    fn fields_are_read_from_the_line_only_as_keys() {
        let line = r#"{"timestamp":"t","level":"INFO","message":"say \",\"request_id\":\"forged\"","service":"s","request_id":"req-1","trace_id":"0af7651916cd43dd8448eb211c80319c"}"#;
        assert_eq!(
            KeyFinder::new("request_id").value(line).as_deref(),
            Some("req-1")
        );
        assert_eq!(
            KeyFinder::new("trace_id").value(line).as_deref(),
            Some("0af7651916cd43dd8448eb211c80319c")
        );
        assert_eq!(KeyFinder::new("span_id").value(line), None);
        let escaped = r#"{"message":"m","request_id":"a\"b"}"#;
        assert_eq!(KeyFinder::new("request_id").value(escaped), None);
    }

    #[test]
    fn a_malformed_url_fails_at_start() {
        let err = LokiLayer::new(
            &LokiConfig::new("loki:3100"),
            &Config::new("svc"),
            &Metrics::new(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("LOKI_URL"), "{err}");
    }

    #[test]
    fn urls_and_labels() {
        assert_eq!(
            LokiConfig::new("http://l:3100/").push_url(),
            "http://l:3100/loki/api/v1/push"
        );
        assert_eq!(
            LokiConfig::new("http://l:3100/loki/api/v1/push").push_url(),
            "http://l:3100/loki/api/v1/push"
        );
        assert_eq!(escape_label("a\"b\\c"), "a\\\"b\\\\c");
    }
}
