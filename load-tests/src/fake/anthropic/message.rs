//! The assistant message the fake answers an Anthropic request with, built once and rendered
//! either whole (the non-streaming body, here) or as events (`stream.rs`): its content blocks,
//! stop reason and usage; plus the error envelope, the count_tokens body and the fake's token
//! counting for Anthropic requests.
//!
//! Content: a `thinking` block first when the request turns thinking on (text from
//! [`Behaviour::thinking`], signed as `signature.rs` describes; with `thinking.display:
//! "omitted"` its text is empty and it is signed as the empty text, so it still verifies when
//! echoed back), then one `text` block for
//! [`Reply::Text`] or one `tool_use` block per call for [`Reply::ToolCalls`] (ids `toolu_fake0`,
//! `toolu_fake1`, …; arguments parsed into `input`). A text reply ends just before the first of
//! the request's `stop_sequences` (`stop_reason: "stop_sequence"`, the sequence in
//! `stop_sequence`); what is left, when longer than `max_tokens` (minus the thinking's words), is
//! cut to that many words with `stop_reason: "max_tokens"`, which wins over the stop sequence. A
//! text cut to nothing sends no text block. A request with `context_management` gets
//! `"context_management": {"applied_edits": []}` back: the fake never edits the context.
//!
//! Default usage (when [`Behaviour::usage`] is `None`), counted in whitespace-separated words:
//! - prompt = for `system`, when present, 1 + its words; for every message 1 + the words of the
//!   text it carries (string content, text blocks, tool-result text and the compact JSON of
//!   tool-use inputs); images, documents and thinking blocks count nothing. This is also what
//!   count_tokens answers.
//! - output = the thinking's words (sent or omitted) + the words of the text actually sent, or of all tool-call
//!   argument strings.
//!
//! Usage is reported as `input_tokens = prompt - cached - cache_write` (Anthropic's input excludes
//! the cache), `cache_read_input_tokens = cached`, `cache_creation_input_tokens =`
//! [`Behaviour::cache_write_tokens`], `output_tokens = completion`.

use std::borrow::Cow;

use serde::Serialize;
use serde_json::{Map, Value};

use super::signature::thinking_signature;
use super::validate::MessagesRequest;
use crate::fake::openai::{to_vec, words};
use crate::fake::script::{Behaviour, Reply, Usage};
use crate::fake::stop::cut_at_stop;
use crate::fake::stream::cut_to_room;

const DEFAULT_THINKING: &str = "Let me think about this.";

/// One content block of the answer, serialized as the non-streaming response carries it.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum Block<'a> {
    Thinking {
        thinking: &'a str,
        signature: String,
    },
    Text {
        text: Cow<'a, str>,
    },
    ToolUse {
        id: String,
        name: &'a str,
        input: Value,
        /// The scripted argument string, streamed as `input_json_delta` pieces.
        #[serde(skip)]
        arguments: &'a str,
    },
}

/// Anthropic's four token counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Tokens {
    pub input: u64,
    pub cache_creation: u64,
    pub cache_read: u64,
    pub output: u64,
}

/// What the fake answers with, before it is rendered.
#[derive(Debug)]
pub(crate) struct Answer<'a> {
    pub content: Vec<Block<'a>>,
    /// The request carried `context_management`: the answer reports no applied edits.
    pub context_management: bool,
    pub stop_reason: &'static str,
    /// The stop sequence that ended the text, when one did (`stop_reason: "stop_sequence"`).
    pub stop_sequence: Option<&'a str>,
    pub usage: Tokens,
}

/// Builds the answer to a valid request. Fails (with a message for a 500) only when the script
/// itself is broken: tool-call arguments that are not a JSON object, or a call to a tool the
/// request declared with `defer_loading: true` (a model never calls a tool it has not loaded).
pub(crate) fn answer<'a>(
    behaviour: &'a Behaviour,
    request: &MessagesRequest<'a>,
) -> Result<Answer<'a>, String> {
    let mut content = Vec::new();
    let mut output = 0;
    if request.thinking {
        let mut thinking = behaviour.thinking.as_deref().unwrap_or(DEFAULT_THINKING);
        output += words(thinking);
        if request.thinking_omitted {
            thinking = "";
        }
        content.push(Block::Thinking {
            thinking,
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
            if !(text.is_empty() && stop_reason != "end_turn") {
                content.push(Block::Text { text });
            }
        }
        Reply::ToolCalls(calls) => {
            stop_reason = "tool_use";
            for (index, (name, arguments)) in calls.iter().enumerate() {
                if request.deferred_tools.contains(&name.as_str()) {
                    return Err(format!(
                        "fake provider script error: Reply::ToolCalls calls `{name}`, which the request declares with `defer_loading: true`; a model never calls a deferred tool, so the script is wrong"
                    ));
                }
                output += words(arguments);
                content.push(Block::ToolUse {
                    id: format!("toolu_fake{index}"),
                    name,
                    input: input(arguments)?,
                    arguments,
                });
            }
        }
    }
    let cache_write = behaviour.cache_write_tokens;
    let usage = behaviour.usage.unwrap_or(Usage {
        prompt_tokens: prompt_tokens(request.system, request.messages),
        completion_tokens: output,
        cached_tokens: 0,
        reasoning_tokens: 0,
    });
    Ok(Answer {
        content,
        context_management: request.context_management,
        stop_reason,
        stop_sequence,
        usage: Tokens {
            input: usage
                .prompt_tokens
                .saturating_sub(usage.cached_tokens)
                .saturating_sub(cache_write),
            cache_creation: cache_write,
            cache_read: usage.cached_tokens,
            output: usage.completion_tokens,
        },
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
                "fake provider script error: Reply::ToolCalls arguments must be a JSON object for Anthropic requests, got {arguments:?}"
            )
        })
}

/// The usage object of a message (`service_tier` set) or of a `message_delta` (unset).
#[derive(Serialize)]
pub(crate) struct UsageObject {
    input_tokens: u64,
    cache_creation_input_tokens: u64,
    cache_read_input_tokens: u64,
    output_tokens: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    service_tier: Option<&'static str>,
}

impl UsageObject {
    pub(crate) fn new(tokens: Tokens, with_service_tier: bool) -> Self {
        UsageObject {
            input_tokens: tokens.input,
            cache_creation_input_tokens: tokens.cache_creation,
            cache_read_input_tokens: tokens.cache_read,
            output_tokens: tokens.output,
            service_tier: with_service_tier.then_some("standard"),
        }
    }
}

/// The `message` object: the whole response, or the opening one of a stream.
#[derive(Serialize)]
pub(crate) struct MessageObject<'a> {
    pub id: &'a str,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub role: &'static str,
    pub model: &'a str,
    pub content: &'a [Block<'a>],
    pub stop_reason: Option<&'static str>,
    pub stop_sequence: Option<&'a str>,
    pub usage: UsageObject,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context_management: Option<AppliedEdits>,
}

/// `{"applied_edits": []}`: what context management reports when it changed nothing.
#[derive(Serialize)]
pub(crate) struct AppliedEdits {
    applied_edits: [(); 0],
}

impl AppliedEdits {
    /// The report for an answer that asked for context management, else `None`.
    pub(crate) fn of(answer: &Answer<'_>) -> Option<Self> {
        answer
            .context_management
            .then_some(AppliedEdits { applied_edits: [] })
    }
}

/// The non-streaming response body.
pub(crate) fn body(id: &str, model: &str, answer: &Answer<'_>) -> Vec<u8> {
    to_vec(&MessageObject {
        id,
        kind: "message",
        role: "assistant",
        model,
        content: &answer.content,
        stop_reason: Some(answer.stop_reason),
        stop_sequence: answer.stop_sequence,
        usage: UsageObject::new(answer.usage, true),
        context_management: AppliedEdits::of(answer),
    })
}

/// `{"type":"error","error":{"type":…,"message":…},"request_id":…}`.
pub(crate) fn error_body(error_type: &str, message: &str, request_id: &str) -> Vec<u8> {
    #[derive(Serialize)]
    struct Envelope<'a> {
        #[serde(rename = "type")]
        kind: &'static str,
        error: Inner<'a>,
        request_id: &'a str,
    }
    #[derive(Serialize)]
    struct Inner<'a> {
        #[serde(rename = "type")]
        kind: &'a str,
        message: &'a str,
    }
    to_vec(&Envelope {
        kind: "error",
        error: Inner {
            kind: error_type,
            message,
        },
        request_id,
    })
}

/// `{"input_tokens": N}`, plus `{"context_management": {"original_input_tokens": N}}` when the
/// request carried `context_management` (nothing is cleared, so both counts agree).
pub(crate) fn count_tokens_body(input_tokens: u64, context_management: bool) -> Vec<u8> {
    #[derive(Serialize)]
    struct Count {
        input_tokens: u64,
        #[serde(skip_serializing_if = "Option::is_none")]
        context_management: Option<Original>,
    }
    #[derive(Serialize)]
    struct Original {
        original_input_tokens: u64,
    }
    to_vec(&Count {
        input_tokens,
        context_management: context_management.then_some(Original {
            original_input_tokens: input_tokens,
        }),
    })
}

/// The default prompt count (see the module doc).
pub(crate) fn prompt_tokens(system: Option<&Value>, messages: &[Value]) -> u64 {
    let system = system.map_or(0, |system| 1 + content_words(system));
    let messages: u64 = messages
        .iter()
        .map(|message| 1 + message.get("content").map_or(0, content_words))
        .sum();
    system + messages
}

/// Words of a string content, or of the text a list of blocks carries.
fn content_words(content: &Value) -> u64 {
    match content {
        Value::String(text) => words(text),
        Value::Array(blocks) => blocks.iter().map(block_words).sum(),
        _ => 0,
    }
}

fn block_words(block: &Value) -> u64 {
    match block.get("type").and_then(Value::as_str) {
        Some("text") => block.get("text").and_then(Value::as_str).map_or(0, words),
        Some("tool_use") => block
            .get("input")
            .map_or(0, |input| words(&input.to_string())),
        Some("tool_result") => block.get("content").map_or(0, content_words),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn prompt_counts_system_messages_and_tool_traffic() {
        let system = json!([{"type": "text", "text": "be brief"}]);
        let messages = [
            json!({"role": "user", "content": "hi there you"}),
            json!({"role": "assistant", "content": [
                {"type": "thinking", "thinking": "not counted", "signature": "s"},
                {"type": "tool_use", "id": "t", "name": "f", "input": {"a": 1}}]}),
            json!({"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "t", "content": [{"type": "text", "text": "one two"}]},
                {"type": "image", "source": {"type": "url", "url": "https://x"}}]}),
        ];
        let count = prompt_tokens(Some(&system), &messages);
        assert_eq!(count, (1 + 2) + (1 + 3) + (1 + 1) + (1 + 2));
    }

    #[test]
    fn error_envelope() {
        let body: Value = serde_json::from_slice(&error_body("t", "m", "req_1")).unwrap();
        assert_eq!(
            body,
            json!({"type": "error", "error": {"type": "t", "message": "m"}, "request_id": "req_1"})
        );
    }

    #[test]
    fn tool_arguments_must_be_objects() {
        assert_eq!(input(""), Ok(json!({})));
        assert_eq!(input(r#"{"a":1}"#), Ok(json!({"a": 1})));
        assert!(input("[1]").is_err());
        assert!(input("{").is_err());
    }
}
