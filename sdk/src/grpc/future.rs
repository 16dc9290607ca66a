//! The response future of [`GrpcService`](super::GrpcService), and the call it carries to
//! the response body.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use http::Response;
use http::uri::PathAndQuery;

use super::body::{CallPath, GrpcBody};
use super::{Code, Shared};
use crate::exchange::Exchange;
use crate::request_id::REQUEST_ID_HEADER;

/// One call from its beginning to its status: recorded when dropped, with the status it
/// learnt, or `CANCELLED` when it ends before one (the client abandoned it).
pub(super) struct Call {
    exchange: Option<Box<Exchange<CallPath>>>,
    /// The status, once the answer's head or trailers said it.
    code: Option<Code>,
    /// The path of a method not known when the call began, named by the answer.
    unresolved: Option<PathAndQuery>,
    shared: Arc<Shared>,
}

impl Call {
    pub(super) fn new(
        exchange: Box<Exchange<CallPath>>,
        unresolved: Option<PathAndQuery>,
        shared: Arc<Shared>,
    ) -> Self {
        Self {
            exchange: Some(exchange),
            code: None,
            unresolved,
            shared,
        }
    }

    fn exchange(&self) -> &Exchange<CallPath> {
        self.exchange.as_ref().expect("only dropping empties it")
    }

    /// The call's status is `code`.
    pub(super) fn set_code(&mut self, code: Code) {
        self.code = Some(code);
    }

    /// Whether the call's status is known.
    pub(super) fn has_code(&self) -> bool {
        self.code.is_some()
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        let Some(exchange) = self.exchange.take() else {
            return;
        };
        let code = self.code.unwrap_or(Code::Cancelled);
        let route = self
            .unresolved
            .as_ref()
            .map(|path| self.shared.methods.resolve(path.path(), code));
        // Dropping the completion records the call.
        drop(exchange.respond(code.as_u16(), route));
    }
}

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
                    call.exchange().id().header_value().clone(),
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
