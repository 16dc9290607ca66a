//! The response body of [`HttpService`](super::HttpService): the exchange is complete when
//! its body is.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http_body::{Body, Frame, SizeHint};

use super::service::Path;
use crate::exchange::Completion;

pin_project_lite::pin_project! {
    /// The response body of [`HttpService`](super::HttpService): the inner body, plus the
    /// bookkeeping that runs when it ends or is dropped.
    pub struct ResponseBody<B> {
        #[pin]
        inner: B,
        completion: Option<Completion<Path>>,
    }
}

impl<B> ResponseBody<B> {
    pub(super) fn new(inner: B, completion: Completion<Path>) -> Self {
        Self {
            inner,
            completion: Some(completion),
        }
    }
}

impl<B: Body> Body for ResponseBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let mut this = self.project();
        let frame = ready!(this.inner.as_mut().poll_frame(cx));
        if frame.is_none() || matches!(frame, Some(Err(_))) || this.inner.is_end_stream() {
            this.completion.take();
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

impl<B: std::fmt::Debug> std::fmt::Debug for ResponseBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseBody")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}
