//! Gemini error objects (`{"error":{"code","message","status"}}`): rendering ours with a status
//! pair the Gemini API documents, reading the upstream's.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::wire::{WireError, WireErrorBody};
use crate::error::{ErrorKind, GatewayError};
use crate::protocols::shared;

/// The (HTTP status, `google.rpc` status) pairs the Gemini API documents, plus 431 for a header
/// block that is too large (refused before any Gemini semantics apply).
pub const DOCUMENTED: &[(u16, &str)] = &[
    (400, "INVALID_ARGUMENT"),
    (400, "FAILED_PRECONDITION"),
    (401, "UNAUTHENTICATED"),
    (403, "PERMISSION_DENIED"),
    (404, "NOT_FOUND"),
    (409, "ABORTED"),
    (429, "RESOURCE_EXHAUSTED"),
    (431, "INVALID_ARGUMENT"),
    (500, "INTERNAL"),
    (503, "UNAVAILABLE"),
    (504, "DEADLINE_EXCEEDED"),
];

/// The status and `google.rpc` status a Gemini client gets: limits and spent budgets are 429
/// `RESOURCE_EXHAUSTED`, a body too large (or too slow) is 400 `INVALID_ARGUMENT` as Google
/// answers it, an overloaded or unreachable upstream is 503 `UNAVAILABLE`.
pub fn status_and_name(error: &GatewayError) -> (StatusCode, &'static str) {
    let status = |code: u16| StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST);
    match error.kind {
        ErrorKind::Authentication => (status(401), "UNAUTHENTICATED"),
        ErrorKind::PermissionDenied => (status(403), "PERMISSION_DENIED"),
        ErrorKind::NotFound if error.status == StatusCode::NOT_FOUND => (status(404), "NOT_FOUND"),
        ErrorKind::RateLimited | ErrorKind::BudgetExceeded => (status(429), "RESOURCE_EXHAUSTED"),
        ErrorKind::GatewayTimeout => (status(504), "DEADLINE_EXCEEDED"),
        ErrorKind::Unavailable | ErrorKind::Overloaded => (status(503), "UNAVAILABLE"),
        ErrorKind::BadGateway | ErrorKind::Internal => (status(500), "INTERNAL"),
        ErrorKind::HeadersTooLarge => (status(431), "INVALID_ARGUMENT"),
        ErrorKind::UpstreamRejected => match error.status.as_u16() {
            401 => (status(401), "UNAUTHENTICATED"),
            403 => (status(403), "PERMISSION_DENIED"),
            404 => (status(404), "NOT_FOUND"),
            409 => (status(409), "ABORTED"),
            429 => (status(429), "RESOURCE_EXHAUSTED"),
            _ if error.upstream_type.as_deref() == Some("FAILED_PRECONDITION") => {
                (status(400), "FAILED_PRECONDITION")
            }
            _ => (status(400), "INVALID_ARGUMENT"),
        },
        ErrorKind::InvalidRequest
        | ErrorKind::NotFound
        | ErrorKind::PayloadTooLarge
        | ErrorKind::RequestTimeout => (status(400), "INVALID_ARGUMENT"),
    }
}

pub fn body(error: &GatewayError) -> WireErrorBody {
    WireErrorBody {
        error: WireError {
            code: status_and_name(error).0.as_u16(),
            message: error.message.clone(),
            status: status_and_name(error).1.to_owned(),
        },
    }
}

pub fn error_response(error: &GatewayError) -> Response {
    let (status, _) = status_and_name(error);
    let mut response = (status, axum::Json(body(error))).into_response();
    shared::add_retry_headers(&mut response, error);
    response
}

/// `(message, status)` of an upstream Gemini error body, or the raw text.
pub fn parse_upstream_error(body: &[u8]) -> (String, Option<String>) {
    match serde_json::from_slice::<WireErrorBody>(body) {
        Ok(parsed) => (
            parsed.error.message,
            Some(parsed.error.status).filter(|status| !status.is_empty()),
        ),
        Err(_) => (shared::raw_error_text(body), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocols::shared::tests::every_error;

    #[test]
    fn every_error_gets_a_documented_status_pair() {
        for error in every_error() {
            let (status, name) = status_and_name(&error);
            assert!(
                DOCUMENTED.contains(&(status.as_u16(), name)),
                "{error} → ({status}, {name})"
            );
            assert_eq!(body(&error).error.code, status.as_u16());
        }
    }
}
