//! HTTP dependency readiness check (feature `http-check`).

use std::fmt;

use super::{CheckError, CheckFuture, HealthCheck};
use crate::redact;

/// Sends `GET` to a URL and expects a 2xx answer (redirects are not followed).
///
/// ```
/// use obs_service::health::{Health, HttpCheck};
///
/// # fn main() -> Result<(), obs_service::health::CheckError> {
/// let health = Health::new("1.0.0")
///     .check("payments", HttpCheck::new("http://payments.internal/health/live")?)
///     .critical(false);
/// # Ok(()) }
/// ```
///
/// The URL's password, if any, never appears in an error message or `Debug` output.
///
/// The SDK enables no TLS backend of reqwest: `https` URLs work when the service's own
/// reqwest dependency turns one on (cargo unifies the features), or with a client passed to
/// [`HttpCheck::client`].
#[derive(Clone)]
pub struct HttpCheck {
    client: reqwest::Client,
    url: reqwest::Url,
    shown: String,
    password: Option<String>,
}

impl fmt::Debug for HttpCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpCheck")
            .field("url", &self.shown)
            .finish()
    }
}

impl HttpCheck {
    /// A check of `url`. Fails if it is not an absolute `http` or `https` URL.
    pub fn new(url: &str) -> Result<Self, CheckError> {
        let shown = redact::redact_url(url);
        let parsed = reqwest::Url::parse(url)
            .map_err(|e| CheckError::new(format_args!("invalid URL {shown}: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(CheckError::new(format_args!(
                "invalid URL {shown}: the scheme must be http or https"
            )));
        }
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| CheckError::new(format_args!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            client,
            password: parsed.password().map(str::to_owned),
            url: parsed,
            shown,
        })
    }

    /// Uses `client` (for its TLS roots, proxy or default headers).
    pub fn client(mut self, client: reqwest::Client) -> Self {
        self.client = client;
        self
    }

    async fn run(&self) -> Result<(), CheckError> {
        let response = self
            .client
            .get(self.url.clone())
            .send()
            .await
            .map_err(|e| {
                // reqwest names the URL in its errors; ours is shown redacted instead.
                let text = CheckError::from_error(&e.without_url()).to_string();
                CheckError::new(format_args!(
                    "GET {}: {}",
                    self.shown,
                    redact::scrub(&text, self.password.as_deref())
                ))
            })?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(CheckError::new(format_args!(
                "GET {} answered {status}",
                self.shown
            )))
        }
    }
}

impl HealthCheck for HttpCheck {
    fn check(&self) -> CheckFuture<'_> {
        Box::pin(self.run())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_validated() {
        assert!(HttpCheck::new("not a url").is_err());
        let err = HttpCheck::new("ftp://u:hunter2@h/").unwrap_err();
        assert!(!err.message().contains("hunter2"), "{err}");
        let check = HttpCheck::new("http://u:hunter2@h/").unwrap();
        assert!(!format!("{check:?}").contains("hunter2"));
    }
}
