//! The guard of a service with every exporter on, each pointed at an endpoint that never
//! answers, dropped with no async runtime at all (as at the end of a plain `main`): it comes back
//! within the shutdown timeout's reach and the drops are counted. (The current-thread runtime
//! case is in `exporter_faults.rs`; `init` runs once per process, hence a file of its own.)
#![cfg(all(feature = "sentry", feature = "otlp", feature = "loki"))]

mod receivers;

use std::time::Duration;

use obs_service::Config;
use obs_service::export::ExportSettings;
use obs_service::loki::LokiConfig;
use obs_service::otlp::OtlpConfig;
use obs_service::sentry::SentryConfig;
use receivers::{Mode, Receiver, finishes_within};

#[test]
fn the_guard_never_hangs_without_a_runtime() {
    let hang = Receiver::start(Mode::Hang);
    let url = hang.url();
    let settings = ExportSettings {
        queue_capacity: 20,
        max_batch: 10,
        linger: Duration::ZERO,
        request_timeout: Duration::from_secs(60),
        ..ExportSettings::default()
    };
    let (counts, text) =
        finishes_within(Duration::from_secs(20), "dropping the guard", move || {
            assert!(tokio::runtime::Handle::try_current().is_err());
            let obs = Config::new("no-runtime")
                .log_filter("warn")
                .loki(LokiConfig::new(&url).export_settings(settings.clone()))
                .otlp(OtlpConfig::new(&url).export_settings(settings.clone()))
                .sentry(
                    SentryConfig::new(url.replace("http://", "http://k@") + "/1")
                        .export_settings(settings),
                )
                .shutdown_timeout(Duration::from_secs(1))
                .init()
                .unwrap();
            for i in 0..200 {
                tracing::warn_span!("work", i).in_scope(|| tracing::warn!(i, "stuck"));
                sentry::capture_message("stuck", sentry::Level::Error);
            }
            let metrics = obs.metrics().clone();
            let counts: Vec<(u64, u64)> = ["loki", "otlp", "sentry"]
                .iter()
                .map(|e| {
                    let h = obs.exporter(e).unwrap();
                    (h.queued(), h.dropped())
                })
                .collect();
            drop(obs);
            (counts, metrics.render())
        });
    for (exporter, (queued, dropped_before)) in ["loki", "otlp", "sentry"].iter().zip(counts) {
        // The queue's bound plus the batch in flight, at most.
        assert!((1..=30).contains(&queued), "{exporter}: {queued} queued");
        assert!(
            dropped_before >= 200 - 30,
            "{exporter}: {dropped_before} dropped"
        );
        // Summed over the reasons: queue_full while it ran, shutdown for what was left.
        let line = format!("obs_exporter_dropped_total{{exporter=\"{exporter}\",reason=");
        let counted: u64 = text
            .lines()
            .filter_map(|l| l.strip_prefix(&line))
            .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
            .sum();
        assert!(counted >= dropped_before, "{exporter}: {counted} counted");
    }
}
