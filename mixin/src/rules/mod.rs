//! Prometheus alerting and recording rules.

use crate::{RuleFile, Thresholds};

/// Every rule file for `thresholds`.
pub(crate) fn files(thresholds: &Thresholds) -> Vec<RuleFile> {
    let _ = thresholds;
    Vec::new()
}

/// The promtool unit-test files.
pub(crate) fn test_files() -> Vec<RuleFile> {
    Vec::new()
}
