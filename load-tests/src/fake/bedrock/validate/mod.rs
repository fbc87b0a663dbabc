//! Strict validation of a Converse / ConverseStream request body (both take the same body), the
//! way Bedrock refuses bad ones with a 400 `ValidationException`: unknown fields anywhere, wrong
//! types, out-of-range numbers, malformed unions, messages that do not alternate, tool calls
//! without results and results without calls, and reasoning that was not carried back as the
//! fake sent it. A body that is not a JSON object is a `SerializationException`.
//!
//! Top-level fields are dispatched here; `blocks.rs` checks messages and system, `params.rs` the
//! other parameters, `conversation.rs` the rules that span messages, `checks.rs` holds the
//! single checks and their wording. Signature and model checks are the caller's.

mod blocks;
mod checks;
mod conversation;
pub(crate) mod embed;
mod params;

use serde_json::Value;

use super::error::Failure;
use checks::optional;

use crate::fake::validate::Path;

const FIELDS: &[&str] = &[
    "messages",
    "system",
    "inferenceConfig",
    "toolConfig",
    "guardrailConfig",
    "additionalModelRequestFields",
    "promptVariables",
    "additionalModelResponseFieldPaths",
    "requestMetadata",
    "performanceConfig",
    "serviceTier",
    "outputConfig",
];

/// The parts of a valid request the answer depends on.
#[derive(Debug)]
pub(crate) struct ConverseRequest<'a> {
    pub messages: &'a [Value],
    pub system: &'a [Value],
    pub max_tokens: Option<u64>,
    /// `inferenceConfig.stopSequences`.
    pub stop_sequences: Vec<&'a str>,
    /// `additionalModelResponseFieldPaths` asks for `/stop_sequence`.
    pub wants_stop_sequence: bool,
}

/// Validates a parsed body. `minted` returns the reasoning signature the fake sent with the tool
/// call whose id is given, if any (see `conversation.rs`).
pub(crate) fn request<'a>(
    body: &'a Value,
    minted: &dyn Fn(&str) -> Option<String>,
) -> Result<ConverseRequest<'a>, Failure> {
    let Some(fields) = body.as_object() else {
        return Err(Failure::serialization(
            "Start of structure or map found where not expected.",
        ));
    };
    // `#` is how Bedrock's schema errors name the root of the body.
    checks::only(Path::Root("#"), fields, FIELDS)?;
    let messages = blocks::messages(fields.get("messages"))?;
    let system = match optional(fields, "system") {
        Some(system) => blocks::system(system)?,
        None => &[],
    };
    let inference = match optional(fields, "inferenceConfig") {
        Some(config) => params::inference_config(config)?,
        None => params::Inference::default(),
    };
    let tool_config = match optional(fields, "toolConfig") {
        Some(config) => Some(params::tool_config(config)?),
        None => None,
    };
    let reasoning = match optional(fields, "additionalModelRequestFields") {
        Some(additional) => params::additional_fields(additional)?,
        None => false,
    };
    params::settings(fields)?;
    conversation::check(messages, tool_config.is_some(), reasoning, minted)?;
    let wants_stop_sequence = optional(fields, "additionalModelResponseFieldPaths")
        .and_then(Value::as_array)
        .is_some_and(|paths| paths.iter().any(|path| path == "/stop_sequence"));
    Ok(ConverseRequest {
        messages,
        system,
        max_tokens: inference.max_tokens,
        stop_sequences: inference.stop_sequences,
        wants_stop_sequence,
    })
}

#[cfg(test)]
mod tests;
