//! The tower layer for HTTP clients.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http::{Request, Response};

use super::{Call, ClientMetrics, Target, classify};
use crate::Metrics;

/// A tower layer for HTTP *clients* (hyper's, or any `Service<http::Request<B>>`): each call
/// carries the request ID and trace headers, is a client span while something traces, and is
/// recorded in `http_client_request_duration_seconds` (see [`client`](super)).
///
/// ```
/// use obs_service::{Metrics, client::HttpClientLayer};
/// use tower::ServiceBuilder;
///
/// # let client = tower::service_fn(|_req: http::Request<String>| async {
/// #     Ok::<_, std::io::Error>(http::Response::new(String::new()))
/// # });
/// let metrics = Metrics::new();
/// let client = ServiceBuilder::new()
///     .layer(HttpClientLayer::new(&metrics))
///     .service(client);
/// ```
#[derive(Clone)]
pub struct HttpClientLayer {
    metrics: Option<ClientMetrics>,
}

impl std::fmt::Debug for HttpClientLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClientLayer")
            .field("metrics", &self.metrics.is_some())
            .finish()
    }
}

impl HttpClientLayer {
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

impl<S> tower_layer::Layer<S> for HttpClientLayer {
    type Service = HttpClientService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        HttpClientService {
            inner,
            metrics: self.metrics.clone(),
        }
    }
}

/// The service of [`HttpClientLayer`].
#[derive(Clone)]
pub struct HttpClientService<S> {
    inner: S,
    metrics: Option<ClientMetrics>,
}

impl<S> std::fmt::Debug for HttpClientService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClientService").finish_non_exhaustive()
    }
}

impl<S, ReqBody, ResBody> tower_service::Service<Request<ReqBody>> for HttpClientService<S>
where
    S: tower_service::Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Error: std::error::Error + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let target = Target::of(request.uri());
        let method = request.method().clone();
        let call = Call::start(
            self.metrics.as_ref(),
            &method,
            target,
            request.headers_mut(),
        );
        let inner = {
            let _entered = call.span().enter();
            self.inner.call(request)
        };
        ResponseFuture {
            inner,
            call: Some(call),
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`HttpClientService`].
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        call: Option<Call>,
    }
}

impl<F, ResBody, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
    E: std::error::Error + 'static,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = match this.call.as_ref() {
            Some(call) => {
                let _entered = call.span().enter();
                ready!(this.inner.poll(cx))
            }
            None => ready!(this.inner.poll(cx)),
        };
        if let Some(call) = this.call.take() {
            match &result {
                Ok(response) => call.answered(response.status().as_u16()),
                Err(error) => call.failed(classify(error)),
            }
        }
        Poll::Ready(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::{Service as _, ServiceExt as _};

    #[tokio::test]
    async fn answers_and_failures_of_a_tower_client_are_recorded() {
        let metrics = Metrics::new();
        let inner = tower::service_fn(|request: Request<()>| async move {
            match request.uri().path() {
                "/refused" => Err(std::io::Error::from(std::io::ErrorKind::ConnectionRefused)),
                _ => Ok(Response::builder().status(404).body(()).unwrap()),
            }
        });
        let mut client = tower_layer::Layer::layer(&HttpClientLayer::new(&metrics), inner);
        for path in ["/missing", "/refused"] {
            let request = Request::get(format!("http://backend.internal:9000{path}"))
                .body(())
                .unwrap();
            let _ = client.ready().await.unwrap().call(request).await;
        }
        let text = metrics.render();
        for labels in [
            "http_request_method=\"GET\",server_address=\"backend.internal\",server_port=\"9000\",http_response_status_code=\"404\",error_type=\"404\"",
            "http_request_method=\"GET\",server_address=\"backend.internal\",server_port=\"9000\",error_type=\"connect_error\"",
        ] {
            let series = format!("http_client_request_duration_seconds_count{{{labels}}} 1");
            assert!(text.lines().any(|l| l == series), "{series}:\n{text}");
        }
    }
}
