//! The tuning of one exporter.

use std::time::Duration;

/// Tuning of one exporter's queue, batching and retries. The defaults suit most services;
/// each exporter's configuration starts from its own defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportSettings {
    /// Items the queue holds while the worker is busy or the endpoint is unavailable, the
    /// batch being sent included. A new item arriving at a full queue evicts the oldest one,
    /// which is counted as dropped with reason `queue_full`. Items evicted from the batch
    /// being retried stay in memory, and in the `obs_exporter_queue_items` gauge, until the
    /// worker's next attempt, where they are counted as dropped: during an outage memory holds
    /// up to `queue_capacity + max_batch` items, for at most one retry delay.
    pub queue_capacity: usize,
    /// Bytes the queue holds (about: the log lines' or spans' text), the batch being sent
    /// included, or `None` for no bound but `queue_capacity`. Past it, the oldest items are
    /// evicted as for a full queue; the newest item is always kept.
    pub queue_bytes: Option<usize>,
    /// Most items sent in one request.
    pub max_batch: usize,
    /// How long the worker waits for more items before sending a partial batch.
    pub linger: Duration,
    /// Longest one request may take, connecting included.
    pub request_timeout: Duration,
    /// Most delay before the first retry. The bound doubles with each attempt up to
    /// `max_backoff`, and each delay is drawn at random below it (full jitter). A batch is
    /// retried for as long as the failure lasts; only a full queue, a rejection (4xx other
    /// than 408 and 429) or the shutdown deadline drops it.
    pub initial_backoff: Duration,
    /// Longest delay between two attempts, unless the endpoint asks for more with
    /// `Retry-After`.
    pub max_backoff: Duration,
    /// Longest `Retry-After` honoured; an endpoint asking for more is tried again after
    /// this long.
    pub max_retry_after: Duration,
    /// How often drops are added to the metric and reported in one warning.
    pub report_interval: Duration,
}

impl Default for ExportSettings {
    fn default() -> Self {
        Self {
            queue_capacity: 2048,
            queue_bytes: None,
            max_batch: 512,
            linger: Duration::from_secs(1),
            request_timeout: Duration::from_secs(5),
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(300),
            report_interval: Duration::from_secs(10),
        }
    }
}
