//! Gemini answers: upstream wire → canonical, canonical → client wire.

use serde_json::{Value, json};

use super::wire::{
    WireCandidate, WireContent, WireFunctionCall, WirePart, WireResponse, WireUsage,
};
use crate::canonical::{ChatResponse, Choice, ContentPart, FinishReason, Usage};
use crate::error::{ErrorKind, GatewayError};
use crate::protocols::anthropic::response::unix_now;

pub fn decode(body: &[u8]) -> Result<ChatResponse, GatewayError> {
    let wire: WireResponse = serde_json::from_slice(body).map_err(|error| {
        GatewayError::new(
            ErrorKind::BadGateway,
            format!("it sent a response the gateway could not read ({error})"),
        )
    })?;
    let id = wire.response_id.clone().unwrap_or_default();
    let mut choices: Vec<Choice> = wire
        .candidates
        .into_iter()
        .map(|candidate| {
            let mut calls = 0;
            let content = candidate
                .content
                .map(|content| decode_parts(&id, content.parts, &mut calls))
                .unwrap_or_default();
            Choice {
                index: candidate.index,
                finish_reason: candidate
                    .finish_reason
                    .as_deref()
                    .map(|reason| decode_finish(reason, calls > 0)),
                content,
                logprobs: None,
            }
        })
        .collect();
    if choices.is_empty() {
        // A blocked prompt has no candidates: a content-filter result, not an error.
        choices.push(Choice {
            index: 0,
            content: Vec::new(),
            finish_reason: Some(FinishReason::ContentFilter),
            logprobs: None,
        });
    }
    Ok(ChatResponse {
        id,
        created: unix_now(),
        model: wire.model_version.unwrap_or_default(),
        choices,
        usage: wire.usage_metadata.as_ref().map(decode_usage),
        system_fingerprint: None,
        service_tier: None,
        native: None,
    })
}

/// Parts → canonical parts; calls without ids get `call_<response>_<n>` (`calls` counts them).
pub fn decode_parts(
    response_id: &str,
    parts: Vec<WirePart>,
    calls: &mut usize,
) -> Vec<ContentPart> {
    let mut content = Vec::with_capacity(parts.len());
    for part in parts {
        let signature = part.thought_signature;
        if let Some(call) = part.function_call {
            if let Some(signature) = signature {
                content.push(ContentPart::Reasoning {
                    text: String::new(),
                    signature: Some(signature),
                });
            }
            let id = call
                .id
                .unwrap_or_else(|| format!("call_{response_id}_{calls}"));
            *calls += 1;
            let arguments = if call.args.is_null() {
                "{}".to_owned()
            } else {
                call.args.to_string()
            };
            content.push(ContentPart::ToolCall {
                id,
                name: call.name,
                arguments,
            });
        } else if let Some(text) = part.text {
            if part.thought == Some(true) {
                content.push(ContentPart::Reasoning { text, signature });
            } else {
                if signature.is_some() {
                    content.push(ContentPart::Reasoning {
                        text: String::new(),
                        signature,
                    });
                }
                content.push(ContentPart::Text(text));
            }
        }
    }
    content
}

pub fn decode_finish(reason: &str, called_functions: bool) -> FinishReason {
    match reason {
        "STOP" if called_functions => FinishReason::ToolCalls,
        "STOP" => FinishReason::Stop,
        "MAX_TOKENS" => FinishReason::Length,
        "SAFETY"
        | "RECITATION"
        | "BLOCKLIST"
        | "PROHIBITED_CONTENT"
        | "SPII"
        | "IMAGE_SAFETY"
        | "IMAGE_PROHIBITED_CONTENT"
        | "IMAGE_RECITATION" => FinishReason::ContentFilter,
        other => FinishReason::Other(other.to_owned()),
    }
}

pub fn encode_finish(reason: &FinishReason) -> &str {
    match reason {
        FinishReason::Stop | FinishReason::StopSequence(_) | FinishReason::ToolCalls => "STOP",
        FinishReason::Length => "MAX_TOKENS",
        FinishReason::ContentFilter => "SAFETY",
        FinishReason::Other(_) => "OTHER",
    }
}

/// Gemini's prompt count includes cache reads and its candidates count excludes thoughts.
pub fn decode_usage(wire: &WireUsage) -> Usage {
    let prompt = wire.prompt_token_count + wire.tool_use_prompt_token_count;
    Usage {
        input_tokens: prompt.saturating_sub(wire.cached_content_token_count),
        cache_read_tokens: wire.cached_content_token_count,
        cache_write_tokens: 0,
        output_tokens: wire.candidates_token_count + wire.thoughts_token_count,
        reasoning_tokens: wire.thoughts_token_count,
    }
}

pub fn encode_usage(usage: &Usage) -> WireUsage {
    WireUsage {
        prompt_token_count: usage.total_input(),
        cached_content_token_count: usage.cache_read_tokens,
        candidates_token_count: usage.output_tokens.saturating_sub(usage.reasoning_tokens),
        thoughts_token_count: usage.reasoning_tokens,
        tool_use_prompt_token_count: 0,
        total_token_count: usage.total(),
    }
}

/// Tool arguments as the object Gemini clients expect (invalid JSON is kept as a string).
pub fn call_args(arguments: &str) -> Value {
    if arguments.trim().is_empty() {
        return json!({});
    }
    serde_json::from_str(arguments).unwrap_or_else(|_| json!({"_raw_arguments": arguments}))
}

/// Canonical parts → Gemini parts; a signature-only reasoning part moves onto the next part.
pub fn encode_parts(parts: &[ContentPart]) -> Vec<WirePart> {
    let mut out = Vec::with_capacity(parts.len());
    let mut pending: Option<String> = None;
    for part in parts {
        let mut wire = match part {
            ContentPart::Text(text) | ContentPart::Refusal(text) => WirePart {
                text: Some(text.clone()),
                ..WirePart::default()
            },
            ContentPart::Reasoning { text, signature } if text.is_empty() => {
                pending.clone_from(signature);
                continue;
            }
            ContentPart::Reasoning { text, signature } => WirePart {
                text: Some(text.clone()),
                thought: Some(true),
                thought_signature: signature.clone(),
                ..WirePart::default()
            },
            ContentPart::ToolCall {
                id,
                name,
                arguments,
            } => WirePart {
                function_call: Some(WireFunctionCall {
                    id: Some(id.clone()),
                    name: name.clone(),
                    args: call_args(arguments),
                }),
                ..WirePart::default()
            },
            _ => continue,
        };
        if wire.thought_signature.is_none() {
            wire.thought_signature = pending.take();
        }
        out.push(wire);
    }
    out
}

/// Renders a complete answer as a `GenerateContentResponse`.
pub fn encode(response: &ChatResponse) -> WireResponse {
    WireResponse {
        candidates: response
            .choices
            .iter()
            .map(|choice| WireCandidate {
                content: Some(WireContent {
                    role: Some("model".to_owned()),
                    parts: encode_parts(&choice.content),
                }),
                finish_reason: choice
                    .finish_reason
                    .as_ref()
                    .map(|reason| encode_finish(reason).to_owned()),
                index: choice.index,
            })
            .collect(),
        prompt_feedback: None,
        usage_metadata: response.usage.as_ref().map(encode_usage),
        model_version: Some(response.model.clone()),
        response_id: Some(response.id.clone()),
    }
}
