//! Per-thread buffers reused between lines.

use std::cell::RefCell;

use crate::logging::fields::Fields;

const SECOND_FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");

/// Per-thread buffers reused between events, so writing a line allocates nothing once they
/// have grown.
#[derive(Default)]
pub(super) struct Scratch {
    pub(super) line: Vec<u8>,
    pub(super) message: String,
    pub(super) event: Fields,
    pub(super) written: Vec<&'static str>,
    pub(super) text: String,
    /// The unix second `second_text` renders (`YYYY-MM-DDTHH:MM:SS`): formatting a date is the
    /// dearest part of a timestamp, and it changes once a second.
    pub(super) second: Option<u64>,
    pub(super) second_text: Vec<u8>,
}

impl Scratch {
    /// `now` is the time since the Unix epoch.
    pub(super) fn write_timestamp(&mut self, now: std::time::Duration) {
        if self.second != Some(now.as_secs()) {
            self.second_text.clear();
            let second = time::OffsetDateTime::from_unix_timestamp(now.as_secs() as i64)
                .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
            let _ = second.format_into(&mut self.second_text, SECOND_FORMAT);
            self.second = Some(now.as_secs());
        }
        self.line.extend_from_slice(&self.second_text);
        let millis = now.subsec_millis();
        self.line.extend_from_slice(&[
            b'.',
            b'0' + (millis / 100) as u8,
            b'0' + (millis / 10 % 10) as u8,
            b'0' + (millis % 10) as u8,
            b'Z',
        ]);
    }
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}
/// Runs `f` with this thread's scratch buffers. A value whose `Debug` logs, or a writer that
/// logs, re-enters the layer while they are in use: such a nested call gets fresh buffers
/// rather than a panic. So does an event logged while the thread's locals are torn down (an
/// exporter handle dropped by another thread-local's destructor): `with` would panic there,
/// and the panic hook, logging that panic, would panic again and abort the process.
pub(super) fn with_scratch<R>(f: impl FnOnce(&mut Scratch) -> R) -> R {
    let mut f = Some(f);
    let mut run = |scratch: &mut Scratch| (f.take().expect("runs once"))(scratch);
    match SCRATCH.try_with(|cell| match cell.try_borrow_mut() {
        Ok(mut scratch) => run(&mut scratch),
        Err(_) => run(&mut Scratch::default()),
    }) {
        Ok(out) => out,
        Err(_) => run(&mut Scratch::default()),
    }
}
