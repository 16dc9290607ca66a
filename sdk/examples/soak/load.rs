//! The load: the request mix, driven closed-loop (capacity) or open-loop at a fixed rate
//! (the soak), tallied per minute.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use hdrhistogram::Histogram;
use http_body_util::Full;

use crate::client::send;

/// Requests per cycle of the mix.
const MIX_LEN: u64 = 20;

/// The `k`-th request of the mix and the status it should get.
fn request(k: u64) -> (hyper::Request<Full<Bytes>>, u16) {
    let id = k % 1000;
    let get = |path: String| {
        hyper::Request::get(path)
            .header("host", "127.0.0.1")
            .body(Full::new(Bytes::new()))
            .unwrap()
    };
    match k % MIX_LEN {
        0 | 2 | 4 | 6 | 9 | 11 | 13 | 16 => (get(format!("/users/{id}")), 200),
        1 | 10 | 17 => (get("/".into()), 200),
        3 | 12 | 18 => (
            hyper::Request::post("/items")
                .header("host", "127.0.0.1")
                .header("content-type", "application/json")
                .header("x-user-id", format!("soak-{id}"))
                .body(Full::new(Bytes::from_static(br#"{"sku":"soak","qty":1}"#)))
                .unwrap(),
            201,
        ),
        5 | 14 => (get("/fail".into()), 500),
        7 | 15 => (get(format!("/no/such/route/{id}")), 404),
        8 => (get(format!("/users/u{id}")), 404),
        _ => (get("/health/ready".into()), 200),
    }
}

/// What one minute (or the capacity run) of load saw.
pub(crate) struct Tally {
    pub(crate) latency_us: Histogram<u64>,
    pub(crate) requests: u64,
    /// Failed connections or an unexpected status.
    pub(crate) errors: u64,
}

impl Tally {
    pub(crate) fn new() -> Self {
        Tally {
            latency_us: Histogram::new_with_bounds(1, 120_000_000, 3).unwrap(),
            requests: 0,
            errors: 0,
        }
    }

    pub(crate) fn add(&mut self, other: &Tally) {
        self.latency_us.add(&other.latency_us).unwrap();
        self.requests += other.requests;
        self.errors += other.errors;
    }

    fn reset(&mut self) {
        self.latency_us.reset();
        self.requests = 0;
        self.errors = 0;
    }

    pub(crate) fn ms(&self, quantile: f64) -> f64 {
        self.latency_us.value_at_quantile(quantile) as f64 / 1000.0
    }
}

/// Closed loop (each request as soon as the last answered), or open loop at a fixed rate.
#[derive(Clone, Copy)]
pub(crate) enum Pace {
    Closed,
    Open { rate: f64 },
}

/// Drives `connections` connections from `start` to `until`; tallies per minute into
/// `minutes` (index: minutes since `start`).
pub(crate) async fn load(
    addr: SocketAddr,
    connections: usize,
    pace: Pace,
    start: Instant,
    until: Instant,
    minutes: Arc<Mutex<Vec<Tally>>>,
) {
    let mut workers = tokio::task::JoinSet::new();
    for worker in 0..connections {
        let minutes = minutes.clone();
        workers.spawn(async move {
            let mut sender = None;
            let mut local = Tally::new();
            let mut local_minute = 0usize;
            let mut flushed = Instant::now();
            let flush = |local: &mut Tally, minute: usize| {
                let mut minutes = minutes.lock().unwrap();
                while minutes.len() <= minute {
                    minutes.push(Tally::new());
                }
                minutes[minute].add(local);
                local.reset();
            };
            for n in 0u64.. {
                let k = n * connections as u64 + worker as u64;
                // Each connection takes every `connections`-th slot of one schedule, so the
                // whole load arrives at `rate` whatever the answers do.
                let due = match pace {
                    Pace::Closed => Instant::now(),
                    Pace::Open { rate } => start + Duration::from_secs_f64(k as f64 / rate),
                };
                if due >= until {
                    break;
                }
                if due > Instant::now() {
                    tokio::time::sleep_until(due.into()).await;
                }
                let minute = (due.saturating_duration_since(start).as_secs() / 60) as usize;
                if minute != local_minute || flushed.elapsed() > Duration::from_secs(1) {
                    flush(&mut local, local_minute);
                    local_minute = minute;
                    flushed = Instant::now();
                }
                let (req, expected) = request(k);
                let ok =
                    matches!(send(addr, &mut sender, req).await, Some((s, _)) if s == expected);
                let latency = due.elapsed().as_micros().max(1) as u64;
                local.latency_us.saturating_record(latency);
                local.requests += 1;
                if !ok {
                    local.errors += 1;
                    if sender.is_none() {
                        // The demo is not there: do not spin.
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
            }
            flush(&mut local, local_minute);
        });
    }
    while workers.join_next().await.is_some() {}
}
