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
//!   writes, and the doctor's request appears with its `request_id`;
//! - when the request is answered with an error, its body is the SDK's error body with the
//!   request ID sent.
//!
//! Every failed check comes with one line saying how to fix it. The service is reached over
//! `http://` or `https://` (`--cacert` for a private CA), as curl would reach it; credentials in
//! the URL are used and never shown.
//!
//! Health and error answers are read into `obs_catalogue::wire`'s types, so a field renamed on
//! the SDK's side fails here. `/metrics` is parsed as strictly as Prometheus parses it, since
//! Prometheus drops a scrape with one bad line. One module per thing checked: `metrics`
//! (`/metrics` against the catalogue, parsed by `exposition`), `health`, `error_body` and
//! `logs`; `http` is the client, `report` the outcome.

mod error_body;
pub(crate) mod exposition;
mod health;
mod http;
mod logs;
mod metrics;
mod report;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use obs_catalogue as catalogue;

use exposition::Exposition;
pub use http::TrustedCa;
use http::redact;
use http::{Connection, Target};
pub use metrics::{always_exposed, checked_when_exposed};
use report::Checks;
pub use report::{Finding, Report, Status};

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
    /// Base URL of the service, `http://host:port` or `https://host:port` (a path is the route
    /// of the test request). User and password in it are sent as basic auth, never shown.
    pub url: String,
    /// Log lines to check, if any.
    pub log: Option<LogSource>,
    /// How long to wait for each whole answer, and for the request's log line.
    pub timeout: Duration,
    /// How long to wait for a connection (TCP and TLS).
    pub connect_timeout: Duration,
    /// The CAs to trust instead of the built-in roots (`--cacert`).
    pub ca: Option<TrustedCa>,
}

/// Runs every check against the service at `opts.url`.
pub fn run(opts: &Options) -> Report {
    let mut c = Checks(Vec::new());
    let connection = Connection {
        timeout: opts.timeout,
        connect_timeout: opts.connect_timeout,
        ca: opts.ca.as_ref(),
    };
    let target = match Target::parse(&opts.url, connection) {
        Ok(t) => t,
        Err(e) => {
            c.fail(
                "service URL",
                e,
                "pass the service's address, e.g. http://127.0.0.1:3000 or https://api.internal:8443",
            );
            return finish(opts, c);
        }
    };
    // Start reading stdin before the request, so no line written meanwhile is lost.
    let stdin_lines = matches!(opts.log, Some(LogSource::Stdin)).then(logs::read_stdin_lines);

    // 1. A request with the doctor's own request ID.
    let request_id = doctor_request_id();
    let mut answered = false;
    match target.get(&target.path, &[(catalogue::REQUEST_ID_HEADER, &request_id)]) {
        Err(e) => c.fail(
            "request id",
            format!("GET {}: {e}", target.path),
            if e.tls {
                "pass the CA that issued the service's certificate with --cacert FILE (PEM, as curl's --cacert); the certificate must also be current and name the URL's host"
            } else {
                "start the service, or give the address it listens on"
            },
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
            error_body::check_error_body(&mut c, &resp, &request_id);
        }
    }

    // 2. /metrics.
    match target.get(catalogue::paths::METRICS, &[]) {
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
        Ok(resp) => match Exposition::parse(&resp.body) {
            Err(e) => {
                c.fail(
                    "metrics endpoint",
                    format!("GET /metrics: not the Prometheus text format, {e}"),
                    "write /metrics with obs-service's registry (obs.router()), or fix the line: Prometheus drops the whole scrape when one line does not parse",
                );
                c.skip("metrics", "/metrics does not parse");
            }
            Ok(exposition) => {
                c.pass(
                    "metrics endpoint",
                    format!(
                        "GET /metrics: {} metric families, {} samples",
                        exposition.types.len(),
                        exposition.samples.len()
                    ),
                );
                for m in catalogue::METRICS.iter().filter(|m| always_exposed(m)) {
                    metrics::check_metric(&mut c, m, &exposition);
                }
                // A gRPC server's calls, checked as strictly once it shows them; a service
                // without gRPC has nothing to check.
                for m in catalogue::METRICS.iter().filter(|m| {
                    metrics::checked_when_exposed(m) && metrics::is_exposed(m, &exposition)
                }) {
                    metrics::check_metric(&mut c, m, &exposition);
                }
            }
        },
    }

    // 3. Health endpoints.
    if answered {
        health::check_health(&mut c, &target);
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
            logs::check_logs(&mut c, &lines, &request_id);
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
            logs::check_logs(&mut c, &lines, &request_id);
        }
        (Some(LogSource::Stdin), None) => unreachable!("stdin is read when asked for"),
    }
    finish(opts, c)
}

fn finish(opts: &Options, c: Checks) -> Report {
    let ok = !c.0.iter().any(|f| f.status == Status::Fail);
    Report {
        url: redact(&opts.url),
        ok,
        checks: c.0,
    }
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
