//! A service built with `panic = "abort"` loses no panic line: the process ends right after the
//! panic hooks, and the hook `init` installs waits until the line has reached stdout.
//!
//! Built the way such a service is (the test `panics` does this and reads the output):
//!
//! ```sh
//! cargo rustc -p obs-service --example panic_abort -- -C panic=abort
//! ```
//!
//! It panics inside a request's span, so the line carries its `request_id`.

fn main() -> Result<(), obs_service::InitError> {
    let _obs = obs_service::Config::new("panic-abort").init()?;
    tracing::info!("about to panic");
    let span = tracing::info_span!(target: "obs::request", "request", request_id = "req-abort-1");
    let _entered = span.enter();
    panic!("boom under panic = abort");
}
