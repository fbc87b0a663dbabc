//! The `response` object, as the non-streaming body and the stream's `response.*` lifecycle
//! events carry it: identity, status, output, usage, and the echo of the request's settings
//! with OpenAI's defaults for those it left out (`tool_choice: "auto"`, `temperature: 1`,
//! `truncation: "disabled"`, `text.format.type: "text"`, …).

use serde_json::{Map, Value, json};

use super::answer::Answer;
use super::validate::{ResponsesRequest, optional};

/// Identity shared by the response and every event of its stream.
pub(crate) struct Head<'a> {
    /// `resp_…`.
    pub id: &'a str,
    /// Unix seconds.
    pub created_at: u64,
    /// The requested model.
    pub model: &'a str,
}

/// The response object: `in_progress` with no output while `answer` is `None`, else
/// `completed` or `incomplete` with the answer's output and usage.
pub(crate) fn response(
    head: &Head<'_>,
    request: &ResponsesRequest<'_>,
    answer: Option<&Answer>,
) -> Value {
    let given = |key: &str| optional(request.fields, key).cloned();
    let or = |key: &str, default: Value| given(key).unwrap_or(default);
    let (status, incomplete_details) = match answer {
        None => ("in_progress", Value::Null),
        Some(answer) if answer.incomplete => ("incomplete", json!({"reason": "max_output_tokens"})),
        Some(_) => ("completed", Value::Null),
    };
    let reasoning = given("reasoning").and_then(|value| value.as_object().cloned());
    let reasoning_echo = |key: &str| {
        reasoning
            .as_ref()
            .and_then(|fields| optional(fields, key))
            .cloned()
            .unwrap_or(Value::Null)
    };
    let service_tier = match given("service_tier") {
        Some(Value::String(tier)) if tier != "auto" => Value::String(tier),
        _ => json!("default"),
    };
    let mut object = Map::new();
    let mut set = |key: &str, value: Value| {
        object.insert(key.to_owned(), value);
    };
    set("id", json!(head.id));
    set("object", json!("response"));
    set("created_at", json!(head.created_at));
    set("status", json!(status));
    set("background", or("background", json!(false)));
    set(
        "completed_at",
        answer.map_or(Value::Null, |_| json!(head.created_at)),
    );
    set("conversation", Value::Null);
    set("error", Value::Null);
    set("incomplete_details", incomplete_details);
    set("instructions", or("instructions", Value::Null));
    set("max_output_tokens", or("max_output_tokens", Value::Null));
    set("max_tool_calls", or("max_tool_calls", Value::Null));
    set("metadata", or("metadata", json!({})));
    set("model", json!(head.model));
    set(
        "output",
        answer.map_or(json!([]), |answer| json!(answer.output)),
    );
    set(
        "parallel_tool_calls",
        or("parallel_tool_calls", json!(true)),
    );
    set(
        "previous_response_id",
        or("previous_response_id", Value::Null),
    );
    set("prompt", or("prompt", Value::Null));
    set("prompt_cache_key", or("prompt_cache_key", Value::Null));
    set(
        "prompt_cache_retention",
        or("prompt_cache_retention", Value::Null),
    );
    set(
        "reasoning",
        json!({"effort": reasoning_echo("effort"), "summary": reasoning_echo("summary")}),
    );
    set("safety_identifier", or("safety_identifier", Value::Null));
    set("service_tier", service_tier);
    set("store", json!(request.store));
    set("temperature", or("temperature", json!(1.0)));
    set("text", text(given("text")));
    set("tool_choice", or("tool_choice", json!("auto")));
    set("tools", or("tools", json!([])));
    set("top_logprobs", or("top_logprobs", json!(0)));
    set("top_p", or("top_p", json!(1.0)));
    set("truncation", or("truncation", json!("disabled")));
    set(
        "usage",
        answer.map_or(Value::Null, |answer| answer.usage.to_json()),
    );
    set("user", or("user", Value::Null));
    Value::Object(object)
}

/// `text` with its defaults: format `text`, verbosity `medium`.
fn text(given: Option<Value>) -> Value {
    let fields = given
        .and_then(|value| value.as_object().cloned())
        .unwrap_or_default();
    let format = optional(&fields, "format")
        .cloned()
        .unwrap_or_else(|| json!({"type": "text"}));
    let verbosity = optional(&fields, "verbosity")
        .cloned()
        .unwrap_or_else(|| json!("medium"));
    json!({"format": format, "verbosity": verbosity})
}
