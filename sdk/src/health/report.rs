//! The answers of the health endpoints: the catalogue's wire types
//! ([`obs_catalogue::wire`]), so the SDK and `obs-gen doctor` share one definition of the JSON,
//! and the HTTP responses that carry them.

/// The overall status, and the status of one check (`ok` or `down`): the catalogue's
/// [`HealthStatus`](obs_catalogue::wire::HealthStatus).
pub type Status = obs_catalogue::wire::HealthStatus;

/// The result of one check in a [`Report`]: the catalogue's
/// [`CheckReport`](obs_catalogue::wire::CheckReport).
pub type CheckResult = obs_catalogue::wire::CheckReport;

/// The readiness answer, the JSON body of `/health/ready`: the catalogue's
/// [`HealthReport`](obs_catalogue::wire::HealthReport). Its `uptime_seconds` count from the
/// moment the [`Health`](super::Health) was created (at service start-up).
pub type Report = obs_catalogue::wire::HealthReport;

/// The liveness answer, the JSON body of `/health/live`.
pub use obs_catalogue::wire::Liveness;

/// The HTTP status of a readiness answer with `status`: 200 for `ok` and `degraded`, 503 for
/// `down` and `draining`.
///
/// ```
/// use obs_service::health::{Status, status_code};
/// assert_eq!(status_code(Status::Down), http::StatusCode::SERVICE_UNAVAILABLE);
/// ```
pub fn status_code(status: Status) -> ::http::StatusCode {
    ::http::StatusCode::from_u16(status.http_status())
        .expect("the catalogue's readiness codes are valid HTTP status codes")
}

/// The HTTP answer of a readiness [`Report`]. A trait because the report type lives in the
/// dependency-free catalogue, which knows nothing of HTTP.
pub trait ReportExt {
    /// The HTTP status to answer with: 200 for `ok` and `degraded`, 503 for `down` and
    /// `draining`.
    fn http_status(&self) -> ::http::StatusCode;

    /// The report as a JSON HTTP response (never cached by proxies).
    fn to_response(&self) -> ::http::Response<String>;
}

impl ReportExt for Report {
    fn http_status(&self) -> ::http::StatusCode {
        status_code(self.status)
    }

    fn to_response(&self) -> ::http::Response<String> {
        json_response(self.http_status(), self)
    }
}

pub(super) fn json_response<T: serde::Serialize>(
    status: ::http::StatusCode,
    body: &T,
) -> ::http::Response<String> {
    let body = serde_json::to_string(body).expect("health reports always serialise");
    let mut response = ::http::Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        ::http::header::CONTENT_TYPE,
        ::http::HeaderValue::from_static("application/json"),
    );
    headers.insert(
        ::http::header::CACHE_CONTROL,
        ::http::HeaderValue::from_static("no-store"),
    );
    response
}

const TIMESTAMP_FORMAT: &[time::format_description::BorrowedFormatItem<'static>] = time::macros::format_description!(
    "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
);

pub(super) fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(TIMESTAMP_FORMAT)
        .unwrap_or_default()
}
