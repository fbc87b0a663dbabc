//! Chat Completions responses: upstream wire → canonical, canonical → client wire.

use super::wire::{
    WireChoice, WireCompletionDetails, WireFunctionCall, WirePromptDetails, WireResponse,
    WireResponseMessage, WireToolCall, WireUsage,
};
use crate::canonical::{ChatResponse, Choice, ContentPart, FinishReason, Usage};
use crate::error::{ErrorKind, GatewayError};

/// Parses an upstream's non-streaming answer.
pub fn decode(body: &[u8]) -> Result<ChatResponse, GatewayError> {
    let wire: WireResponse = serde_json::from_slice(body).map_err(|error| {
        GatewayError::new(
            ErrorKind::BadGateway,
            format!("it sent a chat completion the gateway could not read ({error})"),
        )
    })?;
    Ok(ChatResponse {
        id: wire.id,
        created: wire.created,
        model: wire.model,
        choices: wire.choices.into_iter().map(decode_choice).collect(),
        usage: wire.usage.as_ref().map(decode_usage),
        system_fingerprint: wire.system_fingerprint,
        service_tier: wire.service_tier,
        native: None,
    })
}

fn decode_choice(choice: WireChoice) -> Choice {
    let message = choice.message;
    let mut content = Vec::new();
    if let Some(text) = message.reasoning_content.or(message.reasoning) {
        content.push(ContentPart::Reasoning {
            text,
            signature: None,
        });
    }
    if let Some(text) = message.content {
        content.push(ContentPart::Text(text));
    }
    if let Some(refusal) = message.refusal {
        content.push(ContentPart::Refusal(refusal));
    }
    for call in message.tool_calls.into_iter().flatten() {
        content.push(ContentPart::ToolCall {
            id: call.id,
            name: call.function.name,
            arguments: call.function.arguments,
        });
    }
    Choice {
        index: choice.index,
        content,
        finish_reason: choice
            .finish_reason
            .as_deref()
            .map(FinishReason::from_openai),
        logprobs: choice.logprobs,
    }
}

/// OpenAI counts cached tokens inside `prompt_tokens`; the canonical buckets are disjoint.
pub fn decode_usage(wire: &WireUsage) -> Usage {
    let (cache_read, cache_write) = wire
        .prompt_tokens_details
        .as_ref()
        .map(|details| (details.cached_tokens, details.cache_write_tokens))
        .unwrap_or_default();
    Usage {
        input_tokens: wire.prompt_tokens.saturating_sub(cache_read + cache_write),
        cache_read_tokens: cache_read,
        cache_write_tokens: cache_write,
        output_tokens: wire.completion_tokens,
        reasoning_tokens: wire
            .completion_tokens_details
            .as_ref()
            .map(|details| details.reasoning_tokens)
            .unwrap_or_default(),
    }
}

pub fn encode_usage(usage: &Usage) -> WireUsage {
    WireUsage {
        prompt_tokens: usage.total_input(),
        completion_tokens: usage.output_tokens,
        total_tokens: usage.total(),
        prompt_tokens_details: Some(WirePromptDetails {
            cached_tokens: usage.cache_read_tokens,
            cache_write_tokens: usage.cache_write_tokens,
        }),
        completion_tokens_details: Some(WireCompletionDetails {
            reasoning_tokens: usage.reasoning_tokens,
        }),
    }
}

/// Renders a canonical response as the client's `chat.completion` object.
pub fn encode(response: &ChatResponse) -> WireResponse {
    WireResponse {
        id: response.id.clone(),
        object: "chat.completion".to_owned(),
        created: response.created,
        model: response.model.clone(),
        choices: response.choices.iter().map(encode_choice).collect(),
        usage: response.usage.as_ref().map(encode_usage),
        service_tier: response.service_tier.clone(),
        system_fingerprint: response.system_fingerprint.clone(),
    }
}

fn encode_choice(choice: &Choice) -> WireChoice {
    let mut message = WireResponseMessage {
        role: "assistant".to_owned(),
        ..WireResponseMessage::default()
    };
    let mut tool_calls = Vec::new();
    for part in &choice.content {
        match part {
            ContentPart::Text(text) => append(&mut message.content, text),
            ContentPart::Refusal(text) => append(&mut message.refusal, text),
            ContentPart::Reasoning { text, .. } => append(&mut message.reasoning_content, text),
            ContentPart::ToolCall {
                id,
                name,
                arguments,
            } => tool_calls.push(WireToolCall {
                id: id.clone(),
                kind: "function".to_owned(),
                function: WireFunctionCall {
                    name: name.clone(),
                    arguments: arguments.clone(),
                },
            }),
            // Chat Completions has no field for these in a response.
            ContentPart::Image { .. }
            | ContentPart::ToolResult { .. }
            | ContentPart::Opaque { .. }
            | ContentPart::RedactedReasoning { .. }
            | ContentPart::CachePoint(_) => {}
        }
    }
    if !tool_calls.is_empty() {
        message.tool_calls = Some(tool_calls);
    }
    WireChoice {
        index: choice.index,
        message,
        logprobs: choice.logprobs.clone(),
        finish_reason: choice
            .finish_reason
            .as_ref()
            .map(|reason| reason.as_openai().to_owned()),
    }
}

fn append(slot: &mut Option<String>, text: &str) {
    match slot {
        Some(existing) => existing.push_str(text),
        None => *slot = Some(text.to_owned()),
    }
}
