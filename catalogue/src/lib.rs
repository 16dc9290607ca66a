//! The obs name contract: every metric, log field, HTTP path and environment variable the
//! SDK (`obs-service`) exposes, and the JSON shapes it answers with ([`wire`]); the
//! environment variables are in [`env`](mod@env).
//!
//! This crate is the single source of truth shared by the SDK (which emits these names), the
//! mixin (`obs-mixin`, whose dashboards and rules query them) and the generator (`obs-gen`,
//! whose log pipelines, health checks and `doctor` read them). It has no dependencies, so a
//! runtime upgrade of the SDK never forces a new release of the other two.
//!
//! Names follow the OpenTelemetry HTTP semantic conventions as Prometheus renders them (dots become
//! underscores, the unit becomes a suffix), so dashboards built on this catalogue also work for
//! services instrumented with any OpenTelemetry SDK using the stable HTTP conventions.
//!
//! ```
//! use obs_catalogue::{self as catalogue, MetricKind};
//!
//! let duration = catalogue::metric("http_server_request_duration_seconds").unwrap();
//! assert_eq!(duration.kind, MetricKind::Histogram);
//! assert!(duration.labels.contains(&catalogue::labels::HTTP_ROUTE));
//! assert_eq!(duration.buckets.unwrap().first(), Some(&0.005));
//! ```

use core::fmt;

pub mod env;
pub mod wire;

/// Version of this catalogue. Bumped whenever a name, label or bucket layout changes, so the
/// generator can tell which SDK releases a generated stack matches.
pub const VERSION: &str = "1";

/// The kind of a metric, as Prometheus sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricKind {
    /// A monotonically increasing counter (name ends in `_total`).
    Counter,
    /// A value that goes up and down.
    Gauge,
    /// A histogram with explicit buckets, exposed as `_bucket`, `_sum` and `_count` series.
    Histogram,
}

impl MetricKind {
    /// The name Prometheus uses in `# TYPE` lines.
    pub const fn as_str(self) -> &'static str {
        match self {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
            MetricKind::Histogram => "histogram",
        }
    }
}

impl fmt::Display for MetricKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The unit of a metric's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Unit {
    /// Seconds (durations, timestamps).
    Seconds,
    /// Bytes.
    Bytes,
    /// A plain count (requests, file descriptors, threads, events).
    Count,
    /// A 0/1 state, or an info metric whose value is always 1.
    State,
}

impl Unit {
    /// The unit as written in the metrics reference and in OpenMetrics `# UNIT` lines.
    pub const fn as_str(self) -> &'static str {
        match self {
            Unit::Seconds => "seconds",
            Unit::Bytes => "bytes",
            Unit::Count => "count",
            Unit::State => "state",
        }
    }
}

/// Who produces a metric. Dashboards and rules may rely on every group; the `obs-gen doctor`
/// command checks the ones a plain SDK service always exposes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Group {
    /// RED metrics of the HTTP server layer.
    Http,
    /// Standard `process_*` metrics (Linux), as the Prometheus client libraries name them.
    Process,
    /// Build and identity information.
    Build,
    /// Results of the readiness checks.
    Health,
    /// The SDK's own health: what its exporters and writers had to drop.
    SelfHealth,
    /// Outgoing HTTP calls the service makes through the SDK's client integrations.
    HttpClient,
    /// The Tokio runtime the service runs on (opt-in).
    Runtime,
    /// RED metrics of gRPC servers (the stable OpenTelemetry RPC conventions).
    Grpc,
    /// Outgoing gRPC calls the service makes through the SDK's tonic client layer.
    GrpcClient,
}

impl Group {
    /// A short human name for the reference page.
    pub const fn title(self) -> &'static str {
        match self {
            Group::Http => "HTTP server (RED)",
            Group::Process => "Process",
            Group::Build => "Build information",
            Group::Health => "Health checks",
            Group::SelfHealth => "SDK self-health",
            Group::HttpClient => "Outgoing HTTP calls",
            Group::Runtime => "Tokio runtime",
            Group::Grpc => "gRPC server (RED)",
            Group::GrpcClient => "Outgoing gRPC calls",
        }
    }
}

/// One metric of the contract.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Metric {
    /// The exposed name. For histograms, the base name (without `_bucket`/`_sum`/`_count`).
    pub name: &'static str,
    /// Counter, gauge or histogram.
    pub kind: MetricKind,
    /// Unit of the value.
    pub unit: Unit,
    /// Help text, rendered in `# HELP`.
    pub help: &'static str,
    /// Every label the SDK attaches. Queries must not rely on any other label except the
    /// target labels Prometheus adds (`job`, `instance`).
    pub labels: &'static [&'static str],
    /// Bucket upper bounds of a histogram; `None` for other kinds.
    pub buckets: Option<&'static [f64]>,
    /// Who produces it.
    pub group: Group,
}

impl Metric {
    /// The series names this metric appears under in the Prometheus exposition format.
    ///
    /// ```
    /// let m = obs_catalogue::HTTP_SERVER_REQUEST_DURATION;
    /// assert_eq!(
    ///     m.series_names(),
    ///     vec![
    ///         "http_server_request_duration_seconds_bucket".to_string(),
    ///         "http_server_request_duration_seconds_sum".to_string(),
    ///         "http_server_request_duration_seconds_count".to_string(),
    ///     ]
    /// );
    /// ```
    pub fn series_names(&self) -> Vec<String> {
        match self.kind {
            MetricKind::Histogram => ["_bucket", "_sum", "_count"]
                .iter()
                .map(|suffix| format!("{}{}", self.name, suffix))
                .collect(),
            _ => vec![self.name.into()],
        }
    }

    /// Whether `series` is one of the series this metric is exposed as.
    ///
    /// ```
    /// let m = obs_catalogue::HTTP_SERVER_REQUEST_DURATION;
    /// assert!(m.exposes("http_server_request_duration_seconds_bucket"));
    /// assert!(!m.exposes("http_server_request_duration_seconds"));
    /// ```
    pub fn exposes(&self, series: &str) -> bool {
        match self.kind {
            MetricKind::Histogram => series
                .strip_prefix(self.name)
                .is_some_and(|suffix| matches!(suffix, "_bucket" | "_sum" | "_count")),
            _ => series == self.name,
        }
    }

    /// Whether the metric carries `label`. The histogram's `le` label counts too.
    pub fn has_label(&self, label: &str) -> bool {
        self.labels.contains(&label) || (self.kind == MetricKind::Histogram && label == "le")
    }
}

/// Label names used by the SDK's metrics.
pub mod labels {
    /// HTTP method, upper case; methods outside the standard set become [`super::OTHER_METHOD`].
    pub const HTTP_REQUEST_METHOD: &str = "http_request_method";
    /// The matched route template (`/users/{id}`), never the raw path; requests that matched no
    /// route share [`super::UNMATCHED_ROUTE`].
    pub const HTTP_ROUTE: &str = "http_route";
    /// Numeric HTTP status code of the response.
    pub const HTTP_RESPONSE_STATUS_CODE: &str = "http_response_status_code";
    /// `http` or `https`.
    pub const URL_SCHEME: &str = "url_scheme";
    /// Service name, as set at initialisation.
    pub const SERVICE: &str = "service";
    /// Deployment environment (`production`, `staging`, …).
    pub const ENV: &str = "env";
    /// Service version.
    pub const VERSION: &str = "version";
    /// Source revision the binary was built from.
    pub const COMMIT: &str = "commit";
    /// Name of a readiness check.
    pub const CHECK: &str = "check";
    /// Whether a readiness check is critical (`true`) or only degrades the status (`false`).
    pub const CRITICAL: &str = "critical";
    /// Which exporter or writer dropped data: an [`Exporter`](super::Exporter)'s name.
    pub const EXPORTER: &str = "exporter";
    /// Why data was dropped: a [`DropReason`](super::DropReason)'s name.
    pub const REASON: &str = "reason";
    /// The host an outgoing call went to (the URL's host alone: never its path, query or
    /// credentials).
    pub const SERVER_ADDRESS: &str = "server_address";
    /// The port an outgoing call went to (the scheme's default when the URL names none).
    pub const SERVER_PORT: &str = "server_port";
    /// Why an outgoing call failed, when it did: the status code of an error answer (`404`,
    /// `503`), or one of the [`ClientError`](super::ClientError) values when no answer came.
    /// Absent on calls that succeeded. On the gRPC server histogram: the status code name of
    /// an answer that means a server fault ([`GRPC_SERVER_FAULT_CODES`](super::GRPC_SERVER_FAULT_CODES)).
    /// On the gRPC client histogram: the name of every code but `OK`, or a
    /// [`ClientError`](super::ClientError) value when no answer came.
    pub const ERROR_TYPE: &str = "error_type";
    /// The RPC system: `grpc`.
    pub const RPC_SYSTEM_NAME: &str = "rpc_system_name";
    /// The fully qualified RPC method, `package.Service/Method`; methods the server does not
    /// serve share [`OTHER_METHOD`](super::OTHER_METHOD), never the raw path.
    pub const RPC_METHOD: &str = "rpc_method";
    /// The gRPC status code by name: `OK`, `NOT_FOUND`, `INTERNAL`, …
    pub const RPC_RESPONSE_STATUS_CODE: &str = "rpc_response_status_code";
}

/// The value of `http_request_method` for methods outside the standard set, as the semantic
/// conventions prescribe. It keeps made-up methods from creating series.
pub const OTHER_METHOD: &str = "_OTHER";

/// The standard HTTP methods kept as they are in the `http_request_method` label.
pub const KNOWN_METHODS: &[&str] = &[
    "CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE",
];

/// The `http_route` value shared by every request that matched no route, so a scan of a
/// million random paths adds no series. Real templates always start with `/`, so this value
/// cannot collide with one.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// What writes or exports the SDK's output: the values of the `exporter` label of
/// [`EXPORTER_DROPPED`].
///
/// ```
/// use obs_catalogue::Exporter;
/// assert_eq!(Exporter::Loki.as_str(), "loki");
/// assert_eq!(Exporter::ALL.len(), 5);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Exporter {
    /// The log writer on stdout.
    Stdout,
    /// The optional log file.
    File,
    /// Log shipping to Loki.
    Loki,
    /// Error reporting to Sentry.
    Sentry,
    /// Trace export over OTLP.
    Otlp,
}

impl Exporter {
    /// Every exporter, in the order the reference lists them.
    pub const ALL: [Exporter; 5] = [
        Exporter::Stdout,
        Exporter::File,
        Exporter::Loki,
        Exporter::Sentry,
        Exporter::Otlp,
    ];

    /// The `exporter` label value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Exporter::Stdout => "stdout",
            Exporter::File => "file",
            Exporter::Loki => "loki",
            Exporter::Sentry => "sentry",
            Exporter::Otlp => "otlp",
        }
    }
}

impl fmt::Display for Exporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an exporter or writer dropped data: the values of the `reason` label of
/// [`EXPORTER_DROPPED`].
///
/// ```
/// use obs_catalogue::DropReason;
/// assert_eq!(DropReason::QueueFull.as_str(), "queue_full");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// The queue was full (the endpoint was down or slow for longer than the queue lasts), so
    /// the oldest items made room for new ones.
    QueueFull,
    /// The endpoint refused the data itself (a 4xx answer other than 408 and 429): sending it
    /// again cannot help.
    Rejected,
    /// The service shut down before its shutdown deadline let the items be sent.
    Shutdown,
}

impl DropReason {
    /// Every reason, in the order the reference lists them.
    pub const ALL: [DropReason; 3] = [
        DropReason::QueueFull,
        DropReason::Rejected,
        DropReason::Shutdown,
    ];

    /// The `reason` label value.
    pub const fn as_str(self) -> &'static str {
        match self {
            DropReason::QueueFull => "queue_full",
            DropReason::Rejected => "rejected",
            DropReason::Shutdown => "shutdown",
        }
    }
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Bucket bounds of the request-duration histogram, in seconds: the boundaries the OpenTelemetry
/// HTTP semantic conventions advise for `http.server.request.duration`.
pub const HTTP_DURATION_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// Why an outgoing call got no answer, as its `error_type` label says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientError {
    /// No answer within the client's timeout.
    Timeout,
    /// The connection could not be made: refused, unreachable, a name that does not resolve, a
    /// TLS handshake that failed.
    Connect,
    /// Any other failure: the semantic conventions' fallback value.
    Other,
}

impl ClientError {
    /// Every value, in a fixed order.
    pub const ALL: &'static [ClientError] = &[
        ClientError::Timeout,
        ClientError::Connect,
        ClientError::Other,
    ];

    /// The `error_type` label value.
    pub const fn as_str(self) -> &'static str {
        match self {
            ClientError::Timeout => "timeout",
            ClientError::Connect => "connect_error",
            ClientError::Other => "_OTHER",
        }
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Bucket bounds of the health-check duration histogram, in seconds. Checks have their own
/// timeouts (default 2 s), so the range ends a little past that.
pub const HEALTH_DURATION_BUCKETS: &[f64] = &[
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// `http_server_request_duration_seconds`: the RED histogram.
pub const HTTP_SERVER_REQUEST_DURATION: Metric = Metric {
    name: "http_server_request_duration_seconds",
    kind: MetricKind::Histogram,
    unit: Unit::Seconds,
    help: "Duration of HTTP server requests, from receiving the request head to the end of the response body.",
    labels: &[
        labels::HTTP_REQUEST_METHOD,
        labels::HTTP_ROUTE,
        labels::HTTP_RESPONSE_STATUS_CODE,
    ],
    buckets: Some(HTTP_DURATION_BUCKETS),
    group: Group::Http,
};

/// `http_server_active_requests`: requests in flight. Labelled as the semantic conventions
/// specify (method and scheme only), so it never carries a route.
pub const HTTP_SERVER_ACTIVE_REQUESTS: Metric = Metric {
    name: "http_server_active_requests",
    kind: MetricKind::Gauge,
    unit: Unit::Count,
    help: "Number of HTTP server requests currently being handled.",
    labels: &[labels::HTTP_REQUEST_METHOD, labels::URL_SCHEME],
    buckets: None,
    group: Group::Http,
};

/// `http_client_request_duration_seconds`: outgoing calls, by the server they went to.
pub const HTTP_CLIENT_REQUEST_DURATION: Metric = Metric {
    name: "http_client_request_duration_seconds",
    kind: MetricKind::Histogram,
    unit: Unit::Seconds,
    help: "Duration of outgoing HTTP calls, from sending the request to receiving the response head, or to the failure.",
    labels: &[
        labels::HTTP_REQUEST_METHOD,
        labels::SERVER_ADDRESS,
        labels::SERVER_PORT,
        labels::HTTP_RESPONSE_STATUS_CODE,
        labels::ERROR_TYPE,
    ],
    buckets: Some(HTTP_DURATION_BUCKETS),
    group: Group::HttpClient,
};

/// The `rpc_system_name` value of gRPC calls.
pub const RPC_SYSTEM_GRPC: &str = "grpc";

/// The gRPC status codes that mean a server fault, as the OpenTelemetry RPC conventions
/// classify them for a server: the answers that carry `error_type`, and what the gRPC
/// error-ratio alert and availability SLOs count. The others (`NOT_FOUND`,
/// `INVALID_ARGUMENT`, `CANCELLED`, …) are the caller's business.
pub const GRPC_SERVER_FAULT_CODES: &[&str] = &[
    "UNKNOWN",
    "DEADLINE_EXCEEDED",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
];

/// `rpc_server_call_duration_seconds`: the RED histogram of gRPC servers.
pub const RPC_SERVER_CALL_DURATION: Metric = Metric {
    name: "rpc_server_call_duration_seconds",
    kind: MetricKind::Histogram,
    unit: Unit::Seconds,
    help: "Duration of gRPC server calls, from receiving the request head to the end of the response stream.",
    labels: &[
        labels::RPC_SYSTEM_NAME,
        labels::RPC_METHOD,
        labels::RPC_RESPONSE_STATUS_CODE,
        labels::ERROR_TYPE,
    ],
    buckets: Some(HTTP_DURATION_BUCKETS),
    group: Group::Grpc,
};

/// `rpc_client_call_duration_seconds`: outgoing gRPC calls, by the server they went to.
pub const RPC_CLIENT_CALL_DURATION: Metric = Metric {
    name: "rpc_client_call_duration_seconds",
    kind: MetricKind::Histogram,
    unit: Unit::Seconds,
    help: "Duration of outgoing gRPC calls, from sending the request to the end of the response stream, or to the failure.",
    labels: &[
        labels::RPC_SYSTEM_NAME,
        labels::RPC_METHOD,
        labels::SERVER_ADDRESS,
        labels::SERVER_PORT,
        labels::RPC_RESPONSE_STATUS_CODE,
        labels::ERROR_TYPE,
    ],
    buckets: Some(HTTP_DURATION_BUCKETS),
    group: Group::GrpcClient,
};

/// `tokio_runtime_workers`: the runtime's worker threads.
pub const TOKIO_WORKERS: Metric = Metric {
    name: "tokio_runtime_workers",
    kind: MetricKind::Gauge,
    unit: Unit::Count,
    help: "Number of worker threads of the Tokio runtime.",
    labels: &[],
    buckets: None,
    group: Group::Runtime,
};

/// `tokio_runtime_alive_tasks`: tasks spawned and not finished yet.
pub const TOKIO_ALIVE_TASKS: Metric = Metric {
    name: "tokio_runtime_alive_tasks",
    kind: MetricKind::Gauge,
    unit: Unit::Count,
    help: "Number of tasks of the Tokio runtime that are alive: spawned and not yet finished.",
    labels: &[],
    buckets: None,
    group: Group::Runtime,
};

/// `tokio_runtime_global_queue_depth`: tasks waiting in the runtime's shared queue.
pub const TOKIO_GLOBAL_QUEUE_DEPTH: Metric = Metric {
    name: "tokio_runtime_global_queue_depth",
    kind: MetricKind::Gauge,
    unit: Unit::Count,
    help: "Number of tasks waiting in the Tokio runtime's global queue: a queue that stays long means the workers cannot keep up.",
    labels: &[],
    buckets: None,
    group: Group::Runtime,
};

/// `tokio_runtime_worker_busy_seconds_total`: time the workers spent running tasks.
pub const TOKIO_BUSY: Metric = Metric {
    name: "tokio_runtime_worker_busy_seconds_total",
    kind: MetricKind::Counter,
    unit: Unit::Seconds,
    help: "Time the Tokio runtime's workers spent busy, summed over the workers; its rate over the worker count is how busy they are.",
    labels: &[],
    buckets: None,
    group: Group::Runtime,
};

/// `tokio_runtime_worker_parks_total`: times the workers went to sleep for want of work.
pub const TOKIO_PARKS: Metric = Metric {
    name: "tokio_runtime_worker_parks_total",
    kind: MetricKind::Counter,
    unit: Unit::Count,
    help: "Times the Tokio runtime's workers parked (went to sleep for want of work), summed over the workers.",
    labels: &[],
    buckets: None,
    group: Group::Runtime,
};

/// `obs_build_info`: always 1, labelled with the build's identity.
pub const BUILD_INFO: Metric = Metric {
    name: "obs_build_info",
    kind: MetricKind::Gauge,
    unit: Unit::State,
    help: "Build information of the service; the value is always 1.",
    labels: &[
        labels::SERVICE,
        labels::VERSION,
        labels::COMMIT,
        labels::ENV,
    ],
    buckets: None,
    group: Group::Build,
};

/// `obs_health_check_status`: 1 while a readiness check passes, 0 while it fails.
pub const HEALTH_CHECK_STATUS: Metric = Metric {
    name: "obs_health_check_status",
    kind: MetricKind::Gauge,
    unit: Unit::State,
    help: "Result of the last run of a readiness check: 1 passing, 0 failing.",
    labels: &[labels::CHECK, labels::CRITICAL],
    buckets: None,
    group: Group::Health,
};

/// `obs_health_check_duration_seconds`: how long readiness checks take.
pub const HEALTH_CHECK_DURATION: Metric = Metric {
    name: "obs_health_check_duration_seconds",
    kind: MetricKind::Histogram,
    unit: Unit::Seconds,
    help: "Duration of readiness check runs, timeouts included.",
    labels: &[labels::CHECK],
    buckets: Some(HEALTH_DURATION_BUCKETS),
    group: Group::Health,
};

/// `obs_exporter_dropped_total`: log lines, events or spans an exporter or writer dropped
/// rather than block or grow memory.
pub const EXPORTER_DROPPED: Metric = Metric {
    name: "obs_exporter_dropped_total",
    kind: MetricKind::Counter,
    unit: Unit::Count,
    help: "Items (log lines, events, spans) dropped by an exporter or log writer, by reason: its queue was full, the endpoint rejected them, or the service shut down first.",
    labels: &[labels::EXPORTER, labels::REASON],
    buckets: None,
    group: Group::SelfHealth,
};

/// `obs_exporter_send_failures_total`: attempts to send a batch that failed and will be
/// retried or given up. They go up as soon as an endpoint fails, before anything is lost.
pub const EXPORTER_SEND_FAILURES: Metric = Metric {
    name: "obs_exporter_send_failures_total",
    kind: MetricKind::Counter,
    unit: Unit::Count,
    help: "Attempts by an exporter to send a batch that failed (error answer, refused connection or timeout).",
    labels: &[labels::EXPORTER],
    buckets: None,
    group: Group::SelfHealth,
};

/// `obs_exporter_queue_items`: items an exporter holds and has not delivered yet.
pub const EXPORTER_QUEUE_ITEMS: Metric = Metric {
    name: "obs_exporter_queue_items",
    kind: MetricKind::Gauge,
    unit: Unit::Count,
    help: "Items (log lines, events, spans) an exporter holds and has not delivered yet: queued or in the batch being sent.",
    labels: &[labels::EXPORTER],
    buckets: None,
    group: Group::SelfHealth,
};

macro_rules! process_metric {
    ($ident:ident, $name:literal, $kind:ident, $unit:ident, $help:literal) => {
        #[doc = concat!("`", $name, "`: ", $help)]
        pub const $ident: Metric = Metric {
            name: $name,
            kind: MetricKind::$kind,
            unit: Unit::$unit,
            help: $help,
            labels: &[],
            buckets: None,
            group: Group::Process,
        };
    };
}

process_metric!(
    PROCESS_CPU_SECONDS,
    "process_cpu_seconds_total",
    Counter,
    Seconds,
    "Total user and system CPU time spent in seconds."
);
process_metric!(
    PROCESS_RESIDENT_MEMORY,
    "process_resident_memory_bytes",
    Gauge,
    Bytes,
    "Resident memory size in bytes."
);
process_metric!(
    PROCESS_VIRTUAL_MEMORY,
    "process_virtual_memory_bytes",
    Gauge,
    Bytes,
    "Virtual memory size in bytes."
);
process_metric!(
    PROCESS_VIRTUAL_MEMORY_MAX,
    "process_virtual_memory_max_bytes",
    Gauge,
    Bytes,
    "Maximum amount of virtual memory available in bytes."
);
process_metric!(
    PROCESS_OPEN_FDS,
    "process_open_fds",
    Gauge,
    Count,
    "Number of open file descriptors."
);
process_metric!(
    PROCESS_MAX_FDS,
    "process_max_fds",
    Gauge,
    Count,
    "Maximum number of open file descriptors."
);
process_metric!(
    PROCESS_START_TIME,
    "process_start_time_seconds",
    Gauge,
    Seconds,
    "Start time of the process since unix epoch in seconds."
);
process_metric!(
    PROCESS_THREADS,
    "process_threads",
    Gauge,
    Count,
    "Number of OS threads in the process."
);

/// Every metric of the contract, in the order of the reference page.
pub const METRICS: &[Metric] = &[
    HTTP_SERVER_REQUEST_DURATION,
    HTTP_SERVER_ACTIVE_REQUESTS,
    BUILD_INFO,
    PROCESS_CPU_SECONDS,
    PROCESS_RESIDENT_MEMORY,
    PROCESS_VIRTUAL_MEMORY,
    PROCESS_VIRTUAL_MEMORY_MAX,
    PROCESS_OPEN_FDS,
    PROCESS_MAX_FDS,
    PROCESS_START_TIME,
    PROCESS_THREADS,
    HEALTH_CHECK_STATUS,
    HEALTH_CHECK_DURATION,
    EXPORTER_DROPPED,
    EXPORTER_SEND_FAILURES,
    EXPORTER_QUEUE_ITEMS,
    HTTP_CLIENT_REQUEST_DURATION,
    TOKIO_WORKERS,
    TOKIO_ALIVE_TASKS,
    TOKIO_GLOBAL_QUEUE_DEPTH,
    TOKIO_BUSY,
    TOKIO_PARKS,
    RPC_SERVER_CALL_DURATION,
    RPC_CLIENT_CALL_DURATION,
];

/// Looks a metric up by its name; a histogram's `_bucket`, `_sum` and `_count` series resolve
/// to the histogram.
///
/// ```
/// use obs_catalogue as catalogue;
/// assert_eq!(catalogue::metric("process_open_fds").unwrap().name, "process_open_fds");
/// assert_eq!(
///     catalogue::metric("http_server_request_duration_seconds_count").unwrap().name,
///     "http_server_request_duration_seconds"
/// );
/// assert!(catalogue::metric("http_requests_total").is_none());
/// ```
pub fn metric(name: &str) -> Option<&'static Metric> {
    METRICS
        .iter()
        .find(|m| m.name == name)
        .or_else(|| METRICS.iter().find(|m| m.exposes(name)))
}

/// Labels that services instrumented with an upstream OpenTelemetry SDK (stable HTTP
/// conventions) add to the HTTP metrics beyond the ones the SDK sets. Queries may aggregate
/// them away (`sum by (...)`) but must never select on them, since the SDK does not emit them.
pub const OTEL_EXTRA_HTTP_LABELS: &[&str] =
    &["error_type", "url_scheme", "network_protocol_version"];

/// Where a log field ends up when logs are shipped to Loki.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LokiPlacement {
    /// An index label. Only low-cardinality fields get this.
    Label,
    /// Structured metadata: searchable without creating streams.
    StructuredMetadata,
    /// Left in the JSON line, parsed at query time with `| json`.
    Line,
}

/// One field of the SDK's JSON log lines. Every field sits at the top level of the object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogField {
    /// The JSON key.
    pub name: &'static str,
    /// What it holds.
    pub description: &'static str,
    /// Whether every line carries it (`false`: only lines where it applies).
    pub always: bool,
    /// How the log shippers index it.
    pub loki: LokiPlacement,
}

/// JSON log field names.
pub mod fields {
    /// RFC 3339 timestamp, UTC, millisecond precision.
    pub const TIMESTAMP: &str = "timestamp";
    /// `TRACE`, `DEBUG`, `INFO`, `WARN` or `ERROR`.
    pub const LEVEL: &str = "level";
    /// The log message.
    pub const MESSAGE: &str = "message";
    /// The module path (or explicit target) that logged.
    pub const TARGET: &str = "target";
    /// Service name.
    pub const SERVICE: &str = "service";
    /// Deployment environment.
    pub const ENV: &str = "env";
    /// Service version.
    pub const VERSION: &str = "version";
    /// The request ID of the request being handled.
    pub const REQUEST_ID: &str = "request_id";
    /// W3C trace id (32 hex digits) when tracing is on.
    pub const TRACE_ID: &str = "trace_id";
    /// W3C span id (16 hex digits) when tracing is on.
    pub const SPAN_ID: &str = "span_id";
    /// HTTP method, on access and audit lines.
    pub const METHOD: &str = "method";
    /// Route template, on access and audit lines.
    pub const ROUTE: &str = "route";
    /// Raw request path, on access and audit lines.
    pub const PATH: &str = "path";
    /// HTTP status code, on access and audit lines; on the access lines of gRPC calls, the
    /// gRPC status code's name (`OK`, `NOT_FOUND`).
    pub const STATUS: &str = "status";
    /// Request duration in milliseconds (float), on access lines.
    pub const DURATION_MS: &str = "duration_ms";
    /// Authenticated user, on audit lines.
    pub const USER_ID: &str = "user_id";
    /// Client address, on audit lines.
    pub const CLIENT_IP: &str = "client_ip";
}

/// The `target` of access-log lines, so pipelines can route or drop them.
pub const ACCESS_LOG_TARGET: &str = "obs::access";

/// The `target` of audit lines, so they can go to their own file or stream.
pub const AUDIT_LOG_TARGET: &str = "obs::audit";

/// Every JSON log field of the contract.
pub const LOG_FIELDS: &[LogField] = &[
    LogField {
        name: fields::TIMESTAMP,
        description: "RFC 3339 time in UTC with milliseconds.",
        always: true,
        loki: LokiPlacement::Line,
    },
    LogField {
        name: fields::LEVEL,
        description: "Severity: TRACE, DEBUG, INFO, WARN or ERROR.",
        always: true,
        loki: LokiPlacement::Label,
    },
    LogField {
        name: fields::MESSAGE,
        description: "The message.",
        always: true,
        loki: LokiPlacement::Line,
    },
    LogField {
        name: fields::TARGET,
        description: "Module path or explicit target of the event.",
        always: true,
        loki: LokiPlacement::Line,
    },
    LogField {
        name: fields::SERVICE,
        description: "Service name.",
        always: true,
        loki: LokiPlacement::Label,
    },
    LogField {
        name: fields::ENV,
        description: "Deployment environment.",
        always: true,
        loki: LokiPlacement::Label,
    },
    LogField {
        name: fields::VERSION,
        description: "Service version.",
        always: true,
        loki: LokiPlacement::Line,
    },
    LogField {
        name: fields::REQUEST_ID,
        description: "ID of the request being handled (inside a request).",
        always: false,
        loki: LokiPlacement::StructuredMetadata,
    },
    LogField {
        name: fields::TRACE_ID,
        description: "W3C trace id, when tracing is on.",
        always: false,
        loki: LokiPlacement::StructuredMetadata,
    },
    LogField {
        name: fields::SPAN_ID,
        description: "W3C span id, when tracing is on.",
        always: false,
        loki: LokiPlacement::Line,
    },
    LogField {
        name: fields::METHOD,
        description: "HTTP method (access and audit lines).",
        always: false,
        loki: LokiPlacement::Line,
    },
    LogField {
        name: fields::ROUTE,
        description: "Route template (access and audit lines).",
        always: false,
        loki: LokiPlacement::Line,
    },
    LogField {
        name: fields::PATH,
        description: "Request path (access and audit lines).",
        always: false,
        loki: LokiPlacement::Line,
    },
    LogField {
        name: fields::STATUS,
        description: "HTTP status code (access and audit lines); the gRPC status code's name, such as NOT_FOUND, on the access lines of gRPC calls.",
        always: false,
        loki: LokiPlacement::Line,
    },
    LogField {
        name: fields::DURATION_MS,
        description: "Request duration in milliseconds (access lines).",
        always: false,
        loki: LokiPlacement::Line,
    },
    LogField {
        name: fields::USER_ID,
        description: "User who made the request (audit lines).",
        always: false,
        loki: LokiPlacement::Line,
    },
    LogField {
        name: fields::CLIENT_IP,
        description: "Client address (audit lines).",
        always: false,
        loki: LokiPlacement::Line,
    },
];

/// The HTTP header carrying the request ID, in and out.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Longest request ID accepted from a client.
pub const REQUEST_ID_MAX_LEN: usize = 128;

/// Whether an incoming request ID is well formed: 1 to [`REQUEST_ID_MAX_LEN`] characters out of
/// ASCII letters, digits, `-`, `_`, `.` and `:`. Anything else is replaced, never echoed.
///
/// ```
/// use obs_catalogue::is_valid_request_id;
/// assert!(is_valid_request_id("01J9ZQ-req.42:a_b"));
/// assert!(!is_valid_request_id("bad\r\nid"));
/// assert!(!is_valid_request_id(""));
/// assert!(!is_valid_request_id(&"a".repeat(129)));
/// ```
pub fn is_valid_request_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= REQUEST_ID_MAX_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// HTTP paths the SDK serves.
pub mod paths {
    /// Prometheus exposition.
    pub const METRICS: &str = "/metrics";
    /// Liveness: answers without touching any dependency.
    pub const HEALTH_LIVE: &str = "/health/live";
    /// Readiness: runs the registered checks.
    pub const HEALTH_READY: &str = "/health/ready";
    /// Same answer as readiness.
    pub const HEALTH: &str = "/health";
    /// All of the above, the paths the access log leaves out by default.
    pub const ALL: &[&str] = &[METRICS, HEALTH_LIVE, HEALTH_READY, HEALTH];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_valid_prometheus_names_and_unique() {
        let mut seen = std::collections::HashSet::new();
        for m in METRICS {
            assert!(seen.insert(m.name), "duplicate metric {}", m.name);
            assert!(
                m.name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{} has characters Prometheus would rewrite",
                m.name
            );
            for l in m.labels {
                assert!(
                    l.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                    "label {l}"
                );
                assert_ne!(*l, "le", "le is reserved for buckets");
            }
        }
    }

    #[test]
    fn kinds_follow_naming_conventions() {
        for m in METRICS {
            match m.kind {
                MetricKind::Counter => assert!(m.name.ends_with("_total"), "{}", m.name),
                _ => assert!(!m.name.ends_with("_total"), "{}", m.name),
            }
            assert_eq!(
                m.buckets.is_some(),
                m.kind == MetricKind::Histogram,
                "{}",
                m.name
            );
            if m.unit == Unit::Seconds && m.kind != MetricKind::Counter {
                assert!(m.name.ends_with("_seconds"), "{}", m.name);
            }
            if m.unit == Unit::Bytes {
                assert!(m.name.ends_with("_bytes"), "{}", m.name);
            }
        }
    }

    #[test]
    fn buckets_strictly_increase() {
        for m in METRICS {
            if let Some(b) = m.buckets {
                assert!(b.windows(2).all(|w| w[0] < w[1]), "{}", m.name);
            }
        }
        assert_eq!(HTTP_DURATION_BUCKETS.first(), Some(&0.005));
        assert_eq!(HTTP_DURATION_BUCKETS.last(), Some(&10.0));
    }

    #[test]
    fn active_requests_follow_semconv_and_carry_no_route() {
        assert!(!HTTP_SERVER_ACTIVE_REQUESTS.has_label(labels::HTTP_ROUTE));
        assert!(!HTTP_SERVER_ACTIVE_REQUESTS.has_label(labels::HTTP_RESPONSE_STATUS_CODE));
    }

    #[test]
    fn lookup_resolves_histogram_series() {
        assert_eq!(
            metric("obs_health_check_duration_seconds_bucket")
                .unwrap()
                .name,
            HEALTH_CHECK_DURATION.name
        );
        assert!(metric("http_server_request_duration_seconds_total").is_none());
        assert!(metric("obs_build_info_bucket").is_none());
    }

    #[test]
    fn only_low_cardinality_fields_become_loki_labels() {
        let labels: Vec<_> = LOG_FIELDS
            .iter()
            .filter(|f| f.loki == LokiPlacement::Label)
            .map(|f| f.name)
            .collect();
        assert_eq!(labels, [fields::LEVEL, fields::SERVICE, fields::ENV]);
    }

    #[test]
    fn request_id_validation_rejects_injection() {
        for bad in ["a b", "a\"b", "a\nb", "a\rb", "é", "a/b", "{x}", "a\u{0}"] {
            assert!(!is_valid_request_id(bad), "{bad:?}");
        }
        assert!(is_valid_request_id(&"a".repeat(REQUEST_ID_MAX_LEN)));
    }
}
