//! A bounded, batching, non-blocking writer for log lines.
//!
//! Why not `tracing_appender::non_blocking`: it hands every line to its worker through a channel,
//! waking the worker thread per line when it sleeps, and the worker then writes each line with
//! its own `write` call. On a service answering tens of thousands of requests a second that is
//! a futex wake and a syscall per access line, which costs more than formatting the line. This
//! writer appends lines to a shared buffer under a mutex (no syscall on the request path) and a
//! worker writes whole batches: every [`BatchWriterBuilder::interval`], or sooner when the buffer
//! passes [`BatchWriterBuilder::flush_at`]. It keeps tracing-appender's guarantees: bounded
//! memory (lines past [`BatchWriterBuilder::limit`] are dropped and counted), and a guard that
//! flushes on drop with a deadline.
//!
//! ```
//! use std::io::Write;
//! use tracing_subscriber::fmt::MakeWriter;
//!
//! let sink = obs_service::logging::MemoryWriter::new();
//! let (writer, guard) = obs_service::writer::BatchWriter::builder().finish(sink.clone());
//! writer.make_writer().write_all(b"{\"message\":\"hi\"}\n").unwrap();
//! drop(guard); // flushes
//! assert_eq!(sink.json_lines()[0]["message"], "hi");
//! ```

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

/// The writing half: cheap to clone, a [`MakeWriter`] for [`JsonLayer`](crate::logging::JsonLayer).
#[derive(Clone, Debug)]
pub struct BatchWriter {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    wake: Condvar,
    /// Signalled each time the worker has written a batch.
    written: Condvar,
    /// The worker thread, which must never wait for itself in [`BatchWriter::flush`].
    worker: std::sync::OnceLock<std::thread::ThreadId>,
    limit: usize,
    flush_at: usize,
    dropped: AtomicU64,
}

#[derive(Debug, Default)]
struct State {
    buf: Vec<u8>,
    closed: bool,
    /// Whether the worker holds a batch it has not finished writing.
    writing: bool,
}

/// Options of a [`BatchWriter`].
#[derive(Debug, Clone)]
pub struct BatchWriterBuilder {
    limit: usize,
    flush_at: usize,
    interval: Duration,
    shutdown_timeout: Duration,
    thread_name: String,
}

impl Default for BatchWriterBuilder {
    fn default() -> Self {
        Self {
            limit: 16 * 1024 * 1024,
            flush_at: 64 * 1024,
            interval: Duration::from_millis(50),
            shutdown_timeout: Duration::from_secs(5),
            thread_name: "obs-log-writer".into(),
        }
    }
}

impl BatchWriterBuilder {
    /// Bytes the buffer may hold before new lines are dropped and counted (default 16 MiB): what
    /// a stalled sink (a full pipe, a slow disk) can cost in memory.
    pub fn limit(mut self, bytes: usize) -> Self {
        self.limit = bytes.max(1);
        self
    }

    /// Buffered bytes that wake the worker before its interval ends (default 64 KiB).
    pub fn flush_at(mut self, bytes: usize) -> Self {
        self.flush_at = bytes.max(1);
        self
    }

    /// How often the worker writes what has accumulated (default 50 ms): the longest a line
    /// waits before it reaches the sink.
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval.max(Duration::from_millis(1));
        self
    }

    /// How long dropping the guard waits for the last batch to be written (default 5 s).
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// The worker thread's name.
    pub fn thread_name(mut self, name: impl Into<String>) -> Self {
        self.thread_name = name.into();
        self
    }

    /// Starts the worker writing to `sink`.
    pub fn finish<W: Write + Send + 'static>(self, mut sink: W) -> (BatchWriter, BatchWriterGuard) {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
            written: Condvar::new(),
            worker: std::sync::OnceLock::new(),
            limit: self.limit,
            flush_at: self.flush_at,
            dropped: AtomicU64::new(0),
        });
        let (done_tx, done_rx) = mpsc::channel();
        let worker = shared.clone();
        let interval = self.interval;
        let thread = std::thread::Builder::new()
            .name(self.thread_name)
            .spawn(move || {
                let _ = worker.worker.set(std::thread::current().id());
                let mut batch = Vec::new();
                loop {
                    let closed = {
                        let mut state = worker.state.lock().unwrap_or_else(|e| e.into_inner());
                        if state.buf.is_empty() && !state.closed {
                            state = worker
                                .wake
                                .wait_timeout(state, interval)
                                .unwrap_or_else(|e| e.into_inner())
                                .0;
                        }
                        std::mem::swap(&mut batch, &mut state.buf);
                        state.writing = !batch.is_empty();
                        state.closed
                    };
                    if !batch.is_empty() {
                        // A sink that fails (stdout closed) loses this batch; there is no one
                        // to tell but the drop counter.
                        if sink.write_all(&batch).and_then(|()| sink.flush()).is_err() {
                            let lines = batch.iter().filter(|&&b| b == b'\n').count();
                            worker.dropped.fetch_add(lines as u64, Ordering::Relaxed);
                        }
                        batch.clear();
                        worker
                            .state
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .writing = false;
                        worker.written.notify_all();
                    }
                    if closed
                        && worker
                            .state
                            .lock()
                            .map(|s| s.buf.is_empty())
                            .unwrap_or(true)
                    {
                        break;
                    }
                }
                let _ = done_tx.send(());
            })
            .expect("spawning the log writer thread");
        let guard = BatchWriterGuard {
            shared: shared.clone(),
            done: done_rx,
            thread: Some(thread),
            timeout: self.shutdown_timeout,
        };
        (BatchWriter { shared }, guard)
    }
}

impl BatchWriter {
    /// Options, starting from the defaults.
    pub fn builder() -> BatchWriterBuilder {
        BatchWriterBuilder::default()
    }

    /// Waits until every line written so far has reached the sink, or `timeout` passed;
    /// returns whether they did. The panic hook calls it, so a panic's line is out before a
    /// process built with `panic = "abort"` ends. Returns at once on the writer's own thread.
    pub fn flush(&self, timeout: std::time::Duration) -> bool {
        let shared = &*self.shared;
        if shared.worker.get() == Some(&std::thread::current().id()) {
            return false;
        }
        let deadline = std::time::Instant::now() + timeout;
        let mut state = shared.state.lock().unwrap_or_else(|e| e.into_inner());
        shared.wake.notify_one();
        while !state.buf.is_empty() || state.writing {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return false;
            }
            state = shared
                .written
                .wait_timeout(state, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        true
    }

    /// Lines dropped so far because the buffer was full or the sink failed.
    pub fn dropped_lines(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }
}

/// One write into the buffer. [`JsonLayer`](crate::logging::JsonLayer) writes each line with a
/// single `write_all`, so a line is kept or dropped whole.
#[derive(Debug)]
pub struct BatchLine<'a>(&'a Shared);

impl Write for BatchLine<'_> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let mut state = self.0.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.closed || state.buf.len() + data.len() > self.0.limit {
            drop(state);
            self.0.dropped.fetch_add(1, Ordering::Relaxed);
            return Ok(data.len());
        }
        let was_below = state.buf.len() < self.0.flush_at;
        state.buf.extend_from_slice(data);
        let wake = was_below && state.buf.len() >= self.0.flush_at;
        drop(state);
        if wake {
            self.0.wake.notify_one();
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for BatchWriter {
    type Writer = BatchLine<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        BatchLine(&self.shared)
    }
}

/// Stops the worker when dropped, after it wrote what was buffered or the shutdown timeout
/// passed, whichever comes first. Bind it for the life of the program (`let _guard = …`, not
/// `let _ = …`, which drops it at once).
#[derive(Debug)]
#[must_use = "dropping the guard stops the writer"]
pub struct BatchWriterGuard {
    shared: Arc<Shared>,
    done: mpsc::Receiver<()>,
    thread: Option<JoinHandle<()>>,
    timeout: Duration,
}

impl Drop for BatchWriterGuard {
    fn drop(&mut self) {
        self.shared
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .closed = true;
        self.shared.wake.notify_one();
        if self.done.recv_timeout(self.timeout).is_ok()
            && let Some(thread) = self.thread.take()
        {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logging::MemoryWriter;

    #[test]
    fn lines_arrive_in_order_and_the_guard_flushes() {
        let sink = MemoryWriter::new();
        let (writer, guard) = BatchWriter::builder()
            .interval(Duration::from_secs(3600))
            .finish(sink.clone());
        for i in 0..1000 {
            writeln!(writer.make_writer(), "{{\"n\":{i}}}").unwrap();
        }
        drop(guard);
        let lines = sink.json_lines();
        assert_eq!(lines.len(), 1000);
        assert!(lines.iter().enumerate().all(|(i, l)| l["n"] == i));
        assert_eq!(writer.dropped_lines(), 0);
    }

    #[test]
    fn flush_waits_until_the_sink_has_every_line() {
        let sink = MemoryWriter::new();
        let (writer, _guard) = BatchWriter::builder()
            .interval(Duration::from_secs(3600))
            .finish(sink.clone());
        for i in 0..3 {
            writeln!(writer.make_writer(), "{{\"n\":{i}}}").unwrap();
        }
        assert!(writer.flush(Duration::from_secs(10)));
        assert_eq!(sink.json_lines().len(), 3);
        // Nothing buffered: returns at once.
        assert!(writer.flush(Duration::ZERO));
    }

    #[test]
    fn the_interval_bounds_how_long_a_line_waits() {
        let sink = MemoryWriter::new();
        let (writer, _guard) = BatchWriter::builder()
            .interval(Duration::from_millis(10))
            .finish(sink.clone());
        writer.make_writer().write_all(b"{}\n").unwrap();
        let start = std::time::Instant::now();
        while sink.contents().is_empty() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "line never written"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// A sink that blocks until released, like a full pipe.
    struct Stuck(Arc<(Mutex<bool>, Condvar)>);

    impl Write for Stuck {
        fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
            let (lock, cond) = &*self.0;
            let mut released = lock.lock().unwrap();
            while !*released {
                released = cond.wait(released).unwrap();
            }
            Ok(data.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_stuck_sink_costs_bounded_memory_and_never_blocks_the_writer() {
        let gate = Arc::new((Mutex::new(false), Condvar::new()));
        let (writer, guard) = BatchWriter::builder()
            .limit(10_000)
            .flush_at(100)
            .interval(Duration::from_millis(1))
            .shutdown_timeout(Duration::from_millis(200))
            .finish(Stuck(gate.clone()));
        let line = [b'x'; 99];
        // The worker takes one batch and blocks on it; everything past the limit is dropped.
        for _ in 0..100_000 {
            writer.make_writer().write_all(&line).unwrap();
        }
        let buffered = writer.shared.state.lock().unwrap().buf.len();
        assert!(buffered <= 10_000, "buffer grew to {buffered}");
        assert!(
            writer.dropped_lines() > 90_000,
            "{}",
            writer.dropped_lines()
        );
        // Shutdown gives up after its deadline instead of hanging on the stuck sink.
        let start = std::time::Instant::now();
        drop(guard);
        assert!(start.elapsed() < Duration::from_secs(5));
        *gate.0.lock().unwrap() = true;
        gate.1.notify_all();
    }
}
