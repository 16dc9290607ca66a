//! The demo process: starting it against the stand-ins, counting what it printed (the items its
//! exporters were handed) and reading its resident set.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use obs_service::catalogue;

/// What the demo printed: the items its exporters were handed.
#[derive(Default, Debug, Clone)]
pub(crate) struct Output {
    /// JSON lines, each one queued for Loki unless it is an exporter's own.
    pub(crate) lines: u64,
    /// The exporters' own lines (never shipped to Loki).
    pub(crate) export_lines: u64,
    /// The last `dropped_total` each exporter's drop warning gave.
    pub(crate) dropped_total: BTreeMap<String, u64>,
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

/// Counts the demo's stdout into `output` until the demo closes it.
pub(crate) fn count_output(stdout: std::process::ChildStdout, output: Arc<Mutex<Output>>) {
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

/// Starts `demo` on a free loopback port with its Loki and OTLP exporters pointed at
/// `loki_url` and `otlp_url`; returns once it accepts connections.
pub(crate) fn start_demo(demo: &Path, loki_url: &str, otlp_url: &str) -> (Child, SocketAddr) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let child = Command::new(demo)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("DEMO_ADDR", addr.to_string())
        .env(catalogue::env::LOKI_URL.name, loki_url)
        .env(catalogue::env::OTEL_EXPORTER_OTLP_ENDPOINT.name, otlp_url)
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
pub(crate) fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
