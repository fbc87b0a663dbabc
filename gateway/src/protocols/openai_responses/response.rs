//! Responses API answers: canonical → the `response` object and its output items.

use serde_json::{Value, json};

use crate::canonical::{ChatResponse, ContentPart, FinishReason, Usage};

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

pub fn function_call_item(
    id: &str,
    call_id: &str,
    name: &str,
    arguments: &str,
    status: &str,
) -> Value {
    json!({"id": id, "type": "function_call", "status": status, "call_id": call_id, "name": name, "arguments": arguments})
}

/// Renders the first choice as a `response` object.
pub fn encode(response: &ChatResponse) -> Value {
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
