//! Redacted fields for the human-readable output.

use std::fmt;
use std::sync::Arc;

use tracing_core::field::{Field, Visit};

use super::is_tracer_field;
use crate::catalogue::fields;
use crate::redact::Redactor;

/// Field formatting for the human-readable (`OBS_LOG_FORMAT=pretty`) output, with the same
/// redaction as [`JsonLayer`](super::JsonLayer): `key=value` pairs, sensitive values written as `[REDACTED]`.
///
/// ```
/// use std::sync::Arc;
/// use obs_service::logging::{MemoryWriter, RedactingFields};
/// use obs_service::redact::Redactor;
/// use tracing_subscriber::layer::SubscriberExt;
///
/// let writer = MemoryWriter::new();
/// let layer = tracing_subscriber::fmt::layer()
///     .fmt_fields(RedactingFields::new(Arc::new(Redactor::default())))
///     .with_ansi(false)
///     .with_writer(writer.clone());
/// tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
///     tracing::info!(password = "hunter2", user = "ann", "login");
/// });
/// let out = writer.contents();
/// assert!(out.contains("password=[REDACTED]") && out.contains("user=\"ann\""), "{out}");
/// assert!(!out.contains("hunter2"));
/// ```
#[derive(Debug, Clone)]
pub struct RedactingFields {
    redactor: Arc<Redactor>,
}

impl RedactingFields {
    /// Formats fields, hiding the values `redactor` names.
    pub fn new(redactor: Arc<Redactor>) -> Self {
        Self { redactor }
    }
}

impl<'w> tracing_subscriber::fmt::FormatFields<'w> for RedactingFields {
    fn format_fields<R: tracing_subscriber::field::RecordFields>(
        &self,
        mut writer: tracing_subscriber::fmt::format::Writer<'w>,
        fields: R,
    ) -> fmt::Result {
        let mut visitor = PrettyVisitor {
            writer: &mut writer,
            redactor: &self.redactor,
            first: true,
            result: Ok(()),
        };
        fields.record(&mut visitor);
        visitor.result
    }
}

struct PrettyVisitor<'a, 'w> {
    writer: &'a mut tracing_subscriber::fmt::format::Writer<'w>,
    redactor: &'a Redactor,
    first: bool,
    result: fmt::Result,
}

impl Visit for PrettyVisitor<'_, '_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if self.result.is_err() || is_tracer_field(field.name()) {
            return;
        }
        let separator = if std::mem::take(&mut self.first) {
            ""
        } else {
            " "
        };
        self.result = if field.name() == fields::MESSAGE {
            write!(self.writer, "{separator}{value:?}")
        } else if self.redactor.is_sensitive(field.name()) {
            write!(
                self.writer,
                "{separator}{}={}",
                field.name(),
                crate::redact::REDACTED
            )
        } else {
            write!(self.writer, "{separator}{}={value:?}", field.name())
        };
    }
}
