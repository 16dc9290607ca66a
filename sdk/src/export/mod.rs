//! What the Sentry, OTLP and Loki exporters share, so none of them can hurt the service:
//!
//! - **Off the request path.** Code that logs, fails or ends a span only hands an item to a
//!   bounded queue; it never waits for the network.
//! - **Bounded memory.** The queue is bounded by items and, for Loki and OTLP, by bytes. When a
//!   new item does not fit, the oldest make room and are counted in
//!   `obs_exporter_dropped_total{exporter, reason="queue_full"}`; a warning says so at most once
//!   per [`ExportSettings::report_interval`]. What the queue holds is the gauge
//!   `obs_exporter_queue_items`.
//! - **Any runtime, or none.** Each exporter sends from its own thread, which drives a small
//!   single-threaded tokio runtime. A service on a current-thread runtime, a multi-thread runtime
//!   or no runtime at all behaves the same, and a blocked service runtime cannot stall exporting.
//! - **A short outage loses nothing.** A failed batch is retried with exponential backoff and
//!   full jitter for as long as the failure lasts; a `Retry-After` (429 or 503) is honoured.
//!   Every failed attempt counts in `obs_exporter_send_failures_total`. Client errors other
//!   than 408 and 429 are not retried: the batch is dropped with reason `rejected`.
//! - **Shutdown has a deadline.** [`ExporterHandle::shutdown`] sends what is queued until the
//!   deadline and then returns, even if the endpoint hangs; the worker thread is left to finish
//!   on its own, and what it could not send counts with reason `shutdown`.
//!
//! The parts: [`ExportSettings`] (`settings`); the bounded queue, its counters and the
//! [`ExporterHandle`] (`queue`); the worker loop that batches, retries and drains by the
//! deadline (`worker`); the HTTP client and how an answer is classified (`http`); and the
//! `Integration` trait each exporter implements for the core (`integration`).

mod http;
mod integration;
pub(crate) mod queue;
mod settings;
mod shared;
mod sink;
mod worker;

pub(crate) use http::{classify, http_client};
pub(crate) use integration::Integration;
pub use queue::ExporterHandle;
pub(crate) use queue::{ExportQueue, SendError, Sink, spawn};
pub use settings::ExportSettings;

/// Target of the SDK's own warnings about exporting. The Loki exporter never ships lines with
/// this target, so a warning about Loki drops cannot feed back into Loki.
pub const EXPORT_LOG_TARGET: &str = "obs::export";
