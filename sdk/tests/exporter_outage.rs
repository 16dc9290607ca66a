//! A short outage loses nothing: while an exporter's queue has room, a failing batch is
//! retried for as long as the outage lasts. Each test points one exporter at an endpoint that
//! answers 500, then refuses connections, then hangs, for 30 s in all, and then recovers; every
//! item sent during the outage arrives exactly once and in order. A small queue loses only
//! the oldest items, counted with reason `queue_full`.
//!
//! The three outages run concurrently in one test (about 32 s of wall time).
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
use receivers::{Captured, Front, Mode, Receiver, accepted};

/// How long each kind of failure lasts: 30 s of outage in all.
const PHASE: Duration = Duration::from_secs(10);
/// One item every this long during the outage.
const EVERY: Duration = Duration::from_millis(200);

/// Retries that notice a recovery within a second, and a hang detected after one.
fn settings() -> ExportSettings {
    ExportSettings {
        linger: Duration::from_millis(50),
        request_timeout: Duration::from_secs(1),
        initial_backoff: Duration::from_millis(100),
        max_backoff: Duration::from_secs(1),
        ..ExportSettings::default()
    }
}

fn config() -> Config {
    Config::new("outage")
        .env("test")
        .shutdown_timeout(Duration::from_secs(2))
}

/// The receiver and the front the exporter talks to.
struct Endpoint {
    receiver: Receiver,
    front: Front,
}

impl Endpoint {
    fn start() -> Self {
        let receiver = Receiver::start(Mode::Status(500));
        let front = Front::start(receiver.addr);
        Endpoint { receiver, front }
    }

    /// Runs the outage (500, refused, hang) while `send(i)` is called every [`EVERY`]; then
    /// recovers. Returns how many items were sent.
    fn outage(&self, mut send: impl FnMut(u64)) -> u64 {
        let started = Instant::now();
        let mut i = 0;
        let mut phase = 0;
        while started.elapsed() < 3 * PHASE {
            let now = (started.elapsed().as_secs_f64() / PHASE.as_secs_f64()) as u32;
            if now != phase {
                phase = now;
                match phase {
                    1 => self.front.close(),
                    _ => {
                        self.receiver.set_mode(Mode::Hang);
                        self.front.open();
                    }
                }
            }
            send(i);
            i += 1;
            std::thread::sleep(EVERY);
        }
        self.receiver.set_mode(Mode::Accept);
        i
    }

    /// Waits (generously) until the accepted requests hold `sent` items by `count`.
    fn delivered(&self, sent: u64, count: impl Fn(&[Captured]) -> usize) -> Vec<Captured> {
        let until = Instant::now() + Duration::from_secs(60);
        loop {
            let requests = accepted(&self.receiver.requests());
            if count(&requests) >= sent as usize || Instant::now() >= until {
                return requests;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Every failure kind was seen by the exporter, and nothing was dropped.
fn check_lossless(handle: &ExporterHandle, sent: u64, got: &[u64]) {
    assert_eq!(got, (0..sent).collect::<Vec<_>>(), "exactly once, in order");
    assert!(handle.send_failures() >= 3, "{}", handle.send_failures());
    assert_eq!(handle.dropped(), 0);
}

/// The three outages run side by side on threads of one test: the test harness runs only as
/// many tests at once as there are cores, and the outages mostly wait.
#[test]
fn loki_otlp_and_sentry_lose_nothing_in_a_30s_outage() {
    let outages = [
        ("loki", std::thread::spawn(loki_outage)),
        ("otlp", std::thread::spawn(otlp_outage)),
        ("sentry", std::thread::spawn(sentry_outage)),
    ];
    let failed: Vec<&str> = outages
        .into_iter()
        .filter_map(|(exporter, outage)| outage.join().is_err().then_some(exporter))
        .collect();
    assert!(failed.is_empty(), "lost or repeated items: {failed:?}");
}

fn loki_outage() {
    let endpoint = Endpoint::start();
    let metrics = Metrics::new();
    let loki = LokiConfig::new(endpoint.front.url()).export_settings(settings());
    let (layer, handle) = LokiLayer::new(&loki, &config(), &metrics).unwrap();
    let subscriber =
        tracing_subscriber::layer::SubscriberExt::with(tracing_subscriber::registry(), layer);
    let sent = tracing::subscriber::with_default(subscriber, || {
        endpoint.outage(|i| tracing::info!(i, "during the outage"))
    });
    let lines = |requests: &[Captured]| -> Vec<u64> {
        receivers::loki_entries(requests)
            .iter()
            .map(|(_, entry)| {
                let line: serde_json::Value = serde_json::from_str(&entry.line).unwrap();
                line["i"].as_u64().unwrap()
            })
            .collect()
    };
    let requests = endpoint.delivered(sent, |r| lines(r).len());
    assert!(handle.flush(Duration::from_secs(30)));
    check_lossless(&handle, sent, &lines(&requests));
}

fn otlp_outage() {
    let endpoint = Endpoint::start();
    let metrics = Metrics::new();
    let otlp = OtlpConfig::new(endpoint.front.url())
        .protocol(OtlpProtocol::HttpProtobuf)
        .export_settings(settings());
    let pipeline = OtlpPipeline::new(&otlp, &config(), &metrics).unwrap();
    let subscriber = tracing_subscriber::layer::SubscriberExt::with(
        tracing_subscriber::registry(),
        pipeline.layer(),
    );
    let sent = tracing::subscriber::with_default(subscriber, || {
        endpoint.outage(|i| tracing::info_span!("work", i).in_scope(|| {}))
    });
    let spans = |requests: &[Captured]| -> Vec<u64> {
        use opentelemetry_proto::tonic::common::v1::any_value::Value;
        receivers::otlp_spans(requests)
            .iter()
            .map(|(_, span)| {
                let i = span.attributes.iter().find(|kv| kv.key == "i").unwrap();
                match i.value.as_ref().and_then(|v| v.value.as_ref()) {
                    Some(Value::IntValue(i)) => *i as u64,
                    // tracing-opentelemetry records a `u64` field as text.
                    Some(Value::StringValue(i)) => i.parse().unwrap(),
                    other => panic!("i is {other:?}"),
                }
            })
            .collect()
    };
    let requests = endpoint.delivered(sent, |r| spans(r).len());
    let handle = pipeline.handle();
    assert!(handle.flush(Duration::from_secs(30)));
    check_lossless(handle, sent, &spans(&requests));
}

fn sentry_outage() {
    let endpoint = Endpoint::start();
    let metrics = Metrics::new();
    let dsn = endpoint.front.url().replace("http://", "http://public@") + "/42";
    let sentry = SentryConfig::new(dsn).export_settings(settings());
    let (client, handle) = SentryReporter::client(&sentry, &config(), &metrics).unwrap();
    let hub = Arc::new(sentry::Hub::new(
        Some(Arc::new(client)),
        Arc::new(Default::default()),
    ));
    let sent = sentry::Hub::run(hub, || {
        endpoint.outage(|i| {
            sentry::capture_message(&format!("failure {i}"), sentry::Level::Error);
        })
    });
    let events = |requests: &[Captured]| -> Vec<u64> {
        receivers::sentry_events(requests)
            .iter()
            .map(|event| {
                let message = event["message"]
                    .as_str()
                    .or(event["logentry"]["message"].as_str());
                message
                    .unwrap()
                    .trim_start_matches("failure ")
                    .parse()
                    .unwrap()
            })
            .collect()
    };
    let requests = endpoint.delivered(sent, |r| events(r).len());
    assert!(handle.flush(Duration::from_secs(30)));
    check_lossless(&handle, sent, &events(&requests));
}

/// A queue too small for the outage keeps the newest lines: what was lost is the oldest, and
/// it is counted with its reason.
#[test]
fn a_small_queue_drops_only_the_oldest_and_counts_them() {
    const QUEUE: usize = 20;
    const SENT: u64 = 100;
    let receiver = Receiver::start(Mode::Status(500));
    let metrics = Metrics::new();
    let loki = LokiConfig::new(receiver.url()).export_settings(ExportSettings {
        queue_capacity: QUEUE,
        max_batch: 5,
        ..settings()
    });
    let (layer, handle) = LokiLayer::new(&loki, &config(), &metrics).unwrap();
    let subscriber =
        tracing_subscriber::layer::SubscriberExt::with(tracing_subscriber::registry(), layer);
    tracing::subscriber::with_default(subscriber, || {
        tracing::info!(i = 0u64, "first");
        receiver.wait_for("a failed push", |r| !r.is_empty());
        for i in 1..SENT {
            tracing::info!(i, "during the outage");
        }
    });
    receiver.set_mode(Mode::Accept);
    assert!(handle.flush(Duration::from_secs(30)));
    let got: Vec<u64> = receivers::loki_entries(&accepted(&receiver.requests()))
        .iter()
        .map(|(_, entry)| {
            let line: serde_json::Value = serde_json::from_str(&entry.line).unwrap();
            line["i"].as_u64().unwrap()
        })
        .collect();
    assert_eq!(got, (SENT - QUEUE as u64..SENT).collect::<Vec<_>>());
    let lost = SENT - QUEUE as u64;
    assert_eq!(handle.dropped_for(DropReason::QueueFull), lost);
    assert_eq!(handle.dropped(), lost);
    let series =
        format!("obs_exporter_dropped_total{{exporter=\"loki\",reason=\"queue_full\"}} {lost}");
    let text = metrics.render();
    assert!(text.lines().any(|l| l == series), "no {series} in\n{text}");
}
