//! The name contract, checked statically: every PromQL expression of a dashboard or rule file
//! is parsed with [`promql_parser`], and every metric and label it names must exist.
//!
//! A metric exists when [`obs_catalogue::metric`] knows it, when a checked-in exporter list
//! has it ([`crate::exporters`]), or when it is a recording rule of the mixin (or of the rule file
//! being checked). A label exists on a metric when the catalogue or exporter list lists it, when
//! it is a target label (`job`, `instance`), or `le` on a histogram's buckets. Labels are followed
//! through the expression: after `sum by (job)`, only `job` is left to match `on`.
//!
//! ```
//! use obs_mixin::contract::check_expr;
//! assert!(check_expr("rule Ok", r#"sum by (job) (rate(http_server_request_duration_seconds_count{job="api"}[5m]))"#).is_empty());
//! let v = check_expr("rule Bad", "sum(rate(http_requests_total[5m]))");
//! assert!(v[0].message.contains("`http_requests_total`"));
//! ```
//!
//! The parts: `series` (which metrics and labels exist), `promql` (labels followed through an
//! expression), `variables` (Grafana variables made parseable), `dashboard`, `rule_file` and
//! `logql` (the checks of each kind of input).

use std::fmt;

mod dashboard;
mod logql;
mod promql;
mod rule_file;
mod series;
mod variables;

pub(crate) use dashboard::datasource_type;
pub use dashboard::{catalogue_metrics_shown, check_dashboard, panels, promql_queries};
pub use logql::check_logql;
pub use promql::{check_expr, metrics_in_expr};
pub use rule_file::check_rule_file;
pub use series::{KnownSeries, SCRAPE_SERIES, Source, TARGET_LABELS, resolve};
pub(crate) use variables::substitute;
pub use variables::substitute_variables;

/// One breach of the contract or the lint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Where: `dashboard <title> / panel <title>`, `dashboard <title> / variable <name>` or
    /// `rule <name>`.
    pub location: String,
    /// The expression concerned, if any.
    pub expr: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)?;
        if !self.expr.is_empty() {
            write!(f, " (in `{}`)", self.expr)?;
        }
        Ok(())
    }
}
