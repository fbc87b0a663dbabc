//! Canonical ↔ Bedrock Converse: the request body, and the answer back.
//!
//! Mapping notes: system text goes to `system`; consecutive same-role turns merge (Bedrock
//! requires strict alternation) with tool results first in a user turn; images must be inline
//! (Bedrock does not fetch URLs); tool ids are sanitized to Bedrock's `[a-zA-Z0-9_-]{1,64}` the
//! same way for calls and results; cache points become `cachePoint` blocks; thinking for Claude
//! models goes through `additionalModelRequestFields.thinking`. Usage: `inputTokens` excludes
//! cache reads and writes, as with Anthropic.

use serde_json::{Map, Value, json};

use crate::canonical::{
    ChatRequest, ChatResponse, Choice, ContentPart, Family, FinishReason, ResponseFormat, Role,
    ToolChoice, Usage,
};
use crate::error::{ErrorKind, GatewayError};
use crate::protocols::anthropic::response::unix_now;
use crate::protocols::fit::Fit;

/// Bedrock ids must match `[a-zA-Z0-9_-]{1,64}`; the same id always maps to the same result.
pub fn sanitize_id(id: &str) -> String {
    let mut clean: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if clean.is_empty() {
        clean.push('_');
    }
    clean.truncate(64);
    clean
}

pub fn encode(
    request: &ChatRequest,
    upstream_model: &str,
    default_max_tokens: u64,
    fit: &mut Fit,
) -> Result<Value, GatewayError> {
    fit.openai_only_sampling(request)?;
    fit.foreign(request)?;
    if matches!(
        request.response_format,
        Some(ResponseFormat::JsonObject | ResponseFormat::JsonSchema { .. })
    ) {
        return Err(fit.required(
            "response_format",
            "structured output is not supported for Bedrock channels yet",
        ));
    }
    let (system, messages) = encode_messages(request, fit)?;
    let mut body = json!({"messages": messages});
    if !system.is_empty() {
        body["system"] = Value::Array(system);
    }
    let mut inference = Map::new();
    inference.insert(
        "maxTokens".into(),
        request
            .max_output_tokens
            .unwrap_or(default_max_tokens)
            .into(),
    );
    if let Some(temperature) = request.sampling.temperature {
        inference.insert("temperature".into(), temperature.min(1.0).into());
    }
    if let Some(top_p) = request.sampling.top_p {
        inference.insert("topP".into(), top_p.into());
    }
    if !request.stop.is_empty() {
        inference.insert("stopSequences".into(), request.stop.clone().into());
    }
    body["inferenceConfig"] = Value::Object(inference);
    let history_has_tools = request
        .messages
        .iter()
        .flat_map(|message| &message.content)
        .any(|part| {
            matches!(
                part,
                ContentPart::ToolCall { .. } | ContentPart::ToolResult { .. }
            )
        });
    let tool_choice = match &request.tool_choice {
        Some(ToolChoice::Auto | ToolChoice::Opaque(_)) | None => None,
        Some(ToolChoice::Required) => Some(json!({"any": {}})),
        Some(ToolChoice::Function(name)) => Some(json!({"tool": {"name": name}})),
        // Converse has no "none": tools are left out unless the history needs them declared.
        Some(ToolChoice::None) => None,
    };
    let omit_tools = matches!(request.tool_choice, Some(ToolChoice::None)) && !history_has_tools;
    let declared = fit.tools(request);
    if !declared.is_empty() && !omit_tools {
        let mut tools = Vec::new();
        for tool in declared {
            let mut spec = json!({"name": tool.name, "inputSchema": {"json": tool.parameters.clone().unwrap_or_else(|| json!({"type": "object", "properties": {}}))}});
            if let Some(description) = &tool.description {
                spec["description"] = description.clone().into();
            }
            tools.push(json!({"toolSpec": spec}));
            if tool.cache.is_some() {
                tools.push(json!({"cachePoint": {"type": "default"}}));
            }
        }
        let mut config = json!({"tools": tools});
        if let Some(choice) = tool_choice {
            config["toolChoice"] = choice;
        }
        body["toolConfig"] = config;
    }
    if let Some(thinking) = thinking(request, upstream_model) {
        body["additionalModelRequestFields"] = json!({"thinking": thinking});
    }
    // Claude models on Bedrock say which stop sequence matched only when asked for it.
    if !request.stop.is_empty() && upstream_model.contains("anthropic") {
        body["additionalModelResponseFieldPaths"] = json!(["/stop_sequence"]);
    }
    Ok(body)
}

/// Extended thinking, for the Claude models on Bedrock (others have no common switch).
fn thinking(request: &ChatRequest, upstream_model: &str) -> Option<Value> {
    if !upstream_model.contains("anthropic") {
        return None;
    }
    if let Some(thinking) = request
        .extensions
        .get("thinking")
        .filter(|_| request.extension_family == Family::Anthropic)
    {
        return Some(thinking.clone());
    }
    let budget = match (
        request.reasoning_budget,
        request.reasoning_effort.as_deref(),
    ) {
        (Some(budget), _) => budget.max(1024),
        (None, None | Some("none")) => return None,
        (None, Some("minimal")) => 1024,
        (None, Some("low")) => 2048,
        (None, Some("medium")) => 8192,
        (None, Some(_)) => 16384,
    };
    Some(json!({"type": "enabled", "budget_tokens": budget}))
}

fn encode_messages(
    request: &ChatRequest,
    fit: &mut Fit,
) -> Result<(Vec<Value>, Vec<Value>), GatewayError> {
    let mut system = Vec::new();
    let mut messages: Vec<(&str, Vec<Value>)> = Vec::new();
    for (index, message) in request.messages.iter().enumerate() {
        let role = match message.role {
            Role::System | Role::Developer => {
                for part in &message.content {
                    match part {
                        ContentPart::Text(text) if !text.is_empty() => {
                            system.push(json!({"text": text}))
                        }
                        ContentPart::CachePoint(_) => {
                            system.push(json!({"cachePoint": {"type": "default"}}))
                        }
                        _ => {}
                    }
                }
                continue;
            }
            Role::Assistant => "assistant",
            Role::User | Role::Tool => "user",
        };
        let blocks = encode_parts(index, &message.content, fit)?;
        if blocks.is_empty() {
            continue;
        }
        match messages.last_mut() {
            Some((last_role, last)) if *last_role == role => {
                if message.role == Role::Tool {
                    let position = last
                        .iter()
                        .take_while(|block| block.get("toolResult").is_some())
                        .count();
                    last.splice(position..position, blocks);
                } else {
                    last.extend(blocks);
                }
            }
            _ => messages.push((role, blocks)),
        }
    }
    let messages = messages
        .into_iter()
        .map(|(role, content)| json!({"role": role, "content": content}))
        .collect();
    Ok((system, messages))
}

fn encode_parts(
    index: usize,
    parts: &[ContentPart],
    fit: &mut Fit,
) -> Result<Vec<Value>, GatewayError> {
    let mut blocks = Vec::with_capacity(parts.len());
    for part in parts {
        let block = match part {
            ContentPart::Text(text) | ContentPart::Refusal(text) if text.is_empty() => continue,
            ContentPart::Text(text) | ContentPart::Refusal(text) => json!({"text": text}),
            ContentPart::Image { url, .. } => image(index, url)?,
            ContentPart::ToolCall {
                id,
                name,
                arguments,
            } => {
                let input: Value = if arguments.trim().is_empty() {
                    json!({})
                } else {
                    serde_json::from_str(arguments).map_err(|_| {
                        GatewayError::invalid_param(format!("messages[{index}].tool_calls"), format!("the arguments of tool call `{id}` are not valid JSON, which Bedrock requires"))
                    })?
                };
                json!({"toolUse": {"toolUseId": sanitize_id(id), "name": name, "input": input}})
            }
            ContentPart::ToolResult {
                call_id,
                content,
                is_error,
            } => {
                let field = format!("messages[{index}].content");
                let text = fit.result_text(&field, content)?;
                let mut result = json!({"toolUseId": sanitize_id(call_id), "content": [{"text": if text.is_empty() { " " } else { &text }}]});
                if *is_error {
                    result["status"] = "error".into();
                }
                json!({"toolResult": result})
            }
            ContentPart::Reasoning {
                text,
                signature: Some(signature),
            } if !text.is_empty() => {
                json!({"reasoningContent": {"reasoningText": {"text": text, "signature": signature}}})
            }
            ContentPart::Reasoning { .. } => continue,
            ContentPart::RedactedReasoning { data } => {
                json!({"reasoningContent": {"redactedContent": data}})
            }
            ContentPart::CachePoint(_) => json!({"cachePoint": {"type": "default"}}),
            ContentPart::Opaque { family, value } => {
                let field = format!("messages[{index}].content");
                match fit.foreign_part(&field, *family, value)? {
                    Some(text) => json!({"text": text}),
                    None => continue,
                }
            }
        };
        blocks.push(block);
    }
    Ok(blocks)
}

fn image(index: usize, url: &str) -> Result<Value, GatewayError> {
    let inline = url
        .strip_prefix("data:")
        .and_then(|rest| rest.split_once(";base64,"));
    let Some((mime, data)) = inline else {
        return Err(GatewayError::invalid_param(
            format!("messages[{index}].content"),
            "Bedrock models take images inline: send them as data: URLs (base64), not by web URL.",
        ));
    };
    let format = match mime {
        "image/png" => "png",
        "image/jpeg" | "image/jpg" => "jpeg",
        "image/gif" => "gif",
        "image/webp" => "webp",
        other => {
            return Err(GatewayError::invalid_param(
                format!("messages[{index}].content"),
                format!("Bedrock does not take images of type `{other}`"),
            ));
        }
    };
    Ok(json!({"image": {"format": format, "source": {"bytes": data}}}))
}

/// `fields` is the answer's `additionalModelResponseFields`, where Claude models put the stop
/// sequence that matched.
pub fn decode_stop_reason(reason: &str, fields: Option<&Value>) -> FinishReason {
    match reason {
        "end_turn" => FinishReason::Stop,
        "stop_sequence" => FinishReason::StopSequence(
            fields
                .and_then(|fields| fields.get("stop_sequence"))
                .and_then(Value::as_str)
                .map(str::to_owned),
        ),
        "tool_use" => FinishReason::ToolCalls,
        "max_tokens" | "model_context_window_exceeded" => FinishReason::Length,
        "guardrail_intervened" | "content_filtered" => FinishReason::ContentFilter,
        other => FinishReason::Other(other.to_owned()),
    }
}

pub fn decode_usage(usage: &Value) -> Usage {
    let count = |name: &str| usage.get(name).and_then(Value::as_u64).unwrap_or_default();
    Usage {
        input_tokens: count("inputTokens"),
        cache_read_tokens: count("cacheReadInputTokens"),
        cache_write_tokens: count("cacheWriteInputTokens"),
        output_tokens: count("outputTokens"),
        reasoning_tokens: 0,
    }
}

pub fn decode(body: &[u8], model: &str) -> Result<ChatResponse, GatewayError> {
    let value: Value = serde_json::from_slice(body).map_err(|error| {
        GatewayError::new(
            ErrorKind::BadGateway,
            format!("it sent an answer the gateway could not read ({error})"),
        )
    })?;
    let mut content = Vec::new();
    for block in value["output"]["message"]["content"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if let Some(text) = block.get("text").and_then(Value::as_str) {
            content.push(ContentPart::Text(text.to_owned()));
        } else if let Some(call) = block.get("toolUse") {
            content.push(ContentPart::ToolCall {
                id: call["toolUseId"].as_str().unwrap_or_default().to_owned(),
                name: call["name"].as_str().unwrap_or_default().to_owned(),
                arguments: call
                    .get("input")
                    .map_or_else(|| "{}".to_owned(), Value::to_string),
            });
        } else if let Some(reasoning) = block.get("reasoningContent") {
            if let Some(text) = reasoning.get("reasoningText") {
                content.push(ContentPart::Reasoning {
                    text: text["text"].as_str().unwrap_or_default().to_owned(),
                    signature: text["signature"].as_str().map(str::to_owned),
                });
            } else if let Some(data) = reasoning.get("redactedContent").and_then(Value::as_str) {
                content.push(ContentPart::RedactedReasoning {
                    data: data.to_owned(),
                });
            }
        }
    }
    Ok(ChatResponse {
        id: format!("bedrock-{}", unix_now()),
        created: unix_now(),
        model: model.to_owned(),
        choices: vec![Choice {
            index: 0,
            content,
            finish_reason: value["stopReason"].as_str().map(|reason| {
                decode_stop_reason(reason, value.get("additionalModelResponseFields"))
            }),
            logprobs: None,
        }],
        usage: value.get("usage").map(decode_usage),
        system_fingerprint: None,
        service_tier: None,
        native: None,
    })
}
