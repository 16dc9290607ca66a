//! Draining on SIGTERM: what a pod needs to stop without failing requests.
//!
//! When Kubernetes stops a pod it sends SIGTERM and, at the same time, starts taking the pod out
//! of its Services' endpoints; until every node has heard of that, new requests still arrive.
//! So on SIGTERM (or Ctrl-C) the service first *drains*: readiness answers `503` with status
//! `draining` for [`OBS_SHUTDOWN_DRAIN`](crate::catalogue::env::OBS_SHUTDOWN_DRAIN) (default `0s`) while every
//! other route keeps serving; only then does the future [`Obs::shutdown_signal`] returns
//! resolve, and axum's graceful shutdown stops accepting and lets the requests in flight finish.
//! Liveness answers `200` throughout, so the kubelet does not restart a pod that is stopping.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let obs = obs_service::init!()?;
//! let app = axum::Router::new()
//!     .merge(obs.health().router())          // readiness reports `draining` once SIGTERM came
//!     .layer(obs.layer());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! axum::serve(listener, app)
//!     .with_graceful_shutdown(obs.shutdown_signal())
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! [`Obs::shutdown_signal`]: crate::Obs::shutdown_signal

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Whether the service is draining. Cheap to clone; clones share the state. [`Obs`](crate::Obs)
/// holds one, hands it to the [`Health`](crate::Health) it builds, and sets it on SIGTERM.
#[derive(Debug, Clone, Default)]
pub struct Drain(Arc<AtomicBool>);

impl Drain {
    /// A service that is not draining.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether [`Drain::start`] was called.
    pub fn is_draining(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// Makes readiness answer `503 draining` from now on.
    pub fn start(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// A future that waits for SIGTERM or Ctrl-C, then drains for `period`, then resolves:
    /// what [`Obs::shutdown_signal`](crate::Obs::shutdown_signal) returns.
    pub fn on_signal(&self, period: Duration) -> impl Future<Output = ()> + Send + 'static {
        let drain = self.clone();
        async move {
            terminate_signal().await;
            drain.start();
            tracing::info!(
                target: "obs::shutdown",
                drain_seconds = period.as_secs_f64(),
                "shutdown signal received; readiness answers 503 draining"
            );
            tokio::time::sleep(period).await;
            tracing::info!(
                target: "obs::shutdown",
                "drained; no new connections, finishing the requests in flight"
            );
        }
    }
}

/// Resolves on SIGTERM (Unix) or Ctrl-C. Where a signal cannot be listened to, that half never
/// resolves, so the other still works.
pub async fn terminate_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

/// Parses `OBS_SHUTDOWN_DRAIN`: a whole number with `ms`, `s` or `m` (`10s`, `500ms`), or `0`.
/// Hand-written: three units do not justify a duration-parsing dependency in every service.
pub(crate) fn parse_drain(text: &str) -> Option<Duration> {
    let text = text.trim();
    if text == "0" {
        return Some(Duration::ZERO);
    }
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let n: u64 = text[..digits].parse().ok()?;
    match &text[digits..] {
        "ms" => Some(Duration::from_millis(n)),
        "s" => Some(Duration::from_secs(n)),
        "m" => Some(Duration::from_secs(n.checked_mul(60)?)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drain_durations() {
        assert_eq!(parse_drain("0"), Some(Duration::ZERO));
        assert_eq!(parse_drain("0s"), Some(Duration::ZERO));
        assert_eq!(parse_drain("10s"), Some(Duration::from_secs(10)));
        assert_eq!(parse_drain("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_drain("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_drain("10"), None);
        assert_eq!(parse_drain("s"), None);
        assert_eq!(parse_drain("1h"), None);
        assert_eq!(parse_drain("-1s"), None);
    }

    #[tokio::test]
    async fn clones_share_the_state() {
        let drain = Drain::new();
        let seen_by_health = drain.clone();
        assert!(!seen_by_health.is_draining());
        drain.start();
        assert!(seen_by_health.is_draining());
    }
}
