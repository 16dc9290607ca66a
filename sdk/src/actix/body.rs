//! The response body of [`HttpMiddleware`](super::HttpMiddleware): the exchange is complete
//! when its body has been sent, or dropped because the client went away.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use actix_web::body::{BodySize, MessageBody};
use actix_web::http::uri::PathAndQuery;
use bytes::Bytes;

use crate::exchange::{AccessPath, Completion};

/// What the access line shows of a request: its path and query, sharing actix-web's buffer
/// (a reference count, not a copy).
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
    /// The response body of [`HttpMiddleware`](super::HttpMiddleware): the inner body, plus
    /// the bookkeeping that runs when it ends or is dropped.
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

impl<B: MessageBody> MessageBody for ResponseBody<B> {
    type Error = B::Error;

    fn size(&self) -> BodySize {
        self.inner.size()
    }

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        let this = self.project();
        let chunk = ready!(this.inner.poll_next(cx));
        if matches!(chunk, None | Some(Err(_))) {
            this.completion.take();
        }
        Poll::Ready(chunk)
    }
}

impl<B: std::fmt::Debug> std::fmt::Debug for ResponseBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseBody")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}
