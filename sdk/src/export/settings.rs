//! The tuning of one exporter.

use std::time::Duration;

/// Tuning of one exporter's queue, batching and retries. The defaults suit most services;
/// each exporter's configuration starts from its own defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportSettings {
    /// Items the queue holds while the worker is busy or the endpoint is unavailable. Items
    /// arriving at a full queue are dropped and counted.
    pub queue_capacity: usize,
    /// Most items sent in one request.
    pub max_batch: usize,
    /// How long the worker waits for more items before sending a partial batch.
    pub linger: Duration,
    /// Longest one request may take, connecting included.
    pub request_timeout: Duration,
    /// Attempts per batch (the first included) before the batch is dropped and counted.
    pub max_attempts: u32,
    /// Delay before the first retry; it doubles with each attempt up to `max_backoff`.
    pub initial_backoff: Duration,
    /// Longest delay between two attempts, unless the endpoint asks for more with
    /// `Retry-After`.
    pub max_backoff: Duration,
    /// Longest `Retry-After` honoured; an endpoint asking for more gets the batch dropped.
    pub max_retry_after: Duration,
    /// How often drops are added to the metric and reported in one warning.
    pub report_interval: Duration,
}

impl Default for ExportSettings {
    fn default() -> Self {
        Self {
            queue_capacity: 2048,
            max_batch: 512,
            linger: Duration::from_secs(1),
            request_timeout: Duration::from_secs(5),
            max_attempts: 5,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(300),
            report_interval: Duration::from_secs(10),
        }
    }
}
