//! The network end of an exporter, and how one attempt to send a batch fails.

use std::future::Future;
use std::time::Duration;

/// Why one attempt to send a batch failed, and whether to try again.
#[derive(Debug)]
pub(crate) struct SendError {
    pub(crate) retry: Retry,
    pub(crate) reason: String,
}

/// Whether a failed batch may be sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Retry {
    /// The endpoint rejected the data itself: sending it again cannot help.
    Never,
    /// A transient failure: retry with backoff.
    Backoff,
    /// The endpoint asked to wait this long (`Retry-After`).
    After(Duration),
    /// The shutdown deadline passed while sending.
    Shutdown,
}

impl SendError {
    pub(crate) fn transient(reason: impl Into<String>) -> Self {
        Self {
            retry: Retry::Backoff,
            reason: reason.into(),
        }
    }

    pub(crate) fn permanent(reason: impl Into<String>) -> Self {
        Self {
            retry: Retry::Never,
            reason: reason.into(),
        }
    }

    pub(super) fn shutdown() -> Self {
        Self {
            retry: Retry::Shutdown,
            reason: "the shutdown deadline passed".into(),
        }
    }
}

/// The network end of an exporter: sends one batch. Runs on the exporter's own thread.
pub(crate) trait Sink: 'static {
    /// What the queue holds.
    type Item: Send + 'static;

    /// Sends `batch`; called again after a retryable error with the same batch, less its
    /// oldest items when a full queue evicted them meanwhile.
    fn send(&mut self, batch: &[Self::Item]) -> impl Future<Output = Result<(), SendError>>;

    /// About how many bytes `item` holds, for
    /// [`ExportSettings::queue_bytes`](super::ExportSettings::queue_bytes). Sinks whose queues
    /// are bounded by items alone keep the default, 0.
    fn weight(_item: &Self::Item) -> usize {
        0
    }
}
