//! [`LineSink`]: where a rendered line goes.
//!
//! [`JsonLayer`](super::JsonLayer) renders each event once and hands the same bytes, with the
//! event's timestamp, to every sink: stdout, the log file and Loki get identical copies, and
//! the formatting is paid for once however many there are.

use std::io::Write as _;
use std::time::SystemTime;

use tracing_core::Metadata;
use tracing_subscriber::fmt::MakeWriter;

/// One rendered log line, as every sink receives it.
#[derive(Debug, Clone, Copy)]
pub struct Line<'a> {
    pub(super) bytes: &'a [u8],
    pub(super) time: SystemTime,
    pub(super) metadata: &'static Metadata<'static>,
}

impl<'a> Line<'a> {
    /// The JSON object followed by `\n`, exactly as written to stdout.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The JSON object without its line break.
    pub fn json(&self) -> &'a str {
        let json = self.bytes.strip_suffix(b"\n").unwrap_or(self.bytes);
        // The layer writes only UTF-8: keys and values pass through its JSON escaper.
        std::str::from_utf8(json).unwrap_or_default()
    }

    /// When the event happened: the instant the line's `timestamp` field shows (to the
    /// millisecond).
    pub fn time(&self) -> SystemTime {
        self.time
    }

    /// The event's callsite: level, target, module.
    pub fn metadata(&self) -> &'static Metadata<'static> {
        self.metadata
    }
}

/// Somewhere [`JsonLayer`](super::JsonLayer) writes its lines.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use obs_service::logging::{JsonLayer, Line, LineSink};
/// use tracing_subscriber::layer::SubscriberExt;
///
/// /// Keeps the lines of warnings and errors.
/// #[derive(Clone, Default)]
/// struct Problems(Arc<Mutex<Vec<String>>>);
///
/// impl LineSink for Problems {
///     fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
///         *metadata.level() <= tracing::Level::WARN
///     }
///     fn write_line(&self, line: &Line<'_>) {
///         self.0.lock().unwrap().push(line.json().to_owned());
///     }
/// }
///
/// let problems = Problems::default();
/// let layer = JsonLayer::new(std::io::sink).also(problems.clone());
/// tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
///     tracing::info!("fine");
///     tracing::warn!("disk almost full");
/// });
/// assert_eq!(problems.0.lock().unwrap().len(), 1);
/// ```
pub trait LineSink: Send + Sync + 'static {
    /// Whether this sink takes events of `metadata`. A line nobody takes is not rendered.
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        let _ = metadata;
        true
    }

    /// Takes one line. Called on the thread that logged: do not block.
    fn write_line(&self, line: &Line<'_>);
}

/// A [`MakeWriter`] as a [`LineSink`]: each line is one `write_all` of a writer made for the
/// event, so a line is kept or dropped whole.
#[derive(Debug, Clone)]
pub struct WriterSink<W>(pub W);

impl<W> LineSink for WriterSink<W>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    fn write_line(&self, line: &Line<'_>) {
        let _ = self.0.make_writer_for(line.metadata).write_all(line.bytes);
    }
}
