//! [`JsonLayer`]: one flat JSON object per event.
//!
//! The parts: the layer and its builder (here); what is worked out once per callsite and the
//! cache that finds it (`callsite`); the subscriber's calls, which record span fields and render
//! each event (`render`); lines rendered straight from the core's typed values of the request
//! span and the access line (`typed`); the visitor that renders every other field (`visitor`);
//! and the per-thread buffers reused between lines (`scratch`).

mod callsite;
mod render;
mod scratch;
#[cfg(test)]
mod tests;
mod typed;
mod visitor;

use std::fmt;
use std::sync::{Arc, OnceLock};

use tracing_subscriber::fmt::MakeWriter;

use super::escape::write_json_str;
use super::sink::{LineSink, WriterSink};
use crate::catalogue::fields;
use crate::redact::Redactor;
use crate::slots::Slots;
use callsite::Callsite;

/// Keys the layer writes itself; an event or span field with one of these names is written as
/// `field_<name>` so it can never forge or hide them.
pub(super) const RESERVED: &[&str] = &[
    fields::TIMESTAMP,
    fields::LEVEL,
    fields::MESSAGE,
    fields::TARGET,
    fields::SERVICE,
    fields::ENV,
    fields::VERSION,
];

/// A [`tracing_subscriber::Layer`] that writes each event as one flat JSON object per line.
///
/// The line is rendered once, and the same bytes go to every [`LineSink`] it writes to
/// ([`JsonLayer::also`]): stdout, a file and Loki get identical copies.
pub struct JsonLayer {
    sinks: Vec<Box<dyn LineSink>>,
    /// `,"service":…,"env":…,"version":…`, rendered once.
    static_fields: String,
    redactor: Arc<Redactor>,
    /// What is fixed about each callsite (see [`Callsite`]): field names are static, so the
    /// deny-list is consulted and keys are escaped once per callsite, not once per value.
    /// Keyed by callsite address, so FxHash: SipHash's flooding resistance buys nothing for
    /// keys no client chooses, and this map is read on every line.
    callsites: std::sync::RwLock<
        std::collections::HashMap<
            tracing_core::callsite::Identifier,
            Arc<Callsite>,
            rustc_hash::FxBuildHasher,
        >,
    >,
    /// In front of the map, read without a lock: the callsites a service logs from all the
    /// time take one comparison to find, where the map costs a read lock, a hash probe and a
    /// reference count each time.
    recent: Slots<(tracing_core::callsite::Identifier, Arc<Callsite>)>,
    /// Looks up the trace and span IDs of each line's span, when an integration exports spans
    /// (and this build has one that can).
    trace_ids: bool,
    /// The subscriber the layer belongs to, told when it is registered: trace IDs are read
    /// from its spans.
    dispatch: OnceLock<tracing::dispatcher::WeakDispatch>,
}

impl fmt::Debug for JsonLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JsonLayer")
            .field("sinks", &self.sinks.len())
            .field("static_fields", &self.static_fields)
            .finish_non_exhaustive()
    }
}

impl JsonLayer {
    /// A layer writing through `make_writer` (for example obs-service's
    /// [`BatchWriter`](crate::writer::BatchWriter) or a
    /// [`tracing_appender::non_blocking::NonBlocking`]), with the default [`Redactor`].
    pub fn new<W>(make_writer: W) -> Self
    where
        W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
    {
        Self::for_sink(WriterSink(make_writer))
    }

    /// A layer writing to `sink` alone.
    pub fn for_sink(sink: impl LineSink) -> Self {
        Self::for_sinks(vec![Box::new(sink)])
    }

    /// A layer writing each line to every one of `sinks` (at most 64), in order; with none it
    /// writes nothing.
    ///
    /// # Panics
    ///
    /// With more than 64 sinks: which sinks take a line is kept in one `u64`.
    pub fn for_sinks(sinks: Vec<Box<dyn LineSink>>) -> Self {
        assert!(sinks.len() <= 64, "a JsonLayer writes to at most 64 sinks");
        let mut layer = Self {
            sinks,
            static_fields: String::new(),
            redactor: Arc::new(Redactor::default()),
            callsites: Default::default(),
            recent: Slots::default(),
            trace_ids: true,
            dispatch: OnceLock::new(),
        };
        layer = layer.service("unknown", "development", "0.0.0");
        layer
    }

    /// Also writes every line to `sink`: the same bytes, rendered once.
    ///
    /// # Panics
    ///
    /// Past 64 sinks (see [`JsonLayer::for_sinks`]).
    pub fn also(mut self, sink: impl LineSink) -> Self {
        assert!(
            self.sinks.len() < 64,
            "a JsonLayer writes to at most 64 sinks"
        );
        self.sinks.push(Box::new(sink));
        self
    }

    /// Sets the `service`, `env` and `version` fields written on every line.
    pub fn service(mut self, service: &str, env: &str, version: &str) -> Self {
        let mut out = Vec::new();
        for (key, value) in [
            (fields::SERVICE, service),
            (fields::ENV, env),
            (fields::VERSION, version),
        ] {
            out.push(b',');
            write_json_str(&mut out, key);
            out.push(b':');
            write_json_str(&mut out, value);
        }
        self.static_fields = String::from_utf8(out).expect("JSON escaping yields UTF-8");
        // Cached callsites hold the old values.
        self.callsites = Default::default();
        self.recent = Slots::default();
        self
    }

    /// Whether lines carry the `trace_id` and `span_id` of their span's OpenTelemetry context
    /// (default on; without the `otlp` feature there are none). Finding them costs about half a
    /// microsecond per line even when no tracing-opentelemetry layer is installed, so turn it
    /// off when there is none; `init` does.
    pub fn trace_ids(mut self, enabled: bool) -> Self {
        self.trace_ids = enabled;
        self
    }

    /// Replaces the redactor that decides which field values are hidden.
    pub fn redactor(mut self, redactor: Arc<Redactor>) -> Self {
        self.redactor = redactor;
        self.callsites = Default::default();
        self.recent = Slots::default();
        self
    }
}

#[cfg(test)]
thread_local! {
    /// Fields the visitor has rendered on this thread, for the tests of typed values.
    pub(in crate::logging) static VISITS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    /// Access lines rendered directly from the typed values of the line and its request span.
    pub(super) static DIRECT_ACCESS_LINES: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    /// Of those, the ones [`write_plain_access`] wrote.
    pub(super) static PLAIN_ACCESS_LINES: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}
