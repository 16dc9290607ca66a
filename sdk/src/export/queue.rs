//! The bounded queue between the service and an exporter's worker thread, and the handle that
//! counts, flushes and shuts it down.

use std::cell::Cell;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, mpsc};

use super::{EXPORT_LOG_TARGET, ExportSettings};
use crate::Metrics;

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
pub(super) struct Shared {
    pub(super) exporter: &'static str,
    metrics: Metrics,
    accepted: AtomicU64,
    sent: AtomicU64,
    dropped: AtomicU64,
    reported: AtomicU64,
    /// Items accepted and not yet sent or dropped (queued or in the batch being sent).
    pending: AtomicU64,
    flush: AtomicBool,
    deadline: Mutex<Option<Instant>>,
    pub(super) wake: Notify,
}

impl Shared {
    pub(super) fn deadline(&self) -> Option<Instant> {
        *self.deadline.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn urgent(&self) -> bool {
        self.flush.load(Ordering::Acquire) || self.deadline().is_some()
    }

    pub(super) fn finish(&self, n: usize, sent: bool) {
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
                super::worker::run(sink, rx, &worker_shared, &settings).await;
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
}
