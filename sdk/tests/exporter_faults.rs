//! The exporters never hurt the service: with the endpoint refusing connections, hanging,
//! answering 500 or 429, the queue stays bounded, what does not fit is dropped and counted in
//! `obs_exporter_dropped_total{exporter, reason}`, retries back off (honouring `Retry-After`),
//! a rejected batch is dropped at once, and shutdown keeps its deadline on a multi-thread
//! runtime, a current-thread runtime or none.
#![cfg(all(feature = "sentry", feature = "otlp", feature = "loki"))]

mod receivers;

use std::sync::Arc;
use std::time::{Duration, Instant};

use obs_service::catalogue::DropReason;
use obs_service::export::{ExportSettings, ExporterHandle};
use obs_service::loki::{LokiConfig, LokiLayer};
use obs_service::otlp::{OtlpConfig, OtlpPipeline, OtlpProtocol};
use obs_service::sentry::{SentryConfig, SentryReporter};
use obs_service::{Config, Metrics};
use receivers::{Mode, Receiver, finishes_within, refusing_url};
use tracing_subscriber::layer::SubscriberExt as _;

/// How many items each test produces: far more than the queue holds.
const SENT: u64 = 1000;
const QUEUE: usize = 20;
const BATCH: usize = 10;

/// A small queue, and a first retry far enough away that nothing drains while a test fills it.
fn settings() -> ExportSettings {
    ExportSettings {
        queue_capacity: QUEUE,
        max_batch: BATCH,
        linger: Duration::ZERO,
        request_timeout: Duration::from_secs(30),
        initial_backoff: Duration::from_secs(20),
        max_backoff: Duration::from_secs(20),
        ..ExportSettings::default()
    }
}

#[derive(Debug, Clone, Copy)]
enum Fault {
    Refused,
    Hang,
    Error500,
    TooMany,
}

const FAULTS: [Fault; 4] = [Fault::Refused, Fault::Hang, Fault::Error500, Fault::TooMany];

/// The endpoint URL for `fault` (and the receiver behind it, kept alive by the caller).
fn endpoint(fault: Fault) -> (String, Option<Receiver>) {
    let mode = match fault {
        Fault::Refused => return (refusing_url(), None),
        Fault::Hang => Mode::Hang,
        Fault::Error500 => Mode::Status(500),
        Fault::TooMany => Mode::TooMany {
            retry_after_secs: 60,
        },
    };
    let receiver = Receiver::start(mode);
    (receiver.url(), Some(receiver))
}

fn config() -> Config {
    Config::new("faulty")
        .env("test")
        .shutdown_timeout(Duration::from_millis(500))
}

/// `obs_exporter_dropped_total{exporter}`, summed over the reasons.
fn dropped_metric(metrics: &Metrics, exporter: &str) -> u64 {
    let text = metrics.render();
    let prefix = format!("obs_exporter_dropped_total{{exporter=\"{exporter}\",reason=");
    let counts: Vec<u64> = text
        .lines()
        .filter_map(|l| l.strip_prefix(&prefix))
        .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
        .collect();
    assert!(!counts.is_empty(), "no {prefix} in\n{text}");
    counts.iter().sum()
}

/// At most the queue plus one batch in flight was held; everything else was dropped, counted,
/// and the shutdown came back (within a generous bound: it must not hang).
fn check_bounded(handle: Arc<ExporterHandle>, metrics: &Metrics, fault: Fault) {
    let held = (QUEUE + BATCH) as u64;
    assert!(
        handle.queued() <= held,
        "{fault:?}: {} queued",
        handle.queued()
    );
    assert!(
        handle.dropped() >= SENT - held,
        "{fault:?}: {} dropped",
        handle.dropped()
    );
    let exporter = handle.exporter();
    let shut = handle.clone();
    finishes_within(Duration::from_secs(10), "shutdown", move || {
        shut.shutdown(Instant::now() + Duration::from_millis(500))
    });
    assert!(
        dropped_metric(metrics, exporter) >= SENT - held,
        "{fault:?}"
    );
    assert_eq!(handle.sent(), 0, "{fault:?}");
}

#[test]
fn loki_faults_bound_memory_and_count_drops() {
    for fault in FAULTS {
        let (url, _receiver) = endpoint(fault);
        let metrics = Metrics::new();
        let loki = LokiConfig::new(url).export_settings(settings());
        let (layer, handle) = LokiLayer::new(&loki, &config(), &metrics).unwrap();
        let handle = Arc::new(handle);
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, || {
            for i in 0..SENT {
                tracing::info!(i, "a line");
            }
        });
        check_bounded(handle, &metrics, fault);
    }
}

#[test]
fn otlp_faults_bound_memory_and_count_drops() {
    for protocol in [OtlpProtocol::HttpProtobuf, OtlpProtocol::Grpc] {
        for fault in FAULTS {
            let (url, _receiver) = endpoint(fault);
            let metrics = Metrics::new();
            let otlp = OtlpConfig::new(url)
                .protocol(protocol)
                .export_settings(settings());
            let pipeline = OtlpPipeline::new(&otlp, &config(), &metrics).unwrap();
            let subscriber = tracing_subscriber::registry().with(pipeline.layer());
            tracing::subscriber::with_default(subscriber, || {
                for i in 0..SENT {
                    tracing::info_span!("work", i).in_scope(|| {});
                }
            });
            let handle = pipeline.handle();
            assert!(handle.queued() <= (QUEUE + BATCH) as u64, "{protocol:?}");
            assert!(
                handle.dropped() >= SENT - (QUEUE + BATCH) as u64,
                "{protocol:?}"
            );
            finishes_within(Duration::from_secs(10), "shutdown", move || {
                pipeline.shutdown(Instant::now() + Duration::from_millis(500));
            });
            assert!(dropped_metric(&metrics, "otlp") >= SENT - (QUEUE + BATCH) as u64);
        }
    }
}

#[test]
fn sentry_faults_bound_memory_and_count_drops() {
    for fault in FAULTS {
        let (url, _receiver) = endpoint(fault);
        let dsn = url.replace("http://", "http://public@") + "/42";
        let metrics = Metrics::new();
        let sentry = SentryConfig::new(dsn).export_settings(settings());
        let (client, handle) = SentryReporter::client(&sentry, &config(), &metrics).unwrap();
        let hub = Arc::new(sentry::Hub::new(
            Some(Arc::new(client)),
            Arc::new(Default::default()),
        ));
        sentry::Hub::run(hub, || {
            for i in 0..SENT {
                sentry::capture_message(&format!("failure {i}"), sentry::Level::Error);
            }
        });
        check_bounded(handle, &metrics, fault);
    }
}

/// Sends one line into `mode` with quick retries until the receiver has `attempts`
/// requests, then lets it accept; returns the requests.
fn loki_retries(mode: Mode, settings: ExportSettings, attempts: usize) -> Vec<receivers::Captured> {
    let receiver = Receiver::start(mode);
    let metrics = Metrics::new();
    let loki = LokiConfig::new(receiver.url()).export_settings(settings);
    let (layer, handle) = LokiLayer::new(&loki, &config(), &metrics).unwrap();
    let subscriber = tracing_subscriber::registry().with(layer);
    tracing::subscriber::with_default(subscriber, || tracing::info!("one line"));
    let requests = receiver.wait_for("the retries", |r| r.len() >= attempts);
    receiver.set_mode(Mode::Accept);
    assert!(handle.flush(Duration::from_secs(20)));
    assert_eq!((handle.sent(), handle.dropped()), (1, 0));
    assert!(handle.send_failures() >= attempts as u64 - 1);
    assert_eq!(dropped_metric(&metrics, "loki"), 0);
    requests
}

#[test]
fn failures_are_retried_until_the_endpoint_recovers() {
    let settings = ExportSettings {
        linger: Duration::ZERO,
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(50),
        ..ExportSettings::default()
    };
    // More attempts than the old fixed limit of five allowed.
    let requests = loki_retries(Mode::Status(500), settings, 8);
    // The same batch each time.
    assert!(requests.iter().all(|r| r.body == requests[0].body));
}

#[test]
fn a_429_retry_after_is_honoured() {
    let settings = ExportSettings {
        linger: Duration::ZERO,
        // Without Retry-After the retry would come almost at once.
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(1),
        ..ExportSettings::default()
    };
    let requests = loki_retries(
        Mode::TooMany {
            retry_after_secs: 1,
        },
        settings,
        2,
    );
    assert!(requests[1].at - requests[0].at >= Duration::from_secs(1));
}

#[test]
fn a_rejected_batch_is_dropped_at_once_and_counted() {
    let receiver = Receiver::start(Mode::Status(400));
    let metrics = Metrics::new();
    let loki = LokiConfig::new(receiver.url()).export_settings(ExportSettings {
        linger: Duration::ZERO,
        ..ExportSettings::default()
    });
    let (layer, handle) = LokiLayer::new(&loki, &config(), &metrics).unwrap();
    let subscriber = tracing_subscriber::registry().with(layer);
    tracing::subscriber::with_default(subscriber, || tracing::info!("refused"));
    assert!(handle.flush(Duration::from_secs(20)));
    assert_eq!(receiver.requests().len(), 1, "a rejection is not retried");
    assert_eq!(handle.dropped_for(DropReason::Rejected), 1);
    let series = r#"obs_exporter_dropped_total{exporter="loki",reason="rejected"} 1"#;
    assert!(metrics.render().lines().any(|l| l == series));
}

/// The whole `init`, every exporter pointed at an endpoint that never answers, the guard
/// dropped inside a current-thread runtime: it comes back, and the drops are on `/metrics`.
#[test]
fn the_guard_never_hangs_on_a_current_thread_runtime() {
    let hang = Receiver::start(Mode::Hang);
    let url = hang.url();
    finishes_within(Duration::from_secs(20), "dropping the guard", move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let obs = config()
                .loki(LokiConfig::new(&url).export_settings(settings()))
                .otlp(OtlpConfig::new(&url).export_settings(settings()))
                .sentry(
                    SentryConfig::new(url.replace("http://", "http://k@") + "/1")
                        .export_settings(settings()),
                )
                .shutdown_timeout(Duration::from_secs(1))
                .init()
                .unwrap();
            for i in 0..SENT {
                tracing::info_span!("work", i).in_scope(|| tracing::info!(i, "a line"));
            }
            sentry::capture_message("one event", sentry::Level::Error);
            for exporter in ["loki", "otlp", "sentry"] {
                let handle = obs.exporter(exporter).unwrap();
                assert!(handle.accepted() >= 1, "{exporter}");
            }
            assert!(obs.exporter("loki").unwrap().dropped() >= SENT - (QUEUE + BATCH) as u64);
            let metrics = obs.metrics().clone();
            // Dropped here, on the runtime's only thread, while the endpoint hangs.
            drop(obs);
            assert!(dropped_metric(&metrics, "loki") >= SENT - (QUEUE + BATCH) as u64);
            assert!(dropped_metric(&metrics, "otlp") >= SENT - (QUEUE + BATCH) as u64);
        });
    });
}

/// Shutting an exporter down from inside a multi-thread runtime, and from a plain thread with
/// no runtime at all, both come back by the deadline.
#[test]
fn shutdown_returns_on_a_multi_thread_runtime_and_without_one() {
    let hang = Receiver::start(Mode::Hang);
    let start = |url: &str| {
        let metrics = Metrics::new();
        let loki = LokiConfig::new(url).export_settings(settings());
        let (layer, handle) = LokiLayer::new(&loki, &config(), &metrics).unwrap();
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, || tracing::info!("stuck"));
        handle
    };
    let handle = start(&hang.url());
    finishes_within(
        Duration::from_secs(10),
        "shutdown without a runtime",
        move || handle.shutdown(Instant::now() + Duration::from_millis(300)),
    );
    let handle = start(&hang.url());
    finishes_within(
        Duration::from_secs(10),
        "shutdown on a multi-thread runtime",
        move || {
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(async move { drop(handle) })
        },
    );
}
