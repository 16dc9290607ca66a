//! The rendered fields of a span or event, kept as ready `"key":value` segments.

/// Rendered fields, all in one buffer, each stored as its whole `"key":value` segment so that
/// writing a line copies one slice per field: a span's fields cost two allocations however many
/// there are, and the event being written (a per-thread, reused instance) costs none once the
/// buffers have grown.
#[derive(Debug, Default)]
pub(super) struct Fields {
    /// Inline up to four: a request span's fields then need no allocation of their own.
    pub(super) entries: smallvec::SmallVec<[(&'static str, std::ops::Range<usize>); 4]>,
    pub(super) arena: Vec<u8>,
    /// Bytes of the arena no entry points at any more (values replaced by `Span::record`).
    stale: usize,
}

impl Fields {
    /// Room for a typical request span (ID, method, route and a few more) in one allocation,
    /// instead of the arena growing three or four times.
    pub(super) fn for_span(field_count: usize) -> Self {
        Self {
            entries: smallvec::SmallVec::new(),
            arena: Vec::with_capacity(if field_count == 0 { 0 } else { 128 }),
            stale: 0,
        }
    }

    pub(super) fn clear(&mut self) {
        self.entries.clear();
        self.arena.clear();
        self.stale = 0;
    }

    /// `(name, "key":value)` pairs, in the order they were first stored.
    pub(super) fn iter(&self) -> impl Iterator<Item = (&'static str, &[u8])> {
        self.entries
            .iter()
            .map(|(k, r)| (*k, &self.arena[r.clone()]))
    }

    /// Files the segment rendered at `start..` under `name`: appended for the fields of a new
    /// span or event (their names are distinct, and the writer keeps the first of any repeat
    /// anyway), replacing an earlier value for `Span::record`.
    pub(super) fn commit(&mut self, name: &'static str, start: usize, replace: bool) {
        let range = start..self.arena.len();
        let existing = if replace {
            self.entries.iter_mut().find(|(k, _)| *k == name)
        } else {
            None
        };
        match existing {
            Some(entry) => {
                self.stale += entry.1.len();
                entry.1 = range;
                // A span re-recording a field in a loop must not grow without bound.
                if self.stale > 4096 && self.stale > self.arena.len() / 2 {
                    self.compact();
                }
            }
            None => self.entries.push((name, range)),
        }
    }

    fn compact(&mut self) {
        let mut arena = Vec::with_capacity(self.arena.len() - self.stale);
        for (_, range) in &mut self.entries {
            let start = arena.len();
            arena.extend_from_slice(&self.arena[range.clone()]);
            *range = start..arena.len();
        }
        self.arena = arena;
        self.stale = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn re_recording_a_span_field_keeps_memory_bounded() {
        let mut fields = Fields::default();
        let mut set = |name: &'static str, segment: &[u8]| {
            let start = fields.arena.len();
            fields.arena.extend_from_slice(segment);
            fields.commit(name, start, true);
        };
        set("other", b"1");
        for i in 0..10_000 {
            set("counter", format!("{i}").as_bytes());
        }
        assert!(
            fields.arena.len() < 16 * 1024,
            "arena grew to {}",
            fields.arena.len()
        );
        let values: Vec<_> = fields.iter().collect();
        assert_eq!(values, [("other", &b"1"[..]), ("counter", &b"9999"[..])]);
    }
}
