//! gRPC (tonic): the server adapter over the SDK's transport-neutral core, the standard health
//! service kept in step with readiness, and the client layer for outgoing calls
//! ([`GrpcClientLayer`]).
//!
//! For every call, [`GrpcLayer`]:
//! - takes a well-formed incoming `x-request-id` metadata entry or makes a new one (a
//!   malformed one is replaced, never echoed or logged), puts it in the request's extensions
//!   and returns it in the response metadata;
//! - opens a `request` span whose `route` is the RPC method (`demo.v1.Users/Get`) and whose
//!   `method` is the RPC system (`grpc`), continuing the caller's `traceparent`;
//! - records `rpc_server_call_duration_seconds` by `rpc_system_name`, `rpc_method` and
//!   `rpc_response_status_code` (the code's name, `OK`, `NOT_FOUND`, …), with `error_type`
//!   on the codes that mean a server fault, as the OpenTelemetry RPC conventions do;
//! - writes one access line (target `obs::access`) whose `status` is the code's name;
//! - reports the call to the [completion hooks](crate::completion) (a server fault is a
//!   server error there).
//!
//! The status is read from the trailers, or from the headers of a trailers-only answer; an
//! answer that is not gRPC (an HTTP status other than `200`) is mapped as the gRPC spec maps
//! HTTP statuses. A call lasts until the end of its response stream, so streaming calls are
//! timed whole; a call whose response the client abandons (cancelled, or gone) counts as
//! `CANCELLED`.
//!
//! Methods the server does not serve share the `rpc_method` value `_OTHER`, never the raw
//! path. A method is known once it has been answered with anything but `UNIMPLEMENTED` (which
//! tonic answers for every method it does not route); list the served services with
//! [`GrpcLayer::service`] (tonic's `NamedService::NAME`) and only their methods are ever
//! known.
//!
//! ```no_run
//! use obs_service::grpc::GrpcLayer;
//! use tonic_health::pb::health_server::HealthServer;
//! use tonic::server::NamedService;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let obs = obs_service::init!()?;
//! let (reporter, health_service) = tonic_health::server::health_reporter();
//! let health_name = <HealthServer<tonic_health::server::HealthService> as NamedService>::NAME;
//! // Keeps the standard health service in step with readiness (and draining).
//! obs_service::grpc::HealthSync::new(obs.health())
//!     .service(health_name)
//!     .spawn(reporter);
//! tonic::transport::Server::builder()
//!     .layer(obs.grpc_layer().service(health_name))
//!     .add_service(health_service)
//!     .serve("127.0.0.1:50051".parse()?)
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! The parts: the layer and its configuration (here), the service that reads a call
//! (`service`), its response future (`future`), the response body that ends the call (`body`),
//! the methods the server serves (`methods`), the status codes (`status`), the health
//! service's sync (`health`) and the client layer (`client`).

mod body;
mod call;
mod client;
mod future;
mod health;
mod methods;
mod service;
mod status;

use std::sync::Arc;

use tracing::Level;

pub use body::GrpcBody;
pub use client::{GrpcClientBody, GrpcClientFuture, GrpcClientLayer, GrpcClientService};
pub use future::GrpcFuture;
pub use health::HealthSync;
pub use service::GrpcService;
pub use status::{Code, GRPC_STATUS};

use crate::catalogue;
use crate::exchange::red::{DurationFamily, Red};
use crate::exchange::{Settings, Statuses};
use crate::exposition::Metrics;
use methods::Methods;

/// `rpc_server_call_duration_seconds`, as the core records it: the core's method is the RPC
/// system, its route the RPC method, its status the gRPC code.
static DURATION: DurationFamily = DurationFamily {
    name: catalogue::RPC_SERVER_CALL_DURATION.name,
    labels: [
        catalogue::labels::RPC_SYSTEM_NAME,
        catalogue::labels::RPC_METHOD,
        catalogue::labels::RPC_RESPONSE_STATUS_CODE,
    ],
    status_label: |code| Code::from_u16(code).as_str(),
    error_type: Some(|code| {
        let code = Code::from_u16(code);
        code.is_server_fault().then(|| code.as_str())
    }),
};

/// gRPC's statuses: the codes of a server fault fail the span; the access line names them.
static GRPC_STATUSES: Statuses = Statuses {
    is_fault: |code| Code::from_u16(code).is_server_fault(),
    name: Some(|code| Code::from_u16(code).as_str()),
    span_name_with_method: false,
};

/// The standard health service's paths: polled every few seconds, left out of the access log.
const HEALTH_PATHS: [&str; 2] = [
    "/grpc.health.v1.Health/Check",
    "/grpc.health.v1.Health/Watch",
];

/// Configuration of [`GrpcService`]. Cheap to clone. Add it with tonic's
/// `Server::builder().layer(...)`.
#[derive(Clone)]
pub struct GrpcLayer {
    shared: Arc<Shared>,
}

#[derive(Clone)]
pub(crate) struct Shared {
    pub(crate) settings: Arc<Settings>,
    pub(crate) methods: Methods,
    /// Paths left out of the access log.
    pub(crate) exclude: Vec<String>,
}

impl std::fmt::Debug for GrpcLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrpcLayer")
            .field("metrics", &self.shared.settings.red.is_some())
            .field("span", &self.shared.settings.span)
            .field("otel", &self.shared.settings.otel)
            .field("access_log", &self.shared.settings.access_log)
            .field("methods", &self.shared.methods)
            .field("exclude", &self.shared.exclude)
            .finish()
    }
}

impl GrpcLayer {
    /// Request IDs, metrics recorded into `metrics`, a span per call and an access log at
    /// `INFO` that leaves out the standard health service.
    pub fn new(metrics: &Metrics) -> Self {
        Self::with_red(Some(Red::new(metrics, &DURATION, [])))
    }

    /// Request IDs, span and access log, but no metrics.
    pub fn without_metrics() -> Self {
        Self::with_red(None)
    }

    fn with_red(red: Option<Red>) -> Self {
        Self {
            shared: Arc::new(Shared {
                settings: Arc::new(Settings {
                    red,
                    span: true,
                    otel: false,
                    access_log: Some(Level::INFO),
                    statuses: &GRPC_STATUSES,
                }),
                methods: Methods::default(),
                exclude: HEALTH_PATHS.iter().map(|p| (*p).to_owned()).collect(),
            }),
        }
    }

    fn update(mut self, f: impl FnOnce(&mut Shared)) -> Self {
        f(Arc::make_mut(&mut self.shared));
        self
    }

    fn update_settings(self, f: impl FnOnce(&mut Settings)) -> Self {
        self.update(|s| f(Arc::make_mut(&mut s.settings)))
    }

    /// A service the server serves, by its full name (`demo.v1.Users`; tonic's
    /// `NamedService::NAME` of the generated server). Once any is listed, only the methods of
    /// the listed services get an `rpc_method` of their own; every other call is `_OTHER`.
    pub fn service(self, name: impl Into<String>) -> Self {
        let name = name.into();
        self.update(|s| s.methods = s.methods.with_service(name))
    }

    /// The services of `names`, as [`GrpcLayer::service`] adds one.
    pub fn services<I, N>(self, names: I) -> Self
    where
        I: IntoIterator<Item = N>,
        N: Into<String>,
    {
        names
            .into_iter()
            .fold(self, |layer, name| layer.service(name))
    }

    /// The service `S` (a tonic server type), by its `NamedService::NAME`.
    pub fn named_service<S: tonic::server::NamedService>(self) -> Self {
        self.service(S::NAME)
    }

    /// Writes the access log at `level`, or not at all with `None`.
    pub fn access_log(self, level: Option<Level>) -> Self {
        self.update_settings(|s| s.access_log = level)
    }

    /// Paths left out of the access log (exact match, `/package.Service/Method`). Defaults to
    /// the standard health service's.
    pub fn exclude_from_access_log<I, P>(self, paths: I) -> Self
    where
        I: IntoIterator<Item = P>,
        P: Into<String>,
    {
        let paths = paths.into_iter().map(Into::into).collect();
        self.update(|s| s.exclude = paths)
    }

    /// Whether to open a span per call (default on).
    pub fn span(self, enabled: bool) -> Self {
        self.update_settings(|s| s.span = enabled)
    }

    /// Whether the span carries the fields tracing-opentelemetry reads (default off;
    /// [`Obs::grpc_layer`](crate::Obs::grpc_layer) turns it on when OTLP export is on): a
    /// server span named after the RPC method, failed when the code means a server fault, and
    /// a child of the caller's span when a valid `traceparent` came in the metadata.
    pub fn otel(self, enabled: bool) -> Self {
        self.update_settings(|s| s.otel = enabled)
    }
}

impl<S> tower_layer::Layer<S> for GrpcLayer {
    type Service = GrpcService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GrpcService::new(inner, self.shared.clone())
    }
}
