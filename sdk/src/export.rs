//! What the Sentry, OTLP and Loki exporters share, so none of them can hurt the service:
//!
//! - **Off the request path.** Code that logs, fails or ends a span only hands an item to a
//!   bounded queue with `try_send`; it never waits for the network.
//! - **Bounded memory.** When the queue is full (the endpoint is down, slow or refusing), new
//!   items are dropped and counted in `obs_exporter_dropped_total{exporter}`; a warning says so
//!   at most once per [`ExportSettings::report_interval`].
//! - **Any runtime, or none.** Each exporter sends from its own thread, which drives a small
//!   single-threaded tokio runtime. A service on a current-thread runtime, a multi-thread runtime
//!   or no runtime at all behaves the same, and a blocked service runtime cannot stall exporting.
//! - **Retries back off.** A failed batch is retried with exponential backoff; a `Retry-After`
//!   (429 or 503) is honoured. Client errors other than 408 and 429 are not retried.
//! - **Shutdown has a deadline.** [`ExporterHandle::shutdown`] sends what is queued until the
//!   deadline and then returns, even if the endpoint hangs; the worker thread is left to finish
//!   on its own.

use std::cell::Cell;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, mpsc};

use crate::Metrics;

/// Target of the SDK's own warnings about exporting. The Loki exporter never ships lines with
/// this target, so a warning about Loki drops cannot feed back into Loki.
pub const EXPORT_LOG_TARGET: &str = "obs::export";

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
}

/// The network end of an exporter: sends one batch. Runs on the exporter's own thread.
pub(crate) trait Sink: 'static {
    /// What the queue holds.
    type Item: Send + 'static;

    /// Sends `batch`; called again with the same batch after a retryable error.
    fn send(&mut self, batch: &[Self::Item]) -> impl Future<Output = Result<(), SendError>>;
}

thread_local! {
    static EXPORT_THREAD: Cell<bool> = const { Cell::new(false) };
}

/// Whether the calling thread is one of the exporters' worker threads. Events logged there (by
/// the HTTP client, or the drop warnings) are never shipped back to Loki.
#[cfg_attr(not(any(feature = "loki", feature = "sentry")), allow(dead_code))]
pub(crate) fn on_export_thread() -> bool {
    // `try_with`: events can be logged while a thread's locals are being torn down.
    EXPORT_THREAD.try_with(Cell::get).unwrap_or(false)
}

/// Counters and signals shared by the queue, the worker and the handle.
struct Shared {
    exporter: &'static str,
    metrics: Metrics,
    accepted: AtomicU64,
    sent: AtomicU64,
    dropped: AtomicU64,
    reported: AtomicU64,
    /// Items accepted and not yet sent or dropped (queued or in the batch being sent).
    pending: AtomicU64,
    flush: AtomicBool,
    deadline: Mutex<Option<Instant>>,
    wake: Notify,
}

impl Shared {
    fn deadline(&self) -> Option<Instant> {
        *self.deadline.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn urgent(&self) -> bool {
        self.flush.load(Ordering::Acquire) || self.deadline().is_some()
    }

    fn finish(&self, n: usize, sent: bool) {
        let n = n as u64;
        if sent {
            self.sent.fetch_add(n, Ordering::Relaxed);
        } else {
            self.dropped.fetch_add(n, Ordering::Relaxed);
        }
        self.pending.fetch_sub(n, Ordering::AcqRel);
    }

    /// Adds what was dropped since the last report to the metric, and warns once about it.
    fn report(&self) {
        let total = self.dropped.load(Ordering::Relaxed);
        let before = self.reported.swap(total, Ordering::Relaxed);
        if total > before {
            let dropped = total - before;
            self.metrics.record_dropped(self.exporter, dropped);
            tracing::warn!(
                target: EXPORT_LOG_TARGET,
                exporter = self.exporter,
                dropped,
                dropped_total = total,
                "exporter dropped items: its endpoint is down, slow or refusing them"
            );
        }
    }
}

/// The sending end of an exporter's queue. Cheap to clone; never blocks.
pub(crate) struct ExportQueue<T> {
    tx: mpsc::Sender<T>,
    shared: Arc<Shared>,
}

impl<T> Clone for ExportQueue<T> {
    fn clone(&self) -> Self {
        Self {
            tx: self.tx.clone(),
            shared: self.shared.clone(),
        }
    }
}

impl<T> std::fmt::Debug for ExportQueue<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExportQueue")
            .field("exporter", &self.shared.exporter)
            .finish_non_exhaustive()
    }
}

impl<T> ExportQueue<T> {
    /// Queues `item`, or drops and counts it when the queue is full or the exporter has shut
    /// down. Returns whether it was queued.
    pub(crate) fn push(&self, item: T) -> bool {
        self.shared.pending.fetch_add(1, Ordering::AcqRel);
        match self.tx.try_send(item) {
            Ok(()) => {
                self.shared.accepted.fetch_add(1, Ordering::Relaxed);
                true
            }
            Err(_) => {
                self.shared.pending.fetch_sub(1, Ordering::AcqRel);
                self.shared.dropped.fetch_add(1, Ordering::Relaxed);
                false
            }
        }
    }
}

/// Controls one exporter's worker: counts, flush and shutdown. Dropping it shuts the exporter
/// down with the deadline it was created with.
pub struct ExporterHandle {
    shared: Arc<Shared>,
    done: Mutex<Option<std::sync::mpsc::Receiver<()>>>,
    finished: AtomicBool,
    shutdown_timeout: Duration,
}

impl std::fmt::Debug for ExporterHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExporterHandle")
            .field("exporter", &self.shared.exporter)
            .field("accepted", &self.accepted())
            .field("sent", &self.sent())
            .field("dropped", &self.dropped())
            .finish()
    }
}

impl ExporterHandle {
    /// The `exporter` label of this exporter's drop counter.
    pub fn exporter(&self) -> &'static str {
        self.shared.exporter
    }

    /// Items the queue accepted so far.
    pub fn accepted(&self) -> u64 {
        self.shared.accepted.load(Ordering::Relaxed)
    }

    /// Items delivered so far (the endpoint answered 2xx).
    pub fn sent(&self) -> u64 {
        self.shared.sent.load(Ordering::Relaxed)
    }

    /// Items dropped so far: refused by a full queue, or given up on after retries.
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    /// Sends what is queued now, without waiting for a full batch; returns whether everything
    /// accepted so far was sent or dropped within `timeout`.
    pub fn flush(&self, timeout: Duration) -> bool {
        let until = Instant::now() + timeout;
        self.shared.flush.store(true, Ordering::Release);
        self.shared.wake.notify_one();
        let ok = loop {
            if self.shared.pending.load(Ordering::Acquire) == 0 {
                break true;
            }
            if Instant::now() >= until || self.finished.load(Ordering::Acquire) {
                break self.shared.pending.load(Ordering::Acquire) == 0;
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        self.shared.flush.store(false, Ordering::Release);
        self.shared.report();
        ok
    }

    /// Sends what is queued until `deadline`, then stops the worker. Returns whether the worker
    /// finished in time; either way this returns by the deadline. Later calls return at once.
    pub fn shutdown(&self, deadline: Instant) -> bool {
        {
            let mut slot = self
                .shared
                .deadline
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if slot.is_none_or(|d| deadline < d) {
                *slot = Some(deadline);
            }
        }
        self.shared.wake.notify_one();
        let done = self.done.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(done) = done {
            let wait = deadline.saturating_duration_since(Instant::now());
            if done.recv_timeout(wait).is_ok() {
                self.finished.store(true, Ordering::Release);
            }
        }
        self.shared.report();
        self.finished.load(Ordering::Acquire)
    }
}

impl Drop for ExporterHandle {
    fn drop(&mut self) {
        self.shutdown(Instant::now() + self.shutdown_timeout);
    }
}

/// Starts an exporter: its queue, and a worker thread that builds the sink with `make_sink`
/// (inside the worker's runtime, so clients that need one find it) and sends batches.
pub(crate) fn spawn<S, F>(
    exporter: &'static str,
    settings: &ExportSettings,
    shutdown_timeout: Duration,
    metrics: &Metrics,
    make_sink: F,
) -> Result<(ExportQueue<S::Item>, ExporterHandle), String>
where
    S: Sink,
    F: FnOnce(&ExportSettings) -> Result<S, String> + Send + 'static,
{
    // The drop counter exists at 0 from the start, so a healthy exporter reads as "nothing
    // dropped" on the dashboards instead of "no data".
    metrics.record_dropped(exporter, 0);
    let shared = Arc::new(Shared {
        exporter,
        metrics: metrics.clone(),
        accepted: AtomicU64::new(0),
        sent: AtomicU64::new(0),
        dropped: AtomicU64::new(0),
        reported: AtomicU64::new(0),
        pending: AtomicU64::new(0),
        flush: AtomicBool::new(false),
        deadline: Mutex::new(None),
        wake: Notify::new(),
    });
    let (tx, rx) = mpsc::channel(settings.queue_capacity.max(1));
    let (built_tx, built_rx) = std::sync::mpsc::sync_channel::<Result<(), String>>(1);
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let worker_shared = shared.clone();
    let settings = settings.clone();
    std::thread::Builder::new()
        .name(format!("obs-export-{exporter}"))
        .spawn(move || {
            EXPORT_THREAD.with(|flag| flag.set(true));
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(e) => {
                    let _ = built_tx.send(Err(format!("cannot start its runtime: {e}")));
                    return;
                }
            };
            let sink = {
                let _entered = runtime.enter();
                make_sink(&settings)
            };
            let sink = match sink {
                Ok(sink) => {
                    let _ = built_tx.send(Ok(()));
                    sink
                }
                Err(e) => {
                    let _ = built_tx.send(Err(e));
                    return;
                }
            };
            runtime.block_on(async {
                let reporter = {
                    let shared = worker_shared.clone();
                    let every = settings.report_interval.max(Duration::from_millis(10));
                    tokio::spawn(async move {
                        let mut tick = tokio::time::interval(every);
                        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                        loop {
                            tick.tick().await;
                            shared.report();
                        }
                    })
                };
                run(sink, rx, &worker_shared, &settings).await;
                reporter.abort();
            });
            let _ = done_tx.send(());
        })
        .map_err(|e| format!("cannot start its thread: {e}"))?;
    match built_rx.recv() {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(e),
        Err(_) => return Err("its thread stopped while starting".into()),
    }
    Ok((
        ExportQueue {
            tx,
            shared: shared.clone(),
        },
        ExporterHandle {
            shared,
            done: Mutex::new(Some(done_rx)),
            finished: AtomicBool::new(false),
            shutdown_timeout,
        },
    ))
}

/// The seam between the core and one integration (Sentry, OTLP, Loki). The core never names
/// an integration: [`integration`](crate::integration) lists them, and everything they share
/// with the service goes through this trait and the [completion hook](crate::hook).
pub(crate) trait Integration: Sized + 'static {
    /// What turns it on and tunes it: the public configuration type (`SentryConfig`, …).
    type Config: std::fmt::Debug + Clone + Send + Sync + 'static;
    /// The tracing layer it adds to the subscriber.
    type Layer<S>: tracing_subscriber::Layer<S> + 'static
    where
        S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>;
    /// The `exporter` label of its drop counter.
    const EXPORTER: &'static str;
    /// Whether it exports spans: request spans then carry the OpenTelemetry fields and log
    /// lines the trace and span IDs.
    const EXPORTS_SPANS: bool = false;

    /// Its configuration from the environment; `None` while its variable is unset.
    fn config_from_env(
        env: &crate::config::Env<'_>,
    ) -> Result<Option<Self::Config>, crate::ConfigError>;

    /// Starts it: its queue, worker thread and client.
    fn start(
        config: &Self::Config,
        core: &crate::Config,
        metrics: &Metrics,
    ) -> Result<Self, crate::InitError>;

    /// Its tracing layer, the first time it is asked.
    fn layer<S>(&mut self) -> Option<Self::Layer<S>>
    where
        S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>;

    /// The counts of what it sent and dropped.
    fn handle(&self) -> &ExporterHandle;

    /// Sends what is queued until `deadline`, then stops; returns by the deadline.
    fn shutdown(&self, deadline: Instant);
}

impl crate::Obs {
    /// The running exporter whose drop counter has the label `exporter` (`sentry`, `otlp`,
    /// `loki`), if it is on.
    pub fn exporter(&self, exporter: &str) -> Option<&ExporterHandle> {
        self.integrations.handle(exporter)
    }
}

/// Sleeps until `deadline`, or forever without one.
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

/// The worker loop: batch, send with retries, and on shutdown drain until the deadline.
async fn run<S: Sink>(
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
fn backoff(settings: &ExportSettings, attempt: u32) -> Duration {
    let factor = 1u32
        .checked_shl(attempt.saturating_sub(1))
        .unwrap_or(u32::MAX);
    settings
        .initial_backoff
        .saturating_mul(factor)
        .min(settings.max_backoff)
}

/// An HTTP client for the exporters: plain HTTP, and HTTPS when a TLS feature of reqwest is on.
pub(crate) fn http_client(settings: &ExportSettings) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(settings.request_timeout)
        .connect_timeout(settings.request_timeout.min(Duration::from_secs(3)))
        .pool_idle_timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| format!("cannot build its HTTP client: {e}"))
}

/// Classifies an HTTP answer: 2xx is delivered; 429 and 503 wait for `Retry-After` when
/// given; 408 and other 5xx back off; any other status is final.
pub(crate) fn classify(
    status: http::StatusCode,
    headers: &http::HeaderMap,
) -> Result<(), SendError> {
    if status.is_success() {
        return Ok(());
    }
    let reason = format!("the endpoint answered {status}");
    let code = status.as_u16();
    if code == 429 || code == 503 {
        return Err(SendError {
            retry: retry_after(headers).map_or(Retry::Backoff, Retry::After),
            reason,
        });
    }
    if code == 408 || status.is_server_error() {
        return Err(SendError::transient(reason));
    }
    Err(SendError::permanent(reason))
}

/// Reads `Retry-After` (seconds or an HTTP date) or, from Sentry, `X-Sentry-Rate-Limits`
/// (the longest of its `seconds:categories:scope` entries).
pub(crate) fn retry_after(headers: &http::HeaderMap) -> Option<Duration> {
    let from_retry_after = headers
        .get(http::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let v = v.trim();
            if let Ok(secs) = v.parse::<f64>() {
                return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
            }
            let at = time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc2822)
                .ok()?;
            let wait = at - time::OffsetDateTime::now_utc();
            Some(Duration::try_from(wait).unwrap_or(Duration::ZERO))
        });
    let from_sentry = headers
        .get("x-sentry-rate-limits")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split(',')
                .filter_map(|limit| limit.trim().split(':').next()?.trim().parse::<f64>().ok())
                .filter(|secs| secs.is_finite() && *secs >= 0.0)
                .map(Duration::from_secs_f64)
                .max()
        });
    match (from_retry_after, from_sentry) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// A sink that fails or hangs on demand and records what it got.
    struct TestSink {
        mode: Arc<AtomicUsize>,
        got: Arc<Mutex<Vec<u32>>>,
    }

    const OK: usize = 0;
    const FAIL: usize = 1;
    const HANG: usize = 2;

    impl Sink for TestSink {
        type Item = u32;

        async fn send(&mut self, batch: &[u32]) -> Result<(), SendError> {
            match self.mode.load(Ordering::SeqCst) {
                OK => {
                    self.got.lock().unwrap().extend_from_slice(batch);
                    Ok(())
                }
                FAIL => Err(SendError::transient("down")),
                _ => std::future::pending().await,
            }
        }
    }

    /// What `start` returns: the queue, the handle, the sink's mode switch, what the sink got,
    /// and the registry drops are counted in.
    type Started = (
        ExportQueue<u32>,
        ExporterHandle,
        Arc<AtomicUsize>,
        Arc<Mutex<Vec<u32>>>,
        Metrics,
    );

    fn start(mode: usize, settings: ExportSettings) -> Started {
        let mode = Arc::new(AtomicUsize::new(mode));
        let got = Arc::new(Mutex::new(Vec::new()));
        let metrics = Metrics::new();
        let sink = TestSink {
            mode: mode.clone(),
            got: got.clone(),
        };
        let (queue, handle) = spawn("loki", &settings, Duration::from_secs(1), &metrics, |_| {
            Ok(sink)
        })
        .unwrap();
        (queue, handle, mode, got, metrics)
    }

    #[test]
    fn delivers_in_order_and_flushes() {
        let (queue, handle, _, got, _) = start(OK, ExportSettings::default());
        for i in 0..100 {
            assert!(queue.push(i));
        }
        assert!(handle.flush(Duration::from_secs(10)));
        assert_eq!(*got.lock().unwrap(), (0..100).collect::<Vec<_>>());
        assert_eq!((handle.sent(), handle.dropped()), (100, 0));
    }

    #[test]
    fn a_hanging_endpoint_bounds_the_queue_counts_drops_and_shutdown_keeps_its_deadline() {
        let settings = ExportSettings {
            queue_capacity: 10,
            max_batch: 5,
            linger: Duration::ZERO,
            request_timeout: Duration::from_secs(3600),
            ..ExportSettings::default()
        };
        let (queue, handle, _, _, metrics) = start(HANG, settings);
        let accepted = (0..1000).filter(|i| queue.push(*i)).count() as u64;
        // At most the queue plus the batch in flight are held; everything else was refused.
        assert!(accepted <= 15, "{accepted}");
        assert!(handle.dropped() >= 1000 - 15);
        let started = Instant::now();
        handle.shutdown(started + Duration::from_millis(200));
        assert_eq!(handle.accepted(), accepted);
        let text = metrics.render();
        let line = text
            .lines()
            .find(|l| l.starts_with("obs_exporter_dropped_total{exporter=\"loki\"}"))
            .unwrap_or_else(|| panic!("no drop counter:\n{text}"));
        let counted: u64 = line.rsplit(' ').next().unwrap().parse().unwrap();
        assert!(counted >= 1000 - 15, "{counted}");
    }

    #[test]
    fn failed_batches_are_retried_then_dropped() {
        let settings = ExportSettings {
            linger: Duration::ZERO,
            max_attempts: 3,
            initial_backoff: Duration::from_millis(1),
            ..ExportSettings::default()
        };
        let (queue, handle, mode, got, _) = start(FAIL, settings);
        queue.push(1);
        assert!(handle.flush(Duration::from_secs(10)));
        assert_eq!(handle.dropped(), 1);
        mode.store(OK, Ordering::SeqCst);
        queue.push(2);
        assert!(handle.flush(Duration::from_secs(10)));
        assert_eq!(*got.lock().unwrap(), [2]);
    }

    #[test]
    fn every_variable_the_exporters_read_is_in_the_catalogue() {
        let documented: Vec<&str> = crate::catalogue::ENV_VARS.iter().map(|(k, _)| *k).collect();
        let mut found = Vec::new();
        for source in [
            include_str!("sentry.rs"),
            include_str!("otlp.rs"),
            include_str!("loki.rs"),
        ] {
            for literal in source.split('"').skip(1).step_by(2) {
                let variable = ["SENTRY_", "OTEL_", "LOKI_"]
                    .iter()
                    .any(|p| literal.starts_with(p))
                    && literal.bytes().all(|b| b.is_ascii_uppercase() || b == b'_');
                if variable {
                    assert!(
                        documented.contains(&literal),
                        "{literal} missing from catalogue::ENV_VARS"
                    );
                    found.push(literal);
                }
            }
        }
        for expected in [
            "SENTRY_DSN",
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "LOKI_URL",
            "LOKI_TENANT",
        ] {
            assert!(found.contains(&expected), "{expected}");
        }
    }

    #[test]
    fn retry_after_is_read_from_seconds_dates_and_sentry_limits() {
        let mut h = http::HeaderMap::new();
        h.insert("retry-after", "7".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        h.insert(
            "x-sentry-rate-limits",
            "60:error:org, 2::key".parse().unwrap(),
        );
        assert_eq!(retry_after(&h), Some(Duration::from_secs(60)));
        let mut h = http::HeaderMap::new();
        h.insert(
            "retry-after",
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
        let e = classify(http::StatusCode::TOO_MANY_REQUESTS, &{
            let mut h = http::HeaderMap::new();
            h.insert("retry-after", "3".parse().unwrap());
            h
        })
        .unwrap_err();
        assert_eq!(e.retry, Retry::After(Duration::from_secs(3)));
        assert_eq!(
            classify(http::StatusCode::BAD_REQUEST, &http::HeaderMap::new())
                .unwrap_err()
                .retry,
            Retry::Never
        );
        assert_eq!(
            classify(http::StatusCode::BAD_GATEWAY, &http::HeaderMap::new())
                .unwrap_err()
                .retry,
            Retry::Backoff
        );
        assert_eq!(
            backoff(&ExportSettings::default(), 1),
            Duration::from_millis(500)
        );
        assert_eq!(
            backoff(&ExportSettings::default(), 40),
            Duration::from_secs(30)
        );
    }
}
