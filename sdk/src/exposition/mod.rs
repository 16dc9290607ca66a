//! The Prometheus registry behind `/metrics`.
//!
//! [`Metrics`] wraps `metrics-exporter-prometheus` the way the name contract needs it:
//! - every catalogue histogram gets its catalogue buckets, so it renders as a real histogram with
//!   `_bucket` series (the exporter renders summaries unless buckets are set);
//! - it never opens a listener (the exporter's default would bind `0.0.0.0:9000`); the service
//!   serves [`Metrics::render`] on a route it chose;
//! - the standard `process_*` metrics are collected at render time and `obs_build_info` is set
//!   once;
//! - it works without a process-global install: tests build their own and read
//!   [`Metrics::render`];
//! - a scraper that asks for OpenMetrics (`Accept: application/openmetrics-text`, what Prometheus
//!   sends) gets it, with the exemplars the duration histogram keeps for traced requests
//!   (`trace_id` of the request on the bucket it fell in, the latest per bucket); any other gets
//!   the text format 0.0.4, unchanged ([`Metrics::render_for`]).
//!
//! ```
//! use obs_service::Metrics;
//!
//! let metrics = Metrics::new().with_build_info("billing", "1.2.3", "abc123", "production");
//! let text = metrics.render();
//! assert!(text.contains("# TYPE obs_build_info gauge"));
//! assert!(text.contains("process_resident_memory_bytes"));
//! ```

use std::sync::Arc;

use metrics::{Key, KeyName, Label, Recorder, SharedString};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};

use crate::catalogue::{self, MetricKind};

mod openmetrics;

/// The content type of the Prometheus text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
/// The content type of the OpenMetrics text format, which carries exemplars.
pub const OPENMETRICS_CONTENT_TYPE: &str = openmetrics::CONTENT_TYPE;

pub(crate) static METADATA: metrics::Metadata<'static> =
    metrics::Metadata::new(module_path!(), metrics::Level::INFO, Some(module_path!()));

/// A Prometheus registry set up for the catalogue. Cheap to clone; clones share the registry.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    process: metrics_process::Collector,
    /// Series rendered at every scrape from something that keeps its own counts (the Tokio
    /// runtime), appended to the recorder's text.
    collectors: std::sync::RwLock<Vec<Box<dyn Collect>>>,
    /// The histograms' exemplars, rendered in OpenMetrics only.
    exemplars: openmetrics::Exemplars,
}

/// Something whose series are read when `/metrics` is rendered, rather than recorded as they
/// happen: it appends them, in the text format, to the rendered text.
pub(crate) trait Collect: std::any::Any + Send + Sync {
    /// Appends the series, with their `# HELP` and `# TYPE` lines, to `out`.
    fn collect(&self, out: &mut String);
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A new registry with every catalogue metric described and every catalogue histogram given
    /// its buckets.
    pub fn new() -> Self {
        let mut builder = PrometheusBuilder::new();
        for metric in catalogue::METRICS {
            if let Some(buckets) = metric.buckets {
                builder = builder
                    .set_buckets_for_metric(Matcher::Full(metric.name.into()), buckets)
                    .expect("catalogue buckets are never empty");
            }
        }
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        for metric in catalogue::METRICS {
            let name = KeyName::from_const_str(metric.name);
            let help = SharedString::const_str(metric.help);
            match metric.kind {
                MetricKind::Counter => recorder.describe_counter(name, None, help),
                MetricKind::Gauge => recorder.describe_gauge(name, None, help),
                MetricKind::Histogram => recorder.describe_histogram(name, None, help),
            }
        }
        let process = metrics_process::Collector::default();
        // The collector registers through the `metrics` facade; point it at this registry.
        metrics::with_local_recorder(&recorder, || process.describe());
        Self {
            inner: Arc::new(Inner {
                recorder,
                handle,
                process,
                collectors: std::sync::RwLock::new(Vec::new()),
                exemplars: openmetrics::Exemplars::default(),
            }),
        }
    }

    /// Sets `obs_build_info{service, version, commit, env} 1`.
    pub fn with_build_info(self, service: &str, version: &str, commit: &str, env: &str) -> Self {
        let key = Key::from_parts(
            catalogue::BUILD_INFO.name,
            vec![
                Label::new(catalogue::labels::SERVICE, service.to_owned()),
                Label::new(catalogue::labels::VERSION, version.to_owned()),
                Label::new(catalogue::labels::COMMIT, commit.to_owned()),
                Label::new(catalogue::labels::ENV, env.to_owned()),
            ],
        );
        self.recorder().register_gauge(&key, &METADATA).set(1.0);
        self
    }

    /// The recorder, for registering metrics directly or with
    /// [`metrics::with_local_recorder`].
    pub fn recorder(&self) -> &PrometheusRecorder {
        &self.inner.recorder
    }

    /// Renders the Prometheus text format, with fresh `process_*` values.
    pub fn render(&self) -> String {
        metrics::with_local_recorder(&self.inner.recorder, || self.inner.process.collect());
        let mut text = self.inner.handle.render();
        for collector in self
            .inner
            .collectors
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            collector.collect(&mut text);
        }
        text
    }

    /// Renders the OpenMetrics text format, with the exemplars the histograms keep.
    pub fn render_openmetrics(&self) -> String {
        openmetrics::from_text(&self.render(), &self.inner.exemplars)
    }

    /// The content type and body to answer a scrape that sent `accept` with: OpenMetrics when
    /// the scraper accepts it, the text format 0.0.4 otherwise.
    ///
    /// ```
    /// let metrics = obs_service::Metrics::new();
    /// let (content_type, body) = metrics.render_for(Some("application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"));
    /// assert!(content_type.starts_with("application/openmetrics-text"));
    /// assert!(body.ends_with("# EOF\n"));
    /// assert_eq!(metrics.render_for(Some("text/plain")).0, obs_service::exposition::CONTENT_TYPE);
    /// ```
    pub fn render_for(&self, accept: Option<&str>) -> (&'static str, String) {
        if accept.is_some_and(accepts_openmetrics) {
            (OPENMETRICS_CONTENT_TYPE, self.render_openmetrics())
        } else {
            (CONTENT_TYPE, self.render())
        }
    }

    /// Keeps `value`, observed now in the sampled trace `trace_id`, as the exemplar of its
    /// bucket of the histogram series `family{labels}`.
    pub(crate) fn keep_exemplar(
        &self,
        family: &'static str,
        labels: &[(&'static str, &str)],
        value: f64,
        trace_id: [u8; 16],
        at: std::time::Duration,
    ) {
        self.inner
            .exemplars
            .keep(family, labels, value, trace_id, at);
    }

    /// Runs `f` on this registry's collector of type `C`, added with `make` first if it has
    /// none: for a collector whose series several sources add to (one series may appear once
    /// in an exposition).
    #[cfg_attr(
        not(feature = "tokio-runtime"),
        allow(dead_code, reason = "only the runtime metrics are collected so")
    )]
    pub(crate) fn with_collector<C: Collect>(&self, make: impl FnOnce() -> C, f: impl FnOnce(&C)) {
        let mut collectors = self
            .inner
            .collectors
            .write()
            .unwrap_or_else(|e| e.into_inner());
        let found = collectors
            .iter()
            .find_map(|c| (c.as_ref() as &dyn std::any::Any).downcast_ref::<C>());
        match found {
            Some(collector) => f(collector),
            None => {
                let collector = make();
                f(&collector);
                collectors.push(Box::new(collector));
            }
        }
    }

    /// Drains pending histogram samples into their buckets. [`init`](crate::init) runs this on a
    /// timer; call it yourself if you build a `Metrics` by hand and rarely render.
    pub fn run_upkeep(&self) {
        self.inner.handle.run_upkeep();
    }

    /// Makes this registry the target of the `metrics` macros process-wide, so a service's own
    /// `metrics::counter!(…)` calls land on `/metrics` too.
    pub(crate) fn install_global(&self) -> Result<(), metrics::SetRecorderError<GlobalRecorder>> {
        metrics::set_global_recorder(GlobalRecorder(self.clone()))
    }

    /// Adds `n` to `obs_exporter_dropped_total{exporter, reason}`.
    pub fn record_dropped(&self, exporter: &'static str, reason: catalogue::DropReason, n: u64) {
        let key = Key::from_parts(
            catalogue::EXPORTER_DROPPED.name,
            vec![
                Label::new(catalogue::labels::EXPORTER, exporter),
                Label::new(catalogue::labels::REASON, reason.as_str()),
            ],
        );
        self.recorder()
            .register_counter(&key, &METADATA)
            .increment(n);
    }

    /// Adds `n` to `obs_exporter_send_failures_total{exporter}`.
    pub fn record_send_failures(&self, exporter: &'static str, n: u64) {
        let key = Key::from_parts(
            catalogue::EXPORTER_SEND_FAILURES.name,
            vec![Label::new(catalogue::labels::EXPORTER, exporter)],
        );
        self.recorder()
            .register_counter(&key, &METADATA)
            .increment(n);
    }

    /// Sets `obs_exporter_queue_items{exporter}`.
    pub fn set_queue_items(&self, exporter: &'static str, items: u64) {
        let key = Key::from_parts(
            catalogue::EXPORTER_QUEUE_ITEMS.name,
            vec![Label::new(catalogue::labels::EXPORTER, exporter)],
        );
        self.recorder()
            .register_gauge(&key, &METADATA)
            .set(items as f64);
    }

    /// An axum handler answering with [`Metrics::render_for`] the request's `Accept` header.
    #[cfg(feature = "axum")]
    pub fn axum_handler(
        &self,
    ) -> impl Fn(http::HeaderMap) -> std::future::Ready<axum::response::Response>
    + Clone
    + Send
    + Sync
    + 'static {
        let metrics = self.clone();
        move |headers: http::HeaderMap| {
            use axum::response::IntoResponse;
            let accept = headers
                .get(http::header::ACCEPT)
                .and_then(|v| v.to_str().ok());
            let (content_type, body) = metrics.render_for(accept);
            std::future::ready(([(http::header::CONTENT_TYPE, content_type)], body).into_response())
        }
    }

    /// A router serving [`catalogue::paths::METRICS`], to merge into the service's router.
    ///
    /// ```
    /// let metrics = obs_service::Metrics::new();
    /// let app: axum::Router = axum::Router::new().merge(metrics.router());
    /// ```
    #[cfg(feature = "axum")]
    pub fn router<S: Clone + Send + Sync + 'static>(&self) -> axum::Router<S> {
        axum::Router::new().route(
            catalogue::paths::METRICS,
            axum::routing::get(self.axum_handler()),
        )
    }
}

/// The recorder installed process-wide by [`init`](crate::init): forwards to a [`Metrics`].
pub(crate) struct GlobalRecorder(Metrics);

impl std::fmt::Debug for GlobalRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GlobalRecorder")
    }
}

impl Recorder for GlobalRecorder {
    fn describe_counter(
        &self,
        key: KeyName,
        unit: Option<metrics::Unit>,
        description: SharedString,
    ) {
        self.0.recorder().describe_counter(key, unit, description)
    }

    fn describe_gauge(&self, key: KeyName, unit: Option<metrics::Unit>, description: SharedString) {
        self.0.recorder().describe_gauge(key, unit, description)
    }

    fn describe_histogram(
        &self,
        key: KeyName,
        unit: Option<metrics::Unit>,
        description: SharedString,
    ) {
        self.0.recorder().describe_histogram(key, unit, description)
    }

    fn register_counter(&self, key: &Key, metadata: &metrics::Metadata<'_>) -> metrics::Counter {
        self.0.recorder().register_counter(key, metadata)
    }

    fn register_gauge(&self, key: &Key, metadata: &metrics::Metadata<'_>) -> metrics::Gauge {
        self.0.recorder().register_gauge(key, metadata)
    }

    fn register_histogram(
        &self,
        key: &Key,
        metadata: &metrics::Metadata<'_>,
    ) -> metrics::Histogram {
        self.0.recorder().register_histogram(key, metadata)
    }
}

/// Whether an `Accept` header asks for OpenMetrics: one of its types is
/// `application/openmetrics-text`, not refused with `q=0`.
fn accepts_openmetrics(accept: &str) -> bool {
    accept.split(',').any(|range| {
        let mut parts = range.split(';').map(str::trim);
        parts
            .next()
            .is_some_and(|media| media.eq_ignore_ascii_case("application/openmetrics-text"))
            && parts.all(|param| {
                param
                    .strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_none_or(|q| q > 0.0)
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_histograms_render_as_histograms_with_catalogue_buckets() {
        let metrics = Metrics::new();
        let key = Key::from_parts(
            catalogue::HTTP_SERVER_REQUEST_DURATION.name,
            vec![
                Label::new(catalogue::labels::HTTP_REQUEST_METHOD, "GET"),
                Label::new(catalogue::labels::HTTP_ROUTE, "/"),
                Label::new(catalogue::labels::HTTP_RESPONSE_STATUS_CODE, "200"),
            ],
        );
        metrics
            .recorder()
            .register_histogram(&key, &METADATA)
            .record(0.02);
        let text = metrics.render();
        assert!(
            text.contains("# TYPE http_server_request_duration_seconds histogram"),
            "{text}"
        );
        assert!(!text.contains("quantile="), "{text}");
        let les: Vec<f64> = text
            .lines()
            .filter(|l| l.starts_with("http_server_request_duration_seconds_bucket"))
            .filter_map(|l| l.split("le=\"").nth(1)?.split('"').next()?.parse().ok())
            .filter(|v: &f64| v.is_finite())
            .collect();
        assert_eq!(les, catalogue::HTTP_DURATION_BUCKETS);
        assert!(text.contains("le=\"+Inf\"} 1"), "{text}");
        assert!(text.contains(&format!(
            "# HELP http_server_request_duration_seconds {}",
            catalogue::HTTP_SERVER_REQUEST_DURATION.help
        )));
    }

    #[test]
    fn process_and_build_info_are_rendered() {
        let text = Metrics::new()
            .with_build_info("svc", "1.0.0", "deadbeef", "test")
            .render();
        assert!(
            text.contains(
                r#"obs_build_info{service="svc",version="1.0.0",commit="deadbeef",env="test"} 1"#
            ),
            "{text}"
        );
        for name in [
            "process_resident_memory_bytes",
            "process_open_fds",
            "process_cpu_seconds_total",
            "process_start_time_seconds",
        ] {
            assert!(
                text.lines().any(|l| l.starts_with(name)),
                "{name} missing:\n{text}"
            );
        }
    }

    #[test]
    fn registries_are_independent() {
        let a = Metrics::new();
        let b = Metrics::new();
        a.record_dropped("loki", catalogue::DropReason::QueueFull, 3);
        assert!(
            a.render()
                .contains(r#"obs_exporter_dropped_total{exporter="loki",reason="queue_full"} 3"#)
        );
        assert!(!b.render().contains("obs_exporter_dropped_total{"));
    }

    #[test]
    fn openmetrics_only_for_scrapers_that_ask_for_it() {
        for (accept, openmetrics) in [
            (
                "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
                true,
            ),
            ("Application/OpenMetrics-Text", true),
            ("application/openmetrics-text;q=0, text/plain", false),
            ("text/plain;version=0.0.4", false),
            ("*/*", false),
            ("application/json", false),
        ] {
            assert_eq!(accepts_openmetrics(accept), openmetrics, "{accept}");
        }
    }
}
