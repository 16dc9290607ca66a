//! The worker loop of an exporter's thread: batch, send with retries, drain by the deadline.

use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::EXPORT_LOG_TARGET;
use super::queue::{Retry, SendError, Shared, Sink};
use super::settings::ExportSettings;

/// Sleeps until `deadline`, or forever without one.
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

/// The worker loop: batch, send with retries, and on shutdown drain until the deadline.
pub(super) async fn run<S: Sink>(
    mut sink: S,
    mut rx: mpsc::Receiver<S::Item>,
    shared: &Shared,
    settings: &ExportSettings,
) {
    let max_batch = settings.max_batch.max(1);
    let mut batch: Vec<S::Item> = Vec::with_capacity(max_batch.min(1024));
    loop {
        if shared.deadline().is_some() {
            break;
        }
        if batch.is_empty() {
            tokio::select! {
                item = rx.recv() => match item {
                    Some(item) => batch.push(item),
                    None => break,
                },
                () = shared.wake.notified() => {}
            }
        }
        let linger_end = tokio::time::Instant::now() + settings.linger;
        while batch.len() < max_batch && !shared.urgent() {
            tokio::select! {
                item = rx.recv() => match item {
                    Some(item) => batch.push(item),
                    None => break,
                },
                () = tokio::time::sleep_until(linger_end) => break,
                () = shared.wake.notified() => {}
            }
        }
        // A flush or shutdown takes whatever is already queued, up to a full batch.
        while batch.len() < max_batch {
            match rx.try_recv() {
                Ok(item) => batch.push(item),
                Err(_) => break,
            }
        }
        if !batch.is_empty() {
            send_with_retries(&mut sink, &mut batch, shared, settings).await;
        }
    }
    // Shutting down: send what is queued until the deadline, then count the rest as dropped.
    rx.close();
    loop {
        while batch.len() < max_batch {
            match rx.try_recv() {
                Ok(item) => batch.push(item),
                Err(_) => break,
            }
        }
        if batch.is_empty() {
            break;
        }
        let past = shared
            .deadline()
            .is_some_and(|deadline| Instant::now() >= deadline);
        if past {
            shared.finish(batch.len(), false);
            batch.clear();
        } else {
            send_with_retries(&mut sink, &mut batch, shared, settings).await;
        }
    }
}

/// Sends `batch` until it is delivered, refused for good, out of attempts or out of time;
/// clears it and accounts for every item.
async fn send_with_retries<S: Sink>(
    sink: &mut S,
    batch: &mut Vec<S::Item>,
    shared: &Shared,
    settings: &ExportSettings,
) {
    let mut attempt = 0u32;
    let delivered = loop {
        attempt += 1;
        let result = {
            let send = tokio::time::timeout(settings.request_timeout, sink.send(batch));
            tokio::pin!(send);
            loop {
                tokio::select! {
                    result = &mut send => break result.unwrap_or_else(|_| {
                        Err(SendError::transient("the request timed out"))
                    }),
                    () = sleep_until(shared.deadline()) => {
                        break Err(SendError::permanent("the shutdown deadline passed"));
                    }
                    // A shutdown may have set the deadline: look again.
                    () = shared.wake.notified() => {}
                }
            }
        };
        let error = match result {
            Ok(()) => break true,
            Err(error) => error,
        };
        tracing::debug!(
            target: EXPORT_LOG_TARGET,
            exporter = shared.exporter,
            attempt,
            reason = %error.reason,
            "export attempt failed"
        );
        let delay = match error.retry {
            Retry::Never => break false,
            Retry::After(wait) if wait > settings.max_retry_after => break false,
            Retry::After(wait) => wait,
            Retry::Backoff => backoff(settings, attempt),
        };
        if attempt >= settings.max_attempts.max(1) {
            break false;
        }
        let resume = Instant::now() + delay;
        loop {
            if shared.deadline().is_some_and(|deadline| deadline < resume) {
                // The retry would come after the shutdown deadline.
                break;
            }
            tokio::select! {
                () = tokio::time::sleep_until(resume.into()) => break,
                () = shared.wake.notified() => {}
            }
        }
        if shared.deadline().is_some_and(|deadline| deadline < resume) {
            break false;
        }
    };
    shared.finish(batch.len(), delivered);
    batch.clear();
}

/// Exponential backoff: `initial_backoff * 2^(attempt-1)`, at most `max_backoff`.
pub(super) fn backoff(settings: &ExportSettings, attempt: u32) -> Duration {
    let factor = 1u32
        .checked_shl(attempt.saturating_sub(1))
        .unwrap_or(u32::MAX);
    settings
        .initial_backoff
        .saturating_mul(factor)
        .min(settings.max_backoff)
}
