//! Continuing a caller's trace in Sentry (feature `sentry`): a browser running `@sentry/nextjs`
//! sends `sentry-trace` and `baggage` (and, with `propagateTraceparent`, W3C `traceparent`), and
//! the request's Sentry events, its transaction and its JSON log lines join that trace.
//!
//! Which trace a request joins, and what `baggage` adds, is decided where the headers are
//! parsed (`headers.rs`).
//!
//! Malformed headers are ignored (the request goes on as if they were absent). Nothing of a
//! header is logged or sent as it came: only the ids parsed from it, rendered anew.

use http::HeaderMap;
use sentry::protocol::TraceId;

use super::headers::{BAGGAGE, Incoming, SENTRY_TRACE, parse_traceparent};
use crate::propagation::{CallerTrace, Propagation, RemoteTrace};
use crate::traceparent::{TRACEPARENT, hex_id, single};

/// The two names as ready `HeaderName`s for the check every request makes: a `&str` name is
/// parsed (and checked for upper case) on each look-up.
const TRACEPARENT_NAME: http::HeaderName = http::HeaderName::from_static(TRACEPARENT);
const SENTRY_TRACE_NAME: http::HeaderName = http::HeaderName::from_static(SENTRY_TRACE);

/// Sentry's part of carrying traces across processes: the request span records the caller's
/// trace for sentry-tracing's transaction (`sentry.trace`) and the log lines (`trace_id`), and
/// names it for a tracer that continues it when no `traceparent` came (OTLP), so the log
/// lines' `trace_id` stays the one Sentry shows.
#[derive(Debug)]
pub(crate) struct SentryPropagation;

impl Propagation for SentryPropagation {
    fn read_caller(&self, headers: &HeaderMap, otel: bool, caller: &mut CallerTrace) {
        // Without a bound Sentry client there is nothing to continue; asking the hub first is
        // cheaper than looking up two header names.
        if !sentry::Hub::with_active(|_| true) {
            return;
        }
        if !headers.contains_key(&TRACEPARENT_NAME) && !headers.contains_key(&SENTRY_TRACE_NAME) {
            return;
        }
        let Some(trace) =
            active_org().and_then(|org| Incoming::from_headers(headers, org.as_deref()))
        else {
            return;
        };
        caller.sentry_trace = Some(trace.header());
        caller.continued = true;
        // With OpenTelemetry on, the tracer writes the log lines' ids itself.
        if !otel {
            caller.trace_id = Some(trace.trace_id_hex());
        }
        // Continued by a tracer only when no valid `traceparent` came: that one it reads itself.
        if single(headers, TRACEPARENT)
            .and_then(parse_traceparent)
            .is_none()
        {
            caller.remote = Some(RemoteTrace {
                trace_id: trace.trace_id,
                parent_span_id: trace.parent_span_id,
                sampled: trace.sampled,
            });
        }
    }

    /// Starts the request's Sentry transaction in the trace the other tracer starts, as if
    /// that tracer's span had called: its id is the transaction's parent.
    fn start_root(&self, otel: bool, caller: &mut CallerTrace) {
        let Some(root) = caller.root else { return };
        if !sentry::Hub::with_active(|_| true) {
            return;
        }
        let trace = Incoming {
            trace_id: root.trace_id,
            parent_span_id: root.span_id,
            sampled: None,
        };
        caller.sentry_trace = Some(trace.header());
        if !otel {
            caller.trace_id = Some(trace.trace_id_hex());
        }
    }

    /// Passes the request's Sentry trace on: `sentry-trace` naming the current Sentry span (or
    /// the request's own span when no transaction is recorded) and `baggage` with the trace's
    /// sampling context. A request that continues no known trace passes none on.
    /// The trace of the request's Sentry transaction, when Sentry records it (sampled).
    fn sampled_trace_id(&self, span: &tracing::Span) -> Option<[u8; 16]> {
        if span.is_none() || !sentry::Hub::with_active(|_| true) {
            return None;
        }
        // sentry-tracing makes the span's transaction the scope's span while it is entered.
        let transaction =
            span.in_scope(|| sentry::Hub::current().configure_scope(|s| s.get_span()))?;
        let (_, header) = transaction.iter_headers().next()?;
        let mut parts = header.split('-');
        let trace_id = parts.next()?;
        (parts.nth(1) == Some("1"))
            .then(|| hex_id::<16>(trace_id))
            .flatten()
    }

    fn inject(&self, headers: &mut HeaderMap) {
        let hub = sentry::Hub::current();
        let Some(client) = hub.client() else { return };
        if headers.contains_key(&SENTRY_TRACE_NAME) {
            return;
        }
        let current = hub.configure_scope(|scope| scope.get_span());
        let (sentry_trace, trace_id, sampled) = match current {
            Some(span) => {
                let context = span.get_trace_context();
                let Some((_, value)) = span.iter_headers().next() else {
                    return;
                };
                // `{trace}-{span}-{1|0}`: the decision the header carries.
                let sampled = value.rsplit('-').next().and_then(|flag| match flag {
                    "1" => Some(true),
                    "0" => Some(false),
                    _ => None,
                });
                (value, context.trace_id.to_string(), sampled)
            }
            None => {
                let Some((trace_id, span_id)) =
                    crate::sentry::events::request_trace(&tracing::Span::current())
                else {
                    return;
                };
                let trace_id = TraceId::from(trace_id).to_string();
                (format!("{trace_id}-{span_id}"), trace_id, None)
            }
        };
        let Ok(value) = http::HeaderValue::from_str(&sentry_trace) else {
            return;
        };
        headers.insert(SENTRY_TRACE_NAME, value);
        let ours = Self::baggage(&client, &trace_id, sampled);
        let baggage = match headers.get(BAGGAGE).and_then(|v| v.to_str().ok()) {
            // Another party's members stay; ours join them unless Sentry's are there already.
            Some(theirs) if theirs.contains("sentry-") => return,
            Some(theirs) => format!("{theirs},{ours}"),
            None => ours,
        };
        if let Ok(value) = http::HeaderValue::from_str(&baggage) {
            headers.insert(BAGGAGE, value);
        }
    }
}

impl SentryPropagation {
    /// Sentry's `baggage` members for `trace_id`: the dynamic sampling context of the trace,
    /// which lets the next service's Sentry SDK make the same sampling decision.
    fn baggage(client: &sentry::Client, trace_id: &str, sampled: Option<bool>) -> String {
        // W3C baggage values are percent-encoded where they hold separators.
        let encode = |value: &str| {
            value
                .bytes()
                .map(|b| match b {
                    b',' | b';' | b'=' | b'%' | b'"' | b'\\' | b' ' | 0..=0x1f | 0x7f.. => {
                        format!("%{b:02X}")
                    }
                    _ => char::from(b).to_string(),
                })
                .collect::<String>()
        };
        let options = client.options();
        let mut members = vec![format!("sentry-trace_id={trace_id}")];
        if let Some(dsn) = client.dsn() {
            members.push(format!("sentry-public_key={}", encode(dsn.public_key())));
            if let Some(org) = dsn.org_id() {
                members.push(format!("sentry-org_id={org}"));
            }
        }
        if let Some(release) = &options.release {
            members.push(format!("sentry-release={}", encode(release)));
        }
        if let Some(environment) = &options.environment {
            members.push(format!("sentry-environment={}", encode(environment)));
        }
        if let Some(sampled) = sampled {
            members.push(format!("sentry-sampled={sampled}"));
        }
        members.join(",")
    }
}

/// `Some(org id of the DSN)` while a Sentry client is bound, `None` when Sentry is off.
fn active_org() -> Option<Option<String>> {
    sentry::Hub::with_active(|hub| {
        hub.client()
            .map(|client| client.dsn().and_then(|d| d.org_id()).map(|o| o.to_string()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_sentry_client_nothing_is_recorded_on_the_span() {
        let mut h = HeaderMap::new();
        h.insert(
            SENTRY_TRACE_NAME,
            http::HeaderValue::from_static("0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331"),
        );
        let mut caller = CallerTrace::default();
        SentryPropagation.read_caller(&h, false, &mut caller);
        assert!(caller.sentry_trace.is_none() && caller.trace_id.is_none());
    }
}
