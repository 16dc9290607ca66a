//! The stacks compared by the benchmarks, each wrapping the same axum handler.

#![allow(dead_code, unreachable_pub)]

use std::sync::OnceLock;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::Request;
use http_body_util::BodyExt;
use obs_service::logging::JsonLayer;
use obs_service::{HttpLayer, Metrics};
use tower::Service;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::layer::SubscriberExt;

/// One way of serving the handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// The handler alone.
    Bare,
    /// obs-service's HttpLayer with request IDs and metrics only.
    SdkMetricsIds,
    /// … plus the request span.
    SdkSpan,
    /// … plus the JSON access log through a non-blocking writer: the full layer.
    SdkFull,
    /// The full layer with Loki on: the same rendered line also queued for Loki, and batches
    /// encoded and pushed to a local endpoint (feature `loki`).
    SdkFullLoki,
    /// axum-prometheus' metrics layer alone.
    AxumPrometheus,
    /// The OpenTelemetry project's tower middleware, metrics only, into an SDK meter provider
    /// that aggregates and never exports.
    OtelMetrics,
    /// What users assemble by hand: tower-http request-id + TraceLayer at INFO, axum-prometheus,
    /// tracing-subscriber's JSON output through a non-blocking writer.
    HandAssembled,
}

impl Variant {
    pub const ALL: &'static [Variant] = &[
        Variant::Bare,
        Variant::SdkMetricsIds,
        Variant::SdkSpan,
        Variant::SdkFull,
        #[cfg(feature = "loki")]
        Variant::SdkFullLoki,
        Variant::AxumPrometheus,
        Variant::OtelMetrics,
        Variant::HandAssembled,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Variant::Bare => "bare_axum",
            Variant::SdkMetricsIds => "obs_metrics_ids",
            Variant::SdkSpan => "obs_metrics_ids_span",
            Variant::SdkFull => "obs_full",
            Variant::SdkFullLoki => "obs_full_loki",
            Variant::AxumPrometheus => "axum_prometheus",
            Variant::OtelMetrics => "otel_metrics",
            Variant::HandAssembled => "hand_assembled",
        }
    }
}

/// A router for `variant`, plus what must stay alive while it is used (subscriber guard,
/// writer guard).
pub struct Setup {
    pub router: Router,
    _subscriber: Option<tracing::subscriber::DefaultGuard>,
    _writer: Option<Box<dyn std::any::Any>>,
}

fn handler_router() -> Router {
    Router::new().route(
        "/users/{id}",
        get(
            |axum::extract::Path(id): axum::extract::Path<u64>| async move { format!("user {id}") },
        ),
    )
}

fn axum_prometheus_layer() -> axum_prometheus::PrometheusMetricLayer<'static> {
    // It installs a process-global recorder, which can happen once per process.
    static PAIR: OnceLock<axum_prometheus::PrometheusMetricLayer<'static>> = OnceLock::new();
    PAIR.get_or_init(|| axum_prometheus::PrometheusMetricLayer::pair().0)
        .clone()
}

fn otel_metrics_layer() -> opentelemetry_instrumentation_tower::http::server::Layer {
    // The middleware reads the global meter provider, which is set once per process; the
    // manual reader makes the SDK aggregate every measurement without ever exporting.
    static PROVIDER: OnceLock<()> = OnceLock::new();
    PROVIDER.get_or_init(|| {
        let provider = opentelemetry_sdk::metrics::SdkMeterProvider::builder()
            .with_reader(opentelemetry_sdk::metrics::ManualReader::builder().build())
            .build();
        opentelemetry::global::set_meter_provider(provider);
    });
    opentelemetry_instrumentation_tower::http::server::LayerBuilder::builder()
        .with_tracing(false)
        .build()
        .expect("the metrics-only layer builds")
}

fn sink_writer() -> (tracing_appender::non_blocking::NonBlocking, WorkerGuard) {
    tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(true)
        .finish(std::io::sink())
}

/// The Loki sink pushing to a local endpoint that reads each push and answers 204, on a thread
/// of its own: what Loki costs the service is the queueing, encoding and sending, all counted.
#[cfg(feature = "loki")]
fn loki_lines(
    metrics: &Metrics,
) -> (
    obs_service::loki::LokiLines,
    obs_service::export::ExporterHandle,
) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async move {
                let app = Router::new().route(
                    "/loki/api/v1/push",
                    axum::routing::post(|_body: axum::body::Bytes| async {
                        http::StatusCode::NO_CONTENT
                    }),
                );
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                axum::serve(listener, app).await.unwrap();
            });
    });
    let config = obs_service::Config::new("bench").env("bench").version("0");
    obs_service::loki::LokiLines::start(&obs_service::loki::LokiConfig::new(url), &config, metrics)
        .expect("the Loki sink starts")
}

pub fn setup(variant: Variant) -> Setup {
    let metrics = Metrics::new();
    match variant {
        Variant::Bare => Setup {
            router: handler_router(),
            _subscriber: None,
            _writer: None,
        },
        Variant::SdkMetricsIds | Variant::SdkSpan | Variant::SdkFull | Variant::SdkFullLoki => {
            // What `init` uses: obs-service's batching writer.
            let (writer, guard) =
                obs_service::writer::BatchWriter::builder().finish(std::io::sink());
            let mut keep: Vec<Box<dyn std::any::Any>> = vec![Box::new(guard)];
            #[allow(unused_mut)]
            // Without trace IDs, as `init` sets the layer up when no integration exports spans.
            let mut json = JsonLayer::new(writer)
                .service("bench", "bench", "0")
                .trace_ids(false);
            #[cfg(feature = "loki")]
            if variant == Variant::SdkFullLoki {
                let (lines, handle) = loki_lines(&metrics);
                json = json.also(lines);
                keep.push(Box::new(handle));
            }
            let subscriber = tracing_subscriber::registry()
                .with(json)
                .with(tracing_subscriber::filter::LevelFilter::INFO);
            let layer = HttpLayer::new(&metrics)
                .span(variant != Variant::SdkMetricsIds)
                .access_log(
                    matches!(variant, Variant::SdkFull | Variant::SdkFullLoki)
                        .then_some(tracing::Level::INFO),
                );
            Setup {
                router: handler_router().layer(layer),
                _subscriber: Some(tracing::subscriber::set_default(subscriber)),
                _writer: Some(Box::new(keep)),
            }
        }
        Variant::AxumPrometheus => Setup {
            router: handler_router().layer(axum_prometheus_layer()),
            _subscriber: None,
            _writer: None,
        },
        Variant::OtelMetrics => Setup {
            router: handler_router().layer(otel_metrics_layer()),
            _subscriber: None,
            _writer: None,
        },
        Variant::HandAssembled => {
            use tower_http::request_id::{
                MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer,
            };
            use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
            let (writer, guard) = sink_writer();
            let subscriber = tracing_subscriber::registry()
                .with(tracing_subscriber::fmt::layer().json().with_writer(writer))
                .with(tracing_subscriber::filter::LevelFilter::INFO);
            let router = handler_router()
                .layer(axum_prometheus_layer())
                .layer(PropagateRequestIdLayer::x_request_id())
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(DefaultMakeSpan::new().level(tracing::Level::INFO))
                        .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
                )
                .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid));
            Setup {
                router,
                _subscriber: Some(tracing::subscriber::set_default(subscriber)),
                _writer: Some(Box::new(guard)),
            }
        }
    }
}

/// One request through `router`, body read to the end.
pub async fn one_request(mut router: Router) -> usize {
    let request = Request::get("/users/42").body(Body::empty()).unwrap();
    let response = router.call(request).await.unwrap();
    response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .len()
}
