//! The response future of [`HttpMiddlewareService`](super::HttpMiddlewareService): runs the
//! handler inside the request's span and scope, and answers its panic.

use std::cell::RefCell;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::ServiceResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};

use super::body::{Path, ResponseBody};
use crate::catalogue;
use crate::exchange::Exchange;
use crate::layer::labels::Routes;

/// `X-Request-ID` as actix-web's header name (actix-web 4 is built on `http` 0.2, whose types
/// are not the ones of the tower layer).
pub(super) const REQUEST_ID_HEADER: header::HeaderName =
    header::HeaderName::from_static(catalogue::REQUEST_ID_HEADER);

pin_project_lite::pin_project! {
    /// The response future of [`HttpMiddlewareService`](super::HttpMiddlewareService).
    pub struct ResponseFuture<F> {
        // `None` once it panicked, or while it is dropped.
        #[pin]
        inner: Option<F>,
        // The exchange until its response exists.
        exchange: Option<Box<Exchange<Path>>>,
        // The request ID as the response header.
        header: HeaderValue,
    }

    impl<F> PinnedDrop for ResponseFuture<F> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            // Dropped before its response (the client went away): the handler's guards and
            // destructors run with the request's ID current.
            if let Some(exchange) = this.exchange.as_ref() {
                let mut inner = this.inner;
                exchange.id().clone().in_scope(|| inner.set(None));
            }
        }
    }
}

impl<F> ResponseFuture<F> {
    pub(super) fn new(inner: F, exchange: Box<Exchange<Path>>, header: HeaderValue) -> Self {
        Self {
            inner: Some(inner),
            exchange: Some(exchange),
            header,
        }
    }
}

impl<F, B> Future for ResponseFuture<F>
where
    F: Future<Output = Result<ServiceResponse<B>, actix_web::Error>>,
    B: MessageBody,
{
    type Output = Result<ServiceResponse<ResponseBody<B>>, actix_web::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let exchange = this
            .exchange
            .as_ref()
            .expect("ResponseFuture polled after completion");
        let outcome = {
            let _entered = exchange.span().enter();
            let mut inner = this.inner;
            ready!(exchange.id().clone().in_scope(|| {
                let polled = std::panic::catch_unwind(AssertUnwindSafe(|| {
                    inner
                        .as_mut()
                        .as_pin_mut()
                        .expect("only a panic or dropping empties it")
                        .poll(cx)
                }));
                match polled {
                    Ok(Poll::Pending) => Poll::Pending,
                    Ok(Poll::Ready(Ok(response))) => Poll::Ready(Ok(response)),
                    // Answered here rather than by actix-web's dispatcher, so the answer is
                    // built (and an `ApiError` logged) inside the request's scope.
                    Ok(Poll::Ready(Err(error))) => Poll::Ready(Err(error.error_response())),
                    // A panicking handler: its future is dropped (inside the scope), and the
                    // answer is the safe 500 of the error body, where actix-web would close the
                    // connection.
                    Err(payload) => {
                        inner.set(None);
                        let body = crate::panic::handler_panicked(payload.as_ref());
                        Poll::Ready(Err(HttpResponse::build(StatusCode::INTERNAL_SERVER_ERROR)
                            .insert_header((header::CONTENT_TYPE, "application/json"))
                            .body(body)))
                    }
                }
            }))
        };
        let exchange = this.exchange.take().expect("checked above");
        Poll::Ready(match outcome {
            Ok(mut response) => {
                response
                    .headers_mut()
                    .insert(REQUEST_ID_HEADER, this.header.clone());
                // Routed by now: the request's matched resource gives its pattern by index.
                let route = exchange.route_pending().then(|| {
                    response
                        .request()
                        .match_pattern()
                        .map(|pattern| Routes::get().template(&pattern))
                });
                let completion = exchange.respond(response.status().as_u16(), route.flatten());
                Ok(response.map_body(|_, body| ResponseBody::new(body, completion)))
            }
            Err(mut answer) => {
                // The request went with the handler, so the answer goes back as an error that
                // actix-web's dispatcher sends as it is; the exchange ends now.
                answer
                    .headers_mut()
                    .insert(REQUEST_ID_HEADER, this.header.clone());
                drop(exchange.respond(answer.status().as_u16(), None));
                Err(Answered(RefCell::new(Some(answer))).into())
            }
        })
    }
}

/// An answer made inside the request's scope, handed to actix-web's dispatcher as an error
/// (the only way to answer without the request), which sends it unchanged.
struct Answered(RefCell<Option<HttpResponse<BoxBody>>>);

impl std::fmt::Debug for Answered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Answered").finish_non_exhaustive()
    }
}

impl std::fmt::Display for Answered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the request failed; its answer was made by the obs middleware")
    }
}

impl ResponseError for Answered {
    fn status_code(&self) -> StatusCode {
        self.0
            .borrow()
            .as_ref()
            .map_or(StatusCode::INTERNAL_SERVER_ERROR, HttpResponse::status)
    }

    fn error_response(&self) -> HttpResponse<BoxBody> {
        // Asked once by the dispatcher; a second ask (an outer middleware's) gets the status.
        self.0
            .borrow_mut()
            .take()
            .unwrap_or_else(|| HttpResponse::new(self.status_code()))
    }
}
