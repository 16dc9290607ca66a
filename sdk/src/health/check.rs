//! What a readiness check is, and how it fails.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

/// The future a [`HealthCheck`] returns.
pub type CheckFuture<'a> = Pin<Box<dyn Future<Output = Result<(), CheckError>> + Send + 'a>>;

/// One readiness check: resolves to `Ok(())` when the dependency is usable.
///
/// Implement it for a type, or pass any async closure returning `Result<(), E>` where `E`
/// displays the reason (`String`, `&str`, an error type):
///
/// ```
/// use obs_service::health::{CheckError, CheckFuture, HealthCheck};
///
/// struct Queue;
///
/// impl HealthCheck for Queue {
///     fn check(&self) -> CheckFuture<'_> {
///         Box::pin(async { Err(CheckError::new("broker refused the connection")) })
///     }
/// }
/// ```
///
/// A check needs no timeout of its own: [`Health`](super::Health) cancels it (drops its future) when its
/// timeout passes. Error messages end up in the readiness body and the log, so they must not
/// carry secrets; the built-in checks hide connection passwords.
pub trait HealthCheck: Send + Sync + 'static {
    /// Runs the check once.
    fn check(&self) -> CheckFuture<'_>;
}

impl<F, Fut, E> HealthCheck for F
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: fmt::Display,
{
    fn check(&self) -> CheckFuture<'_> {
        let future = self();
        Box::pin(async move { future.await.map_err(CheckError::new) })
    }
}

/// Why a check failed: a message for the readiness body and the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckError {
    pub(super) message: String,
}

impl CheckError {
    /// A failure described by `message`.
    pub fn new(message: impl fmt::Display) -> Self {
        Self {
            message: message.to_string(),
        }
    }

    /// A failure caused by `error`, described by its whole [`source`](std::error::Error::source)
    /// chain (a cause already part of the text is not repeated).
    pub fn from_error(error: &(dyn std::error::Error + 'static)) -> Self {
        let mut message = error.to_string();
        let mut next = error.source();
        while let Some(cause) = next {
            let text = cause.to_string();
            if !message.contains(&text) {
                message.push_str(": ");
                message.push_str(&text);
            }
            next = cause.source();
        }
        Self { message }
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for CheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CheckError {}

impl From<String> for CheckError {
    fn from(message: String) -> Self {
        Self { message }
    }
}

impl From<&str> for CheckError {
    fn from(message: &str) -> Self {
        Self::new(message)
    }
}

impl From<std::io::Error> for CheckError {
    fn from(error: std::io::Error) -> Self {
        Self::from_error(&error)
    }
}
