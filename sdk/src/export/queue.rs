//! The bounded queue between the service and an exporter's worker thread, and the handle that
//! counts, flushes and shuts it down.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use obs_catalogue::DropReason;

use super::settings::ExportSettings;
use super::shared::{Buffer, Shared};
// Where the exporters and the `export` module's own re-exports name the sink's types.
#[cfg(feature = "otlp")]
pub(crate) use super::sink::Retry;
pub(crate) use super::sink::{SendError, Sink};
use crate::Metrics;

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

/// The sending end of an exporter's queue. Cheap to clone; never blocks.
pub(crate) struct ExportQueue<T> {
    buffer: Arc<Buffer<T>>,
    shared: Arc<Shared>,
    weigh: fn(&T) -> usize,
}

impl<T> Clone for ExportQueue<T> {
    fn clone(&self) -> Self {
        Self {
            buffer: self.buffer.clone(),
            shared: self.shared.clone(),
            weigh: self.weigh,
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
    /// Queues `item`. When that takes the queue past its bounds, the oldest items make room
    /// and are counted as dropped (`queue_full`); the newest item is always kept.
    pub(crate) fn push(&self, item: T) {
        let weight = (self.weigh)(&item);
        self.shared.accepted();
        let (dropped, queued) = self.buffer.push(item, weight);
        if dropped > 0 {
            self.shared.dropped(dropped, DropReason::QueueFull);
        }
        // Wake the worker for the first item (it starts lingering) and for a full batch.
        if queued == 1 || queued == self.buffer.max_batch() {
            self.shared.wake.notify_one();
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
            .field("send_failures", &self.send_failures())
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
        self.shared.accepted_total()
    }

    /// Items delivered so far (the endpoint answered 2xx).
    pub fn sent(&self) -> u64 {
        self.shared.sent_total()
    }

    /// Items dropped so far, for any reason.
    pub fn dropped(&self) -> u64 {
        self.shared.dropped_total()
    }

    /// Items dropped so far for `reason`.
    pub fn dropped_for(&self, reason: DropReason) -> u64 {
        self.shared.dropped_for(reason)
    }

    /// Attempts to send a batch that failed so far (each retry counts).
    pub fn send_failures(&self) -> u64 {
        self.shared.failures_total()
    }

    /// Items held and not yet delivered: queued, or in the batch being sent.
    pub fn queued(&self) -> u64 {
        self.shared.pending()
    }

    /// Sends what is queued now, without waiting for a full batch; returns whether everything
    /// accepted so far was sent or dropped within `timeout`.
    pub fn flush(&self, timeout: Duration) -> bool {
        let until = Instant::now() + timeout;
        self.shared.set_flush(true);
        self.shared.wake.notify_one();
        let ok = loop {
            if self.shared.pending() == 0 {
                break true;
            }
            if Instant::now() >= until || self.finished.load(Ordering::Acquire) {
                break self.shared.pending() == 0;
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        self.shared.set_flush(false);
        self.shared.report();
        ok
    }

    /// Sends what is queued until `deadline`, then stops the worker. Returns whether the worker
    /// finished in time; either way this returns by the deadline. Later calls return at once.
    pub fn shutdown(&self, deadline: Instant) -> bool {
        self.shared.shorten_deadline(deadline);
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
    // The counters exist at 0 from the start, so a healthy exporter reads as "nothing
    // dropped" on the dashboards instead of "no data".
    for reason in DropReason::ALL {
        metrics.record_dropped(exporter, reason, 0);
    }
    metrics.record_send_failures(exporter, 0);
    metrics.set_queue_items(exporter, 0);
    let shared = Arc::new(Shared::new(exporter, metrics.clone()));
    let buffer = Arc::new(Buffer::new(settings));
    let worker_buffer = buffer.clone();
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
                super::worker::run(sink, &worker_buffer, &worker_shared, &settings).await;
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
            buffer,
            shared: shared.clone(),
            weigh: S::weight,
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

    /// A sink that fails, rejects or hangs on demand and records what it got.
    struct TestSink {
        mode: Arc<AtomicUsize>,
        got: Arc<Mutex<Vec<u32>>>,
    }

    const OK: usize = 0;
    const FAIL: usize = 1;
    const HANG: usize = 2;
    const REJECT: usize = 3;

    impl Sink for TestSink {
        type Item = u32;

        async fn send(&mut self, batch: &[u32]) -> Result<(), SendError> {
            match self.mode.load(Ordering::SeqCst) {
                OK => {
                    self.got.lock().unwrap().extend_from_slice(batch);
                    Ok(())
                }
                FAIL => Err(SendError::transient("down")),
                REJECT => Err(SendError::permanent("bad request")),
                _ => std::future::pending().await,
            }
        }

        fn weight(_item: &u32) -> usize {
            10
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

    /// Quick retries, so a test sees an endpoint recover at once.
    fn quick(queue_capacity: usize) -> ExportSettings {
        ExportSettings {
            queue_capacity,
            max_batch: 5,
            linger: Duration::ZERO,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(20),
            ..ExportSettings::default()
        }
    }

    /// Waits (generously) until the sink has failed `n` times.
    fn wait_for_failures(handle: &ExporterHandle, n: u64) {
        let until = Instant::now() + Duration::from_secs(30);
        while handle.send_failures() < n {
            assert!(
                Instant::now() < until,
                "only {} failures",
                handle.send_failures()
            );
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    fn counter(metrics: &Metrics, series: &str) -> u64 {
        let text = metrics.render();
        let prefix = format!("{series} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .unwrap_or_else(|| panic!("no {series} in:\n{text}"))
            .parse()
            .unwrap()
    }

    #[test]
    fn delivers_in_order_and_flushes() {
        let (queue, handle, _, got, _) = start(OK, ExportSettings::default());
        for i in 0..100 {
            queue.push(i);
        }
        assert!(handle.flush(Duration::from_secs(10)));
        assert_eq!(*got.lock().unwrap(), (0..100).collect::<Vec<_>>());
        assert_eq!((handle.sent(), handle.dropped()), (100, 0));
    }

    #[test]
    fn an_outage_the_queue_outlasts_loses_nothing() {
        let (queue, handle, mode, got, metrics) = start(FAIL, quick(100));
        queue.push(0);
        wait_for_failures(&handle, 1);
        for i in 1..100 {
            queue.push(i);
        }
        // Far more failures than any fixed number of attempts would allow.
        wait_for_failures(&handle, 50);
        assert_eq!(handle.queued(), 100);
        mode.store(OK, Ordering::SeqCst);
        assert!(handle.flush(Duration::from_secs(30)));
        assert_eq!(*got.lock().unwrap(), (0..100).collect::<Vec<_>>());
        assert_eq!((handle.sent(), handle.dropped()), (100, 0));
        let failures = counter(
            &metrics,
            r#"obs_exporter_send_failures_total{exporter="loki"}"#,
        );
        assert!(failures >= 50, "{failures}");
        assert_eq!(
            counter(&metrics, r#"obs_exporter_queue_items{exporter="loki"}"#),
            0
        );
    }

    /// A sink that counts its attempts and always fails.
    struct Down(Arc<AtomicUsize>);

    impl Sink for Down {
        type Item = u32;

        async fn send(&mut self, _batch: &[u32]) -> Result<(), SendError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Err(SendError::transient("down"))
        }
    }

    #[test]
    fn the_backoff_keeps_growing_while_new_items_evict_the_batch_being_retried() {
        let attempts = Arc::new(AtomicUsize::new(0));
        let settings = ExportSettings {
            queue_capacity: 10,
            max_batch: 5,
            linger: Duration::ZERO,
            initial_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_secs(2),
            ..ExportSettings::default()
        };
        let sink = Down(attempts.clone());
        let (queue, handle) = spawn(
            "loki",
            &settings,
            Duration::from_millis(10),
            &Metrics::new(),
            |_| Ok(sink),
        )
        .unwrap();
        // A busy service: a queue's worth of new items every 5 ms, so every batch being
        // retried is evicted before its next attempt, for 1.5 s.
        let until = Instant::now() + Duration::from_millis(1500);
        let mut i = 0;
        while Instant::now() < until {
            for _ in 0..10 {
                queue.push(i);
                i += 1;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        // With the delay ceiling doubling from 10 ms on every failure, whichever batch it
        // retries, 1.5 s hold about ten attempts; restarting the backoff with each new batch
        // (5 ms on average) made hundreds.
        let made = attempts.load(Ordering::SeqCst);
        assert!(made < 40, "{made} attempts in 1.5 s");
        assert!(handle.dropped_for(DropReason::QueueFull) > 0);
    }

    #[test]
    fn a_longer_outage_drops_only_the_oldest_and_counts_them() {
        let (queue, handle, mode, got, metrics) = start(FAIL, quick(10));
        queue.push(0);
        // The worker holds the oldest items in its batch while it retries.
        wait_for_failures(&handle, 1);
        for i in 1..100 {
            queue.push(i);
        }
        assert!(handle.queued() <= 10 + 5, "{}", handle.queued());
        mode.store(OK, Ordering::SeqCst);
        assert!(handle.flush(Duration::from_secs(30)));
        assert_eq!(*got.lock().unwrap(), (90..100).collect::<Vec<_>>());
        assert_eq!(handle.dropped_for(DropReason::QueueFull), 90);
        assert_eq!(handle.dropped(), 90);
        assert_eq!(
            counter(
                &metrics,
                r#"obs_exporter_dropped_total{exporter="loki",reason="queue_full"}"#
            ),
            90
        );
    }

    #[test]
    fn the_byte_bound_evicts_the_oldest_too() {
        let settings = ExportSettings {
            queue_bytes: Some(50),
            ..quick(1000)
        };
        let (queue, handle, mode, got, _) = start(FAIL, settings);
        queue.push(0);
        wait_for_failures(&handle, 1);
        for i in 1..20 {
            queue.push(i);
        }
        mode.store(OK, Ordering::SeqCst);
        assert!(handle.flush(Duration::from_secs(30)));
        // Five items of 10 bytes fit.
        assert_eq!(*got.lock().unwrap(), (15..20).collect::<Vec<_>>());
        assert_eq!(handle.dropped_for(DropReason::QueueFull), 15);
    }

    #[test]
    fn a_rejected_batch_is_dropped_at_once_and_counted_as_rejected() {
        let (queue, handle, mode, got, metrics) = start(REJECT, quick(100));
        for i in 0..3 {
            queue.push(i);
        }
        assert!(handle.flush(Duration::from_secs(10)));
        assert_eq!(handle.dropped_for(DropReason::Rejected), 3);
        assert_eq!(handle.send_failures(), 1);
        mode.store(OK, Ordering::SeqCst);
        queue.push(3);
        assert!(handle.flush(Duration::from_secs(10)));
        assert_eq!(*got.lock().unwrap(), [3]);
        assert_eq!(
            counter(
                &metrics,
                r#"obs_exporter_dropped_total{exporter="loki",reason="rejected"}"#
            ),
            3
        );
    }

    #[test]
    fn a_hanging_endpoint_bounds_the_queue_and_shutdown_keeps_its_deadline() {
        let settings = ExportSettings {
            queue_capacity: 10,
            max_batch: 5,
            linger: Duration::ZERO,
            request_timeout: Duration::from_secs(3600),
            ..ExportSettings::default()
        };
        let (queue, handle, _, _, metrics) = start(HANG, settings);
        for i in 0..1000 {
            queue.push(i);
        }
        // At most the queue's bound is held, plus items of the batch in flight that the
        // worker has not yet seen evicted.
        assert!(handle.queued() <= 15, "{}", handle.queued());
        assert!(handle.dropped_for(DropReason::QueueFull) >= 1000 - 15);
        handle.shutdown(Instant::now() + Duration::from_millis(200));
        assert_eq!(handle.accepted(), 1000);
        // The worker counts the rest just after the deadline that `shutdown` returned by.
        let until = Instant::now() + Duration::from_secs(30);
        while handle.queued() > 0 {
            assert!(Instant::now() < until, "{} never counted", handle.queued());
            std::thread::sleep(Duration::from_millis(2));
        }
        assert_eq!(handle.dropped() + handle.sent(), 1000);
        handle.shared.report();
        assert!(handle.dropped_for(DropReason::Shutdown) >= 1);
        let full = counter(
            &metrics,
            r#"obs_exporter_dropped_total{exporter="loki",reason="queue_full"}"#,
        );
        let shutdown = counter(
            &metrics,
            r#"obs_exporter_dropped_total{exporter="loki",reason="shutdown"}"#,
        );
        assert_eq!(full + shutdown, 1000);
    }
}
