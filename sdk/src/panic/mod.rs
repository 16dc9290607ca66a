//! Panics as log lines, and (feature `catch-panic`) handler panics as 500s.
//!
//! In a process that called [`init`](crate::init!), a panic anywhere (a handler, a background
//! task, a thread) is written as one JSON line at `ERROR` through the same writer as every
//! other line, instead of the standard library's multi-line text on stderr, which log shippers
//! would cut into unparsed lines:
//!
//! ```json
//! {"timestamp":"…","level":"ERROR","message":"panicked","target":"obs::panic","service":"billing",…,
//!  "panic":"index out of bounds: the len is 3 but the index is 7","location":"src/orders.rs:42:17",
//!  "thread":"tokio-runtime-worker","request_id":"0193…","trace_id":"4bf9…"}
//! ```
//!
//! `request_id` (and `trace_id`, with tracing on) are there when the panic happened while a
//! request was handled. The hook waits (at most half a second) until the line has reached
//! stdout and the log file, so a service built with `panic = "abort"` loses no panic line. An
//! `init` that fails puts the previous hook back. The panic hook that was in place before `init` (a test harness's, your
//! own) still runs after the line is written, and so does Sentry's, which `init` installs
//! after this one; only the standard library's default hook is replaced, and only while the log
//! filter lets the line through (with `OBS_LOG=off` its text is the panic's record again).
//!
//! With the `catch-panic` feature, [`layer`] also answers a panicking handler with a 500 and
//! the error body, so the request is counted and logged like any other; the actix-web
//! middleware (feature `actix`) does the same by itself. The panic stays one line: the layer
//! writes its own only where no hook of `init` wrote one.

#[cfg(feature = "catch-panic")]
mod catch;
mod hook;

#[cfg(feature = "catch-panic")]
#[cfg_attr(docsrs, doc(cfg(feature = "catch-panic")))]
pub use catch::{PanicResponse, layer};
pub(crate) use hook::install_hook;

/// The `target` of the line a panic is written as.
pub const PANIC_LOG_TARGET: &str = "obs::panic";

/// What every adapter does when a handler panicked (tower-http's catch-panic, the actix-web
/// middleware): writes the panic's line where no hook of `init` wrote it, reports it to the
/// completion hooks, and gives the body of the 500 answer, the error JSON without the panic
/// message. Called inside the request's scope, so the line and body carry its `request_id`.
#[cfg(any(feature = "catch-panic", feature = "actix"))]
pub(crate) fn handler_panicked(payload: &(dyn std::any::Any + Send)) -> String {
    use crate::RequestId;
    use crate::error::{ERROR_LOG_TARGET, ErrorKind, error_body};

    let message = panic_message(payload);
    let request_id = RequestId::current();
    let id = request_id
        .as_ref()
        .map(RequestId::as_str)
        .unwrap_or_default();
    // One line per panic: the hook `init` installed wrote it already, with the location.
    if !hook::writes_lines() {
        tracing::error!(
            target: ERROR_LOG_TARGET,
            code = ErrorKind::Internal.code(),
            status = 500u16,
            request_id = id,
            panic = %message,
            "handler panicked"
        );
    }
    crate::completion::panic(&crate::completion::Panic {
        message: &message,
        request_id: id,
    });
    let body = error_body(
        ErrorKind::Internal.code(),
        ErrorKind::Internal.default_message(),
        request_id.as_ref(),
    );
    serde_json::to_string(&body).expect("an error body always serialises")
}

/// The text of a panic payload (`panic!("…")` carries a `&str` or a `String`).
///
/// ```
/// use obs_service::panic::panic_message;
/// assert_eq!(panic_message(&"static"), "static");
/// assert_eq!(panic_message(&42u8), "panic with a non-string payload");
/// ```
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-string payload".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_are_read() {
        assert_eq!(panic_message(&"static"), "static");
        assert_eq!(panic_message(&String::from("owned")), "owned");
        assert_eq!(panic_message(&42u8), "panic with a non-string payload");
    }
}
