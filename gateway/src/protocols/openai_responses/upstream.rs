//! Requests to OpenAI channels that speak the Responses API (`api: responses`).
//!
//! A Responses client's request goes up as the client sent it, with only `model` replaced (its
//! values are copied raw, so even schema property order is kept):
//! hosted tools, `namespace` tools, encrypted reasoning items, `previous_response_id` and every
//! other field reach OpenAI unchanged, and the answer comes back unchanged (see
//! [`crate::canonical::StreamEvent::Native`]). Every other client's request is encoded from the
//! canonical one: messages become input items in order (system and developer messages stay where
//! they are), tool calls and results become `function_call` / `function_call_output` items,
//! `reasoning_effort` becomes `reasoning.effort`, the response format becomes `text.format`.
//! Responses has no stop sequences, several answers, penalties or seed: those follow the
//! `unsupported` rule. Such requests are sent with `store: false`, as the client asked for no
//! stored response.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use crate::canonical::{
    ChatRequest, ContentPart, Family, Message, ResponseFormat, Role, ToolChoice,
};
use crate::error::{ErrorKind, GatewayError};
use crate::protocols::fit::Fit;

/// The smallest `max_output_tokens` the Responses API accepts.
const MIN_OUTPUT_TOKENS: u64 = 16;

/// An upstream request body.
#[derive(Serialize)]
#[serde(untagged)]
pub enum Body {
    /// The client's own request, every field's value exactly as sent but `model`.
    Native(BTreeMap<String, Box<RawValue>>),
    Encoded(Value),
}

/// The upstream body: the client's own for a Responses client, else encoded.
pub fn encode(
    request: &ChatRequest,
    upstream_model: &str,
    fit: &mut Fit,
) -> Result<Body, GatewayError> {
    if let (Family::OpenAiResponses, Some(native)) = (request.extension_family, &request.native) {
        let reread = |error: serde_json::Error| {
            GatewayError::new(
                ErrorKind::Internal,
                format!("re-reading the client's request: {error}"),
            )
        };
        // Values stay raw: schemas keep their property order, numbers their spelling.
        let mut body: BTreeMap<String, Box<RawValue>> =
            serde_json::from_slice(native).map_err(reread)?;
        let model = serde_json::to_string(upstream_model).map_err(reread)?;
        body.insert(
            "model".to_owned(),
            RawValue::from_string(model).map_err(reread)?,
        );
        fit.pass_through();
        return Ok(Body::Native(body));
    }
    fit.openai_only_sampling(request)?;
    fit.foreign(request)?;
    if !request.stop.is_empty() {
        fit.optional("stop", "stop", "the Responses API has no stop sequences")?;
    }
    let mut input = Vec::with_capacity(request.messages.len());
    for (index, message) in request.messages.iter().enumerate() {
        encode_message(index, message, fit, &mut input)?;
    }
    let mut body = Map::new();
    body.insert("model".into(), upstream_model.into());
    body.insert("input".into(), Value::Array(input));
    body.insert("store".into(), false.into());
    let tools: Vec<Value> = fit
        .tools(request)
        .into_iter()
        .map(|tool| {
            json!({
                "type": "function",
                "name": tool.name,
                "description": tool.description,
                "parameters": tool.parameters,
                "strict": tool.strict.unwrap_or(false),
            })
        })
        .collect();
    if !tools.is_empty() {
        body.insert("tools".into(), Value::Array(tools));
    }
    if let Some(choice) = &request.tool_choice {
        let choice = match choice {
            ToolChoice::None => Some(json!("none")),
            ToolChoice::Auto => Some(json!("auto")),
            ToolChoice::Required => Some(json!("required")),
            ToolChoice::Function(name) => Some(json!({"type": "function", "name": name})),
            ToolChoice::Opaque(_) => {
                fit.optional(
                    "tool_choice",
                    "tool_choice",
                    "this kind of tool choice has no Responses equivalent",
                )?;
                None
            }
        };
        if let Some(choice) = choice {
            body.insert("tool_choice".into(), choice);
        }
    }
    let mut put = |key: &str, value: Option<Value>| {
        if let Some(value) = value {
            body.insert(key.into(), value);
        }
    };
    put(
        "parallel_tool_calls",
        request.parallel_tool_calls.map(Value::from),
    );
    put("temperature", request.sampling.temperature.map(Value::from));
    put("top_p", request.sampling.top_p.map(Value::from));
    put(
        "max_output_tokens",
        request
            .max_output_tokens
            .map(|max| Value::from(max.max(MIN_OUTPUT_TOKENS))),
    );
    put(
        "reasoning",
        request
            .reasoning_effort
            .as_ref()
            .map(|effort| json!({"effort": effort})),
    );
    put(
        "text",
        request
            .response_format
            .as_ref()
            .map(|format| json!({"format": text_format(format)})),
    );
    put("safety_identifier", request.user.clone().map(Value::from));
    put("metadata", request.metadata.clone().map(Value::Object));
    put("stream", request.stream.then_some(Value::Bool(true)));
    Ok(Body::Encoded(Value::Object(body)))
}

fn text_format(format: &ResponseFormat) -> Value {
    match format {
        ResponseFormat::Text => json!({"type": "text"}),
        ResponseFormat::JsonObject => json!({"type": "json_object"}),
        ResponseFormat::JsonSchema {
            name,
            description,
            schema,
            strict,
        } => {
            let mut object = json!({"type": "json_schema", "name": name});
            if let Some(description) = description {
                object["description"] = description.clone().into();
            }
            object["schema"] = schema.clone().unwrap_or_else(|| json!({"type": "object"}));
            if let Some(strict) = strict {
                object["strict"] = (*strict).into();
            }
            object
        }
    }
}

/// One canonical message → its input items: a `message` item for its text and images, and one
/// item per tool call or result, in order.
fn encode_message(
    index: usize,
    message: &Message,
    fit: &mut Fit,
    input: &mut Vec<Value>,
) -> Result<(), GatewayError> {
    let (role, text_type) = match message.role {
        Role::System => ("system", "input_text"),
        Role::Developer => ("developer", "input_text"),
        Role::User | Role::Tool => ("user", "input_text"),
        Role::Assistant => ("assistant", "output_text"),
    };
    let field = format!("messages[{index}].content");
    let mut parts: Vec<Value> = Vec::new();
    let flush = |parts: &mut Vec<Value>, input: &mut Vec<Value>| {
        if !parts.is_empty() {
            input.push(json!({"type": "message", "role": role, "content": std::mem::take(parts)}));
        }
    };
    for part in &message.content {
        match part {
            ContentPart::Text(text) | ContentPart::Refusal(text) if !text.is_empty() => {
                parts.push(json!({"type": text_type, "text": text}));
            }
            ContentPart::Image { url, detail } if message.role != Role::Assistant => {
                parts.push(json!({
                    "type": "input_image",
                    "image_url": url,
                    "detail": detail.as_deref().unwrap_or("auto"),
                }));
            }
            ContentPart::ToolCall {
                id,
                name,
                arguments,
            } => {
                flush(&mut parts, input);
                input.push(json!({
                    "type": "function_call", "call_id": id, "name": name, "arguments": arguments,
                }));
            }
            ContentPart::ToolResult {
                call_id, content, ..
            } => {
                flush(&mut parts, input);
                let output = fit.result_text(&field, content)?;
                input.push(
                    json!({"type": "function_call_output", "call_id": call_id, "output": output}),
                );
            }
            ContentPart::Opaque {
                family: Family::OpenAi,
                value,
            } if value.get("type").and_then(Value::as_str) == Some("file") => {
                let mut file = value.get("file").cloned().unwrap_or_else(|| json!({}));
                file["type"] = "input_file".into();
                parts.push(file);
            }
            ContentPart::Opaque { family, value } => {
                if let Some(text) = fit.foreign_part(&field, *family, value)? {
                    parts.push(json!({"type": text_type, "text": text}));
                }
            }
            ContentPart::Image { .. } => fit.left_out("messages.assistant.image"),
            // Reasoning from another provider cannot be verified by OpenAI; cache markers have
            // no equivalent (OpenAI caches prefixes by itself); empty text says nothing.
            _ => {}
        }
    }
    flush(&mut parts, input);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canonical::{Tool, UnsupportedPolicy};

    fn encoded(request: &ChatRequest, fit: &mut Fit) -> Value {
        let body = encode(request, "gpt-upstream", fit).expect("encoded");
        serde_json::to_value(&body).expect("serializes")
    }

    fn fit() -> Fit {
        Fit::new(
            UnsupportedPolicy::Drop,
            Some(Family::OpenAiResponses),
            "a Responses API model",
        )
    }

    fn message(role: Role, content: Vec<ContentPart>) -> Message {
        Message {
            role,
            name: None,
            content,
            plain_text: false,
            extensions: Map::new(),
        }
    }

    #[test]
    fn a_responses_clients_request_goes_up_unchanged_but_for_the_model() {
        let native = br#"{"model":"alias","input":"hi","tools":[{"type":"web_search"},{"type":"function","name":"f","parameters":{"properties":{"z":{},"a":{}}}}],"previous_response_id":"resp_1"}"#;
        let request = ChatRequest {
            extension_family: Family::OpenAiResponses,
            native: Some(bytes::Bytes::from_static(native)),
            ..ChatRequest::default()
        };
        let mut fit = fit();
        let body = encode(&request, "gpt-upstream", &mut fit).expect("encoded");
        assert!(fit.native());
        let text = serde_json::to_string(&body).expect("serializes");
        assert!(
            text.contains(r#""properties":{"z":{},"a":{}}"#),
            "nested values keep their order: {text}"
        );
        let body: Value = serde_json::from_str(&text).expect("json");
        assert_eq!(body["model"], "gpt-upstream");
        assert_eq!(body["tools"][0]["type"], "web_search");
        assert_eq!(body["previous_response_id"], "resp_1");
    }

    #[test]
    fn a_tool_loop_becomes_items_in_order() {
        let request = ChatRequest {
            model: "m".into(),
            messages: vec![
                message(Role::System, vec![ContentPart::Text("Be terse.".into())]),
                message(Role::User, vec![ContentPart::Text("Weather?".into())]),
                message(
                    Role::Assistant,
                    vec![ContentPart::ToolCall {
                        id: "call_1".into(),
                        name: "weather".into(),
                        arguments: "{\"city\":\"Oslo\"}".into(),
                    }],
                ),
                message(
                    Role::Tool,
                    vec![ContentPart::ToolResult {
                        call_id: "call_1".into(),
                        content: vec![ContentPart::Text("-3C".into())],
                        is_error: false,
                    }],
                ),
            ],
            tools: vec![Tool {
                name: "weather".into(),
                description: None,
                parameters: Some(json!({"type": "object"})),
                strict: None,
                cache: None,
                extensions: Map::new(),
            }],
            max_output_tokens: Some(4),
            stop: vec!["END".into()],
            ..ChatRequest::default()
        };
        let mut fit = fit();
        let body = encoded(&request, &mut fit);
        let kinds: Vec<_> = body["input"]
            .as_array()
            .expect("input")
            .iter()
            .map(|item| item["type"].as_str().unwrap_or_default().to_owned())
            .collect();
        assert_eq!(
            kinds,
            [
                "message",
                "message",
                "function_call",
                "function_call_output"
            ]
        );
        assert_eq!(body["input"][0]["role"], "system");
        assert_eq!(body["input"][3]["output"], "-3C");
        assert_eq!(body["tools"][0]["name"], "weather");
        assert_eq!(body["max_output_tokens"], 16);
        assert_eq!(body["store"], false);
        assert_eq!(fit.into_dropped(), ["stop"]);
    }
}
