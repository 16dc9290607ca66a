//! JSON log lines with every field at the top level, and what else writes or captures them.
//!
//! tracing-subscriber's stock JSON formatter nests event fields under `fields` and span fields
//! under `spans`, where log pipelines cannot find `request_id`. [`JsonLayer`] writes one flat
//! object per event instead: the fixed fields of the catalogue, then the event's fields, then the
//! fields of every enclosing span (innermost first; a key is written once, the innermost wins).
//!
//! ```
//! use obs_service::logging::{JsonLayer, MemoryWriter};
//! use tracing_subscriber::layer::SubscriberExt;
//!
//! let writer = MemoryWriter::new();
//! let subscriber = tracing_subscriber::registry()
//!     .with(JsonLayer::new(writer.clone()).service("billing", "production", "1.2.3"));
//! tracing::subscriber::with_default(subscriber, || {
//!     let span = tracing::info_span!("request", request_id = "req-1");
//!     let _entered = span.enter();
//!     tracing::info!(user = 42, "charged");
//! });
//! let line = &writer.json_lines()[0];
//! assert_eq!(line["message"], "charged");
//! assert_eq!(line["request_id"], "req-1");
//! assert_eq!(line["user"], 42);
//! assert_eq!(line["service"], "billing");
//! ```
//!
//! - [`JsonLayer`] (`json`): the flat JSON line, built from per-callsite parts and the span
//!   fields it keeps (`fields`), with the string escaping that keeps a value from breaking a
//!   line (`escape`).
//! - [`LineSink`] (`sink`): where the rendered line goes; every sink gets the same bytes.
//!   It renders the lines of the SDK's request span and access line from the values the
//!   transport-neutral core hands over, rather than visiting their fields.
//! - [`RedactingFields`] (`pretty`): the same redaction for the human-readable output.
//! - [`MemoryWriter`] (`memory`): an in-memory writer for tests of what a service logs.

pub(crate) mod escape;
mod fields;
mod json;
mod memory;
mod pretty;
mod sink;

pub use json::JsonLayer;
pub use memory::{MemoryWriter, MemoryWriterGuard};
pub use pretty::RedactingFields;
pub use sink::{Line, LineSink, WriterSink};

/// How many fields the JSON layer has visited on this thread, for tests that check a line was
/// rendered from the core's typed values.
#[cfg(test)]
pub(crate) fn fields_visited() -> usize {
    json::VISITS.with(std::cell::Cell::get)
}

/// Fields that tell tracing-opentelemetry or sentry-tracing how to export a span (`otel.name`,
/// `otel.kind`, `otel.status_code`, `sentry.trace`): instructions to the tracer, not data, so
/// log lines leave them out.
fn is_tracer_field(name: &str) -> bool {
    name.starts_with("otel.") || name.starts_with("sentry.")
}
