//! Canonical → Gemini requests, for Gemini upstreams (the mapping notes are in `request`).

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::wire::{
    WireBlob, WireContent, WireFileData, WireFunctionCall, WireFunctionResponse,
    WireGenerationConfig, WirePart, WireRequest,
};
use crate::canonical::{ChatRequest, ContentPart, Family, ResponseFormat, Role, ToolChoice};
use crate::error::GatewayError;
use crate::protocols::fit::Fit;

fn invalid(param: impl Into<String>, message: impl Into<String>) -> GatewayError {
    GatewayError::invalid_param(param, message)
}

/// Builds the upstream request for a Gemini channel.
pub fn encode(request: &ChatRequest, fit: &mut Fit) -> Result<WireRequest, GatewayError> {
    fit.foreign(request)?;
    let mut extra = Map::new();
    let mut config_extra = Map::new();
    let mut thinking_config = None;
    let mut other_tools = None;
    if request.extension_family == Family::Gemini {
        for (key, value) in &request.extensions {
            match key.strip_prefix("generationConfig.") {
                Some("thinkingConfig") => thinking_config = Some(value.clone()),
                Some(field) => {
                    config_extra.insert(field.to_owned(), value.clone());
                }
                None if key == "tools" => other_tools = Some(value.clone()),
                None => {
                    extra.insert(key.clone(), value.clone());
                }
            }
        }
    }
    let (system_instruction, contents) = encode_messages(request, fit)?;
    let mut tools = Vec::new();
    let declared = fit.tools(request);
    if !declared.is_empty() {
        let declarations: Vec<Value> = declared
            .into_iter()
            .map(|tool| {
                let mut declaration = json!({"name": tool.name});
                if let Some(description) = &tool.description {
                    declaration["description"] = description.clone().into();
                }
                if let Some(parameters) = &tool.parameters {
                    declaration["parametersJsonSchema"] = parameters.clone();
                }
                declaration
            })
            .collect();
        tools.push(json!({"functionDeclarations": declarations}));
    }
    if let Some(Value::Array(other)) = other_tools {
        tools.extend(other);
    }
    let tool_config = request.tool_choice.as_ref().and_then(|choice| {
        let config = match choice {
            ToolChoice::None => json!({"mode": "NONE"}),
            ToolChoice::Auto | ToolChoice::Opaque(_) => json!({"mode": "AUTO"}),
            ToolChoice::Required => json!({"mode": "ANY"}),
            ToolChoice::Function(name) => json!({"mode": "ANY", "allowedFunctionNames": [name]}),
        };
        (!request.tools.is_empty()).then(|| json!({"functionCallingConfig": config}))
    });
    let (response_mime_type, response_json_schema) = match &request.response_format {
        Some(ResponseFormat::JsonObject) => (Some("application/json".to_owned()), None),
        Some(ResponseFormat::JsonSchema { schema, .. }) => {
            (Some("application/json".to_owned()), schema.clone())
        }
        Some(ResponseFormat::Text) | None => (None, None),
    };
    let thinking_config = thinking_config.or_else(|| encode_thinking(request));
    let sampling = &request.sampling;
    let generation_config = WireGenerationConfig {
        temperature: sampling.temperature,
        top_p: sampling.top_p,
        top_k: sampling.top_k,
        candidate_count: sampling.n,
        max_output_tokens: request.max_output_tokens,
        stop_sequences: (!request.stop.is_empty()).then(|| request.stop.clone()),
        presence_penalty: sampling.presence_penalty,
        frequency_penalty: sampling.frequency_penalty,
        seed: sampling.seed,
        response_mime_type,
        response_schema: None,
        response_json_schema,
        thinking_config,
        extra: config_extra,
    };
    Ok(WireRequest {
        contents,
        system_instruction,
        tools: (!tools.is_empty()).then_some(tools),
        tool_config,
        generation_config: Some(generation_config),
        extra,
    })
}

fn encode_thinking(request: &ChatRequest) -> Option<Value> {
    if let Some(budget) = request.reasoning_budget {
        return Some(json!({"thinkingBudget": budget}));
    }
    let budget = match request.reasoning_effort.as_deref()? {
        "none" => 0,
        "minimal" => 512,
        "low" => 1024,
        "medium" => 8192,
        _ => 24576,
    };
    Some(json!({"thinkingBudget": budget}))
}

fn encode_messages(
    request: &ChatRequest,
    fit: &mut Fit,
) -> Result<(Option<WireContent>, Vec<WireContent>), GatewayError> {
    let mut system = Vec::new();
    let mut contents: Vec<WireContent> = Vec::new();
    let mut call_names: HashMap<&str, &str> = HashMap::new();
    for (index, message) in request.messages.iter().enumerate() {
        let role = match message.role {
            Role::System | Role::Developer => {
                system.extend(message.content.iter().filter_map(|part| match part {
                    ContentPart::Text(text) if !text.is_empty() => Some(WirePart {
                        text: Some(text.clone()),
                        ..WirePart::default()
                    }),
                    _ => None,
                }));
                continue;
            }
            Role::Assistant => "model",
            Role::User | Role::Tool => "user",
        };
        let mut parts = Vec::with_capacity(message.content.len());
        let mut pending_signature: Option<String> = None;
        for part in &message.content {
            let mut wire = match part {
                ContentPart::Text(text) | ContentPart::Refusal(text) => {
                    if text.is_empty() {
                        continue;
                    }
                    WirePart {
                        text: Some(text.clone()),
                        ..WirePart::default()
                    }
                }
                ContentPart::Reasoning { text, signature } if text.is_empty() => {
                    pending_signature.clone_from(signature);
                    continue;
                }
                ContentPart::Reasoning { text, signature } => WirePart {
                    text: Some(text.clone()),
                    thought: Some(true),
                    thought_signature: signature.clone(),
                    ..WirePart::default()
                },
                ContentPart::Image { url, .. } => image_part(index, url)?,
                ContentPart::ToolCall {
                    id,
                    name,
                    arguments,
                } => {
                    call_names.insert(id, name);
                    let args = if arguments.trim().is_empty() {
                        json!({})
                    } else {
                        serde_json::from_str(arguments).map_err(|_| {
                            invalid(format!("messages[{index}].tool_calls"), format!("the arguments of tool call `{id}` are not valid JSON, which Gemini requires"))
                        })?
                    };
                    WirePart {
                        function_call: Some(WireFunctionCall {
                            id: None,
                            name: name.clone(),
                            args,
                        }),
                        ..WirePart::default()
                    }
                }
                ContentPart::ToolResult {
                    call_id,
                    content,
                    is_error,
                } => {
                    let name = call_names.get(call_id.as_str()).copied().ok_or_else(|| {
                        invalid(format!("messages[{index}]"), format!("tool result `{call_id}` answers no earlier tool call; Gemini needs the function name"))
                    })?;
                    let field = format!("messages[{index}].content");
                    let text = fit.result_text(&field, content)?;
                    let response = match serde_json::from_str::<Value>(&text) {
                        Ok(Value::Object(object)) if !is_error => Value::Object(object),
                        _ if *is_error => json!({"error": text}),
                        _ => json!({"output": text}),
                    };
                    WirePart {
                        function_response: Some(WireFunctionResponse {
                            id: None,
                            name: name.to_owned(),
                            response,
                        }),
                        ..WirePart::default()
                    }
                }
                ContentPart::RedactedReasoning { .. } | ContentPart::CachePoint(_) => continue,
                ContentPart::Opaque { family, value } => {
                    let field = format!("messages[{index}].content");
                    match fit.foreign_part(&field, *family, value)? {
                        Some(text) => WirePart {
                            text: Some(text),
                            ..WirePart::default()
                        },
                        None => continue,
                    }
                }
            };
            if wire.thought_signature.is_none() {
                wire.thought_signature = pending_signature.take();
            }
            parts.push(wire);
        }
        if parts.is_empty() {
            continue;
        }
        match contents.last_mut() {
            Some(last) if last.role.as_deref() == Some(role) => last.parts.extend(parts),
            _ => contents.push(WireContent {
                role: Some(role.to_owned()),
                parts,
            }),
        }
    }
    let system = (!system.is_empty()).then_some(WireContent {
        role: None,
        parts: system,
    });
    Ok((system, contents))
}

fn image_part(index: usize, url: &str) -> Result<WirePart, GatewayError> {
    if let Some(rest) = url.strip_prefix("data:")
        && let Some((mime_type, data)) = rest.split_once(";base64,")
    {
        return Ok(WirePart {
            inline_data: Some(WireBlob {
                mime_type: mime_type.to_owned(),
                data: data.to_owned(),
            }),
            ..WirePart::default()
        });
    }
    if url.starts_with("gs://") || url.contains("generativelanguage.googleapis.com/") {
        return Ok(WirePart {
            file_data: Some(WireFileData {
                mime_type: None,
                file_uri: url.to_owned(),
            }),
            ..WirePart::default()
        });
    }
    Err(invalid(
        format!("messages[{index}].content"),
        "Gemini models take images inline: send them as data: URLs (base64), not by web URL.",
    ))
}
