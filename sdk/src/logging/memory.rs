//! An in-memory writer for tests.

use std::sync::{Arc, Mutex};

use tracing_subscriber::fmt::MakeWriter;

/// An in-memory [`MakeWriter`] that keeps every line, for tests of what a service logs.
///
/// ```
/// let writer = obs_service::logging::MemoryWriter::new();
/// use std::io::Write;
/// use tracing_subscriber::fmt::MakeWriter;
/// writer.make_writer().write_all(b"{\"a\":1}\n").unwrap();
/// assert_eq!(writer.json_lines()[0]["a"], 1);
/// ```
#[derive(Debug, Clone, Default)]
pub struct MemoryWriter {
    buf: Arc<Mutex<Vec<u8>>>,
}

impl MemoryWriter {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Everything written so far, as text.
    pub fn contents(&self) -> String {
        String::from_utf8_lossy(&self.buf.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }

    /// Every line parsed as JSON. Panics on a line that is not JSON: in a test that is the
    /// failure to report.
    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        self.contents()
            .lines()
            .map(|line| {
                serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"))
            })
            .collect()
    }
}

impl MemoryWriter {
    fn append(&self, data: &[u8]) -> std::io::Result<usize> {
        self.buf
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(data);
        Ok(data.len())
    }
}

impl std::io::Write for MemoryWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.append(data)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The writer [`MemoryWriter`] hands out.
#[derive(Debug)]
pub struct MemoryWriterGuard<'a>(&'a MemoryWriter);

impl std::io::Write for MemoryWriterGuard<'_> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.append(data)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for MemoryWriter {
    type Writer = MemoryWriterGuard<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        MemoryWriterGuard(self)
    }
}
