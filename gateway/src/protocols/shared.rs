//! Small pieces every protocol module needs in the same form: parsing a JSON body with the field
//! at fault named, and the parts of error rendering that do not depend on the shape. (What a
//! target cannot take is `fit`'s.)

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::de::DeserializeOwned;

use crate::error::{ErrorKind, GatewayError};

/// Parses `body` as `T`. Invalid JSON gets `syntax` plus the parser's message; a value that does
/// not fit the schema is parsed again with path tracking (free on the success path) and named by
/// `field(path, problem)`.
pub fn parse_json<T: DeserializeOwned>(
    body: &[u8],
    syntax: &str,
    field: fn(&str, &str) -> String,
) -> Result<T, GatewayError> {
    serde_json::from_slice(body).map_err(|error| {
        if error.is_syntax() || error.is_eof() {
            return GatewayError::invalid(format!("{syntax}: {error}"));
        }
        let deserializer = &mut serde_json::Deserializer::from_slice(body);
        match serde_path_to_error::deserialize::<_, T>(deserializer) {
            Ok(_) => GatewayError::invalid(format!("Invalid request body: {error}")),
            Err(error) => {
                let path = error.path().to_string();
                let problem = error.into_inner().to_string();
                GatewayError::invalid_param(path.clone(), field(&path, &problem))
            }
        }
    })
}

/// `retry-after` when the error knows one, and `x-should-retry: false` when retrying cannot help
/// (the gateway has already failed over, or the caller must change something).
pub fn add_retry_headers(response: &mut Response, error: &GatewayError) {
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
}

/// An upstream error body that is not in the expected shape, as readable text.
pub fn raw_error_text(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(512)])
        .trim()
        .to_owned();
    if text.is_empty() {
        "no error message".to_owned()
    } else {
        text
    }
}

#[cfg(test)]
pub mod tests {
    use axum::http::StatusCode;

    use crate::error::{ErrorKind, GatewayError};

    /// Every error the gateway makes: each kind at its own status, and every upstream 4xx an
    /// upstream may pass through.
    pub fn every_error() -> Vec<GatewayError> {
        let kinds = [
            ErrorKind::InvalidRequest,
            ErrorKind::Authentication,
            ErrorKind::PermissionDenied,
            ErrorKind::NotFound,
            ErrorKind::PayloadTooLarge,
            ErrorKind::RequestTimeout,
            ErrorKind::RateLimited,
            ErrorKind::BudgetExceeded,
            ErrorKind::UpstreamRejected,
            ErrorKind::BadGateway,
            ErrorKind::Unavailable,
            ErrorKind::Overloaded,
            ErrorKind::HeadersTooLarge,
            ErrorKind::GatewayTimeout,
            ErrorKind::Internal,
        ];
        let mut errors: Vec<GatewayError> = kinds
            .into_iter()
            .map(|kind| GatewayError::new(kind, "message"))
            .collect();
        errors.push(
            GatewayError::new(ErrorKind::NotFound, "method")
                .with_status(StatusCode::METHOD_NOT_ALLOWED),
        );
        for status in 400..500u16 {
            if let Ok(status) = StatusCode::from_u16(status) {
                errors.push(
                    GatewayError::new(ErrorKind::UpstreamRejected, "upstream").with_status(status),
                );
            }
        }
        errors
    }
}
