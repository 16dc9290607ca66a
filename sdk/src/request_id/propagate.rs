//! The client side: the current request's ID (and trace context) on outgoing calls.

use std::task::{Context, Poll};

use http::Request;

use super::{REQUEST_ID_HEADER, RequestId};
#[cfg(feature = "reqwest")]
use crate::catalogue;

/// A tower layer for HTTP *clients*: adds the current request's ID to outgoing requests that
/// carry none.
///
/// ```
/// use obs_service::request_id::PropagateRequestIdLayer;
/// use tower::ServiceBuilder;
///
/// # let client = tower::service_fn(|_req: http::Request<String>| async {
/// #     Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
/// # });
/// let client = ServiceBuilder::new().layer(PropagateRequestIdLayer).service(client);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct PropagateRequestIdLayer;

impl<S> tower_layer::Layer<S> for PropagateRequestIdLayer {
    type Service = PropagateRequestId<S>;

    fn layer(&self, inner: S) -> Self::Service {
        PropagateRequestId { inner }
    }
}

/// The service of [`PropagateRequestIdLayer`].
#[derive(Debug, Clone)]
pub struct PropagateRequestId<S> {
    inner: S,
}

impl<S, B> tower_service::Service<Request<B>> for PropagateRequestId<S>
where
    S: tower_service::Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        if !request.headers().contains_key(&REQUEST_ID_HEADER)
            && let Some(id) = RequestId::current()
        {
            request
                .headers_mut()
                .insert(REQUEST_ID_HEADER, id.header_value().clone());
        }
        // With tracing on, the current span's W3C `traceparent` goes along too.
        crate::propagation::inject(request.headers_mut());
        self.inner.call(request)
    }
}

/// Passes the current request ID on through reqwest.
///
/// ```no_run
/// use obs_service::request_id::RequestBuilderExt;
/// # async fn f() -> Result<(), reqwest::Error> {
/// let client = reqwest::Client::new();
/// let res = client.get("http://inventory.internal/items").with_request_id().send().await?;
/// # Ok(()) }
/// ```
#[cfg(feature = "reqwest")]
pub trait RequestBuilderExt {
    /// Adds `X-Request-ID` with the current request's ID, when there is one, and (feature
    /// `otlp`) the current span's `traceparent`.
    fn with_request_id(self) -> Self;
}

#[cfg(feature = "reqwest")]
impl RequestBuilderExt for reqwest::RequestBuilder {
    fn with_request_id(self) -> Self {
        let builder = match RequestId::current() {
            Some(id) => self.header(catalogue::REQUEST_ID_HEADER, id.header_value().clone()),
            None => self,
        };
        // With tracing on, the current span's W3C `traceparent` goes along too.
        let mut headers = http::HeaderMap::new();
        crate::propagation::inject(&mut headers);
        if headers.is_empty() {
            builder
        } else {
            builder.headers(headers)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue;
    use tower_layer::Layer as _;

    #[tokio::test]
    async fn client_layer_propagates_the_current_id() {
        use tower::{Service, ServiceExt};
        let client = tower::service_fn(|req: Request<()>| async move {
            Ok::<_, std::convert::Infallible>(
                req.headers().get(catalogue::REQUEST_ID_HEADER).cloned(),
            )
        });
        let mut client = PropagateRequestIdLayer.layer(client);
        assert_eq!(
            client
                .ready()
                .await
                .unwrap()
                .call(Request::new(()))
                .await
                .unwrap(),
            None
        );
        let id = RequestId::parse("outer-1").unwrap();
        let seen = id
            .clone()
            .scope(async {
                client
                    .ready()
                    .await
                    .unwrap()
                    .call(Request::new(()))
                    .await
                    .unwrap()
            })
            .await;
        assert_eq!(seen.as_ref(), Some(id.header_value()));
    }
}
