//! Strict validation of a Chat Completions request body, the way api.openai.com rejects bad ones.
//!
//! The fake exists to make a gateway's translation bugs fail tests, so it refuses what OpenAI
//! refuses: unknown top-level fields, wrong types, out-of-range numbers, malformed messages,
//! content parts, tool calls and tool definitions, and tool results without a matching call.
//! Every refusal is an [`InvalidRequest`] carrying OpenAI's message, `param` and `code`.
//!
//! It does not check the model against the configured list (that is a 404, decided by the
//! handler) nor authentication.

mod checks;
mod messages;
mod path;
mod tools;

use serde_json::Value;

pub(crate) use checks::{
    array, boolean, decimal, empty_array, integer, invalid_type, max_length, missing, object,
    one_of, required, string, type_name, unexpected_property,
};
pub(crate) use path::Path;
pub(crate) use tools::name as function_name;

/// A 400 `invalid_request_error` in OpenAI's shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InvalidRequest {
    pub message: String,
    pub param: Option<String>,
    pub code: Option<&'static str>,
}

impl InvalidRequest {
    pub(crate) fn new(message: String, param: Option<&str>, code: Option<&'static str>) -> Self {
        InvalidRequest {
            message,
            param: param.map(str::to_owned),
            code,
        }
    }

    pub(crate) fn at(message: String, param: Path<'_>, code: Option<&'static str>) -> Self {
        InvalidRequest {
            message,
            param: Some(param.to_string()),
            code,
        }
    }
}

/// The parts of a valid request the response depends on.
#[derive(Debug)]
pub(crate) struct ChatRequest<'a> {
    /// `None` only for Azure deployments, where the model comes from the path.
    pub model: Option<&'a str>,
    pub messages: &'a [Value],
    pub stream: bool,
    pub include_usage: bool,
    pub include_obfuscation: bool,
    pub n: usize,
    /// `stop`, as a list (a single string is a list of one).
    pub stop: Vec<&'a str>,
}

impl crate::fake::handler::NamesModel for ChatRequest<'_> {
    fn model(&self) -> Option<&str> {
        self.model
    }
}

/// The checks every OpenAI request body starts with: a JSON object, each top-level field passing
/// `field`, and a string `model` (unless the URL names the deployment). Returns the object and the
/// model.
pub(crate) fn top_level(
    body: &Value,
    model_required: bool,
    field: fn(&str, &Value) -> Result<(), InvalidRequest>,
) -> Result<(&serde_json::Map<String, Value>, Option<&str>), InvalidRequest> {
    let Some(object) = body.as_object() else {
        return Err(InvalidRequest::new(
            format!(
                "Invalid type for request body: expected an object, but got {} instead.",
                type_name(body)
            ),
            None,
            Some("invalid_type"),
        ));
    };
    for (key, value) in object {
        field(key, value)?;
    }
    let model = match object.get("model") {
        Some(Value::String(model)) => Some(model.as_str()),
        _ if model_required => {
            return Err(InvalidRequest::new(
                "you must provide a model parameter".to_owned(),
                None,
                None,
            ));
        }
        _ => None,
    };
    Ok((object, model))
}

/// Validates a parsed body. `model_required` is false for Azure deployment URLs.
pub(crate) fn chat_request(
    body: &Value,
    model_required: bool,
) -> Result<ChatRequest<'_>, InvalidRequest> {
    let (object, model) = top_level(body, model_required, field)?;
    let messages = messages::validate(object.get("messages"))?;
    let stream = object.get("stream").and_then(Value::as_bool) == Some(true);
    let stream_options = object.get("stream_options").filter(|v| !v.is_null());
    if stream_options.is_some() && !stream {
        return Err(InvalidRequest::new(
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.".to_owned(),
            Some("stream_options"),
            None,
        ));
    }
    tools::cross_checks(object)?;
    let option = |name: &str| stream_options.and_then(|o| o.get(name)?.as_bool());
    Ok(ChatRequest {
        model,
        messages,
        stream,
        include_usage: option("include_usage") == Some(true),
        include_obfuscation: option("include_obfuscation") != Some(false),
        n: object
            .get("n")
            .and_then(Value::as_u64)
            .map_or(1, |n| usize::try_from(n).unwrap_or(1)),
        stop: stop_sequences(object.get("stop")),
    })
}

/// The stop sequences of a validated `stop`.
fn stop_sequences(stop: Option<&Value>) -> Vec<&str> {
    match stop {
        Some(Value::String(one)) => vec![one.as_str()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

const REASONING_EFFORTS: &[&str] = &["none", "minimal", "low", "medium", "high", "xhigh", "max"];
const SERVICE_TIERS: &[&str] = &["auto", "default", "flex", "scale", "priority"];
const VERBOSITIES: &[&str] = &["low", "medium", "high"];

/// Checks one top-level field. `null` is accepted for every optional field, as OpenAI does.
fn field(key: &str, value: &Value) -> Result<(), InvalidRequest> {
    if value.is_null() && key != "model" && key != "messages" {
        return Ok(());
    }
    let at = Path::Root(key);
    match key {
        "model" => string(at, value).map(drop),
        "messages" => Ok(()),
        "stream" | "logprobs" | "store" | "parallel_tool_calls" => boolean(at, value),
        "stream_options" => stream_options(value),
        "max_tokens" | "max_completion_tokens" => integer(at, value, Some(1), None),
        "n" => integer(at, value, Some(1), Some(128)),
        "top_logprobs" => integer(at, value, Some(0), Some(20)),
        "seed" => integer(at, value, None, None),
        "temperature" => decimal(at, value, 0.0, 2.0),
        "top_p" => decimal(at, value, 0.0, 1.0),
        "frequency_penalty" | "presence_penalty" => decimal(at, value, -2.0, 2.0),
        "stop" => stop(value),
        "user" | "prompt_cache_key" => string(at, value).map(drop),
        "safety_identifier" => max_length(at, string(at, value)?, 64),
        "reasoning_effort" => one_of(at, string(at, value)?, REASONING_EFFORTS),
        "service_tier" => one_of(at, string(at, value)?, SERVICE_TIERS),
        "verbosity" => one_of(at, string(at, value)?, VERBOSITIES),
        "modalities" => modalities(value),
        "logit_bias" => logit_bias(value),
        "metadata" => metadata(value),
        "audio" | "prediction" | "web_search_options" | "prompt_cache_options" | "moderation" => {
            object(at, value).map(drop)
        }
        "response_format" => tools::response_format(value),
        "tools" => tools::tools(value),
        "tool_choice" => tools::tool_choice(value),
        "functions" => tools::functions(value),
        "function_call" => tools::function_call(value),
        _ => Err(InvalidRequest::new(
            format!("Unrecognized request argument supplied: {key}"),
            None,
            None,
        )),
    }
}

fn stream_options(value: &Value) -> Result<(), InvalidRequest> {
    let at = Path::Root("stream_options");
    let options = object(at, value)?;
    for (key, option) in options {
        match key.as_str() {
            "include_usage" | "include_obfuscation" => boolean(at.key(key), option)?,
            _ => return Err(unexpected_property(key, at)),
        }
    }
    Ok(())
}

fn stop(value: &Value) -> Result<(), InvalidRequest> {
    match value {
        Value::String(_) => Ok(()),
        Value::Array(items) if items.len() <= 4 => items
            .iter()
            .enumerate()
            .try_for_each(|(i, item)| string(Path::Root("stop").index(i), item).map(drop)),
        Value::Array(items) => Err(InvalidRequest::new(
            format!(
                "Invalid 'stop': array too long. Expected an array with maximum length 4, but got an array with length {} instead.",
                items.len()
            ),
            Some("stop"),
            Some("array_above_max_length"),
        )),
        other => Err(invalid_type(Path::Root("stop"), "a string or array", other)),
    }
}

fn modalities(value: &Value) -> Result<(), InvalidRequest> {
    let at = Path::Root("modalities");
    let items = array(at, value)?;
    for (i, item) in items.iter().enumerate() {
        let at = at.index(i);
        one_of(at, string(at, item)?, &["text", "audio"])?;
    }
    Ok(())
}

fn logit_bias(value: &Value) -> Result<(), InvalidRequest> {
    let at = Path::Root("logit_bias");
    for (token, bias) in object(at, value)? {
        decimal(at.key(token), bias, -100.0, 100.0)?;
    }
    Ok(())
}

/// `metadata`: at most 16 string values of at most 512 characters; the Responses API shares it.
pub(crate) fn metadata(value: &Value) -> Result<(), InvalidRequest> {
    let at = Path::Root("metadata");
    let pairs = object(at, value)?;
    if pairs.len() > 16 {
        return Err(InvalidRequest::new(
            format!(
                "Invalid 'metadata': too many properties. Expected an object with at most 16 properties, but got an object with {} properties instead.",
                pairs.len()
            ),
            Some("metadata"),
            Some("object_above_max_properties"),
        ));
    }
    for (key, item) in pairs {
        let at = at.key(key);
        max_length(at, string(at, item)?, 512)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
