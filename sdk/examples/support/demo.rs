//! What the benchmark examples (`exporter_faults`, `soak`) share about the demo process they
//! drive. Not an example itself: each includes it with `#[path]`.

use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// The demo to drive: the one `DEMO_BIN` names (when set and not blank), or the `demo` built
/// next to this program.
///
/// # Panics
///
/// When there is no such file, with the command that builds it.
pub(crate) fn binary() -> PathBuf {
    let demo = std::env::var("DEMO_BIN")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            std::env::current_exe()
                .expect("the path of this program")
                .with_file_name(format!("demo{}", std::env::consts::EXE_SUFFIX))
        });
    assert!(
        demo.exists(),
        "no demo at {}: cargo build --release -p obs-service --all-features --example demo",
        demo.display()
    );
    demo
}

/// Sends SIGTERM and returns how long the demo took to exit; kills it after 60 s.
pub(crate) fn terminate(child: &mut Child) -> Duration {
    let started = Instant::now();
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    loop {
        if let Ok(Some(_)) = child.try_wait() {
            return started.elapsed();
        }
        if started.elapsed() > Duration::from_secs(60) {
            eprintln!("the demo did not exit within 60 s of SIGTERM; killing it");
            let _ = child.kill();
            let _ = child.wait();
            return started.elapsed();
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}
