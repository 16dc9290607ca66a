//! Redis readiness check (feature `redis`).

use std::fmt;

use super::{CheckError, CheckFuture, HealthCheck};
use crate::redact;

/// Connects to Redis and sends `PING`, expecting `PONG`.
///
/// Each run opens a fresh connection and closes it. The password of the URL never appears in
/// an error message, the log or `Debug` output.
///
/// ```no_run
/// use obs_service::health::{Health, RedisCheck};
///
/// # fn main() -> Result<(), obs_service::health::CheckError> {
/// let health = Health::new("1.0.0")
///     .check("redis", RedisCheck::new("redis://:secret@cache:6379/0")?)
///     .critical(false);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisCheck {
    client: ::redis::Client,
    shown: String,
    password: Option<String>,
}

impl fmt::Debug for RedisCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisCheck")
            .field("url", &self.shown)
            .finish()
    }
}

impl RedisCheck {
    /// A check of the server `url` names (`redis://[:password@]host[:port][/db]`). Fails if the
    /// URL does not parse; the error hides the password.
    pub fn new(url: &str) -> Result<Self, CheckError> {
        let password = redact::url_password(url).map(str::to_owned);
        let client = ::redis::Client::open(url).map_err(|e| {
            CheckError::new(format_args!(
                "invalid Redis URL {}: {}",
                redact::redact_url(url),
                redact::scrub(&CheckError::from_error(&e).to_string(), password.as_deref())
            ))
        })?;
        Ok(Self {
            client,
            shown: redact::redact_url(url),
            password,
        })
    }

    fn error(&self, what: &str, error: &::redis::RedisError) -> CheckError {
        let text = CheckError::from_error(error).to_string();
        CheckError::new(format_args!(
            "{what}: {}",
            redact::scrub(&text, self.password.as_deref())
        ))
    }

    async fn run(&self) -> Result<(), CheckError> {
        let mut connection = self
            .client
            .get_multiplexed_async_connection()
            .await
            .map_err(|e| self.error("connecting to Redis", &e))?;
        let reply: String = ::redis::cmd("PING")
            .query_async(&mut connection)
            .await
            .map_err(|e| self.error("Redis PING failed", &e))?;
        if reply == "PONG" {
            Ok(())
        } else {
            Err(CheckError::new(format_args!(
                "Redis answered PING with {reply:?}"
            )))
        }
    }
}

impl HealthCheck for RedisCheck {
    fn check(&self) -> CheckFuture<'_> {
        Box::pin(self.run())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_url_is_refused_without_its_password() {
        let err = RedisCheck::new("mongodb://:hunter2@h:6379").unwrap_err();
        assert!(err.message().contains("invalid Redis URL"), "{err}");
        assert!(!err.message().contains("hunter2"), "{err}");
        let check = RedisCheck::new("redis://:hunter2@h:6379/0").unwrap();
        assert!(!format!("{check:?}").contains("hunter2"));
    }
}
