//! What the layer works out once per callsite, and the cache that finds it.

use std::sync::Arc;

use tracing_core::Level;

use super::JsonLayer;
use super::RESERVED;
use crate::catalogue::fields;
use crate::exchange::{ACCESS_MESSAGE, offer};
use crate::logging::escape::write_json_str;
use crate::logging::is_tracer_field;
use crate::redact::Redactor;

/// What the layer works out once per callsite: its field names never change, so neither does
/// which of them are sensitive nor how their keys and the line's fixed parts are written.
#[derive(Debug)]
pub(super) struct Callsite {
    /// Bit `i` set: field `i` is sensitive.
    pub(super) sensitive: u64,
    /// `"name":` for every field, by index; a reserved name is written as `field_<name>`, and
    /// a field for the tracer (`otel.*`) is empty: it is not written.
    pub(super) keys: Box<[Box<[u8]>]>,
    /// `","level":"INFO","message":`, the part of an event line between timestamp and message.
    pub(super) level: Box<[u8]>,
    /// `,"target":"…","service":…,"env":…,"version":…`, the part after the message.
    pub(super) target: Box<[u8]>,
    /// For the access line, whose message never changes: `level`, the message and `target`
    /// in one (empty for every other callsite).
    pub(super) access_head: Box<[u8]>,
    /// Whether this is the HTTP layer's request span or access line, whose values it hands
    /// over typed (see [`typed`]).
    pub(super) typed: Typed,
    /// For those two: whether their typed fields are written as [`write_plain_access`](super::typed::write_plain_access) writes
    /// them (keys as named, none hidden), so a line can skip the per-field look-ups.
    pub(super) plain: bool,
}

/// A callsite's record, borrowed from the layer's lock-free slots or shared out of its map.
pub(super) enum CallsiteRef<'a> {
    Recent(&'a Arc<Callsite>),
    Shared(Arc<Callsite>),
}

impl CallsiteRef<'_> {
    pub(super) fn to_arc(&self) -> Arc<Callsite> {
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
pub(super) enum Typed {
    None,
    /// The request span: every field is one of these four or one for the tracer.
    Request([(RequestValue, usize, &'static str); 4]),
    /// The access line of a request whose span carries its identity: exactly `message`, and
    /// these three.
    Access([(AccessValue, usize, &'static str); 3]),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum RequestValue {
    Id,
    Method,
    Route,
    TraceId,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum AccessValue {
    Path,
    Status,
    DurationMs,
}

impl Typed {
    pub(super) fn of(metadata: &'static tracing_core::Metadata<'static>) -> Self {
        let set = metadata.fields();
        if offer::is_request_span(metadata) {
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
        if offer::is_access_line(metadata)
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
/// `,"key":` of the access line's typed fields, in the order [`write_plain_access`](super::typed::write_plain_access) writes
/// them.
pub(super) const PLAIN_ACCESS_KEYS: [&[u8]; 3] =
    [b",\"path\":", b",\"status\":", b",\"duration_ms\":"];
/// Likewise for the request span's.
pub(super) const PLAIN_REQUEST_KEYS: [&[u8]; 4] = [
    b",\"request_id\":",
    b",\"method\":",
    b",\"route\":",
    b",\"trace_id\":",
];

/// `wanted` with each field's index and name, sorted by index (the order the visitor would
/// have stored them in), if `set` has every one.
pub(super) fn in_field_order<K: Copy, const N: usize>(
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
impl Callsite {
    pub(super) fn new(
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
            write_json_str(&mut access_head, ACCESS_MESSAGE);
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
pub(super) fn render_key(name: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(name.len() + 3);
    if RESERVED.contains(&name) {
        write_json_str(&mut out, &format!("field_{name}"));
    } else {
        write_json_str(&mut out, name);
    }
    out.push(b':');
    out
}
pub(super) fn level_str(level: &Level) -> &'static str {
    match *level {
        Level::TRACE => "TRACE",
        Level::DEBUG => "DEBUG",
        Level::INFO => "INFO",
        Level::WARN => "WARN",
        Level::ERROR => "ERROR",
    }
}

impl JsonLayer {
    /// What is fixed about `metadata`'s callsite, worked out on its first line.
    pub(super) fn callsite(
        &self,
        metadata: &'static tracing_core::Metadata<'static>,
    ) -> CallsiteRef<'_> {
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
