//! Observability for Rust services, matched to the monitoring stack `obs-gen` writes.
//!
//! With default features: JSON logs with request IDs, RED metrics on `/metrics`, and a tower
//! layer that ties them together. With `default-features = false`, only the re-exported
//! [`catalogue`] remains: the name contract (crate `obs-catalogue`) the generated dashboards
//! and rules rely on.
//!
//! ```no_run
//! use axum::{routing::get, Router};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     // JSON logs to stdout, metrics on, exporters off until their env var is set.
//!     let obs = obs_service::init!()?;
//!     let app = Router::new()
//!         .route("/users/{id}", get(|| async { "hello" }))
//!         .merge(obs.router())   // GET /metrics
//!         .layer(obs.layer());   // request IDs, RED metrics, access log
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//!     axum::serve(listener, app).await?;
//!     Ok(())
//! }
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs, unreachable_pub)]

/// The name contract, re-exported from the `obs-catalogue` crate so a service needs one
/// dependency. The mixin and the generator depend on `obs-catalogue` directly.
pub use obs_catalogue as catalogue;

#[cfg(feature = "actix")]
#[cfg_attr(docsrs, doc(cfg(feature = "actix")))]
pub mod actix;
#[cfg(feature = "audit")]
#[cfg_attr(docsrs, doc(cfg(feature = "audit")))]
pub mod audit;
#[cfg(feature = "runtime")]
pub mod client;
#[cfg(feature = "runtime")]
mod clock;
#[cfg(feature = "runtime")]
pub mod completion;
#[cfg(feature = "runtime")]
mod config;
#[cfg(feature = "runtime")]
pub mod error;
#[cfg(feature = "runtime")]
mod exchange;
#[cfg(any(feature = "sentry", feature = "otlp", feature = "loki"))]
#[cfg_attr(
    docsrs,
    doc(cfg(any(feature = "sentry", feature = "otlp", feature = "loki")))
)]
pub mod export;
#[cfg(feature = "runtime")]
pub mod exposition;
#[cfg(all(fuzzing, feature = "runtime"))]
#[doc(hidden)]
pub mod fuzzing;
#[cfg(feature = "grpc")]
#[cfg_attr(docsrs, doc(cfg(feature = "grpc")))]
pub mod grpc;
#[cfg(feature = "runtime")]
pub mod health;
#[cfg(feature = "runtime")]
mod init;
#[cfg(feature = "runtime")]
mod integration;
#[cfg(feature = "runtime")]
pub mod layer;
#[cfg(feature = "runtime")]
pub mod logging;
#[cfg(feature = "loki")]
#[cfg_attr(docsrs, doc(cfg(feature = "loki")))]
pub mod loki;
#[cfg(feature = "otlp")]
#[cfg_attr(docsrs, doc(cfg(feature = "otlp")))]
pub mod otlp;
#[cfg(feature = "runtime")]
pub mod panic;
#[cfg(feature = "runtime")]
pub mod propagation;
#[cfg(feature = "runtime")]
pub mod redact;
#[cfg(feature = "runtime")]
pub mod request_id;
#[cfg(feature = "sentry")]
#[cfg_attr(docsrs, doc(cfg(feature = "sentry")))]
pub mod sentry;
#[cfg(feature = "runtime")]
pub mod shutdown;
#[cfg(feature = "runtime")]
mod slots;
#[cfg(feature = "tokio-runtime")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio-runtime")))]
pub mod tokio_runtime;
#[cfg(any(feature = "sentry", feature = "otlp"))]
mod traceparent;
#[cfg(feature = "runtime")]
pub mod writer;

#[cfg(feature = "runtime")]
pub use config::{Config, ConfigError, InitError, LogFile, LogFormat, Rotation};
#[cfg(feature = "runtime")]
pub use error::ApiError;
#[cfg(feature = "runtime")]
pub use exchange::RouteTemplate;
#[cfg(feature = "runtime")]
pub use exposition::Metrics;
#[cfg(feature = "runtime")]
pub use health::Health;
#[cfg(feature = "runtime")]
pub use init::Obs;
#[cfg(feature = "runtime")]
pub use layer::{HttpLayer, HttpService};
#[cfg(feature = "runtime")]
pub use request_id::RequestId;

/// Initialises logging and metrics from the environment, with the calling crate's name and
/// version as fallbacks, and returns the [`Obs`] guard. See [`Config::from_env`] for the
/// variables read.
///
/// ```no_run
/// # fn main() -> Result<(), obs_service::InitError> {
/// let _obs = obs_service::init!()?;
/// tracing::info!("ready");
/// # Ok(()) }
/// ```
#[cfg(feature = "runtime")]
#[macro_export]
macro_rules! init {
    () => {
        $crate::Config::from_env(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"))
            .map_err($crate::InitError::from)
            .and_then($crate::Config::init)
    };
}
