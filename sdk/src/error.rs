//! An error type for handlers that answers with a safe JSON body and logs the detail.
//!
//! [`ApiError`] maps to a status code and, as an axum response, answers
//!
//! ```json
//! {"error": {"code": "not_found", "message": "no user 42", "request_id": "0193…"}}
//! ```
//!
//! The `request_id` is the one [`HttpLayer`](crate::HttpLayer) gave the request (also in the
//! `X-Request-ID` response header), so a user's bug report leads straight to the log lines.
//!
//! A 5xx body never carries internal detail: its message is the generic one of its kind
//! (`internal server error`, `service unavailable`). The detail, the whole chain of
//! [`source`](std::error::Error::source) errors, is logged at `ERROR` (target `obs::error`) with the
//! `request_id`, and handed to the error-reporting hook (Sentry, when that integration is on).
//! 4xx errors are the client's business: their message is shown as given, and they are logged at
//! `DEBUG` only.
//!
//! Any `std::error::Error` converts into an internal error, so `?` works in handlers; `context`
//! adds what the handler was doing:
//!
//! ```
//! use axum::{extract::Path, routing::get, Json, Router};
//! use obs_service::error::{ApiError, Context as _};
//!
//! async fn user(Path(id): Path<u64>) -> Result<Json<String>, ApiError> {
//!     if id == 0 {
//!         return Err(ApiError::bad_request("user ids start at 1"));
//!     }
//!     let name = std::fs::read_to_string(format!("/srv/users/{id}"))
//!         .context("reading the user file")?; // a 500 whose detail is logged, not shown
//!     Ok(Json(name))
//! }
//!
//! let app: Router = Router::new().route("/users/{id}", get(user));
//! ```
//!
//! `ApiError` deliberately does not implement `std::error::Error` (as `anyhow::Error` does not):
//! that is what lets every error type convert into it with `?`. The conversion always means
//! "internal": for a failure that is the client's fault (a value that does not parse, a
//! rejected extractor), build the 4xx yourself, e.g.
//! `.map_err(|e| ApiError::bad_request(e.to_string()))`.

use std::borrow::Cow;
use std::fmt;

use http::StatusCode;
pub use obs_catalogue::wire::{ErrorBody, ErrorDetail};

use crate::RequestId;

/// The `target` of the `ERROR` lines written for 5xx responses and panics.
pub const ERROR_LOG_TARGET: &str = "obs::error";

/// The boxed cause of an [`ApiError`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What kind of failure an [`ApiError`] is: its status code and its stable `code` string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// 400 `bad_request`: the request is malformed.
    BadRequest,
    /// 401 `unauthorized`: no or bad credentials.
    Unauthorized,
    /// 403 `forbidden`: authenticated, but not allowed.
    Forbidden,
    /// 404 `not_found`.
    NotFound,
    /// 405 `method_not_allowed`.
    MethodNotAllowed,
    /// 409 `conflict`: the request conflicts with the current state.
    Conflict,
    /// 413 `payload_too_large`.
    PayloadTooLarge,
    /// 422 `unprocessable`: well formed, but semantically wrong (validation errors).
    Unprocessable,
    /// 429 `too_many_requests`.
    TooManyRequests,
    /// 500 `internal`: a bug or an unexpected failure. The message is never shown.
    Internal,
    /// 502 `bad_gateway`: an upstream service answered badly.
    BadGateway,
    /// 503 `unavailable`: a dependency is down or the service is overloaded.
    Unavailable,
    /// 504 `timeout`: an upstream service did not answer in time.
    Timeout,
}

impl ErrorKind {
    /// Every kind, for documentation and tests.
    pub const ALL: &'static [ErrorKind] = &[
        ErrorKind::BadRequest,
        ErrorKind::Unauthorized,
        ErrorKind::Forbidden,
        ErrorKind::NotFound,
        ErrorKind::MethodNotAllowed,
        ErrorKind::Conflict,
        ErrorKind::PayloadTooLarge,
        ErrorKind::Unprocessable,
        ErrorKind::TooManyRequests,
        ErrorKind::Internal,
        ErrorKind::BadGateway,
        ErrorKind::Unavailable,
        ErrorKind::Timeout,
    ];

    /// The HTTP status code.
    pub const fn status(self) -> StatusCode {
        match self {
            ErrorKind::BadRequest => StatusCode::BAD_REQUEST,
            ErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorKind::Forbidden => StatusCode::FORBIDDEN,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorKind::Conflict => StatusCode::CONFLICT,
            ErrorKind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorKind::Unprocessable => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorKind::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorKind::BadGateway => StatusCode::BAD_GATEWAY,
            ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::Timeout => StatusCode::GATEWAY_TIMEOUT,
        }
    }

    /// The `code` of the JSON body: stable, machine-readable.
    pub const fn code(self) -> &'static str {
        match self {
            ErrorKind::BadRequest => "bad_request",
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::NotFound => "not_found",
            ErrorKind::MethodNotAllowed => "method_not_allowed",
            ErrorKind::Conflict => "conflict",
            ErrorKind::PayloadTooLarge => "payload_too_large",
            ErrorKind::Unprocessable => "unprocessable",
            ErrorKind::TooManyRequests => "too_many_requests",
            ErrorKind::Internal => "internal",
            ErrorKind::BadGateway => "bad_gateway",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Timeout => "timeout",
        }
    }

    /// The message used when none is given, and always for server errors.
    pub const fn default_message(self) -> &'static str {
        match self {
            ErrorKind::BadRequest => "bad request",
            ErrorKind::Unauthorized => "authentication required",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::NotFound => "not found",
            ErrorKind::MethodNotAllowed => "method not allowed",
            ErrorKind::Conflict => "conflict",
            ErrorKind::PayloadTooLarge => "payload too large",
            ErrorKind::Unprocessable => "unprocessable request",
            ErrorKind::TooManyRequests => "too many requests",
            ErrorKind::Internal => "internal server error",
            ErrorKind::BadGateway => "bad gateway",
            ErrorKind::Unavailable => "service unavailable",
            ErrorKind::Timeout => "upstream timeout",
        }
    }

    /// Whether this is a server error (5xx), whose detail is never shown.
    pub fn is_server_error(self) -> bool {
        self.status().is_server_error()
    }
}

/// An error a handler returns. See the [module documentation](self).
pub struct ApiError {
    kind: ErrorKind,
    /// Shown to the client for 4xx; logged only for 5xx.
    message: Cow<'static, str>,
    source: Option<BoxError>,
}

impl ApiError {
    /// An error of `kind` with a message. For server errors (5xx) the message is internal
    /// detail: logged, never shown.
    pub fn new(kind: ErrorKind, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// An error of `kind` with its [default message](ErrorKind::default_message).
    pub fn from_kind(kind: ErrorKind) -> Self {
        Self::new(kind, kind.default_message())
    }

    /// 400: the request is malformed; `message` says how.
    pub fn bad_request(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::BadRequest, message)
    }

    /// 401: no or bad credentials.
    pub fn unauthorized(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Unauthorized, message)
    }

    /// 403: authenticated but not allowed.
    pub fn forbidden(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Forbidden, message)
    }

    /// 404.
    pub fn not_found(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    /// 409: the request conflicts with the current state.
    pub fn conflict(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Conflict, message)
    }

    /// 422: validation failed; `message` says what.
    pub fn unprocessable(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Unprocessable, message)
    }

    /// 429.
    pub fn too_many_requests(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::TooManyRequests, message)
    }

    /// 500 caused by `error`, which is logged with its chain and never shown.
    ///
    /// ```
    /// use obs_service::error::ApiError;
    /// let err = ApiError::internal("the ledger is out of balance");
    /// assert_eq!(err.status(), 500);
    /// assert_eq!(err.public_message(), "internal server error");
    /// ```
    pub fn internal(error: impl Into<BoxError>) -> Self {
        Self::from_kind(ErrorKind::Internal).with_source(error)
    }

    /// 503: a dependency is down. `error` is logged, never shown.
    pub fn unavailable(error: impl Into<BoxError>) -> Self {
        Self::from_kind(ErrorKind::Unavailable).with_source(error)
    }

    /// Sets the underlying cause, logged with its whole chain.
    pub fn with_source(mut self, error: impl Into<BoxError>) -> Self {
        self.source = Some(error.into());
        self
    }

    /// Prefixes the message with what was being done (`"loading user 42: …"`).
    pub fn context(mut self, context: impl fmt::Display) -> Self {
        self.message = if self.kind.is_server_error() && self.source.is_some() {
            // The message of a 5xx with a source is only its kind's default; the context
            // replaces it.
            format!("{context}").into()
        } else {
            format!("{context}: {}", self.message).into()
        };
        self
    }

    /// The kind.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.kind.status()
    }

    /// The stable `code` of the JSON body.
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }

    /// The message the client sees: the given one for 4xx, the kind's default for 5xx.
    pub fn public_message(&self) -> &str {
        if self.kind.is_server_error() {
            self.kind.default_message()
        } else {
            &self.message
        }
    }

    /// The cause, if one was given.
    pub fn source(&self) -> Option<&(dyn std::error::Error + Send + Sync + 'static)> {
        self.source.as_deref()
    }

    /// The internal detail: the message, then every error of the source chain, joined with
    /// `": "`. This is what is logged; never send it to a client.
    pub fn detail(&self) -> String {
        use fmt::Write as _;
        let mut text = self.message.to_string();
        let mut next: Option<&(dyn std::error::Error + 'static)> = match &self.source {
            Some(source) => Some(source.as_ref()),
            None => None,
        };
        while let Some(error) = next {
            let _ = write!(text, ": {error}");
            next = error.source();
        }
        text
    }

    /// The JSON body, with `request_id` (or `null` outside a request).
    pub fn body(&self, request_id: Option<&RequestId>) -> serde_json::Value {
        serde_json::to_value(self.wire_body(request_id)).expect("an error body always serialises")
    }

    /// The body as the catalogue's [`ErrorBody`], the type
    /// `obs-gen doctor` reads it back into.
    pub fn wire_body(&self, request_id: Option<&RequestId>) -> ErrorBody {
        error_body(self.code(), self.public_message(), request_id)
    }

    /// Logs the error as its kind requires (5xx at `ERROR` with the detail and the
    /// `request_id`, 4xx at `DEBUG`) and hands a 5xx to the integrations that report errors
    /// (Sentry, when it is on).
    /// [`IntoResponse`](axum::response::IntoResponse) does this; call it yourself when you turn
    /// an `ApiError` into a response another way.
    pub fn log(&self, request_id: Option<&RequestId>) {
        let request_id = request_id.map(RequestId::as_str).unwrap_or_default();
        let status = self.status().as_u16();
        if self.kind.is_server_error() {
            let detail = self.detail();
            tracing::error!(
                target: ERROR_LOG_TARGET,
                code = self.code(),
                status,
                request_id,
                error = %detail,
                "request failed"
            );
            crate::completion::server_error(&crate::completion::ServerError {
                detail: &detail,
                status,
                request_id,
            });
        } else {
            tracing::debug!(
                target: ERROR_LOG_TARGET,
                code = self.code(),
                status,
                request_id,
                error = %self.detail(),
                "request rejected"
            );
        }
    }
}

/// The body shared by [`ApiError`] and the panic handler:
/// `{"error": {"code", "message", "request_id"}}`.
pub(crate) fn error_body(code: &str, message: &str, request_id: Option<&RequestId>) -> ErrorBody {
    ErrorBody {
        error: ErrorDetail {
            code: code.to_owned(),
            message: message.to_owned(),
            request_id: request_id.map(|id| id.as_str().to_owned()),
        },
    }
}

impl fmt::Debug for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiError")
            .field("kind", &self.kind)
            .field("message", &self.message)
            .field("source", &self.source)
            .finish()
    }
}

/// Shows the [detail](ApiError::detail) with the status: for logs and tests, never for clients.
impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status().as_u16(),
            self.code(),
            self.detail()
        )
    }
}

/// Any error becomes a 500 whose detail is logged: `?` works in handlers.
impl<E> From<E> for ApiError
where
    E: std::error::Error + Send + Sync + 'static,
{
    fn from(error: E) -> Self {
        ApiError::internal(error)
    }
}

/// Adds what was being done to a failure, turning it into an internal [`ApiError`].
///
/// ```
/// use obs_service::error::Context as _;
/// let err = "x".parse::<u32>().context("parsing the page size").unwrap_err();
/// assert_eq!(err.status(), 500);
/// assert_eq!(err.detail(), "parsing the page size: invalid digit found in string");
/// ```
pub trait Context<T> {
    /// On error, an internal error whose detail starts with `context`.
    fn context(self, context: impl fmt::Display) -> Result<T, ApiError>;

    /// Like [`Context::context`], building the text only on error.
    fn with_context<C: fmt::Display>(self, context: impl FnOnce() -> C) -> Result<T, ApiError>;
}

impl<T, E> Context<T> for Result<T, E>
where
    E: std::error::Error + Send + Sync + 'static,
{
    fn context(self, context: impl fmt::Display) -> Result<T, ApiError> {
        self.map_err(|e| ApiError::internal(e).context(context))
    }

    fn with_context<C: fmt::Display>(self, context: impl FnOnce() -> C) -> Result<T, ApiError> {
        self.map_err(|e| ApiError::internal(e).context(context()))
    }
}

impl<T> Context<T> for Result<T, ApiError> {
    fn context(self, context: impl fmt::Display) -> Result<T, ApiError> {
        self.map_err(|e| e.context(context))
    }

    fn with_context<C: fmt::Display>(self, context: impl FnOnce() -> C) -> Result<T, ApiError> {
        self.map_err(|e| e.context(context()))
    }
}

#[cfg(feature = "axum")]
impl axum::response::IntoResponse for ApiError {
    fn into_response(self) -> axum::response::Response {
        let request_id = RequestId::current();
        self.log(request_id.as_ref());
        (
            self.status(),
            [(http::header::CONTENT_TYPE, "application/json")],
            serde_json::to_string(&self.wire_body(request_id.as_ref()))
                .expect("an error body always serialises"),
        )
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logging::{JsonLayer, MemoryWriter};
    use tracing_subscriber::layer::SubscriberExt as _;

    #[derive(Debug)]
    struct Wrapped(std::io::Error);
    impl fmt::Display for Wrapped {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("query failed")
        }
    }
    impl std::error::Error for Wrapped {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn kinds_map_to_status_codes_and_codes() {
        let mut codes = std::collections::HashSet::new();
        for kind in ErrorKind::ALL {
            assert!(codes.insert(kind.code()), "duplicate code {}", kind.code());
            let status = kind.status();
            assert!(status.is_client_error() || status.is_server_error());
            assert_eq!(kind.is_server_error(), status.is_server_error());
        }
        assert_eq!(ApiError::bad_request("x").status(), 400);
        assert_eq!(ApiError::unauthorized("x").status(), 401);
        assert_eq!(ApiError::forbidden("x").status(), 403);
        assert_eq!(ApiError::not_found("x").status(), 404);
        assert_eq!(ApiError::conflict("x").status(), 409);
        assert_eq!(ApiError::unprocessable("x").status(), 422);
        assert_eq!(ApiError::too_many_requests("x").status(), 429);
        assert_eq!(ApiError::internal("x").status(), 500);
        assert_eq!(ApiError::unavailable("x").status(), 503);
        assert_eq!(ApiError::unavailable("x").code(), "unavailable");
    }

    #[test]
    fn server_errors_hide_their_detail_and_log_the_chain() {
        let err = ApiError::from(Wrapped(std::io::Error::other(
            "connection reset by 10.0.0.7",
        )))
        .context("loading user 42");
        assert_eq!(err.public_message(), "internal server error");
        let body = err.body(None).to_string();
        assert!(
            !body.contains("10.0.0.7") && !body.contains("query"),
            "{body}"
        );
        assert_eq!(
            err.detail(),
            "loading user 42: query failed: connection reset by 10.0.0.7"
        );

        let writer = MemoryWriter::new();
        let subscriber = tracing_subscriber::registry().with(JsonLayer::new(writer.clone()));
        let id = RequestId::parse("req-err-1").unwrap();
        tracing::subscriber::with_default(subscriber, || err.log(Some(&id)));
        let line = &writer.json_lines()[0];
        assert_eq!(line["level"], "ERROR");
        assert_eq!(line["target"], ERROR_LOG_TARGET);
        assert_eq!(line["request_id"], "req-err-1");
        assert_eq!(line["status"], 500);
        assert_eq!(line["code"], "internal");
        assert_eq!(
            line["error"],
            "loading user 42: query failed: connection reset by 10.0.0.7"
        );
    }

    #[test]
    fn client_errors_show_their_message() {
        let err = ApiError::not_found("no user 42");
        let id = RequestId::parse("r-2").unwrap();
        assert_eq!(
            err.body(Some(&id)),
            serde_json::json!({"error": {"code": "not_found", "message": "no user 42", "request_id": "r-2"}})
        );
        let err: Result<(), ApiError> = Err(ApiError::conflict("version 3 is stale"));
        assert_eq!(
            err.context("saving order 9").unwrap_err().public_message(),
            "saving order 9: version 3 is stale"
        );
    }
}
