//! Liveness and deep readiness checks.
//!
//! - `GET /health/live` answers `200` as long as the process can serve HTTP. It touches no
//!   dependency, so an orchestrator never restarts a healthy service because its database is
//!   slow.
//! - `GET /health/ready` (and `GET /health`, the same answer) runs every registered
//!   [`HealthCheck`] concurrently, each under its own timeout, and answers `200` when the
//!   status is `ok` or `degraded`, `503` when it is `down`.
//!
//! A failing *critical* check makes the service `down`; a failing non-critical one only
//! `degraded`. With [`Health::cache_for`], a storm of probes runs the checks at most once per
//! interval: callers arriving while a run is in flight wait for it and share its result.
//!
//! ```json
//! {
//!   "status": "degraded",
//!   "timestamp": "2026-11-23T05:00:00.123Z",
//!   "version": "1.4.2",
//!   "uptime_seconds": 3600,
//!   "checks": {
//!     "postgres": {"status": "ok", "critical": true, "latency_ms": 1.9},
//!     "redis": {"status": "down", "critical": false, "latency_ms": 2000.4,
//!               "error": "timed out after 2s"}
//!   }
//! }
//! ```
//!
//! Every run also records `obs_health_check_status{check, critical}` (1 passing, 0 failing) and
//! `obs_health_check_duration_seconds{check}`, the [`catalogue`](crate::catalogue) metrics the
//! bundled dashboards and alerts read.
//!
//! ```
//! use std::time::Duration;
//! use axum::Router;
//! use obs_service::health::{CheckError, Health};
//! use obs_service::Metrics;
//!
//! let metrics = Metrics::new();
//! let health = Health::new("1.4.2")
//!     .metrics(&metrics)
//!     .cache_for(Duration::from_secs(1))
//!     // Any async closure is a check; its error text is shown in the report.
//!     .check("queue", || async { Ok::<_, CheckError>(()) })
//!     .check("search", || async { Err::<(), _>("index is rebuilding") })
//!     .critical(false) // the check added last only degrades the status
//!     .timeout(Duration::from_millis(500));
//! let app: Router = Router::new().merge(health.router());
//! ```
//!
//! The parts: what a check is ([`HealthCheck`], `check`), the answers (`report`), and the
//! registry that runs the checks and serves the endpoints ([`Health`], `registry`).
//!
//! Built-in checks, each behind a cargo feature: [`PostgresCheck`] (`postgres`),
//! [`RedisCheck`] (`redis`), [`DiskCheck`] (`disk`) and [`HttpCheck`] (`http-check`).

#[cfg(feature = "disk")]
mod disk;
#[cfg(feature = "http-check")]
mod http;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "redis")]
mod redis;

#[cfg(feature = "disk")]
pub use disk::DiskCheck;
#[cfg(feature = "http-check")]
pub use http::HttpCheck;
#[cfg(feature = "postgres")]
pub use postgres::PostgresCheck;
#[cfg(feature = "redis")]
pub use redis::RedisCheck;

mod check;
mod registry;
mod report;

pub use check::{CheckError, CheckFuture, HealthCheck};
pub use registry::Health;
pub use report::{CheckResult, Liveness, Report, ReportExt, Status, status_code};

use std::time::Duration;

/// The `target` of the lines logged when a check starts failing or recovers.
pub const HEALTH_LOG_TARGET: &str = "obs::health";

/// Timeout of a check that sets none (see [`Health::default_timeout`]).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);
