//! Trace context across process boundaries: the caller's trace continued by the request span,
//! the current trace passed on to outgoing calls, and the trace IDs of log lines.
//!
//! The integrations that trace (OTLP with W3C `traceparent`, Sentry with `sentry-trace` and
//! `baggage`) install their propagation while they run, and hand out a [`Propagating`] guard
//! for a tracer set up by hand (`otlp::propagate`, `sentry::propagate`); the transport
//! adapters and the outgoing-call helpers ask the installed ones, and never name an
//! integration. With none installed, every question costs one relaxed atomic load.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use http::HeaderMap;

/// What an incoming request's headers say about the trace its caller started, as the request
/// span records it.
#[derive(Debug, Default, Clone)]
pub(crate) struct CallerTrace {
    /// The `sentry.trace` field: the caller's trace as a `sentry-trace` value, for
    /// sentry-tracing's transaction.
    pub(crate) sentry_trace: Option<String>,
    /// The `trace_id` field of the span (32 hex digits), when no tracer writes the log lines'
    /// IDs itself.
    pub(crate) trace_id: Option<String>,
    /// The caller's trace, for a tracer that continues it when no `traceparent` came.
    #[cfg_attr(
        not(feature = "otlp"),
        allow(dead_code, reason = "read by the one tracer that continues it, OTLP")
    )]
    pub(crate) remote: Option<RemoteTrace>,
    /// Whether a tracer continues a trace the caller started (a valid `traceparent`, a
    /// `sentry-trace`).
    pub(crate) continued: bool,
    /// When no caller's trace came and more than one tracer runs: the trace the request starts,
    /// chosen before the span opens so every tracer starts the same one.
    #[cfg_attr(
        not(all(feature = "otlp", feature = "sentry")),
        allow(dead_code, reason = "only two tracers need to agree on a new trace")
    )]
    pub(crate) root: Option<NewRoot>,
}

/// The ids of a trace a request starts: its trace id, and the id of the request's span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NewRoot {
    pub(crate) trace_id: [u8; 16],
    pub(crate) span_id: [u8; 8],
}

impl NewRoot {
    /// Random ids, never all zero (which W3C trace context reserves for "none").
    fn random() -> Self {
        let nonzero = |n: u128| if n == 0 { 1 } else { n };
        let trace_id = nonzero(fastrand::u128(..)).to_be_bytes();
        let span_id = (nonzero(u128::from(fastrand::u64(..))) as u64).to_be_bytes();
        Self { trace_id, span_id }
    }
}

/// A caller's position in a trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RemoteTrace {
    pub(crate) trace_id: [u8; 16],
    pub(crate) parent_span_id: [u8; 8],
    /// The caller's sampling decision, when it made one.
    pub(crate) sampled: Option<bool>,
}

/// What an integration that carries traces across processes implements. Every method does
/// nothing unless overridden.
pub(crate) trait Propagation: Send + Sync + 'static {
    /// Adds to `caller` what `headers` say of the caller's trace. `otel` says whether the span
    /// is exported through OpenTelemetry, which then writes the log lines' trace IDs.
    fn read_caller(&self, headers: &HeaderMap, otel: bool, caller: &mut CallerTrace) {
        let _ = (headers, otel, caller);
    }

    /// Adds to `caller` what this tracer needs of a trace the request starts: called after every
    /// installed propagation read the caller's headers, with `caller.root` set when more than
    /// one runs and no caller's trace came.
    fn start_root(&self, otel: bool, caller: &mut CallerTrace) {
        let _ = (otel, caller);
    }

    /// Makes the just-opened request `span` continue the caller's trace.
    fn continue_trace(&self, span: &tracing::Span, headers: &HeaderMap, caller: &CallerTrace) {
        let _ = (span, headers, caller);
    }

    /// The trace `span` belongs to, if this tracer samples it: the trace id its exemplars carry.
    fn sampled_trace_id(&self, span: &tracing::Span) -> Option<[u8; 16]> {
        let _ = span;
        None
    }

    /// Adds the headers that pass the current span's trace on to an outgoing call.
    fn inject(&self, headers: &mut HeaderMap) {
        let _ = headers;
    }

    /// The trace and span IDs of the span `id` (of the subscriber `dispatch`, or the current
    /// default one), as 32 and 16 lowercase hex digits, for its log lines.
    fn log_ids(
        &self,
        id: &tracing::span::Id,
        dispatch: Option<&tracing::Dispatch>,
    ) -> Option<(String, String)> {
        let _ = (id, dispatch);
        None
    }
}

/// How many are installed: the fast path reads only this.
static INSTALLED: AtomicUsize = AtomicUsize::new(0);
static PROPAGATIONS: RwLock<Vec<(usize, Arc<dyn Propagation>)>> = RwLock::new(Vec::new());
static NEXT_ID: AtomicUsize = AtomicUsize::new(0);

/// Whether any propagation is installed.
pub(crate) fn any() -> bool {
    INSTALLED.load(Ordering::Relaxed) != 0
}

fn each(mut f: impl FnMut(&dyn Propagation)) {
    if !any() {
        return;
    }
    let installed: smallvec::SmallVec<[Arc<dyn Propagation>; 2]> = PROPAGATIONS
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .map(|(_, p)| p.clone())
        .collect();
    for propagation in installed {
        f(&*propagation);
    }
}

/// What the installed propagations read of the caller's trace in `headers`. When none came
/// and more than one tracer runs, the trace the request starts is chosen here, so they all
/// start the same one: one trace id for one request, whichever backend shows it.
pub(crate) fn read_caller(headers: &HeaderMap, otel: bool) -> CallerTrace {
    let mut caller = CallerTrace::default();
    each(|p| p.read_caller(headers, otel, &mut caller));
    if INSTALLED.load(Ordering::Relaxed) > 1 && !caller.continued {
        caller.root = Some(NewRoot::random());
        each(|p| p.start_root(otel, &mut caller));
    }
    caller
}

/// Makes `span` continue the caller's trace, through every installed propagation.
pub(crate) fn continue_trace(span: &tracing::Span, headers: &HeaderMap, caller: &CallerTrace) {
    each(|p| p.continue_trace(span, headers, caller));
}

/// The trace `span` belongs to, when an installed tracer samples it.
pub(crate) fn sampled_trace_id(span: &tracing::Span) -> Option<[u8; 16]> {
    let mut found = None;
    each(|p| {
        if found.is_none() {
            found = p.sampled_trace_id(span);
        }
    });
    found
}

/// Adds the headers of every installed propagation for the current span to `headers`.
pub(crate) fn inject(headers: &mut HeaderMap) {
    each(|p| p.inject(headers));
}

/// The first trace and span IDs an installed propagation knows for the span `id`.
pub(crate) fn log_ids(
    id: &tracing::span::Id,
    dispatch: Option<&tracing::Dispatch>,
) -> Option<(String, String)> {
    let mut ids = None;
    each(|p| {
        if ids.is_none() {
            ids = p.log_ids(id, dispatch);
        }
    });
    ids
}

/// Installs `propagation` until the returned guard is dropped. Installed ones are asked in the
/// order they were installed.
#[cfg_attr(
    not(any(feature = "sentry", feature = "otlp")),
    allow(dead_code, reason = "only the tracing integrations install one")
)]
pub(crate) fn install(propagation: Arc<dyn Propagation>) -> Propagating {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let mut list = PROPAGATIONS.write().unwrap_or_else(|e| e.into_inner());
    list.push((id, propagation));
    INSTALLED.store(list.len(), Ordering::Relaxed);
    Propagating(id)
}

/// Trace context carried across processes while this lives: requests continue their caller's
/// trace and outgoing calls pass theirs on. Dropping it stops that.
#[derive(Debug)]
#[must_use = "dropping it at once stops the propagation"]
pub struct Propagating(usize);

impl Drop for Propagating {
    fn drop(&mut self) {
        let mut list = PROPAGATIONS.write().unwrap_or_else(|e| e.into_inner());
        list.retain(|(id, _)| *id != self.0);
        INSTALLED.store(list.len(), Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Answers every question for one trace.
    struct Fixed;

    impl Propagation for Fixed {
        fn read_caller(&self, headers: &HeaderMap, _otel: bool, caller: &mut CallerTrace) {
            if headers.contains_key("x-test-trace") {
                caller.trace_id = Some("0af7651916cd43dd8448eb211c80319c".into());
            }
        }
        fn inject(&self, headers: &mut HeaderMap) {
            headers.insert("x-test-trace", "1".parse().unwrap());
        }
    }

    #[test]
    fn installed_propagations_answer_until_their_guard_drops() {
        let mut incoming = HeaderMap::new();
        incoming.insert("x-test-trace", "1".parse().unwrap());
        let installed = install(Arc::new(Fixed));
        assert!(read_caller(&incoming, false).trace_id.is_some());
        let mut outgoing = HeaderMap::new();
        inject(&mut outgoing);
        assert!(outgoing.contains_key("x-test-trace"));
        drop(installed);
        // Other tests of this binary may install their own; none of them answers this header.
        assert!(read_caller(&incoming, false).trace_id.is_none());
    }
}
