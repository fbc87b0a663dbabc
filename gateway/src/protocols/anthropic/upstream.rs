//! Canonical → Anthropic Messages requests, for Anthropic upstreams (the mapping notes are in
//! `request`).

use serde_json::{Map, Value, json};

use super::wire::{
    KnownBlock, WireBlock, WireCacheControl, WireContent, WireImageSource, WireMessage,
    WireMetadata, WireRequest, WireToolChoice,
};
use crate::canonical::{
    CacheControl, ChatRequest, ContentPart, Family, ResponseFormat, Role, Tool, ToolChoice,
};
use crate::error::GatewayError;
use crate::protocols::fit::Fit;

/// The beta under which a `system` message may stand between user and assistant turns.
pub const MID_CONVERSATION_SYSTEM_BETA: &str = "mid-conversation-tool-changes-2026-07-01";

/// Builds the upstream request for an Anthropic channel.
pub fn encode(
    request: &ChatRequest,
    upstream_model: &str,
    default_max_tokens: u64,
    fit: &mut Fit,
) -> Result<WireRequest, GatewayError> {
    fit.openai_only_sampling(request)?;
    fit.foreign(request)?;
    let own_family = request.extension_family == Family::Anthropic;
    let mut extra = Map::new();
    if own_family {
        extra.clone_from(&request.extensions);
    }
    let server_tools = extra.remove("tools");
    let thinking = extra
        .remove("thinking")
        .or_else(|| encode_thinking(request));
    let output_config = extra
        .remove("output_config")
        .or_else(|| encode_output_config(request));

    let mut max_tokens = request.max_output_tokens.unwrap_or(default_max_tokens);
    if let Some(budget) = thinking
        .as_ref()
        .and_then(|thinking| thinking.get("budget_tokens"))
        .and_then(Value::as_u64)
        && max_tokens <= budget
    {
        // Anthropic counts thinking inside max_tokens; leave room for the answer.
        max_tokens = budget + default_max_tokens;
    }

    let in_place = own_family
        && request
            .betas
            .iter()
            .any(|beta| beta == MID_CONVERSATION_SYSTEM_BETA);
    let (system, messages) = encode_messages(request, in_place, fit)?;
    let mut tools: Vec<Value> = fit
        .tools(request)
        .into_iter()
        .map(|tool| encode_tool(tool, own_family))
        .collect();
    if let Some(Value::Array(server)) = server_tools {
        tools.extend(server);
    }
    let tool_choice = encode_tool_choice(request.tool_choice.as_ref(), request.parallel_tool_calls);
    Ok(WireRequest {
        model: upstream_model.to_owned(),
        max_tokens: Some(max_tokens),
        messages,
        system,
        stop_sequences: (!request.stop.is_empty()).then(|| request.stop.clone()),
        temperature: request
            .sampling
            .temperature
            .map(|temperature| temperature.min(1.0)),
        top_p: request.sampling.top_p,
        top_k: request.sampling.top_k,
        stream: request.stream.then_some(true),
        tools: (!tools.is_empty()).then_some(tools),
        tool_choice,
        thinking,
        metadata: request.user.clone().map(|user_id| WireMetadata {
            user_id: Some(user_id),
        }),
        output_config,
        extra,
    })
}

fn encode_thinking(request: &ChatRequest) -> Option<Value> {
    if let Some(budget) = request.reasoning_budget {
        return Some(json!({"type": "enabled", "budget_tokens": budget.max(1024)}));
    }
    // The effort → budget table of the wire-format notes (§7.9), clamped later under max_tokens.
    let budget = match request.reasoning_effort.as_deref()? {
        "none" => return Some(json!({"type": "disabled"})),
        "minimal" => 1024,
        "low" => 2048,
        "medium" => 8192,
        "high" => 16384,
        _ => 32768,
    };
    Some(json!({"type": "enabled", "budget_tokens": budget}))
}

fn encode_output_config(request: &ChatRequest) -> Option<Value> {
    let schema = match request.response_format.as_ref()? {
        ResponseFormat::Text => return None,
        // Anthropic has no free-form JSON mode; an object schema is the nearest equivalent.
        ResponseFormat::JsonObject => json!({"type": "object"}),
        ResponseFormat::JsonSchema { schema, .. } => {
            schema.clone().unwrap_or_else(|| json!({"type": "object"}))
        }
    };
    Some(json!({"format": {"type": "json_schema", "schema": schema}}))
}

/// `own_family`: the client spoke Anthropic, so the tool's Anthropic-only fields go along.
fn encode_tool(tool: &Tool, own_family: bool) -> Value {
    let mut object = Map::new();
    if own_family {
        object.extend(tool.extensions.clone());
    }
    object.insert("name".into(), tool.name.clone().into());
    if let Some(description) = &tool.description {
        object.insert("description".into(), description.clone().into());
    }
    let schema = tool
        .parameters
        .clone()
        .unwrap_or_else(|| json!({"type": "object", "properties": {}}));
    object.insert("input_schema".into(), schema);
    if let Some(strict) = tool.strict {
        object.insert("strict".into(), strict.into());
    }
    if let Some(cache) = &tool.cache {
        object.insert("cache_control".into(), cache_control_value(cache));
    }
    Value::Object(object)
}

fn cache_control_value(cache: &CacheControl) -> Value {
    match &cache.ttl {
        Some(ttl) => json!({"type": "ephemeral", "ttl": ttl}),
        None => json!({"type": "ephemeral"}),
    }
}

fn encode_tool_choice(
    choice: Option<&ToolChoice>,
    parallel: Option<bool>,
) -> Option<WireToolChoice> {
    let disable_parallel_tool_use = parallel
        .map(|parallel| !parallel)
        .filter(|disable| *disable);
    let (kind, name) = match choice {
        None if disable_parallel_tool_use.is_some() => ("auto", None),
        None => return None,
        Some(ToolChoice::Auto | ToolChoice::Opaque(_)) => ("auto", None),
        Some(ToolChoice::Required) => ("any", None),
        Some(ToolChoice::None) => ("none", None),
        Some(ToolChoice::Function(name)) => ("tool", Some(name.clone())),
    };
    Some(WireToolChoice {
        kind: kind.to_owned(),
        name,
        disable_parallel_tool_use: if kind == "none" {
            None
        } else {
            disable_parallel_tool_use
        },
    })
}

/// System text goes to `system`; tool results and user content merge into user turns with the
/// results first; consecutive same-role turns merge. With `in_place` (the client sent the
/// mid-conversation beta), a system message right after a user turn stays where it is, as
/// Anthropic then allows; otherwise it joins the top-level `system`.
fn encode_messages(
    request: &ChatRequest,
    in_place: bool,
    fit: &mut Fit,
) -> Result<(Option<WireContent>, Vec<WireMessage>), GatewayError> {
    let mut system: Vec<WireBlock> = Vec::new();
    // Role, blocks, and (system messages) the message's own `output_config`.
    let mut messages: Vec<(&'static str, Vec<WireBlock>, Option<Value>)> = Vec::new();
    for (index, message) in request.messages.iter().enumerate() {
        let role = match message.role {
            Role::System | Role::Developer => {
                let after_user =
                    matches!(messages.last(), Some((role, ..)) if *role != "assistant");
                if !(in_place && after_user) {
                    encode_parts(index, &message.content, &mut system, fit)?;
                    if message.extensions.contains_key("output_config") {
                        // A per-turn effort has no place in the top-level system prompt.
                        fit.left_out("messages.output_config");
                    }
                    continue;
                }
                "system"
            }
            Role::Assistant => "assistant",
            Role::User | Role::Tool => "user",
        };
        let mut blocks = Vec::with_capacity(message.content.len());
        encode_parts(index, &message.content, &mut blocks, fit)?;
        let config = message.extensions.get("output_config").cloned();
        if blocks.is_empty() && config.is_none() {
            continue;
        }
        match messages.last_mut() {
            Some((last_role, last, last_config)) if *last_role == role => {
                // Two system messages in a row merge; the later effort is the one in force.
                if config.is_some() {
                    *last_config = config;
                }
                if message.role == Role::Tool {
                    // Results go before any other block of the merged user turn.
                    let position = last
                        .iter()
                        .take_while(|block| is_tool_result(block))
                        .count();
                    last.splice(position..position, blocks);
                } else {
                    last.extend(blocks);
                }
            }
            _ => messages.push((role, blocks, config)),
        }
    }
    let system = match system.as_slice() {
        [] => None,
        [
            WireBlock::Known(KnownBlock::Text {
                text,
                cache_control: None,
            }),
        ] => Some(WireContent::Text(text.clone())),
        _ => Some(WireContent::Blocks(system)),
    };
    let messages = messages
        .into_iter()
        .map(|(role, blocks, output_config)| WireMessage {
            role: role.to_owned(),
            content: WireContent::Blocks(blocks),
            output_config,
        })
        .collect();
    Ok((system, messages))
}

fn is_tool_result(block: &WireBlock) -> bool {
    matches!(block, WireBlock::Known(KnownBlock::ToolResult { .. }))
}

fn encode_parts(
    index: usize,
    parts: &[ContentPart],
    blocks: &mut Vec<WireBlock>,
    fit: &mut Fit,
) -> Result<(), GatewayError> {
    for part in parts {
        let block = match part {
            ContentPart::Text(text) | ContentPart::Refusal(text) => {
                if text.is_empty() {
                    continue; // Anthropic rejects empty text blocks.
                }
                KnownBlock::Text {
                    text: text.clone(),
                    cache_control: None,
                }
            }
            ContentPart::Image { url, .. } => KnownBlock::Image {
                source: image_source(url),
                cache_control: None,
            },
            ContentPart::ToolCall {
                id,
                name,
                arguments,
            } => {
                let input = if arguments.trim().is_empty() {
                    json!({})
                } else {
                    serde_json::from_str(arguments).map_err(|_| {
                        GatewayError::invalid_param(
                            format!("messages[{index}].tool_calls"),
                            format!("the arguments of tool call `{id}` are not valid JSON, which Anthropic requires"),
                        )
                    })?
                };
                KnownBlock::ToolUse {
                    id: id.clone(),
                    name: name.clone(),
                    input,
                    cache_control: None,
                }
            }
            ContentPart::ToolResult {
                call_id,
                content,
                is_error,
            } => {
                let mut inner = Vec::new();
                encode_parts(index, content, &mut inner, fit)?;
                let content = match inner.as_slice() {
                    [] => None,
                    [
                        WireBlock::Known(KnownBlock::Text {
                            text,
                            cache_control: None,
                        }),
                    ] => Some(WireContent::Text(text.clone())),
                    _ => Some(WireContent::Blocks(inner)),
                };
                KnownBlock::ToolResult {
                    tool_use_id: call_id.clone(),
                    content,
                    is_error: is_error.then_some(true),
                    cache_control: None,
                }
            }
            ContentPart::Reasoning {
                text,
                signature: Some(signature),
            } => KnownBlock::Thinking {
                thinking: text.clone(),
                signature: signature.clone(),
            },
            // Reasoning without a signature came from another provider; Anthropic cannot verify it.
            ContentPart::Reasoning {
                signature: None, ..
            } => continue,
            ContentPart::RedactedReasoning { data } => {
                KnownBlock::RedactedThinking { data: data.clone() }
            }
            ContentPart::CachePoint(cache) => {
                set_cache_control(blocks.last_mut(), cache);
                continue;
            }
            ContentPart::Opaque {
                family: Family::Anthropic,
                value,
            } => {
                blocks.push(WireBlock::Other(value.clone()));
                continue;
            }
            ContentPart::Opaque { family, value } => {
                let field = format!("messages[{index}].content");
                match fit.foreign_part(&field, *family, value)? {
                    Some(text) => KnownBlock::Text {
                        text,
                        cache_control: None,
                    },
                    None => continue,
                }
            }
        };
        blocks.push(WireBlock::Known(block));
    }
    Ok(())
}

fn set_cache_control(block: Option<&mut WireBlock>, cache: &CacheControl) {
    let wire = WireCacheControl {
        kind: "ephemeral".to_owned(),
        ttl: cache.ttl.clone(),
    };
    if let Some(WireBlock::Known(
        KnownBlock::Text { cache_control, .. }
        | KnownBlock::Image { cache_control, .. }
        | KnownBlock::ToolUse { cache_control, .. }
        | KnownBlock::ToolResult { cache_control, .. },
    )) = block
    {
        *cache_control = Some(wire);
    }
}

fn image_source(url: &str) -> WireImageSource {
    if let Some(rest) = url.strip_prefix("data:")
        && let Some((media_type, data)) = rest.split_once(";base64,")
    {
        return WireImageSource::Base64 {
            media_type: media_type.to_owned(),
            data: data.to_owned(),
        };
    }
    WireImageSource::Url {
        url: url.to_owned(),
    }
}
