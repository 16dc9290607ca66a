//! What the exporters' HTTP clients share: how they are built and how an answer is read.

use std::time::Duration;

use super::settings::ExportSettings;
use super::sink::{Retry, SendError};

/// An HTTP client for the exporters: plain HTTP, and HTTPS when a TLS feature of reqwest is on.
pub(crate) fn http_client(settings: &ExportSettings) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(settings.request_timeout)
        .connect_timeout(settings.request_timeout.min(Duration::from_secs(3)))
        .pool_idle_timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| format!("cannot build its HTTP client: {e}"))
}

/// Classifies an HTTP answer: 2xx is delivered; 429 and 503 wait for `Retry-After` when
/// given; 408 and other 5xx back off; any other status is final.
pub(crate) fn classify(
    status: http::StatusCode,
    headers: &http::HeaderMap,
) -> Result<(), SendError> {
    if status.is_success() {
        return Ok(());
    }
    let reason = format!("the endpoint answered {status}");
    let code = status.as_u16();
    if code == 429 || code == 503 {
        return Err(SendError {
            retry: retry_after(headers).map_or(Retry::Backoff, Retry::After),
            reason,
        });
    }
    if code == 408 || status.is_server_error() {
        return Err(SendError::transient(reason));
    }
    Err(SendError::permanent(reason))
}

/// Reads `Retry-After` (seconds or an HTTP date) or, from Sentry, `X-Sentry-Rate-Limits`
/// (the longest of its `seconds:categories:scope` entries).
pub(crate) fn retry_after(headers: &http::HeaderMap) -> Option<Duration> {
    let from_retry_after = headers
        .get(http::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let v = v.trim();
            if let Ok(secs) = v.parse::<f64>() {
                return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
            }
            let at = time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc2822)
                .ok()?;
            let wait = at - time::OffsetDateTime::now_utc();
            Some(Duration::try_from(wait).unwrap_or(Duration::ZERO))
        });
    let from_sentry = headers
        .get("x-sentry-rate-limits")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split(',')
                .filter_map(|limit| limit.trim().split(':').next()?.trim().parse::<f64>().ok())
                .filter(|secs| secs.is_finite() && *secs >= 0.0)
                .map(Duration::from_secs_f64)
                .max()
        });
    match (from_retry_after, from_sentry) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_read_from_seconds_dates_and_sentry_limits() {
        let mut h = http::HeaderMap::new();
        h.insert("retry-after", "7".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        h.insert(
            "x-sentry-rate-limits",
            "60:error:org, 2::key".parse().unwrap(),
        );
        assert_eq!(retry_after(&h), Some(Duration::from_secs(60)));
        let mut h = http::HeaderMap::new();
        h.insert(
            "retry-after",
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
        let e = classify(http::StatusCode::TOO_MANY_REQUESTS, &{
            let mut h = http::HeaderMap::new();
            h.insert("retry-after", "3".parse().unwrap());
            h
        })
        .unwrap_err();
        assert_eq!(e.retry, Retry::After(Duration::from_secs(3)));
        assert_eq!(
            classify(http::StatusCode::BAD_REQUEST, &http::HeaderMap::new())
                .unwrap_err()
                .retry,
            Retry::Never
        );
        assert_eq!(
            classify(http::StatusCode::BAD_GATEWAY, &http::HeaderMap::new())
                .unwrap_err()
                .retry,
            Retry::Backoff
        );
    }
}
