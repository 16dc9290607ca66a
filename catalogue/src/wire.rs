//! The JSON shapes of the SDK's answers that other programs read: the health report of
//! `/health/ready` (and `/health`), the liveness answer of `/health/live`, and the error body
//! of every failed request. The SDK serialises these types; `obs-gen doctor` deserialises a
//! running service's answers into them, so a field renamed on one side fails on the other.
//!
//! With the `serde` feature the types implement `Serialize` and `Deserialize`:
//!
//! ```
//! # #[cfg(feature = "serde")] {
//! use obs_catalogue::wire::{ErrorBody, HealthStatus};
//!
//! let body: ErrorBody = serde_json::from_str(
//!     r#"{"error":{"code":"not_found","message":"no user 42","request_id":"r-1"}}"#,
//! ).unwrap();
//! assert_eq!(body.error.code, "not_found");
//! assert_eq!(HealthStatus::Down.as_str(), "down");
//! # }
//! ```

use core::fmt;
use std::collections::BTreeMap;

/// The overall status of a service, and the status of one check (`ok` or `down`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
pub enum HealthStatus {
    /// Every check passes.
    Ok,
    /// Only non-critical checks fail: the service answers, with reduced function.
    Degraded,
    /// A critical check fails (or, for one check: it fails).
    Down,
    /// The service is shutting down: readiness fails so load balancers stop sending traffic,
    /// while requests already in flight finish.
    Draining,
}

impl HealthStatus {
    /// `ok`, `degraded`, `down` or `draining`.
    pub const fn as_str(self) -> &'static str {
        match self {
            HealthStatus::Ok => "ok",
            HealthStatus::Degraded => "degraded",
            HealthStatus::Down => "down",
            HealthStatus::Draining => "draining",
        }
    }

    /// Every status, in the order above.
    pub const ALL: [HealthStatus; 4] = [
        HealthStatus::Ok,
        HealthStatus::Degraded,
        HealthStatus::Down,
        HealthStatus::Draining,
    ];

    /// The HTTP status code of a readiness answer with this status: 200 for `ok` and
    /// `degraded`, 503 for `down` and `draining`.
    pub const fn http_status(self) -> u16 {
        match self {
            HealthStatus::Ok | HealthStatus::Degraded => 200,
            HealthStatus::Down | HealthStatus::Draining => 503,
        }
    }
}

impl fmt::Display for HealthStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The result of one check in a [`HealthReport`].
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct CheckReport {
    /// `ok` or `down`.
    pub status: HealthStatus,
    /// Whether a failure makes the service `down` (otherwise `degraded`).
    pub critical: bool,
    /// How long the check took, in milliseconds (its timeout, when it timed out).
    pub latency_ms: f64,
    /// Why it failed.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub error: Option<String>,
}

/// The readiness answer: the JSON body of `/health/ready` and `/health`.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct HealthReport {
    /// The overall status.
    pub status: HealthStatus,
    /// When the checks ran: RFC 3339, UTC, milliseconds.
    pub timestamp: String,
    /// The service version.
    pub version: String,
    /// Whole seconds since the service started.
    pub uptime_seconds: u64,
    /// Every check by name.
    pub checks: BTreeMap<String, CheckReport>,
}

/// The liveness answer: the JSON body of `/health/live`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Liveness {
    /// Always `ok`: if the process can answer, it is alive.
    pub status: HealthStatus,
    /// Now: RFC 3339, UTC, milliseconds.
    pub timestamp: String,
    /// The service version.
    pub version: String,
    /// Whole seconds since the service started.
    pub uptime_seconds: u64,
}

/// The body of every error answer: `{"error": {"code", "message", "request_id"}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ErrorBody {
    /// The error itself.
    pub error: ErrorDetail,
}

/// What an [`ErrorBody`] says. A 5xx never carries more than its generic message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ErrorDetail {
    /// Machine-readable code, e.g. `not_found`, `internal`.
    pub code: String,
    /// A message safe to show a client.
    pub message: String,
    /// The request ID of the `x-request-id` header, `null` outside a request.
    pub request_id: Option<String>,
}
