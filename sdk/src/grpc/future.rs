//! The response future of [`GrpcService`](super::GrpcService), which carries the call to
//! the response body.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http::Response;

use super::Code;
use super::body::GrpcBody;
use super::call::Call;
use crate::request_id::REQUEST_ID_HEADER;

pin_project_lite::pin_project! {
    /// The response future of [`GrpcService`](super::GrpcService).
    pub struct GrpcFuture<F> {
        // `None` only while it is dropped.
        #[pin]
        inner: Option<F>,
        // The call until its response exists.
        call: Option<Call>,
    }

    impl<F> PinnedDrop for GrpcFuture<F> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            // Dropped before its response (the client cancelled): the handler's guards and
            // destructors run with the call's ID current; then the call counts as `CANCELLED`.
            if let Some(call) = this.call.take() {
                let mut inner = this.inner;
                call.exchange().id().clone().in_scope(|| inner.set(None));
                drop(call);
            }
        }
    }
}

impl<F> GrpcFuture<F> {
    pub(super) fn new(inner: F, call: Call) -> Self {
        Self {
            inner: Some(inner),
            call: Some(call),
        }
    }
}

impl<F, ResBody, E> Future for GrpcFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = Result<Response<GrpcBody<ResBody>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let call = this
            .call
            .as_ref()
            .expect("GrpcFuture polled after completion");
        let result = {
            let exchange = call.exchange();
            let _entered = exchange.span().enter();
            let inner = this.inner.as_pin_mut().expect("only dropping empties it");
            ready!(exchange.id().clone().in_scope(|| inner.poll(cx)))
        };
        let mut call = this.call.take().expect("checked above");
        Poll::Ready(match result {
            Ok(mut response) => {
                response.headers_mut().insert(
                    REQUEST_ID_HEADER,
                    call.exchange().id().answer_header_value(),
                );
                // A trailers-only answer (or one that is not gRPC) says its status now; the
                // others in their trailers, at the end of the stream.
                if let Some(code) = Code::from_response_head(response.status(), response.headers())
                {
                    call.set_code(code);
                }
                Ok(response.map(|body| GrpcBody::new(body, call)))
            }
            Err(error) => {
                // The service failed without an answer: tonic answers such errors `UNKNOWN`.
                call.set_code(Code::Unknown);
                drop(call);
                Err(error)
            }
        })
    }
}
