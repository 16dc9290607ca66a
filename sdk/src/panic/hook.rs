//! The process panic hook [`init`](crate::init!) installs.

use std::panic::PanicHookInfo;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::Duration;

use super::{PANIC_LOG_TARGET, panic_message};
use crate::RequestId;
use crate::writer::BatchWriter;

type Hook = Box<dyn Fn(&PanicHookInfo<'_>) + Sync + Send + 'static>;

/// The hook that was in place before ours, while ours is installed: called after our line,
/// and put back by [`Installed`]'s drop.
static PREVIOUS: RwLock<Option<(Hook, bool)>> = RwLock::new(None);
/// Whether our hook is installed, so a second `init` does not chain a second line.
static INSTALLED: Mutex<bool> = Mutex::new(false);
/// Set while our hook is installed: whether it writes the panic's line (the catch-panic layer
/// then writes none of its own).
static WRITES_LINES: AtomicBool = AtomicBool::new(false);
/// The writers the panic's line goes through, flushed before the hook returns: under
/// `panic = "abort"` the process ends right after the hooks, and a line still queued for the
/// writer thread would be lost with it.
static FLUSH: RwLock<Vec<BatchWriter>> = RwLock::new(Vec::new());
/// How long the hook waits for the line to be written: a stalled stdout must not hold a
/// panicking thread for long.
const FLUSH_TIMEOUT: Duration = Duration::from_millis(500);

/// Our hook, installed by [`install_hook`]; dropping it before `init` succeeded puts the
/// previous hook back, so a failed `init` leaves the process as it found it.
#[derive(Debug)]
#[must_use = "dropping it restores the previous hook"]
pub(crate) struct Installed {
    /// `false` once `init` succeeded: the hook stays for the life of the process.
    restore: bool,
}

impl Installed {
    /// Keeps the hook for the life of the process, flushing `writers` after each panic's line.
    pub(crate) fn keep(mut self, writers: Vec<BatchWriter>) {
        *FLUSH.write().unwrap_or_else(|e| e.into_inner()) = writers;
        self.restore = false;
    }
}

impl Drop for Installed {
    fn drop(&mut self) {
        if !self.restore {
            return;
        }
        let mut installed = INSTALLED.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((previous, _)) = PREVIOUS.write().unwrap_or_else(|e| e.into_inner()).take() {
            // Our hook is dropped here, and the previous one is back exactly as it was.
            drop(std::panic::take_hook());
            std::panic::set_hook(previous);
        }
        WRITES_LINES.store(false, Ordering::Relaxed);
        *installed = false;
    }
}

/// Replaces the process's panic hook with one that writes the panic as a JSON line, then runs
/// the hook that was there before, unless that is the standard library's default (whose
/// multi-line text on stderr is what the line replaces) and the line was written. A second
/// call while it is installed does nothing (`None`): a retried `init` must not chain a second
/// line.
pub(crate) fn install_hook() -> Option<Installed> {
    let mut installed = INSTALLED.lock().unwrap_or_else(|e| e.into_inner());
    if *installed {
        return None;
    }
    let previous = std::panic::take_hook();
    let previous_is_default = is_default(&previous);
    *PREVIOUS.write().unwrap_or_else(|e| e.into_inner()) = Some((previous, previous_is_default));
    WRITES_LINES.store(true, Ordering::Relaxed);
    std::panic::set_hook(Box::new(|info| {
        // A log filter that drops the line (`OBS_LOG=off`) must not make the panic vanish:
        // then the default hook's text is the record.
        let logged = tracing::enabled!(target: PANIC_LOG_TARGET, tracing::Level::ERROR);
        if logged {
            log_panic(info);
            for writer in FLUSH.read().unwrap_or_else(|e| e.into_inner()).iter() {
                writer.flush(FLUSH_TIMEOUT);
            }
        }
        if let Some((previous, previous_is_default)) =
            &*PREVIOUS.read().unwrap_or_else(|e| e.into_inner())
            && (!previous_is_default || !logged)
        {
            previous(info);
        }
    }));
    *installed = true;
    Some(Installed { restore: true })
}

/// Whether a panic is written as a line by the hook [`init`](crate::init!) installed: the
/// catch-panic layer then adds no line of its own.
#[cfg(any(feature = "catch-panic", feature = "actix"))]
pub(crate) fn writes_lines() -> bool {
    WRITES_LINES.load(Ordering::Relaxed)
        && tracing::enabled!(target: PANIC_LOG_TARGET, tracing::Level::ERROR)
}

/// Whether `hook` is the standard library's default hook. std offers no way to ask, but after
/// `take_hook` the default hook is registered, and taking it again returns it boxed: a
/// zero-sized value of std's own private function type, so the same data address and vtable
/// as any other box of it, and never those of another hook. Should a build ever give the
/// default hook two vtables, this answers `false` and the default text is printed as well:
/// nothing is lost.
fn is_default(hook: &Hook) -> bool {
    let default = std::panic::take_hook();
    let same = std::ptr::eq(&**hook, &*default);
    std::panic::set_hook(default);
    same
}

fn log_panic(info: &PanicHookInfo<'_>) {
    let message = panic_message(info.payload());
    let location = info
        .location()
        .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
        .unwrap_or_default();
    let thread = std::thread::current();
    let thread = thread.name().unwrap_or("unnamed");
    // The span of a request (when the panic happened inside one) adds `request_id` and
    // `trace_id` to the line; the task-local ID covers a layer set up without spans.
    match RequestId::current() {
        Some(id) => tracing::error!(
            target: PANIC_LOG_TARGET,
            panic = %message,
            location,
            thread,
            request_id = id.as_str(),
            "panicked"
        ),
        None => tracing::error!(
            target: PANIC_LOG_TARGET,
            panic = %message,
            location,
            thread,
            "panicked"
        ),
    }
}
