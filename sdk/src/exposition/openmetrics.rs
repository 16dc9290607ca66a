//! The OpenMetrics text format, for scrapers that ask for it: the registry's text turned into
//! OpenMetrics 1.0, with the exemplars the histograms keep on their buckets.
//!
//! `metrics-exporter-prometheus` writes the Prometheus text format 0.0.4 only, and no Rust
//! metrics library keeps exemplars yet (metrics-rs PR 320 closed unmerged; tikv/rust-prometheus
//! issue 393 open; opentelemetry-rust issue 3369 open). The two formats differ in a few rules,
//! applied here line by line to the exporter's own, predictable output:
//! - a counter's family is named without `_total` (its samples keep it); a counter whose name
//!   has no `_total` is declared `unknown`, as OpenMetrics allows;
//! - `untyped` is `unknown`; HELP text escapes `"` too;
//! - no blank lines; the text ends with `# EOF`;
//! - a bucket line of a histogram that keeps exemplars ends with the latest exemplar of that
//!   bucket: ` # {trace_id="…"} <value> <timestamp>`.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

use crate::catalogue;

/// The content type of the OpenMetrics text format.
pub(super) const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The latest traced observation that fell into one bucket.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Exemplar {
    trace_id: [u8; 16],
    value: f64,
    /// When it was observed, since the Unix epoch.
    at: Duration,
}

/// A histogram series: its family and label values, as the exporter renders them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Series {
    family: &'static str,
    labels: Vec<(&'static str, String)>,
}

/// The exemplars the histograms keep: the latest per bucket of each series, as OpenMetrics
/// allows one exemplar per bucket line. Written only for traced requests, so a service without
/// tracing never takes the lock.
#[derive(Debug, Default)]
pub(crate) struct Exemplars {
    series: Mutex<HashMap<Series, Vec<Option<Exemplar>>>>,
}

impl Exemplars {
    /// Keeps `value`, observed at `at` in the trace `trace_id`, as the exemplar of its bucket
    /// of the series `family{labels}`. A family without catalogue buckets, or an all-zero trace
    /// id (W3C's "no trace"), keeps nothing.
    pub(crate) fn keep(
        &self,
        family: &'static str,
        labels: &[(&'static str, &str)],
        value: f64,
        trace_id: [u8; 16],
        at: Duration,
    ) {
        let Some(buckets) = catalogue::metric(family).and_then(|m| m.buckets) else {
            return;
        };
        if trace_id == [0; 16] || !value.is_finite() {
            return;
        }
        // The bucket a Prometheus histogram counts it in first: the first bound at or above it,
        // or `+Inf`.
        let bucket = buckets
            .iter()
            .position(|bound| value <= *bound)
            .unwrap_or(buckets.len());
        let series = Series {
            family,
            labels: labels
                .iter()
                .map(|(name, value)| (*name, (*value).to_owned()))
                .collect(),
        };
        let mut all = self.series.lock().unwrap_or_else(|e| e.into_inner());
        let kept = all
            .entry(series)
            .or_insert_with(|| vec![None; buckets.len() + 1]);
        kept[bucket] = Some(Exemplar {
            trace_id,
            value,
            at,
        });
    }

    /// The exemplar of the bucket line `le` of `family{labels}`, if one is kept.
    fn of(&self, family: &str, labels: &[(String, String)], le: &str) -> Option<Exemplar> {
        let buckets = catalogue::metric(family)?.buckets?;
        let bucket = match le {
            "+Inf" => buckets.len(),
            le => {
                let le: f64 = le.parse().ok()?;
                buckets.iter().position(|bound| *bound == le)?
            }
        };
        let all = self.series.lock().unwrap_or_else(|e| e.into_inner());
        all.iter()
            .find(|(series, _)| {
                series.family == family
                    && series.labels.len() == labels.len()
                    && series
                        .labels
                        .iter()
                        .zip(labels)
                        .all(|((n1, v1), (n2, v2))| n1 == n2 && v1 == v2)
            })
            .and_then(|(_, kept)| kept.get(bucket).copied().flatten())
    }

    fn is_empty(&self) -> bool {
        self.series
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    }
}

/// `text`, in the Prometheus text format 0.0.4 as the registry renders it, in the OpenMetrics
/// text format 1.0.0, with `exemplars` on the bucket lines they belong to.
pub(crate) fn from_text(text: &str, exemplars: &Exemplars) -> String {
    // The exporter writes a family's HELP before its TYPE: the kinds are read first.
    let kinds: HashMap<&str, &str> = text
        .lines()
        .filter_map(|line| line.strip_prefix("# TYPE ")?.split_once(' '))
        .collect();
    let mut out = String::with_capacity(text.len() + 16);
    let with_exemplars = !exemplars.is_empty();
    for line in text.lines() {
        if line.is_empty() {
            continue;
        }
        let declared = line
            .strip_prefix("# TYPE ")
            .map(|rest| ("TYPE", rest))
            .or_else(|| line.strip_prefix("# HELP ").map(|rest| ("HELP", rest)));
        if let Some((keyword, rest)) = declared {
            let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
            let kind = kinds.get(name).copied().unwrap_or("unknown");
            let (family, kind) = match (kind, name.strip_suffix("_total")) {
                ("counter", Some(family)) => (family, "counter"),
                ("counter" | "untyped", _) => (name, "unknown"),
                (kind, _) => (name, kind),
            };
            match keyword {
                "TYPE" => {
                    let _ = writeln!(out, "# TYPE {family} {kind}");
                }
                _ => {
                    let _ = writeln!(out, "# HELP {family} {}", tail.replace('"', "\\\""));
                }
            }
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        out.push_str(line);
        if with_exemplars && let Some(exemplar) = bucket_exemplar(line, exemplars) {
            let _ = write!(
                out,
                " # {{trace_id=\"{}\"}} {} {}.{:03}",
                hex(&exemplar.trace_id),
                exemplar.value,
                exemplar.at.as_secs(),
                exemplar.at.subsec_millis()
            );
        }
        out.push('\n');
    }
    out.push_str("# EOF\n");
    out
}

/// The exemplar a `…_bucket{…,le="…"} n` line carries, if any.
fn bucket_exemplar(line: &str, exemplars: &Exemplars) -> Option<Exemplar> {
    let (name, rest) = line.split_once('{')?;
    let family = name.strip_suffix("_bucket")?;
    let (labels, _) = rest.rsplit_once('}')?;
    let mut labels = parse_labels(labels)?;
    let le_at = labels.iter().position(|(name, _)| name == "le")?;
    let (_, le) = labels.remove(le_at);
    exemplars.of(family, &labels, &le)
}

/// The `name="value"` pairs of a rendered label set, values unescaped.
fn parse_labels(text: &str) -> Option<Vec<(String, String)>> {
    let mut labels = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let (name, after) = rest.split_once("=\"")?;
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next()? {
                (_, '\\') => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    c => value.push(c),
                },
                (i, '"') => break i,
                (_, c) => value.push(c),
            }
        };
        labels.push((name.trim_start_matches(',').to_owned(), value));
        rest = &after[end + 1..];
    }
    Some(labels)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::with_capacity(32), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_read_back_as_written() {
        assert_eq!(
            parse_labels(r#"a="1",route="/we\"ird\\{id}\n",le="+Inf""#).unwrap(),
            [
                ("a".to_owned(), "1".to_owned()),
                ("route".to_owned(), "/we\"ird\\{id}\n".to_owned()),
                ("le".to_owned(), "+Inf".to_owned()),
            ]
        );
        assert!(parse_labels(r#"a="unterminated"#).is_none());
    }

    #[test]
    fn counters_unknowns_help_and_eof_follow_openmetrics() {
        let text = "# HELP obs_exporter_dropped_total Items \"dropped\".\n# TYPE obs_exporter_dropped_total counter\nobs_exporter_dropped_total{exporter=\"loki\"} 3\n\n# TYPE my_count counter\nmy_count 1\n# TYPE x untyped\nx 2\n";
        let om = from_text(text, &Exemplars::default());
        assert_eq!(
            om,
            "# HELP obs_exporter_dropped Items \\\"dropped\\\".\n# TYPE obs_exporter_dropped counter\nobs_exporter_dropped_total{exporter=\"loki\"} 3\n# TYPE my_count unknown\nmy_count 1\n# TYPE x unknown\nx 2\n# EOF\n"
        );
    }

    #[test]
    fn an_exemplar_sits_on_its_own_bucket_line_only() {
        let exemplars = Exemplars::default();
        let family = catalogue::HTTP_SERVER_REQUEST_DURATION.name;
        let labels = [
            ("http_request_method", "GET"),
            ("http_route", "/users/{id}"),
            ("http_response_status_code", "200"),
        ];
        let trace = [0xab; 16];
        exemplars.keep(
            family,
            &labels,
            0.02,
            trace,
            Duration::from_millis(1_764_547_200_123),
        );
        // No trace, no exemplar.
        exemplars.keep(family, &labels, 3.0, [0; 16], Duration::ZERO);
        let text = format!(
            "# TYPE {family} histogram\n{family}_bucket{{http_request_method=\"GET\",http_route=\"/users/{{id}}\",http_response_status_code=\"200\",le=\"0.01\"}} 0\n{family}_bucket{{http_request_method=\"GET\",http_route=\"/users/{{id}}\",http_response_status_code=\"200\",le=\"0.025\"}} 1\n{family}_bucket{{http_request_method=\"GET\",http_route=\"/users/{{id}}\",http_response_status_code=\"200\",le=\"+Inf\"}} 1\n{family}_bucket{{http_request_method=\"GET\",http_route=\"/other\",http_response_status_code=\"200\",le=\"0.025\"}} 4\n"
        );
        let om = from_text(&text, &exemplars);
        let with: Vec<&str> = om.lines().filter(|l| l.contains(" # {")).collect();
        assert_eq!(with.len(), 1, "{om}");
        assert!(
            with[0].ends_with(&format!(
                "le=\"0.025\"}} 1 # {{trace_id=\"{}\"}} 0.02 1764547200.123",
                "ab".repeat(16)
            )),
            "{om}"
        );
    }
}
