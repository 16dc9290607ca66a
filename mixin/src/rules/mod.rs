//! The bundled Prometheus rules: the alerts ([`alerts`]) and the RED recording rules
//! ([`recording`]) as data, their rule groups in the [rule model](crate::rule_model) (`groups`),
//! and their promtool unit tests (`promtool`).
//!
//! The assembly of the rule files ([`crate::rule_files`]) adds the SLOs' groups and runs the
//! [passes](crate::rule_model::passes) over every group, which stamp the `runbook_url`
//! annotation. Every rule uses only features of Prometheus 2.42, so Debian's promtool and
//! Prometheus 3.x both accept it.

pub mod alerts;
mod groups;
mod promtool;
pub mod recording;

pub use crate::rule_model::passes::{RUNBOOK_BASE, runbook_url};
pub use alerts::{Alert, AlertGroup, Scenario, Severity};
pub(crate) use groups::{HEADER, groups};
pub use groups::{RECORDING_FILE, alert_groups};
pub use promtool::render_template;
pub(crate) use promtool::test_files;
pub use recording::{Recording, recordings};
