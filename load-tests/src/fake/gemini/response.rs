//! The answer to a Gemini request, built once and rendered whole (the `GenerateContentResponse`
//! here) or as chunks (`stream.rs`); plus the countTokens body and the fake's token counting for
//! Gemini requests.
//!
//! Parts: a thought summary `{"text":…,"thought":true}` first when [`Behaviour::thinking`] is
//! set and the request asks for `includeThoughts`; then one text part for [`Reply::Text`] (ended
//! just before the first of the request's `stopSequences`, still with `finishReason: "STOP"`,
//! then cut to `maxOutputTokens` words minus the thinking's, with `finishReason: "MAX_TOKENS"`;
//! no part when either cut leaves nothing), or one
//! `functionCall` part `{"name","args"}` per call of [`Reply::ToolCalls`] — without ids, as
//! Gemini usually sends them, with `finishReason: "STOP"`. When thinking is on (the request's
//! `thinkingConfig` turns it on, or [`Behaviour::thinking`] is set) the first `functionCall`
//! part carries a `thoughtSignature` (`signature.rs`). `candidateCount` identical candidates.
//!
//! Default usage (when [`Behaviour::usage`] is `None`), in whitespace-separated words:
//! - prompt = for `systemInstruction`, when present, 1 + its words; for every content 1 + the
//!   words of its text parts (thought parts excluded) and of the compact JSON of function-call
//!   `args` and function-response `response`; inline and file data count nothing. This is also
//!   what countTokens answers.
//! - reasoning = the words of the thinking text ([`Behaviour::thinking`], else "Let me think
//!   about this.") when thinking is on, else 0; completion = reasoning + the words of the text
//!   sent or of all tool-call argument strings; both times `candidateCount`.
//!
//! Reported as Gemini does: `promptTokenCount = prompt` (it includes the cache),
//! `cachedContentTokenCount = cached` and `thoughtsTokenCount = reasoning` (each omitted when 0),
//! `candidatesTokenCount = completion - reasoning` (it excludes thoughts),
//! `totalTokenCount = prompt + completion`.

use std::borrow::Cow;

use serde::Serialize;
use serde_json::{Map, Value};

use super::signature::gemini_thought_signature;
use super::validate::{GenerateRequest, get};
use crate::fake::openai::{to_vec, words};
use crate::fake::script::{Behaviour, Reply, Usage};
use crate::fake::stop::cut_at_stop;
use crate::fake::stream::cut_to_room;

const DEFAULT_THINKING: &str = "Let me think about this.";

/// One part of the answer, serialized as Gemini sends it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PartObject<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thought: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function_call: Option<FunctionCall<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thought_signature: Option<String>,
}

impl<'a> PartObject<'a> {
    pub(crate) fn text(text: Cow<'a, str>, thought: bool) -> Self {
        PartObject {
            text: Some(text),
            thought: thought.then_some(true),
            function_call: None,
            thought_signature: None,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub(crate) struct FunctionCall<'a> {
    pub name: &'a str,
    pub args: Value,
}

/// What the fake answers with, before it is rendered.
#[derive(Debug)]
pub(crate) struct Answer<'a> {
    /// The thought summary part, when one is sent.
    pub thought: Option<&'a str>,
    /// The text part or the function-call parts.
    pub parts: Vec<PartObject<'a>>,
    pub finish_reason: &'static str,
    pub usage: Usage,
    pub candidates: usize,
}

impl Answer<'_> {
    /// The signatures this answer hands out.
    pub(crate) fn signatures(&self) -> impl Iterator<Item = &str> {
        self.parts
            .iter()
            .filter_map(|part| part.thought_signature.as_deref())
    }
}

/// Builds the answer to a valid request. Fails (with a message for a 500) only when the script
/// itself is broken: tool-call arguments that are not a JSON object.
pub(crate) fn answer<'a>(
    behaviour: &'a Behaviour,
    request: &GenerateRequest<'_>,
) -> Result<Answer<'a>, String> {
    let settings = request.settings;
    let thinking_on = settings.thinking || behaviour.thinking.is_some();
    let thinking = behaviour.thinking.as_deref().unwrap_or(DEFAULT_THINKING);
    let reasoning = if thinking_on { words(thinking) } else { 0 };
    let thought = behaviour
        .thinking
        .as_deref()
        .filter(|_| settings.include_thoughts);
    let mut finish_reason = "STOP";
    let mut parts = Vec::new();
    let answer_words = match &behaviour.reply {
        Reply::Text(text) => {
            let (text, matched) = cut_at_stop(text, &request.stop_sequences);
            let (text, cut) = cut_to_room(text, settings.max_output_tokens, reasoning);
            if cut {
                finish_reason = "MAX_TOKENS";
            }
            let count = words(&text);
            if !(text.is_empty() && (cut || matched.is_some())) {
                parts.push(PartObject::text(text, false));
            }
            count
        }
        Reply::ToolCalls(calls) => {
            for (index, (name, arguments)) in calls.iter().enumerate() {
                let args = args(arguments)?;
                let thought_signature =
                    (index == 0 && thinking_on).then(|| gemini_thought_signature(name, &args));
                parts.push(PartObject {
                    text: None,
                    thought: None,
                    function_call: Some(FunctionCall { name, args }),
                    thought_signature,
                });
            }
            calls.iter().map(|(_, arguments)| words(arguments)).sum()
        }
    };
    let candidates = settings.candidate_count.max(1);
    let times = candidates as u64;
    let usage = behaviour.usage.unwrap_or(Usage {
        prompt_tokens: prompt_tokens(request.system, request.contents),
        completion_tokens: (reasoning + answer_words) * times,
        cached_tokens: 0,
        reasoning_tokens: reasoning * times,
    });
    Ok(Answer {
        thought,
        parts,
        finish_reason,
        usage,
        candidates,
    })
}

/// Scripted arguments as `args`: `""` is `{}`, anything else must be a JSON object.
fn args(arguments: &str) -> Result<Value, String> {
    if arguments.trim().is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    serde_json::from_str::<Value>(arguments)
        .ok()
        .filter(Value::is_object)
        .ok_or_else(|| {
            format!(
                "fake provider script error: Reply::ToolCalls arguments must be a JSON object for Gemini requests, got {arguments:?}"
            )
        })
}

/// `usageMetadata`, complete (`final_counts`) or as intermediate stream chunks carry it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UsageMetadata {
    prompt_token_count: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    candidates_token_count: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    total_token_count: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cached_content_token_count: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prompt_tokens_details: Option<[ModalityCount; 1]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    thoughts_token_count: Option<u64>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ModalityCount {
    modality: &'static str,
    token_count: u64,
}

impl UsageMetadata {
    pub(crate) fn new(usage: &Usage, final_counts: bool) -> Self {
        if !final_counts {
            return UsageMetadata {
                prompt_token_count: usage.prompt_tokens,
                candidates_token_count: None,
                total_token_count: None,
                cached_content_token_count: None,
                prompt_tokens_details: None,
                thoughts_token_count: None,
            };
        }
        let non_zero = |count: u64| (count > 0).then_some(count);
        UsageMetadata {
            prompt_token_count: usage.prompt_tokens,
            candidates_token_count: Some(
                usage
                    .completion_tokens
                    .saturating_sub(usage.reasoning_tokens),
            ),
            total_token_count: Some(usage.prompt_tokens + usage.completion_tokens),
            cached_content_token_count: non_zero(usage.cached_tokens),
            prompt_tokens_details: Some([ModalityCount {
                modality: "TEXT",
                token_count: usage.prompt_tokens,
            }]),
            thoughts_token_count: non_zero(usage.reasoning_tokens),
        }
    }
}

/// A `GenerateContentResponse`: the whole answer or one stream chunk.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ResponseObject<'a> {
    pub candidates: Vec<Candidate<'a>>,
    pub usage_metadata: UsageMetadata,
    pub model_version: &'a str,
    pub response_id: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Candidate<'a> {
    pub content: ContentObject<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<&'static str>,
    pub index: usize,
}

#[derive(Serialize)]
pub(crate) struct ContentObject<'a> {
    #[serde(skip_serializing_if = "<[PartObject<'_>]>::is_empty")]
    pub parts: &'a [PartObject<'a>],
    pub role: &'static str,
}

/// `candidates` copies of a candidate holding `parts`.
pub(crate) fn candidates<'a>(
    count: usize,
    parts: &'a [PartObject<'a>],
    finish_reason: Option<&'static str>,
) -> Vec<Candidate<'a>> {
    (0..count)
        .map(|index| Candidate {
            content: ContentObject {
                parts,
                role: "model",
            },
            finish_reason,
            index,
        })
        .collect()
}

/// The non-streaming response body.
pub(crate) fn body(answer: &Answer<'_>, model: &str, response_id: &str) -> Vec<u8> {
    let mut parts = Vec::with_capacity(answer.parts.len() + 1);
    if let Some(thought) = answer.thought {
        parts.push(PartObject::text(Cow::Borrowed(thought), true));
    }
    parts.extend(answer.parts.iter().cloned());
    to_vec(&ResponseObject {
        candidates: candidates(answer.candidates, &parts, Some(answer.finish_reason)),
        usage_metadata: UsageMetadata::new(&answer.usage, true),
        model_version: model,
        response_id,
    })
}

/// `{"totalTokens": N, "promptTokensDetails": [{"modality": "TEXT", "tokenCount": N}]}`.
pub(crate) fn count_tokens_body(total: u64) -> Vec<u8> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Count {
        total_tokens: u64,
        prompt_tokens_details: [ModalityCount; 1],
    }
    to_vec(&Count {
        total_tokens: total,
        prompt_tokens_details: [ModalityCount {
            modality: "TEXT",
            token_count: total,
        }],
    })
}

/// The default prompt count (see the module doc).
pub(crate) fn prompt_tokens(system: Option<&Value>, contents: &[Value]) -> u64 {
    let system = system.map_or(0, |system| 1 + content_words(system));
    let contents: u64 = contents
        .iter()
        .map(|content| 1 + content_words(content))
        .sum();
    system + contents
}

fn content_words(content: &Value) -> u64 {
    let parts = get(content, "parts").and_then(Value::as_array);
    parts.map_or(0, |parts| parts.iter().map(part_words).sum())
}

fn part_words(part: &Value) -> u64 {
    if get(part, "thought").and_then(Value::as_bool) == Some(true) {
        return 0;
    }
    if let Some(text) = get(part, "text").and_then(Value::as_str) {
        return words(text);
    }
    let json = get(part, "function_call")
        .and_then(|call| get(call, "args"))
        .or_else(|| get(part, "function_response").and_then(|response| get(response, "response")));
    json.map_or(0, |json| words(&json.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn prompt_counts_system_contents_and_function_traffic() {
        let system = json!({"parts": [{"text": "be brief"}]});
        let contents = [
            json!({"role": "user", "parts": [{"text": "hi there you"}]}),
            json!({"role": "model", "parts": [
                {"text": "not counted", "thought": true},
                {"functionCall": {"name": "f", "args": {"a": 1}}}]}),
            json!({"role": "user", "parts": [
                {"function_response": {"name": "f", "response": {"output": "one two"}}},
                {"inlineData": {"mimeType": "image/png", "data": "AAAA"}}]}),
        ];
        let count = prompt_tokens(Some(&system), &contents);
        assert_eq!(count, (1 + 2) + (1 + 3) + (1 + 1) + (1 + 2));
    }

    #[test]
    fn usage_splits_thoughts_from_candidates() {
        let usage = Usage {
            prompt_tokens: 100,
            completion_tokens: 50,
            cached_tokens: 60,
            reasoning_tokens: 30,
        };
        let metadata: Value = serde_json::to_value(UsageMetadata::new(&usage, true)).unwrap();
        assert_eq!(
            metadata,
            json!({"promptTokenCount": 100, "candidatesTokenCount": 20, "totalTokenCount": 150,
                   "cachedContentTokenCount": 60, "thoughtsTokenCount": 30,
                   "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 100}]})
        );
        let partial: Value = serde_json::to_value(UsageMetadata::new(&usage, false)).unwrap();
        assert_eq!(partial, json!({"promptTokenCount": 100}));
    }

    #[test]
    fn tool_arguments_must_be_objects() {
        assert_eq!(args(""), Ok(json!({})));
        assert_eq!(args(r#"{"a":1}"#), Ok(json!({"a": 1})));
        assert!(args("[1]").is_err());
    }
}
