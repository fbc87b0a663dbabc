//! What the fake provider does with the next chat request: the [`Behaviour`] a test scripts, and
//! the [`Script`] queue it is popped from.
//!
//! This module owns only the description of a reply (text or tool calls, error, pacing, faults)
//! and the order in which behaviours are used. It does not know the wire formats: `openai.rs`,
//! `anthropic/`, `gemini/` and `bedrock/` render a behaviour, `stream.rs` paces it.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;

/// How the fake answers one chat request (OpenAI Chat Completions or Responses, Anthropic
/// Messages, Gemini generateContent / streamGenerateContent or Bedrock Converse /
/// ConverseStream).
///
/// `Behaviour::default()` answers at once with [`Reply::default`] and computed usage.
#[derive(Clone, Debug, Default)]
pub struct Behaviour {
    /// Wait this long before sending the response headers.
    pub latency: Duration,
    /// What the assistant says.
    pub reply: Reply,
    /// Respond with this error (status + the protocol's error body) instead of a completion.
    pub error: Option<ErrorReply>,
    /// Only meaningful for [`crate::FakeProvider::push`]: use this behaviour for the next N chat
    /// requests (`None` = 1).
    pub times: Option<usize>,
    /// Streaming: pause between two chunks.
    pub chunk_delay: Duration,
    /// Streaming: send this many SSE events (OpenAI's role chunk counts; one Anthropic or
    /// Responses event, one Gemini chunk or one Bedrock event-stream frame is one) and then break
    /// the connection: no finish chunk, no usage chunk, no `[DONE]`, no terminal event, no clean
    /// end of the body.
    pub disconnect_after_chunks: Option<usize>,
    /// Streaming: after the first content-bearing chunk (first text piece or first tool-call
    /// fragment; for the Responses API the first `*.delta` event, which may be a reasoning
    /// summary's) has been sent, wait for `gate.notified()` before sending the rest. Open it with
    /// `notify_one()`, which also works when called before the stream reaches the gate.
    pub gate: Option<Arc<Notify>>,
    /// Accept the request and never answer.
    pub hang: bool,
    /// Report this usage instead of the computed one.
    pub usage: Option<Usage>,
    /// Anthropic, Bedrock and Responses: prompt tokens that were written to the cache, reported
    /// as `cache_creation_input_tokens` (Bedrock: `cacheWriteInputTokens`). Like
    /// [`Usage::cached_tokens`] they are part of `prompt_tokens`, so
    /// `input_tokens = prompt_tokens - cached_tokens - cache_write_tokens` (Bedrock:
    /// `inputTokens`). The Responses API reports them as `input_tokens_details.cache_write_tokens`
    /// and, as OpenAI counts, inside `input_tokens`. The OpenAI Chat and Gemini sides ignore it.
    pub cache_write_tokens: u64,
    /// Anthropic: the text of the `thinking` block sent first when the request enables thinking
    /// (`None` = "Let me think about this."); ignored when the request does not.
    ///
    /// Gemini: `Some` turns thinking on even when the request does not (a `thoughtSignature` on
    /// the first `functionCall` part, `thoughtsTokenCount` from its words), and is sent as a
    /// `{"text":…,"thought":true}` part when the request sets `includeThoughts`.
    ///
    /// Bedrock: `Some` sends a `reasoningContent` block first (signed like Anthropic's thinking);
    /// tool calls made with it must come back behind that block, signature unchanged, when a
    /// later request turns reasoning on in `additionalModelRequestFields`.
    ///
    /// Responses API: the reasoning behind the `reasoning` item sent first when the request sets
    /// `reasoning` (its summary text when a summary is asked for, and what its encrypted content
    /// carries); `None` = "Let me think about this.".
    ///
    /// The OpenAI Chat side ignores it.
    pub thinking: Option<String>,
    /// Responses API only: the query the model searches the web with, sent as a completed
    /// `web_search_call` item before the reply, when the request offers a hosted `web_search`
    /// tool. Ignored when it does not, and by the other protocols.
    pub web_search: Option<String>,
}

impl Behaviour {
    /// A behaviour that answers with `text`.
    pub fn text(text: impl Into<String>) -> Self {
        Behaviour {
            reply: Reply::Text(text.into()),
            ..Behaviour::default()
        }
    }

    /// A behaviour that answers with `error`.
    pub fn error(error: ErrorReply) -> Self {
        Behaviour {
            error: Some(error),
            ..Behaviour::default()
        }
    }
}

/// What the assistant says.
#[derive(Clone, Debug)]
pub enum Reply {
    /// Plain text; OpenAI `finish_reason: "stop"`, Anthropic one `text` block and
    /// `stop_reason: "end_turn"`, Gemini one text part and `finishReason: "STOP"`, Bedrock one
    /// `text` block and `stopReason: "end_turn"`.
    ///
    /// The text is first cut just before the earliest occurrence of any of the request's stop
    /// sequences, which is not sent (OpenAI `stop`: still `"stop"`; Anthropic `stop_sequences`:
    /// `stop_reason: "stop_sequence"` and the matched `stop_sequence`; Gemini `stopSequences`:
    /// still `"STOP"`; Bedrock `stopSequences`: `stopReason: "stop_sequence"`, and the matched
    /// sequence in `additionalModelResponseFields` when the request asks for `/stop_sequence`).
    /// Then the protocol's max-tokens cut applies to what is left, and its stop reason wins.
    /// The Responses API has no stop sequences.
    Text(String),
    /// Tool calls as (function name, arguments JSON string). OpenAI: ids `call_0`, `call_1`, …,
    /// `content: null`, `finish_reason: "tool_calls"`. Anthropic: `tool_use` blocks with ids
    /// `toolu_fake0`, `toolu_fake1`, … and the arguments parsed into `input` (they must be a JSON
    /// object or empty, else the fake answers 500), `stop_reason: "tool_use"`. Gemini: one
    /// `functionCall` part per call, without ids, `args` parsed as for Anthropic,
    /// `finishReason: "STOP"`. Bedrock: `toolUse` blocks with ids `tooluse_<n>` counted across
    /// the provider's answers, `input` parsed as for Anthropic, `stopReason: "tool_use"`.
    /// Responses: one `function_call` item per call with ids `call_<n>` counted across the
    /// provider's answers (a `custom_tool_call` for a custom tool, with `namespace` set when
    /// the name is declared only inside one namespace tool; see `responses/answer.rs`).
    ToolCalls(Vec<(String, String)>),
}

impl Default for Reply {
    fn default() -> Self {
        Reply::Text("Hello from the fake provider.".to_owned())
    }
}

/// An error response in the protocol's shape: OpenAI's
/// `{"error":{"message":…,"type":…,"param":null,"code":…}}`, Anthropic's
/// `{"type":"error","error":{"type":…,"message":…},"request_id":…}` (which has no `code`) or
/// Gemini's `{"error":{"code":<status>,"message":…,"status":…}}`, whose `status` is
/// `error_type` when that is a gRPC status name in capitals (`FAILED_PRECONDITION`) and
/// otherwise follows the HTTP status (429 `RESOURCE_EXHAUSTED`, 503 `UNAVAILABLE`, …); a Gemini
/// 429 with `retry_after` also carries a `RetryInfo` detail; or Bedrock's `{"message":…}` with
/// the exception in `x-amzn-errortype` (`error_type` when it ends in `Exception`, else the one
/// the status implies: 429 `ThrottlingException`, 503 `ServiceUnavailableException`, …).
#[derive(Clone, Debug)]
pub struct ErrorReply {
    pub status: u16,
    /// e.g. `invalid_request_error`, `rate_limit_error`, `server_error`; Anthropic's
    /// `overloaded_error`, `api_error`, ….
    pub error_type: String,
    pub code: Option<String>,
    pub message: String,
    /// Seconds, sent as the `retry-after` header.
    pub retry_after: Option<u64>,
}

impl ErrorReply {
    pub fn new(status: u16, error_type: &str, message: &str) -> Self {
        ErrorReply {
            status,
            error_type: error_type.to_owned(),
            code: None,
            message: message.to_owned(),
            retry_after: None,
        }
    }

    /// The same error with `code` set.
    pub fn with_code(mut self, code: &str) -> Self {
        self.code = Some(code.to_owned());
        self
    }

    /// The same error with a `retry-after` header.
    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }
}

/// Token counts the fake reports. `prompt_tokens` includes `cached_tokens` and
/// `completion_tokens` includes `reasoning_tokens`, as in OpenAI's usage object. The Anthropic
/// and Bedrock sides derive their split from these and [`Behaviour::cache_write_tokens`]; the
/// Gemini side reports `candidatesTokenCount = completion_tokens - reasoning_tokens` and
/// `thoughtsTokenCount = reasoning_tokens`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub cached_tokens: u64,
    pub reasoning_tokens: u64,
}

/// The queue of pushed behaviours and the default used when it is empty.
///
/// Behaviours are stored behind `Arc` so popping the default on the hot path costs a reference
/// count, not a deep clone.
#[derive(Debug, Default)]
pub(crate) struct Script {
    inner: Mutex<ScriptInner>,
}

#[derive(Debug, Default)]
struct ScriptInner {
    queue: VecDeque<(Arc<Behaviour>, usize)>,
    default: Arc<Behaviour>,
}

impl Script {
    pub(crate) fn push(&self, behaviour: Behaviour) {
        let times = behaviour.times.unwrap_or(1);
        if times == 0 {
            return;
        }
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.queue.push_back((Arc::new(behaviour), times));
    }

    pub(crate) fn set_default(&self, behaviour: Behaviour) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.default = Arc::new(behaviour);
    }

    /// [`Script::next`], after playing its `hang` (never returns) and `latency`; its `error` and
    /// everything else are the caller's.
    pub(crate) async fn play(&self) -> Arc<Behaviour> {
        let behaviour = self.next();
        if behaviour.hang {
            std::future::pending::<()>().await;
        }
        if !behaviour.latency.is_zero() {
            tokio::time::sleep(behaviour.latency).await;
        }
        behaviour
    }

    /// The behaviour for the next chat request: the head of the queue (consuming one of its
    /// `times`), or the default.
    pub(crate) fn next(&self) -> Arc<Behaviour> {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let Some((behaviour, remaining)) = inner.queue.front_mut() else {
            return Arc::clone(&inner.default);
        };
        let behaviour = Arc::clone(behaviour);
        *remaining -= 1;
        if *remaining == 0 {
            inner.queue.pop_front();
        }
        behaviour
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_of(behaviour: &Behaviour) -> &str {
        match &behaviour.reply {
            Reply::Text(text) => text,
            Reply::ToolCalls(_) => "",
        }
    }

    #[test]
    fn queue_is_used_in_order_then_default() {
        let script = Script::default();
        script.push(Behaviour {
            times: Some(2),
            ..Behaviour::text("a")
        });
        script.push(Behaviour::text("b"));
        script.set_default(Behaviour::text("d"));
        let seen: Vec<String> = (0..5).map(|_| text_of(&script.next()).to_owned()).collect();
        assert_eq!(seen, ["a", "a", "b", "d", "d"]);
    }

    #[test]
    fn zero_times_is_ignored() {
        let script = Script::default();
        script.push(Behaviour {
            times: Some(0),
            ..Behaviour::text("never")
        });
        assert_eq!(text_of(&script.next()), "Hello from the fake provider.");
    }
}
