//! What the queue's sending end, the worker and the handle share: the items held ([`Buffer`])
//! and the counters and signals ([`Shared`]). The queue fills the buffer, the worker drains it,
//! and both count into the same [`Shared`].

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use obs_catalogue::DropReason;
use tokio::sync::Notify;

use super::EXPORT_LOG_TARGET;
use super::settings::ExportSettings;
use crate::Metrics;

/// Items dropped so far, by reason.
#[derive(Default)]
struct Drops([AtomicU64; 3]);

impl Drops {
    fn slot(&self, reason: DropReason) -> &AtomicU64 {
        &self.0[reason as usize]
    }

    fn total(&self) -> u64 {
        self.0.iter().map(|n| n.load(Ordering::Relaxed)).sum()
    }
}

/// Counters and signals shared by the queue, the worker and the handle.
pub(super) struct Shared {
    pub(super) exporter: &'static str,
    metrics: Metrics,
    accepted: AtomicU64,
    sent: AtomicU64,
    dropped: Drops,
    reported: Drops,
    failures: AtomicU64,
    failures_reported: AtomicU64,
    /// Items accepted and not yet sent or dropped (queued or in the batch being sent).
    pending: AtomicU64,
    flush: AtomicBool,
    deadline: Mutex<Option<Instant>>,
    pub(super) wake: Notify,
}

impl Shared {
    /// Everything at zero, no flush asked for and no deadline set.
    pub(super) fn new(exporter: &'static str, metrics: Metrics) -> Self {
        Self {
            exporter,
            metrics,
            accepted: AtomicU64::new(0),
            sent: AtomicU64::new(0),
            dropped: Drops::default(),
            reported: Drops::default(),
            failures: AtomicU64::new(0),
            failures_reported: AtomicU64::new(0),
            pending: AtomicU64::new(0),
            flush: AtomicBool::new(false),
            deadline: Mutex::new(None),
            wake: Notify::new(),
        }
    }

    pub(super) fn deadline(&self) -> Option<Instant> {
        *self.deadline.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sets the shutdown deadline; an earlier one already set stays.
    pub(super) fn shorten_deadline(&self, deadline: Instant) {
        let mut slot = self.deadline.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_none_or(|d| deadline < d) {
            *slot = Some(deadline);
        }
    }

    pub(super) fn set_flush(&self, flush: bool) {
        self.flush.store(flush, Ordering::Release);
    }

    pub(super) fn urgent(&self) -> bool {
        self.flush.load(Ordering::Acquire) || self.deadline().is_some()
    }

    /// One item entered the queue.
    pub(super) fn accepted(&self) {
        self.pending.fetch_add(1, Ordering::AcqRel);
        self.accepted.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn sent(&self, n: usize) {
        self.sent.fetch_add(n as u64, Ordering::Relaxed);
        self.pending.fetch_sub(n as u64, Ordering::AcqRel);
    }

    pub(super) fn dropped(&self, n: usize, reason: DropReason) {
        self.dropped
            .slot(reason)
            .fetch_add(n as u64, Ordering::Relaxed);
        self.pending.fetch_sub(n as u64, Ordering::AcqRel);
    }

    pub(super) fn failed_attempt(&self) {
        self.failures.fetch_add(1, Ordering::Relaxed);
    }

    /// Items the queue accepted so far.
    pub(super) fn accepted_total(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
    }

    /// Items delivered so far.
    pub(super) fn sent_total(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// Items dropped so far, for any reason.
    pub(super) fn dropped_total(&self) -> u64 {
        self.dropped.total()
    }

    /// Items dropped so far for `reason`.
    pub(super) fn dropped_for(&self, reason: DropReason) -> u64 {
        self.dropped.slot(reason).load(Ordering::Relaxed)
    }

    /// Failed attempts so far.
    pub(super) fn failures_total(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }

    /// Items accepted and not yet sent or dropped.
    pub(super) fn pending(&self) -> u64 {
        self.pending.load(Ordering::Acquire)
    }

    /// Adds what was dropped and what failed since the last report to the metrics, sets the
    /// queue depth, and warns once about the drops.
    pub(super) fn report(&self) {
        let metrics = &self.metrics;
        metrics.set_queue_items(self.exporter, self.pending.load(Ordering::Acquire));
        let failures = self.failures.load(Ordering::Relaxed);
        let before = self.failures_reported.swap(failures, Ordering::Relaxed);
        if failures > before {
            metrics.record_send_failures(self.exporter, failures - before);
        }
        let mut dropped = 0;
        for reason in DropReason::ALL {
            let total = self.dropped.slot(reason).load(Ordering::Relaxed);
            let before = self.reported.slot(reason).swap(total, Ordering::Relaxed);
            if total > before {
                dropped += total - before;
                metrics.record_dropped(self.exporter, reason, total - before);
            }
        }
        if dropped > 0 {
            tracing::warn!(
                target: EXPORT_LOG_TARGET,
                exporter = self.exporter,
                dropped,
                dropped_total = self.dropped.total(),
                "exporter dropped items: its queue was full, its endpoint rejected them or the service shut down first"
            );
        }
    }
}

/// What the queue holds: the items not yet taken by the worker, and how much of the batch the
/// worker is sending still counts against the bounds.
struct State<T> {
    queued: VecDeque<(T, usize)>,
    queued_bytes: usize,
    /// Weights of the in-flight batch's items that still count, oldest first. A full queue
    /// evicts from here first: the batch in flight holds the oldest items.
    in_flight: VecDeque<usize>,
    in_flight_bytes: usize,
    /// How many of the in-flight batch's oldest items were evicted since the worker last
    /// looked; it removes them before the next attempt.
    evicted: usize,
}

impl<T> State<T> {
    fn items(&self) -> usize {
        self.queued.len() + self.in_flight.len()
    }

    fn bytes(&self) -> usize {
        self.queued_bytes + self.in_flight_bytes
    }
}

/// The queue's contents and bounds, shared by the queue's ends and the worker.
pub(super) struct Buffer<T> {
    state: Mutex<State<T>>,
    max_items: usize,
    max_bytes: usize,
    max_batch: usize,
}

impl<T> Buffer<T> {
    /// An empty buffer with the bounds of `settings`.
    pub(super) fn new(settings: &ExportSettings) -> Self {
        Self {
            state: Mutex::new(State {
                queued: VecDeque::new(),
                queued_bytes: 0,
                in_flight: VecDeque::new(),
                in_flight_bytes: 0,
                evicted: 0,
            }),
            max_items: settings.queue_capacity.max(1),
            max_bytes: settings.queue_bytes.unwrap_or(usize::MAX),
            max_batch: settings.max_batch.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Most items the worker takes at once.
    pub(super) fn max_batch(&self) -> usize {
        self.max_batch
    }

    pub(super) fn is_empty(&self) -> bool {
        self.lock().queued.is_empty()
    }

    pub(super) fn len(&self) -> usize {
        self.lock().queued.len()
    }

    /// Queues `item` of `weight` bytes. When that takes the buffer past its bounds, the oldest
    /// items make room; the newest is always kept. Returns how many queued items that dropped
    /// (evictions from the in-flight batch are the worker's to count) and how many are queued
    /// now.
    pub(super) fn push(&self, item: T, weight: usize) -> (usize, usize) {
        let mut state = self.lock();
        state.queued.push_back((item, weight));
        state.queued_bytes += weight;
        let mut dropped = 0;
        while state.items() > self.max_items
            || (state.bytes() > self.max_bytes && state.items() > 1)
        {
            if let Some(weight) = state.in_flight.pop_front() {
                // The worker still holds it and counts it when it next looks.
                state.in_flight_bytes -= weight;
                state.evicted += 1;
            } else if let Some((_, weight)) = state.queued.pop_front() {
                state.queued_bytes -= weight;
                dropped += 1;
            } else {
                break;
            }
        }
        (dropped, state.queued.len())
    }

    /// Moves up to a batch of the oldest items to the worker. They keep counting against the
    /// bounds until [`Buffer::settle`].
    pub(super) fn take(&self, batch: &mut Vec<T>) {
        let mut state = self.lock();
        while batch.len() < self.max_batch {
            let Some((item, weight)) = state.queued.pop_front() else {
                break;
            };
            state.queued_bytes -= weight;
            state.in_flight.push_back(weight);
            state.in_flight_bytes += weight;
            batch.push(item);
        }
    }

    /// How many of the in-flight batch's oldest items newer ones evicted since the last call.
    pub(super) fn take_evicted(&self) -> usize {
        std::mem::take(&mut self.lock().evicted)
    }

    /// The in-flight batch is done with (sent or dropped): it no longer counts.
    pub(super) fn settle(&self) {
        let mut state = self.lock();
        state.in_flight.clear();
        state.in_flight_bytes = 0;
        state.evicted = 0;
    }

    /// Removes everything still queued; returns how many items that was.
    pub(super) fn clear(&self) -> usize {
        let mut state = self.lock();
        let n = state.queued.len();
        state.queued.clear();
        state.queued_bytes = 0;
        n
    }
}
