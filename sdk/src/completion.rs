//! React to finished work: a completed exchange, a server error, a handler panic.
//!
//! This is the seam through which the SDK reports what it finished handling, in the manner of
//! tower-http's `OnResponse` and `OnFailure`: implement [`OnCompletion`] (every method has a
//! no-op default, so a hook implements only what it cares about), [`subscribe`] it, and keep
//! the [`Subscription`] for as long as it should hear. The integrations (Sentry reports 5xx
//! answers, server errors and panics through it) subscribe the same way; the core never names
//! them.
//!
//! What is reported:
//! - [`OnCompletion::on_exchange`]: every exchange an adapter (the HTTP layer) handled, once,
//!   when it ended: its response finished or was dropped.
//! - [`OnCompletion::on_server_error`]: an [`ApiError`](crate::ApiError) answered with a
//!   server error, with the detail the client never sees.
//! - [`OnCompletion::on_panic`]: a handler panicked and the catch-panic layer answered 500.
//!
//! Hooks are called on the thread that finished the work, inside the request's task, so they
//! must be quick: hand anything slow to a queue. While nobody subscribes, reporting costs one
//! relaxed atomic load and nothing else is built.
//!
//! ```
//! use std::sync::Arc;
//! use std::sync::atomic::{AtomicU64, Ordering};
//!
//! use axum::{Router, routing::get};
//! use obs_service::completion::{self, Exchange, OnCompletion};
//! use obs_service::{HttpLayer, Metrics};
//! use tower::ServiceExt as _;
//!
//! /// Counts the slow answers of each service, for a quota of its own.
//! #[derive(Default)]
//! struct SlowAnswers(AtomicU64);
//!
//! impl OnCompletion for SlowAnswers {
//!     fn on_exchange(&self, exchange: &Exchange<'_>) {
//!         if exchange.duration() > std::time::Duration::from_secs(1) || exchange.is_server_error() {
//!             self.0.fetch_add(1, Ordering::Relaxed);
//!         }
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let slow = Arc::new(SlowAnswers::default());
//! let _subscription = completion::subscribe(slow.clone());
//!
//! let metrics = Metrics::new();
//! let app = Router::new()
//!     .route("/fail", get(|| async { http::StatusCode::BAD_GATEWAY }))
//!     .layer(HttpLayer::new(&metrics));
//! let request = http::Request::get("/fail").body(axum::body::Body::empty()).unwrap();
//! let response = app.oneshot(request).await.unwrap();
//! drop(response); // the exchange ends with its response body
//! assert!(slow.0.load(Ordering::Relaxed) >= 1);
//! # }
//! ```

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// What a hook implements to hear about finished work. Every method does nothing unless
/// overridden.
pub trait OnCompletion: Send + Sync + 'static {
    /// An exchange ended: its response body finished, or was dropped (the client went away).
    fn on_exchange(&self, exchange: &Exchange<'_>) {
        let _ = exchange;
    }

    /// An [`ApiError`](crate::ApiError) was answered with a server error.
    fn on_server_error(&self, error: &ServerError<'_>) {
        let _ = error;
    }

    /// A handler panicked and was answered with a 500.
    fn on_panic(&self, panic: &Panic<'_>) {
        let _ = panic;
    }
}

/// A finished exchange, as the adapter that handled it recorded it: the same values its
/// metrics, span and access line carry.
#[derive(Debug, Clone, Copy)]
pub struct Exchange<'a> {
    pub(crate) span: &'a tracing::Span,
    pub(crate) request_id: &'a str,
    pub(crate) method: &'a str,
    pub(crate) route: &'a str,
    pub(crate) status: u16,
    pub(crate) server_error: bool,
    pub(crate) duration: Duration,
}

impl<'a> Exchange<'a> {
    /// The exchange's `request` span (disabled when the adapter opens none). Recording into
    /// it is allowed: the span is still open.
    pub fn span(&self) -> &'a tracing::Span {
        self.span
    }

    /// The request ID the exchange was handled under.
    pub fn request_id(&self) -> &'a str {
        self.request_id
    }

    /// The method label: `GET`, `POST`, …, or `_OTHER`.
    pub fn method(&self) -> &'a str {
        self.method
    }

    /// The route template, or [`UNMATCHED_ROUTE`](crate::catalogue::UNMATCHED_ROUTE).
    pub fn route(&self) -> &'a str {
        self.route
    }

    /// The response status code: the HTTP status, or for a gRPC call its status code number
    /// (`5` for `NOT_FOUND`).
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Whether the answer is a server error: what the error-ratio alerts and the availability
    /// SLOs count. For HTTP a 5xx, for gRPC the codes that mean a server fault
    /// ([`GRPC_SERVER_FAULT_CODES`](crate::catalogue::GRPC_SERVER_FAULT_CODES)).
    pub fn is_server_error(&self) -> bool {
        self.server_error
    }

    /// From the moment the adapter saw the request to the end of its response.
    pub fn duration(&self) -> Duration {
        self.duration
    }
}

/// An [`ApiError`](crate::ApiError) answered with a server error.
#[derive(Debug, Clone, Copy)]
pub struct ServerError<'a> {
    pub(crate) detail: &'a str,
    pub(crate) status: u16,
    pub(crate) request_id: &'a str,
}

impl<'a> ServerError<'a> {
    /// The internal detail, the whole source chain: never shown to the client.
    pub fn detail(&self) -> &'a str {
        self.detail
    }

    /// The response status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The request ID, empty outside a request.
    pub fn request_id(&self) -> &'a str {
        self.request_id
    }
}

/// A handler panic answered with a 500.
#[derive(Debug, Clone, Copy)]
pub struct Panic<'a> {
    pub(crate) message: &'a str,
    pub(crate) request_id: &'a str,
}

impl<'a> Panic<'a> {
    /// The panic message.
    pub fn message(&self) -> &'a str {
        self.message
    }

    /// The request ID, empty outside a request.
    pub fn request_id(&self) -> &'a str {
        self.request_id
    }
}

/// How many subscribers there are: the fast path reads only this.
static SUBSCRIBED: AtomicUsize = AtomicUsize::new(0);
static SUBSCRIBERS: RwLock<Vec<(usize, Arc<dyn OnCompletion>)>> = RwLock::new(Vec::new());
static NEXT_ID: AtomicUsize = AtomicUsize::new(0);

/// Whether anyone subscribes: a reporter whose report costs something to build asks first.
pub(crate) fn subscribed() -> bool {
    SUBSCRIBED.load(Ordering::Relaxed) != 0
}

/// Calls `f` with every subscriber.
fn each(f: impl Fn(&dyn OnCompletion)) {
    if !subscribed() {
        return;
    }
    // Cloned out of the lock (inline, no allocation), so a hook that reports again or
    // unsubscribes cannot deadlock.
    let subscribers: smallvec::SmallVec<[Arc<dyn OnCompletion>; 4]> = SUBSCRIBERS
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .map(|(_, s)| s.clone())
        .collect();
    for subscriber in subscribers {
        f(&*subscriber);
    }
}

/// Reports a finished exchange to every subscriber.
pub(crate) fn exchange(exchange: &Exchange<'_>) {
    each(|s| s.on_exchange(exchange));
}

/// Reports a server error to every subscriber.
pub(crate) fn server_error(error: &ServerError<'_>) {
    each(|s| s.on_server_error(error));
}

/// Reports a panic to every subscriber.
#[allow(
    dead_code,
    reason = "raised by the catch-panic layer, which a build may leave out"
)]
pub(crate) fn panic(panic: &Panic<'_>) {
    each(|s| s.on_panic(panic));
}

/// Subscribes `hook` until the returned [`Subscription`] is dropped.
pub fn subscribe(hook: Arc<dyn OnCompletion>) -> Subscription {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let mut list = SUBSCRIBERS.write().unwrap_or_else(|e| e.into_inner());
    list.push((id, hook));
    SUBSCRIBED.store(list.len(), Ordering::Relaxed);
    Subscription(id)
}

/// A hook's subscription; dropping it unsubscribes the hook.
#[derive(Debug)]
#[must_use = "dropping the subscription at once unsubscribes the hook"]
pub struct Subscription(usize);

impl Drop for Subscription {
    fn drop(&mut self) {
        let mut list = SUBSCRIBERS.write().unwrap_or_else(|e| e.into_inner());
        list.retain(|(id, _)| *id != self.0);
        SUBSCRIBED.store(list.len(), Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Keeps what it heard about one request ID, so tests running in parallel (and reporting
    /// completions of their own) cannot disturb it.
    struct Recorder {
        request_id: &'static str,
        heard: Mutex<Vec<String>>,
    }

    impl Recorder {
        fn heard(&self, kind: &str, id: &str) {
            if id == self.request_id {
                self.heard.lock().unwrap().push(kind.to_owned());
            }
        }
    }

    impl OnCompletion for Recorder {
        fn on_exchange(&self, exchange: &Exchange<'_>) {
            self.heard("exchange", exchange.request_id());
        }
        fn on_server_error(&self, error: &ServerError<'_>) {
            self.heard("server error", error.request_id());
        }
        fn on_panic(&self, panic: &Panic<'_>) {
            self.heard("panic", panic.request_id());
        }
    }

    /// Implements nothing: every report reaches it and does nothing.
    struct Deaf;
    impl OnCompletion for Deaf {}

    #[test]
    fn subscribers_hear_completions_until_they_unsubscribe() {
        let recorder = Arc::new(Recorder {
            request_id: "hook-test-1",
            heard: Mutex::new(Vec::new()),
        });
        let boom = Panic {
            message: "boom",
            request_id: "hook-test-1",
        };
        let subscription = subscribe(recorder.clone());
        let _deaf = subscribe(Arc::new(Deaf));
        panic(&boom);
        server_error(&ServerError {
            detail: "db down",
            status: 503,
            request_id: "hook-test-1",
        });
        let span = tracing::Span::none();
        exchange(&Exchange {
            span: &span,
            request_id: "hook-test-1",
            method: "GET",
            route: "/",
            status: 200,
            server_error: false,
            duration: Duration::from_millis(1),
        });
        panic(&Panic {
            message: "elsewhere",
            request_id: "another request",
        });
        drop(subscription);
        panic(&boom);
        assert_eq!(
            *recorder.heard.lock().unwrap(),
            ["panic", "server error", "exchange"]
        );
    }
}
