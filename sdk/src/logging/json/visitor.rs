//! The visitor that renders fields as `"key":value` segments.

use std::fmt::{self, Write as _};

use tracing_core::field::{Field, Visit};
use tracing_core::span::Record;

#[cfg(test)]
use super::VISITS;
use super::callsite::{Callsite, render_key};
use crate::catalogue::fields;
use crate::logging::escape::{write_json_f64, write_json_int, write_json_str};
use crate::logging::fields::Fields;
use crate::logging::is_tracer_field;
use crate::redact::Redactor;

/// Renders fields as `"key":value` segments, hiding the values the redactor names.
pub(super) struct JsonVisitor<'a> {
    pub(super) fields: &'a mut Fields,
    /// Whether a value replaces an earlier one of the same key (`Span::record`), rather than
    /// being a field of a new span or event.
    pub(super) replace: bool,
    pub(super) message: Option<&'a mut String>,
    pub(super) redactor: &'a Redactor,
    pub(super) callsite: &'a Callsite,
    /// Reused for `Debug` and error text before it is escaped.
    pub(super) text: &'a mut String,
}

impl JsonVisitor<'_> {
    pub(super) fn is_sensitive(&self, field: &Field) -> bool {
        match field.index() {
            i if i < 64 => self.callsite.sensitive & (1 << i) != 0,
            _ => self.redactor.is_sensitive(field.name()),
        }
    }

    /// Whether `field` is left out of the line (see [`is_tracer_field`]); checked before a
    /// value is formatted.
    pub(super) fn skips(&self, field: &Field) -> bool {
        match self.callsite.keys.get(field.index()) {
            Some(key) => key.is_empty(),
            None => is_tracer_field(field.name()),
        }
    }

    pub(super) fn put(&mut self, field: &Field, render: impl FnOnce(&mut Vec<u8>)) {
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

    pub(super) fn put_str(&mut self, field: &Field, value: &str) {
        self.put(field, |out| write_json_str(out, value));
    }

    /// Escapes `self.text` as the value of `field`.
    pub(super) fn put_text(&mut self, field: &Field) {
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
/// Whether every field `values` records is one for the tracer (see [`is_tracer_field`]).
pub(super) fn only_tracer_fields(values: &Record<'_>) -> bool {
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
