//! Gemini's error envelope, `{"error":{"code":…,"message":…,"status":…,"details"?:[…]}}`, and
//! the errors the fake gives before a request reaches the script: a missing key (403
//! `PERMISSION_DENIED`), a wrong key (400 `INVALID_ARGUMENT` with `ErrorInfo` reason
//! `API_KEY_INVALID` and a `LocalizedMessage`), an unknown model (404 `NOT_FOUND`) and refused
//! bodies (400 `INVALID_ARGUMENT`, parse errors with a `BadRequest` field violation).
//!
//! A scripted [`ErrorReply`] keeps its HTTP status and message; its gRPC status is the
//! `error_type` when that is already a status name in capitals (`FAILED_PRECONDITION`), else the
//! HTTP status's canonical one. A 429 with `retry_after` also carries a `RetryInfo` detail.

use serde::Serialize;
use serde_json::{Value, json};

use super::validate::Invalid;
use crate::fake::openai::to_vec;
use crate::fake::script::ErrorReply;

/// A Gemini error response, before it is rendered.
#[derive(Clone, Debug)]
pub(crate) struct Failure {
    pub code: u16,
    pub status: String,
    pub message: String,
    pub details: Vec<Value>,
    /// Seconds, sent as `retry-after`.
    pub retry_after: Option<u64>,
}

impl Failure {
    pub(crate) fn new(code: u16, message: impl Into<String>) -> Self {
        Failure {
            code,
            status: status_name(code).to_owned(),
            message: message.into(),
            details: Vec::new(),
            retry_after: None,
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Failure::new(400, message)
    }

    /// No `x-goog-api-key` header and no `key` parameter.
    pub(crate) fn missing_key() -> Self {
        Failure::new(
            403,
            "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
        )
    }

    /// A key other than the expected one.
    pub(crate) fn wrong_key() -> Self {
        let message = "API key not valid. Please pass a valid API key.";
        let mut failure = Failure::invalid(message);
        failure.details = vec![
            json!({
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "API_KEY_INVALID",
                "domain": "googleapis.com",
                "metadata": {"service": "generativelanguage.googleapis.com"}
            }),
            json!({
                "@type": "type.googleapis.com/google.rpc.LocalizedMessage",
                "locale": "en-US",
                "message": message
            }),
        ];
        failure
    }

    /// `model` is not in the fake's list; `version` is `v1beta` or `v1`, `method` the RPC name.
    pub(crate) fn unknown_model(model: &str, version: &str, method: &str) -> Self {
        Failure::new(
            404,
            format!(
                "models/{model} is not found for API version {version}, or is not supported for {method}. Call ListModels to see the list of available models and their supported methods."
            ),
        )
    }

    /// A refused body of a `request_type` (`GenerateContentRequest`, `CountTokensRequest`).
    pub(crate) fn refused(invalid: Invalid, request_type: &str) -> Self {
        match invalid {
            Invalid::Payload { message, field } => {
                let mut violation = serde_json::Map::new();
                if let Some(field) = field {
                    violation.insert("field".to_owned(), Value::String(field));
                }
                violation.insert("description".to_owned(), Value::String(message.clone()));
                let mut failure = Failure::invalid(message);
                failure.details = vec![json!({
                    "@type": "type.googleapis.com/google.rpc.BadRequest",
                    "fieldViolations": [violation]
                })];
                failure
            }
            Invalid::Field { field, problem } => {
                Failure::invalid(format!("* {request_type}.{field}: {problem}\n"))
            }
            Invalid::Request { message } => Failure::invalid(message),
        }
    }

    /// A scripted error.
    pub(crate) fn scripted(error: &ErrorReply) -> Self {
        let mut failure = Failure::new(error.status, error.message.clone());
        let kind = error.error_type.as_str();
        if !kind.is_empty() && kind.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') {
            failure.status = kind.to_owned();
        }
        failure.retry_after = error.retry_after;
        if let (429, Some(seconds)) = (error.status, error.retry_after) {
            failure.details = vec![json!({
                "@type": "type.googleapis.com/google.rpc.RetryInfo",
                "retryDelay": format!("{seconds}s")
            })];
        }
        failure
    }

    pub(crate) fn body(&self) -> Vec<u8> {
        #[derive(Serialize)]
        struct Envelope<'a> {
            error: Inner<'a>,
        }
        #[derive(Serialize)]
        struct Inner<'a> {
            code: u16,
            message: &'a str,
            status: &'a str,
            #[serde(skip_serializing_if = "<[Value]>::is_empty")]
            details: &'a [Value],
        }
        to_vec(&Envelope {
            error: Inner {
                code: self.code,
                message: &self.message,
                status: &self.status,
                details: &self.details,
            },
        })
    }
}

/// The canonical gRPC status Google pairs with an HTTP status.
pub(crate) fn status_name(code: u16) -> &'static str {
    match code {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ABORTED",
        412 => "FAILED_PRECONDITION",
        416 => "OUT_OF_RANGE",
        429 => "RESOURCE_EXHAUSTED",
        499 => "CANCELLED",
        500 => "INTERNAL",
        501 => "NOT_IMPLEMENTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        _ => "UNKNOWN",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(failure: &Failure) -> Value {
        serde_json::from_slice(&failure.body()).unwrap()
    }

    #[test]
    fn envelopes() {
        assert_eq!(
            parsed(&Failure::new(503, "The model is overloaded.")),
            json!({"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}})
        );
        let wrong = parsed(&Failure::wrong_key());
        assert_eq!(wrong["error"]["status"], "INVALID_ARGUMENT");
        assert_eq!(wrong["error"]["details"][0]["reason"], "API_KEY_INVALID");
        let field = Failure::refused(
            Invalid::Field {
                field: "contents".into(),
                problem: "contents is not specified".into(),
            },
            "GenerateContentRequest",
        );
        assert_eq!(
            field.message,
            "* GenerateContentRequest.contents: contents is not specified\n"
        );
    }

    #[test]
    fn scripted_errors_keep_status_and_add_retry_info() {
        let limited = Failure::scripted(
            &ErrorReply::new(429, "rate_limit_error", "Resource has been exhausted.")
                .with_retry_after(7),
        );
        assert_eq!(limited.status, "RESOURCE_EXHAUSTED");
        assert_eq!(limited.details[0]["retryDelay"], "7s");
        let precondition = Failure::scripted(&ErrorReply::new(
            400,
            "FAILED_PRECONDITION",
            "No free tier.",
        ));
        assert_eq!(precondition.status, "FAILED_PRECONDITION");
    }
}
