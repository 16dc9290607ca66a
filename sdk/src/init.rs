//! Process-wide initialisation and the guard that flushes on drop.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use tracing_subscriber::Layer;
use tracing_subscriber::Registry;
use tracing_subscriber::layer::SubscriberExt as _;

use crate::catalogue::{DropReason, Exporter};
use crate::config::{InitError, LogFormat, Rotation};
use crate::integration::Configs;
use crate::logging::{JsonLayer, LineSink, WriterSink};
use crate::writer::{BatchWriter, BatchWriterGuard};
use crate::{Config, HttpLayer, Metrics};

static INITIALISED: AtomicBool = AtomicBool::new(false);

/// What [`init`](crate::init!) returns: keep it alive for the life of the service. Dropping it
/// flushes buffered log lines (waiting at most the configured shutdown timeout) and stops the
/// metrics upkeep timer.
#[must_use = "dropping the guard at once stops log output; bind it: `let _obs = obs_service::init!()?;`"]
pub struct Obs {
    config: Config,
    metrics: Metrics,
    upkeep: Option<(mpsc::Sender<()>, JoinHandle<()>)>,
    drain: crate::shutdown::Drain,
    integrations: crate::integration::Running,
    /// Whether an integration that is on exports spans.
    exports_spans: bool,
    // Dropped last: flushing waits for the writers' queues.
    _writers: Vec<BatchWriterGuard>,
}

impl std::fmt::Debug for Obs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Obs")
            .field("service", &self.config.service)
            .finish_non_exhaustive()
    }
}

impl Obs {
    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The process-wide registry served on `/metrics`.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The HTTP layer, recording into [`Obs::metrics`] (and naming its spans for
    /// OpenTelemetry when OTLP export is on).
    pub fn layer(&self) -> HttpLayer {
        HttpLayer::new(&self.metrics).otel(self.exports_spans)
    }

    /// The actix-web middleware, configured as [`Obs::layer`]: see [`actix`](crate::actix).
    #[cfg(feature = "actix")]
    #[cfg_attr(docsrs, doc(cfg(feature = "actix")))]
    pub fn actix_middleware(&self) -> crate::actix::HttpMiddleware {
        self.layer().into()
    }

    /// The gRPC layer for tonic servers, recording into [`Obs::metrics`] (and naming its spans
    /// for OpenTelemetry when OTLP export is on): see [`grpc`](crate::grpc).
    #[cfg(feature = "grpc")]
    #[cfg_attr(docsrs, doc(cfg(feature = "grpc")))]
    pub fn grpc_layer(&self) -> crate::grpc::GrpcLayer {
        crate::grpc::GrpcLayer::new(&self.metrics).otel(self.exports_spans)
    }

    /// The running exporter whose drop counter has the label `exporter` (`sentry`, `otlp`,
    /// `loki`), if it is on.
    #[cfg(any(feature = "sentry", feature = "otlp", feature = "loki"))]
    #[cfg_attr(
        docsrs,
        doc(cfg(any(feature = "sentry", feature = "otlp", feature = "loki")))
    )]
    pub fn exporter(&self, exporter: &str) -> Option<&crate::export::ExporterHandle> {
        self.integrations.handle(exporter)
    }

    /// The tower layer for outgoing HTTP calls, recording into [`Obs::metrics`]: see
    /// [`client`](crate::client).
    pub fn client_layer(&self) -> crate::client::HttpClientLayer {
        crate::client::HttpClientLayer::new(&self.metrics)
    }

    /// The reqwest middleware for outgoing calls, recording into [`Obs::metrics`]: see
    /// [`client`](crate::client).
    ///
    /// ```no_run
    /// # fn f(obs: &obs_service::Obs) {
    /// let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
    ///     .with(obs.client_middleware())
    ///     .build();
    /// # }
    /// ```
    #[cfg(feature = "reqwest")]
    #[cfg_attr(docsrs, doc(cfg(feature = "reqwest")))]
    pub fn client_middleware(&self) -> crate::client::ClientMiddleware {
        crate::client::ClientMiddleware::new(&self.metrics)
    }

    /// The tower layer for outgoing gRPC calls to the server of `endpoint` (a tonic channel's),
    /// recording into [`Obs::metrics`]: see [`GrpcClientLayer`](crate::grpc::GrpcClientLayer).
    #[cfg(feature = "grpc")]
    #[cfg_attr(docsrs, doc(cfg(feature = "grpc")))]
    pub fn grpc_client_layer(&self, endpoint: &http::Uri) -> crate::grpc::GrpcClientLayer {
        crate::grpc::GrpcClientLayer::new(&self.metrics, endpoint)
    }

    /// Routes of the SDK (`/metrics`), to merge into the service's router.
    #[cfg(feature = "axum")]
    pub fn router<S: Clone + Send + Sync + 'static>(&self) -> axum::Router<S> {
        self.metrics.router()
    }

    /// A [`Health`](crate::Health) registry reporting the service version and recording its
    /// check metrics into [`Obs::metrics`]; add checks, then merge its
    /// [`router`](crate::Health::router).
    pub fn health(&self) -> crate::Health {
        crate::Health::new(self.config.version.clone())
            .metrics(&self.metrics)
            .drain(&self.drain)
    }

    /// The future to pass to axum's `with_graceful_shutdown`: on SIGTERM or Ctrl-C, readiness
    /// of every [`Obs::health`] answers `503 draining` for the configured drain period
    /// (`OBS_SHUTDOWN_DRAIN`) while the other routes keep serving; then it resolves, so the
    /// server stops accepting and finishes the requests in flight. See
    /// [`shutdown`](crate::shutdown).
    pub fn shutdown_signal(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        self.drain.on_signal(self.config.shutdown_drain)
    }
}

impl Drop for Obs {
    fn drop(&mut self) {
        // The exporters share one deadline, whatever runtime (if any) is still running.
        self.integrations
            .shutdown(std::time::Instant::now() + self.config.shutdown_timeout);
        if let Some((stop, handle)) = self.upkeep.take() {
            let _ = stop.send(());
            let _ = handle.join();
        }
    }
}

impl Config {
    /// Installs logging and metrics process-wide and returns the guard. A second call returns
    /// [`InitError::AlreadyInitialised`].
    pub fn init(self) -> Result<Obs, InitError> {
        // Configuration errors come first: they are the caller's to fix whatever else happened.
        self.filter_layers()?;
        let integrations = Configs::of(&self)?;
        if INITIALISED.swap(true, Ordering::SeqCst) {
            return Err(InitError::AlreadyInitialised);
        }
        let result = self.install(integrations);
        if result.is_err() {
            INITIALISED.store(false, Ordering::SeqCst);
        }
        result
    }

    fn install(self, configs: Configs) -> Result<Obs, InitError> {
        let (targets, env_filter) = self.filter_layers()?;
        crate::redact::install(self.redactor.clone());
        let metrics =
            Metrics::new().with_build_info(&self.service, &self.version, &self.commit, &self.env);

        let mut guards = Vec::new();
        let mut counters: Vec<(&'static str, BatchWriter)> = Vec::new();
        let (stdout, guard) = self.batch_writer(std::io::stdout());
        counters.push((Exporter::Stdout.as_str(), stdout.clone()));
        guards.push(guard);
        // Stdout (in JSON), the log file and Loki share one JSON layer: each line is rendered
        // once and every sink gets the same bytes.
        let mut sinks: Vec<Box<dyn LineSink>> = Vec::new();
        let pretty_stdout = match self.log_format {
            LogFormat::Json => {
                sinks.push(Box::new(WriterSink(stdout)));
                None
            }
            LogFormat::Pretty => Some(
                tracing_subscriber::fmt::layer()
                    .fmt_fields(crate::logging::RedactingFields::new(self.redactor.clone()))
                    .with_writer(stdout),
            ),
        };
        if let Some(file) = &self.log_file {
            let appender = rolling_appender(file)?;
            let (writer, guard) = self.batch_writer(appender);
            counters.push((Exporter::File.as_str(), writer.clone()));
            guards.push(guard);
            sinks.push(Box::new(WriterSink(writer)));
        }

        // Before the integrations start: Sentry's hook then wraps this one, and the standard
        // library's default hook, whose text this replaces, is not called by either. Until
        // `init` succeeds, dropping it puts the previous hook back.
        let panic_hook = crate::panic::install_hook();
        let mut integrations = configs.start(&self, &metrics)?;
        sinks.extend(integrations.take_line_sinks());
        let exports_spans = configs.exports_spans();
        let json = (!sinks.is_empty()).then(|| self.json_layer(sinks, exports_spans));

        let layers = integrations.take_layers();
        let installed = match (json, pretty_stdout, targets) {
            // The usual set-up, JSON lines and a target filter, with concrete types all the
            // way down: every span's creation, enters, exits and close, and every event, then
            // reach the JSON layer and the registry without a dynamic call or a `Vec` walk
            // (about 300 instructions per request fewer than the general case below).
            (Some(json), None, Some(targets)) if layers.is_empty() => {
                tracing::subscriber::set_global_default(
                    tracing_subscriber::registry().with(json).with(targets),
                )
            }
            (json, pretty_stdout, targets) => {
                // Two subscriber levels, the outputs in one `Vec` and the filter over them,
                // rather than a `.with` level per layer: every span close (and every exit,
                // which may close) walks the levels, and at each one looks for the registry
                // through all the levels below: at five levels those look-ups were about 300
                // instructions per request.
                let mut outputs: Vec<Box<dyn Layer<Registry> + Send + Sync>> = Vec::new();
                if let Some(json) = json {
                    outputs.push(json.boxed());
                }
                if let Some(pretty) = pretty_stdout {
                    outputs.push(pretty.boxed());
                }
                outputs.extend(layers);
                let filter: Box<dyn Layer<_> + Send + Sync> = match (targets, env_filter) {
                    (Some(targets), _) => targets.boxed(),
                    (None, Some(env_filter)) => env_filter.boxed(),
                    (None, None) => unreachable!("filter_layers sets one of the two filters"),
                };
                tracing::subscriber::set_global_default(
                    tracing_subscriber::registry().with(outputs).with(filter),
                )
            }
        };
        installed.map_err(|_| InitError::GlobalTaken {
            what: "tracing subscriber",
        })?;
        metrics
            .install_global()
            .map_err(|_| InitError::GlobalTaken {
                what: "metrics recorder",
            })?;
        for (variable, feature) in crate::integration::not_built(&self) {
            tracing::warn!(
                variable,
                feature,
                "{variable} is set, but obs-service was built without its `{feature}` feature: nothing is exported"
            );
        }

        // Every active writer shows 0 from the start, so "nothing dropped" is data on the
        // dashboards rather than an empty panel.
        for (exporter, _) in &counters {
            metrics.record_dropped(exporter, DropReason::QueueFull, 0);
        }
        if let Some(hook) = panic_hook {
            hook.keep(counters.iter().map(|(_, writer)| writer.clone()).collect());
        }
        let upkeep = spawn_upkeep(metrics.clone(), counters, self.upkeep_interval);
        Ok(Obs {
            config: self,
            metrics,
            upkeep: Some(upkeep),
            drain: crate::shutdown::Drain::new(),
            integrations,
            exports_spans,
            _writers: guards,
        })
    }

    /// A bounded writer that never blocks the caller: a stalled stdout or disk drops (and
    /// counts) lines instead of holding up requests or growing memory without bound.
    fn batch_writer<W: std::io::Write + Send + 'static>(
        &self,
        sink: W,
    ) -> (BatchWriter, BatchWriterGuard) {
        BatchWriter::builder()
            .shutdown_timeout(self.shutdown_timeout)
            .finish(sink)
    }

    fn json_layer(&self, sinks: Vec<Box<dyn LineSink>>, exports_spans: bool) -> JsonLayer {
        JsonLayer::for_sinks(sinks)
            .service(&self.service, &self.env, &self.version)
            .redactor(self.redactor.clone())
            .trace_ids(exports_spans)
    }
}

fn rolling_appender(
    file: &crate::config::LogFile,
) -> Result<tracing_appender::rolling::RollingFileAppender, InitError> {
    let error = |source| InitError::LogFile {
        path: file.path.clone(),
        source,
    };
    let dir = match file.path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let name = file
        .path
        .file_name()
        .ok_or_else(|| error(std::io::Error::other("the path names no file")))?;
    std::fs::create_dir_all(&dir).map_err(error)?;
    tracing_appender::rolling::Builder::new()
        .rotation(match file.rotation {
            Rotation::Daily => tracing_appender::rolling::Rotation::DAILY,
            Rotation::Hourly => tracing_appender::rolling::Rotation::HOURLY,
        })
        .filename_prefix(name.to_string_lossy())
        .max_log_files(file.keep)
        .build(&dir)
        .map_err(|e| error(std::io::Error::other(e)))
}

/// Histogram upkeep and drop accounting, on a plain thread so it runs whatever async runtime
/// the service uses (or none) and keeps memory flat when nobody scrapes.
fn spawn_upkeep(
    metrics: Metrics,
    counters: Vec<(&'static str, BatchWriter)>,
    interval: Duration,
) -> (mpsc::Sender<()>, JoinHandle<()>) {
    let (stop, stopped) = mpsc::channel::<()>();
    let handle = std::thread::Builder::new()
        .name("obs-upkeep".into())
        .spawn(move || {
            let mut seen = vec![0u64; counters.len()];
            loop {
                let done = !matches!(
                    stopped.recv_timeout(interval),
                    Err(mpsc::RecvTimeoutError::Timeout)
                );
                metrics.run_upkeep();
                for ((exporter, counter), seen) in counters.iter().zip(seen.iter_mut()) {
                    let now = counter.dropped_lines();
                    if now > *seen {
                        metrics.record_dropped(exporter, DropReason::QueueFull, now - *seen);
                        *seen = now;
                    }
                }
                if done {
                    break;
                }
            }
        })
        .expect("spawning the obs-upkeep thread");
    (stop, handle)
}
