//! Write-once slots read without a lock, in front of a map behind one.
//!
//! The JSON layer's callsites and the histogram's handles are looked up on every request, and
//! both sets are small and settle early. A fixed array of `OnceLock`s, indexed by a hash of the
//! key, finds the common keys with one atomic load and a comparison; the first key to reach a
//! slot keeps it, and every other key is found in the owner's map as before. No crate offers
//! this (the concurrent maps there still hash and probe the whole key), and it is a few lines.

use std::hash::{BuildHasher as _, Hash};
use std::sync::OnceLock;

/// [`Slots::LEN`] write-once slots of `T`.
pub(crate) struct Slots<T> {
    slots: Box<[OnceLock<T>]>,
}

impl<T> Slots<T> {
    /// How many slots there are: a power of two, so a slot is the top bits of a hash.
    pub(crate) const LEN: usize = 64;

    /// The slot for `key`, which the caller compares with what the slot holds.
    pub(crate) fn slot(&self, key: impl Hash) -> &OnceLock<T> {
        // FxHash: the keys are addresses and small numbers no client chooses.
        let hash = rustc_hash::FxBuildHasher.hash_one(key);
        &self.slots[(hash >> (u64::BITS - Self::LEN.trailing_zeros())) as usize]
    }
}

impl<T> Default for Slots<T> {
    fn default() -> Self {
        Self {
            slots: (0..Self::LEN).map(|_| OnceLock::new()).collect(),
        }
    }
}
