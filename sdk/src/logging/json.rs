//! [`JsonLayer`]: one flat JSON object per event.

use std::cell::RefCell;
use std::fmt::{self, Write as _};
use std::sync::Arc;
use std::time::SystemTime;

use tracing_core::field::{Field, Visit};
use tracing_core::span::{Attributes, Id, Record};
use tracing_core::{Event, Level, Subscriber};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use super::escape::{
    write_json_f64, write_json_int, write_json_millis, write_json_str, write_json_str_unescaped,
};
use super::fields::Fields;
use super::is_tracer_field;
use super::sink::{Line, LineSink, WriterSink};
use super::typed::{self, AccessLine, RequestSpan};
use crate::catalogue::fields;
use crate::integration::trace_context::LogIds;
use crate::redact::Redactor;
use crate::slots::Slots;

/// Keys the layer writes itself; an event or span field with one of these names is written as
/// `field_<name>` so it can never forge or hide them.
const RESERVED: &[&str] = &[
    fields::TIMESTAMP,
    fields::LEVEL,
    fields::MESSAGE,
    fields::TARGET,
    fields::SERVICE,
    fields::ENV,
    fields::VERSION,
];

const SECOND_FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");

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
    trace_ids: Option<LogIds>,
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
            trace_ids: LogIds::new(),
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
        self.trace_ids = if enabled { LogIds::new() } else { None };
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

/// What the layer works out once per callsite: its field names never change, so neither does
/// which of them are sensitive nor how their keys and the line's fixed parts are written.
#[derive(Debug)]
struct Callsite {
    /// Bit `i` set: field `i` is sensitive.
    sensitive: u64,
    /// `"name":` for every field, by index; a reserved name is written as `field_<name>`, and
    /// a field for the tracer (`otel.*`) is empty: it is not written.
    keys: Box<[Box<[u8]>]>,
    /// `","level":"INFO","message":`, the part of an event line between timestamp and message.
    level: Box<[u8]>,
    /// `,"target":"…","service":…,"env":…,"version":…`, the part after the message.
    target: Box<[u8]>,
    /// For the access line, whose message never changes: `level`, the message and `target`
    /// in one (empty for every other callsite).
    access_head: Box<[u8]>,
    /// Whether this is the HTTP layer's request span or access line, whose values it hands
    /// over typed (see [`typed`]).
    typed: Typed,
    /// For those two: whether their typed fields are written as [`write_plain_access`] writes
    /// them (keys as named, none hidden), so a line can skip the per-field look-ups.
    plain: bool,
}

/// A callsite's record, borrowed from the layer's lock-free slots or shared out of its map.
enum CallsiteRef<'a> {
    Recent(&'a Arc<Callsite>),
    Shared(Arc<Callsite>),
}

impl CallsiteRef<'_> {
    fn to_arc(&self) -> Arc<Callsite> {
        match self {
            CallsiteRef::Recent(callsite) => Arc::clone(callsite),
            CallsiteRef::Shared(callsite) => callsite.clone(),
        }
    }
}

impl std::ops::Deref for CallsiteRef<'_> {
    type Target = Callsite;

    fn deref(&self) -> &Callsite {
        match self {
            CallsiteRef::Recent(callsite) => callsite,
            CallsiteRef::Shared(callsite) => callsite,
        }
    }
}

/// The callsites whose values the HTTP layer hands over typed (see [`typed`]), with their
/// fields in field order: `(which value, field index, field name)`.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Typed {
    None,
    /// The request span: every field is one of these four or one for the tracer.
    Request([(RequestValue, usize, &'static str); 4]),
    /// The access line of a request whose span carries its identity: exactly `message`, and
    /// these three.
    Access([(AccessValue, usize, &'static str); 3]),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum RequestValue {
    Id,
    Method,
    Route,
    TraceId,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum AccessValue {
    Path,
    Status,
    DurationMs,
}

impl Typed {
    fn of(metadata: &'static tracing_core::Metadata<'static>) -> Self {
        let set = metadata.fields();
        if metadata.is_span()
            && metadata.target() == crate::layer::REQUEST_SPAN_TARGET
            && metadata.name() == crate::layer::REQUEST_SPAN_NAME
        {
            let wanted = [
                (RequestValue::Id, fields::REQUEST_ID),
                (RequestValue::Method, fields::METHOD),
                (RequestValue::Route, fields::ROUTE),
                (RequestValue::TraceId, fields::TRACE_ID),
            ];
            let all_known = set.iter().all(|f| {
                wanted.iter().any(|(_, name)| *name == f.name()) || is_tracer_field(f.name())
            });
            if let (true, Some(order)) = (all_known, in_field_order(set, wanted)) {
                return Typed::Request(order);
            }
        }
        if metadata.is_event()
            && metadata.target() == crate::catalogue::ACCESS_LOG_TARGET
            && set.len() == 4
            && set.field(fields::MESSAGE).is_some()
            && let Some(order) = in_field_order(
                set,
                [
                    (AccessValue::Path, fields::PATH),
                    (AccessValue::Status, fields::STATUS),
                    (AccessValue::DurationMs, fields::DURATION_MS),
                ],
            )
        {
            return Typed::Access(order);
        }
        Typed::None
    }
}

/// Whether every field `values` records is one for the tracer (see [`is_tracer_field`]).
fn only_tracer_fields(values: &Record<'_>) -> bool {
    struct Names(bool);
    impl Visit for Names {
        fn record_debug(&mut self, field: &Field, _: &dyn std::fmt::Debug) {
            self.0 &= is_tracer_field(field.name());
        }
    }
    let mut names = Names(true);
    values.record(&mut names);
    names.0
}

/// `wanted` with each field's index and name, sorted by index (the order the visitor would
/// have stored them in), if `set` has every one.
fn in_field_order<K: Copy, const N: usize>(
    set: &tracing_core::field::FieldSet,
    wanted: [(K, &'static str); N],
) -> Option<[(K, usize, &'static str); N]> {
    let mut found = Vec::with_capacity(N);
    for (kind, name) in wanted {
        let field = set.field(name)?;
        found.push((kind, field.index(), field.name()));
    }
    found.sort_unstable_by_key(|(_, index, _)| *index);
    found.try_into().ok()
}

/// A span's fields, in its extensions: rendered from tracing's values, or the request span's
/// typed values, rendered into each line (into [`Fields`] should one of them be recorded again).
enum SpanFields {
    Rendered(Fields),
    Request {
        values: RequestSpan,
        callsite: Arc<Callsite>,
    },
}

/// Appends `,` and `segment` to `line` unless a field called `name` is in it already (the
/// first of a name wins, so a line has no duplicate keys).
fn push_once(
    line: &mut Vec<u8>,
    written: &mut Vec<&'static str>,
    name: &'static str,
    segment: impl FnOnce(&mut Vec<u8>),
) {
    if !written.contains(&name) {
        line.push(b',');
        segment(line);
        written.push(name);
    }
}

impl Callsite {
    fn is_sensitive(&self, index: usize) -> bool {
        index < 64 && self.sensitive & (1 << index) != 0
    }

    /// `"key":value` of field `index`, hidden when sensitive, as the visitor renders it.
    fn put(&self, out: &mut Vec<u8>, index: usize, render: impl FnOnce(&mut Vec<u8>)) {
        out.extend_from_slice(&self.keys[index]);
        if self.is_sensitive(index) {
            write_json_str(out, crate::redact::REDACTED);
        } else {
            render(out);
        }
    }

    /// The access line's field `which` (field `index`) from `values`.
    fn put_access_value(
        &self,
        out: &mut Vec<u8>,
        which: AccessValue,
        index: usize,
        values: &AccessLine,
    ) {
        self.put(out, index, |out| match which {
            AccessValue::Path => write_json_str(out, values.path()),
            AccessValue::Status => write_json_int(out, values.status),
            AccessValue::DurationMs => write_json_millis(out, values.duration_us),
        });
    }

    /// The request span's field `which` (field `index`) from `values`.
    fn put_request_value(
        &self,
        out: &mut Vec<u8>,
        which: RequestValue,
        index: usize,
        values: &RequestSpan,
    ) {
        self.put(out, index, |out| match which {
            // A `RequestId` holds only letters, digits and `-_.:`, and a method label (`GET`,
            // `_OTHER`: see `layer::labels::METHOD_LABELS`) capitals and `_`: none of them escaped.
            RequestValue::Id => write_json_str_unescaped(out, values.id.header_value().as_bytes()),
            RequestValue::Method => write_json_str_unescaped(out, values.method.as_bytes()),
            RequestValue::Route => write_json_str(out, values.route()),
            RequestValue::TraceId => {
                write_json_str(out, values.trace_id.as_deref().unwrap_or_default())
            }
        });
    }

    /// The request span's fields that `values` has (`trace_id` only with a caller's trace),
    /// in field order.
    fn request_fields<'a>(
        &'a self,
        values: &'a RequestSpan,
    ) -> impl Iterator<Item = (RequestValue, usize, &'static str)> + 'a {
        let order: &[_] = match &self.typed {
            Typed::Request(order) => order,
            _ => &[],
        };
        order
            .iter()
            .copied()
            .filter(|(which, ..)| *which != RequestValue::TraceId || values.trace_id.is_some())
    }
}

impl Callsite {
    fn new(
        metadata: &'static tracing_core::Metadata<'static>,
        layer_fixed: &str,
        redactor: &Redactor,
    ) -> Self {
        let sensitive = metadata
            .fields()
            .iter()
            .filter(|f| f.index() < 64 && redactor.is_sensitive(f.name()))
            .fold(0u64, |mask, f| mask | (1 << f.index()));
        let keys: Box<[Box<[u8]>]> = metadata
            .fields()
            .iter()
            .map(|f| match is_tracer_field(f.name()) {
                true => Box::default(),
                false => render_key(f.name()).into(),
            })
            .collect();
        let mut level = b"\",\"level\":\"".to_vec();
        level.extend_from_slice(level_str(metadata.level()).as_bytes());
        level.extend_from_slice(b"\",\"message\":");
        let mut target = b",\"target\":".to_vec();
        write_json_str(&mut target, metadata.target());
        target.extend_from_slice(layer_fixed.as_bytes());
        let typed = Typed::of(metadata);
        let mut access_head = Vec::new();
        if let Typed::Access(_) = typed {
            access_head.extend_from_slice(&level);
            write_json_str(&mut access_head, typed::ACCESS_MESSAGE);
            access_head.extend_from_slice(&target);
        }
        // Plain when the typed fields, in field order, are the ones the plain writer writes in
        // its order, each keyed by its own name and none hidden.
        let plain_keys = |indices: &[usize], expected: &[&[u8]]| {
            indices.len() == expected.len()
                && indices.iter().zip(expected).all(|(&index, key)| {
                    index < 64 && sensitive & (1 << index) == 0 && keys[index][..] == key[1..]
                })
        };
        let plain = match &typed {
            Typed::Access(order) => {
                plain_keys(&order.map(|(_, index, _)| index), &PLAIN_ACCESS_KEYS)
            }
            Typed::Request(order) => {
                plain_keys(&order.map(|(_, index, _)| index), &PLAIN_REQUEST_KEYS)
            }
            Typed::None => false,
        };
        Self {
            sensitive,
            keys,
            level: level.into(),
            target: target.into(),
            access_head: access_head.into(),
            typed,
            plain,
        }
    }
}

/// `"name":`, or `"field_name":` for a key the layer writes itself.
fn render_key(name: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(name.len() + 3);
    if RESERVED.contains(&name) {
        write_json_str(&mut out, &format!("field_{name}"));
    } else {
        write_json_str(&mut out, name);
    }
    out.push(b':');
    out
}

/// `,"key":` of the access line's typed fields, in the order [`write_plain_access`] writes
/// them.
const PLAIN_ACCESS_KEYS: [&[u8]; 3] = [b",\"path\":", b",\"status\":", b",\"duration_ms\":"];
/// Likewise for the request span's.
const PLAIN_REQUEST_KEYS: [&[u8]; 4] = [
    b",\"request_id\":",
    b",\"method\":",
    b",\"route\":",
    b",\"trace_id\":",
];

/// The access line's fields and its request span's, for callsites whose typed fields are
/// [plain](Callsite::plain): what the per-field writers would write, with the keys as
/// constants the compiler copies inline, where looking each key up by field index and copying
/// it cost a call per field (about 600 instructions a line for the seven fields).
fn write_plain_access(line: &mut Vec<u8>, values: &AccessLine, request: &RequestSpan) {
    let [path, status, duration] = PLAIN_ACCESS_KEYS;
    let [id, method, route, trace_id] = PLAIN_REQUEST_KEYS;
    line.extend_from_slice(path);
    write_json_str(line, values.path());
    line.extend_from_slice(status);
    match values.status {
        // Every status a response can have: three digits, without itoa's buffer and copy.
        code @ 100..=999 => line.extend_from_slice(&[
            b'0' + (code / 100) as u8,
            b'0' + (code / 10 % 10) as u8,
            b'0' + (code % 10) as u8,
        ]),
        code => write_json_int(line, code),
    }
    line.extend_from_slice(duration);
    write_json_millis(line, values.duration_us);
    line.extend_from_slice(id);
    write_json_str_unescaped(line, request.id.header_value().as_bytes());
    line.extend_from_slice(method);
    write_json_str_unescaped(line, request.method.as_bytes());
    line.extend_from_slice(route);
    write_json_str(line, request.route());
    if let Some(value) = &request.trace_id {
        line.extend_from_slice(trace_id);
        write_json_str(line, value);
    }
}

#[cfg(test)]
thread_local! {
    /// Fields the visitor has rendered on this thread, for the tests of typed values.
    static VISITS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    /// Access lines rendered directly from the typed values of the line and its request span.
    static DIRECT_ACCESS_LINES: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    /// Of those, the ones [`write_plain_access`] wrote.
    static PLAIN_ACCESS_LINES: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Renders fields as `"key":value` segments, hiding the values the redactor names.
struct JsonVisitor<'a> {
    fields: &'a mut Fields,
    /// Whether a value replaces an earlier one of the same key (`Span::record`), rather than
    /// being a field of a new span or event.
    replace: bool,
    message: Option<&'a mut String>,
    redactor: &'a Redactor,
    callsite: &'a Callsite,
    /// Reused for `Debug` and error text before it is escaped.
    text: &'a mut String,
}

impl JsonVisitor<'_> {
    fn is_sensitive(&self, field: &Field) -> bool {
        match field.index() {
            i if i < 64 => self.callsite.sensitive & (1 << i) != 0,
            _ => self.redactor.is_sensitive(field.name()),
        }
    }

    /// Whether `field` is left out of the line (see [`is_tracer_field`]); checked before a
    /// value is formatted.
    fn skips(&self, field: &Field) -> bool {
        match self.callsite.keys.get(field.index()) {
            Some(key) => key.is_empty(),
            None => is_tracer_field(field.name()),
        }
    }

    fn put(&mut self, field: &Field, render: impl FnOnce(&mut Vec<u8>)) {
        if self.skips(field) {
            return;
        }
        #[cfg(test)]
        VISITS.with(|visits| visits.set(visits.get() + 1));
        let start = self.fields.arena.len();
        match self.callsite.keys.get(field.index()) {
            Some(key) => self.fields.arena.extend_from_slice(key),
            None => self
                .fields
                .arena
                .extend_from_slice(&render_key(field.name())),
        }
        if self.is_sensitive(field) {
            write_json_str(&mut self.fields.arena, crate::redact::REDACTED);
        } else {
            render(&mut self.fields.arena);
        }
        self.fields.commit(field.name(), start, self.replace);
    }

    fn put_str(&mut self, field: &Field, value: &str) {
        self.put(field, |out| write_json_str(out, value));
    }

    /// Escapes `self.text` as the value of `field`.
    fn put_text(&mut self, field: &Field) {
        let text = std::mem::take(self.text);
        self.put_str(field, &text);
        *self.text = text;
    }
}

impl Visit for JsonVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == fields::MESSAGE
            && let Some(message) = self.message.as_deref_mut()
        {
            message.push_str(value);
            return;
        }
        self.put_str(field, value);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == fields::MESSAGE
            && let Some(message) = self.message.as_deref_mut()
        {
            let _ = write!(message, "{value:?}");
            return;
        }
        if self.skips(field) {
            return;
        }
        self.text.clear();
        let _ = write!(self.text, "{value:?}");
        self.put_text(field);
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        if self.skips(field) {
            return;
        }
        // The whole chain, so the cause is not lost when the error is wrapped.
        self.text.clear();
        let _ = write!(self.text, "{value}");
        let mut source = value.source();
        while let Some(cause) = source {
            let _ = write!(self.text, ": {cause}");
            source = cause.source();
        }
        self.put_text(field);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, |out| write_json_int(out, value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, |out| write_json_int(out, value));
    }

    fn record_i128(&mut self, field: &Field, value: i128) {
        self.put(field, |out| write_json_int(out, value));
    }

    fn record_u128(&mut self, field: &Field, value: u128) {
        self.put(field, |out| write_json_int(out, value));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        if value.is_finite() {
            self.put(field, |out| write_json_f64(out, value));
        } else {
            // JSON has no NaN or infinity; a string keeps the value visible.
            self.put_str(field, &value.to_string());
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, |out| {
            out.extend_from_slice(if value { b"true" } else { b"false" })
        });
    }
}

fn level_str(level: &Level) -> &'static str {
    match *level {
        Level::TRACE => "TRACE",
        Level::DEBUG => "DEBUG",
        Level::INFO => "INFO",
        Level::WARN => "WARN",
        Level::ERROR => "ERROR",
    }
}

/// Per-thread buffers reused between events, so writing a line allocates nothing once they
/// have grown.
#[derive(Default)]
struct Scratch {
    line: Vec<u8>,
    message: String,
    event: Fields,
    written: Vec<&'static str>,
    text: String,
    /// The unix second `second_text` renders (`YYYY-MM-DDTHH:MM:SS`): formatting a date is the
    /// dearest part of a timestamp, and it changes once a second.
    second: Option<u64>,
    second_text: Vec<u8>,
}

impl Scratch {
    /// `now` is the time since the Unix epoch.
    fn write_timestamp(&mut self, now: std::time::Duration) {
        if self.second != Some(now.as_secs()) {
            self.second_text.clear();
            let second = time::OffsetDateTime::from_unix_timestamp(now.as_secs() as i64)
                .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
            let _ = second.format_into(&mut self.second_text, SECOND_FORMAT);
            self.second = Some(now.as_secs());
        }
        self.line.extend_from_slice(&self.second_text);
        let millis = now.subsec_millis();
        self.line.extend_from_slice(&[
            b'.',
            b'0' + (millis / 100) as u8,
            b'0' + (millis / 10 % 10) as u8,
            b'0' + (millis % 10) as u8,
            b'Z',
        ]);
    }
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// The access line's `path`, `status` and `duration_ms` from the HTTP layer's `values`, in
/// field order, as the visitor renders them.
fn write_access_fields(
    line: &mut Vec<u8>,
    written: &mut Vec<&'static str>,
    callsite: &Callsite,
    order: &[(AccessValue, usize, &'static str); 3],
    values: &AccessLine,
) {
    for &(which, index, name) in order {
        push_once(line, written, name, |out| {
            callsite.put_access_value(out, which, index, values)
        });
    }
}

/// Runs `f` with this thread's scratch buffers. A value whose `Debug` logs, or a writer that
/// logs, re-enters the layer while they are in use: such a nested call gets fresh buffers
/// rather than a panic. So does an event logged while the thread's locals are torn down (an
/// exporter handle dropped by another thread-local's destructor): `with` would panic there,
/// and the panic hook, logging that panic, would panic again and abort the process.
fn with_scratch<R>(f: impl FnOnce(&mut Scratch) -> R) -> R {
    let mut f = Some(f);
    let mut run = |scratch: &mut Scratch| (f.take().expect("runs once"))(scratch);
    match SCRATCH.try_with(|cell| match cell.try_borrow_mut() {
        Ok(mut scratch) => run(&mut scratch),
        Err(_) => run(&mut Scratch::default()),
    }) {
        Ok(out) => out,
        Err(_) => run(&mut Scratch::default()),
    }
}

impl JsonLayer {
    /// Hands a rendered line to the sinks in `takers`.
    fn write_to_sinks(
        &self,
        takers: u64,
        bytes: &[u8],
        time: SystemTime,
        metadata: &'static tracing_core::Metadata<'static>,
    ) {
        let line = Line {
            bytes,
            time,
            metadata,
        };
        for (i, sink) in self.sinks.iter().enumerate() {
            if takers & (1 << i) != 0 {
                sink.write_line(&line);
            }
        }
    }

    /// Renders a span's fields (`record` visits them) into `fields`.
    fn record_span_fields(
        &self,
        fields: &mut Fields,
        callsite: &Callsite,
        replace: bool,
        record: impl FnOnce(&mut dyn Visit),
    ) {
        with_scratch(|scratch| {
            record(&mut JsonVisitor {
                fields,
                replace,
                message: None,
                redactor: &self.redactor,
                callsite,
                text: &mut scratch.text,
            });
        });
    }

    /// What is fixed about `metadata`'s callsite, worked out on its first line.
    fn callsite(&self, metadata: &'static tracing_core::Metadata<'static>) -> CallsiteRef<'_> {
        let id = metadata.callsite();
        let slot = self.recent.slot(&id);
        if let Some((cached, callsite)) = slot.get()
            && *cached == id
        {
            return CallsiteRef::Recent(callsite);
        }
        if let Some(callsite) = self
            .callsites
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&id)
        {
            return CallsiteRef::Shared(callsite.clone());
        }
        let callsite = Arc::new(Callsite::new(metadata, &self.static_fields, &self.redactor));
        self.callsites
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.clone(), callsite.clone());
        // The first callsite at a slot keeps it; later ones are found in the map.
        let _ = slot.set((id, callsite.clone()));
        CallsiteRef::Shared(callsite)
    }
}

impl<S> tracing_subscriber::Layer<S> for JsonLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_register_dispatch(&self, subscriber: &tracing::Dispatch) {
        if let Some(ids) = &self.trace_ids {
            ids.register(subscriber);
        }
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        // One lock for the check and the insert: nothing else sees a span being created.
        let mut extensions = span.extensions_mut();
        let callsite = self.callsite(attrs.metadata());
        if matches!(callsite.typed, Typed::Request(_))
            && let Some(values) = typed::take_request_span()
        {
            // The first JSON layer to see the span takes the offer, so no other one has
            // recorded the span yet; `replace` rather than `insert` all the same, which would
            // panic if one had.
            extensions.replace(SpanFields::Request {
                values,
                callsite: callsite.to_arc(),
            });
            return;
        }
        // Several JSON layers (stdout, file, Loki) share one record of the span's fields.
        if extensions.get_mut::<SpanFields>().is_some() {
            return;
        }
        let mut fields = Fields::for_span(attrs.metadata().fields().len());
        self.record_span_fields(&mut fields, &callsite, false, |v| attrs.record(v));
        extensions.insert(SpanFields::Rendered(fields));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut extensions = span.extensions_mut();
        let Some(fields) = extensions.get_mut::<SpanFields>() else {
            return;
        };
        if let SpanFields::Request { .. } = fields
            && only_tracer_fields(values)
        {
            // `otel.status_code` or `otel.name` for the tracer: no line shows them, so the
            // typed values stay as they are.
            return;
        }
        let callsite = self.callsite(span.metadata());
        if let SpanFields::Request { values: typed, .. } = fields {
            // A field recorded again: from here on the span keeps rendered fields, starting
            // from the typed values, as if they had been visited.
            let mut rendered = Fields::for_span(span.metadata().fields().len());
            for (which, index, name) in callsite.request_fields(typed) {
                let start = rendered.arena.len();
                callsite.put_request_value(&mut rendered.arena, which, index, typed);
                rendered.commit(name, start, false);
            }
            *fields = SpanFields::Rendered(rendered);
        }
        if let SpanFields::Rendered(fields) = fields {
            self.record_span_fields(fields, &callsite, true, |v| values.record(v));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let meta = event.metadata();
        // Which sinks take it, asked once; a line no sink takes is not rendered.
        let mut takers = 0u64;
        for (i, sink) in self.sinks.iter().enumerate() {
            if sink.enabled(meta) {
                takers |= 1 << i;
            }
        }
        if takers == 0 {
            return;
        }
        let callsite = self.callsite(meta);
        // The access line's values come typed from the HTTP layer when it offered them for
        // this event; any other event's are visited.
        let access = match &callsite.typed {
            Typed::Access(order) => typed::take_access_line().map(|values| (order, values)),
            _ => None,
        };
        // One instant for the line's timestamp and every sink's copy (Loki's entry time): the
        // access line's is the one the HTTP layer measured the request's end at.
        let since_epoch = match &access {
            Some((_, values)) => values.since_epoch,
            None => typed::since_epoch(),
        };
        let time = SystemTime::UNIX_EPOCH + since_epoch;
        with_scratch(|scratch| {
            scratch.line.clear();
            if let Some((order, values)) = &access
                && self.trace_ids.is_none()
                && let Some(span) = event.parent().and_then(|id| ctx.span(id))
                // The request span and nothing around it: the line has the access fields and
                // the span's, whose names differ, so nothing needs looking up or de-duplicating.
                && span.parent().is_none()
                && let Some(SpanFields::Request {
                    values: request,
                    callsite: span_callsite,
                }) = span.extensions().get::<SpanFields>()
            {
                #[cfg(test)]
                DIRECT_ACCESS_LINES.with(|n| n.set(n.get() + 1));
                scratch.line.extend_from_slice(b"{\"timestamp\":\"");
                scratch.write_timestamp(since_epoch);
                let line = &mut scratch.line;
                line.extend_from_slice(&callsite.access_head);
                if callsite.plain && span_callsite.plain {
                    #[cfg(test)]
                    PLAIN_ACCESS_LINES.with(|n| n.set(n.get() + 1));
                    write_plain_access(line, values, request);
                } else {
                    for &(which, index, _) in *order {
                        line.push(b',');
                        callsite.put_access_value(line, which, index, values);
                    }
                    for (which, index, _) in span_callsite.request_fields(request) {
                        line.push(b',');
                        span_callsite.put_request_value(line, which, index, request);
                    }
                }
                line.extend_from_slice(b"}\n");
                self.write_to_sinks(takers, line, time, meta);
                return;
            }
            scratch.message.clear();
            scratch.event.clear();
            scratch.written.clear();
            if access.is_none() {
                event.record(&mut JsonVisitor {
                    fields: &mut scratch.event,
                    replace: false,
                    message: Some(&mut scratch.message),
                    redactor: &self.redactor,
                    callsite: &callsite,
                    text: &mut scratch.text,
                });
            }

            scratch.line.extend_from_slice(b"{\"timestamp\":\"");
            scratch.write_timestamp(since_epoch);
            let Scratch {
                line: buf,
                message,
                event: event_fields,
                written,
                ..
            } = scratch;
            match access {
                Some(_) => buf.extend_from_slice(&callsite.access_head),
                None => {
                    buf.extend_from_slice(&callsite.level);
                    write_json_str(buf, message);
                    buf.extend_from_slice(&callsite.target);
                }
            }

            // Event fields first, then the spans' from the innermost out; the first of a name
            // wins, so a line has no duplicate keys.
            match &access {
                Some((order, values)) => {
                    write_access_fields(buf, written, &callsite, order, values);
                }
                None => {
                    for (name, segment) in event_fields.iter() {
                        push_once(buf, written, name, |out| out.extend_from_slice(segment));
                    }
                }
            }
            if let Some((trace_id, span_id)) =
                self.trace_ids.as_ref().and_then(|ids| ids.ids(event, &ctx))
            {
                for (name, value) in [(fields::TRACE_ID, trace_id), (fields::SPAN_ID, span_id)] {
                    push_once(buf, written, name, |out| {
                        out.extend_from_slice(format!("\"{name}\":{value}").as_bytes())
                    });
                }
            }
            if let Some(scope) = ctx.event_scope(event) {
                for span in scope {
                    let extensions = span.extensions();
                    match extensions.get::<SpanFields>() {
                        Some(SpanFields::Rendered(fields)) => {
                            for (name, segment) in fields.iter() {
                                push_once(buf, written, name, |out| out.extend_from_slice(segment));
                            }
                        }
                        Some(SpanFields::Request { values, callsite }) => {
                            for (which, index, name) in callsite.request_fields(values) {
                                push_once(buf, written, name, |out| {
                                    callsite.put_request_value(out, which, index, values)
                                });
                            }
                        }
                        None => {}
                    }
                }
            }
            buf.extend_from_slice(b"}\n");
            self.write_to_sinks(takers, buf, time, meta);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logging::{MemoryWriter, RedactingFields};
    use time::format_description::well_known::Rfc3339;
    use tracing_subscriber::layer::SubscriberExt;

    fn capture(f: impl FnOnce()) -> Vec<serde_json::Value> {
        let writer = MemoryWriter::new();
        let subscriber = tracing_subscriber::registry()
            .with(JsonLayer::new(writer.clone()).service("svc", "test", "1.0.0"));
        tracing::subscriber::with_default(subscriber, f);
        writer.json_lines()
    }

    #[test]
    fn fixed_fields_are_present_and_well_formed() {
        let lines = capture(|| tracing::warn!(target: "my::target", "hello {}", 42));
        let line = &lines[0];
        assert_eq!(line["level"], "WARN");
        assert_eq!(line["message"], "hello 42");
        assert_eq!(line["target"], "my::target");
        assert_eq!(line["service"], "svc");
        assert_eq!(line["env"], "test");
        assert_eq!(line["version"], "1.0.0");
        let ts = line["timestamp"].as_str().unwrap();
        // 2026-11-23T04:43:00.123Z: RFC 3339, UTC, milliseconds.
        assert_eq!(ts.len(), 24, "{ts}");
        assert!(ts.ends_with('Z') && ts.as_bytes()[19] == b'.', "{ts}");
        assert!(
            time::OffsetDateTime::parse(ts, &time::format_description::well_known::Rfc3339).is_ok()
        );
    }

    #[test]
    fn more_callsites_than_cache_slots_each_keep_their_own_fields() {
        // 80 callsites for 64 slots: some share a slot, and each must still be rendered with
        // its own keys, found in the map.
        macro_rules! each {
            ($($name:ident)*) => {{ $( tracing::info!($name = 1, "line"); )* [$(stringify!($name)),*] }};
        }
        let mut names = Vec::new();
        let lines = capture(|| {
            for _ in 0..2 {
                names = each!(f0 f1 f2 f3 f4 f5 f6 f7 f8 f9 f10 f11 f12 f13 f14 f15 f16 f17 f18 f19 f20 f21 f22 f23 f24 f25 f26 f27 f28 f29 f30 f31 f32 f33 f34 f35 f36 f37 f38 f39 f40 f41 f42 f43 f44 f45 f46 f47 f48 f49 f50 f51 f52 f53 f54 f55 f56 f57 f58 f59 f60 f61 f62 f63 f64 f65 f66 f67 f68 f69 f70 f71 f72 f73 f74 f75 f76 f77 f78 f79).to_vec();
            }
        });
        assert_eq!(lines.len(), 160);
        for (line, name) in lines.iter().zip(names.iter().cycle()) {
            assert_eq!(line[*name], 1, "{line}");
            let fields = line
                .as_object()
                .unwrap()
                .keys()
                .filter(|k| k.starts_with('f'));
            assert_eq!(fields.count(), 1, "{line}");
        }
    }

    #[test]
    fn span_fields_are_flattened_innermost_first() {
        let lines = capture(|| {
            let outer = tracing::info_span!("outer", request_id = "r1", layer = "outer");
            let _o = outer.enter();
            let inner = tracing::info_span!("inner", layer = "inner", step = tracing::field::Empty);
            let _i = inner.enter();
            inner.record("step", 3);
            tracing::info!(answer = true, "inside");
        });
        let line = &lines[0];
        assert_eq!(line["request_id"], "r1");
        assert_eq!(line["layer"], "inner");
        assert_eq!(line["step"], 3);
        assert_eq!(line["answer"], true);
        assert!(line.get("spans").is_none() && line.get("fields").is_none());
    }

    #[test]
    fn a_callsite_mask_matches_the_redactor() {
        let writer = MemoryWriter::new();
        let layer = JsonLayer::new(writer.clone())
            .redactor(Arc::new(Redactor::default().deny("ssn").allow("token")));
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, || {
            for _ in 0..2 {
                tracing::info!(customer_ssn = "123", token = "t", password = "p", "x");
            }
        });
        for line in writer.json_lines() {
            assert_eq!(line["customer_ssn"], "[REDACTED]");
            assert_eq!(line["password"], "[REDACTED]");
            assert_eq!(line["token"], "t");
        }
    }

    #[test]
    fn fields_for_the_tracer_are_not_logged() {
        let lines = capture(|| {
            let span = tracing::info_span!(
                "request",
                request_id = "r1",
                otel.name = "GET /x",
                otel.kind = "server",
                otel.status_code = tracing::field::Empty
            );
            let _entered = span.enter();
            span.record("otel.status_code", "error");
            tracing::info!(otel.name = "ignored", kept = 1, "inside");
        });
        let line = lines[0].as_object().unwrap();
        assert_eq!(line["request_id"], "r1");
        assert_eq!(line["kept"], 1);
        assert!(line.keys().all(|k| !k.starts_with("otel.")), "{line:?}");

        let writer = MemoryWriter::new();
        let layer = tracing_subscriber::fmt::layer()
            .fmt_fields(RedactingFields::new(Arc::new(Redactor::default())))
            .with_ansi(false)
            .with_writer(writer.clone());
        tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
            let span = tracing::info_span!("request", request_id = "r1", otel.kind = "server");
            let _entered = span.enter();
            tracing::info!("inside");
        });
        let pretty = writer.contents();
        assert!(
            pretty.contains("request_id=") && !pretty.contains("otel."),
            "{pretty}"
        );
    }

    #[test]
    fn values_cannot_break_or_forge_a_line() {
        let evil = "x\"}\n{\"level\":\"ERROR\",\"message\":\"forged\r";
        let writer = MemoryWriter::new();
        let subscriber = tracing_subscriber::registry()
            .with(JsonLayer::new(writer.clone()).service("s", "e", "v"));
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("req", path = evil);
            let _e = span.enter();
            tracing::info!(level = evil, message_extra = evil, "{}", evil);
        });
        let text = writer.contents();
        assert_eq!(text.lines().count(), 1, "{text}");
        let line: serde_json::Value = serde_json::from_str(text.trim_end()).unwrap();
        assert_eq!(line["level"], "INFO");
        assert_eq!(line["message"], evil);
        assert_eq!(line["field_level"], evil);
        assert_eq!(line["path"], evil);
    }

    #[test]
    fn sensitive_fields_are_redacted() {
        let lines = capture(|| {
            let span = tracing::info_span!("req", authorization = "Bearer abc");
            let _e = span.enter();
            tracing::info!(
                password = "hunter2",
                db_password = "x",
                user = "ann",
                "login"
            );
        });
        let line = &lines[0];
        assert_eq!(line["password"], "[REDACTED]");
        assert_eq!(line["db_password"], "[REDACTED]");
        assert_eq!(line["authorization"], "[REDACTED]");
        assert_eq!(line["user"], "ann");
        assert!(!serde_json::to_string(line).unwrap().contains("hunter2"));
    }

    /// A line's bytes and the instant its sink was given.
    type Kept = (Vec<u8>, SystemTime);

    /// Keeps what it is given, and takes only the levels it is told to.
    #[derive(Clone, Default)]
    struct Keep {
        lines: Arc<std::sync::Mutex<Vec<Kept>>>,
        max: Option<Level>,
    }

    impl LineSink for Keep {
        fn enabled(&self, metadata: &tracing_core::Metadata<'_>) -> bool {
            self.max.is_none_or(|max| *metadata.level() <= max)
        }

        fn write_line(&self, line: &Line<'_>) {
            let copy = (line.bytes().to_vec(), line.time());
            self.lines.lock().unwrap().push(copy);
        }
    }

    #[test]
    fn every_sink_gets_the_same_bytes_and_instant() {
        let all = Keep::default();
        let errors = Keep {
            max: Some(Level::ERROR),
            ..Keep::default()
        };
        let layer = JsonLayer::for_sink(all.clone()).also(errors.clone());
        tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
            let span = tracing::info_span!("req", request_id = "r-1");
            let _e = span.enter();
            tracing::info!("fine");
            tracing::error!(code = 7, "broken");
        });
        let all = all.lines.lock().unwrap();
        let errors = errors.lines.lock().unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0], all[1]);
        let line: serde_json::Value = serde_json::from_slice(&errors[0].0).unwrap();
        assert_eq!(line["request_id"], "r-1");
        // The timestamp field shows the instant the sinks were given.
        let millis = errors[0]
            .1
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        let shown =
            time::OffsetDateTime::parse(line["timestamp"].as_str().unwrap(), &Rfc3339).unwrap();
        assert_eq!((shown.unix_timestamp_nanos() / 1_000_000) as i64, millis);
    }

    #[test]
    fn a_line_no_sink_takes_is_not_rendered() {
        struct Counted(Arc<std::sync::atomic::AtomicUsize>);
        impl fmt::Debug for Counted {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                f.write_str("counted")
            }
        }
        let renders = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let errors = Keep {
            max: Some(Level::ERROR),
            ..Keep::default()
        };
        let layer = JsonLayer::for_sink(errors.clone());
        tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
            tracing::info!(value = ?Counted(renders.clone()), "skipped");
            tracing::error!(value = ?Counted(renders.clone()), "kept");
        });
        assert_eq!(renders.load(std::sync::atomic::Ordering::Relaxed), 1);
        assert_eq!(errors.lines.lock().unwrap().len(), 1);
    }

    #[test]
    fn errors_keep_their_chain() {
        #[derive(Debug)]
        struct Outer(std::io::Error);
        impl fmt::Display for Outer {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("query failed")
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let err = Outer(std::io::Error::other("connection reset"));
        let lines = capture(|| tracing::error!(error = &err as &dyn std::error::Error, "boom"));
        assert_eq!(lines[0]["error"], "query failed: connection reset");
    }

    /// What the request span and the access line look like to the JSON layer: the callsite
    /// shapes of `HttpService`, with the typed values offered or not; inside an outer span
    /// with trace IDs looked up, or alone without (as `init` sets the layer up), where the
    /// access line is rendered directly.
    fn request_lines(
        redactor: Redactor,
        values: &RequestSpan,
        access: &AccessLine,
        offer: bool,
        record_route_again: bool,
        outer_span: bool,
    ) -> Vec<String> {
        let writer = MemoryWriter::new();
        let layer = JsonLayer::new(writer.clone())
            .service("svc", "test", "1.0.0")
            .trace_ids(outer_span)
            .redactor(Arc::new(redactor));
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, || {
            let outer = match outer_span {
                true => tracing::info_span!("connection", peer = "10.0.0.1", route = "outer"),
                false => tracing::Span::none(),
            };
            let _outer = outer.enter();
            let open = || {
                tracing::info_span!(
                    target: crate::layer::REQUEST_SPAN_TARGET,
                    "request",
                    request_id = %values.id,
                    method = values.method,
                    route = values.route(),
                    otel.status_code = tracing::field::Empty,
                    sentry.trace = tracing::field::Empty,
                    trace_id = values.trace_id.as_deref(),
                )
            };
            let visits = VISITS.with(std::cell::Cell::get);
            let span = match offer {
                true => typed::offering_request_span(values.clone(), open),
                false => open(),
            };
            // Offered, the values are taken and no field is visited.
            assert_eq!(VISITS.with(std::cell::Cell::get) == visits, offer);
            {
                let _entered = span.enter();
                tracing::info!(user = 7, "inside");
                span.record("otel.status_code", "error");
                if record_route_again {
                    span.record("route", "/again/{x}");
                }
                tracing::warn!(request_id = "forged", "inside again");
            }
            let write = || {
                tracing::event!(
                    target: crate::catalogue::ACCESS_LOG_TARGET,
                    parent: &span,
                    tracing::Level::INFO,
                    { fields::PATH } = access.path(),
                    { fields::STATUS } = access.status,
                    { fields::DURATION_MS } = typed::millis(access.duration_us),
                    { fields::MESSAGE } = typed::ACCESS_MESSAGE
                )
            };
            match offer {
                true => typed::offering_access_line(access.clone(), write),
                false => write(),
            }
        });
        let lines = writer.json_lines();
        if offer {
            // The typed access line is stamped with the end the HTTP layer measured.
            let stamp = time::OffsetDateTime::parse(
                lines.last().unwrap()["timestamp"].as_str().unwrap(),
                &Rfc3339,
            )
            .unwrap();
            assert_eq!(
                stamp.unix_timestamp_nanos() / 1_000_000,
                access.since_epoch.as_millis() as i128
            );
        }
        // Everything but the timestamp, which may tick between the two runs.
        lines
            .into_iter()
            .map(|mut line| {
                line.as_object_mut().unwrap().remove("timestamp");
                line.to_string()
            })
            .collect()
    }

    #[test]
    fn typed_request_values_render_the_lines_their_fields_would() {
        let id = |s: &str| crate::RequestId::parse(s).unwrap();
        let route = |s: &str| Some(crate::layer::Route::Template(crate::RouteTemplate::new(s)));
        let requests = [
            (id("req-1"), "GET", route("/users/{id}"), None),
            (
                id("a:b.c_d-9"),
                "POST",
                None,
                Some("4bf92f3577b34da6a3ce929d0e0e4736".to_owned()),
            ),
            (
                id("x"),
                "_OTHER",
                route("/we\"ird/\\{id}\n"),
                Some("t".to_owned()),
            ),
        ];
        let accesses = [
            AccessLine {
                path: Some(http::uri::PathAndQuery::from_static("/users/42?q=1")),
                status: 200,
                duration_us: 106,
                since_epoch: std::time::Duration::new(1_764_547_200, 123_456_789),
            },
            AccessLine {
                path: None,
                status: 503,
                duration_us: 12_345_500,
                since_epoch: std::time::Duration::new(1_764_547_201, 999_999_999),
            },
            AccessLine {
                path: Some(http::uri::PathAndQuery::from_static("/a%22b")),
                status: 404,
                duration_us: 0,
                since_epoch: std::time::Duration::new(1_764_547_202, 0),
            },
            AccessLine {
                path: Some(http::uri::PathAndQuery::from_static("/long")),
                status: 200,
                duration_us: 86_400_000_123,
                since_epoch: std::time::Duration::new(1_764_547_203, 5_000_000),
            },
        ];
        let redactors = [
            Redactor::default(),
            Redactor::default()
                .deny("route")
                .deny("path")
                .deny("status"),
            Redactor::default().deny("request_id").deny("duration_ms"),
        ];
        let mut compared = 0;
        for (id, method, route, trace_id) in &requests {
            let values = RequestSpan {
                id: id.clone(),
                method,
                route: route.clone(),
                trace_id: trace_id.clone(),
            };
            for access in &accesses {
                for (hides, redactor) in redactors.iter().enumerate() {
                    for (again, outer) in
                        [(false, true), (true, true), (false, false), (true, false)]
                    {
                        let direct = DIRECT_ACCESS_LINES.with(std::cell::Cell::get);
                        let plain = PLAIN_ACCESS_LINES.with(std::cell::Cell::get);
                        let typed =
                            request_lines(redactor.clone(), &values, access, true, again, outer);
                        // Directly exactly when the span kept its typed values and is alone,
                        // and with the constant keys when no typed field is hidden.
                        assert_eq!(
                            DIRECT_ACCESS_LINES.with(std::cell::Cell::get) - direct,
                            usize::from(!again && !outer)
                        );
                        assert_eq!(
                            PLAIN_ACCESS_LINES.with(std::cell::Cell::get) - plain,
                            usize::from(!again && !outer && hides == 0)
                        );
                        let visited =
                            request_lines(redactor.clone(), &values, access, false, again, outer);
                        assert_eq!(typed.len(), 3);
                        assert_eq!(typed, visited, "{values:?} {access:?} {redactor:?}");
                        compared += 1;
                    }
                }
            }
        }
        assert_eq!(compared, 144);
    }

    #[test]
    fn typed_values_are_taken_only_by_their_callsites() {
        let values = RequestSpan {
            id: crate::RequestId::parse("req-typed").unwrap(),
            method: "GET",
            route: None,
            trace_id: None,
        };
        let lines = capture(|| {
            // Offered while some other span is opened: it renders its own fields, and the
            // offer is gone afterwards.
            let other = typed::offering_request_span(values.clone(), || {
                tracing::info_span!("request", request_id = "req-visited")
            });
            let _entered = other.enter();
            tracing::info!("in other");
            // An access-line offer an ordinary event does not take.
            typed::offering_access_line(
                AccessLine {
                    path: None,
                    status: 500,
                    duration_us: 1000,
                    since_epoch: std::time::Duration::ZERO,
                },
                || tracing::info!(status = 201, "not the access line"),
            );
        });
        assert_eq!(lines[0]["request_id"], "req-visited");
        assert_eq!(lines[1]["status"], 201);
        assert!(typed::take_request_span().is_none() && typed::take_access_line().is_none());
    }

    #[test]
    #[cfg(feature = "axum")]
    fn the_http_layers_span_and_access_line_are_rendered_from_typed_values() {
        // The shapes the tests above copy are the ones `HttpService` opens and writes: a
        // request through the layer renders its line without visiting a single field.
        use tower::ServiceExt as _;
        let metrics = crate::Metrics::new();
        let writer = MemoryWriter::new();
        let subscriber = tracing_subscriber::registry().with(JsonLayer::new(writer.clone()));
        let _default = tracing::subscriber::set_default(subscriber);
        let app = axum::Router::new()
            .route("/users/{id}", axum::routing::get(|| async { "ok" }))
            .layer(crate::HttpLayer::new(&metrics));
        let visits_before = VISITS.with(std::cell::Cell::get);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(async {
            let response = app
                .oneshot(
                    http::Request::builder()
                        .uri("/users/42?q=1")
                        .header("x-request-id", "req-layer")
                        .body(axum::body::Body::empty())
                        .unwrap(),
                )
                .await
                .unwrap();
            http_body_util::BodyExt::collect(response.into_body())
                .await
                .unwrap();
        });
        assert_eq!(
            VISITS.with(std::cell::Cell::get),
            visits_before,
            "a field of the request span or the access line was visited"
        );
        let lines = writer.json_lines();
        assert_eq!(lines.len(), 1, "{lines:?}");
        for (key, value) in [
            ("request_id", "req-layer"),
            ("method", "GET"),
            ("route", "/users/{id}"),
            ("path", "/users/42"),
            ("message", "request completed"),
        ] {
            assert_eq!(lines[0][key], value, "{key}");
        }
        assert_eq!(lines[0]["status"], 200);
        assert!(lines[0]["duration_ms"].as_f64().unwrap() >= 0.0);
    }
}
