//! The Markdown report: per minute the load, latency, RSS, what the stand-ins received, queue
//! depth and drops; then memory, load, drops by reason and the accounting of every item.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

use obs_service::catalogue::DropReason;

use crate::client::ANSWERED;
use crate::demo::Output;
use crate::load::Tally;
use crate::scrape::Scrape;
use crate::settings::Settings;
use crate::stand_in::StandIn;

/// Items each exporter's queue holds by default (`LokiConfig::new`, `OtlpConfig::new`): how
/// full a queue is decides whether a drop was due. Their byte bounds are far above what this
/// mix's lines and spans weigh at these counts, so the item bound is the one that binds.
const LOKI_QUEUE_ITEMS: f64 = 10_000.0;
const OTLP_QUEUE_ITEMS: f64 = 2_048.0;
/// A queue at least this full (of its item bound) when the exporter reported counts as full:
/// the gauge is a snapshot every report interval, and the queue refills between reports.
const FULL: f64 = 0.9;
/// How often the exporters add their drops to the metrics (`ExportSettings::report_interval`).
const REPORT_INTERVAL: Duration = Duration::from_secs(10);

/// One RSS sample: since the soak started, KiB.
pub(crate) type Rss = (Duration, u64);

/// What each minute's row shows besides the load.
#[derive(Default, Clone)]
pub(crate) struct MinuteRow {
    pub(crate) outage: String,
    pub(crate) rss_kib: u64,
    pub(crate) loki_received: u64,
    pub(crate) otlp_received: u64,
    /// At the minute's end.
    pub(crate) last: Option<Scrape>,
    pub(crate) queue_max: BTreeMap<String, f64>,
}

pub(crate) fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

pub(crate) struct Report<'a> {
    pub(crate) settings: &'a Settings,
    pub(crate) capacity_rps: f64,
    pub(crate) capacity: &'a Tally,
    pub(crate) rate: f64,
    pub(crate) load_end: Duration,
    pub(crate) minutes: &'a [Tally],
    pub(crate) rows: &'a [MinuteRow],
    pub(crate) scrapes: &'a [Scrape],
    pub(crate) rss: &'a [Rss],
    pub(crate) rss_start: u64,
    pub(crate) rss_after_capacity: u64,
    pub(crate) rss_end: u64,
    pub(crate) drained: bool,
    pub(crate) drain_time: Duration,
    pub(crate) final_scrape: &'a Scrape,
    pub(crate) shutdown: Duration,
    pub(crate) output: &'a Output,
    pub(crate) outages: &'a [(Duration, Duration)],
    pub(crate) loki: &'a StandIn,
    pub(crate) otlp: &'a StandIn,
}

/// A report window in which an exporter's drop counters went up: between two scrapes whose
/// counters differ (the exporter adds its drops once per report interval).
struct DropWindow {
    exporter: &'static str,
    from: Duration,
    to: Duration,
    by_reason: Vec<(DropReason, f64)>,
    /// The queue gauge at the window's two ends.
    queue: (f64, f64),
    capacity: f64,
    /// Whether an outage overlapped the window or the report interval before it.
    outage: bool,
}

impl DropWindow {
    /// Whether the queue read as full at either end: the evictions had cause.
    fn queue_was_full(&self) -> bool {
        self.queue.0.max(self.queue.1) >= FULL * self.capacity
    }
}

fn drop_windows(scrapes: &[Scrape], outages: &[(Duration, Duration)]) -> Vec<DropWindow> {
    let mut windows = Vec::new();
    for (exporter, capacity) in [
        (obs_service::loki::EXPORTER, LOKI_QUEUE_ITEMS),
        (obs_service::otlp::EXPORTER, OTLP_QUEUE_ITEMS),
    ] {
        for pair in scrapes.windows(2) {
            let (before, after) = (&pair[0], &pair[1]);
            if after.dropped(exporter) <= before.dropped(exporter) {
                continue;
            }
            let by_reason = DropReason::ALL
                .into_iter()
                .map(|r| {
                    let delta = after.dropped_for(exporter, r.as_str())
                        - before.dropped_for(exporter, r.as_str());
                    (r, delta)
                })
                .filter(|(_, d)| *d > 0.0)
                .collect();
            windows.push(DropWindow {
                exporter,
                from: before.at,
                to: after.at,
                by_reason,
                queue: (before.queue(exporter), after.queue(exporter)),
                capacity,
                outage: outages
                    .iter()
                    .any(|(down, up)| *down < after.at && *up + REPORT_INTERVAL > before.at),
            });
        }
    }
    windows
}

pub(crate) fn report(r: &Report<'_>) {
    use obs_service::loki::EXPORTER as LOKI;
    use obs_service::otlp::EXPORTER as OTLP;
    let s = r.settings;
    println!("### Soak run\n");
    println!(
        "{} of mixed traffic at {:.0} req/s ({:.0} % of the {:.0} req/s measured in {} s of closed-loop load on {} connections: p50 {:.2} ms, p99 {:.2} ms), \
         Loki and OTLP stand-ins flapping every {} s (up, refused, up, 500, up, refused, up, 503).\n",
        human(s.duration),
        r.rate,
        s.load_fraction * 100.0,
        r.capacity_rps,
        s.capacity_secs,
        s.connections,
        r.capacity.ms(0.5),
        r.capacity.ms(0.99),
        s.flap.as_secs(),
    );
    println!(
        "| min | outage | requests | errors | p50 ms | p99 ms | max ms | demo CPU % | RSS MiB | Loki recv | Loki queue max | Loki dropped | OTLP recv | OTLP queue max | OTLP dropped | failed sends Loki / OTLP |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    let mut previous: Option<&Scrape> = r.scrapes.first();
    for (i, row) in r.rows.iter().enumerate() {
        let tally = r.minutes.get(i);
        let delta = |f: &dyn Fn(&Scrape) -> f64| match (previous, row.last.as_ref()) {
            (Some(a), Some(b)) => f(b) - f(a),
            _ => 0.0,
        };
        let cpu = delta(&|x| x.cpu_seconds);
        let span = match (previous, row.last.as_ref()) {
            (Some(a), Some(b)) => (b.at - a.at).as_secs_f64(),
            _ => 0.0,
        };
        let dropped = |exporter: &str| {
            let parts: Vec<String> = DropReason::ALL
                .into_iter()
                .filter_map(|reason| {
                    let d = delta(&|x| x.dropped_for(exporter, reason.as_str()));
                    (d > 0.0).then(|| format!("{d:.0} {}", reason.as_str()))
                })
                .collect();
            if parts.is_empty() {
                "0".to_owned()
            } else {
                parts.join(", ")
            }
        };
        println!(
            "| {} | {} | {} | {} | {:.2} | {:.2} | {:.1} | {:.0} | {:.1} | {} | {:.0} | {} | {} | {:.0} | {} | {:.0} / {:.0} |",
            i + 1,
            if row.outage.is_empty() {
                "-"
            } else {
                &row.outage
            },
            tally.map_or(0, |t| t.requests),
            tally.map_or(0, |t| t.errors),
            tally.map_or(0.0, |t| t.ms(0.5)),
            tally.map_or(0.0, |t| t.ms(0.99)),
            tally.map_or(0.0, |t| t.latency_us.max() as f64 / 1000.0),
            if span > 0.0 { cpu / span * 100.0 } else { 0.0 },
            mib(row.rss_kib),
            row.loki_received,
            row.queue_max.get(LOKI).copied().unwrap_or(0.0),
            dropped(LOKI),
            row.otlp_received,
            row.queue_max.get(OTLP).copied().unwrap_or(0.0),
            dropped(OTLP),
            delta(&|x| x.failures(LOKI)),
            delta(&|x| x.failures(OTLP)),
        );
        if row.last.is_some() {
            previous = row.last.as_ref();
        }
    }

    // Memory.
    let samples: Vec<u64> = r.rss.iter().map(|(_, k)| *k).collect();
    let max = samples.iter().copied().max().unwrap_or(0);
    let first = samples.first().copied().unwrap_or(0);
    let last = samples.last().copied().unwrap_or(0);
    // Past the first minutes every queue has been full at least once, so RSS should no
    // longer grow: compare the second half's samples with the first half's.
    let half = samples.len() / 2;
    let first_half_max = samples[..half].iter().copied().max().unwrap_or(0);
    let second_half_max = samples[half..].iter().copied().max().unwrap_or(0);
    println!("\n**Memory** (VmRSS, sampled every 10 s)\n");
    println!(
        "- at start {:.1} MiB, after the capacity run {:.1} MiB; during the soak first {:.1} MiB, last {:.1} MiB, max {:.1} MiB; after the drain {:.1} MiB",
        mib(r.rss_start),
        mib(r.rss_after_capacity),
        mib(first),
        mib(last),
        mib(max),
        mib(r.rss_end),
    );
    println!(
        "- highest sample in the first half {:.1} MiB, in the second half {:.1} MiB ({:+.1} MiB)",
        mib(first_half_max),
        mib(second_half_max),
        mib(second_half_max) - mib(first_half_max)
    );

    // Load.
    let mut all = Tally::new();
    for minute in r.minutes {
        all.add(minute);
    }
    println!("\n**Load**\n");
    println!(
        "- {} requests in {:.0} s ({:.0} req/s), {} errors; p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.1} ms",
        all.requests,
        r.load_end.as_secs_f64(),
        all.requests as f64 / r.load_end.as_secs_f64(),
        all.errors,
        all.ms(0.5),
        all.ms(0.99),
        all.ms(0.999),
        all.latency_us.max() as f64 / 1000.0
    );

    // Drops.
    let base = r.scrapes.first().cloned().unwrap_or_default();
    println!(
        "\n**Drops** (`obs_exporter_dropped_total` and `obs_exporter_send_failures_total` from the soak's start to after the drain; before it, in the warm-up and capacity run: {:.0} Loki, {:.0} OTLP)\n",
        base.dropped(LOKI),
        base.dropped(OTLP)
    );
    println!("| exporter | queue_full | rejected | shutdown | failed sends |");
    println!("|---|---|---|---|---|");
    for exporter in [LOKI, OTLP] {
        let since = |reason: DropReason| {
            r.final_scrape.dropped_for(exporter, reason.as_str())
                - base.dropped_for(exporter, reason.as_str())
        };
        println!(
            "| {exporter} | {:.0} | {:.0} | {:.0} | {:.0} |",
            since(DropReason::QueueFull),
            since(DropReason::Rejected),
            since(DropReason::Shutdown),
            r.final_scrape.failures(exporter) - base.failures(exporter),
        );
    }
    let windows = drop_windows(r.scrapes, r.outages);
    let with_room: Vec<&DropWindow> = windows.iter().filter(|w| !w.queue_was_full()).collect();
    let not_evictions: Vec<&DropWindow> = windows
        .iter()
        .filter(|w| w.by_reason.iter().any(|(r, _)| *r != DropReason::QueueFull))
        .collect();
    println!(
        "\n- {} report windows with drops; in {} of them the queue read as full (at least {:.0} % of its items) at one end",
        windows.len(),
        windows.len() - with_room.len(),
        FULL * 100.0
    );
    if with_room.is_empty() && not_evictions.is_empty() {
        println!(
            "- **no drop while the queue had room**, and every drop was a `queue_full` eviction"
        );
    }
    for w in with_room.iter().chain(not_evictions.iter()) {
        println!(
            "- **{}: drops in {:.0}–{:.0} s** ({}) with the queue at {:.0} and {:.0} of {:.0}, {}",
            w.exporter,
            w.from.as_secs_f64(),
            w.to.as_secs_f64(),
            w.by_reason
                .iter()
                .map(|(r, d)| format!("{d:.0} {}", r.as_str()))
                .collect::<Vec<_>>()
                .join(", "),
            w.queue.0,
            w.queue.1,
            w.capacity,
            if w.outage {
                "during or just after an outage"
            } else {
                "**the endpoint up throughout**"
            }
        );
    }

    // Accounting.
    let o = r.output;
    let loki_handed = o.lines - o.export_lines;
    let otlp_handed = ANSWERED.load(Ordering::Relaxed);
    println!(
        "\n**Accounting** after the drain ({}, {:.0} s) and SIGTERM (the demo exited in {:.2} s)\n",
        if r.drained {
            "queues empty"
        } else {
            "**queues not empty after 240 s**"
        },
        r.drain_time.as_secs_f64(),
        r.shutdown.as_secs_f64()
    );
    println!(
        "| exporter | handed to the exporter | received by the stand-in | dropped | lost | stand-in answered 2xx / 5xx / undecodable |"
    );
    println!("|---|---|---|---|---|---|");
    for (exporter, handed, stand_in, source) in [
        (LOKI, loki_handed, r.loki, "log lines on stdout"),
        (OTLP, otlp_handed, r.otlp, "requests answered"),
    ] {
        let received = stand_in.items();
        // The exporter's last warning also counts what the shutdown dropped, after the last
        // scrape.
        let dropped = (r.final_scrape.dropped(exporter) as u64)
            .max(o.dropped_total.get(exporter).copied().unwrap_or(0));
        let lost = handed as i64 - received as i64 - dropped as i64;
        println!(
            "| {exporter} | {handed} ({source}) | {received} | {dropped} | {lost} | {} / {} / {} |",
            stand_in.accepted(),
            stand_in.failed(),
            stand_in.undecodable(),
        );
    }
}

fn human(d: Duration) -> String {
    let secs = d.as_secs();
    if secs.is_multiple_of(60) {
        format!("{} min", secs / 60)
    } else {
        format!("{secs} s")
    }
}
