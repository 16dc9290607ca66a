//! The response body of [`HttpService`](super::HttpService): the exchange is complete when
//! its body is.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http_body::{Body, Frame, SizeHint};

use http::uri::PathAndQuery;

use crate::exchange::{AccessPath, Completion};

/// What the access line shows of a request: its path and query, sharing hyper's read buffer,
/// so keeping it costs a reference count where a copy would cost an allocation (the path and
/// query alone, not the whole URI, which is twice the size to move with the future). `None`
/// for a URI without a path (`*`, or an authority), whose path is empty.
pub(super) struct Path(Option<PathAndQuery>);

impl Path {
    pub(super) fn new(path: Option<PathAndQuery>) -> Self {
        Self(path)
    }
}

impl AccessPath for Path {
    fn path(&self) -> &str {
        self.0.as_ref().map_or("", PathAndQuery::path)
    }
}

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
