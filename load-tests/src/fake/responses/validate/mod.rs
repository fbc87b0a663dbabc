//! Strict validation of a Responses API request body, the way api.openai.com refuses bad ones:
//! unknown parameters anywhere (`Unknown parameter: 'tools[0].function'.`), wrong types,
//! out-of-range numbers, unsupported enum values, malformed input items and tools. Every refusal
//! is an [`InvalidRequest`] carrying OpenAI's message, `param` and `code`.
//!
//! Top-level fields are dispatched here; `settings.rs` checks the nested settings (`text`,
//! `reasoning`, `include`, …), `input.rs` the input items one by one and `parts.rs` their content
//! parts, `tools.rs` tools, `choice.rs` `tool_choice`, `conversation.rs` the rules that need the
//! fake's memory (previous responses, stored items, encrypted reasoning, tool-call pairing).
//! Authentication and the model list are the handler's.

mod choice;
mod conversation;
mod input;
mod parts;
mod settings;
#[cfg(test)]
mod tests;
mod tools;

use serde_json::{Map, Value};

pub(crate) use conversation::{Refusal, check as check_conversation};
pub(crate) use input::item_type;
pub(crate) use tools::Tools;

use crate::fake::validate::{
    InvalidRequest, Path, boolean, decimal, integer, max_length, missing, object, one_of, string,
};

/// What a valid request asks for, as far as the answer depends on it.
#[derive(Debug)]
pub(crate) struct ResponsesRequest<'a> {
    /// The whole body, for the settings the response object echoes.
    pub fields: &'a Map<String, Value>,
    pub model: &'a str,
    pub input: Input<'a>,
    pub instructions: Option<&'a str>,
    pub max_output_tokens: Option<u64>,
    pub stream: bool,
    /// `stream_options.include_obfuscation` (on unless turned off).
    pub include_obfuscation: bool,
    /// `store` (on unless turned off): the response is kept for `previous_response_id`.
    pub store: bool,
    pub previous_response_id: Option<&'a str>,
    /// The id of the `conversation`, when one is named.
    pub conversation: Option<&'a str>,
    /// `Some` when the model reasons (`reasoning` set, its effort not `none`).
    pub reasoning: Option<Reasoning>,
    /// The values of `include`.
    pub include: Vec<&'a str>,
    pub tools: Tools<'a>,
}

impl ResponsesRequest<'_> {
    /// Whether `include` asks for `value`.
    pub(crate) fn includes(&self, value: &str) -> bool {
        self.include.contains(&value)
    }
}

/// `input`: one user message as a string, or a list of items.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Input<'a> {
    Text(&'a str),
    Items(&'a [Value]),
}

/// How the model reasons.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Reasoning {
    /// `reasoning.summary` (or the older `generate_summary`) asks for a summary.
    pub summary: bool,
}

const FIELDS: &[&str] = &[
    "model",
    "input",
    "instructions",
    "max_output_tokens",
    "temperature",
    "top_p",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "text",
    "reasoning",
    "stream",
    "stream_options",
    "store",
    "include",
    "previous_response_id",
    "conversation",
    "background",
    "metadata",
    "user",
    "safety_identifier",
    "prompt_cache_key",
    "prompt_cache_retention",
    "service_tier",
    "truncation",
    "max_tool_calls",
    "top_logprobs",
    "client_metadata",
    "context_management",
    "prompt",
    "prompt_cache_options",
    "moderation",
];

/// `Unknown parameter: 'tools[0].function'.`
pub(crate) fn unknown(at: Path<'_>) -> InvalidRequest {
    InvalidRequest::at(
        format!("Unknown parameter: '{at}'."),
        at,
        Some("unknown_parameter"),
    )
}

/// Refuses the first key of `fields` that is not in `allowed`.
pub(crate) fn only(
    at: Path<'_>,
    fields: &Map<String, Value>,
    allowed: &[&str],
) -> Result<(), InvalidRequest> {
    match fields.keys().find(|key| !allowed.contains(&key.as_str())) {
        Some(key) => Err(unknown(at.key(key))),
        None => Ok(()),
    }
}

/// `fields[key]` unless it is absent or `null` (optional fields accept `null`).
pub(crate) fn optional<'a>(fields: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    fields.get(key).filter(|value| !value.is_null())
}

/// Validates a parsed body.
pub(crate) fn request(body: &Value) -> Result<ResponsesRequest<'_>, InvalidRequest> {
    let Some(fields) = body.as_object() else {
        return Err(InvalidRequest::new(
            format!(
                "Invalid type for request body: expected an object, but got {} instead.",
                crate::fake::validate::type_name(body)
            ),
            None,
            Some("invalid_type"),
        ));
    };
    if let Some(key) = fields.keys().find(|key| !FIELDS.contains(&key.as_str())) {
        return Err(unknown(Path::Root(key)));
    }
    let model = match optional(fields, "model") {
        Some(model) => string(Path::Root("model"), model)?,
        None => return Err(missing(Path::Root("model"))),
    };
    for (key, value) in fields {
        if !value.is_null() {
            scalar(key, value)?;
        }
    }
    let tools = match optional(fields, "tools") {
        Some(value) => tools::tools(value)?,
        None => Tools::default(),
    };
    if let Some(choice) = optional(fields, "tool_choice") {
        choice::tool_choice(choice, &tools)?;
    }
    let input = input::input(
        optional(fields, "input"),
        optional(fields, "prompt").is_some(),
        &tools,
    )?;
    let (stream, include_obfuscation) = streaming(fields)?;
    let (previous_response_id, conversation) = state_ids(fields)?;
    Ok(ResponsesRequest {
        fields,
        model,
        input,
        instructions: optional(fields, "instructions").and_then(Value::as_str),
        max_output_tokens: optional(fields, "max_output_tokens").and_then(Value::as_u64),
        stream,
        include_obfuscation,
        store: optional(fields, "store").and_then(Value::as_bool) != Some(false),
        previous_response_id,
        conversation,
        reasoning: optional(fields, "reasoning").and_then(settings::reasoning_of),
        include: optional(fields, "include")
            .and_then(Value::as_array)
            .map(|values| values.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default(),
        tools,
    })
}

/// `stream`, and whether its events carry obfuscation padding (`stream_options`, which needs
/// `stream`).
fn streaming(fields: &Map<String, Value>) -> Result<(bool, bool), InvalidRequest> {
    let stream = optional(fields, "stream").and_then(Value::as_bool) == Some(true);
    let options = optional(fields, "stream_options");
    if options.is_some() && !stream {
        return Err(InvalidRequest::new(
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.".to_owned(),
            Some("stream_options"),
            None,
        ));
    }
    let obfuscation = options
        .and_then(|options| options.get("include_obfuscation"))
        .and_then(Value::as_bool);
    Ok((stream, obfuscation != Some(false)))
}

/// `previous_response_id` and the `conversation` id, which exclude each other.
fn state_ids(fields: &Map<String, Value>) -> Result<(Option<&str>, Option<&str>), InvalidRequest> {
    let previous = optional(fields, "previous_response_id").and_then(Value::as_str);
    let conversation =
        optional(fields, "conversation").and_then(|conversation| match conversation {
            Value::Object(fields) => fields.get("id").and_then(Value::as_str),
            other => other.as_str(),
        });
    if previous.is_some() && conversation.is_some() {
        return Err(InvalidRequest::new(
            "Mutually exclusive parameters: Ensure you are only providing one of: 'previous_response_id' or 'conversation'.".to_owned(),
            None,
            Some("mutually_exclusive_parameters"),
        ));
    }
    Ok((previous, conversation))
}

const SERVICE_TIERS: &[&str] = &["auto", "default", "flex", "scale", "priority"];

/// Checks one top-level field other than `model`, `input`, `tools` and `tool_choice`.
fn scalar(key: &str, value: &Value) -> Result<(), InvalidRequest> {
    let at = Path::Root(key);
    match key {
        "instructions" | "previous_response_id" | "user" | "prompt_cache_key" => {
            string(at, value).map(drop)
        }
        "safety_identifier" => max_length(at, string(at, value)?, 64),
        "max_output_tokens" => integer(at, value, Some(16), None),
        "max_tool_calls" => integer(at, value, Some(1), None),
        "top_logprobs" => integer(at, value, Some(0), Some(20)),
        "temperature" => decimal(at, value, 0.0, 2.0),
        "top_p" => decimal(at, value, 0.0, 1.0),
        "parallel_tool_calls" | "stream" | "store" | "background" => boolean(at, value),
        "truncation" => one_of(at, string(at, value)?, &["auto", "disabled"]),
        "service_tier" => one_of(at, string(at, value)?, SERVICE_TIERS),
        "prompt_cache_retention" => one_of(at, string(at, value)?, &["in_memory", "24h"]),
        "metadata" => crate::fake::validate::metadata(value),
        "client_metadata" => object(at, value).map(drop),
        "text" => settings::text(value),
        "reasoning" => settings::reasoning(value),
        "stream_options" => settings::stream_options(value),
        "include" => settings::include(value),
        "conversation" => settings::conversation(value),
        "context_management" => settings::context_management(value),
        "prompt" => settings::prompt(value),
        "prompt_cache_options" => settings::prompt_cache_options(value),
        "moderation" => settings::moderation(value),
        _ => Ok(()),
    }
}
