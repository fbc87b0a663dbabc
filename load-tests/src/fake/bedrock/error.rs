//! Bedrock's error responses: a status, `{"message": …}` and the exception's name in
//! `x-amzn-errortype`, which Bedrock sends as `<Name>:http://internal.amazon.com/coral/<namespace>/`
//! (clients keep what is before the `:`). Bedrock's own exceptions (validation, throttling, …)
//! carry the `com.amazon.bedrock` namespace; the ones raised by the AWS front end before Bedrock
//! sees the request (signature, unknown key, missing `Authorization`) carry
//! `com.amazon.coral.service`.
//!
//! A scripted [`ErrorReply`] keeps its status and message; its name is its `error_type` when that
//! already ends in `Exception`, else the one Bedrock pairs with the status (400
//! `ValidationException`, 403 `AccessDeniedException`, 404 `ResourceNotFoundException`, 408
//! `ModelTimeoutException`, 424 `ModelErrorException`, 429 `ThrottlingException`, 500
//! `InternalServerException`, 503 `ServiceUnavailableException`).

use serde::Serialize;

use crate::fake::openai::to_vec;
use crate::fake::script::ErrorReply;

const BEDROCK: &str = "com.amazon.bedrock";
const CORAL_SERVICE: &str = "com.amazon.coral.service";

/// A Bedrock error response, before it is rendered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Failure {
    pub status: u16,
    /// e.g. `ValidationException`.
    pub name: String,
    namespace: &'static str,
    pub message: String,
    /// The front end's "Authorization header is missing" says `{"Message": …}`, capitalised.
    capitalised: bool,
    /// Seconds, sent as `retry-after` (only when a script asks for it).
    pub retry_after: Option<u64>,
}

impl Failure {
    fn new(status: u16, name: &str, namespace: &'static str, message: String) -> Self {
        Failure {
            status,
            name: name.to_owned(),
            namespace,
            message,
            capitalised: false,
            retry_after: None,
        }
    }

    /// 400 `ValidationException`.
    pub(crate) fn validation(message: impl Into<String>) -> Self {
        Failure::new(400, "ValidationException", BEDROCK, message.into())
    }

    /// 400 `SerializationException`: the body is not a JSON object.
    pub(crate) fn serialization(message: impl Into<String>) -> Self {
        Failure::new(400, "SerializationException", CORAL_SERVICE, message.into())
    }

    /// 404 for a path under `/model/` that is no operation.
    pub(crate) fn unknown_operation() -> Self {
        Failure::new(
            404,
            "UnknownOperationException",
            CORAL_SERVICE,
            "The requested operation is not recognized by the service.".to_owned(),
        )
    }

    /// 500 `InternalServerException`: the script itself is broken.
    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Failure::new(500, "InternalServerException", BEDROCK, message.into())
    }

    /// 403 from the front end: the signature does not verify, or its scope or date is wrong.
    pub(crate) fn invalid_signature(message: impl Into<String>) -> Self {
        Failure::new(
            403,
            "InvalidSignatureException",
            CORAL_SERVICE,
            message.into(),
        )
    }

    /// 403 from the front end: the `Authorization` header is not a complete SigV4 header.
    pub(crate) fn incomplete_signature(message: impl Into<String>) -> Self {
        Failure::new(
            403,
            "IncompleteSignatureException",
            CORAL_SERVICE,
            message.into(),
        )
    }

    /// 403 from the front end: the access key (or session token) is not known.
    pub(crate) fn unrecognized_client() -> Self {
        Failure::new(
            403,
            "UnrecognizedClientException",
            CORAL_SERVICE,
            "The security token included in the request is invalid.".to_owned(),
        )
    }

    /// 403 from the front end when there is no `Authorization` header at all.
    pub(crate) fn missing_authorization() -> Self {
        Failure {
            capitalised: true,
            ..Failure::new(
                403,
                "AccessDeniedException",
                CORAL_SERVICE,
                "Authorization header is missing".to_owned(),
            )
        }
    }

    /// 403 `AccessDeniedException` with a message of the fake's own.
    pub(crate) fn access_denied(message: impl Into<String>) -> Self {
        Failure::new(403, "AccessDeniedException", CORAL_SERVICE, message.into())
    }

    /// A scripted error, named as the module doc says.
    pub(crate) fn scripted(error: &ErrorReply) -> Self {
        let name = if error.error_type.ends_with("Exception") {
            error.error_type.as_str()
        } else {
            name_for(error.status)
        };
        Failure {
            retry_after: error.retry_after,
            ..Failure::new(error.status, name, BEDROCK, error.message.clone())
        }
    }

    /// The `x-amzn-errortype` header value.
    pub(crate) fn error_type(&self) -> String {
        format!(
            "{}:http://internal.amazon.com/coral/{}/",
            self.name, self.namespace
        )
    }

    /// `{"message": …}` (or `{"Message": …}`).
    pub(crate) fn body(&self) -> Vec<u8> {
        #[derive(Serialize)]
        struct Lower<'a> {
            message: &'a str,
        }
        #[derive(Serialize)]
        struct Upper<'a> {
            #[serde(rename = "Message")]
            message: &'a str,
        }
        if self.capitalised {
            to_vec(&Upper {
                message: &self.message,
            })
        } else {
            to_vec(&Lower {
                message: &self.message,
            })
        }
    }
}

/// The exception Bedrock's service model pairs with an HTTP status.
fn name_for(status: u16) -> &'static str {
    match status {
        400 => "ValidationException",
        403 => "AccessDeniedException",
        404 => "ResourceNotFoundException",
        408 => "ModelTimeoutException",
        424 => "ModelErrorException",
        429 => "ThrottlingException",
        503 => "ServiceUnavailableException",
        _ => "InternalServerException",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn scripted_errors_are_named_by_status_unless_already_named() {
        let throttled = Failure::scripted(&ErrorReply::new(429, "rate_limit_error", "Slow down"));
        assert_eq!(throttled.name, "ThrottlingException");
        assert_eq!(
            throttled.error_type(),
            "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/"
        );
        let named = Failure::scripted(&ErrorReply::new(429, "ModelNotReadyException", "Wait"));
        assert_eq!(named.name, "ModelNotReadyException");
        for (status, name) in [
            (400, "ValidationException"),
            (403, "AccessDeniedException"),
            (404, "ResourceNotFoundException"),
            (408, "ModelTimeoutException"),
            (500, "InternalServerException"),
            (503, "ServiceUnavailableException"),
        ] {
            assert_eq!(
                Failure::scripted(&ErrorReply::new(status, "x", "m")).name,
                name
            );
        }
    }

    #[test]
    fn bodies() {
        let body: Value = serde_json::from_slice(&Failure::validation("bad").body()).unwrap();
        assert_eq!(body, json!({"message": "bad"}));
        let missing: Value =
            serde_json::from_slice(&Failure::missing_authorization().body()).unwrap();
        assert_eq!(
            missing,
            json!({"Message": "Authorization header is missing"})
        );
        assert!(
            Failure::unrecognized_client()
                .error_type()
                .ends_with("/coral/com.amazon.coral.service/")
        );
    }
}
