//! OpenAI error objects: rendering ours, reading the upstream's.

use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::Value;

use super::stream::sse_data;
use super::wire::{WireError, WireErrorBody};
use crate::error::{ErrorKind, GatewayError};
use crate::protocols::shared;

fn openai_type(error: &GatewayError) -> String {
    if let Some(upstream) = &error.upstream_type {
        return upstream.clone();
    }
    match error.kind {
        ErrorKind::InvalidRequest
        | ErrorKind::Authentication
        | ErrorKind::PermissionDenied
        | ErrorKind::NotFound
        | ErrorKind::PayloadTooLarge
        | ErrorKind::RequestTimeout
        | ErrorKind::UpstreamRejected => "invalid_request_error",
        ErrorKind::RateLimited => "rate_limit_error",
        ErrorKind::BudgetExceeded => "insufficient_quota",
        ErrorKind::BadGateway | ErrorKind::Unavailable | ErrorKind::GatewayTimeout => {
            "upstream_error"
        }
        ErrorKind::Internal => "server_error",
    }
    .to_owned()
}

fn body(error: &GatewayError) -> WireErrorBody {
    WireErrorBody {
        error: WireError {
            message: error.message.clone(),
            kind: Some(openai_type(error)),
            param: error.param.clone(),
            code: error.code.clone().map(Value::String),
        },
    }
}

/// The HTTP response for an error, with `retry-after` when known and `x-should-retry: false`
/// when retrying cannot help (the gateway has already failed over, or the caller must change
/// something).
pub fn error_response(error: &GatewayError) -> Response {
    let mut response = (error.status, axum::Json(body(error))).into_response();
    shared::add_retry_headers(&mut response, error);
    response
}

/// The in-band error event for a stream that broke after it started.
pub fn stream_error(error: &GatewayError) -> Bytes {
    sse_data(&body(error))
}

/// Reads an upstream error body: `(message, type, code)`, falling back to the raw text.
pub fn parse_upstream_error(body: &[u8]) -> (String, Option<String>, Option<String>) {
    match serde_json::from_slice::<WireErrorBody>(body) {
        Ok(parsed) => {
            let code = match parsed.error.code {
                Some(Value::String(code)) => Some(code),
                Some(Value::Number(number)) => Some(number.to_string()),
                _ => None,
            };
            (parsed.error.message, parsed.error.kind, code)
        }
        Err(_) => (shared::raw_error_text(body), None, None),
    }
}
