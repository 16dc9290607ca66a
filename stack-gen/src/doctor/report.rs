//! The doctor's report: one [`Finding`] per check, as a table for people or JSON for CI.

use serde::Serialize;

/// Outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// As the SDK specifies.
    Pass,
    /// Not as the SDK specifies; `fix` says what to do.
    Fail,
    /// Not run (no log given, or an earlier check failed).
    Skip,
}

/// One line of the report.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// What was checked.
    pub check: String,
    /// The outcome.
    pub status: Status,
    /// What was seen.
    pub detail: String,
    /// How to fix it (failures only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

/// Everything the doctor found.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The service checked.
    pub url: String,
    /// Whether every check passed (or was skipped).
    pub ok: bool,
    /// Every check, in order.
    pub checks: Vec<Finding>,
}

impl Report {
    /// The failed checks.
    pub fn failures(&self) -> impl Iterator<Item = &Finding> {
        self.checks.iter().filter(|f| f.status == Status::Fail)
    }

    /// The table for people: one row per check, then one line per failure with its fix.
    pub fn table(&self) -> String {
        let width = self.checks.iter().map(|f| f.check.len()).max().unwrap_or(5);
        let mut s = format!("obs-gen doctor {}\n\n", self.url);
        for f in &self.checks {
            let status = match f.status {
                Status::Pass => "ok  ",
                Status::Fail => "FAIL",
                Status::Skip => "skip",
            };
            s.push_str(&format!("{status}  {:<width$}  {}\n", f.check, f.detail));
        }
        let failed: Vec<&Finding> = self.failures().collect();
        if failed.is_empty() {
            s.push_str(&format!(
                "\nall {} checks passed\n",
                self.checks
                    .iter()
                    .filter(|f| f.status == Status::Pass)
                    .count()
            ));
        } else {
            s.push_str(&format!(
                "\n{} of {} checks failed:\n",
                failed.len(),
                self.checks.len()
            ));
            for f in failed {
                s.push_str(&format!(
                    "FAIL {}: {}. Fix: {}\n",
                    f.check,
                    f.detail,
                    f.fix
                        .as_deref()
                        .unwrap_or("see docs/generator.md in the obs repository")
                ));
            }
        }
        s
    }
}

/// The findings so far, as the checks add them.
pub(super) struct Checks(pub(super) Vec<Finding>);

impl Checks {
    pub(super) fn pass(&mut self, check: impl Into<String>, detail: impl Into<String>) {
        self.0.push(Finding {
            check: check.into(),
            status: Status::Pass,
            detail: detail.into(),
            fix: None,
        });
    }
    pub(super) fn fail(
        &mut self,
        check: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.0.push(Finding {
            check: check.into(),
            status: Status::Fail,
            detail: detail.into(),
            fix: Some(fix.into()),
        });
    }
    pub(super) fn skip(&mut self, check: impl Into<String>, detail: impl Into<String>) {
        self.0.push(Finding {
            check: check.into(),
            status: Status::Skip,
            detail: detail.into(),
            fix: None,
        });
    }
}

/// The start of a body, for a finding's detail.
pub(super) fn snippet(s: &str) -> String {
    let s = s.trim();
    if s.chars().count() > 80 {
        format!("{}…", s.chars().take(80).collect::<String>())
    } else {
        s.to_string()
    }
}
