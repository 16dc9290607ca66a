//! The one hook through which the core reports what completed: a finished request (from the
//! [`HttpLayer`](crate::HttpLayer)), a 5xx [`ApiError`](crate::ApiError) and a handler panic
//! (from the catch-panic layer). Integrations subscribe to it, as tower-http's `OnResponse`
//! and `OnFailure` callbacks receive what a `TraceLayer` saw; the core never names them.
//!
//! Reporting costs one relaxed atomic load while nobody subscribes, which is the case for every
//! service without an integration that wants completions: the request path is benchmarked
//! (`BENCHMARKS.md`), and this must not show there.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

/// Something the core finished handling.
#[derive(Debug, Clone, Copy)]
#[allow(
    dead_code,
    reason = "read by the integrations and raised by the catch-panic layer, which a build may leave out"
)]
pub(crate) enum Completion<'a> {
    /// A request ended: its response body finished, or was dropped.
    Response {
        /// The request's span (disabled when the layer opens none).
        span: &'a tracing::Span,
        /// The `http_request_method` label value.
        method: &'a str,
        /// The route template, or the catalogue's unmatched route.
        route: &'a str,
        /// The response status code.
        status: u16,
        /// The request ID.
        request_id: &'a str,
    },
    /// An [`ApiError`](crate::ApiError) answered with a server error.
    ServerError {
        /// The internal detail, the whole source chain: never shown to the client.
        detail: &'a str,
        /// The response status code.
        status: u16,
        /// The request ID, empty outside a request.
        request_id: &'a str,
    },
    /// A handler panicked and was answered with a 500.
    Panic {
        /// The panic message.
        message: &'a str,
        /// The request ID, empty outside a request.
        request_id: &'a str,
    },
}

/// What an integration implements to hear about completions.
pub(crate) trait OnCompletion: Send + Sync + 'static {
    /// Called on the thread that completed the work, inside the request's task.
    fn on_completion(&self, completion: &Completion<'_>);
}

/// How many subscribers there are: the fast path reads only this.
static SUBSCRIBED: AtomicUsize = AtomicUsize::new(0);
static SUBSCRIBERS: RwLock<Vec<(usize, Arc<dyn OnCompletion>)>> = RwLock::new(Vec::new());
#[allow(
    dead_code,
    reason = "only integrations subscribe, and a build may leave them all out"
)]
static NEXT_ID: AtomicUsize = AtomicUsize::new(0);

/// Whether anyone subscribes: a caller whose [`Completion`] costs something to build (the
/// request ID's text is validated again on every `as_str`) asks first.
pub(crate) fn subscribed() -> bool {
    SUBSCRIBED.load(Ordering::Relaxed) != 0
}

/// Hands `completion` to every subscriber.
pub(crate) fn report(completion: &Completion<'_>) {
    if SUBSCRIBED.load(Ordering::Relaxed) == 0 {
        return;
    }
    // Cloned out of the lock (inline, no allocation), so a subscriber that reports again or
    // unsubscribes cannot deadlock.
    let subscribers: smallvec::SmallVec<[Arc<dyn OnCompletion>; 4]> = SUBSCRIBERS
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .map(|(_, s)| s.clone())
        .collect();
    for subscriber in subscribers {
        subscriber.on_completion(completion);
    }
}

/// Subscribes `subscriber` until the returned guard is dropped.
#[allow(
    dead_code,
    reason = "only integrations subscribe, and a build may leave them all out"
)]
pub(crate) fn subscribe(subscriber: Arc<dyn OnCompletion>) -> Subscription {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let mut list = SUBSCRIBERS.write().unwrap_or_else(|e| e.into_inner());
    list.push((id, subscriber));
    SUBSCRIBED.store(list.len(), Ordering::Relaxed);
    Subscription(id)
}

/// A subscription to [`report`]; dropping it unsubscribes.
#[derive(Debug)]
#[allow(
    dead_code,
    reason = "only integrations subscribe, and a build may leave them all out"
)]
pub(crate) struct Subscription(usize);

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

    impl OnCompletion for Recorder {
        fn on_completion(&self, completion: &Completion<'_>) {
            let (kind, id) = match completion {
                Completion::Response { request_id, .. } => ("response", *request_id),
                Completion::ServerError { request_id, .. } => ("server error", *request_id),
                Completion::Panic { request_id, .. } => ("panic", *request_id),
            };
            if id == self.request_id {
                self.heard.lock().unwrap().push(kind.to_owned());
            }
        }
    }

    #[test]
    fn subscribers_hear_completions_until_they_unsubscribe() {
        let recorder = Arc::new(Recorder {
            request_id: "hook-test-1",
            heard: Mutex::new(Vec::new()),
        });
        let panic = Completion::Panic {
            message: "boom",
            request_id: "hook-test-1",
        };
        let subscription = subscribe(recorder.clone());
        report(&panic);
        report(&Completion::ServerError {
            detail: "db down",
            status: 503,
            request_id: "hook-test-1",
        });
        report(&Completion::Panic {
            message: "elsewhere",
            request_id: "another request",
        });
        drop(subscription);
        report(&panic);
        assert_eq!(*recorder.heard.lock().unwrap(), ["panic", "server error"]);
    }
}
