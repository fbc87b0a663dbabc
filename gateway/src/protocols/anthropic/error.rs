//! Anthropic error objects: rendering ours (`{"type":"error","error":{type,message}}`) with a
//! status and type Anthropic documents, reading the upstream's.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use super::stream::sse_event;
use super::wire::{WireError, WireErrorBody};
use crate::error::{ErrorKind, GatewayError};
use crate::protocols::shared;

/// The (status, type) pairs Anthropic documents. `invalid_request_error` also stands for "other
/// 4xx status codes not listed", which is how the gateway's own 405, 408, 409, 422 and 431 go.
pub const DOCUMENTED: &[(u16, &str)] = &[
    (400, "invalid_request_error"),
    (401, "authentication_error"),
    (402, "billing_error"),
    (403, "permission_error"),
    (404, "not_found_error"),
    (413, "request_too_large"),
    (429, "rate_limit_error"),
    (500, "api_error"),
    (504, "timeout_error"),
    (529, "overloaded_error"),
];

/// The status and type an Anthropic client gets for an error: an upstream overloaded (or no
/// channel reachable) is 529 `overloaded_error`, which the SDKs retry as `OverloadedError`; an
/// unusable upstream answer is 500 `api_error`.
pub fn status_and_type(error: &GatewayError) -> (StatusCode, &'static str) {
    let status = |code: u16| StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST);
    match error.kind {
        ErrorKind::Authentication => (status(401), "authentication_error"),
        ErrorKind::PermissionDenied => (status(403), "permission_error"),
        ErrorKind::NotFound if error.status == StatusCode::NOT_FOUND => {
            (status(404), "not_found_error")
        }
        ErrorKind::PayloadTooLarge => (status(413), "request_too_large"),
        ErrorKind::RateLimited => (status(429), "rate_limit_error"),
        ErrorKind::BudgetExceeded => (status(402), "billing_error"),
        ErrorKind::GatewayTimeout => (status(504), "timeout_error"),
        ErrorKind::Unavailable | ErrorKind::Overloaded => (status(529), "overloaded_error"),
        ErrorKind::BadGateway | ErrorKind::Internal => (status(500), "api_error"),
        // Any other 4xx: documented ones keep their type, the rest are invalid requests.
        ErrorKind::InvalidRequest
        | ErrorKind::UpstreamRejected
        | ErrorKind::NotFound
        | ErrorKind::RequestTimeout
        | ErrorKind::HeadersTooLarge => {
            let code = error.status.as_u16();
            if !(400..500).contains(&code) {
                return (status(400), "invalid_request_error");
            }
            let documented = DOCUMENTED
                .iter()
                .find(|(documented, _)| *documented == code)
                .map_or("invalid_request_error", |(_, kind)| kind);
            (error.status, documented)
        }
    }
}

fn body(error: &GatewayError) -> WireErrorBody {
    WireErrorBody {
        kind: "error".to_owned(),
        error: WireError {
            kind: status_and_type(error).1.to_owned(),
            message: error.message.clone(),
        },
        request_id: None,
    }
}

pub fn error_response(error: &GatewayError) -> Response {
    let (status, _) = status_and_type(error);
    let mut response = (status, axum::Json(body(error))).into_response();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocols::shared::tests::every_error;

    #[test]
    fn every_error_gets_a_documented_status_and_type() {
        for error in every_error() {
            let (status, kind) = status_and_type(&error);
            let documented = DOCUMENTED.contains(&(status.as_u16(), kind))
                || (kind == "invalid_request_error" && status.is_client_error());
            assert!(documented, "{error} → ({status}, {kind})");
        }
    }

    #[test]
    fn an_overloaded_upstream_is_a_529_overloaded_error() {
        let error = GatewayError::new(ErrorKind::Overloaded, "overloaded");
        assert_eq!(
            status_and_type(&error),
            (StatusCode::from_u16(529).expect("529"), "overloaded_error")
        );
    }
}
