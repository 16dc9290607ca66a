//! Which series exist, with which labels: the catalogue's metrics, the series Prometheus writes
//! for every target, the mixin's recording rules and the exporters' checked-in lists.

use std::collections::BTreeSet;

use obs_catalogue::{self as catalogue, MetricKind};

/// Labels every scraped series carries, added by Prometheus.
pub const TARGET_LABELS: &[&str] = &["job", "instance"];

/// Where a known metric comes from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Source {
    /// The SDK catalogue.
    Catalogue(&'static catalogue::Metric),
    /// A checked-in exporter list.
    Exporter(&'static crate::exporters::ExporterMetric),
    /// A recording rule of the mixin.
    Recording(&'static crate::rules::Recording),
    /// A series Prometheus writes for every target ([`SCRAPE_SERIES`]).
    Scrape(&'static str),
}

/// Series Prometheus itself writes for every scrape target, with only the target labels.
pub const SCRAPE_SERIES: &[&str] = &[
    "up",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling",
    "scrape_series_added",
];

/// A series name the contract knows.
#[derive(Debug, Clone, PartialEq)]
pub struct KnownSeries {
    /// Where it comes from.
    pub source: Source,
    /// Labels it carries, target labels and `le` included.
    pub labels: BTreeSet<String>,
    /// Whether it only makes sense inside `rate`/`irate`/`increase`/`resets`.
    pub counter: bool,
}

/// Resolves a series name (a `_bucket`/`_sum`/`_count` series resolves to its histogram).
pub fn resolve(series: &str) -> Option<KnownSeries> {
    let mut labels: BTreeSet<String> = TARGET_LABELS.iter().map(|l| l.to_string()).collect();
    if let Some(m) = catalogue::metric(series) {
        labels.extend(m.labels.iter().map(|l| l.to_string()));
        if m.kind == MetricKind::Histogram && series.ends_with("_bucket") {
            labels.insert("le".into());
        }
        let counter = m.kind == MetricKind::Counter || m.kind == MetricKind::Histogram;
        return Some(KnownSeries {
            source: Source::Catalogue(m),
            labels,
            counter,
        });
    }
    if let Some(name) = SCRAPE_SERIES.iter().find(|s| **s == series) {
        return Some(KnownSeries {
            source: Source::Scrape(name),
            labels,
            counter: false,
        });
    }
    if let Some(r) = crate::rules::recordings()
        .iter()
        .chain(crate::slo::recorded_series())
        .find(|r| r.record == series)
    {
        labels = r.labels.iter().map(|l| l.to_string()).collect();
        return Some(KnownSeries {
            source: Source::Recording(r),
            labels,
            counter: false,
        });
    }
    if let Some(m) = crate::exporters::lookup(series) {
        if !m.is_scraped() {
            labels.clear();
        }
        labels.extend(m.labels.iter().map(|l| l.to_string()));
        for extra in ["le", "quantile"] {
            if m.has_label(series, extra) {
                labels.insert(extra.into());
            }
        }
        let counter = m.is_counter_series(series);
        return Some(KnownSeries {
            source: Source::Exporter(m),
            labels,
            counter,
        });
    }
    None
}
