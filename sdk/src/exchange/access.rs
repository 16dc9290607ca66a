//! The access line: one line per exchange, written when it ends.

use std::time::Duration;

use tracing::{Level, Span};

use super::ACCESS_MESSAGE;
use super::offer::{self, AccessLine};
use crate::RequestId;
use crate::catalogue::{self, fields};

/// Longest path written to the access line; longer paths are cut (the route template is what
/// matters, the path is only a hint).
const MAX_LOGGED_PATH: usize = 512;

/// `path` cut to at most [`MAX_LOGGED_PATH`] bytes at a character boundary, for log lines.
pub(crate) fn truncate_path(path: &str) -> &str {
    if path.len() <= MAX_LOGGED_PATH {
        return path;
    }
    let mut end = MAX_LOGGED_PATH;
    while !path.is_char_boundary(end) {
        end -= 1;
    }
    &path[..end]
}

/// What an access line says.
pub(super) struct Line<'a> {
    /// The exchange's span, which carries its identity and its route unless disabled.
    pub(super) span: &'a Span,
    pub(super) id: &'a RequestId,
    pub(super) method: &'static str,
    pub(super) route: &'a str,
    pub(super) path: &'a str,
    pub(super) status: u16,
    /// The status by name (a gRPC code), when the adapter's statuses have names.
    pub(super) status_name: Option<&'static str>,
    pub(super) elapsed: Duration,
    /// When the exchange ended, since the Unix epoch.
    pub(super) since_epoch: Duration,
}

macro_rules! access_event {
    ($level:expr, parent: $parent:expr, $($rest:tt)*) => {
        match $level {
            Level::ERROR => tracing::event!(target: catalogue::ACCESS_LOG_TARGET, parent: $parent, Level::ERROR, $($rest)*),
            Level::WARN => tracing::event!(target: catalogue::ACCESS_LOG_TARGET, parent: $parent, Level::WARN, $($rest)*),
            Level::INFO => tracing::event!(target: catalogue::ACCESS_LOG_TARGET, parent: $parent, Level::INFO, $($rest)*),
            Level::DEBUG => tracing::event!(target: catalogue::ACCESS_LOG_TARGET, parent: $parent, Level::DEBUG, $($rest)*),
            Level::TRACE => tracing::event!(target: catalogue::ACCESS_LOG_TARGET, parent: $parent, Level::TRACE, $($rest)*),
        }
    };
}

/// Writes `line` at `level`.
pub(super) fn write(level: Level, line: &Line<'_>) {
    let path = truncate_path(line.path);
    // Whole microseconds (a u64 holds 584 000 years of them).
    let duration_us = u64::try_from(line.elapsed.as_micros()).unwrap_or(u64::MAX);
    let duration_ms = offer::millis(duration_us);
    if line.span.is_disabled() {
        // No span to carry the exchange's identity: the line says it all itself.
        match line.status_name {
            Some(status) => access_event!(
                level,
                parent: line.span,
                { fields::METHOD } = line.method,
                { fields::ROUTE } = line.route,
                { fields::PATH } = path,
                { fields::STATUS } = status,
                { fields::DURATION_MS } = duration_ms,
                { fields::REQUEST_ID } = line.id.as_str(),
                { fields::MESSAGE } = ACCESS_MESSAGE
            ),
            None => access_event!(
                level,
                parent: line.span,
                { fields::METHOD } = line.method,
                { fields::ROUTE } = line.route,
                { fields::PATH } = path,
                { fields::STATUS } = line.status,
                { fields::DURATION_MS } = duration_ms,
                { fields::REQUEST_ID } = line.id.as_str(),
                { fields::MESSAGE } = ACCESS_MESSAGE
            ),
        }
    } else {
        // The span already holds `request_id`, `method` and `route`, and every line inside it
        // gets them; rendering them a second time would only be thrown away. An explicit
        // parent also spares entering and leaving the span. The JSON layer renders the line
        // from the typed values rather than visiting the fields; a named status (a gRPC code)
        // is a field of its own callsite, a string where HTTP's is a number.
        let values = AccessLine {
            status: line.status,
            status_name: line.status_name,
            duration_us,
            since_epoch: line.since_epoch,
        };
        offer::offering_access_line(values, path, || match line.status_name {
            Some(status) => access_event!(
                level,
                parent: line.span,
                { fields::PATH } = path,
                { fields::STATUS } = status,
                { fields::DURATION_MS } = duration_ms,
                { fields::MESSAGE } = ACCESS_MESSAGE
            ),
            None => access_event!(
                level,
                parent: line.span,
                { fields::PATH } = path,
                { fields::STATUS } = line.status,
                { fields::DURATION_MS } = duration_ms,
                { fields::MESSAGE } = ACCESS_MESSAGE
            ),
        });
    }
}
