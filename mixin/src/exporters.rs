//! Metric lists of the exporters the stack ships, checked in under `mixin/exporters/`.
//!
//! Each file starts with a comment line naming the exporter version, then one metric family a
//! line: `name type label1,label2,...` (`-` for none). `scripts/gen-exporter-lists.sh` regenerates
//! the node, postgres and redis lists by scraping the exporters from Debian's packages
//! (node-exporter 1.5.0, postgres-exporter 0.11.1, redis-exporter 1.45.0); the cAdvisor list and
//! the list of Tempo's metrics generator (the service graph and span metrics it remote-writes
//! into Prometheus when tracing is on) are written from their documentation for the versions
//! the stack pins. The dashboards and rules only
//! use names that these Debian versions and the current releases both expose.
//!
//! ```
//! let m = obs_mixin::exporters::lookup("node_filesystem_avail_bytes").unwrap();
//! assert_eq!(m.exporter, "node-exporter");
//! assert!(m.labels.contains(&"mountpoint"));
//! assert!(obs_mixin::exporters::lookup("node_filesystem_free_percent").is_none());
//! ```

use std::sync::OnceLock;

/// One metric family an exporter exposes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExporterMetric {
    /// Which exporter (file stem: `node-exporter`, `cadvisor`, …).
    pub exporter: &'static str,
    /// Family name; histograms and summaries also expose `_bucket`/`_sum`/`_count` series.
    pub name: &'static str,
    /// `counter`, `gauge`, `histogram`, `summary` or `untyped`.
    pub kind: &'static str,
    /// Labels seen on the family (`le` and `quantile` excluded).
    pub labels: Vec<&'static str>,
}

impl ExporterMetric {
    /// Whether a query may only read this series through `rate`/`increase`: counters, and the
    /// `_bucket`/`_sum`/`_count` series of histograms and summaries.
    pub fn is_counter_series(&self, series: &str) -> bool {
        self.kind == "counter"
            || (series != self.name && matches!(self.kind, "histogram" | "summary"))
    }

    /// Whether Prometheus scrapes the series, which then carry `job` and `instance`; a
    /// [`REMOTE_WRITTEN`] exporter's series carry only the labels listed.
    pub fn is_scraped(&self) -> bool {
        !REMOTE_WRITTEN.contains(&self.exporter)
    }

    /// Whether the series carries `label` (`le` on histogram buckets, `quantile` on summaries).
    pub fn has_label(&self, series: &str, label: &str) -> bool {
        self.labels.contains(&label)
            || (self.kind == "histogram" && series.ends_with("_bucket") && label == "le")
            || (self.kind == "summary" && series == self.name && label == "quantile")
    }
}

/// One exporter's list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exporter {
    /// File stem, e.g. `node-exporter`.
    pub name: &'static str,
    /// The header line, naming the version the list was taken from.
    pub version: &'static str,
    /// Every metric family.
    pub metrics: Vec<ExporterMetric>,
}

/// The exporters that write their series into Prometheus (remote write) instead of being
/// scraped: Tempo's metrics generator.
pub const REMOTE_WRITTEN: &[&str] = &["tempo-metrics-generator"];

const LISTS: &[(&str, &str)] = &[
    (
        "node-exporter",
        include_str!("../exporters/node-exporter.txt"),
    ),
    ("cadvisor", include_str!("../exporters/cadvisor.txt")),
    (
        "postgres-exporter",
        include_str!("../exporters/postgres-exporter.txt"),
    ),
    (
        "redis-exporter",
        include_str!("../exporters/redis-exporter.txt"),
    ),
    (
        "tempo-metrics-generator",
        include_str!("../exporters/tempo-metrics-generator.txt"),
    ),
];

fn parse(name: &'static str, text: &'static str) -> Exporter {
    let mut lines = text.lines();
    let version = lines
        .next()
        .unwrap_or_default()
        .trim_start_matches('#')
        .trim();
    let metrics = lines
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|line| {
            let mut parts = line.split_whitespace();
            let metric = parts.next().expect("a name");
            let kind = parts.next().unwrap_or("untyped");
            let labels = match parts.next() {
                None | Some("-") => Vec::new(),
                Some(list) => list.split(',').collect(),
            };
            ExporterMetric {
                exporter: name,
                name: metric,
                kind,
                labels,
            }
        })
        .collect();
    Exporter {
        name,
        version,
        metrics,
    }
}

/// Every exporter list.
pub fn exporters() -> &'static [Exporter] {
    static ALL: OnceLock<Vec<Exporter>> = OnceLock::new();
    ALL.get_or_init(|| LISTS.iter().map(|(name, text)| parse(name, text)).collect())
}

/// Looks up a series name in every exporter list; `_bucket`, `_sum` and `_count` series resolve
/// to their histogram or summary family.
pub fn lookup(series: &str) -> Option<&'static ExporterMetric> {
    let all = exporters().iter().flat_map(|e| e.metrics.iter());
    all.clone().find(|m| m.name == series).or_else(|| {
        all.clone().find(|m| {
            matches!(m.kind, "histogram" | "summary")
                && series.strip_prefix(m.name).is_some_and(|s| {
                    matches!(s, "_sum" | "_count") || (m.kind == "histogram" && s == "_bucket")
                })
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_list_has_a_version_and_metrics() {
        for e in exporters() {
            assert!(
                e.version.chars().any(|c| c.is_ascii_digit()),
                "{}: {}",
                e.name,
                e.version
            );
            assert!(e.metrics.len() > 10, "{}", e.name);
        }
    }

    #[test]
    fn families_resolve() {
        assert_eq!(lookup("pg_up").unwrap().exporter, "postgres-exporter");
        assert_eq!(lookup("redis_up").unwrap().exporter, "redis-exporter");
        assert_eq!(
            lookup("container_memory_working_set_bytes")
                .unwrap()
                .exporter,
            "cadvisor"
        );
        let graph = lookup("traces_service_graph_request_server_seconds_bucket").unwrap();
        assert_eq!(graph.exporter, "tempo-metrics-generator");
        assert!(graph.has_label("traces_service_graph_request_server_seconds_bucket", "le"));
        assert!(graph.labels.contains(&"connection_type"));
        assert!(!graph.labels.contains(&"job"));
        assert!(!graph.is_scraped());
        assert!(lookup("pg_up").unwrap().is_scraped());
        let gc = lookup("go_gc_duration_seconds_count").unwrap();
        assert_eq!(gc.kind, "summary");
        assert!(gc.is_counter_series("go_gc_duration_seconds_count"));
        assert!(lookup("go_gc_duration_seconds_bucket").is_none());
        assert!(
            lookup("node_cpu_seconds_total")
                .unwrap()
                .is_counter_series("node_cpu_seconds_total")
        );
    }
}
