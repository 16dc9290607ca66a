//! The soak run: the release demo under mixed traffic at half its capacity for a long while,
//! with the Loki and OTLP endpoints flapping, and a Markdown report of memory, latency, drops
//! and lost items. The numbers in BENCHMARKS.md ("Soak").
//!
//! ```sh
//! cargo build --release -p obs-service --all-features --example demo --example soak
//! DURATION=30m target/release/examples/soak     # or scripts/soak.sh, which builds first
//! ```
//!
//! What it does:
//!
//! 1. Starts two stand-ins on loopback, one for Loki and one for the OTLP collector (HTTP,
//!    protobuf). No real Loki or collector runs here, so each decodes every body in the real
//!    wire format (Loki's snappy-compressed `PushRequest`, OTLP's `ExportTraceServiceRequest`,
//!    with the message types of the exporter tests' receivers) and counts the lines or spans
//!    it accepted.
//! 2. Starts the demo (`DEMO_BIN`, default: the `demo` next to this program) with `LOKI_URL`
//!    and `OTEL_EXPORTER_OTLP_ENDPOINT` pointed at them, and reads its stdout: every JSON line
//!    the demo prints is a line its Loki exporter queues (except the exporters' own warnings),
//!    and every request it answers is one span, so the demo's output and the answers tell
//!    what the exporters were handed.
//! 3. Measures capacity: `CAPACITY_SECS` (default 10) of closed-loop load of the mix below on
//!    `CONNECTIONS` (default 8) keep-alive connections, the stand-ins healthy.
//! 4. Soaks: open-loop load at `LOAD_FRACTION` (default 0.5) of that rate for `DURATION`
//!    (default 30m; `90s`, `2m`, `1h` or plain seconds). Latency is measured from when each
//!    request was due, not when it went out, so a stall shows in p99 instead of slowing the
//!    load. Every `FLAP_SECS` (default 30) both stand-ins change state: up, then down by
//!    refusing connections, up, down answering 500, up, refusing, up, answering 503, and again.
//!    The demo's `/metrics` is read every 2 s and its RSS (`/proc/PID/status`) every 10 s.
//! 5. Stops the flapping, waits for the exporters' queues to drain, reads the final drop
//!    counters, sends SIGTERM, and accounts for every item: handed to the exporter = received
//!    by the stand-in + dropped (by reason) + lost. Lost should be 0.
//!
//! The mix, per 20 requests: 8 `GET /users/{id}` (two log lines), 3 `GET /`, 3 audited
//! `POST /items` (three lines), 2 `GET /fail` (a 500 with an ERROR line), 2 unrouted `GET`s and
//! 1 `GET /users/{not-a-number}` (404s), 1 `GET /health/ready`.
//!
//! The report goes to stdout; one progress line per minute goes to stderr.
//!
//! The parts: [`settings`] (the variables above), [`stand_in`] (the flapping endpoints) and
//! [`wire`] (what they decode), [`demo`] (the process and what it printed), [`client`] (a
//! kept-alive connection to it), [`load`] (the mix and its pacing), [`scrape`] (its
//! `/metrics`) and [`report`]; the run itself is [`main`].

mod client;
mod demo;
mod load;
mod report;
mod scrape;
mod settings;
mod stand_in;
#[path = "../support/demo.rs"]
mod support;
mod wire;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::StatusCode;

use demo::{Output, count_output, rss_kib, start_demo};
use load::{Pace, Tally, load};
use report::{MinuteRow, Report, Rss, mib, report};
use scrape::{Scrape, scrape};
use settings::Settings;
use stand_in::{CYCLE, Phase, StandIn};

#[tokio::main]
async fn main() {
    let settings = Settings::from_env();
    let loki = StandIn::start(wire::loki_lines, StatusCode::NO_CONTENT);
    let otlp = StandIn::start(wire::otlp_spans, StatusCode::OK);
    let (mut demo, addr) = start_demo(&settings.demo, &loki.url(), &otlp.url());
    let pid = demo.id();
    let output = Arc::new(Mutex::new(Output::default()));
    let reader = {
        let stdout = demo.stdout.take().unwrap();
        let output = output.clone();
        std::thread::spawn(move || count_output(stdout, output))
    };
    let rss_start = rss_kib(pid).unwrap_or(0);

    // Capacity, after a short warm-up, with the stand-ins healthy.
    let warm = Instant::now();
    let scratch = Arc::new(Mutex::new(Vec::new()));
    load(
        addr,
        settings.connections,
        Pace::Closed,
        warm,
        warm + Duration::from_secs(2),
        scratch,
    )
    .await;
    let measured = Arc::new(Mutex::new(Vec::new()));
    let started = Instant::now();
    let capacity_run = Duration::from_secs(settings.capacity_secs.max(1));
    load(
        addr,
        settings.connections,
        Pace::Closed,
        started,
        started + capacity_run,
        measured.clone(),
    )
    .await;
    let mut capacity = Tally::new();
    for minute in measured.lock().unwrap().iter() {
        capacity.add(minute);
    }
    let capacity_rps = capacity.requests as f64 / started.elapsed().as_secs_f64();
    let rate = capacity_rps * settings.load_fraction;
    eprintln!(
        "capacity {capacity_rps:.0} req/s (p50 {:.2} ms, p99 {:.2} ms, {} errors); soaking at {rate:.0} req/s for {:?}",
        capacity.ms(0.5),
        capacity.ms(0.99),
        capacity.errors,
        settings.duration
    );
    let rss_after_capacity = rss_kib(pid).unwrap_or(0);
    // A report interval of rest, so the drops of the capacity run are reported before the
    // soak's first scrape and stay out of its figures.
    tokio::time::sleep(Duration::from_secs(11)).await;

    // The soak.
    let start = Instant::now();
    let until = start + settings.duration;
    let minutes = Arc::new(Mutex::new(Vec::new()));
    let load_task = tokio::spawn(load(
        addr,
        settings.connections,
        Pace::Open { rate },
        start,
        until,
        minutes.clone(),
    ));
    let mut scrapes: Vec<Scrape> = Vec::new();
    let mut rss: Vec<Rss> = Vec::new();
    let mut rows: Vec<MinuteRow> = Vec::new();
    let mut scraper = None;
    let mut next_scrape = start;
    let mut next_rss = start;
    let mut flap = 0usize;
    let mut next_flap = start + settings.flap;
    let mut next_minute = start + Duration::from_secs(60);
    let mut row = MinuteRow::default();
    let mut outages: Vec<(Duration, Duration)> = Vec::new();
    let (mut loki_seen, mut otlp_seen) = (loki.items(), otlp.items());
    let total_minutes = settings.duration.as_secs().div_ceil(60) as usize;
    loop {
        let now = Instant::now();
        if now >= next_flap && now < until {
            flap += 1;
            let phase = CYCLE[flap % CYCLE.len()];
            loki.set(phase);
            otlp.set(phase);
            if phase != Phase::Up {
                outages.push((now - start, now - start + settings.flap));
                row.outage = phase.label();
            }
            next_flap += settings.flap;
        }
        if now >= next_scrape {
            if let Some(s) = scrape(addr, &mut scraper, start).await {
                for exporter in [obs_service::loki::EXPORTER, obs_service::otlp::EXPORTER] {
                    let max = row.queue_max.entry(exporter.to_owned()).or_insert(0.0);
                    *max = max.max(s.queue(exporter));
                }
                row.last = Some(s.clone());
                scrapes.push(s);
            }
            next_scrape += Duration::from_secs(2);
        }
        if now >= next_rss {
            if let Some(kib) = rss_kib(pid) {
                rss.push((now - start, kib));
                row.rss_kib = kib;
            }
            next_rss += Duration::from_secs(10);
        }
        if now >= next_minute || now >= until {
            // The load's workers hand in their tallies at least every second.
            let (loki_now, otlp_now) = (loki.items(), otlp.items());
            row.loki_received = loki_now - loki_seen;
            row.otlp_received = otlp_now - otlp_seen;
            (loki_seen, otlp_seen) = (loki_now, otlp_now);
            rows.push(std::mem::take(&mut row));
            eprintln!(
                "minute {}/{total_minutes}: RSS {:.1} MiB, Loki +{}, OTLP +{}",
                rows.len(),
                mib(rows.last().unwrap().rss_kib),
                rows.last().unwrap().loki_received,
                rows.last().unwrap().otlp_received
            );
            next_minute += Duration::from_secs(60);
            if now >= until {
                break;
            }
        }
        let wake = [next_flap, next_scrape, next_rss, next_minute, until]
            .into_iter()
            .min()
            .unwrap();
        tokio::time::sleep_until(wake.into()).await;
    }
    load_task.await.unwrap();
    let load_end = start.elapsed();

    // Drain: both up, then wait until both queues read empty twice in a row. The gauge is set
    // once per report interval (10 s by default), and each scrape's own span lingers in the
    // OTLP queue for a second: scraping every 12 s, each reading comes from a report made after
    // the previous scrape's span was sent.
    loki.set(Phase::Up);
    otlp.set(Phase::Up);
    let drain_started = Instant::now();
    let mut empty_in_a_row = 0;
    let drained = loop {
        tokio::time::sleep(Duration::from_secs(12)).await;
        if let Some(s) = scrape(addr, &mut scraper, start).await {
            let (l, o) = (
                s.queue(obs_service::loki::EXPORTER),
                s.queue(obs_service::otlp::EXPORTER),
            );
            eprintln!(
                "draining, {:.0} s: queued Loki {l}, OTLP {o}",
                drain_started.elapsed().as_secs_f64()
            );
            scrapes.push(s);
            empty_in_a_row = if l == 0.0 && o == 0.0 {
                empty_in_a_row + 1
            } else {
                0
            };
            if empty_in_a_row == 2 {
                break true;
            }
        }
        if drain_started.elapsed() > Duration::from_secs(240) {
            break false;
        }
    };
    let drain_time = drain_started.elapsed();
    let final_scrape = scrapes.last().cloned().unwrap_or_default();
    let rss_end = rss_kib(pid).unwrap_or(0);
    let shutdown = support::terminate(&mut demo);
    reader.join().unwrap();
    let output = output.lock().unwrap().clone();
    let minutes = std::mem::take(&mut *minutes.lock().unwrap());

    report(&Report {
        settings: &settings,
        capacity_rps,
        capacity: &capacity,
        rate,
        load_end,
        minutes: &minutes,
        rows: &rows,
        scrapes: &scrapes,
        rss: &rss,
        rss_start,
        rss_after_capacity,
        rss_end,
        drained,
        drain_time,
        final_scrape: &final_scrape,
        outages: &outages,
        shutdown,
        output: &output,
        loki: &loki,
        otlp: &otlp,
    });
}
