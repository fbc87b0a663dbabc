//! Gemini error objects (`{"error":{"code","message","status"}}`): rendering ours, reading the
//! upstream's.

use axum::response::{IntoResponse, Response};

use super::wire::{WireError, WireErrorBody};
use crate::error::{ErrorKind, GatewayError};
use crate::protocols::shared;

/// The google.rpc status name for an HTTP status.
fn status_name(error: &GatewayError) -> &'static str {
    match (error.kind, error.status.as_u16()) {
        (ErrorKind::Authentication, _) | (_, 401) => "UNAUTHENTICATED",
        (ErrorKind::PermissionDenied, _) | (_, 403) => "PERMISSION_DENIED",
        (ErrorKind::NotFound, _) | (_, 404) => "NOT_FOUND",
        (ErrorKind::RateLimited | ErrorKind::BudgetExceeded, _) | (_, 429) => "RESOURCE_EXHAUSTED",
        (ErrorKind::GatewayTimeout, _) | (_, 504) => "DEADLINE_EXCEEDED",
        (ErrorKind::Unavailable, _) | (_, 503) => "UNAVAILABLE",
        (ErrorKind::BadGateway | ErrorKind::Internal, _) => "INTERNAL",
        (_, 413) => "INVALID_ARGUMENT",
        (_, status) if status >= 500 => "INTERNAL",
        _ => "INVALID_ARGUMENT",
    }
}

pub fn body(error: &GatewayError) -> WireErrorBody {
    WireErrorBody {
        error: WireError {
            code: error.status.as_u16(),
            message: error.message.clone(),
            status: status_name(error).to_owned(),
        },
    }
}

pub fn error_response(error: &GatewayError) -> Response {
    let mut response = (error.status, axum::Json(body(error))).into_response();
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
