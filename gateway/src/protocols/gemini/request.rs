//! Gemini requests: wire → canonical (inbound) and canonical → wire (to Gemini upstreams).
//!
//! Mapping notes:
//! - Gemini function calls often carry no id. Calls without one get `call_<turn>_<n>`, and a
//!   `functionResponse` without an id answers the earliest unanswered call of the same name in
//!   the preceding model turn. On the way out, results find their function name by call id.
//! - A `thoughtSignature` on a part becomes a canonical reasoning part (empty text when it sat on
//!   a function call) right before it, and goes back onto the following part on the way out.
//! - Tool results go out as `functionResponse.response`: a JSON object result as is, anything
//!   else as `{"output": …}` (`{"error": …}` for failed tools), per Gemini's documented keys.
//! - Images go out inline; images by http(s) URL are refused (Gemini only takes Files-API URIs).

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::wire::{
    WireBlob, WireContent, WireFileData, WireFunctionCall, WireFunctionResponse,
    WireGenerationConfig, WirePart, WireRequest,
};
use crate::canonical::{
    ChatRequest, ContentPart, Family, Message, ResponseFormat, Role, Sampling, Tool, ToolChoice,
};
use crate::error::GatewayError;
use crate::protocols::shared;

fn invalid(param: impl Into<String>, message: impl Into<String>) -> GatewayError {
    GatewayError::invalid_param(param, message)
}

pub fn parse_body(body: &[u8]) -> Result<WireRequest, GatewayError> {
    shared::parse_json(body, "Invalid JSON payload received", |path, problem| {
        format!("Invalid value at '{path}': {problem}")
    })
}

/// Converts a Gemini request for `model` into the canonical request.
pub fn decode(wire: WireRequest, model: &str, stream: bool) -> Result<ChatRequest, GatewayError> {
    if wire.contents.is_empty() {
        return Err(invalid(
            "contents",
            "* GenerateContentRequest.contents: contents is not specified",
        ));
    }
    let mut messages = Vec::with_capacity(wire.contents.len() + 1);
    if let Some(system) = wire.system_instruction {
        let content: Vec<ContentPart> = system
            .parts
            .into_iter()
            .filter_map(|part| part.text)
            .map(ContentPart::Text)
            .collect();
        let plain_text = content.len() == 1;
        messages.push(Message {
            role: Role::System,
            name: None,
            content,
            plain_text,
        });
    }
    let mut unanswered: Vec<(String, String)> = Vec::new();
    for (turn, content) in wire.contents.into_iter().enumerate() {
        let role = match content.role.as_deref() {
            Some("user") | None => Role::User,
            Some("model") => Role::Assistant,
            Some(other) => {
                return Err(invalid(
                    format!("contents[{turn}].role"),
                    format!("Please use a valid role: user, model. Got '{other}'."),
                ));
            }
        };
        decode_content(turn, role, content.parts, &mut unanswered, &mut messages)?;
    }
    let mut extensions = wire.extra;
    let tools = decode_tools(wire.tools.unwrap_or_default(), &mut extensions)?;
    let tool_choice = wire.tool_config.as_ref().and_then(decode_tool_config);
    let config = wire.generation_config.unwrap_or_default();
    let response_format = match (
        config.response_mime_type.as_deref(),
        &config.response_json_schema,
        &config.response_schema,
    ) {
        (_, Some(schema), _) | (_, None, Some(schema)) => Some(ResponseFormat::JsonSchema {
            name: "response".to_owned(),
            description: None,
            schema: Some(schema.clone()),
            strict: None,
        }),
        (Some("application/json"), None, None) => Some(ResponseFormat::JsonObject),
        _ => None,
    };
    let (reasoning_effort, reasoning_budget) = decode_thinking(config.thinking_config.as_ref());
    if let Some(thinking) = config.thinking_config {
        extensions.insert("generationConfig.thinkingConfig".to_owned(), thinking);
    }
    for (key, value) in config.extra {
        extensions.insert(format!("generationConfig.{key}"), value);
    }
    Ok(ChatRequest {
        model: model.to_owned(),
        messages,
        tools,
        tool_choice,
        parallel_tool_calls: None,
        sampling: Sampling {
            temperature: config.temperature,
            top_p: config.top_p,
            top_k: config.top_k,
            presence_penalty: config.presence_penalty,
            frequency_penalty: config.frequency_penalty,
            seed: config.seed,
            n: config.candidate_count,
        },
        max_output_tokens: config.max_output_tokens,
        legacy_max_tokens: false,
        stop: config.stop_sequences.unwrap_or_default(),
        response_format,
        reasoning_effort,
        reasoning_budget,
        user: None,
        metadata: None,
        stream,
        include_usage: true,
        extensions,
        extension_family: Family::Gemini,
    })
}

fn decode_thinking(config: Option<&Value>) -> (Option<String>, Option<u64>) {
    let Some(config) = config else {
        return (None, None);
    };
    if let Some(level) = config
        .get("thinkingLevel")
        .or_else(|| config.get("thinking_level"))
        .and_then(Value::as_str)
    {
        return (Some(level.to_ascii_lowercase()), None);
    }
    match config
        .get("thinkingBudget")
        .or_else(|| config.get("thinking_budget"))
        .and_then(Value::as_i64)
    {
        Some(0) => (Some("none".to_owned()), None),
        Some(budget) if budget > 0 => (None, Some(budget as u64)),
        _ => (None, None),
    }
}

fn decode_content(
    turn: usize,
    role: Role,
    parts: Vec<WirePart>,
    unanswered: &mut Vec<(String, String)>,
    messages: &mut Vec<Message>,
) -> Result<(), GatewayError> {
    if role == Role::Assistant {
        unanswered.clear();
    }
    let mut content = Vec::with_capacity(parts.len());
    let mut results = Vec::new();
    for (index, part) in parts.into_iter().enumerate() {
        let field = format!("contents[{turn}].parts[{index}]");
        let signature = part.thought_signature.clone();
        if let Some(call) = part.function_call {
            if role != Role::Assistant {
                return Err(invalid(
                    field,
                    "functionCall parts belong in 'model' turns.",
                ));
            }
            let id = call.id.unwrap_or_else(|| format!("call_{turn}_{index}"));
            if let Some(signature) = signature {
                content.push(ContentPart::Reasoning {
                    text: String::new(),
                    signature: Some(signature),
                });
            }
            unanswered.push((call.name.clone(), id.clone()));
            content.push(ContentPart::ToolCall {
                id,
                name: call.name,
                arguments: args_string(&call.args),
            });
        } else if let Some(response) = part.function_response {
            if role != Role::User {
                return Err(invalid(
                    field,
                    "functionResponse parts belong in 'user' turns.",
                ));
            }
            let call_id = match response.id {
                Some(id) => id,
                None => {
                    let position = unanswered.iter().position(|(name, _)| *name == response.name).ok_or_else(|| {
                        invalid(&field, format!("functionResponse '{}' answers no functionCall of the previous model turn.", response.name))
                    })?;
                    unanswered.remove(position).1
                }
            };
            let (text, is_error) = result_text(&response.response);
            results.push(ContentPart::ToolResult {
                call_id,
                content: vec![ContentPart::Text(text)],
                is_error,
            });
        } else if let Some(text) = part.text {
            if part.thought == Some(true) {
                content.push(ContentPart::Reasoning { text, signature });
            } else {
                if let Some(signature) = signature {
                    content.push(ContentPart::Reasoning {
                        text: String::new(),
                        signature: Some(signature),
                    });
                }
                content.push(ContentPart::Text(text));
            }
        } else if let Some(blob) = part.inline_data {
            content.push(ContentPart::Image {
                url: format!("data:{};base64,{}", blob.mime_type, blob.data),
                detail: None,
            });
        } else if let Some(file) = part.file_data {
            content.push(ContentPart::Image {
                url: file.file_uri,
                detail: None,
            });
        } else {
            let kind = part
                .extra
                .keys()
                .next()
                .cloned()
                .unwrap_or_else(|| "empty".to_owned());
            return Err(invalid(
                field,
                format!("Parts of kind '{kind}' are not supported by this gateway."),
            ));
        }
    }
    for result in results {
        messages.push(Message {
            role: Role::Tool,
            name: None,
            content: vec![result],
            plain_text: false,
        });
    }
    if !content.is_empty() {
        // A single text part reads best as a plain string for targets that have one.
        let plain_text = matches!(content.as_slice(), [ContentPart::Text(_)]);
        messages.push(Message {
            role,
            name: None,
            content,
            plain_text,
        });
    }
    Ok(())
}

fn args_string(args: &Value) -> String {
    if args.is_null() {
        "{}".to_owned()
    } else {
        args.to_string()
    }
}

/// A function response as tool-result text: `output` unwrapped when it is the only key, the
/// whole object otherwise; `error` marks a failed tool.
fn result_text(response: &Value) -> (String, bool) {
    let text = |value: &Value| match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    match response.as_object() {
        Some(object) if object.len() == 1 && object.contains_key("output") => {
            (text(&object["output"]), false)
        }
        Some(object) if object.len() == 1 && object.contains_key("error") => {
            (text(&object["error"]), true)
        }
        _ => (text(response), false),
    }
}

fn decode_tools(
    tools: Vec<Value>,
    extensions: &mut Map<String, Value>,
) -> Result<Vec<Tool>, GatewayError> {
    let mut decoded = Vec::new();
    let mut other = Vec::new();
    for (index, tool) in tools.into_iter().enumerate() {
        let declarations = tool
            .get("functionDeclarations")
            .or_else(|| tool.get("function_declarations"));
        let Some(declarations) = declarations.and_then(Value::as_array) else {
            other.push(tool);
            continue;
        };
        for (position, declaration) in declarations.iter().enumerate() {
            let name = declaration
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    invalid(
                        format!("tools[{index}].functionDeclarations[{position}].name"),
                        "A function declaration needs a name.",
                    )
                })?;
            let parameters = declaration
                .get("parametersJsonSchema")
                .or_else(|| declaration.get("parameters_json_schema"))
                .cloned()
                .or_else(|| declaration.get("parameters").map(openapi_to_json_schema));
            decoded.push(Tool {
                name: name.to_owned(),
                description: declaration
                    .get("description")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                parameters,
                strict: None,
                cache: None,
            });
        }
    }
    if !other.is_empty() {
        extensions.insert("tools".to_owned(), Value::Array(other));
    }
    Ok(decoded)
}

/// Gemini's OpenAPI-subset schemas spell types in upper case (`OBJECT`); JSON Schema wants
/// lower case. Everything else passes through.
fn openapi_to_json_schema(schema: &Value) -> Value {
    match schema {
        Value::Object(object) => Value::Object(
            object
                .iter()
                .map(|(key, value)| {
                    let value = match (key.as_str(), value) {
                        ("type", Value::String(kind)) => Value::String(kind.to_ascii_lowercase()),
                        _ => openapi_to_json_schema(value),
                    };
                    (key.clone(), value)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(openapi_to_json_schema).collect()),
        other => other.clone(),
    }
}

fn decode_tool_config(config: &Value) -> Option<ToolChoice> {
    let calling = config
        .get("functionCallingConfig")
        .or_else(|| config.get("function_calling_config"))?;
    let allowed = calling
        .get("allowedFunctionNames")
        .or_else(|| calling.get("allowed_function_names"))
        .and_then(Value::as_array);
    match calling.get("mode").and_then(Value::as_str)? {
        "NONE" => Some(ToolChoice::None),
        "ANY" => match allowed.map(Vec::as_slice) {
            Some([only]) => only
                .as_str()
                .map(|name| ToolChoice::Function(name.to_owned())),
            _ => Some(ToolChoice::Required),
        },
        _ => Some(ToolChoice::Auto),
    }
}

/// Builds the upstream request for a Gemini channel.
pub fn encode(request: &ChatRequest) -> Result<WireRequest, GatewayError> {
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
    } else {
        shared::refuse_foreign_extensions(request, "a Gemini model")?;
    }
    let (system_instruction, contents) = encode_messages(request)?;
    let mut tools = Vec::new();
    if !request.tools.is_empty() {
        let declarations: Vec<Value> = request
            .tools
            .iter()
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
                    let text: String = content
                        .iter()
                        .filter_map(|part| match part {
                            ContentPart::Text(text) => Some(text.as_str()),
                            _ => None,
                        })
                        .collect();
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
                ContentPart::Opaque(value) => {
                    let kind = value
                        .get("type")
                        .and_then(Value::as_str)
                        .unwrap_or("unknown");
                    return Err(invalid(
                        format!("messages[{index}].content"),
                        format!("content parts of type `{kind}` cannot be sent to a Gemini model"),
                    ));
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
