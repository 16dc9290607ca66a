//! The `request` span of an exchange.

use tracing::Span;

use super::offer::{self, RequestSpan, RouteField};
use super::route::{RouteTemplate, route_label};
use super::{SPAN_TARGET, Settings};
use crate::RequestId;
use crate::catalogue::fields;
use crate::propagation::CallerTrace;

/// Opens the span of an exchange, with its values on offer to the log layer; without a
/// `route` field while `route_pending` (the router matches after the span opens).
pub(super) fn open(
    settings: &Settings,
    id: &RequestId,
    method: &'static str,
    route: Option<&RouteTemplate>,
    route_pending: bool,
    caller: &CallerTrace,
) -> Span {
    let CallerTrace {
        sentry_trace,
        trace_id,
        ..
    } = caller;
    // `None` records no value: the field stays empty until the answer names the route.
    let route_field = (!route_pending).then(|| route_label(route));
    let open = || {
        if settings.otel {
            // `otel.*` fields are for an OpenTelemetry exporter, and log lines leave them out:
            // the semantic conventions' server span, named `GET /users/{id}` (just the method
            // when no route matched) rather than `request`.
            let (separator, named_route) = match route {
                Some(route) => (" ", route.as_str()),
                None => ("", ""),
            };
            // An RPC span is named after its method alone (`demo.v1.Users/Get`).
            let (method_part, separator) = match settings.statuses.span_name_with_method {
                true => (method, separator),
                false => ("", ""),
            };
            tracing::info_span!(
                target: SPAN_TARGET,
                "request",
                // Displayed, so only a layer that reads the field checks the text.
                request_id = %id,
                method,
                route = route_field,
                otel.name = %format_args!("{method_part}{separator}{named_route}"),
                otel.kind = "server",
                otel.status_code = tracing::field::Empty,
                sentry.trace = sentry_trace.as_deref(),
                trace_id = trace_id.as_deref(),
            )
        } else {
            tracing::info_span!(
                target: SPAN_TARGET,
                "request",
                request_id = %id,
                method,
                route = route_field,
                sentry.trace = sentry_trace.as_deref(),
                trace_id = trace_id.as_deref(),
            )
        }
    };
    // The JSON layer renders the span's fields from these rather than visiting them.
    let values = RequestSpan {
        id: id.clone(),
        method,
        route: route.cloned(),
        route_field: match route_pending {
            true => RouteField::Pending,
            false => RouteField::AtOpen,
        },
        trace_id: trace_id.clone(),
    };
    offer::offering_request_span(values, open)
}

/// Records the span's `route` when the answer named it (`None`: none matched) after the span
/// opened, with the route on offer to the log layer, which keeps rendering from typed values.
pub(super) fn record_route(span: &Span, route: Option<&RouteTemplate>) {
    offer::offering_late_route(route.cloned(), || {
        span.record(fields::ROUTE, route_label(route));
    });
}

/// Records in an OpenTelemetry span what the answer says: failed on a server fault; and, when
/// the route came only with the answer (`late_route`: the route, or `None` for none), its name
/// after the route (behind `method`, when the span name has one), which it opened without.
pub(super) fn record_outcome(
    span: &Span,
    fault: bool,
    method: Option<&'static str>,
    late_route: Option<Option<&RouteTemplate>>,
) {
    if fault {
        span.record("otel.status_code", "error");
    }
    let Some(route) = late_route else { return };
    match (route, method) {
        (Some(route), Some(method)) => {
            span.record("otel.name", format_args!("{method} {}", route.as_str()))
        }
        (Some(route), None) => span.record("otel.name", route.as_str()),
        // Opened without a route, the name is the method alone: right for none.
        (None, _) => span,
    };
}
