//! The HTTP layer's own values for the request span and the access line, handed to
//! [`JsonLayer`](super::JsonLayer) beside the tracing fields they also become.
//!
//! Visiting a span's or an event's fields through `tracing`'s `Visit` costs a dynamic call, a
//! copy and an escape check per field, and the request span's fields were then copied again
//! into every line. The HTTP layer already holds them as values (the validated
//! [`RequestId`], a `&'static` method, the shared route template), so it offers them here while
//! it opens the span or writes the access line, and the JSON layer renders the line from them.
//! Every other layer (OpenTelemetry, Sentry, a user's own) still gets the same fields through
//! tracing, and the JSON line is byte for byte the one the fields would give (tested in
//! `json.rs`).
//!
//! The hand-over is a thread-local slot filled right before the span is opened or the event
//! dispatched, on the same thread, and emptied right after: a subscriber without a JSON layer
//! leaves nothing behind, and the JSON layer takes a value only for the callsite it belongs to.

use std::cell::Cell;
use std::thread::LocalKey;

use http::uri::PathAndQuery;

use crate::RequestId;
use crate::layer::Route;

/// The values of the request span's `request_id`, `method`, `route` and `trace_id` fields.
#[derive(Debug, Clone)]
pub(crate) struct RequestSpan {
    pub(crate) id: RequestId,
    /// A method label (see `layer::labels::METHOD_LABELS`): capitals and `_`, which JSON never
    /// escapes.
    pub(crate) method: &'static str,
    /// `None` when no route matched: the span then says [`UNMATCHED_ROUTE`].
    ///
    /// [`UNMATCHED_ROUTE`]: crate::catalogue::UNMATCHED_ROUTE
    pub(crate) route: Option<Route>,
    pub(crate) trace_id: Option<String>,
}

impl RequestSpan {
    pub(super) fn route(&self) -> &str {
        crate::layer::route_label(self.route.as_ref())
    }
}

/// The values of an access line whose span carries the request's identity: `path`, `status`
/// and `duration_ms` (its message is [`ACCESS_MESSAGE`]).
#[derive(Debug, Clone)]
pub(crate) struct AccessLine {
    /// `None` for a URI without a path.
    pub(crate) path: Option<PathAndQuery>,
    pub(crate) status: u16,
    /// The duration in whole microseconds; the field is these over 1 000, in milliseconds.
    pub(crate) duration_us: u64,
    /// When the request ended, since the Unix epoch: the line's timestamp.
    pub(crate) since_epoch: std::time::Duration,
}

impl AccessLine {
    pub(super) fn path(&self) -> &str {
        crate::layer::truncate_path(self.path.as_ref().map_or("", PathAndQuery::path))
    }
}

/// The time since the Unix epoch (zero for a clock set before it), as the access line's and
/// the request ID's times are kept.
pub(crate) fn since_epoch() -> std::time::Duration {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
}

/// Whole microseconds as the milliseconds the access line's `duration_ms` field holds:
/// `0.19` rather than `0.19031199999999998`. One function for the field and the typed value,
/// so the two cannot disagree.
pub(crate) fn millis(micros: u64) -> f64 {
    micros as f64 / 1000.0
}

/// The access line's message, given as a string field rather than a format string: every
/// layer reads either as the message, and a string skips `core::fmt` on every request.
pub(crate) const ACCESS_MESSAGE: &str = "request completed";

thread_local! {
    static REQUEST_SPAN: Cell<Option<RequestSpan>> = const { Cell::new(None) };
    static ACCESS_LINE: Cell<Option<AccessLine>> = const { Cell::new(None) };
}

/// Runs `open`, which opens the request span, with `values` on offer to the JSON layer.
pub(crate) fn offering_request_span<R>(values: RequestSpan, open: impl FnOnce() -> R) -> R {
    offering(&REQUEST_SPAN, values, open)
}

/// Runs `write`, which writes the access line, with `values` on offer to the JSON layer.
pub(crate) fn offering_access_line<R>(values: AccessLine, write: impl FnOnce() -> R) -> R {
    offering(&ACCESS_LINE, values, write)
}

fn offering<T: 'static, R>(
    slot: &'static LocalKey<Cell<Option<T>>>,
    values: T,
    run: impl FnOnce() -> R,
) -> R {
    /// Empties the slot when `run` returns or unwinds (a layer that panics while the span
    /// opens), so no value outlives its offer.
    struct Withdraw<T: 'static>(&'static LocalKey<Cell<Option<T>>>);
    impl<T> Drop for Withdraw<T> {
        fn drop(&mut self) {
            let _ = self.0.try_with(Cell::take);
        }
    }
    // `try_with`: a request handled while the thread's locals are torn down gets the visited
    // fields, not a panic.
    let _ = slot.try_with(|slot| slot.set(Some(values)));
    let _withdraw = Withdraw(slot);
    run()
}

/// The request span's values, if the span being opened on this thread is one the HTTP layer
/// offered them for.
pub(super) fn take_request_span() -> Option<RequestSpan> {
    REQUEST_SPAN.try_with(Cell::take).ok().flatten()
}

/// The access line's values, if the event being written on this thread is one the HTTP layer
/// offered them for.
pub(super) fn take_access_line() -> Option<AccessLine> {
    ACCESS_LINE.try_with(Cell::take).ok().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_offer_ends_with_its_call_even_when_it_panics() {
        let values = || RequestSpan {
            id: RequestId::parse("req-1").unwrap(),
            method: "GET",
            route: None,
            trace_id: None,
        };
        let taken = offering_request_span(values(), take_request_span);
        assert_eq!(taken.unwrap().id.as_str(), "req-1");
        offering_request_span(values(), || ());
        assert!(
            take_request_span().is_none(),
            "an untaken offer outlived its call"
        );
        let panicked = std::panic::catch_unwind(|| {
            offering_request_span(values(), || panic!("a layer panicked"))
        });
        assert!(panicked.is_err());
        assert!(take_request_span().is_none(), "an offer outlived a panic");
        let line = || AccessLine {
            path: None,
            status: 200,
            duration_us: 1000,
            since_epoch: std::time::Duration::ZERO,
        };
        offering_access_line(line(), || ());
        assert!(take_access_line().is_none());
        assert_eq!(
            offering_access_line(line(), take_access_line)
                .unwrap()
                .status,
            200
        );
    }
}
