//! OpenAI Chat Completions response bodies as api.openai.com sends them: the `chat.completion`
//! object, the usage object, the error envelope and the model list; plus the fake's token
//! counting.
//!
//! Default usage (when [`Behaviour::usage`](super::Behaviour) is `None`):
//! - `prompt_tokens` = for every message, 1 + the whitespace-separated words of the text it
//!   carries (string `content`, `text` and `refusal` parts, and tool-call `function.arguments`);
//!   images, audio and files count nothing.
//! - `completion_tokens` = the whitespace-separated words of the reply text as sent, or of all
//!   tool-call argument strings, times `n`.
//!
//! A text reply ends just before the first of the request's `stop` sequences (`stop.rs`), still
//! with `finish_reason: "stop"`; the handler cuts it before rendering.
//! - `cached_tokens` and `reasoning_tokens` are 0.
//!
//! Streaming chunks live in `stream.rs`; this module only owns the pieces both share.

use serde::Serialize;
use serde_json::Value;

use super::script::{Reply, Usage};

pub(crate) const SYSTEM_FINGERPRINT: &str = "fp_fake";
pub(crate) const SERVICE_TIER: &str = "default";

/// `{"error":{"message":…,"type":…,"param":…,"code":…}}`, all four keys always present.
pub(crate) fn error_body(
    message: &str,
    error_type: &str,
    param: Option<&str>,
    code: Option<&str>,
) -> Vec<u8> {
    #[derive(Serialize)]
    struct Envelope<'a> {
        error: Inner<'a>,
    }
    #[derive(Serialize)]
    struct Inner<'a> {
        message: &'a str,
        #[serde(rename = "type")]
        error_type: &'a str,
        param: Option<&'a str>,
        code: Option<&'a str>,
    }
    to_vec(&Envelope {
        error: Inner {
            message,
            error_type,
            param,
            code,
        },
    })
}

/// `GET /v1/models`.
pub(crate) fn models_body(models: &[String]) -> Vec<u8> {
    #[derive(Serialize)]
    struct List<'a> {
        object: &'static str,
        data: Vec<Model<'a>>,
    }
    #[derive(Serialize)]
    struct Model<'a> {
        id: &'a str,
        object: &'static str,
        created: u64,
        owned_by: &'static str,
    }
    let data = models
        .iter()
        .map(|id| Model {
            id,
            object: "model",
            created: 1_700_000_000,
            owned_by: "fake",
        })
        .collect();
    to_vec(&List {
        object: "list",
        data,
    })
}

/// Identity shared by a completion and all chunks of a stream.
pub(crate) struct Head<'a> {
    pub id: &'a str,
    pub created: u64,
    pub model: &'a str,
}

/// A non-streaming `chat.completion` with `n` identical choices.
pub(crate) fn completion_body(head: &Head<'_>, reply: &Reply, usage: &Usage, n: usize) -> Vec<u8> {
    #[derive(Serialize)]
    struct Completion<'a> {
        id: &'a str,
        object: &'static str,
        created: u64,
        model: &'a str,
        choices: Vec<Choice<'a>>,
        usage: UsageObject,
        service_tier: &'static str,
        system_fingerprint: &'static str,
    }
    #[derive(Serialize)]
    struct Choice<'a> {
        index: usize,
        message: Message<'a>,
        logprobs: (),
        finish_reason: &'static str,
    }
    #[derive(Serialize)]
    struct Message<'a> {
        role: &'static str,
        content: Option<&'a str>,
        refusal: (),
        annotations: [(); 0],
        #[serde(skip_serializing_if = "Option::is_none")]
        tool_calls: Option<Vec<ToolCall<'a>>>,
    }
    #[derive(Serialize)]
    struct ToolCall<'a> {
        id: String,
        #[serde(rename = "type")]
        call_type: &'static str,
        function: Function<'a>,
    }
    #[derive(Serialize)]
    struct Function<'a> {
        name: &'a str,
        arguments: &'a str,
    }
    let message = || match reply {
        Reply::Text(text) => Message {
            role: "assistant",
            content: Some(text),
            refusal: (),
            annotations: [],
            tool_calls: None,
        },
        Reply::ToolCalls(calls) => Message {
            role: "assistant",
            content: None,
            refusal: (),
            annotations: [],
            tool_calls: Some(
                calls
                    .iter()
                    .enumerate()
                    .map(|(i, (name, arguments))| ToolCall {
                        id: tool_call_id(i),
                        call_type: "function",
                        function: Function { name, arguments },
                    })
                    .collect(),
            ),
        },
    };
    let choices = (0..n)
        .map(|index| Choice {
            index,
            message: message(),
            logprobs: (),
            finish_reason: finish_reason(reply),
        })
        .collect();
    to_vec(&Completion {
        id: head.id,
        object: "chat.completion",
        created: head.created,
        model: head.model,
        choices,
        usage: UsageObject::from(usage),
        service_tier: SERVICE_TIER,
        system_fingerprint: SYSTEM_FINGERPRINT,
    })
}

pub(crate) fn tool_call_id(index: usize) -> String {
    format!("call_{index}")
}

pub(crate) fn finish_reason(reply: &Reply) -> &'static str {
    match reply {
        Reply::Text(_) => "stop",
        Reply::ToolCalls(_) => "tool_calls",
    }
}

/// OpenAI's `CompletionUsage` object.
#[derive(Serialize)]
pub(crate) struct UsageObject {
    prompt_tokens: u64,
    completion_tokens: u64,
    total_tokens: u64,
    prompt_tokens_details: PromptDetails,
    completion_tokens_details: CompletionDetails,
}

#[derive(Serialize)]
struct PromptDetails {
    cached_tokens: u64,
    audio_tokens: u64,
}

#[derive(Serialize)]
struct CompletionDetails {
    reasoning_tokens: u64,
    audio_tokens: u64,
    accepted_prediction_tokens: u64,
    rejected_prediction_tokens: u64,
}

impl From<&Usage> for UsageObject {
    fn from(usage: &Usage) -> Self {
        UsageObject {
            prompt_tokens: usage.prompt_tokens,
            completion_tokens: usage.completion_tokens,
            total_tokens: usage.prompt_tokens + usage.completion_tokens,
            prompt_tokens_details: PromptDetails {
                cached_tokens: usage.cached_tokens,
                audio_tokens: 0,
            },
            completion_tokens_details: CompletionDetails {
                reasoning_tokens: usage.reasoning_tokens,
                audio_tokens: 0,
                accepted_prediction_tokens: 0,
                rejected_prediction_tokens: 0,
            },
        }
    }
}

/// The usage the fake reports by default (see the module doc).
pub(crate) fn default_usage(messages: &[Value], reply: &Reply, n: usize) -> Usage {
    let prompt_tokens = messages.iter().map(message_tokens).sum();
    let completion_tokens = match reply {
        Reply::Text(text) => words(text),
        Reply::ToolCalls(calls) => calls.iter().map(|(_, arguments)| words(arguments)).sum(),
    };
    Usage {
        prompt_tokens,
        completion_tokens: completion_tokens * n as u64,
        cached_tokens: 0,
        reasoning_tokens: 0,
    }
}

fn message_tokens(message: &Value) -> u64 {
    let content = match message.get("content") {
        Some(Value::String(text)) => words(text),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|part| part.get("text").or_else(|| part.get("refusal"))?.as_str())
            .map(words)
            .sum(),
        _ => 0,
    };
    let arguments: u64 = message
        .get("tool_calls")
        .and_then(Value::as_array)
        .map(|calls| {
            calls
                .iter()
                .filter_map(|call| call.get("function")?.get("arguments")?.as_str())
                .map(words)
                .sum()
        })
        .unwrap_or(0);
    1 + content + arguments
}

pub(crate) fn words(text: &str) -> u64 {
    text.split_whitespace().count() as u64
}

/// Serializing these plain structs cannot fail; an empty body would surface in tests at once.
pub(crate) fn to_vec(value: &impl Serialize) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn default_usage_counts_words_and_messages() {
        let messages = [
            json!({"role": "system", "content": "be brief"}),
            json!({"role": "user", "content": [{"type": "text", "text": "hi there you"},
                                               {"type": "image_url", "image_url": {"url": "x"}}]}),
            json!({"role": "assistant", "content": null, "tool_calls": [
                {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{\"a\": 1}"}}]}),
        ];
        let usage = default_usage(&messages, &Reply::Text("one two".into()), 2);
        assert_eq!(usage.prompt_tokens, (1 + 2) + (1 + 3) + (1 + 2));
        assert_eq!(usage.completion_tokens, 4);
    }

    #[test]
    fn error_body_has_all_four_keys() {
        let body: Value = serde_json::from_slice(&error_body("m", "t", None, Some("c"))).unwrap();
        assert_eq!(
            body,
            json!({"error": {"message": "m", "type": "t", "param": null, "code": "c"}})
        );
    }
}
