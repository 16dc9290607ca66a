//! The answers of the health endpoints, and their JSON responses.

use std::collections::BTreeMap;
use std::fmt;

/// The overall status, and the status of one check (`ok` or `down`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Every check passes.
    Ok,
    /// Only non-critical checks fail: the service answers, with reduced function.
    Degraded,
    /// A critical check fails (or, for one check: it fails).
    Down,
}

impl Status {
    /// `ok`, `degraded` or `down`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Degraded => "degraded",
            Status::Down => "down",
        }
    }

    /// The HTTP status of a readiness answer: 200 for `ok` and `degraded`, 503 for `down`.
    pub fn http_status(self) -> ::http::StatusCode {
        match self {
            Status::Ok | Status::Degraded => ::http::StatusCode::OK,
            Status::Down => ::http::StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The result of one check in a [`Report`].
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CheckResult {
    /// `ok` or `down`.
    pub status: Status,
    /// Whether a failure makes the service `down` (otherwise `degraded`).
    pub critical: bool,
    /// How long the check took, in milliseconds (its timeout, when it timed out).
    pub latency_ms: f64,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The readiness answer: the JSON body of `/health/ready`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Report {
    /// `ok`, `degraded` or `down`.
    pub status: Status,
    /// When the checks ran: RFC 3339, UTC, milliseconds.
    pub timestamp: String,
    /// The service version.
    pub version: String,
    /// Whole seconds since the [`Health`] was created (at service start-up).
    pub uptime_seconds: u64,
    /// Every check by name.
    pub checks: BTreeMap<String, CheckResult>,
}

impl Report {
    /// The HTTP status to answer with: 200 for `ok` and `degraded`, 503 for `down`.
    pub fn http_status(&self) -> ::http::StatusCode {
        self.status.http_status()
    }

    /// The report as a JSON HTTP response (never cached by proxies).
    pub fn to_response(&self) -> ::http::Response<String> {
        json_response(self.http_status(), self)
    }
}

/// The liveness answer: the JSON body of `/health/live`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Liveness {
    /// Always `ok`: if the process can answer, it is alive.
    pub status: Status,
    /// Now: RFC 3339, UTC, milliseconds.
    pub timestamp: String,
    /// The service version.
    pub version: String,
    /// Whole seconds since the [`Health`] was created.
    pub uptime_seconds: u64,
}

pub(super) fn json_response<T: serde::Serialize>(
    status: ::http::StatusCode,
    body: &T,
) -> ::http::Response<String> {
    let body = serde_json::to_string(body).expect("health reports always serialise");
    let mut response = ::http::Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        ::http::header::CONTENT_TYPE,
        ::http::HeaderValue::from_static("application/json"),
    );
    headers.insert(
        ::http::header::CACHE_CONTROL,
        ::http::HeaderValue::from_static("no-store"),
    );
    response
}

const TIMESTAMP_FORMAT: &[time::format_description::BorrowedFormatItem<'static>] = time::macros::format_description!(
    "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
);

pub(super) fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(TIMESTAMP_FORMAT)
        .unwrap_or_default()
}
