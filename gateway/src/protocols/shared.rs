//! Small pieces every protocol module needs in the same form: parsing a JSON body with the field
//! at fault named, the rule for extension fields of another family, the sampling parameters only
//! OpenAI and Gemini have, and the parts of error rendering that do not depend on the shape.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::de::DeserializeOwned;

use crate::canonical::ChatRequest;
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

/// Extension fields that a target of another family may ignore: advisory (storage, service
/// tiers, cache keys, safety identifiers, metadata) or already mapped into canonical fields
/// (Anthropic `thinking`/`output_config`, Gemini `thinkingConfig`/`safetySettings`).
const IGNORABLE_FOREIGN_FIELDS: &[&str] = &[
    "store",
    "service_tier",
    "prompt_cache_key",
    "safety_identifier",
    "metadata",
    "stream_options.include_obfuscation",
    "modalities",
    "thinking",
    "output_config",
    "generationConfig.thinkingConfig",
    "safetySettings",
];

/// Refuses a request whose extension fields (from another family than the target's) the target
/// cannot honour, naming the first such field.
pub fn refuse_foreign_extensions(request: &ChatRequest, target: &str) -> Result<(), GatewayError> {
    match request
        .extensions
        .keys()
        .find(|key| !IGNORABLE_FOREIGN_FIELDS.contains(&key.as_str()))
    {
        Some(field) => Err(GatewayError::invalid_param(
            field.as_str(),
            format!(
                "`{field}` is a {}-only parameter and cannot be sent to {target}.",
                request.extension_family.name()
            ),
        )),
        None => Ok(()),
    }
}

/// Refuses what only OpenAI and Gemini express: several answers, penalties, a seed.
pub fn refuse_openai_only_sampling(
    request: &ChatRequest,
    target: &str,
) -> Result<(), GatewayError> {
    if request.sampling.n.is_some_and(|n| n > 1) {
        return Err(GatewayError::invalid_param(
            "n",
            format!(
                "`n` cannot be sent to {target}: it returns one answer per request; set n to 1."
            ),
        ));
    }
    for (field, set) in [
        (
            "presence_penalty",
            request.sampling.presence_penalty.is_some(),
        ),
        (
            "frequency_penalty",
            request.sampling.frequency_penalty.is_some(),
        ),
        ("seed", request.sampling.seed.is_some()),
    ] {
        if set {
            return Err(GatewayError::invalid_param(
                field,
                format!("`{field}` cannot be sent to {target}: it has no equivalent parameter."),
            ));
        }
    }
    Ok(())
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
