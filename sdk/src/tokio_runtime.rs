//! The Tokio runtime's own counts on `/metrics` (feature `tokio-runtime`).
//!
//! Tokio keeps counts of its runtime that stable Rust can read: the workers, the tasks alive,
//! the depth of the global queue, and for each worker the time it was busy and how often it
//! parked. [`Metrics::observe_runtime`] reads them at every scrape, so they cost nothing
//! between scrapes and nothing at all without the feature:
//!
//! | series | kind | what it says |
//! |---|---|---|
//! | `tokio_runtime_workers` | gauge | worker threads |
//! | `tokio_runtime_alive_tasks` | gauge | tasks spawned and not finished |
//! | `tokio_runtime_global_queue_depth` | gauge | tasks waiting in the shared queue |
//! | `tokio_runtime_worker_busy_seconds_total` | counter | time the workers were busy, summed |
//! | `tokio_runtime_worker_parks_total` | counter | times the workers went to sleep, summed |
//!
//! `rate(tokio_runtime_worker_busy_seconds_total[5m]) / tokio_runtime_workers` is how busy the
//! workers are, from 0 to 1; a global queue that stays long means they cannot keep up.
//!
//! A server that runs several runtimes (actix-web runs one single-threaded runtime per worker)
//! observes each of them: the series are their sums, so the busy fraction is that of all the
//! workers together.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let metrics = obs_service::Metrics::new();
//! metrics.observe_runtime(&tokio::runtime::Handle::current());
//! assert!(metrics.render().contains("tokio_runtime_workers 1"));
//! # }
//! ```

use std::fmt::Write as _;

use crate::Metrics;
use crate::catalogue::{self, Metric, MetricKind};
use crate::exposition::Collect;

impl Metrics {
    /// Renders the counts of the Tokio runtime `handle` at every scrape (see
    /// [`tokio_runtime`](crate::tokio_runtime)). Call it once per runtime, from inside it:
    /// `metrics.observe_runtime(&tokio::runtime::Handle::current())`; with several runtimes,
    /// once in each, and the series are their sums.
    pub fn observe_runtime(&self, handle: &tokio::runtime::Handle) {
        self.with_collector(Runtimes::default, |runtimes| {
            runtimes
                .0
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(handle.metrics());
        });
    }
}

/// The runtimes whose counts are rendered, summed.
#[derive(Default)]
struct Runtimes(std::sync::Mutex<Vec<tokio::runtime::RuntimeMetrics>>);

/// The counts of the series, summed over the runtimes.
#[derive(Default)]
struct Counts {
    workers: usize,
    alive_tasks: usize,
    global_queue_depth: usize,
    busy: f64,
    parks: u64,
}

impl Collect for Runtimes {
    fn collect(&self, out: &mut String) {
        let runtimes = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let mut counts = Counts::default();
        for metrics in runtimes.iter() {
            let workers = metrics.num_workers();
            counts.workers += workers;
            counts.alive_tasks += metrics.num_alive_tasks();
            counts.global_queue_depth += metrics.global_queue_depth();
            for worker in 0..workers {
                counts.busy += metrics.worker_total_busy_duration(worker).as_secs_f64();
                counts.parks += metrics.worker_park_count(worker);
            }
        }
        series(out, &catalogue::TOKIO_WORKERS, counts.workers as f64);
        series(
            out,
            &catalogue::TOKIO_ALIVE_TASKS,
            counts.alive_tasks as f64,
        );
        series(
            out,
            &catalogue::TOKIO_GLOBAL_QUEUE_DEPTH,
            counts.global_queue_depth as f64,
        );
        series(out, &catalogue::TOKIO_BUSY, counts.busy);
        series(out, &catalogue::TOKIO_PARKS, counts.parks as f64);
    }
}

/// One unlabelled series with its help and type. Written here rather than through the
/// recorder: `metrics` counters hold whole numbers, and the busy time is a fraction of seconds.
fn series(out: &mut String, metric: &Metric, value: f64) {
    let kind = match metric.kind {
        MetricKind::Counter => "counter",
        MetricKind::Gauge => "gauge",
        MetricKind::Histogram => unreachable!("the runtime's counts are no histograms"),
    };
    let _ = write!(
        out,
        "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n",
        name = metric.name,
        help = metric.help,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_runtimes_counts_render_as_the_catalogue_names_them() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let metrics = Metrics::new();
        metrics.observe_runtime(runtime.handle());
        runtime.block_on(async {
            let tasks: Vec<_> = (0..20)
                .map(|_| tokio::spawn(async { tokio::task::yield_now().await }))
                .collect();
            for task in tasks {
                task.await.unwrap();
            }
        });
        let value = |text: &str, name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("{name} ")))
                .unwrap_or_else(|| panic!("{name} missing:\n{text}"))
                .parse::<f64>()
                .unwrap()
        };
        // Workers publish their counts when they park: ask until the work shows.
        let mut text = metrics.render();
        for _ in 0..100 {
            if value(&text, "tokio_runtime_worker_busy_seconds_total") > 0.0 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
            text = metrics.render();
        }
        assert_eq!(value(&text, "tokio_runtime_workers"), 2.0);
        assert!(value(&text, "tokio_runtime_alive_tasks") >= 0.0);
        assert!(value(&text, "tokio_runtime_global_queue_depth") >= 0.0);
        assert!(
            value(&text, "tokio_runtime_worker_busy_seconds_total") > 0.0,
            "{text}"
        );
        for metric in [
            &catalogue::TOKIO_WORKERS,
            &catalogue::TOKIO_BUSY,
            &catalogue::TOKIO_PARKS,
        ] {
            assert!(text.contains(&format!("# TYPE {} ", metric.name)), "{text}");
        }
    }

    #[test]
    fn several_runtimes_render_one_series_each_of_their_sums() {
        let runtimes: Vec<_> = (0..3)
            .map(|_| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap()
            })
            .collect();
        let metrics = Metrics::new();
        for runtime in &runtimes {
            runtime.block_on(async {
                metrics.observe_runtime(&tokio::runtime::Handle::current());
            });
        }
        // Tasks left alive on two of the three: the sum counts both.
        let _pending: Vec<_> = runtimes[..2]
            .iter()
            .map(|runtime| runtime.spawn(std::future::pending::<()>()))
            .collect();
        let text = metrics.render();
        for metric in [
            &catalogue::TOKIO_WORKERS,
            &catalogue::TOKIO_ALIVE_TASKS,
            &catalogue::TOKIO_GLOBAL_QUEUE_DEPTH,
            &catalogue::TOKIO_BUSY,
            &catalogue::TOKIO_PARKS,
        ] {
            assert_eq!(
                text.matches(&format!("# TYPE {} ", metric.name)).count(),
                1,
                "{text}"
            );
        }
        assert!(text.contains("\ntokio_runtime_workers 3\n"), "{text}");
        assert!(text.contains("\ntokio_runtime_alive_tasks 2\n"), "{text}");
    }
}
