//! The subscriber's calls: span fields recorded, each event rendered and handed to the sinks.

use std::time::SystemTime;

use tracing_core::field::Visit;
use tracing_core::span::{Attributes, Id, Record};
use tracing_core::{Event, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use super::JsonLayer;
use super::callsite::{AccessValue, Callsite, Typed};
use super::scratch::{Scratch, with_scratch};
use super::typed::{SpanFields, write_plain_access};
use super::visitor::{JsonVisitor, only_tracer_fields};
#[cfg(test)]
use super::{DIRECT_ACCESS_LINES, PLAIN_ACCESS_LINES};
use crate::catalogue::fields;
use crate::exchange::offer;
use crate::exchange::offer::AccessLine;
use crate::logging::escape::write_json_str;
use crate::logging::fields::Fields;
use crate::logging::sink::Line;

/// Appends `,` and `segment` to `line` unless a field called `name` is in it already (the
/// first of a name wins, so a line has no duplicate keys).
pub(super) fn push_once(
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
impl JsonLayer {
    /// Whether lines look up their span's trace IDs: asked for, and a tracing integration is
    /// there to know them.
    fn wants_trace_ids(&self) -> bool {
        self.trace_ids && crate::propagation::any()
    }

    /// The trace and span IDs of the span `id`, from the integrations that trace.
    fn trace_ids_of(&self, id: &tracing::span::Id) -> Option<(String, String)> {
        let dispatch = self
            .dispatch
            .get()
            .and_then(tracing::dispatcher::WeakDispatch::upgrade);
        crate::propagation::log_ids(id, dispatch.as_ref())
    }

    /// Hands a rendered line to the sinks in `takers`.
    pub(super) fn write_to_sinks(
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
    pub(super) fn record_span_fields(
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
}

impl<S> tracing_subscriber::Layer<S> for JsonLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_register_dispatch(&self, subscriber: &tracing::Dispatch) {
        let _ = self.dispatch.set(subscriber.downgrade());
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        // One lock for the check and the insert: nothing else sees a span being created.
        let mut extensions = span.extensions_mut();
        let callsite = self.callsite(attrs.metadata());
        if matches!(callsite.typed, Typed::Request(_))
            && let Some(values) = offer::take_request_span()
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
        if let SpanFields::Request { values: typed, .. } = fields
            && values.len() == 1
            && let Some(route) = offer::late_route()
            && span
                .metadata()
                .fields()
                .field(fields::ROUTE)
                .is_some_and(|field| values.contains(&field))
        {
            // The core recording the route the answer named: the typed values take it.
            typed.record_route(route);
            return;
        }
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
        // The access line's values come typed from the core when it offered them for
        // this event; any other event's are visited.
        let access = match &callsite.typed {
            Typed::Access(order) => offer::take_access_line().map(|values| (order, values)),
            _ => None,
        };
        // One instant for the line's timestamp and every sink's copy (Loki's entry time): the
        // access line's is the one the core measured the exchange's end at.
        let since_epoch = match &access {
            Some((_, values)) => values.since_epoch,
            None => crate::clock::since_epoch(),
        };
        let time = SystemTime::UNIX_EPOCH + since_epoch;
        with_scratch(|scratch| {
            scratch.line.clear();
            if let Some((order, values)) = &access
                && !self.wants_trace_ids()
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
            if self.wants_trace_ids()
                && let Some(span) = ctx.event_span(event)
                && let Some((trace_id, span_id)) = self.trace_ids_of(&span.id())
            {
                for (name, value) in [(fields::TRACE_ID, trace_id), (fields::SPAN_ID, span_id)] {
                    push_once(buf, written, name, |out| {
                        write_json_str(out, name);
                        out.push(b':');
                        write_json_str(out, &value);
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

/// The access line's `path`, `status` and `duration_ms` from the core's `values`, in
/// field order, as the visitor renders them.
pub(super) fn write_access_fields(
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
