//! Strict validation of a Chat Completions request body, the way api.openai.com rejects bad ones.
//!
//! The fake exists to make a gateway's translation bugs fail tests, so it refuses what OpenAI
//! refuses: unknown top-level fields, wrong types, out-of-range numbers, malformed messages,
//! content parts, tool calls and tool definitions, and tool results without a matching call.
//! Every refusal is an [`InvalidRequest`] carrying OpenAI's message, `param` and `code`.
//!
//! It does not check the model against the configured list (that is a 404, decided by the
//! handler) nor authentication.

mod messages;
mod tools;

use serde_json::{Map, Value};

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
}

/// Validates a parsed body. `model_required` is false for Azure deployment URLs.
pub(crate) fn chat_request(
    body: &Value,
    model_required: bool,
) -> Result<ChatRequest<'_>, InvalidRequest> {
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
    })
}

const REASONING_EFFORTS: &[&str] = &["none", "minimal", "low", "medium", "high", "xhigh", "max"];
const SERVICE_TIERS: &[&str] = &["auto", "default", "flex", "scale", "priority"];
const VERBOSITIES: &[&str] = &["low", "medium", "high"];

/// Checks one top-level field. `null` is accepted for every optional field, as OpenAI does.
fn field(key: &str, value: &Value) -> Result<(), InvalidRequest> {
    if value.is_null() && key != "model" && key != "messages" {
        return Ok(());
    }
    match key {
        "model" => string(key, value).map(drop),
        "messages" => Ok(()),
        "stream" | "logprobs" | "store" | "parallel_tool_calls" => boolean(key, value),
        "stream_options" => stream_options(value),
        "max_tokens" | "max_completion_tokens" => integer(key, value, Some(1), None),
        "n" => integer(key, value, Some(1), Some(128)),
        "top_logprobs" => integer(key, value, Some(0), Some(20)),
        "seed" => integer(key, value, None, None),
        "temperature" => decimal(key, value, 0.0, 2.0),
        "top_p" => decimal(key, value, 0.0, 1.0),
        "frequency_penalty" | "presence_penalty" => decimal(key, value, -2.0, 2.0),
        "stop" => stop(value),
        "user" | "prompt_cache_key" => string(key, value).map(drop),
        "safety_identifier" => max_length(key, string(key, value)?, 64),
        "reasoning_effort" => one_of(key, string(key, value)?, REASONING_EFFORTS),
        "service_tier" => one_of(key, string(key, value)?, SERVICE_TIERS),
        "verbosity" => one_of(key, string(key, value)?, VERBOSITIES),
        "modalities" => modalities(value),
        "logit_bias" => logit_bias(value),
        "metadata" => metadata(value),
        "audio" | "prediction" | "web_search_options" | "prompt_cache_options" | "moderation" => {
            object(key, value).map(drop)
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
    let options = object("stream_options", value)?;
    for (key, option) in options {
        let param = format!("stream_options.{key}");
        match key.as_str() {
            "include_usage" | "include_obfuscation" => boolean(&param, option)?,
            _ => return Err(unexpected_property(key, "stream_options")),
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
            .try_for_each(|(i, item)| string(&format!("stop[{i}]"), item).map(drop)),
        Value::Array(items) => Err(InvalidRequest::new(
            format!(
                "Invalid 'stop': array too long. Expected an array with maximum length 4, but got an array with length {} instead.",
                items.len()
            ),
            Some("stop"),
            Some("array_above_max_length"),
        )),
        other => Err(invalid_type("stop", "a string or array", other)),
    }
}

fn modalities(value: &Value) -> Result<(), InvalidRequest> {
    let items = array("modalities", value)?;
    for (i, item) in items.iter().enumerate() {
        let param = format!("modalities[{i}]");
        one_of(&param, string(&param, item)?, &["text", "audio"])?;
    }
    Ok(())
}

fn logit_bias(value: &Value) -> Result<(), InvalidRequest> {
    for (token, bias) in object("logit_bias", value)? {
        decimal(&format!("logit_bias.{token}"), bias, -100.0, 100.0)?;
    }
    Ok(())
}

fn metadata(value: &Value) -> Result<(), InvalidRequest> {
    let pairs = object("metadata", value)?;
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
        let param = format!("metadata.{key}");
        max_length(&param, string(&param, item)?, 512)?;
    }
    Ok(())
}

// ---- shared checks, phrased like OpenAI's validator ----

/// OpenAI's name for a JSON value's type in "expected X, but got Y instead".
pub(crate) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a decimal",
        Value::Number(_) => "an integer",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

pub(crate) fn invalid_type(param: &str, expected: &str, got: &Value) -> InvalidRequest {
    InvalidRequest::new(
        format!(
            "Invalid type for '{param}': expected {expected}, but got {} instead.",
            type_name(got)
        ),
        Some(param),
        Some("invalid_type"),
    )
}

pub(crate) fn missing(param: &str) -> InvalidRequest {
    InvalidRequest::new(
        format!("Missing required parameter: '{param}'."),
        Some(param),
        Some("missing_required_parameter"),
    )
}

pub(crate) fn empty_array(param: &str) -> InvalidRequest {
    InvalidRequest::new(
        format!(
            "Invalid '{param}': empty array. Expected an array with minimum length 1, but got an empty array instead."
        ),
        Some(param),
        Some("empty_array"),
    )
}

/// A property OpenAI's schema does not allow inside a nested object (`path` as in `messages.0`).
pub(crate) fn unexpected_property(key: &str, path: &str) -> InvalidRequest {
    InvalidRequest::new(
        format!("Additional properties are not allowed ('{key}' was unexpected) - '{path}'"),
        Some(path),
        None,
    )
}

pub(crate) fn one_of(param: &str, value: &str, supported: &[&str]) -> Result<(), InvalidRequest> {
    if supported.contains(&value) {
        return Ok(());
    }
    let quoted: Vec<String> = supported.iter().map(|s| format!("'{s}'")).collect();
    let list = match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{}, and {last}", rest.join(", ")),
        _ => quoted.join(""),
    };
    Err(InvalidRequest::new(
        format!("Invalid value: '{value}'. Supported values are: {list}."),
        Some(param),
        Some("invalid_value"),
    ))
}

pub(crate) fn string<'a>(param: &str, value: &'a Value) -> Result<&'a str, InvalidRequest> {
    value
        .as_str()
        .ok_or_else(|| invalid_type(param, "a string", value))
}

pub(crate) fn boolean(param: &str, value: &Value) -> Result<(), InvalidRequest> {
    match value {
        Value::Bool(_) => Ok(()),
        other => Err(invalid_type(param, "a boolean", other)),
    }
}

pub(crate) fn object<'a>(
    param: &str,
    value: &'a Value,
) -> Result<&'a Map<String, Value>, InvalidRequest> {
    value
        .as_object()
        .ok_or_else(|| invalid_type(param, "an object", value))
}

pub(crate) fn array<'a>(param: &str, value: &'a Value) -> Result<&'a [Value], InvalidRequest> {
    value
        .as_array()
        .map(Vec::as_slice)
        .ok_or_else(|| invalid_type(param, "an array", value))
}

fn max_length(param: &str, value: &str, max: usize) -> Result<(), InvalidRequest> {
    let length = value.chars().count();
    if length <= max {
        return Ok(());
    }
    Err(InvalidRequest::new(
        format!(
            "Invalid '{param}': string too long. Expected a string with maximum length {max}, but got a string with length {length} instead."
        ),
        Some(param),
        Some("string_above_max_length"),
    ))
}

fn integer(
    param: &str,
    value: &Value,
    min: Option<i64>,
    max: Option<i64>,
) -> Result<(), InvalidRequest> {
    let number = match value {
        Value::Number(n) if n.is_i64() => n.as_i64().unwrap_or_default(),
        Value::Number(n) if n.is_u64() => i64::MAX,
        other => return Err(invalid_type(param, "an integer", other)),
    };
    let out_of_range = |direction: &str, relation: &str, bound: i64, code: &'static str| {
        InvalidRequest::new(
            format!(
                "Invalid '{param}': integer {direction}. Expected a value {relation} {bound}, but got {value} instead."
            ),
            Some(param),
            Some(code),
        )
    };
    match (min, max) {
        (Some(min), _) if number < min => Err(out_of_range(
            "below minimum value",
            ">=",
            min,
            "integer_below_min_value",
        )),
        (_, Some(max)) if number > max => Err(out_of_range(
            "above maximum value",
            "<=",
            max,
            "integer_above_max_value",
        )),
        _ => Ok(()),
    }
}

fn decimal(param: &str, value: &Value, min: f64, max: f64) -> Result<(), InvalidRequest> {
    let Some(number) = value.as_f64() else {
        return Err(invalid_type(param, "a number", value));
    };
    let out_of_range = |direction: &str, relation: &str, bound: f64, code: &'static str| {
        InvalidRequest::new(
            format!(
                "Invalid '{param}': decimal {direction}. Expected a value {relation} {bound}, but got {value} instead."
            ),
            Some(param),
            Some(code),
        )
    };
    if number < min {
        Err(out_of_range(
            "below minimum value",
            ">=",
            min,
            "decimal_below_min_value",
        ))
    } else if number > max {
        Err(out_of_range(
            "above maximum value",
            "<=",
            max,
            "decimal_above_max_value",
        ))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests;
