//! The wall clock, read the one way every part of the SDK reads it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The time since the Unix epoch (zero for a clock set before it): the form in which request
/// IDs, access lines and log timestamps keep a time.
pub(crate) fn since_epoch() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}
