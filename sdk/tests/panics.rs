//! A panic in a process that called `init` is one JSON line at `ERROR` on stdout, with the
//! message, the location and (inside a request) the `request_id` and `trace_id`, and none of
//! the standard library's text on stderr; the hook set before `init` still runs.
//!
//! `init` and the panic hook are process-wide, so this runs itself as a child process and
//! reads what the child really wrote (a test without the harness: the harness would capture
//! the child's panic output itself).

use std::process::Command;
use std::time::Duration;

/// Set in the child's environment.
const CHILD: &str = "OBS_PANICS_TEST_CHILD";
const PREVIOUS_HOOK: &str = "the previous hook ran";

fn main() {
    match std::env::var(CHILD).as_deref() {
        Ok("filtered") => filtered_child(),
        Ok("failed init") => failed_init_child(),
        Ok(_) => child(),
        Err(_) => {
            parent();
            filtered_parent();
            failed_init_parent();
            abort_parent();
            println!("panics: ok");
        }
    }
}

/// Panics twice on threads of its own: once inside a request's span, once outside any request.
fn child() {
    std::panic::set_hook(Box::new(|_| eprintln!("{PREVIOUS_HOOK}")));
    let config = obs_service::Config::new("panics").shutdown_timeout(Duration::from_millis(200));
    // With OTLP on (towards an address nobody listens on), lines in a traced span carry its IDs.
    #[cfg(feature = "otlp")]
    let config = config.otlp(obs_service::otlp::OtlpConfig::new("http://127.0.0.1:9"));
    let obs = config.init().expect("init");
    let in_request = std::thread::Builder::new()
        .name("in-request".into())
        .spawn(|| {
            let span =
                tracing::info_span!(target: "obs::request", "request", request_id = "req-panic-1");
            let _entered = span.enter();
            panic!("boom in a request");
        })
        .unwrap();
    assert!(in_request.join().is_err());
    let background = std::thread::Builder::new()
        .name("background".into())
        .spawn(|| panic!("boom in the background"))
        .unwrap();
    assert!(background.join().is_err());
    drop(obs);
}

/// Panics once with a log filter that drops every line.
fn filtered_child() {
    let obs = obs_service::Config::new("panics")
        .log_filter("off")
        .init()
        .expect("init");
    let thread = std::thread::spawn(|| panic!("boom with logging off"));
    assert!(thread.join().is_err());
    drop(obs);
}

/// `init` fails (another subscriber is installed), then a thread panics.
fn failed_init_child() {
    std::panic::set_hook(Box::new(|_| eprintln!("{PREVIOUS_HOOK}")));
    tracing::subscriber::set_global_default(tracing_subscriber::registry()).unwrap();
    let err = obs_service::Config::new("panics").init().unwrap_err();
    assert!(
        matches!(err, obs_service::InitError::GlobalTaken { .. }),
        "{err}"
    );
    let thread = std::thread::spawn(|| panic!("boom after a failed init"));
    assert!(thread.join().is_err());
}

/// A failed `init` puts the previous hook back: the panic reaches it alone, and no line.
fn failed_init_parent() {
    let (stdout, stderr) = run_child("failed init");
    assert!(!stdout.contains("boom after a failed init"), "{stdout}");
    assert_eq!(stderr.matches(PREVIOUS_HOOK).count(), 1, "{stderr}");
}

/// A binary built with `panic = "abort"` ends right after the hooks: its panic line is out by
/// then. Builds the `panic_abort` example that way, with the cargo that runs this test, into
/// the same target directory (only the example itself is compiled again).
fn abort_parent() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
    let build = Command::new(&cargo)
        .args([
            "rustc",
            "--quiet",
            "--manifest-path",
            manifest,
            "-p",
            "obs-service",
        ])
        .args([
            "--example",
            "panic_abort",
            "--message-format=json",
            "--",
            "-C",
            "panic=abort",
        ])
        .output()
        .expect("running cargo");
    assert!(
        build.status.success(),
        "building panic_abort failed:\n{}",
        String::from_utf8_lossy(&build.stderr)
    );
    let binary = String::from_utf8_lossy(&build.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "panic_abort")
        .find_map(|m| m["executable"].as_str().map(str::to_owned))
        .expect("the example's executable");
    let out = Command::new(&binary).output().expect("running panic_abort");
    assert!(
        !out.status.success(),
        "an aborting panic must fail the process"
    );
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt as _;
        assert_eq!(out.status.signal(), Some(6), "SIGABRT: {:?}", out.status);
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line: serde_json::Value = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|l| l["target"] == obs_service::panic::PANIC_LOG_TARGET)
        .unwrap_or_else(|| panic!("no panic line before the abort:\n{stdout}"));
    assert_eq!(line["panic"], "boom under panic = abort");
    assert_eq!(line["request_id"], "req-abort-1");
}

/// Runs the child in `mode`; returns its stdout and stderr.
fn run_child(mode: &str) -> (String, String) {
    let out = Command::new(std::env::current_exe().unwrap())
        .env(CHILD, mode)
        .output()
        .expect("running the child");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "child failed:\n{stdout}\n{stderr}");
    (stdout, stderr)
}

/// With the line filtered out, the standard library's text is the panic's record.
fn filtered_parent() {
    let (stdout, stderr) = run_child("filtered");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        stderr.contains("panicked at") && stderr.contains("boom with logging off"),
        "{stderr}"
    );
}

fn parent() {
    let (stdout, stderr) = run_child("two panics");

    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let panics: Vec<_> = lines
        .iter()
        .filter(|l| l["target"] == obs_service::panic::PANIC_LOG_TARGET)
        .collect();
    assert_eq!(panics.len(), 2, "one line per panic:\n{stdout}");

    let (request, background) = (panics[0], panics[1]);
    for (line, message, thread) in [
        (request, "boom in a request", "in-request"),
        (background, "boom in the background", "background"),
    ] {
        assert_eq!(line["level"], "ERROR", "{line}");
        assert_eq!(line["service"], "panics", "{line}");
        assert_eq!(line["panic"], message, "{line}");
        assert_eq!(line["thread"], thread, "{line}");
        let location = line["location"].as_str().unwrap_or_default();
        assert!(location.contains("panics.rs:"), "{line}");
    }
    assert_eq!(request["request_id"], "req-panic-1", "{request}");
    assert!(background.get("request_id").is_none(), "{background}");
    if cfg!(feature = "otlp") {
        let trace_id = request["trace_id"].as_str().unwrap_or_default();
        assert_eq!(trace_id.len(), 32, "{request}");
        assert!(background.get("trace_id").is_none(), "{background}");
    }

    assert!(
        !stderr.contains("panicked at"),
        "the standard hook's text reached stderr:\n{stderr}"
    );
    assert_eq!(stderr.matches(PREVIOUS_HOOK).count(), 2, "{stderr}");
}
