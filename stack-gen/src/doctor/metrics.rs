//! `/metrics` against the catalogue: each metric a plain SDK service always exposes, with its
//! type, its labels and, for the latency histogram, the catalogue's bucket bounds.

use std::collections::BTreeSet;

use obs_catalogue::{Group, Metric, MetricKind};

use super::exposition::{Exposition, Sample};
use super::report::Checks;

/// The metrics a plain SDK service always exposes (after one request): HTTP RED, build
/// information and `process_*`. Health-check and exporter metrics depend on what the service
/// configures.
pub fn always_exposed(m: &Metric) -> bool {
    matches!(m.group, Group::Http | Group::Process | Group::Build)
}

/// The metrics checked when the service exposes them: a gRPC server's RED histogram. A
/// service that answers gRPC shows it once it has served a call.
pub fn checked_when_exposed(m: &Metric) -> bool {
    matches!(m.group, Group::Grpc)
}

/// Whether `e` has a sample of `m`.
pub(super) fn is_exposed(m: &Metric, e: &Exposition) -> bool {
    e.types.contains_key(m.name) || e.samples.iter().any(|s| m.exposes(&s.name))
}

/// Labels only some samples carry: `error_type` is set on failures alone.
const ON_SOME_SAMPLES: &[&str] = &[obs_catalogue::labels::ERROR_TYPE];

fn kind_name(kind: MetricKind) -> &'static str {
    match kind {
        MetricKind::Counter => "counter",
        MetricKind::Gauge => "gauge",
        MetricKind::Histogram => "histogram",
    }
}

/// Checks metric `m` in the exposition `e`.
pub(super) fn check_metric(c: &mut Checks, m: &Metric, e: &Exposition) {
    let check = format!("metric {}", m.name);
    let want = kind_name(m.kind);
    let declared = e.types.get(m.name).map(String::as_str);
    match declared {
        None if e.samples.iter().any(|s| m.exposes(&s.name)) => {
            return c.fail(
                check,
                "exposed without a # TYPE line",
                "render /metrics with obs-service's registry (Metrics::render), which declares every type",
            );
        }
        None => {
            let fix = match m.group {
                Group::Grpc => {
                    "add obs.grpc_layer() (obs_service::grpc::GrpcLayer) to the tonic server; it records every call"
                }
                Group::Http => {
                    "add obs.layer() (obs_service::HttpLayer) to the router; it records the HTTP metrics of every request"
                }
                Group::Process => {
                    "serve /metrics through obs-service (obs_service::init!), whose upkeep collects the process_* metrics"
                }
                _ => {
                    "initialise obs-service with obs_service::init!() and serve obs.router(); it exposes obs_build_info"
                }
            };
            return c.fail(check, "missing from /metrics", fix);
        }
        Some(t) if t != want => {
            let fix = if m.kind == MetricKind::Histogram && t == "summary" {
                "record it as a histogram with the catalogue's buckets (metrics-exporter-prometheus renders histograms as summaries unless buckets are set; obs-service sets them)".to_string()
            } else {
                format!("expose it as a {want}, as obs_catalogue says")
            };
            return c.fail(check, format!("TYPE {t}, expected {want}"), fix);
        }
        Some(_) => {}
    }
    let samples: Vec<&Sample> = e.samples.iter().filter(|s| m.exposes(&s.name)).collect();
    if samples.is_empty() {
        return c.fail(
            check,
            format!("TYPE {want} declared, but no sample"),
            "send a request first; if samples still miss, the service records the metric on another registry than the one /metrics renders",
        );
    }
    // Labels: every sample carries every catalogue label.
    for s in &samples {
        let missing: Vec<&str> = m
            .labels
            .iter()
            .copied()
            .filter(|l| !s.labels.contains_key(*l) && !ON_SOME_SAMPLES.contains(l))
            .collect();
        if !missing.is_empty() {
            return c.fail(
                check,
                format!("{} lacks the label(s) {}", s.name, missing.join(", ")),
                format!(
                    "label it with {} as obs_catalogue says (the dashboards and rules select on them)",
                    m.labels.join(", ")
                ),
            );
        }
    }
    if m.kind == MetricKind::Histogram {
        let bucket = format!("{}_bucket", m.name);
        let les: BTreeSet<String> = samples
            .iter()
            .filter(|s| s.name == bucket)
            .filter_map(|s| s.labels.get("le").cloned())
            .collect();
        for suffix in ["_bucket", "_sum", "_count"] {
            let name = format!("{}{suffix}", m.name);
            if !samples.iter().any(|s| s.name == name) {
                return c.fail(
                    check,
                    format!("no {name} series"),
                    "expose a real histogram (with _bucket, _sum and _count), not a summary or a gauge",
                );
            }
        }
        let want: BTreeSet<String> = m
            .buckets
            .unwrap_or_default()
            .iter()
            .map(|b| canonical_le(&b.to_string()))
            .chain(["+Inf".to_string()])
            .collect();
        let got: BTreeSet<String> = les.iter().map(|l| canonical_le(l)).collect();
        if got != want {
            // In numeric order, +Inf last.
            let show = |s: &BTreeSet<String>| {
                let mut v: Vec<&String> = s.iter().collect();
                v.sort_by(|a, b| {
                    let x = |t: &str| t.parse::<f64>().unwrap_or(f64::INFINITY);
                    x(a).total_cmp(&x(b))
                });
                v.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(",")
            };
            return c.fail(
                check,
                format!("buckets le={} instead of {}", show(&got), show(&want)),
                "use the catalogue's buckets (obs_catalogue::HTTP_DURATION_BUCKETS, OpenTelemetry's advice for HTTP and RPC durations); dashboards and the p99 alerts interpolate between them",
            );
        }
        return c.pass(
            check,
            format!("histogram, {} buckets, labels ok", want.len()),
        );
    }
    c.pass(
        check,
        format!("{want}, {} series, labels ok", samples.len()),
    );
}

/// `le` values compared as numbers: `1`, `1.0` and `1e0` are the same bound.
fn canonical_le(s: &str) -> String {
    match s.parse::<f64>() {
        Ok(x) if x.is_infinite() => "+Inf".into(),
        Ok(x) => format!("{x}"),
        Err(_) => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn le_bounds_compare_as_numbers() {
        assert_eq!(canonical_le("1.0"), canonical_le("1"));
        assert_eq!(canonical_le("1e0"), "1");
        assert_eq!(canonical_le("+Inf"), "+Inf");
    }
}
