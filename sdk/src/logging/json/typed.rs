//! Lines rendered from the core's typed values of the request span and the access line,
//! rather than from visited fields.

use std::sync::Arc;

use super::callsite::{
    AccessValue, Callsite, PLAIN_ACCESS_KEYS, PLAIN_REQUEST_KEYS, RequestValue, Typed,
};
use crate::exchange::offer::{self, AccessLine, RequestSpan, RouteField};
use crate::logging::escape::{
    write_json_int, write_json_millis, write_json_str, write_json_str_unescaped,
};
use crate::logging::fields::Fields;

/// A span's fields, in its extensions: rendered from tracing's values, or the request span's
/// typed values, rendered into each line (into [`Fields`] should one of them be recorded again).
pub(super) enum SpanFields {
    Rendered(Fields),
    Request {
        values: RequestSpan,
        callsite: Arc<Callsite>,
    },
}
impl Callsite {
    pub(super) fn is_sensitive(&self, index: usize) -> bool {
        index < 64 && self.sensitive & (1 << index) != 0
    }

    /// `"key":value` of field `index`, hidden when sensitive, as the visitor renders it.
    pub(super) fn put(&self, out: &mut Vec<u8>, index: usize, render: impl FnOnce(&mut Vec<u8>)) {
        out.extend_from_slice(&self.keys[index]);
        if self.is_sensitive(index) {
            write_json_str(out, crate::redact::REDACTED);
        } else {
            render(out);
        }
    }

    /// The access line's field `which` (field `index`) from `values`.
    pub(super) fn put_access_value(
        &self,
        out: &mut Vec<u8>,
        which: AccessValue,
        index: usize,
        values: &AccessLine,
    ) {
        self.put(out, index, |out| match which {
            AccessValue::Path => offer::with_access_path(|path| write_json_str(out, path)),
            AccessValue::Status => match values.status_name {
                Some(name) => write_json_str(out, name),
                None => write_json_int(out, values.status),
            },
            AccessValue::DurationMs => write_json_millis(out, values.duration_us),
        });
    }

    /// The request span's field `which` (field `index`) from `values`.
    pub(super) fn put_request_value(
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
            RequestValue::Route => write_json_str(out, values.route().unwrap_or_default()),
            RequestValue::TraceId => {
                write_json_str(out, values.trace_id.as_deref().unwrap_or_default())
            }
        });
    }

    /// The request span's fields that `values` has (`trace_id` only with a caller's trace,
    /// `route` only once routed), in field order, but a `route` recorded late last.
    pub(super) fn request_fields<'a>(
        &'a self,
        values: &'a RequestSpan,
    ) -> impl Iterator<Item = (RequestValue, usize, &'static str)> + 'a {
        let order: &[_] = match &self.typed {
            Typed::Request(order) => order,
            _ => &[],
        };
        let recorded = values.route_field == RouteField::Recorded;
        let late_route = order
            .iter()
            .copied()
            .find(|(which, ..)| *which == RequestValue::Route)
            .filter(|_| recorded);
        order
            .iter()
            .copied()
            .filter(|(which, ..)| match which {
                RequestValue::TraceId => values.trace_id.is_some(),
                RequestValue::Route => values.route_field == RouteField::AtOpen,
                RequestValue::Id | RequestValue::Method => true,
            })
            .chain(late_route)
    }
}
/// The access line's fields and its request span's, for callsites whose typed fields are
/// [plain](Callsite::plain): what the per-field writers would write, with the keys as
/// constants the compiler copies inline, where looking each key up by field index and copying
/// it cost a call per field (about 600 instructions a line for the seven fields).
pub(super) fn write_plain_access(line: &mut Vec<u8>, values: &AccessLine, request: &RequestSpan) {
    let [path, status, duration] = PLAIN_ACCESS_KEYS;
    let [id, method, route, trace_id] = PLAIN_REQUEST_KEYS;
    line.extend_from_slice(path);
    offer::with_access_path(|path| write_json_str(line, path));
    line.extend_from_slice(status);
    if let Some(name) = values.status_name {
        write_json_str(line, name);
    } else {
        match values.status {
            // Every status a response can have: three digits, without itoa's buffer and copy.
            code @ 100..=999 => line.extend_from_slice(&[
                b'0' + (code / 100) as u8,
                b'0' + (code / 10 % 10) as u8,
                b'0' + (code % 10) as u8,
            ]),
            code => write_json_int(line, code),
        }
    }
    line.extend_from_slice(duration);
    write_json_millis(line, values.duration_us);
    line.extend_from_slice(id);
    write_json_str_unescaped(line, request.id.header_value().as_bytes());
    line.extend_from_slice(method);
    write_json_str_unescaped(line, request.method.as_bytes());
    let route_value = request.route();
    if request.route_field == RouteField::AtOpen
        && let Some(value) = route_value
    {
        line.extend_from_slice(route);
        write_json_str(line, value);
    }
    if let Some(value) = &request.trace_id {
        line.extend_from_slice(trace_id);
        write_json_str(line, value);
    }
    if request.route_field == RouteField::Recorded
        && let Some(value) = route_value
    {
        line.extend_from_slice(route);
        write_json_str(line, value);
    }
}
