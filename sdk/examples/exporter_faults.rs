//! Request latency of the demo while an exporter's endpoint refuses connections, hangs, answers
//! 500 or answers 429, against the demo with no exporter: the numbers in BENCHMARKS.md
//! ("Exporter faults").
//!
//! ```sh
//! cargo build --release -p obs-service --all-features --example demo --example exporter_faults
//! target/release/examples/exporter_faults 10     # seconds of load per scenario (default 10)
//! ```
//!
//! Each scenario starts the release demo with one exporter variable pointed at a local endpoint
//! that answers at once ("healthy"), refuses connections, hangs, answers 500 or answers 429 with
//! `Retry-After: 30`, warms up for 2 s, then drives it with `wrk -t2 -c16 --latency` on loopback and
//! reads p50 and p99. Then it sends SIGTERM and times the shutdown (the guard's deadline is the
//! default 5 s). Loki and OTLP scenarios load `GET /users/{id}` (two log lines and one span per
//! request); Sentry scenarios load `GET /fail` (one error event per request).

#[path = "support/demo.rs"]
mod support;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use axum::response::IntoResponse;

/// How a fault endpoint answers.
#[derive(Clone, Copy)]
enum Fault {
    Accept,
    Hang,
    Status500,
    TooMany,
}

/// Starts a local endpoint with `fault` on its own thread; returns its URL.
fn fault_endpoint(fault: Fault) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async move {
                let handler = move || async move {
                    match fault {
                        Fault::Accept => (StatusCode::OK, "{}").into_response(),
                        Fault::Hang => std::future::pending().await,
                        Fault::Status500 => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
                        Fault::TooMany => {
                            (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "30")]).into_response()
                        }
                    }
                };
                let app = axum::Router::new().fallback(handler);
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                axum::serve(listener, app).await.unwrap();
            });
    });
    url
}

/// A URL nothing listens on.
fn refused() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}", listener.local_addr().unwrap())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_demo(demo: &std::path::Path, port: u16, env: &[(String, String)]) -> Child {
    let mut command = Command::new(demo);
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("DEMO_ADDR", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (k, v) in env {
        command.env(k, v);
    }
    let child = command.spawn().expect("starting the demo");
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "demo did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

/// Runs wrk and returns (p50 ms, p99 ms, requests per second).
fn wrk(url: &str, seconds: u64) -> (f64, f64, f64) {
    let out = Command::new("wrk")
        .args(["-t2", "-c16", &format!("-d{seconds}s"), "--latency", url])
        .output()
        .expect("running wrk (apt-get install wrk)");
    let text = String::from_utf8_lossy(&out.stdout);
    let percentile = |p: &str| {
        text.lines()
            .map(str::trim)
            .find_map(|l| l.strip_prefix(p))
            .map(|v| to_ms(v.trim()))
            .unwrap_or_else(|| panic!("no {p} line in wrk output:\n{text}"))
    };
    let rps = text
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0);
    (percentile("50%"), percentile("99%"), rps)
}

fn to_ms(value: &str) -> f64 {
    let split = value
        .find(|c: char| c.is_ascii_alphabetic())
        .unwrap_or(value.len());
    let (number, unit) = value.split_at(split);
    let number: f64 = number.parse().unwrap_or(f64::NAN);
    match unit {
        "us" => number / 1000.0,
        "ms" => number,
        "s" => number * 1000.0,
        "m" => number * 60_000.0,
        _ => f64::NAN,
    }
}

/// A scenario: its name, the route loaded, and the demo's extra environment.
type Scenario = (String, &'static str, Vec<(String, String)>);

fn main() {
    let seconds: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let demo = support::binary();
    let accept = fault_endpoint(Fault::Accept);
    let hang = fault_endpoint(Fault::Hang);
    let status500 = fault_endpoint(Fault::Status500);
    let too_many = fault_endpoint(Fault::TooMany);
    let refused = refused();
    let faults = [
        ("healthy", accept.clone()),
        ("refused", refused.clone()),
        ("hangs", hang.clone()),
        ("500", status500.clone()),
        ("429", too_many.clone()),
    ];
    let mut scenarios: Vec<Scenario> = vec![
        ("no exporter".into(), "/users/7", vec![]),
        ("no exporter".into(), "/fail", vec![]),
    ];
    for (name, var, path, url_of) in [
        ("Loki", "LOKI_URL", "/users/7", None),
        ("OTLP", "OTEL_EXPORTER_OTLP_ENDPOINT", "/users/7", None),
        ("Sentry", "SENTRY_DSN", "/fail", Some(())),
    ] {
        for (fault, url) in &faults {
            let value = match url_of {
                Some(()) => url.replace("http://", "http://key@") + "/1",
                None => url.clone(),
            };
            scenarios.push((
                format!("{name} {fault}"),
                path,
                vec![(var.to_owned(), value)],
            ));
        }
    }
    println!("| scenario | route | p50 ms | p99 ms | req/s | shutdown s |");
    println!("|---|---|---|---|---|---|");
    for (name, path, env) in scenarios {
        let port = free_port();
        let mut child = start_demo(&demo, port, &env);
        let url = format!("http://127.0.0.1:{port}{path}");
        let _ = wrk(&url, 2);
        let (p50, p99, rps) = wrk(&url, seconds);
        let shutdown = support::terminate(&mut child);
        println!(
            "| {name} | `{path}` | {p50:.2} | {p99:.2} | {rps:.0} | {:.2} |",
            shutdown.as_secs_f64()
        );
    }
}
