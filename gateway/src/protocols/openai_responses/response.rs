//! Responses API answers: canonical → the `response` object and its output items (for
//! Responses clients), and an upstream `response` object → canonical (for `api: responses`
//! channels).

use serde_json::{Value, json};

use crate::canonical::{ChatResponse, Choice, ContentPart, FinishReason, NamespacedTool, Usage};
use crate::error::{ErrorKind, GatewayError};

/// `resp_…`: the upstream's id, prefixed as OpenAI's are.
pub fn response_id(id: &str) -> String {
    if id.starts_with("resp_") {
        id.to_owned()
    } else {
        format!("resp_{id}")
    }
}

pub fn usage_object(usage: &Usage) -> Value {
    json!({
        "input_tokens": usage.total_input(),
        "input_tokens_details": {"cached_tokens": usage.cache_read_tokens},
        "output_tokens": usage.output_tokens,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
        "total_tokens": usage.total(),
    })
}

/// `(status, incomplete_details)` for a finish reason.
pub fn status(reason: Option<&FinishReason>) -> (&'static str, Value) {
    match reason {
        Some(FinishReason::Length) => ("incomplete", json!({"reason": "max_output_tokens"})),
        Some(FinishReason::ContentFilter) => ("incomplete", json!({"reason": "content_filter"})),
        _ => ("completed", Value::Null),
    }
}

pub fn response_object(
    id: &str,
    created_at: u64,
    model: &str,
    status: &str,
    incomplete_details: Value,
    output: Vec<Value>,
    usage: Option<&Usage>,
) -> Value {
    json!({
        "id": id,
        "object": "response",
        "created_at": created_at,
        "status": status,
        "error": null,
        "incomplete_details": incomplete_details,
        "model": model,
        "output": output,
        "parallel_tool_calls": true,
        "tool_choice": "auto",
        "tools": [],
        "usage": usage.map(usage_object),
    })
}

pub fn message_item(id: &str, text: &str, status: &str) -> Value {
    json!({
        "id": id, "type": "message", "status": status, "role": "assistant",
        "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}],
    })
}

pub fn reasoning_item(id: &str, text: &str) -> Value {
    json!({"id": id, "type": "reasoning", "summary": [{"type": "summary_text", "text": text}]})
}

/// A `function_call` item. `name` is the name the upstream used: a function the client
/// declared in a namespace is given back as that namespace's (`namespace` + inner `name`).
pub fn function_call_item(
    id: &str,
    call_id: &str,
    name: &str,
    arguments: &str,
    status: &str,
    namespaces: &[NamespacedTool],
) -> Value {
    let mut item = json!({"id": id, "type": "function_call", "status": status, "call_id": call_id, "name": name, "arguments": arguments});
    if let Some(tool) = namespaces.iter().find(|tool| tool.flat == name) {
        item["namespace"] = tool.namespace.as_str().into();
        item["name"] = tool.name.as_str().into();
    }
    item
}

/// Renders the first choice as a `response` object; `namespaces` are the request's namespaced
/// functions, so their calls come back namespaced.
pub fn encode(response: &ChatResponse, namespaces: &[NamespacedTool]) -> Value {
    let id = response_id(&response.id);
    let choice = response.choices.first();
    let mut output = Vec::new();
    let mut text = String::new();
    let flush_text = |text: &mut String, output: &mut Vec<Value>| {
        if !text.is_empty() {
            output.push(message_item(
                &format!("msg_{}_{}", id, output.len()),
                text,
                "completed",
            ));
            text.clear();
        }
    };
    for part in choice
        .map(|choice| choice.content.as_slice())
        .unwrap_or_default()
    {
        match part {
            ContentPart::Text(piece) | ContentPart::Refusal(piece) => text.push_str(piece),
            ContentPart::Reasoning {
                text: reasoning, ..
            } => {
                flush_text(&mut text, &mut output);
                output.push(reasoning_item(
                    &format!("rs_{}_{}", id, output.len()),
                    reasoning,
                ));
            }
            ContentPart::ToolCall {
                id: call_id,
                name,
                arguments,
            } => {
                flush_text(&mut text, &mut output);
                output.push(function_call_item(
                    &format!("fc_{}_{}", id, output.len()),
                    call_id,
                    name,
                    arguments,
                    "completed",
                    namespaces,
                ));
            }
            _ => {}
        }
    }
    flush_text(&mut text, &mut output);
    let (status, incomplete) = status(choice.and_then(|choice| choice.finish_reason.as_ref()));
    response_object(
        &id,
        response.created,
        &response.model,
        status,
        incomplete,
        output,
        response.usage.as_ref(),
    )
}

/// An upstream `response` object → the canonical response. Hosted-tool items (web search
/// calls and the like) are left out: their results are already in the answer's text.
pub fn decode(body: &[u8]) -> Result<ChatResponse, GatewayError> {
    let value: Value = serde_json::from_slice(body).map_err(|error| {
        GatewayError::new(
            ErrorKind::BadGateway,
            format!("it sent a response object the gateway could not read ({error})"),
        )
    })?;
    let mut content = Vec::new();
    for item in value["output"].as_array().into_iter().flatten() {
        decode_item(item, &mut content);
    }
    let called = content
        .iter()
        .any(|part| matches!(part, ContentPart::ToolCall { .. }));
    Ok(ChatResponse {
        id: value["id"].as_str().unwrap_or_default().to_owned(),
        created: value["created_at"].as_u64().unwrap_or_default(),
        model: value["model"].as_str().unwrap_or_default().to_owned(),
        choices: vec![Choice {
            index: 0,
            content,
            finish_reason: Some(finish_reason(&value, called)),
            logprobs: None,
        }],
        usage: value
            .get("usage")
            .filter(|usage| !usage.is_null())
            .map(decode_usage),
        system_fingerprint: None,
        service_tier: value["service_tier"].as_str().map(str::to_owned),
        native: None,
    })
}

/// The canonical parts of one output item.
pub fn decode_item(item: &Value, content: &mut Vec<ContentPart>) {
    match item["type"].as_str() {
        Some("message") => {
            for part in item["content"].as_array().into_iter().flatten() {
                match part["type"].as_str() {
                    Some("output_text") => content.push(ContentPart::Text(
                        part["text"].as_str().unwrap_or_default().to_owned(),
                    )),
                    Some("refusal") => content.push(ContentPart::Refusal(
                        part["refusal"].as_str().unwrap_or_default().to_owned(),
                    )),
                    _ => {}
                }
            }
        }
        Some("function_call") => content.push(ContentPart::ToolCall {
            id: item["call_id"].as_str().unwrap_or_default().to_owned(),
            name: item["name"].as_str().unwrap_or_default().to_owned(),
            arguments: item["arguments"].as_str().unwrap_or_default().to_owned(),
        }),
        Some("reasoning") => {
            let text: Vec<&str> = item["summary"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|part| part["text"].as_str())
                .collect();
            if !text.is_empty() {
                content.push(ContentPart::Reasoning {
                    text: text.join("\n\n"),
                    signature: None,
                });
            }
        }
        _ => {}
    }
}

/// The finish reason a response's status implies.
pub fn finish_reason(response: &Value, called: bool) -> FinishReason {
    match (
        response["status"].as_str(),
        response["incomplete_details"]["reason"].as_str(),
    ) {
        (Some("incomplete"), Some("max_output_tokens")) => FinishReason::Length,
        (Some("incomplete"), Some("content_filter")) => FinishReason::ContentFilter,
        _ if called => FinishReason::ToolCalls,
        _ => FinishReason::Stop,
    }
}

/// Responses usage counts cached tokens inside `input_tokens`: the canonical buckets split them.
pub fn decode_usage(usage: &Value) -> Usage {
    let count = |pointer: &str| usage.pointer(pointer).and_then(Value::as_u64).unwrap_or(0);
    let cached = count("/input_tokens_details/cached_tokens");
    Usage {
        input_tokens: count("/input_tokens").saturating_sub(cached),
        cache_read_tokens: cached,
        cache_write_tokens: 0,
        output_tokens: count("/output_tokens"),
        reasoning_tokens: count("/output_tokens_details/reasoning_tokens"),
    }
}
