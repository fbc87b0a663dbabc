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

use serde_json::{Map, Value};

use super::wire::{WirePart, WireRequest};
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
            extensions: Default::default(),
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
        routing: Default::default(),
        ..ChatRequest::default()
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
            extensions: Default::default(),
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
            extensions: Default::default(),
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
                extensions: Default::default(),
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
