//! The response body of [`GrpcService`](super::GrpcService): the call ends with its response
//! stream, whose trailers carry its status.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http_body::{Body, Frame, SizeHint};

use super::Code;
use super::call::Call;

pin_project_lite::pin_project! {
    /// The response body of [`GrpcService`](super::GrpcService): the inner body, and the call
    /// that is recorded when it ends (with the status of its trailers) or is dropped before
    /// its end (`CANCELLED`, unless the answer's head said its status).
    pub struct GrpcBody<B> {
        #[pin]
        inner: B,
        call: Option<Call>,
    }
}

impl<B> GrpcBody<B> {
    pub(super) fn new(inner: B, call: Call) -> Self {
        Self {
            inner,
            call: Some(call),
        }
    }
}

impl<B: Body> Body for GrpcBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let mut this = self.project();
        let frame = ready!(this.inner.as_mut().poll_frame(cx));
        if let (Some(Ok(frame)), Some(call)) = (&frame, this.call.as_mut())
            && let Some(trailers) = frame.trailers_ref()
        {
            call.set_code(Code::from_headers(trailers).unwrap_or(Code::Unknown));
        }
        let ended = frame.is_none() || this.inner.is_end_stream();
        let failed = matches!(frame, Some(Err(_)));
        if (ended || failed)
            && let Some(mut call) = this.call.take()
        {
            // A stream that ended without a status broke the protocol; one that failed
            // could not send it.
            if !call.has_code() {
                call.set_code(Code::Unknown);
            }
            drop(call);
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl<B: std::fmt::Debug> std::fmt::Debug for GrpcBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrpcBody")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}
