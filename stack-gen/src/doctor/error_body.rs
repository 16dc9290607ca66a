//! The error body: when the doctor's request is answered with an error (point the doctor's URL
//! at a failing route, e.g. the demo's `/fail`), the body must be the SDK's
//! `{"error":{"code","message","request_id"}}`, read into `obs_catalogue::wire::ErrorBody`,
//! carrying the request ID the doctor sent.

use obs_catalogue::wire;

use super::health::parse;
use super::http::Response;
use super::report::Checks;

/// Checks `resp`, the answer to the doctor's request `request_id`, when it is an error.
pub(super) fn check_error_body(c: &mut Checks, resp: &Response, request_id: &str) {
    if resp.status < 400 {
        return;
    }
    let fix = "answer errors through obs_service::ApiError (a handler returning Result<_, ApiError>), which writes the error body with the request_id";
    match parse::<wire::ErrorBody>(&resp.text(), "error body") {
        Err(e) => c.fail("error body", format!("{}: {e}", resp.status), fix),
        Ok(body) if body.error.request_id.as_deref() != Some(request_id) => c.fail(
            "error body",
            format!(
                "{} {}: request_id {:?}, expected {request_id:?}",
                resp.status, body.error.code, body.error.request_id
            ),
            "put obs.layer() (obs_service::HttpLayer) outside the handler so the error body carries the request's ID",
        ),
        Ok(body) => c.pass(
            "error body",
            format!(
                "{} {}: code, message and the request_id sent",
                resp.status, body.error.code
            ),
        ),
    }
}
