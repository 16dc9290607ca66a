//! `obs-gen doctor <service URL>`: checks that a running service's observability is ready for
//! production, against the SDK's catalogue (`obs_catalogue`):
//!
//! - it sends one request with its own `x-request-id` and expects the same ID back;
//! - `/metrics` answers in the Prometheus text format and carries every metric a plain SDK
//!   service always exposes (HTTP RED, build information, `process_*`) with the catalogue's
//!   type and labels; the latency histogram is a real histogram with the catalogue's buckets;
//! - `/health/live` answers 200, `/health/ready` and `/health` 200 or 503 with the SDK's JSON
//!   (`status` ok|degraded|down, `timestamp`, `version`, `uptime_seconds`, `checks`);
//! - with a log (a file, or `-` for stdin), every line is JSON with the fields the SDK always
//!   writes, and the doctor's request appears with its `request_id`.
//!
//! Every failed check comes with one line saying how to fix it. The checks speak plain HTTP/1.1
//! (the address Prometheus scrapes), so the doctor needs no TLS stack.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead as _, Read as _, Write as _};
use std::net::{TcpStream, ToSocketAddrs as _};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use obs_catalogue::{self as catalogue, Group, Metric, MetricKind};
use serde::Serialize;

/// Where the doctor reads the service's log lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogSource {
    /// A file the service writes (e.g. `OBS_LOG_FILE`, or its redirected stdout).
    File(PathBuf),
    /// Standard input: `./service | obs-gen doctor URL --log-file -`.
    Stdin,
}

/// What to check.
#[derive(Debug, Clone)]
pub struct Options {
    /// Base URL of the service, `http://host:port` (a path is the route of the test request).
    pub url: String,
    /// Log lines to check, if any.
    pub log: Option<LogSource>,
    /// How long to wait for each answer, and for the request's log line.
    pub timeout: Duration,
}

/// Outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// As the SDK specifies.
    Pass,
    /// Not as the SDK specifies; `fix` says what to do.
    Fail,
    /// Not run (no log given, or an earlier check failed).
    Skip,
}

/// One line of the report.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// What was checked.
    pub check: String,
    /// The outcome.
    pub status: Status,
    /// What was seen.
    pub detail: String,
    /// How to fix it (failures only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

/// Everything the doctor found.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The service checked.
    pub url: String,
    /// Whether every check passed (or was skipped).
    pub ok: bool,
    /// Every check, in order.
    pub checks: Vec<Finding>,
}

impl Report {
    /// The failed checks.
    pub fn failures(&self) -> impl Iterator<Item = &Finding> {
        self.checks.iter().filter(|f| f.status == Status::Fail)
    }

    /// The table for people: one row per check, then one line per failure with its fix.
    pub fn table(&self) -> String {
        let width = self.checks.iter().map(|f| f.check.len()).max().unwrap_or(5);
        let mut s = format!("obs-gen doctor {}\n\n", self.url);
        for f in &self.checks {
            let status = match f.status {
                Status::Pass => "ok  ",
                Status::Fail => "FAIL",
                Status::Skip => "skip",
            };
            s.push_str(&format!("{status}  {:<width$}  {}\n", f.check, f.detail));
        }
        let failed: Vec<&Finding> = self.failures().collect();
        if failed.is_empty() {
            s.push_str(&format!(
                "\nall {} checks passed\n",
                self.checks
                    .iter()
                    .filter(|f| f.status == Status::Pass)
                    .count()
            ));
        } else {
            s.push_str(&format!(
                "\n{} of {} checks failed:\n",
                failed.len(),
                self.checks.len()
            ));
            for f in failed {
                s.push_str(&format!(
                    "FAIL {}: {}. Fix: {}\n",
                    f.check,
                    f.detail,
                    f.fix.as_deref().unwrap_or("see the obs README")
                ));
            }
        }
        s
    }
}

struct Checks(Vec<Finding>);

impl Checks {
    fn pass(&mut self, check: impl Into<String>, detail: impl Into<String>) {
        self.0.push(Finding {
            check: check.into(),
            status: Status::Pass,
            detail: detail.into(),
            fix: None,
        });
    }
    fn fail(
        &mut self,
        check: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.0.push(Finding {
            check: check.into(),
            status: Status::Fail,
            detail: detail.into(),
            fix: Some(fix.into()),
        });
    }
    fn skip(&mut self, check: impl Into<String>, detail: impl Into<String>) {
        self.0.push(Finding {
            check: check.into(),
            status: Status::Skip,
            detail: detail.into(),
            fix: None,
        });
    }
}

/// Runs every check against the service at `opts.url`.
pub fn run(opts: &Options) -> Report {
    let mut c = Checks(Vec::new());
    let target = match Target::parse(&opts.url) {
        Ok(t) => t,
        Err(e) => {
            c.fail(
                "service URL",
                e,
                "pass the service's plain-HTTP address, e.g. http://127.0.0.1:3000",
            );
            return finish(opts, c);
        }
    };
    // Start reading stdin before the request, so no line written meanwhile is lost.
    let stdin_lines = matches!(opts.log, Some(LogSource::Stdin)).then(read_stdin_lines);

    // 1. A request with the doctor's own request ID.
    let request_id = doctor_request_id();
    let mut answered = false;
    match target.get(
        &target.path,
        &[(catalogue::REQUEST_ID_HEADER, &request_id)],
        opts.timeout,
    ) {
        Err(e) => c.fail(
            "request id",
            format!("GET {}: {e}", target.path),
            "start the service, or give the address it listens on",
        ),
        Ok(resp) => {
            answered = true;
            match resp.header(catalogue::REQUEST_ID_HEADER) {
                Some(id) if id == request_id => c.pass(
                    "request id",
                    format!(
                        "GET {} answered {} with the x-request-id sent ({request_id})",
                        target.path, resp.status
                    ),
                ),
                Some(id) => c.fail(
                    "request id",
                    format!("sent x-request-id {request_id}, got back {id}"),
                    "keep a well-formed incoming x-request-id: put obs.layer() (obs_service::HttpLayer) outermost so no other layer replaces it",
                ),
                None => c.fail(
                    "request id",
                    format!("GET {} answered {} without x-request-id", target.path, resp.status),
                    "add obs.layer() (obs_service::HttpLayer) to the router; it returns the request ID in x-request-id",
                ),
            }
        }
    }

    // 2. /metrics.
    match target.get(catalogue::paths::METRICS, &[], opts.timeout) {
        Err(e) if !answered => c.skip("metrics endpoint", format!("not reachable: {e}")),
        Err(e) => c.fail(
            "metrics endpoint",
            format!("GET /metrics: {e}"),
            "serve obs.router() (GET /metrics)",
        ),
        Ok(resp) if resp.status != 200 => c.fail(
            "metrics endpoint",
            format!("GET /metrics answered {}", resp.status),
            "merge obs.router() into the app so GET /metrics renders the SDK's registry",
        ),
        Ok(resp) => {
            let exposition = Exposition::parse(&resp.body);
            c.pass(
                "metrics endpoint",
                format!(
                    "GET /metrics: {} metric families, {} samples",
                    exposition.types.len(),
                    exposition.samples.len()
                ),
            );
            for m in catalogue::METRICS.iter().filter(|m| always_exposed(m)) {
                check_metric(&mut c, m, &exposition);
            }
        }
    }

    // 3. Health endpoints.
    if answered {
        check_health(&mut c, &target, opts.timeout);
    } else {
        c.skip("health", "the service is not reachable");
    }

    // 4. Logs.
    match (&opts.log, stdin_lines) {
        (None, _) => c.skip(
            "logs",
            "no log given (--log-file FILE, or --log-file - to read stdin)",
        ),
        (Some(LogSource::File(path)), _) => {
            let deadline = Instant::now() + opts.timeout;
            let lines = loop {
                match std::fs::read_to_string(path) {
                    Err(e) => {
                        c.fail(
                            "logs",
                            format!("{}: {e}", path.display()),
                            "pass the file the service writes its JSON lines to (OBS_LOG_FILE, or its redirected stdout)",
                        );
                        return finish(opts, c);
                    }
                    Ok(text) => {
                        let lines: Vec<String> = text.lines().map(str::to_owned).collect();
                        if text.contains(&request_id) || Instant::now() >= deadline {
                            break lines;
                        }
                    }
                }
                std::thread::sleep(Duration::from_millis(100));
            };
            check_logs(&mut c, &lines, &request_id);
        }
        (Some(LogSource::Stdin), Some(rx)) => {
            let deadline = Instant::now() + opts.timeout;
            let mut lines = Vec::new();
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                match rx.recv_timeout(left) {
                    Ok(line) => {
                        let found = line.contains(&request_id);
                        lines.push(line);
                        if found {
                            // The lines of the same request written just after it.
                            while let Ok(l) = rx.recv_timeout(Duration::from_millis(200)) {
                                lines.push(l);
                            }
                            break;
                        }
                    }
                    Err(_) => break,
                }
            }
            check_logs(&mut c, &lines, &request_id);
        }
        (Some(LogSource::Stdin), None) => unreachable!("stdin is read when asked for"),
    }
    finish(opts, c)
}

fn finish(opts: &Options, c: Checks) -> Report {
    let ok = !c.0.iter().any(|f| f.status == Status::Fail);
    Report {
        url: opts.url.clone(),
        ok,
        checks: c.0,
    }
}

/// The metrics a plain SDK service always exposes (after one request): HTTP RED, build
/// information and `process_*`. Health-check and exporter metrics depend on what the service
/// configures.
pub fn always_exposed(m: &Metric) -> bool {
    matches!(m.group, Group::Http | Group::Process | Group::Build)
}

/// A request ID the doctor sends: unique enough to find in a log, valid for the SDK.
fn doctor_request_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let id = format!("obs-doctor-{:x}-{}", nanos, std::process::id());
    debug_assert!(catalogue::is_valid_request_id(&id));
    id
}

fn kind_name(kind: MetricKind) -> &'static str {
    match kind {
        MetricKind::Counter => "counter",
        MetricKind::Gauge => "gauge",
        MetricKind::Histogram => "histogram",
    }
}

fn check_metric(c: &mut Checks, m: &Metric, e: &Exposition) {
    let check = format!("metric {}", m.name);
    let want = kind_name(m.kind);
    let declared = e.types.get(m.name).map(String::as_str);
    match declared {
        None if e.samples.iter().any(|s| m.exposes(&s.name)) => {
            return c.fail(
                check,
                "exposed without a # TYPE line",
                "render /metrics with obs-service's registry (Metrics::render), which declares every type",
            );
        }
        None => {
            let fix = match m.group {
                Group::Http => {
                    "add obs.layer() (obs_service::HttpLayer) to the router; it records the HTTP metrics of every request"
                }
                Group::Process => {
                    "serve /metrics through obs-service (obs_service::init!), whose upkeep collects the process_* metrics"
                }
                _ => {
                    "initialise obs-service with obs_service::init!() and serve obs.router(); it exposes obs_build_info"
                }
            };
            return c.fail(check, "missing from /metrics", fix);
        }
        Some(t) if t != want => {
            let fix = if m.kind == MetricKind::Histogram && t == "summary" {
                "record it as a histogram with the catalogue's buckets (metrics-exporter-prometheus renders histograms as summaries unless buckets are set; obs-service sets them)".to_string()
            } else {
                format!("expose it as a {want}, as obs_catalogue says")
            };
            return c.fail(check, format!("TYPE {t}, expected {want}"), fix);
        }
        Some(_) => {}
    }
    let samples: Vec<&Sample> = e.samples.iter().filter(|s| m.exposes(&s.name)).collect();
    if samples.is_empty() {
        return c.fail(
            check,
            format!("TYPE {want} declared, but no sample"),
            "send a request first; if samples still miss, the service records the metric on another registry than the one /metrics renders",
        );
    }
    // Labels: every sample carries every catalogue label.
    for s in &samples {
        let missing: Vec<&str> = m
            .labels
            .iter()
            .copied()
            .filter(|l| !s.labels.contains_key(*l))
            .collect();
        if !missing.is_empty() {
            return c.fail(
                check,
                format!("{} lacks the label(s) {}", s.name, missing.join(", ")),
                format!(
                    "label it with {} as obs_catalogue says (the dashboards and rules select on them)",
                    m.labels.join(", ")
                ),
            );
        }
    }
    if m.kind == MetricKind::Histogram {
        let bucket = format!("{}_bucket", m.name);
        let les: BTreeSet<String> = samples
            .iter()
            .filter(|s| s.name == bucket)
            .filter_map(|s| s.labels.get("le").cloned())
            .collect();
        for suffix in ["_bucket", "_sum", "_count"] {
            let name = format!("{}{suffix}", m.name);
            if !samples.iter().any(|s| s.name == name) {
                return c.fail(
                    check,
                    format!("no {name} series"),
                    "expose a real histogram (with _bucket, _sum and _count), not a summary or a gauge",
                );
            }
        }
        let want: BTreeSet<String> = m
            .buckets
            .unwrap_or_default()
            .iter()
            .map(|b| canonical_le(&b.to_string()))
            .chain(["+Inf".to_string()])
            .collect();
        let got: BTreeSet<String> = les.iter().map(|l| canonical_le(l)).collect();
        if got != want {
            // In numeric order, +Inf last.
            let show = |s: &BTreeSet<String>| {
                let mut v: Vec<&String> = s.iter().collect();
                v.sort_by(|a, b| {
                    let x = |t: &str| t.parse::<f64>().unwrap_or(f64::INFINITY);
                    x(a).total_cmp(&x(b))
                });
                v.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(",")
            };
            return c.fail(
                check,
                format!("buckets le={} instead of {}", show(&got), show(&want)),
                "use the catalogue's buckets (obs_catalogue::HTTP_DURATION_BUCKETS, OpenTelemetry's advice); dashboards and the p99 alert interpolate between them",
            );
        }
        return c.pass(
            check,
            format!("histogram, {} buckets, labels ok", want.len()),
        );
    }
    c.pass(
        check,
        format!("{want}, {} series, labels ok", samples.len()),
    );
}

/// `le` values compared as numbers: `1`, `1.0` and `1e0` are the same bound.
fn canonical_le(s: &str) -> String {
    match s.parse::<f64>() {
        Ok(x) if x.is_infinite() => "+Inf".into(),
        Ok(x) => format!("{x}"),
        Err(_) => s.to_string(),
    }
}

fn check_health(c: &mut Checks, target: &Target, timeout: Duration) {
    let fix_router = "merge health.router() (obs_service::health::Health) into the app: it serves /health/live, /health/ready and /health";
    // Liveness.
    match target.get(catalogue::paths::HEALTH_LIVE, &[], timeout) {
        Err(e) => c.fail("health live", e, fix_router),
        Ok(r) if r.status != 200 => c.fail(
            "health live",
            format!("GET /health/live answered {}", r.status),
            format!("{fix_router}; liveness must answer 200 without touching any dependency"),
        ),
        Ok(r) => match health_shape(&r.body, false) {
            Err(e) => c.fail("health live", e, fix_router),
            Ok(v) if v["status"] != "ok" => c.fail(
                "health live",
                format!("status {} instead of \"ok\"", v["status"]),
                "liveness answers {\"status\":\"ok\",…} whenever the process serves requests",
            ),
            Ok(_) => c.pass(
                "health live",
                "200, status ok, timestamp, version, uptime_seconds",
            ),
        },
    }
    // Readiness, under both paths.
    for path in [catalogue::paths::HEALTH_READY, catalogue::paths::HEALTH] {
        let check = if path == catalogue::paths::HEALTH {
            "health"
        } else {
            "health ready"
        };
        let r = match target.get(path, &[], timeout) {
            Err(e) => {
                c.fail(check, e, fix_router);
                continue;
            }
            Ok(r) => r,
        };
        if r.status != 200 && r.status != 503 {
            c.fail(
                check,
                format!("GET {path} answered {}", r.status),
                format!("{fix_router}; readiness answers 200 (ok, degraded) or 503 (down)"),
            );
            continue;
        }
        let v = match health_shape(&r.body, true) {
            Err(e) => {
                c.fail(check, e, fix_router);
                continue;
            }
            Ok(v) => v,
        };
        let status = v["status"].as_str().unwrap_or_default();
        let expected_code = if status == "down" { 503 } else { 200 };
        if r.status != expected_code {
            c.fail(
                check,
                format!("status {status} answered with {}", r.status),
                "answer 503 exactly when the status is down (obs_service::health does), so load balancers and Kubernetes act on it",
            );
            continue;
        }
        let failing: Vec<String> = v["checks"]
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(_, c)| c["status"] != "ok")
            .map(|(name, c)| format!("{name} ({})", c["error"].as_str().unwrap_or("failing")))
            .collect();
        let n = v["checks"].as_object().map_or(0, |m| m.len());
        if status == "down" {
            c.fail(
                check,
                format!("503 down: {}", failing.join(", ")),
                "the service is not ready: repair the failing critical check(s), or mark a dependency the service can live without .critical(false)",
            );
        } else {
            let extra = if failing.is_empty() {
                String::new()
            } else {
                format!("; failing: {}", failing.join(", "))
            };
            c.pass(check, format!("{} {status}, {n} checks{extra}", r.status));
        }
    }
}

/// Checks the SDK's health JSON; `ready` also needs `checks`.
fn health_shape(body: &str, ready: bool) -> Result<serde_json::Value, String> {
    let v: serde_json::Value = serde_json::from_str(body)
        .map_err(|e| format!("the body is not JSON ({e}): {}", snippet(body)))?;
    let mut missing = Vec::new();
    if !matches!(v["status"].as_str(), Some("ok" | "degraded" | "down")) {
        missing.push("status (ok|degraded|down)");
    }
    if !v["timestamp"].is_string() {
        missing.push("timestamp");
    }
    if !v["version"].is_string() {
        missing.push("version");
    }
    if !v["uptime_seconds"].is_number() {
        missing.push("uptime_seconds");
    }
    if ready {
        match v["checks"].as_object() {
            None => missing.push("checks"),
            Some(checks) => {
                if checks
                    .values()
                    .any(|c| !c["status"].is_string() || !c["critical"].is_boolean())
                {
                    missing.push("checks.<name>.status/critical");
                }
            }
        }
    }
    if missing.is_empty() {
        Ok(v)
    } else {
        Err(format!(
            "the JSON lacks {}: {}",
            missing.join(", "),
            snippet(body)
        ))
    }
}

fn snippet(s: &str) -> String {
    let s = s.trim();
    if s.chars().count() > 80 {
        format!("{}…", s.chars().take(80).collect::<String>())
    } else {
        s.to_string()
    }
}

fn check_logs(c: &mut Checks, lines: &[String], request_id: &str) {
    let lines: Vec<(usize, &str)> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty())
        .collect();
    if lines.is_empty() {
        c.fail(
            "logs",
            "no log line read",
            "give the service's stdout or OBS_LOG_FILE (and let INFO through: OBS_LOG=info), so the access log line of the doctor's request appears",
        );
        return;
    }
    let mut objects = Vec::new();
    let mut not_json = Vec::new();
    for (n, l) in &lines {
        match serde_json::from_str::<serde_json::Value>(l) {
            Ok(v) if v.is_object() => objects.push((*n, v)),
            _ => not_json.push(*n),
        }
    }
    if not_json.is_empty() {
        c.pass("log lines are JSON", format!("{} lines", lines.len()));
    } else {
        let first = lines
            .iter()
            .find(|(n, _)| *n == not_json[0])
            .map_or("", |(_, l)| l);
        c.fail(
            "log lines are JSON",
            format!(
                "{} of {} lines are not JSON objects (line {}: {})",
                not_json.len(),
                lines.len(),
                not_json[0],
                snippet(first)
            ),
            "log through obs-service (obs_service::init!) with OBS_LOG_FORMAT=json (the default), and print nothing else to stdout",
        );
    }
    let required: Vec<&str> = catalogue::LOG_FIELDS
        .iter()
        .filter(|f| f.always)
        .map(|f| f.name)
        .collect();
    // (field, lines lacking it, first such line), in the catalogue's order.
    let mut lacking: Vec<(&str, usize, usize)> = Vec::new();
    for f in &required {
        let missing: Vec<usize> = objects
            .iter()
            .filter(|(_, v)| v.get(*f).is_none_or(|x| x.is_null()))
            .map(|(n, _)| *n)
            .collect();
        if let Some(first) = missing.first() {
            lacking.push((f, missing.len(), *first));
        }
    }
    if objects.is_empty() {
        c.skip("log fields", "no JSON line");
    } else if lacking.is_empty() {
        c.pass(
            "log fields",
            format!("every JSON line has {}", required.join(", ")),
        );
    } else {
        let what: Vec<String> = lacking
            .iter()
            .map(|(f, count, first)| format!("{f} ({count} lines, first line {first})"))
            .collect();
        c.fail(
            "log fields",
            format!("missing {}", what.join(", ")),
            "write logs with obs-service's JSON layer (obs_service::init!), which puts these fields at the top level of every line",
        );
    }
    let with_id: Vec<&(usize, serde_json::Value)> = objects
        .iter()
        .filter(|(_, v)| v[catalogue::fields::REQUEST_ID] == request_id)
        .collect();
    if with_id.is_empty() {
        let mentioned = lines.iter().any(|(_, l)| l.contains(request_id));
        c.fail(
            "log request_id",
            if mentioned {
                format!("the request {request_id} is logged, but not in a top-level request_id field")
            } else {
                format!("no line with request_id {request_id} (the x-request-id the doctor sent)")
            },
            "add obs.layer() (obs_service::HttpLayer): it writes an access-log line with the request_id for every request (OBS_LOG must let INFO of obs::access through)",
        );
    } else {
        c.pass(
            "log request_id",
            format!(
                "{} line(s) carry request_id {request_id}, as the response header did",
                with_id.len()
            ),
        );
    }
}

fn read_stdin_lines() -> std::sync::mpsc::Receiver<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// A parsed Prometheus text exposition: declared types and samples.
#[derive(Debug, Default)]
struct Exposition {
    types: BTreeMap<String, String>,
    samples: Vec<Sample>,
}

#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
}

impl Exposition {
    fn parse(text: &str) -> Exposition {
        let mut e = Exposition::default();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let mut parts = rest.split_whitespace();
                if let (Some(name), Some(kind)) = (parts.next(), parts.next()) {
                    e.types.insert(name.into(), kind.into());
                }
                continue;
            }
            if line.starts_with('#') {
                continue;
            }
            let name_end = line.find(['{', ' ']).unwrap_or(line.len());
            let name = line[..name_end].to_string();
            let mut labels = BTreeMap::new();
            if line[name_end..].starts_with('{') {
                labels = parse_labels(&line[name_end + 1..]);
            }
            e.samples.push(Sample { name, labels });
        }
        e
    }
}

/// Parses `a="x",b="y\"z"} 1` up to the closing brace.
fn parse_labels(s: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none_or(|c| *c == '}') {
            break;
        }
        let name: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if chars.next() != Some('"') {
            break;
        }
        let mut value = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some('n') => value.push('\n'),
                    Some(other) => value.push(other),
                    None => break,
                },
                '"' => break,
                c => value.push(c),
            }
        }
        out.insert(name.trim().to_string(), value);
    }
    out
}

/// A plain-HTTP service address.
struct Target {
    authority: String,
    path: String,
}

struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl Target {
    fn parse(url: &str) -> Result<Target, String> {
        let rest = if let Some(rest) = url.strip_prefix("http://") {
            rest
        } else if url.starts_with("https://") {
            return Err(format!(
                "{url}: the doctor speaks plain HTTP, the way Prometheus scrapes inside the network"
            ));
        } else if url.contains("://") {
            return Err(format!("{url}: not an http:// URL"));
        } else {
            url
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if authority.is_empty() {
            return Err(format!("{url}: no host"));
        }
        let authority = if authority.rsplit_once(':').is_some_and(|(h, p)| {
            !h.is_empty() && !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())
        }) {
            authority.to_string()
        } else {
            format!("{authority}:80")
        };
        Ok(Target {
            authority,
            path: path.to_string(),
        })
    }

    fn get(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        timeout: Duration,
    ) -> Result<Response, String> {
        let addr = self
            .authority
            .to_socket_addrs()
            .map_err(|e| format!("{}: {e}", self.authority))?
            .next()
            .ok_or_else(|| format!("{}: no address", self.authority))?;
        let mut stream = TcpStream::connect_timeout(&addr, timeout)
            .map_err(|e| format!("cannot connect to {}: {e}", self.authority))?;
        stream
            .set_read_timeout(Some(timeout))
            .and_then(|()| stream.set_write_timeout(Some(timeout)))
            .map_err(|e| e.to_string())?;
        let host = self.authority.as_str();
        let mut req = format!(
            "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: obs-gen-doctor\r\nAccept: */*\r\nConnection: close\r\n"
        );
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        stream
            .write_all(req.as_bytes())
            .map_err(|e| format!("GET {path}: {e}"))?;
        let mut raw = Vec::new();
        stream
            .read_to_end(&mut raw)
            .map_err(|e| format!("GET {path}: no complete answer within {timeout:?}: {e}"))?;
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .ok_or_else(|| format!("GET {path}: not an HTTP answer"))?;
        let head = String::from_utf8_lossy(&raw[..split]).into_owned();
        let mut body = raw[split + 4..].to_vec();
        let mut lines = head.lines();
        let status = lines
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|s| s.parse::<u16>().ok())
            .ok_or_else(|| format!("GET {path}: not an HTTP answer"))?;
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let resp = Response {
            status,
            headers,
            body: String::new(),
        };
        if resp
            .header("transfer-encoding")
            .is_some_and(|te| te.eq_ignore_ascii_case("chunked"))
        {
            body = dechunk(&body).ok_or_else(|| format!("GET {path}: bad chunked body"))?;
        }
        Ok(Response {
            body: String::from_utf8_lossy(&body).into_owned(),
            ..resp
        })
    }
}

fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&data[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_exposition_format() {
        let e = Exposition::parse(
            "# TYPE a histogram\na_bucket{le=\"0.5\",m=\"G\\\"ET\"} 1\na_sum 2\n\n# TYPE b gauge\nb 1\n",
        );
        assert_eq!(e.types["a"], "histogram");
        assert_eq!(e.samples[0].labels["m"], "G\"ET");
        assert_eq!(e.samples[0].labels["le"], "0.5");
        assert_eq!(e.samples.len(), 3);
    }

    #[test]
    fn parses_urls_and_chunks() {
        let t = Target::parse("http://127.0.0.1:3000/users/1").unwrap();
        assert_eq!(
            (t.authority.as_str(), t.path.as_str()),
            ("127.0.0.1:3000", "/users/1")
        );
        assert_eq!(
            Target::parse("localhost").unwrap().authority,
            "localhost:80"
        );
        assert!(Target::parse("https://x").is_err());
        assert_eq!(
            dechunk(b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n").unwrap(),
            b"abcde"
        );
        assert_eq!(canonical_le("1.0"), canonical_le("1"));
        assert_eq!(canonical_le("+Inf"), "+Inf");
    }

    #[test]
    fn logs_without_fields_or_request_id_fail() {
        let mut c = Checks(Vec::new());
        let lines = vec![
            "plain text".to_string(),
            r#"{"timestamp":"t","level":"INFO","message":"m","target":"x","service":"s","env":"e","version":"1","request_id":"abc"}"#.to_string(),
            r#"{"message":"m"}"#.to_string(),
        ];
        check_logs(&mut c, &lines, "abc");
        let by: BTreeMap<&str, Status> = c.0.iter().map(|f| (f.check.as_str(), f.status)).collect();
        assert_eq!(by["log lines are JSON"], Status::Fail);
        assert_eq!(by["log fields"], Status::Fail);
        assert_eq!(by["log request_id"], Status::Pass);
        let fields = c.0.iter().find(|f| f.check == "log fields").unwrap();
        assert!(
            fields.detail.contains("timestamp (1 lines, first line 3)"),
            "{}",
            fields.detail
        );
    }
}
