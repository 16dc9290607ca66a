//! The core's own values for the request span and the access line, offered to a log layer
//! beside the tracing fields they also become.
//!
//! Visiting a span's or an event's fields through `tracing`'s `Visit` costs a dynamic call, a
//! copy and an escape check per field, and the request span's fields were then copied again
//! into every line. The core already holds them as values (the validated [`RequestId`], a
//! `&'static` method label, the shared route template), so it offers them here while it opens
//! the span or writes the access line, and the JSON layer renders the line from them. Every
//! other layer (OpenTelemetry, Sentry, a user's own) still gets the same fields through
//! tracing, and the JSON line is byte for byte the one the fields would give (tested in the
//! JSON layer).
//!
//! The hand-over is a thread-local slot filled right before the span is opened or the event
//! dispatched, on the same thread, and emptied right after: a subscriber without a JSON layer
//! leaves nothing behind, and a layer takes a value only for the callsite it belongs to (see
//! [`is_request_span`] and [`is_access_line`]).

use std::cell::{Cell, RefCell};
use std::thread::LocalKey;
use std::time::Duration;

use tracing_core::Metadata;

use super::route::{RouteTemplate, route_label};
use super::{SPAN_NAME, SPAN_TARGET};
use crate::RequestId;
use crate::catalogue::{self, fields};

/// The values of the request span's `request_id`, `method`, `route` and `trace_id` fields.
#[derive(Debug, Clone)]
pub(crate) struct RequestSpan {
    pub(crate) id: RequestId,
    /// A method label: capitals and `_` (`GET`, `_OTHER`), which JSON never escapes.
    pub(crate) method: &'static str,
    /// `None` when no route matched: the span then says
    /// [`UNMATCHED_ROUTE`](catalogue::UNMATCHED_ROUTE).
    pub(crate) route: Option<RouteTemplate>,
    /// When the span got its `route` field.
    pub(crate) route_field: RouteField,
    pub(crate) trace_id: Option<String>,
}

/// When the request span got its `route` field, which decides where a line shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RouteField {
    /// When it opened: in field order.
    AtOpen,
    /// Not yet: the request was not routed when the span opened, and a line has no `route`.
    Pending,
    /// Recorded after the span opened without one: after the other fields, where a field
    /// recorded late goes.
    Recorded,
}

impl RequestSpan {
    /// The `route` field's value, if the span has one.
    pub(crate) fn route(&self) -> Option<&str> {
        (self.route_field != RouteField::Pending).then(|| route_label(self.route.as_ref()))
    }

    /// Takes `route`, recorded on the span after it opened.
    pub(crate) fn record_route(&mut self, route: Option<RouteTemplate>) {
        self.route = route;
        if self.route_field == RouteField::Pending {
            self.route_field = RouteField::Recorded;
        }
    }
}

/// The values of an access line whose span carries the exchange's identity: `path`, `status`
/// and `duration_ms` (its message is [`ACCESS_MESSAGE`](super::ACCESS_MESSAGE)). The path is offered beside them
/// ([`with_access_path`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct AccessLine {
    pub(crate) status: u16,
    /// The status by name (a gRPC code, `NOT_FOUND`), which the line then shows instead of the
    /// number: capitals and `_`, which JSON never escapes.
    pub(crate) status_name: Option<&'static str>,
    /// The duration in whole microseconds; the field is these over 1 000, in milliseconds.
    pub(crate) duration_us: u64,
    /// When the exchange ended, since the Unix epoch: the line's timestamp.
    pub(crate) since_epoch: Duration,
}

/// Whole microseconds as the milliseconds the access line's `duration_ms` field holds:
/// `0.19` rather than `0.19031199999999998`. One function for the field and the typed value,
/// so the two cannot disagree.
pub(crate) fn millis(micros: u64) -> f64 {
    micros as f64 / 1000.0
}

/// Whether `metadata` is the core's request span, whose values [`take_request_span`] gives.
pub(crate) fn is_request_span(metadata: &Metadata<'_>) -> bool {
    metadata.is_span() && metadata.target() == SPAN_TARGET && metadata.name() == SPAN_NAME
}

/// Whether `metadata` is an access line the core may offer typed values for: an event of the
/// access-log target with exactly the fields `message`, `path`, `status` and `duration_ms`.
pub(crate) fn is_access_line(metadata: &Metadata<'_>) -> bool {
    let set = metadata.fields();
    metadata.is_event()
        && metadata.target() == catalogue::ACCESS_LOG_TARGET
        && set.len() == 4
        && [
            fields::MESSAGE,
            fields::PATH,
            fields::STATUS,
            fields::DURATION_MS,
        ]
        .iter()
        .all(|name| set.field(name).is_some())
}

thread_local! {
    static REQUEST_SPAN: Cell<Option<RequestSpan>> = const { Cell::new(None) };
    static ACCESS_LINE: Cell<Option<AccessLine>> = const { Cell::new(None) };
    /// The offered access line's path, copied into a buffer the thread keeps: an exchange's
    /// path is the adapter's own type, and a copy of a few bytes costs what sharing it did.
    static ACCESS_PATH: RefCell<String> = const { RefCell::new(String::new()) };
    /// The route the request span's `route` is being recorded with (`None`: none matched).
    static LATE_ROUTE: Cell<Option<Option<RouteTemplate>>> = const { Cell::new(None) };
}

/// Runs `open`, which opens the request span, with `values` on offer.
pub(crate) fn offering_request_span<R>(values: RequestSpan, open: impl FnOnce() -> R) -> R {
    offering(&REQUEST_SPAN, values, open)
}

/// Runs `record`, which records the request span's `route` after the span opened, with the
/// route on offer: a layer that renders the span from its typed values keeps them typed.
pub(crate) fn offering_late_route<R>(
    route: Option<RouteTemplate>,
    record: impl FnOnce() -> R,
) -> R {
    offering(&LATE_ROUTE, route, record)
}

/// The route on offer while the request span's `route` is recorded, if one is. Every JSON
/// layer may read it (they share the span's values, and each is asked to record).
pub(crate) fn late_route() -> Option<Option<RouteTemplate>> {
    LATE_ROUTE
        .try_with(|slot| {
            let route = slot.take();
            slot.set(route.clone());
            route
        })
        .ok()
        .flatten()
}

/// Runs `write`, which writes the access line, with `values` and `path` on offer.
pub(crate) fn offering_access_line<R>(
    values: AccessLine,
    path: &str,
    write: impl FnOnce() -> R,
) -> R {
    let _ = ACCESS_PATH.try_with(|buffer| {
        if let Ok(mut buffer) = buffer.try_borrow_mut() {
            buffer.clear();
            buffer.push_str(path);
        }
    });
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
    // `try_with`: an exchange handled while the thread's locals are torn down gets the
    // visited fields, not a panic.
    let _ = slot.try_with(|slot| slot.set(Some(values)));
    let _withdraw = Withdraw(slot);
    run()
}

/// The request span's values, if the span being opened on this thread is one the core
/// offered them for.
pub(crate) fn take_request_span() -> Option<RequestSpan> {
    REQUEST_SPAN.try_with(Cell::take).ok().flatten()
}

/// The access line's values, if the event being written on this thread is one the core
/// offered them for.
pub(crate) fn take_access_line() -> Option<AccessLine> {
    ACCESS_LINE.try_with(Cell::take).ok().flatten()
}

/// Runs `f` with the path of the access line on offer (empty when its buffer is in use).
pub(crate) fn with_access_path<R>(f: impl FnOnce(&str) -> R) -> R {
    let mut f = Some(f);
    let mut out = None;
    let _ = ACCESS_PATH.try_with(|buffer| {
        if let (Ok(path), Some(f)) = (buffer.try_borrow(), f.take()) {
            out = Some(f(&path));
        }
    });
    match (out, f) {
        (Some(out), _) => out,
        (None, Some(f)) => f(""),
        (None, None) => unreachable!("f runs once, and its result is kept"),
    }
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
            route_field: RouteField::AtOpen,
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
        let line = AccessLine {
            status: 200,
            status_name: None,
            duration_us: 1000,
            since_epoch: Duration::ZERO,
        };
        offering_access_line(line, "/users/1", || ());
        assert!(take_access_line().is_none());
        let taken = offering_access_line(line, "/users/2", || {
            (take_access_line(), with_access_path(str::to_owned))
        });
        assert_eq!(taken.0.unwrap().status, 200);
        assert_eq!(taken.1, "/users/2");
    }
}
