//! reqwest calls, through `reqwest-middleware`.

use http::Extensions;
use reqwest_middleware::{Middleware, Next};

use super::{Call, ClientMetrics, Target};
use crate::Metrics;
use crate::catalogue::ClientError;

/// A `reqwest-middleware` middleware: each call carries the request ID and trace headers, is
/// a client span while something traces, and is recorded in
/// `http_client_request_duration_seconds` (see [`client`](super)).
///
/// ```
/// let metrics = obs_service::Metrics::new();
/// let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
///     .with(obs_service::client::ClientMiddleware::new(&metrics))
///     .build();
/// ```
#[derive(Clone)]
pub struct ClientMiddleware {
    metrics: Option<ClientMetrics>,
}

impl std::fmt::Debug for ClientMiddleware {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientMiddleware")
            .field("metrics", &self.metrics.is_some())
            .finish()
    }
}

impl ClientMiddleware {
    /// Records the calls into `metrics`.
    pub fn new(metrics: &Metrics) -> Self {
        Self {
            metrics: Some(ClientMetrics::new(metrics)),
        }
    }

    /// Passes the request ID and trace headers on and makes client spans, but records no
    /// metrics.
    pub fn without_metrics() -> Self {
        Self { metrics: None }
    }
}

#[async_trait::async_trait]
impl Middleware for ClientMiddleware {
    async fn handle(
        &self,
        mut request: reqwest::Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        let url = request.url();
        let target = url
            .host_str()
            .map(|host| Target::new(host, url.port_or_known_default().unwrap_or(0)));
        let method = request.method().clone();
        let call = Call::start(
            self.metrics.as_ref(),
            &method,
            target,
            request.headers_mut(),
        );
        let span = call.span().clone();
        let mut result = tracing::Instrument::instrument(next.run(request, extensions), span).await;
        match &mut result {
            Ok(response) => call.answered(response.status().as_u16()),
            Err(error) => {
                call.failed(match error {
                    reqwest_middleware::Error::Reqwest(e) if e.is_timeout() => ClientError::Timeout,
                    reqwest_middleware::Error::Reqwest(e) if e.is_connect() => ClientError::Connect,
                    _ => ClientError::Other,
                });
                // reqwest's error shows the URL it failed on, and services log errors: not
                // with the credentials a URL may carry, in its user part or its query
                // (`?api_key=…`).
                if let Some(url) = error.url_mut() {
                    let _ = url.set_password(None);
                    let _ = url.set_username("");
                    url.set_query(None);
                }
            }
        }
        result
    }
}
