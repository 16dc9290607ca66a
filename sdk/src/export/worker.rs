//! The worker loop of an exporter's thread: batch, send with retries, drain by the deadline.

use std::time::{Duration, Instant};

use obs_catalogue::DropReason;

use super::EXPORT_LOG_TARGET;
use super::settings::ExportSettings;
use super::shared::{Buffer, Shared};
use super::sink::{Retry, SendError, Sink};

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
    buffer: &Buffer<S::Item>,
    shared: &Shared,
    settings: &ExportSettings,
) {
    let max_batch = settings.max_batch.max(1);
    let mut batch: Vec<S::Item> = Vec::with_capacity(max_batch.min(1024));
    // Failed attempts since the endpoint last answered: the backoff grows across batches, so
    // an outage under load (where newer items evict whole batches mid-retry) is retried ever
    // more slowly rather than at the first attempt's pace with every new batch.
    let mut failures = 0u32;
    while shared.deadline().is_none() {
        if buffer.is_empty() {
            shared.wake.notified().await;
            continue;
        }
        let linger_end = tokio::time::Instant::now() + settings.linger;
        while buffer.len() < max_batch && !shared.urgent() {
            tokio::select! {
                () = tokio::time::sleep_until(linger_end) => break,
                () = shared.wake.notified() => {}
            }
        }
        buffer.take(&mut batch);
        send_with_retries(
            &mut sink,
            &mut batch,
            &mut failures,
            buffer,
            shared,
            settings,
        )
        .await;
    }
    // Shutting down: send what is queued until the deadline, then count the rest as dropped.
    loop {
        buffer.take(&mut batch);
        if batch.is_empty() {
            break;
        }
        let past = shared
            .deadline()
            .is_some_and(|deadline| Instant::now() >= deadline);
        if past {
            shared.dropped(batch.len(), DropReason::Shutdown);
            batch.clear();
            buffer.settle();
            shared.dropped(buffer.clear(), DropReason::Shutdown);
        } else {
            send_with_retries(
                &mut sink,
                &mut batch,
                &mut failures,
                buffer,
                shared,
                settings,
            )
            .await;
        }
    }
}

/// How one batch ended.
enum Outcome {
    Delivered,
    /// Newer items evicted all of it while it was retried (counted as they were evicted).
    Evicted,
    Rejected,
    Shutdown,
}

/// Sends `batch` until it is delivered, refused for good or out of time, retrying for as long
/// as a failure lasts: the queue's bounds, not a count of attempts, decide what is lost, as a
/// full queue evicts the batch's oldest items. Clears the batch and accounts for every item.
/// `failures` counts failed attempts since the endpoint last answered, across batches.
async fn send_with_retries<S: Sink>(
    sink: &mut S,
    batch: &mut Vec<S::Item>,
    failures: &mut u32,
    buffer: &Buffer<S::Item>,
    shared: &Shared,
    settings: &ExportSettings,
) {
    let outcome = loop {
        let evicted = buffer.take_evicted().min(batch.len());
        if evicted > 0 {
            batch.drain(..evicted);
            shared.dropped(evicted, DropReason::QueueFull);
        }
        if batch.is_empty() {
            break Outcome::Evicted;
        }
        let result = {
            let send = tokio::time::timeout(settings.request_timeout, sink.send(batch));
            tokio::pin!(send);
            loop {
                tokio::select! {
                    result = &mut send => break result.unwrap_or_else(|_| {
                        Err(SendError::transient("the request timed out"))
                    }),
                    () = sleep_until(shared.deadline()) => {
                        break Err(SendError::shutdown());
                    }
                    // A shutdown may have set the deadline: look again.
                    () = shared.wake.notified() => {}
                }
            }
        };
        let error = match result {
            Ok(()) => {
                *failures = 0;
                break Outcome::Delivered;
            }
            Err(error) => error,
        };
        shared.failed_attempt();
        tracing::debug!(
            target: EXPORT_LOG_TARGET,
            exporter = shared.exporter,
            failures = *failures + 1,
            reason = %error.reason,
            "export attempt failed"
        );
        let delay = match error.retry {
            Retry::Never => {
                // The endpoint answered: it refused this batch, not the next.
                *failures = 0;
                break Outcome::Rejected;
            }
            Retry::Shutdown => break Outcome::Shutdown,
            Retry::After(wait) => {
                *failures = failures.saturating_add(1);
                wait.min(settings.max_retry_after)
            }
            Retry::Backoff => {
                *failures = failures.saturating_add(1);
                backoff(settings, *failures)
            }
        };
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
            break Outcome::Shutdown;
        }
    };
    if !matches!(outcome, Outcome::Delivered) {
        // Items a full queue evicted while the last attempt ran were lost to it, not to
        // the rejection or the shutdown.
        let evicted = buffer.take_evicted().min(batch.len());
        if evicted > 0 {
            batch.drain(..evicted);
            shared.dropped(evicted, DropReason::QueueFull);
        }
    }
    match outcome {
        Outcome::Delivered => shared.sent(batch.len()),
        Outcome::Evicted => {}
        Outcome::Rejected => shared.dropped(batch.len(), DropReason::Rejected),
        Outcome::Shutdown => shared.dropped(batch.len(), DropReason::Shutdown),
    }
    batch.clear();
    buffer.settle();
}

/// Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff And
/// Jitter"): a uniformly random delay up to `initial_backoff * 2^(attempt-1)`, capped at
/// `max_backoff`, so many services retrying one endpoint after an outage spread out. Written
/// here because it is four lines; the random draw comes from `fastrand`.
fn backoff(settings: &ExportSettings, attempt: u32) -> Duration {
    let ceiling = backoff_ceiling(settings, attempt);
    let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(fastrand::u64(0..=nanos))
}

/// The most [`backoff`] waits before attempt `attempt + 1`.
fn backoff_ceiling(settings: &ExportSettings, attempt: u32) -> Duration {
    let factor = 1u32
        .checked_shl(attempt.saturating_sub(1))
        .unwrap_or(u32::MAX);
    settings
        .initial_backoff
        .saturating_mul(factor)
        .min(settings.max_backoff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_has_full_jitter_under_a_doubling_ceiling() {
        let settings = ExportSettings::default();
        assert_eq!(backoff_ceiling(&settings, 1), Duration::from_millis(500));
        assert_eq!(backoff_ceiling(&settings, 3), Duration::from_secs(2));
        assert_eq!(backoff_ceiling(&settings, 40), Duration::from_secs(30));
        let delays: Vec<_> = (0..200).map(|_| backoff(&settings, 3)).collect();
        assert!(delays.iter().all(|d| *d <= Duration::from_secs(2)));
        // Drawn, not fixed: 200 draws from two seconds' worth of nanoseconds differ.
        assert!(delays.iter().any(|d| *d != delays[0]));
    }
}
