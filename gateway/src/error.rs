//! The one error type the request path returns, and what HTTP status each kind means.
//!
//! Errors are protocol-neutral here; the client protocol renders them in the caller's own shape
//! and with a (status, type) pair that protocol documents (see each protocol's `error` module):
//! an upstream that is overloaded reaches an Anthropic client as 529 `overloaded_error`, an
//! OpenAI client as 503 and a Gemini client as 503 `UNAVAILABLE`. `status` is the gateway's own
//! HTTP reading of the error, which a protocol may express differently. Messages are written for
//! the person reading the client's logs: they say what was wrong and, where it helps, what to do.

use std::time::Duration;

use axum::http::StatusCode;

/// What went wrong, independent of any protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Malformed JSON, a missing or mistyped field, a value out of range.
    InvalidRequest,
    /// No API key, or one we do not know.
    Authentication,
    /// The key is valid but its role does not allow this.
    PermissionDenied,
    /// The model or route does not exist.
    NotFound,
    PayloadTooLarge,
    /// The client did not send its request in time.
    RequestTimeout,
    RateLimited,
    /// A budget of the key or its tenant cannot pay for the request.
    BudgetExceeded,
    /// The upstream refused the request with a 4xx that is the caller's to fix; passed through.
    UpstreamRejected,
    /// The upstream answered with a 5xx or something unparseable.
    BadGateway,
    /// No channel could be reached.
    Unavailable,
    /// Every channel that could serve answered that it is overloaded (Anthropic's 529, a 503).
    Overloaded,
    /// The request's header block is larger than `server.max_header_bytes`.
    HeadersTooLarge,
    /// The upstream did not answer in time.
    GatewayTimeout,
    Internal,
}

#[derive(Debug, Clone)]
pub struct GatewayError {
    pub kind: ErrorKind,
    pub status: StatusCode,
    pub message: String,
    /// The request field at fault, when there is one.
    pub param: Option<String>,
    /// A machine-readable code (`model_not_found`, `invalid_api_key`, or the upstream's own).
    pub code: Option<String>,
    /// The error type in some protocol's own words (an upstream's, or `tokens`/`requests` for
    /// a rate limit); a client protocol uses it when it is one of its own.
    pub upstream_type: Option<String>,
    pub retry_after: Option<Duration>,
}

impl GatewayError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        GatewayError {
            kind,
            status: default_status(kind),
            message: message.into(),
            param: None,
            code: None,
            upstream_type: None,
            retry_after: None,
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidRequest, message)
    }

    pub fn invalid_param(param: impl Into<String>, message: impl Into<String>) -> Self {
        Self::invalid(message).with_param(param)
    }

    pub fn with_param(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into());
        self
    }

    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    pub fn with_retry_after(mut self, retry_after: Option<Duration>) -> Self {
        self.retry_after = retry_after;
        self
    }

    pub fn model_not_found(model: &str) -> Self {
        Self::new(
            ErrorKind::NotFound,
            format!("The model `{model}` does not exist or is not served by this gateway."),
        )
        .with_param("model")
        .with_code("model_not_found")
    }
}

impl std::fmt::Display for GatewayError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}): {}",
            self.status.as_u16(),
            kind_name(self.kind),
            self.message
        )
    }
}

impl std::error::Error for GatewayError {}

fn default_status(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::InvalidRequest => StatusCode::BAD_REQUEST,
        ErrorKind::Authentication => StatusCode::UNAUTHORIZED,
        ErrorKind::PermissionDenied => StatusCode::FORBIDDEN,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorKind::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
        ErrorKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::BudgetExceeded => StatusCode::PAYMENT_REQUIRED,
        ErrorKind::UpstreamRejected => StatusCode::BAD_REQUEST,
        ErrorKind::BadGateway => StatusCode::BAD_GATEWAY,
        ErrorKind::Unavailable | ErrorKind::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        ErrorKind::GatewayTimeout => StatusCode::GATEWAY_TIMEOUT,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// A short stable name, used in logs and metric labels.
pub fn kind_name(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::InvalidRequest => "invalid_request",
        ErrorKind::Authentication => "authentication",
        ErrorKind::PermissionDenied => "permission_denied",
        ErrorKind::NotFound => "not_found",
        ErrorKind::PayloadTooLarge => "payload_too_large",
        ErrorKind::RequestTimeout => "request_timeout",
        ErrorKind::RateLimited => "rate_limited",
        ErrorKind::BudgetExceeded => "budget_exceeded",
        ErrorKind::UpstreamRejected => "upstream_rejected",
        ErrorKind::BadGateway => "bad_gateway",
        ErrorKind::Unavailable => "unavailable",
        ErrorKind::Overloaded => "overloaded",
        ErrorKind::HeadersTooLarge => "headers_too_large",
        ErrorKind::GatewayTimeout => "gateway_timeout",
        ErrorKind::Internal => "internal",
    }
}
