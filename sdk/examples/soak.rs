//! The soak run of issue 17: the release demo under mixed traffic at half its capacity for a
//! long while, with the Loki and OTLP endpoints flapping, and a Markdown report of memory,
//! latency, drops and lost items. The numbers in BENCHMARKS.md ("Soak").
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

// The stand-ins reuse the wire types the exporter tests decode with; the rest of that module
// (its receivers keep every body, which a long run cannot afford) is left unused here.
#[path = "../tests/receivers/mod.rs"]
mod receivers;
#[path = "support/demo.rs"]
mod support;

use std::collections::BTreeMap;
use std::io::BufRead;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use obs_service::catalogue::{self, DropReason};
use tokio::sync::watch;

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

// ---------------------------------------------------------------------------------------------
// Settings

struct Settings {
    demo: std::path::PathBuf,
    duration: Duration,
    capacity_secs: u64,
    connections: usize,
    load_fraction: f64,
    flap: Duration,
}

/// `90s`, `2m`, `1h` or plain seconds.
fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let n: u64 = number.parse().ok()?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => return None,
    };
    (secs > 0).then(|| Duration::from_secs(secs))
}

impl Settings {
    fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let number = |name: &str, default: f64| {
            var(name).map_or(default, |v| {
                v.trim()
                    .parse()
                    .unwrap_or_else(|_| panic!("{name}={v:?} is not a number"))
            })
        };
        let duration = var("DURATION").map_or(Duration::from_secs(30 * 60), |v| {
            parse_duration(&v)
                .unwrap_or_else(|| panic!("DURATION={v:?}: give e.g. 30m, 90s or 1800"))
        });
        let flap = var("FLAP_SECS").map_or(Duration::from_secs(30), |v| {
            parse_duration(&v).unwrap_or_else(|| panic!("FLAP_SECS={v:?} is not a duration"))
        });
        let demo = support::binary();
        Settings {
            demo,
            duration,
            capacity_secs: number("CAPACITY_SECS", 10.0) as u64,
            connections: (number("CONNECTIONS", 8.0) as usize).max(1),
            load_fraction: number("LOAD_FRACTION", 0.5),
            flap,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Stand-ins

/// The state of a stand-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Up,
    /// Nothing listens: connections are refused.
    Refuse,
    /// Listening, answering every request with this status.
    Fail(u16),
}

impl Phase {
    fn label(self) -> String {
        match self {
            Phase::Up => "up".into(),
            Phase::Refuse => "refused".into(),
            Phase::Fail(code) => code.to_string(),
        }
    }
}

/// The states every flap period goes through, in order.
const CYCLE: [Phase; 8] = [
    Phase::Up,
    Phase::Refuse,
    Phase::Up,
    Phase::Fail(500),
    Phase::Up,
    Phase::Refuse,
    Phase::Up,
    Phase::Fail(503),
];

#[derive(Default)]
struct Counts {
    /// Lines or spans in the requests answered 2xx.
    items: AtomicU64,
    /// Requests answered 2xx.
    accepted: AtomicU64,
    /// Requests answered 500 or 503 on purpose.
    failed: AtomicU64,
    /// Bodies that did not decode (answered 400, which the exporter counts as `rejected`).
    undecodable: AtomicU64,
}

/// Decodes one request body into how many items it carries.
type Decode = fn(&HeaderMap, &[u8]) -> Result<u64, String>;

fn loki_lines(headers: &HeaderMap, body: &[u8]) -> Result<u64, String> {
    encoding_is_identity(headers)?;
    let raw = snap::raw::Decoder::new()
        .decompress_vec(body)
        .map_err(|e| format!("not a snappy block: {e}"))?;
    let push: receivers::PushRequest =
        prost::Message::decode(raw.as_slice()).map_err(|e| format!("not a PushRequest: {e}"))?;
    Ok(push.streams.iter().map(|s| s.entries.len() as u64).sum())
}

fn otlp_spans(headers: &HeaderMap, body: &[u8]) -> Result<u64, String> {
    encoding_is_identity(headers)?;
    let request: receivers::ExportTraceServiceRequest = prost::Message::decode(body)
        .map_err(|e| format!("not an ExportTraceServiceRequest: {e}"))?;
    Ok(request
        .resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .map(|s| s.spans.len() as u64)
        .sum())
}

/// Neither exporter compresses its body beyond the format itself; a compressed one would be
/// miscounted, so it fails loudly instead.
fn encoding_is_identity(headers: &HeaderMap) -> Result<(), String> {
    match headers
        .get("content-encoding")
        .map(|v| v.to_str().unwrap_or("?"))
    {
        None | Some("identity") => Ok(()),
        Some(other) => Err(format!("content-encoding {other} is not decoded here")),
    }
}

#[derive(Clone)]
struct StandInState {
    phase: watch::Receiver<Phase>,
    counts: Arc<Counts>,
    decode: Decode,
    ok: StatusCode,
}

async fn stand_in_handler(
    State(state): State<StandInState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let phase = *state.phase.borrow();
    match phase {
        Phase::Up => match (state.decode)(&headers, &body) {
            Ok(items) => {
                state.counts.items.fetch_add(items, Ordering::Relaxed);
                state.counts.accepted.fetch_add(1, Ordering::Relaxed);
                state.ok.into_response()
            }
            Err(reason) => {
                state.counts.undecodable.fetch_add(1, Ordering::Relaxed);
                eprintln!("stand-in: {reason}");
                (StatusCode::BAD_REQUEST, reason).into_response()
            }
        },
        Phase::Fail(code) => {
            state.counts.failed.fetch_add(1, Ordering::Relaxed);
            StatusCode::from_u16(code).unwrap().into_response()
        }
        // Arrived on a connection accepted just before the listener closed.
        Phase::Refuse => {
            state.counts.failed.fetch_add(1, Ordering::Relaxed);
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

/// A stand-in endpoint on its own thread and runtime, so the load cannot starve it of a
/// scheduler (only of CPU, as a real endpoint on the same host would be).
struct StandIn {
    addr: SocketAddr,
    phase: watch::Sender<Phase>,
    counts: Arc<Counts>,
}

/// Listens on `addr` again; the port was this stand-in's a moment ago.
fn listen(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

impl StandIn {
    fn start(decode: Decode, ok: StatusCode) -> Self {
        let (phase, phase_rx) = watch::channel(Phase::Up);
        let counts = Arc::new(Counts::default());
        let state = StandInState {
            phase: phase_rx.clone(),
            counts: counts.clone(),
            decode,
            ok,
        };
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(async move {
                    let mut listener = listen("127.0.0.1:0".parse().unwrap()).unwrap();
                    let addr = listener.local_addr().unwrap();
                    addr_tx.send(addr).unwrap();
                    let app = axum::Router::new()
                        .fallback(stand_in_handler)
                        .with_state(state);
                    let mut phase_rx = phase_rx;
                    loop {
                        let mut until_refused = phase_rx.clone();
                        // Graceful: the requests in flight are answered, idle keep-alive
                        // connections are closed, and the listener goes; an exporter's next
                        // connection is refused, as by a restarting server.
                        axum::serve(listener, app.clone())
                            .with_graceful_shutdown(async move {
                                let _ = until_refused.wait_for(|p| *p == Phase::Refuse).await;
                            })
                            .await
                            .unwrap();
                        let _ = phase_rx.wait_for(|p| *p != Phase::Refuse).await;
                        let until = Instant::now() + Duration::from_secs(20);
                        listener = loop {
                            match listen(addr) {
                                Ok(listener) => break listener,
                                Err(e) if Instant::now() < until => {
                                    let _ = e;
                                    tokio::time::sleep(Duration::from_millis(20)).await;
                                }
                                Err(e) => panic!("stand-in cannot listen on {addr} again: {e}"),
                            }
                        };
                    }
                });
        });
        StandIn {
            addr: addr_rx.recv().unwrap(),
            phase,
            counts,
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn set(&self, phase: Phase) {
        self.phase.send_replace(phase);
    }

    fn items(&self) -> u64 {
        self.counts.items.load(Ordering::Relaxed)
    }
}

// ---------------------------------------------------------------------------------------------
// Load

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

/// Requests the demo answered, all phases and scrapes included: one server span each.
static ANSWERED: AtomicU64 = AtomicU64::new(0);

async fn connect(addr: SocketAddr) -> Option<SendRequest<Full<Bytes>>> {
    let stream = tokio::net::TcpStream::connect(addr).await.ok()?;
    let _ = stream.set_nodelay(true);
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .ok()?;
    tokio::spawn(connection);
    Some(sender)
}

/// Sends one request on a kept-alive connection (opening one if needed); returns the status,
/// or `None` when the connection failed (it is opened again next time).
async fn send(
    addr: SocketAddr,
    sender: &mut Option<SendRequest<Full<Bytes>>>,
    request: hyper::Request<Full<Bytes>>,
) -> Option<(u16, Bytes)> {
    if sender.is_none() {
        *sender = connect(addr).await;
    }
    let s = sender.as_mut()?;
    let result = async {
        s.ready().await.ok()?;
        let response = s.send_request(request).await.ok()?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await.ok()?.to_bytes();
        Some((status, body))
    }
    .await;
    match result {
        Some(_) => ANSWERED.fetch_add(1, Ordering::Relaxed),
        None => {
            *sender = None;
            0
        }
    };
    result
}

/// What one minute (or the capacity run) of load saw.
struct Tally {
    latency_us: Histogram<u64>,
    requests: u64,
    /// Failed connections or an unexpected status.
    errors: u64,
}

impl Tally {
    fn new() -> Self {
        Tally {
            latency_us: Histogram::new_with_bounds(1, 120_000_000, 3).unwrap(),
            requests: 0,
            errors: 0,
        }
    }

    fn add(&mut self, other: &Tally) {
        self.latency_us.add(&other.latency_us).unwrap();
        self.requests += other.requests;
        self.errors += other.errors;
    }

    fn reset(&mut self) {
        self.latency_us.reset();
        self.requests = 0;
        self.errors = 0;
    }

    fn ms(&self, quantile: f64) -> f64 {
        self.latency_us.value_at_quantile(quantile) as f64 / 1000.0
    }
}

/// Closed loop (each request as soon as the last answered), or open loop at a fixed rate.
#[derive(Clone, Copy)]
enum Pace {
    Closed,
    Open { rate: f64 },
}

/// Drives `connections` connections from `start` to `until`; tallies per minute into
/// `minutes` (index: minutes since `start`).
async fn load(
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

// ---------------------------------------------------------------------------------------------
// The demo

/// What the demo printed: the items its exporters were handed.
#[derive(Default, Debug, Clone)]
struct Output {
    /// JSON lines, each one queued for Loki unless it is an exporter's own.
    lines: u64,
    /// The exporters' own lines (never shipped to Loki).
    export_lines: u64,
    /// The last `dropped_total` each exporter's drop warning gave.
    dropped_total: BTreeMap<String, u64>,
}

fn json_str<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let needle = format!("\"{key}\":\"");
    let start = line.find(&needle)? + needle.len();
    let rest = &line[start..];
    Some(&rest[..rest.find('"')?])
}

fn json_number(line: &str, key: &str) -> Option<u64> {
    let needle = format!("\"{key}\":");
    let start = line.find(&needle)? + needle.len();
    let digits: String = line[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

fn count_output(stdout: std::process::ChildStdout, output: Arc<Mutex<Output>>) {
    let export_target = obs_service::export::EXPORT_LOG_TARGET;
    let mut reader = std::io::BufReader::with_capacity(1 << 16, stdout);
    let mut line = Vec::with_capacity(1024);
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let text = String::from_utf8_lossy(&line);
        if text.trim().is_empty() {
            continue;
        }
        let target = json_str(&text, catalogue::fields::TARGET).unwrap_or("");
        let mut output = output.lock().unwrap();
        output.lines += 1;
        if target.starts_with(export_target) {
            output.export_lines += 1;
            if let (Some(exporter), Some(total)) = (
                json_str(&text, catalogue::labels::EXPORTER),
                json_number(&text, "dropped_total"),
            ) {
                output.dropped_total.insert(exporter.to_owned(), total);
            }
        }
    }
}

fn start_demo(settings: &Settings, loki: &StandIn, otlp: &StandIn) -> (Child, SocketAddr) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let child = Command::new(&settings.demo)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("DEMO_ADDR", addr.to_string())
        .env(catalogue::env::LOKI_URL.name, loki.url())
        .env(catalogue::env::OTEL_EXPORTER_OTLP_ENDPOINT.name, otlp.url())
        .env(
            catalogue::env::OTEL_EXPORTER_OTLP_PROTOCOL.name,
            "http/protobuf",
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("starting the demo");
    let started = Instant::now();
    while std::net::TcpStream::connect(addr).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the demo did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    (child, addr)
}

/// The demo's resident set in KiB.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

// ---------------------------------------------------------------------------------------------
// /metrics

/// The exporter series of one scrape.
#[derive(Debug, Clone, Default)]
struct Scrape {
    /// Since the soak started.
    at: Duration,
    dropped: BTreeMap<(String, String), f64>,
    failures: BTreeMap<String, f64>,
    queue: BTreeMap<String, f64>,
    cpu_seconds: f64,
}

impl Scrape {
    fn dropped(&self, exporter: &str) -> f64 {
        self.dropped
            .iter()
            .filter(|((e, _), _)| e == exporter)
            .map(|(_, v)| v)
            .sum()
    }

    fn dropped_for(&self, exporter: &str, reason: &str) -> f64 {
        self.dropped
            .get(&(exporter.to_owned(), reason.to_owned()))
            .copied()
            .unwrap_or(0.0)
    }

    fn queue(&self, exporter: &str) -> f64 {
        self.queue.get(exporter).copied().unwrap_or(0.0)
    }

    fn failures(&self, exporter: &str) -> f64 {
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

async fn scrape(
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

// ---------------------------------------------------------------------------------------------
// The run

/// One RSS sample: since the soak started, KiB.
type Rss = (Duration, u64);

/// What each minute's row shows besides the load.
#[derive(Default, Clone)]
struct MinuteRow {
    outage: String,
    rss_kib: u64,
    loki_received: u64,
    otlp_received: u64,
    /// At the minute's end.
    last: Option<Scrape>,
    queue_max: BTreeMap<String, f64>,
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

#[tokio::main]
async fn main() {
    let settings = Settings::from_env();
    let loki = StandIn::start(loki_lines, StatusCode::NO_CONTENT);
    let otlp = StandIn::start(otlp_spans, StatusCode::OK);
    let (mut demo, addr) = start_demo(&settings, &loki, &otlp);
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

// ---------------------------------------------------------------------------------------------
// The report

struct Report<'a> {
    settings: &'a Settings,
    capacity_rps: f64,
    capacity: &'a Tally,
    rate: f64,
    load_end: Duration,
    minutes: &'a [Tally],
    rows: &'a [MinuteRow],
    scrapes: &'a [Scrape],
    rss: &'a [Rss],
    rss_start: u64,
    rss_after_capacity: u64,
    rss_end: u64,
    drained: bool,
    drain_time: Duration,
    final_scrape: &'a Scrape,
    shutdown: Duration,
    output: &'a Output,
    outages: &'a [(Duration, Duration)],
    loki: &'a StandIn,
    otlp: &'a StandIn,
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

fn report(r: &Report<'_>) {
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
            stand_in.counts.accepted.load(Ordering::Relaxed),
            stand_in.counts.failed.load(Ordering::Relaxed),
            stand_in.counts.undecodable.load(Ordering::Relaxed),
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
