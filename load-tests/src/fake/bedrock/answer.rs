//! The assistant message the fake answers a Converse request with, built once and rendered
//! either whole (the Converse body, here) or as events (`stream.rs`): its content blocks, stop
//! reason and usage.
//!
//! Content: a `reasoningContent` block first when [`Behaviour::thinking`] is set (its text,
//! signed with [`thinking_signature`]); then one `text` block for [`Reply::Text`], or one
//! `toolUse` block per call for [`Reply::ToolCalls`] with ids `tooluse_<n>` (`n` counts the tool
//! calls this fake has made, from 0, so ids stay unique across a conversation) and the arguments
//! parsed into `input` (they must be a JSON object or empty, else a 500). A text ends just before
//! the first of the request's `inferenceConfig.stopSequences` (`stopReason: "stop_sequence"`);
//! what is left, when longer than `maxTokens` (minus the reasoning's words), is cut to that many
//! words with `stopReason: "max_tokens"`, which wins over the stop sequence; tool calls stop with
//! `tool_use`, anything else with `end_turn`. When `additionalModelResponseFieldPaths` asks for
//! `/stop_sequence`, the answer carries `additionalModelResponseFields: {"stop_sequence": …}`
//! (the matched sequence, or `null` when none ended the text), as Claude's native response
//! would give it.
//!
//! Default usage (when [`Behaviour::usage`] is `None`), counted in whitespace-separated words:
//! prompt = for a non-empty `system` 1 + its text; for every message 1 + the words of its text
//! blocks, tool-result text and the compact JSON of tool-use inputs and JSON tool results;
//! output = the reasoning's words + the words of the text sent, or of the tool-call arguments.
//!
//! Usage is reported Bedrock's way, which like Anthropic's keeps the cache out of `inputTokens`:
//! `inputTokens = prompt - cached - cache_write`, `cacheReadInputTokens = cached` and
//! `cacheWriteInputTokens =` [`Behaviour::cache_write_tokens`] (each omitted when 0),
//! `outputTokens = completion`, `totalTokens` = the sum of all four.

use std::borrow::Cow;

use serde::Serialize;
use serde_json::{Map, Value, json};

use super::validate::ConverseRequest;
use crate::fake::anthropic::signature::thinking_signature;
use crate::fake::openai::{to_vec, words};
use crate::fake::script::{Behaviour, Reply, Usage};
use crate::fake::stop::cut_at_stop;
use crate::fake::stream::cut_to_room;

/// One content block of the answer.
#[derive(Debug)]
pub(crate) enum Block<'a> {
    Reasoning {
        text: &'a str,
        signature: String,
    },
    Text(Cow<'a, str>),
    ToolUse {
        id: String,
        name: &'a str,
        input: Value,
        /// What the stream sends as `input` fragments: the scripted string, or `{}` for none.
        arguments: Cow<'a, str>,
    },
}

impl Block<'_> {
    /// The block as the Converse body carries it.
    fn to_json(&self) -> Value {
        match self {
            Block::Reasoning { text, signature } => {
                json!({"reasoningContent": {"reasoningText": {"text": text, "signature": signature}}})
            }
            Block::Text(text) => json!({"text": text}),
            Block::ToolUse {
                id, name, input, ..
            } => json!({"toolUse": {"toolUseId": id, "name": name, "input": input}}),
        }
    }
}

/// Bedrock's token counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TokenUsage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub total_tokens: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub cache_read_input_tokens: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub cache_write_input_tokens: u64,
}

fn is_zero(count: &u64) -> bool {
    *count == 0
}

/// What the fake answers with, before it is rendered.
#[derive(Debug)]
pub(crate) struct Answer<'a> {
    pub content: Vec<Block<'a>>,
    pub stop_reason: &'static str,
    /// `additionalModelResponseFields`, when the request asked for one.
    pub additional_fields: Option<Value>,
    pub usage: TokenUsage,
    pub latency_ms: u64,
}

impl Answer<'_> {
    /// (tool-use id, reasoning signature) for every call made alongside reasoning.
    pub(crate) fn minted(&self) -> Vec<(&str, &str)> {
        let Some(Block::Reasoning { signature, .. }) = self.content.first() else {
            return Vec::new();
        };
        self.content
            .iter()
            .filter_map(|block| match block {
                Block::ToolUse { id, .. } => Some((id.as_str(), signature.as_str())),
                _ => None,
            })
            .collect()
    }
}

/// Builds the answer to a valid request; `next_tool_id` hands out the `n` of `tooluse_<n>`.
/// Fails (with a message for a 500) only when the script is broken.
pub(crate) fn answer<'a>(
    behaviour: &'a Behaviour,
    request: &ConverseRequest<'_>,
    next_tool_id: &mut dyn FnMut() -> u64,
) -> Result<Answer<'a>, String> {
    let mut content = Vec::new();
    let mut output = 0;
    if let Some(thinking) = &behaviour.thinking {
        output += words(thinking);
        content.push(Block::Reasoning {
            text: thinking,
            signature: thinking_signature(thinking),
        });
    }
    let mut stop_reason = "end_turn";
    let mut stop_sequence = None;
    match &behaviour.reply {
        Reply::Text(text) => {
            let (text, matched) = cut_at_stop(text, &request.stop_sequences);
            let (text, cut) = cut_to_room(text, request.max_tokens, output);
            if cut {
                stop_reason = "max_tokens";
            } else if matched.is_some() {
                stop_reason = "stop_sequence";
                stop_sequence = matched;
            }
            output += words(&text);
            if !text.is_empty() {
                content.push(Block::Text(text));
            }
        }
        Reply::ToolCalls(calls) => {
            stop_reason = "tool_use";
            for (name, arguments) in calls {
                output += words(arguments);
                let input = input(arguments)?;
                let arguments = if arguments.trim().is_empty() {
                    Cow::Owned(input.to_string())
                } else {
                    Cow::Borrowed(arguments.as_str())
                };
                content.push(Block::ToolUse {
                    id: format!("tooluse_{}", next_tool_id()),
                    name,
                    input,
                    arguments,
                });
            }
        }
    }
    let usage = behaviour.usage.unwrap_or(Usage {
        prompt_tokens: prompt_tokens(request.system, request.messages),
        completion_tokens: output,
        cached_tokens: 0,
        reasoning_tokens: 0,
    });
    let cache_write = behaviour.cache_write_tokens;
    let input_tokens = usage
        .prompt_tokens
        .saturating_sub(usage.cached_tokens)
        .saturating_sub(cache_write);
    Ok(Answer {
        content,
        stop_reason,
        additional_fields: request
            .wants_stop_sequence
            .then(|| json!({"stop_sequence": stop_sequence})),
        usage: TokenUsage {
            input_tokens,
            output_tokens: usage.completion_tokens,
            total_tokens: input_tokens
                + usage.completion_tokens
                + usage.cached_tokens
                + cache_write,
            cache_read_input_tokens: usage.cached_tokens,
            cache_write_input_tokens: cache_write,
        },
        latency_ms: u64::try_from(behaviour.latency.as_millis()).unwrap_or(u64::MAX),
    })
}

/// Scripted arguments as a tool-use `input`: `""` is `{}`, anything else must be a JSON object.
fn input(arguments: &str) -> Result<Value, String> {
    if arguments.trim().is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    serde_json::from_str::<Value>(arguments)
        .ok()
        .filter(Value::is_object)
        .ok_or_else(|| {
            format!(
                "fake provider script error: Reply::ToolCalls arguments must be a JSON object for Bedrock requests, got {arguments:?}"
            )
        })
}

/// The Converse response body.
pub(crate) fn body(answer: &Answer<'_>) -> Vec<u8> {
    let content: Vec<Value> = answer.content.iter().map(Block::to_json).collect();
    let mut body = json!({
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": answer.stop_reason,
        "usage": answer.usage,
        "metrics": {"latencyMs": answer.latency_ms},
    });
    if let Some(fields) = &answer.additional_fields {
        body["additionalModelResponseFields"] = fields.clone();
    }
    to_vec(&body)
}

/// The default prompt count (see the module doc).
fn prompt_tokens(system: &[Value], messages: &[Value]) -> u64 {
    let system = if system.is_empty() {
        0
    } else {
        1 + system.iter().map(block_words).sum::<u64>()
    };
    let messages: u64 = messages
        .iter()
        .map(|message| {
            let blocks = message.get("content").and_then(Value::as_array);
            1 + blocks.map_or(0, |blocks| blocks.iter().map(block_words).sum())
        })
        .sum();
    system + messages
}

fn block_words(block: &Value) -> u64 {
    if let Some(text) = block.get("text").and_then(Value::as_str) {
        return words(text);
    }
    if let Some(input) = block.get("toolUse").and_then(|call| call.get("input")) {
        return words(&input.to_string());
    }
    if let Some(json) = block.get("json") {
        return words(&json.to_string());
    }
    block
        .get("toolResult")
        .and_then(|result| result.get("content"))
        .and_then(Value::as_array)
        .map_or(0, |content| content.iter().map(block_words).sum())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request<'a>(messages: &'a [Value], system: &'a [Value]) -> ConverseRequest<'a> {
        ConverseRequest {
            messages,
            system,
            max_tokens: None,
            stop_sequences: Vec::new(),
            wants_stop_sequence: false,
        }
    }

    #[test]
    fn prompt_counts_system_messages_and_tool_traffic() {
        let system = [
            json!({"text": "be brief"}),
            json!({"cachePoint": {"type": "default"}}),
        ];
        let messages = [
            json!({"role": "user", "content": [{"text": "hi there you"}]}),
            json!({"role": "assistant", "content": [
                {"reasoningContent": {"reasoningText": {"text": "not counted"}}},
                {"toolUse": {"toolUseId": "t", "name": "f", "input": {"a": 1}}}]}),
            json!({"role": "user", "content": [
                {"toolResult": {"toolUseId": "t", "content": [{"text": "one two"}, {"json": {"b": 2}}]}}]}),
        ];
        assert_eq!(
            prompt_tokens(&system, &messages),
            (1 + 2) + (1 + 3) + (1 + 1) + (1 + 2 + 1)
        );
    }

    #[test]
    fn usage_keeps_the_cache_out_of_input_tokens() {
        let behaviour = Behaviour {
            usage: Some(Usage {
                prompt_tokens: 100,
                completion_tokens: 7,
                cached_tokens: 60,
                reasoning_tokens: 0,
            }),
            cache_write_tokens: 30,
            ..Behaviour::default()
        };
        let answer = answer(&behaviour, &request(&[], &[]), &mut || 0).unwrap();
        let usage: Value = serde_json::to_value(answer.usage).unwrap();
        assert_eq!(
            usage,
            json!({"inputTokens": 10, "outputTokens": 7, "totalTokens": 107,
                   "cacheReadInputTokens": 60, "cacheWriteInputTokens": 30})
        );
    }

    #[test]
    fn tool_calls_get_counted_ids_and_reasoning_is_minted_for_them() {
        let behaviour = Behaviour {
            reply: Reply::ToolCalls(vec![
                ("f".into(), String::new()),
                ("g".into(), r#"{"a":1}"#.into()),
            ]),
            thinking: Some("Hmm.".into()),
            ..Behaviour::default()
        };
        let mut next = 4;
        let answer = answer(&behaviour, &request(&[], &[]), &mut || {
            next += 1;
            next - 1
        })
        .unwrap();
        assert_eq!(answer.stop_reason, "tool_use");
        let signature = thinking_signature("Hmm.");
        assert_eq!(
            answer.minted(),
            [
                ("tooluse_4", signature.as_str()),
                ("tooluse_5", signature.as_str())
            ]
        );
        assert!(
            matches!(&answer.content[1], Block::ToolUse { arguments, .. } if arguments == "{}")
        );
        let broken = Behaviour {
            reply: Reply::ToolCalls(vec![("f".into(), "[1]".into())]),
            ..Behaviour::default()
        };
        assert!(super::answer(&broken, &request(&[], &[]), &mut || 0).is_err());
    }
}
