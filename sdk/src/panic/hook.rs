//! The process panic hook [`init`](crate::init!) installs.

use std::panic::PanicHookInfo;

use super::{PANIC_LOG_TARGET, panic_message};
use crate::RequestId;

type Hook = Box<dyn Fn(&PanicHookInfo<'_>) + Sync + Send + 'static>;

/// Replaces the process's panic hook with one that writes the panic as a JSON line, then runs
/// the hook that was there before, unless that is the standard library's default (whose
/// multi-line text on stderr is what the line replaces) and the line was written. Once per process: an `init` retried
/// after a failure must not chain a second line.
pub(crate) fn install_hook() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let previous = std::panic::take_hook();
        let previous_is_default = is_default(&previous);
        std::panic::set_hook(Box::new(move |info| {
            // A log filter that drops the line (`OBS_LOG=off`) must not make the panic vanish:
            // then the default hook's text is the record.
            let logged = tracing::enabled!(target: PANIC_LOG_TARGET, tracing::Level::ERROR);
            if logged {
                log_panic(info);
            }
            if !previous_is_default || !logged {
                previous(info);
            }
        }));
    });
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
