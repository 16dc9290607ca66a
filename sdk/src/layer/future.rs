//! The response future of [`HttpService`](super::HttpService).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http::Response;

use super::body::{Path, ResponseBody};
use super::labels::Routes;
use crate::exchange::Exchange;
use crate::request_id::REQUEST_ID_HEADER;

pin_project_lite::pin_project! {
    /// The response future of [`HttpService`](super::HttpService).
    pub struct ResponseFuture<F> {
        // The inner future itself, not wrapped in `RequestId::scope`'s `TaskLocalFuture`:
        // `poll` sets the task-local around the inner poll, and `drop` around dropping it, as
        // that wrapper would, and the future is one level less deep to move. `None` only
        // while it is dropped.
        #[pin]
        inner: Option<F>,
        // The exchange until its response exists.
        exchange: Option<Box<Exchange<Path>>>,
    }

    impl<F> PinnedDrop for ResponseFuture<F> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            // Dropped before its response (the client went away): the handler's guards and
            // destructors run with the request's ID current, as under `RequestId::scope`.
            if let Some(exchange) = this.exchange.as_ref() {
                let mut inner = this.inner;
                exchange.id().clone().in_scope(|| inner.set(None));
            }
        }
    }
}

impl<F> ResponseFuture<F> {
    pub(super) fn new(inner: F, exchange: Box<Exchange<Path>>) -> Self {
        Self {
            inner: Some(inner),
            exchange: Some(exchange),
        }
    }
}

impl<F, ResBody, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = Result<Response<ResponseBody<ResBody>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let exchange = this
            .exchange
            .as_ref()
            .expect("ResponseFuture polled after completion");
        let result = {
            let _entered = exchange.span().enter();
            let inner = this.inner.as_pin_mut().expect("only dropping empties it");
            ready!(exchange.id().clone().in_scope(|| inner.poll(cx)))
        };
        let exchange = this.exchange.take().expect("checked above");
        Poll::Ready(match result {
            Ok(mut response) => {
                response
                    .headers_mut()
                    .insert(REQUEST_ID_HEADER, exchange.id().header_value().clone());
                // A router that matched only inside the service names the route now.
                let route = Routes::get().of(response.extensions());
                let completion = exchange.respond(response.status().as_u16(), route);
                Ok(response.map(|body| ResponseBody::new(body, completion)))
            }
            Err(error) => {
                // The service failed without a response; the connection will be closed, which
                // the client sees as a server error.
                drop(exchange.respond(500, None));
                Err(error)
            }
        })
    }
}
