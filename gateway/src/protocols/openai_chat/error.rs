//! OpenAI error objects: rendering ours with a status and type OpenAI documents, reading the
//! upstream's.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::Value;

use super::stream::sse_data;
use super::wire::{WireError, WireErrorBody};
use crate::error::{ErrorKind, GatewayError};
use crate::protocols::shared;

/// The statuses OpenAI's API documents (its error-code guide and the statuses its SDKs name),
/// with the error types OpenAI uses at each: `invalid_request_error` for client errors,
/// `requests`, `tokens` or `insufficient_quota` for 429, `server_error` for 500 and 503.
pub const DOCUMENTED: &[(u16, &str)] = &[
    (400, "invalid_request_error"),
    (401, "invalid_request_error"),
    (403, "invalid_request_error"),
    (404, "invalid_request_error"),
    (405, "invalid_request_error"),
    (408, "invalid_request_error"),
    (409, "invalid_request_error"),
    (413, "invalid_request_error"),
    (422, "invalid_request_error"),
    (429, "requests"),
    (429, "tokens"),
    (429, "insufficient_quota"),
    (431, "invalid_request_error"),
    (500, "server_error"),
    (503, "server_error"),
];

/// The status and type an OpenAI client gets: a spent budget is OpenAI's 429
/// `insufficient_quota` (sent with `x-should-retry: false`), what went wrong upstream is 500
/// `server_error`, and an overloaded or unreachable upstream is 503 `server_error`.
pub fn status_and_type(error: &GatewayError) -> (StatusCode, &'static str) {
    let status = |code: u16| StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST);
    let documented = |code: u16, kind: &str| DOCUMENTED.contains(&(code, kind));
    match error.kind {
        ErrorKind::RateLimited => {
            let kind = match error.upstream_type.as_deref() {
                Some("tokens") => "tokens",
                Some("insufficient_quota") => "insufficient_quota",
                _ => "requests",
            };
            (status(429), kind)
        }
        ErrorKind::BudgetExceeded => (status(429), "insufficient_quota"),
        ErrorKind::Unavailable | ErrorKind::Overloaded => (status(503), "server_error"),
        ErrorKind::BadGateway | ErrorKind::GatewayTimeout | ErrorKind::Internal => {
            (status(500), "server_error")
        }
        ErrorKind::InvalidRequest
        | ErrorKind::Authentication
        | ErrorKind::PermissionDenied
        | ErrorKind::NotFound
        | ErrorKind::PayloadTooLarge
        | ErrorKind::RequestTimeout
        | ErrorKind::HeadersTooLarge
        | ErrorKind::UpstreamRejected => {
            let code = error.status.as_u16();
            if documented(code, "invalid_request_error") {
                (error.status, "invalid_request_error")
            } else {
                (status(400), "invalid_request_error")
            }
        }
    }
}

fn body(error: &GatewayError) -> WireErrorBody {
    WireErrorBody {
        error: WireError {
            message: error.message.clone(),
            kind: Some(status_and_type(error).1.to_owned()),
            param: error.param.clone(),
            code: error.code.clone().map(Value::String),
        },
    }
}

/// The HTTP response for an error, with `retry-after` when known and `x-should-retry: false`
/// when retrying cannot help (the gateway has already failed over, or the caller must change
/// something).
pub fn error_response(error: &GatewayError) -> Response {
    let (status, _) = status_and_type(error);
    let mut response = (status, axum::Json(body(error))).into_response();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocols::shared::tests::every_error;

    #[test]
    fn every_error_gets_a_documented_status_and_type() {
        for error in every_error() {
            let (status, kind) = status_and_type(&error);
            assert!(
                DOCUMENTED.contains(&(status.as_u16(), kind)),
                "{error} → ({status}, {kind})"
            );
        }
    }

    #[test]
    fn a_spent_budget_is_insufficient_quota() {
        let error = GatewayError::new(ErrorKind::BudgetExceeded, "spent");
        assert_eq!(
            status_and_type(&error),
            (StatusCode::TOO_MANY_REQUESTS, "insufficient_quota")
        );
    }
}
