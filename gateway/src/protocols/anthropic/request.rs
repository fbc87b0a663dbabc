//! Anthropic Messages requests: wire → canonical (inbound) and canonical → wire (to Anthropic
//! upstreams).
//!
//! Mapping notes (the rest of the table is in `protocols/mod.rs`):
//! - A user message with `tool_result` blocks becomes one canonical tool message per result,
//!   followed by a user message with the remaining blocks; on the way out, consecutive tool and
//!   user messages merge back into one user message with the results first, as Anthropic requires.
//! - `cache_control` on a block becomes a [`ContentPart::CachePoint`] right after it.
//! - `thinking` maps to `reasoning_budget` (and `reasoning_effort` for other families) and is
//!   kept verbatim for Anthropic upstreams.

use serde_json::{Map, Value};

use super::wire::{
    KnownBlock, WireBlock, WireCacheControl, WireContent, WireImageSource, WireMessage,
    WireRequest, WireToolChoice,
};
use crate::canonical::{
    CacheControl, ChatRequest, ContentPart, Family, Message, ResponseFormat, Role, Sampling, Tool,
    ToolChoice,
};
use crate::error::GatewayError;
use crate::protocols::shared;

/// Parses a body, naming the field at fault.
pub fn parse_body(body: &[u8]) -> Result<WireRequest, GatewayError> {
    shared::parse_json(
        body,
        "The request body is not valid JSON",
        |path, problem| format!("{path}: {problem}"),
    )
}

/// Converts an Anthropic request into the canonical one. `count_only` is for `count_tokens`,
/// which has no `max_tokens`.
pub fn decode(wire: WireRequest, count_only: bool) -> Result<ChatRequest, GatewayError> {
    if wire.model.trim().is_empty() {
        return Err(GatewayError::invalid_param(
            "model",
            "model: Field required",
        ));
    }
    let max_output_tokens = match (wire.max_tokens, count_only) {
        (Some(max), _) => Some(max),
        (None, true) => None,
        (None, false) => {
            return Err(GatewayError::invalid_param(
                "max_tokens",
                "max_tokens: Field required",
            ));
        }
    };
    if wire.messages.is_empty() {
        return Err(GatewayError::invalid_param(
            "messages",
            "messages: at least one message is required",
        ));
    }
    for (field, value, max) in [
        ("temperature", wire.temperature, 1.0),
        ("top_p", wire.top_p, 1.0),
    ] {
        if let Some(value) = value
            && !(0.0..=max).contains(&value)
        {
            return Err(GatewayError::invalid_param(
                field,
                format!("{field}: must be between 0 and {max}"),
            ));
        }
    }

    let mut messages = Vec::with_capacity(wire.messages.len() + 1);
    if let Some(system) = wire.system {
        let content = decode_content(system, "system", Role::System)?;
        messages.push(Message {
            role: Role::System,
            name: None,
            content: content.0,
            plain_text: content.1,
            extensions: Default::default(),
        });
    }
    for (index, message) in wire.messages.into_iter().enumerate() {
        decode_message(index, message, &mut messages)?;
    }

    let mut extensions = wire.extra;
    let (tools, server_tools) = decode_tools(wire.tools.unwrap_or_default())?;
    if !server_tools.is_empty() {
        extensions.insert("tools".to_owned(), Value::Array(server_tools));
    }
    let (tool_choice, parallel_tool_calls) = match wire.tool_choice {
        Some(choice) => decode_tool_choice(choice)?,
        None => (None, None),
    };
    let (mut reasoning_effort, reasoning_budget) =
        decode_thinking(wire.thinking.as_ref(), wire.output_config.as_ref());
    // Per-turn control: the latest system message's own effort is the one in force.
    if let Some(effort) = messages
        .iter()
        .rev()
        .filter(|message| message.role == Role::System)
        .find_map(|message| {
            message
                .extensions
                .get("output_config")?
                .get("effort")?
                .as_str()
        })
    {
        reasoning_effort = Some(effort.to_owned());
    }
    let response_format = wire
        .output_config
        .as_ref()
        .and_then(|config| config.get("format"))
        .and_then(|format| format.get("schema"))
        .map(|schema| ResponseFormat::JsonSchema {
            name: "response".to_owned(),
            description: None,
            schema: Some(schema.clone()),
            strict: Some(true),
        });
    if let Some(thinking) = wire.thinking {
        extensions.insert("thinking".to_owned(), thinking);
    }
    if let Some(output_config) = wire.output_config {
        extensions.insert("output_config".to_owned(), output_config);
    }
    let stream = wire.stream.unwrap_or(false);
    Ok(ChatRequest {
        model: wire.model,
        messages,
        tools,
        tool_choice,
        parallel_tool_calls,
        sampling: Sampling {
            temperature: wire.temperature,
            top_p: wire.top_p,
            top_k: wire.top_k,
            ..Sampling::default()
        },
        max_output_tokens,
        legacy_max_tokens: false,
        stop: wire.stop_sequences.unwrap_or_default(),
        response_format,
        reasoning_effort,
        reasoning_budget,
        user: wire.metadata.and_then(|metadata| metadata.user_id),
        metadata: None,
        stream,
        include_usage: stream,
        extensions,
        extension_family: Family::Anthropic,
        routing: Default::default(),
        ..ChatRequest::default()
    })
}

fn decode_thinking(
    thinking: Option<&Value>,
    output_config: Option<&Value>,
) -> (Option<String>, Option<u64>) {
    let effort = output_config
        .and_then(|config| config.get("effort"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    match thinking
        .and_then(|thinking| thinking.get("type"))
        .and_then(Value::as_str)
    {
        Some("enabled") => {
            let budget = thinking
                .and_then(|thinking| thinking.get("budget_tokens"))
                .and_then(Value::as_u64);
            let effort = effort.or_else(|| {
                budget.map(|budget| match budget {
                    0..=2048 => "low".to_owned(),
                    2049..=8192 => "medium".to_owned(),
                    _ => "high".to_owned(),
                })
            });
            (effort, budget)
        }
        Some("disabled") => (Some("none".to_owned()), None),
        Some("adaptive") => (effort.or_else(|| Some("medium".to_owned())), None),
        _ => (effort, None),
    }
}

fn cache_point(cache: Option<WireCacheControl>) -> Option<ContentPart> {
    cache.map(|cache| ContentPart::CachePoint(CacheControl { ttl: cache.ttl }))
}

/// Decodes content into parts; the flag says whether it was a bare string.
fn decode_content(
    content: WireContent,
    field: &str,
    role: Role,
) -> Result<(Vec<ContentPart>, bool), GatewayError> {
    match content {
        WireContent::Text(text) => Ok((vec![ContentPart::Text(text)], true)),
        WireContent::Blocks(blocks) => {
            let mut parts = Vec::with_capacity(blocks.len());
            for (index, block) in blocks.into_iter().enumerate() {
                decode_block(&format!("{field}.{index}"), role, block, &mut parts)?;
            }
            Ok((parts, false))
        }
    }
}

fn decode_block(
    field: &str,
    role: Role,
    block: WireBlock,
    parts: &mut Vec<ContentPart>,
) -> Result<(), GatewayError> {
    let block = match block {
        WireBlock::Known(block) => block,
        // Documents, tool references, server-tool calls and results, and block types added
        // later: kept verbatim for Anthropic upstreams; `fit` decides for the others.
        WireBlock::Other(value) => {
            if !value.is_object() || value.get("type").and_then(Value::as_str).is_none() {
                return Err(GatewayError::invalid_param(
                    format!("{field}.type"),
                    format!("{field}: every content block needs a `type`"),
                ));
            }
            parts.push(ContentPart::Opaque {
                family: Family::Anthropic,
                value,
            });
            return Ok(());
        }
    };
    let cache = match (block, role) {
        (
            KnownBlock::Text {
                text,
                cache_control,
            },
            _,
        ) => {
            parts.push(ContentPart::Text(text));
            cache_control
        }
        (
            KnownBlock::Image {
                source,
                cache_control,
            },
            Role::User | Role::Tool,
        ) => {
            let url = match source {
                WireImageSource::Base64 { media_type, data } => {
                    format!("data:{media_type};base64,{data}")
                }
                WireImageSource::Url { url } => url,
            };
            parts.push(ContentPart::Image { url, detail: None });
            cache_control
        }
        (
            KnownBlock::ToolUse {
                id,
                name,
                input,
                cache_control,
            },
            Role::Assistant,
        ) => {
            let arguments = if input.is_null() {
                "{}".to_owned()
            } else {
                input.to_string()
            };
            parts.push(ContentPart::ToolCall {
                id,
                name,
                arguments,
            });
            cache_control
        }
        (
            KnownBlock::ToolResult {
                tool_use_id,
                content,
                is_error,
                cache_control,
            },
            Role::User,
        ) => {
            let content = match content {
                Some(content) => {
                    decode_content(content, &format!("{field}.content"), Role::Tool)?.0
                }
                None => Vec::new(),
            };
            parts.push(ContentPart::ToolResult {
                call_id: tool_use_id,
                content,
                is_error: is_error.unwrap_or(false),
            });
            cache_control
        }
        (
            KnownBlock::Thinking {
                thinking,
                signature,
            },
            Role::Assistant,
        ) => {
            let signature = (!signature.is_empty()).then_some(signature);
            parts.push(ContentPart::Reasoning {
                text: thinking,
                signature,
            });
            None
        }
        (KnownBlock::RedactedThinking { data }, Role::Assistant) => {
            parts.push(ContentPart::RedactedReasoning { data });
            None
        }
        (_, role) => {
            return Err(GatewayError::invalid_param(
                format!("{field}.type"),
                format!(
                    "{field}: this block type is not allowed in a `{}` message",
                    role_name(role)
                ),
            ));
        }
    };
    parts.extend(cache_point(cache));
    Ok(())
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Assistant => "assistant",
        Role::System | Role::Developer => "system",
        Role::User | Role::Tool => "user",
    }
}

/// One Anthropic message may become several canonical ones (tool results, then the rest). A
/// `system` message between turns (Anthropic's mid-conversation system messages) stays a system
/// message at that point, its own `output_config` (per-turn control) with it.
fn decode_message(
    index: usize,
    wire: WireMessage,
    out: &mut Vec<Message>,
) -> Result<(), GatewayError> {
    let role = match wire.role.as_str() {
        "user" => Role::User,
        "assistant" => Role::Assistant,
        "system" if index > 0 => Role::System,
        other => {
            return Err(GatewayError::invalid_param(
                format!("messages.{index}.role"),
                format!(
                    "messages.{index}.role: Input should be 'user' or 'assistant', not '{other}'"
                ),
            ));
        }
    };
    if wire.output_config.is_some() && role != Role::System {
        return Err(GatewayError::invalid_param(
            format!("messages.{index}.output_config"),
            format!("messages.{index}.output_config: only system messages take an output_config"),
        ));
    }
    let (parts, plain_text) =
        decode_content(wire.content, &format!("messages.{index}.content"), role)?;
    if role == Role::System {
        let mut extensions = Map::new();
        if let Some(config) = wire.output_config {
            extensions.insert("output_config".to_owned(), config);
        }
        out.push(Message {
            role,
            name: None,
            content: parts,
            plain_text,
            extensions,
        });
        return Ok(());
    }
    if role == Role::Assistant {
        out.push(Message {
            role,
            name: None,
            content: parts,
            plain_text,
            extensions: Default::default(),
        });
        return Ok(());
    }
    let mut rest = Vec::new();
    for part in parts {
        match part {
            ContentPart::ToolResult { .. } => out.push(Message {
                role: Role::Tool,
                name: None,
                content: vec![part],
                plain_text: false,
                extensions: Default::default(),
            }),
            // A cache marker right after a tool result belongs to that result.
            ContentPart::CachePoint(_)
                if rest.is_empty() && out.last().is_some_and(|last| last.role == Role::Tool) =>
            {
                if let Some(last) = out.last_mut() {
                    last.content.push(part);
                }
            }
            other => rest.push(other),
        }
    }
    if !rest.is_empty() {
        out.push(Message {
            role: Role::User,
            name: None,
            content: rest,
            plain_text,
            extensions: Default::default(),
        });
    }
    Ok(())
}

/// The fields of a custom tool the canonical model holds; the others travel in its extensions.
const CANONICAL_TOOL_FIELDS: &[&str] = &[
    "type",
    "name",
    "description",
    "input_schema",
    "strict",
    "cache_control",
];

/// Custom tools become canonical tools; server tools (`web_search_…`, `bash_…`) stay verbatim.
fn decode_tools(tools: Vec<Value>) -> Result<(Vec<Tool>, Vec<Value>), GatewayError> {
    let mut custom = Vec::with_capacity(tools.len());
    let mut server = Vec::new();
    for (index, tool) in tools.into_iter().enumerate() {
        let kind = tool.get("type").and_then(Value::as_str);
        if kind.is_some_and(|kind| kind != "custom") {
            server.push(tool);
            continue;
        }
        let name = tool.get("name").and_then(Value::as_str).ok_or_else(|| {
            GatewayError::invalid_param(
                format!("tools.{index}.name"),
                format!("tools.{index}.name: Field required"),
            )
        })?;
        let cache = tool
            .get("cache_control")
            .and_then(|cache| serde_json::from_value::<WireCacheControl>(cache.clone()).ok())
            .map(|cache| CacheControl { ttl: cache.ttl });
        // `defer_loading`, `input_examples`, `allowed_callers`, … (advanced tool use).
        let extensions: Map<String, Value> = tool
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(key, _)| !CANONICAL_TOOL_FIELDS.contains(&key.as_str()))
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect();
        custom.push(Tool {
            extensions,
            name: name.to_owned(),
            description: tool
                .get("description")
                .and_then(Value::as_str)
                .map(str::to_owned),
            parameters: tool.get("input_schema").cloned(),
            strict: tool.get("strict").and_then(Value::as_bool),
            cache,
        });
    }
    Ok((custom, server))
}

fn decode_tool_choice(
    choice: WireToolChoice,
) -> Result<(Option<ToolChoice>, Option<bool>), GatewayError> {
    let parallel = choice.disable_parallel_tool_use.map(|disable| !disable);
    let mapped = match choice.kind.as_str() {
        "auto" => ToolChoice::Auto,
        "any" => ToolChoice::Required,
        "none" => ToolChoice::None,
        "tool" => ToolChoice::Function(choice.name.ok_or_else(|| {
            GatewayError::invalid_param("tool_choice.name", "tool_choice.name: Field required")
        })?),
        other => {
            return Err(GatewayError::invalid_param(
                "tool_choice.type",
                format!(
                    "tool_choice.type: Input tag '{other}' does not match any of 'auto', 'any', 'tool', 'none'"
                ),
            ));
        }
    };
    Ok((Some(mapped), parallel))
}
