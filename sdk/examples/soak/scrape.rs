//! The demo's `/metrics`: the exporter series and the CPU time of one scrape, read from the
//! Prometheus text exposition format.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use http_body_util::Full;
use hyper::client::conn::http1::SendRequest;
use obs_service::catalogue;

use crate::client::send;

/// The exporter series of one scrape.
#[derive(Debug, Clone, Default)]
pub(crate) struct Scrape {
    /// Since the soak started.
    pub(crate) at: Duration,
    dropped: BTreeMap<(String, String), f64>,
    failures: BTreeMap<String, f64>,
    queue: BTreeMap<String, f64>,
    pub(crate) cpu_seconds: f64,
}

impl Scrape {
    pub(crate) fn dropped(&self, exporter: &str) -> f64 {
        self.dropped
            .iter()
            .filter(|((e, _), _)| e == exporter)
            .map(|(_, v)| v)
            .sum()
    }

    pub(crate) fn dropped_for(&self, exporter: &str, reason: &str) -> f64 {
        self.dropped
            .get(&(exporter.to_owned(), reason.to_owned()))
            .copied()
            .unwrap_or(0.0)
    }

    pub(crate) fn queue(&self, exporter: &str) -> f64 {
        self.queue.get(exporter).copied().unwrap_or(0.0)
    }

    pub(crate) fn failures(&self, exporter: &str) -> f64 {
        self.failures.get(exporter).copied().unwrap_or(0.0)
    }
}

/// One sample line of the text format: its name, labels and value.
fn parse_sample(line: &str) -> Option<(&str, BTreeMap<&str, &str>, f64)> {
    if line.starts_with('#') {
        return None;
    }
    let (series, value) = line.rsplit_once(' ')?;
    let value = value.parse().ok()?;
    let (name, labels) = match series.split_once('{') {
        Some((name, rest)) => (name, rest.strip_suffix('}')?),
        None => (series, ""),
    };
    let labels = labels
        .split(',')
        .filter_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            Some((k.trim(), v.trim().trim_matches('"')))
        })
        .collect();
    Some((name, labels, value))
}

fn parse_scrape(text: &str, at: Duration) -> Scrape {
    use catalogue::labels::{EXPORTER, REASON};
    let mut scrape = Scrape {
        at,
        ..Scrape::default()
    };
    for (name, labels, value) in text.lines().filter_map(parse_sample) {
        let exporter = labels.get(EXPORTER).map(|e| (*e).to_owned());
        if name == catalogue::EXPORTER_DROPPED.name {
            let reason = labels.get(REASON).copied().unwrap_or("").to_owned();
            scrape
                .dropped
                .insert((exporter.unwrap_or_default(), reason), value);
        } else if name == catalogue::EXPORTER_SEND_FAILURES.name {
            scrape.failures.insert(exporter.unwrap_or_default(), value);
        } else if name == catalogue::EXPORTER_QUEUE_ITEMS.name {
            scrape.queue.insert(exporter.unwrap_or_default(), value);
        } else if name == catalogue::PROCESS_CPU_SECONDS.name {
            scrape.cpu_seconds = value;
        }
    }
    scrape
}

/// Reads the demo's `/metrics` on `sender`'s connection; `None` when it did not answer 200.
pub(crate) async fn scrape(
    addr: SocketAddr,
    sender: &mut Option<SendRequest<Full<Bytes>>>,
    start: Instant,
) -> Option<Scrape> {
    let request = hyper::Request::get(catalogue::paths::METRICS)
        .header("host", "127.0.0.1")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let (status, body) = send(addr, sender, request).await?;
    (status == 200).then(|| parse_scrape(&String::from_utf8_lossy(&body), start.elapsed()))
}
