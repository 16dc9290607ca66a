//! PostgreSQL readiness check (feature `postgres`).

use std::fmt;

use tokio_postgres::NoTls;

use super::{CheckError, CheckFuture, HealthCheck};
use crate::redact;

/// Connects to PostgreSQL and runs `SELECT 1` (or [another query](PostgresCheck::query)).
///
/// Each run opens a fresh connection, so the check proves that new connections succeed (what a
/// restarted pod needs) and holds nothing between probes. The connection password never appears
/// in an error message, the log or `Debug` output.
///
/// ```no_run
/// use obs_service::health::{Health, PostgresCheck};
///
/// # fn main() -> Result<(), obs_service::health::CheckError> {
/// let health = Health::new("1.0.0")
///     .check("postgres", PostgresCheck::new("postgres://app:secret@db:5432/app")?);
/// # Ok(()) }
/// ```
///
/// TLS is not negotiated (`NoTls`): to check a server that requires TLS, write a
/// [`HealthCheck`] around your own pool or client.
#[derive(Clone)]
pub struct PostgresCheck {
    config: tokio_postgres::Config,
    query: String,
    /// The DSN with its password hidden, for `Debug`.
    shown: String,
    password: Option<String>,
}

impl fmt::Debug for PostgresCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresCheck")
            .field("dsn", &self.shown)
            .field("query", &self.query)
            .finish()
    }
}

impl PostgresCheck {
    /// A check of the server `dsn` names: a URL (`postgres://user:password@host:port/db`) or a
    /// libpq `key=value` string. Fails if the DSN does not parse; the error hides the password.
    pub fn new(dsn: &str) -> Result<Self, CheckError> {
        let password = redact::url_password(dsn).map(str::to_owned);
        let config = dsn.parse::<tokio_postgres::Config>().map_err(|e| {
            CheckError::new(format_args!(
                "invalid PostgreSQL DSN {}: {}",
                redact::redact_url(dsn),
                redact::scrub(&CheckError::from_error(&e).to_string(), password.as_deref())
            ))
        })?;
        Ok(Self {
            config,
            query: "SELECT 1".to_owned(),
            shown: redact::redact_url(dsn),
            password,
        })
    }

    /// A check using an existing connection configuration.
    pub fn from_config(config: tokio_postgres::Config) -> Self {
        let password = config
            .get_password()
            .map(|p| String::from_utf8_lossy(p).into_owned());
        Self {
            shown: format!(
                "{:?}/{}",
                config.get_hosts(),
                config.get_dbname().unwrap_or_default()
            ),
            config,
            query: "SELECT 1".to_owned(),
            password,
        }
    }

    /// Runs `sql` instead of `SELECT 1` (simple-query protocol: no parameters).
    pub fn query(mut self, sql: impl Into<String>) -> Self {
        self.query = sql.into();
        self
    }

    fn error(&self, what: &str, error: &tokio_postgres::Error) -> CheckError {
        let text = CheckError::from_error(error).to_string();
        CheckError::new(format_args!(
            "{what}: {}",
            redact::scrub(&text, self.password.as_deref())
        ))
    }

    async fn run(&self) -> Result<(), CheckError> {
        let (client, connection) = self
            .config
            .connect(NoTls)
            .await
            .map_err(|e| self.error("connecting to PostgreSQL", &e))?;
        // The connection is driven here rather than spawned, so a check cancelled by its
        // timeout leaves no task behind.
        let query = client.simple_query(&self.query);
        tokio::pin!(connection);
        tokio::select! {
            result = query => result.map(|_| ()).map_err(|e| self.error("PostgreSQL query failed", &e)),
            result = &mut connection => match result {
                Ok(()) => Err(CheckError::new("PostgreSQL closed the connection")),
                Err(e) => Err(self.error("PostgreSQL connection failed", &e)),
            },
        }
    }
}

impl HealthCheck for PostgresCheck {
    fn check(&self) -> CheckFuture<'_> {
        Box::pin(self.run())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_dsn_is_refused_without_its_password() {
        let err = PostgresCheck::new("postgres://u:hunter2@h:notaport/db").unwrap_err();
        assert!(err.message().contains("invalid PostgreSQL DSN"), "{err}");
        assert!(!err.message().contains("hunter2"), "{err}");
        let check = PostgresCheck::new("postgres://u:hunter2@h:5432/db").unwrap();
        assert!(!format!("{check:?}").contains("hunter2"));
    }
}
