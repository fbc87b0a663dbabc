//! OpenAI error objects: rendering ours, reading the upstream's.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::Value;

use super::stream::sse_data;
use super::wire::{WireError, WireErrorBody};
use crate::error::{ErrorKind, GatewayError};

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
    let headers = response.headers_mut();
    if let Some(retry_after) = error.retry_after {
        let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
        headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
    }
    let should_retry = matches!(
        error.status,
        StatusCode::TOO_MANY_REQUESTS | StatusCode::REQUEST_TIMEOUT
    ) || error.status.is_server_error() && error.kind != ErrorKind::BadGateway;
    if !should_retry {
        headers.insert("x-should-retry", HeaderValue::from_static("false"));
    }
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
        Err(_) => {
            let text = String::from_utf8_lossy(&body[..body.len().min(512)])
                .trim()
                .to_owned();
            (
                if text.is_empty() {
                    "no error message".to_owned()
                } else {
                    text
                },
                None,
                None,
            )
        }
    }
}
