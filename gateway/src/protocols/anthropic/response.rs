//! Anthropic Messages responses: upstream wire → canonical, canonical → client wire.

use serde_json::{Value, json};

use super::wire::{KnownBlock, WireBlock, WireResponse, WireUsage};
use crate::canonical::{ChatResponse, Choice, ContentPart, Family, FinishReason, Usage};
use crate::error::{ErrorKind, GatewayError};

pub fn decode(body: &[u8]) -> Result<ChatResponse, GatewayError> {
    let wire: WireResponse = serde_json::from_slice(body).map_err(|error| {
        GatewayError::new(
            ErrorKind::BadGateway,
            format!("it sent a message the gateway could not read ({error})"),
        )
    })?;
    let content = wire.content.into_iter().filter_map(decode_block).collect();
    Ok(ChatResponse {
        id: wire.id,
        created: unix_now(),
        model: wire.model,
        choices: vec![Choice {
            index: 0,
            content,
            finish_reason: wire
                .stop_reason
                .as_deref()
                .map(|reason| decode_stop_reason(reason, wire.stop_sequence)),
            logprobs: None,
        }],
        usage: Some(decode_usage(&wire.usage)),
        system_fingerprint: None,
        service_tier: None,
        native: None,
    })
}

pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|now| now.as_secs())
        .unwrap_or_default()
}

/// Blocks of a response.
pub fn decode_block(block: WireBlock) -> Option<ContentPart> {
    match block {
        WireBlock::Known(KnownBlock::Text { text, .. }) => Some(ContentPart::Text(text)),
        WireBlock::Known(KnownBlock::ToolUse {
            id, name, input, ..
        }) => Some(ContentPart::ToolCall {
            id,
            name,
            arguments: if input.is_null() {
                "{}".to_owned()
            } else {
                input.to_string()
            },
        }),
        WireBlock::Known(KnownBlock::Thinking {
            thinking,
            signature,
        }) => Some(ContentPart::Reasoning {
            text: thinking,
            signature: (!signature.is_empty()).then_some(signature),
        }),
        WireBlock::Known(KnownBlock::RedactedThinking { data }) => {
            Some(ContentPart::RedactedReasoning { data })
        }
        // Server-tool calls and results (web search, code execution) and later block types:
        // an Anthropic client gets them back as they came; the others have no such block.
        WireBlock::Other(value) => Some(ContentPart::Opaque {
            family: Family::Anthropic,
            value,
        }),
        WireBlock::Known(KnownBlock::Image { .. } | KnownBlock::ToolResult { .. }) => None,
    }
}

/// `sequence` is the response's `stop_sequence`, read only for `stop_reason: "stop_sequence"`.
pub fn decode_stop_reason(reason: &str, sequence: Option<String>) -> FinishReason {
    match reason {
        "end_turn" => FinishReason::Stop,
        "stop_sequence" => FinishReason::StopSequence(sequence),
        "max_tokens" | "model_context_window_exceeded" => FinishReason::Length,
        "tool_use" => FinishReason::ToolCalls,
        "refusal" => FinishReason::ContentFilter,
        other => FinishReason::Other(other.to_owned()),
    }
}

pub fn encode_stop_reason(reason: &FinishReason) -> &str {
    match reason {
        FinishReason::Stop => "end_turn",
        FinishReason::StopSequence(_) => "stop_sequence",
        FinishReason::Length => "max_tokens",
        FinishReason::ToolCalls => "tool_use",
        FinishReason::ContentFilter => "refusal",
        FinishReason::Other(other) => other,
    }
}

/// The sequence that stopped the answer, for `stop_sequence`.
pub fn stop_sequence(reason: &FinishReason) -> Option<&str> {
    match reason {
        FinishReason::StopSequence(sequence) => sequence.as_deref(),
        _ => None,
    }
}

/// Anthropic's `input_tokens` already excludes cache reads and writes: the canonical buckets.
pub fn decode_usage(wire: &WireUsage) -> Usage {
    Usage {
        input_tokens: wire.input_tokens,
        cache_read_tokens: wire.cache_read_input_tokens,
        cache_write_tokens: wire.cache_creation_input_tokens,
        output_tokens: wire.output_tokens,
        reasoning_tokens: 0,
    }
}

pub fn encode_usage(usage: &Usage) -> WireUsage {
    WireUsage {
        input_tokens: usage.input_tokens,
        output_tokens: usage.output_tokens,
        cache_creation_input_tokens: usage.cache_write_tokens,
        cache_read_input_tokens: usage.cache_read_tokens,
    }
}

/// Tool arguments as the JSON object Anthropic clients expect. Arguments that are not valid
/// JSON (models do produce those) are kept as a string under `_raw_arguments`, not dropped.
pub fn tool_input(arguments: &str) -> Value {
    if arguments.trim().is_empty() {
        return json!({});
    }
    serde_json::from_str(arguments).unwrap_or_else(|_| json!({"_raw_arguments": arguments}))
}

pub fn message_id(id: &str) -> String {
    if id.starts_with("msg_") {
        id.to_owned()
    } else {
        format!("msg_{id}")
    }
}

/// Renders the first choice as an Anthropic `message`.
pub fn encode(response: &ChatResponse) -> WireResponse {
    let choice = response.choices.first();
    let mut content = Vec::new();
    for part in choice
        .map(|choice| choice.content.as_slice())
        .unwrap_or_default()
    {
        let block = match part {
            ContentPart::Text(text) | ContentPart::Refusal(text) => KnownBlock::Text {
                text: text.clone(),
                cache_control: None,
            },
            ContentPart::ToolCall {
                id,
                name,
                arguments,
            } => KnownBlock::ToolUse {
                id: id.clone(),
                name: name.clone(),
                input: tool_input(arguments),
                cache_control: None,
            },
            ContentPart::Reasoning { text, signature } => KnownBlock::Thinking {
                thinking: text.clone(),
                signature: signature.clone().unwrap_or_default(),
            },
            ContentPart::RedactedReasoning { data } => {
                KnownBlock::RedactedThinking { data: data.clone() }
            }
            ContentPart::Opaque {
                family: Family::Anthropic,
                value,
            } => {
                content.push(WireBlock::Other(value.clone()));
                continue;
            }
            ContentPart::Image { .. }
            | ContentPart::ToolResult { .. }
            | ContentPart::CachePoint(_)
            | ContentPart::Opaque { .. } => continue,
        };
        content.push(WireBlock::Known(block));
    }
    WireResponse {
        id: message_id(&response.id),
        kind: "message".to_owned(),
        role: "assistant".to_owned(),
        model: response.model.clone(),
        content,
        stop_reason: choice
            .and_then(|choice| choice.finish_reason.as_ref())
            .map(|reason| encode_stop_reason(reason).to_owned()),
        stop_sequence: choice
            .and_then(|choice| choice.finish_reason.as_ref())
            .and_then(stop_sequence)
            .map(str::to_owned),
        usage: response
            .usage
            .as_ref()
            .map(encode_usage)
            .unwrap_or_default(),
    }
}
