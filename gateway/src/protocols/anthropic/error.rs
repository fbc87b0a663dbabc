//! Anthropic error objects: rendering ours (`{"type":"error","error":{type,message}}`), reading
//! the upstream's.

use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use super::stream::sse_event;
use super::wire::{WireError, WireErrorBody};
use crate::error::{ErrorKind, GatewayError};
use crate::protocols::shared;

const ANTHROPIC_TYPES: &[&str] = &[
    "invalid_request_error",
    "authentication_error",
    "billing_error",
    "permission_error",
    "not_found_error",
    "request_too_large",
    "rate_limit_error",
    "api_error",
    "timeout_error",
    "overloaded_error",
];

fn anthropic_type(error: &GatewayError) -> &str {
    if let Some(upstream) = error.upstream_type.as_deref()
        && ANTHROPIC_TYPES.contains(&upstream)
    {
        return upstream;
    }
    match (error.kind, error.status.as_u16()) {
        (ErrorKind::Authentication, _) => "authentication_error",
        (ErrorKind::PermissionDenied, _) => "permission_error",
        (ErrorKind::NotFound, _) => "not_found_error",
        (ErrorKind::PayloadTooLarge, _) => "request_too_large",
        (ErrorKind::RateLimited, _) => "rate_limit_error",
        (ErrorKind::BudgetExceeded, _) | (_, 402) => "billing_error",
        (ErrorKind::GatewayTimeout, _) => "timeout_error",
        (ErrorKind::Unavailable, _) | (_, 529) => "overloaded_error",
        (ErrorKind::BadGateway | ErrorKind::Internal, _) => "api_error",
        (_, 401) => "authentication_error",
        (_, 403) => "permission_error",
        (_, 404) => "not_found_error",
        _ => "invalid_request_error",
    }
}

fn body(error: &GatewayError) -> WireErrorBody {
    WireErrorBody {
        kind: "error".to_owned(),
        error: WireError {
            kind: anthropic_type(error).to_owned(),
            message: error.message.clone(),
        },
        request_id: None,
    }
}

pub fn error_response(error: &GatewayError) -> Response {
    let mut response = (error.status, axum::Json(body(error))).into_response();
    shared::add_retry_headers(&mut response, error);
    response
}

/// The in-band `error` event for a stream that broke after it started.
pub fn stream_error(error: &GatewayError) -> Bytes {
    sse_event("error", &body(error))
}

/// `(message, type)` of an upstream Anthropic error body, or the raw text.
pub fn parse_upstream_error(body: &[u8]) -> (String, Option<String>) {
    match serde_json::from_slice::<WireErrorBody>(body) {
        Ok(parsed) => (parsed.error.message, Some(parsed.error.kind)),
        Err(_) => (shared::raw_error_text(body), None),
    }
}
