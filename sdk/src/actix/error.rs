//! [`ApiError`] as an actix-web error: the same answer as axum's.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpResponse, ResponseError};

use crate::{ApiError, RequestId};

/// Answers with the error's status and the safe JSON body
/// `{"error": {"code", "message", "request_id"}}`, and logs it as its kind requires (a 5xx at
/// `ERROR` with the detail), as its axum response does.
impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status().as_u16()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        // actix-web answers a handler's error while the middleware's scope is current.
        let request_id = RequestId::current();
        self.log(request_id.as_ref());
        HttpResponse::build(self.status_code())
            .insert_header((header::CONTENT_TYPE, "application/json"))
            .body(
                serde_json::to_string(&self.wire_body(request_id.as_ref()))
                    .expect("an error body always serialises"),
            )
    }
}
