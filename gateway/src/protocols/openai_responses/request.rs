//! OpenAI Responses requests (`POST /v1/responses`) → the canonical request.
//!
//! `input` items map to canonical messages: `message` items by role, consecutive
//! `function_call` items into one assistant message with tool calls, `function_call_output`
//! items into tool messages, `instructions` into a leading system message. `reasoning` items are
//! encrypted OpenAI model state: the gateway's upstreams (Chat Completions, Anthropic) cannot take
//! them back, so they are left out of the canonical history. Server-side state
//! (`previous_response_id`, `conversation`, `background`) needs storage the gateway does not keep
//! and is refused with a 400; hosted tools (web search, file search, …) likewise.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::canonical::{
    ChatRequest, ContentPart, Family, Message, ResponseFormat, Role, Sampling, Tool, ToolChoice,
};
use crate::error::GatewayError;
use crate::protocols::shared;

#[derive(Debug, Deserialize)]
pub struct WireRequest {
    #[serde(default)]
    pub model: String,
    #[serde(default)]
    pub input: Option<Value>,
    #[serde(default)]
    pub instructions: Option<String>,
    #[serde(default)]
    pub max_output_tokens: Option<u64>,
    #[serde(default)]
    pub temperature: Option<f64>,
    #[serde(default)]
    pub top_p: Option<f64>,
    #[serde(default)]
    pub tools: Option<Vec<Value>>,
    #[serde(default)]
    pub tool_choice: Option<Value>,
    #[serde(default)]
    pub parallel_tool_calls: Option<bool>,
    #[serde(default)]
    pub text: Option<Value>,
    #[serde(default)]
    pub reasoning: Option<Value>,
    #[serde(default)]
    pub stream: Option<bool>,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub safety_identifier: Option<String>,
    #[serde(default)]
    pub previous_response_id: Option<String>,
    #[serde(default)]
    pub conversation: Option<Value>,
    #[serde(default)]
    pub background: Option<bool>,
    /// `store`, `include`, `prompt_cache_key`, `service_tier`, `metadata`, `truncation`, …
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

pub fn parse_body(body: &[u8]) -> Result<WireRequest, GatewayError> {
    shared::parse_json(
        body,
        "We could not parse the JSON body of your request",
        |path, problem| format!("Invalid value for '{path}': {problem}"),
    )
}

fn invalid(param: impl Into<String>, message: impl Into<String>) -> GatewayError {
    GatewayError::invalid_param(param, message)
}

pub fn decode(wire: WireRequest) -> Result<ChatRequest, GatewayError> {
    if wire.model.trim().is_empty() {
        return Err(invalid("model", "Missing required parameter: 'model'."));
    }
    if wire.previous_response_id.is_some() || wire.conversation.is_some() {
        let param = if wire.previous_response_id.is_some() {
            "previous_response_id"
        } else {
            "conversation"
        };
        return Err(invalid(
            param,
            format!(
                "'{param}' needs responses stored server-side, which this gateway does not keep. Send the full conversation in 'input' (store: false)."
            ),
        ));
    }
    if wire.background == Some(true) {
        return Err(invalid(
            "background",
            "Background responses are not supported by this gateway.",
        ));
    }
    let mut messages = Vec::new();
    if let Some(instructions) = wire.instructions.filter(|text| !text.is_empty()) {
        messages.push(text_message(Role::System, instructions));
    }
    match wire.input {
        None => return Err(invalid("input", "Missing required parameter: 'input'.")),
        Some(Value::String(text)) => messages.push(text_message(Role::User, text)),
        Some(Value::Array(items)) => {
            for (index, item) in items.into_iter().enumerate() {
                decode_item(index, item, &mut messages)?;
            }
        }
        Some(_) => {
            return Err(invalid(
                "input",
                "Invalid type for 'input': expected a string or an array of items.",
            ));
        }
    }
    let tools = wire
        .tools
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(index, tool)| decode_tool(index, tool))
        .collect::<Result<Vec<_>, _>>()?;
    let tool_choice = wire.tool_choice.map(decode_tool_choice).transpose()?;
    let response_format = wire
        .text
        .as_ref()
        .and_then(|text| text.get("format"))
        .map(decode_format)
        .transpose()?
        .flatten();
    let reasoning_effort = wire
        .reasoning
        .as_ref()
        .and_then(|reasoning| reasoning.get("effort"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let stream = wire.stream.unwrap_or(false);
    Ok(ChatRequest {
        model: wire.model,
        messages,
        tools,
        tool_choice,
        parallel_tool_calls: wire.parallel_tool_calls,
        sampling: Sampling {
            temperature: wire.temperature,
            top_p: wire.top_p,
            ..Sampling::default()
        },
        max_output_tokens: wire.max_output_tokens,
        legacy_max_tokens: false,
        stop: Vec::new(),
        response_format,
        reasoning_effort,
        reasoning_budget: None,
        user: wire.user.or(wire.safety_identifier),
        metadata: None,
        stream,
        include_usage: true,
        // Everything left is advisory for the gateway's targets (storage, includes, cache keys).
        extensions: Map::new(),
        extension_family: Family::OpenAi,
        routing: Default::default(),
    })
}

fn text_message(role: Role, text: String) -> Message {
    Message {
        role,
        name: None,
        content: vec![ContentPart::Text(text)],
        plain_text: true,
    }
}

fn decode_item(index: usize, item: Value, messages: &mut Vec<Message>) -> Result<(), GatewayError> {
    let field = format!("input[{index}]");
    let Value::Object(mut item) = item else {
        return Err(invalid(
            field,
            "Invalid type: each input item must be an object.",
        ));
    };
    let kind = item
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("message")
        .to_owned();
    let string = |item: &mut Map<String, Value>, key: &str| match item.remove(key) {
        Some(Value::String(value)) => Ok(value),
        _ => Err(invalid(
            format!("{field}.{key}"),
            format!("Missing required parameter: '{field}.{key}'."),
        )),
    };
    match kind.as_str() {
        "message" => {
            let role = match item.get("role").and_then(Value::as_str) {
                Some("user") => Role::User,
                Some("assistant") => Role::Assistant,
                Some("system") => Role::System,
                Some("developer") => Role::Developer,
                other => {
                    return Err(invalid(
                        format!("{field}.role"),
                        format!(
                            "Invalid value: {other:?}. Supported values are: 'user', 'assistant', 'system', and 'developer'."
                        ),
                    ));
                }
            };
            let (content, plain_text) =
                decode_content(&format!("{field}.content"), item.remove("content"))?;
            messages.push(Message {
                role,
                name: None,
                content,
                plain_text,
            });
        }
        "function_call" => {
            let call = ContentPart::ToolCall {
                id: string(&mut item, "call_id")?,
                name: string(&mut item, "name")?,
                arguments: string(&mut item, "arguments")?,
            };
            // Consecutive calls (and a preceding assistant message) form one assistant turn.
            match messages.last_mut() {
                Some(last) if last.role == Role::Assistant => last.content.push(call),
                _ => messages.push(Message {
                    role: Role::Assistant,
                    name: None,
                    content: vec![call],
                    plain_text: false,
                }),
            }
        }
        "function_call_output" => {
            let call_id = string(&mut item, "call_id")?;
            let content = match item.remove("output") {
                Some(Value::String(text)) => vec![ContentPart::Text(text)],
                other => decode_content(&format!("{field}.output"), other)?.0,
            };
            messages.push(Message {
                role: Role::Tool,
                name: None,
                content: vec![ContentPart::ToolResult {
                    call_id,
                    content,
                    is_error: false,
                }],
                plain_text: false,
            });
        }
        // Encrypted OpenAI reasoning state: see the module notes.
        "reasoning" => {}
        other => {
            return Err(invalid(
                format!("{field}.type"),
                format!("Input items of type '{other}' are not supported by this gateway."),
            ));
        }
    }
    Ok(())
}

fn decode_content(
    field: &str,
    content: Option<Value>,
) -> Result<(Vec<ContentPart>, bool), GatewayError> {
    match content {
        Some(Value::String(text)) => Ok((vec![ContentPart::Text(text)], true)),
        Some(Value::Array(parts)) => {
            let mut decoded = Vec::with_capacity(parts.len());
            for (index, part) in parts.into_iter().enumerate() {
                let part_field = format!("{field}[{index}]");
                let kind = part.get("type").and_then(Value::as_str).unwrap_or_default();
                let text = || part.get("text").and_then(Value::as_str).map(str::to_owned);
                decoded.push(match kind {
                    "input_text" | "output_text" | "text" => {
                        ContentPart::Text(text().ok_or_else(|| {
                            invalid(
                                format!("{part_field}.text"),
                                format!("Missing required parameter: '{part_field}.text'."),
                            )
                        })?)
                    }
                    "refusal" => ContentPart::Refusal(
                        part.get("refusal")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned(),
                    ),
                    "input_image" => ContentPart::Image {
                        url: part
                            .get("image_url")
                            .and_then(Value::as_str)
                            .map(str::to_owned)
                            .ok_or_else(|| {
                                invalid(
                                    format!("{part_field}.image_url"),
                                    "Only images given by 'image_url' are supported.",
                                )
                            })?,
                        detail: part
                            .get("detail")
                            .and_then(Value::as_str)
                            .map(str::to_owned),
                    },
                    other => {
                        return Err(invalid(
                            format!("{part_field}.type"),
                            format!(
                                "Content parts of type '{other}' are not supported by this gateway."
                            ),
                        ));
                    }
                });
            }
            Ok((decoded, false))
        }
        _ => Err(invalid(
            field,
            format!("Missing required parameter: '{field}'."),
        )),
    }
}

fn decode_tool(index: usize, tool: Value) -> Result<Tool, GatewayError> {
    let kind = tool.get("type").and_then(Value::as_str).unwrap_or_default();
    if kind != "function" {
        return Err(invalid(
            format!("tools[{index}].type"),
            format!(
                "Tools of type '{kind}' are not supported by this gateway; use function tools."
            ),
        ));
    }
    let name = tool.get("name").and_then(Value::as_str).ok_or_else(|| {
        invalid(
            format!("tools[{index}].name"),
            format!("Missing required parameter: 'tools[{index}].name'."),
        )
    })?;
    Ok(Tool {
        name: name.to_owned(),
        description: tool
            .get("description")
            .and_then(Value::as_str)
            .map(str::to_owned),
        parameters: tool
            .get("parameters")
            .filter(|schema| !schema.is_null())
            .cloned(),
        strict: tool.get("strict").and_then(Value::as_bool),
        cache: None,
    })
}

fn decode_tool_choice(choice: Value) -> Result<ToolChoice, GatewayError> {
    match &choice {
        Value::String(value) => match value.as_str() {
            "auto" => Ok(ToolChoice::Auto),
            "none" => Ok(ToolChoice::None),
            "required" => Ok(ToolChoice::Required),
            other => Err(invalid("tool_choice", format!("Invalid value: '{other}'."))),
        },
        Value::Object(object) if object.get("type").and_then(Value::as_str) == Some("function") => {
            object
                .get("name")
                .and_then(Value::as_str)
                .map(|name| ToolChoice::Function(name.to_owned()))
                .ok_or_else(|| {
                    invalid(
                        "tool_choice.name",
                        "Missing required parameter: 'tool_choice.name'.",
                    )
                })
        }
        _ => Ok(ToolChoice::Opaque(choice)),
    }
}

fn decode_format(format: &Value) -> Result<Option<ResponseFormat>, GatewayError> {
    match format.get("type").and_then(Value::as_str) {
        Some("text") | None => Ok(None),
        Some("json_object") => Ok(Some(ResponseFormat::JsonObject)),
        Some("json_schema") => Ok(Some(ResponseFormat::JsonSchema {
            name: format
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("response")
                .to_owned(),
            description: format
                .get("description")
                .and_then(Value::as_str)
                .map(str::to_owned),
            schema: format.get("schema").cloned(),
            strict: format.get("strict").and_then(Value::as_bool),
        })),
        Some(other) => Err(invalid(
            "text.format.type",
            format!("Invalid value: '{other}'."),
        )),
    }
}
