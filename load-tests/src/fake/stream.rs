//! The streaming (SSE) form of a reply: the `chat.completion.chunk` transcript and the body that
//! paces it (chunk delay, gate, abrupt disconnect).
//!
//! Transcript, per choice index: a role chunk (`{"role":"assistant","content":"","refusal":null}`),
//! the content chunks (one per word, each word with its leading whitespace; or tool-call fragments:
//! a head with `index`, `id`, `type`, `function.name`, `arguments:""`, then at least two argument
//! pieces), a finish chunk with an empty delta; then the usage chunk (`choices: []`) only when
//! `include_usage` is on, and `data: [DONE]`. With `include_usage` every other chunk carries
//! `"usage":null`; without it they carry no `usage` key. Chunks with choices carry an
//! `obfuscation` padding string unless `include_obfuscation` is false, as OpenAI's do.

use std::borrow::Cow;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::{self, BoxStream, StreamExt};
use hyper::body::Frame;
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use tokio::sync::Notify;

use super::openai::{self, Head, SERVICE_TIER, SYSTEM_FINGERPRINT, UsageObject};
use super::script::{Reply, Usage};

/// What the transcript depends on besides the reply.
pub(crate) struct StreamShape {
    pub n: usize,
    pub include_usage: bool,
    pub include_obfuscation: bool,
}

/// The SSE events of a reply, and the index of the first content-bearing event.
pub(crate) struct Transcript {
    pub events: Vec<Bytes>,
    pub first_content: Option<usize>,
}

enum Delta<'a> {
    Role,
    Content(&'a str),
    ToolHead { index: usize, name: &'a str },
    ToolArguments { index: usize, arguments: &'a str },
    Empty,
}

impl Serialize for Delta<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct ToolCall<'a> {
            index: usize,
            #[serde(skip_serializing_if = "Option::is_none")]
            id: Option<String>,
            #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
            call_type: Option<&'static str>,
            function: Function<'a>,
        }
        #[derive(Serialize)]
        struct Function<'a> {
            #[serde(skip_serializing_if = "Option::is_none")]
            name: Option<&'a str>,
            arguments: &'a str,
        }
        let mut map = serializer.serialize_map(None)?;
        match *self {
            Delta::Role => {
                map.serialize_entry("role", "assistant")?;
                map.serialize_entry("content", "")?;
                map.serialize_entry("refusal", &())?;
            }
            Delta::Content(text) => map.serialize_entry("content", text)?,
            Delta::ToolHead { index, name } => map.serialize_entry(
                "tool_calls",
                &[ToolCall {
                    index,
                    id: Some(openai::tool_call_id(index)),
                    call_type: Some("function"),
                    function: Function {
                        name: Some(name),
                        arguments: "",
                    },
                }],
            )?,
            Delta::ToolArguments { index, arguments } => map.serialize_entry(
                "tool_calls",
                &[ToolCall {
                    index,
                    id: None,
                    call_type: None,
                    function: Function {
                        name: None,
                        arguments,
                    },
                }],
            )?,
            Delta::Empty => {}
        }
        map.end()
    }
}

#[derive(Serialize)]
struct Chunk<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    model: &'a str,
    service_tier: &'static str,
    system_fingerprint: &'static str,
    choices: Vec<ChunkChoice<'a>>,
    /// Absent without `include_usage`; `null` or the usage object with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    usage: Option<Option<UsageObject>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    obfuscation: Option<&'static str>,
}

#[derive(Serialize)]
struct ChunkChoice<'a> {
    index: usize,
    delta: Delta<'a>,
    logprobs: (),
    finish_reason: Option<&'static str>,
}

/// Builds the whole transcript up front; pacing happens in [`body`].
pub(crate) fn transcript(
    head: &Head<'_>,
    reply: &Reply,
    usage: &Usage,
    shape: &StreamShape,
) -> Transcript {
    let mut events = Vec::new();
    let mut first_content = None;
    let mut push = |choice: usize, delta: Delta<'_>, finish: Option<&'static str>| {
        let content_bearing = !matches!(delta, Delta::Role | Delta::Empty);
        if content_bearing && first_content.is_none() {
            first_content = Some(events.len());
        }
        let chunk = Chunk {
            id: head.id,
            object: "chat.completion.chunk",
            created: head.created,
            model: head.model,
            service_tier: SERVICE_TIER,
            system_fingerprint: SYSTEM_FINGERPRINT,
            choices: vec![ChunkChoice {
                index: choice,
                delta,
                logprobs: (),
                finish_reason: finish,
            }],
            usage: shape.include_usage.then_some(None),
            obfuscation: shape.include_obfuscation.then_some("fake"),
        };
        events.push(event(&openai::to_vec(&chunk)));
    };
    for choice in 0..shape.n {
        push(choice, Delta::Role, None);
        match reply {
            Reply::Text(text) => {
                for piece in split_words(text) {
                    push(choice, Delta::Content(piece), None);
                }
            }
            Reply::ToolCalls(calls) => {
                for (index, (name, arguments)) in calls.iter().enumerate() {
                    push(choice, Delta::ToolHead { index, name }, None);
                    for piece in split_arguments(arguments) {
                        push(
                            choice,
                            Delta::ToolArguments {
                                index,
                                arguments: piece,
                            },
                            None,
                        );
                    }
                }
            }
        }
        push(choice, Delta::Empty, Some(openai::finish_reason(reply)));
    }
    if shape.include_usage {
        let chunk = Chunk {
            id: head.id,
            object: "chat.completion.chunk",
            created: head.created,
            model: head.model,
            service_tier: SERVICE_TIER,
            system_fingerprint: SYSTEM_FINGERPRINT,
            choices: Vec::new(),
            usage: Some(Some(UsageObject::from(usage))),
            obfuscation: None,
        };
        events.push(event(&openai::to_vec(&chunk)));
    }
    events.push(Bytes::from_static(b"data: [DONE]\n\n"));
    Transcript {
        events,
        first_content,
    }
}

fn event(json: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(json.len() + 8);
    out.extend_from_slice(b"data: ");
    out.extend_from_slice(json);
    out.extend_from_slice(b"\n\n");
    Bytes::from(out)
}

/// The reply as a model with `max_tokens` would give it after `used` tokens of reasoning: cut
/// to the words that fit, and whether it was cut.
pub(crate) fn cut_to_room(text: &str, max_tokens: Option<u64>, used: u64) -> (Cow<'_, str>, bool) {
    let room = max_tokens.map_or(u64::MAX, |max| max.saturating_sub(used));
    let pieces = split_words(text);
    match usize::try_from(room) {
        Ok(room) if room < pieces.len() => (Cow::Owned(pieces[..room].concat()), true),
        _ => (Cow::Borrowed(text), false),
    }
}

/// `"Hello big world"` → `["Hello", " big", " world"]`: a new piece starts at each whitespace run
/// that is followed by a word; trailing whitespace stays on the last piece.
pub(crate) fn split_words(text: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut previous_is_space = true;
    for (i, c) in text.char_indices() {
        let is_space = c.is_whitespace();
        if is_space && !previous_is_space && i > start && !text[i..].trim_start().is_empty() {
            pieces.push(&text[start..i]);
            start = i;
        }
        previous_is_space = is_space;
    }
    if start < text.len() {
        pieces.push(&text[start..]);
    }
    pieces
}

/// Splits tool-call arguments into up to three pieces on character boundaries (at least two
/// whenever the string has two or more characters).
pub(crate) fn split_arguments(arguments: &str) -> Vec<&str> {
    let chars = arguments.chars().count();
    if chars < 2 {
        return vec![arguments];
    }
    let parts = chars.min(3);
    let per_part = chars.div_ceil(parts);
    let boundaries: Vec<usize> = arguments
        .char_indices()
        .map(|(i, _)| i)
        .step_by(per_part)
        .chain(std::iter::once(arguments.len()))
        .collect();
    boundaries
        .windows(2)
        .map(|w| &arguments[w[0]..w[1]])
        .collect()
}

/// How the body is paced and broken.
pub(crate) struct Pacing {
    pub chunk_delay: Duration,
    pub gate: Option<Arc<Notify>>,
    pub disconnect_after_chunks: Option<usize>,
    pub abandoned: Arc<Abandoned>,
}

/// A JSON response of `content_type`; the protocol adds its own headers.
pub(crate) fn json_response(
    status: hyper::StatusCode,
    body: Vec<u8>,
    content_type: &'static str,
) -> hyper::Response<super::handler::ResponseBody> {
    let mut response = hyper::Response::new(http_body_util::Either::Left(
        http_body_util::Full::new(Bytes::from(body)),
    ));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(content_type),
    );
    response
}

/// A streamed response of `content_type`, paced as the request's behaviour says; the protocol
/// adds its own headers.
pub(crate) fn paced_response(
    transcript: Transcript,
    behaviour: &super::script::Behaviour,
    abandoned: Arc<Abandoned>,
    content_type: &'static str,
) -> hyper::Response<super::handler::ResponseBody> {
    let pacing = Pacing {
        chunk_delay: behaviour.chunk_delay,
        gate: behaviour.gate.clone(),
        disconnect_after_chunks: behaviour.disconnect_after_chunks,
        abandoned,
    };
    let mut response = hyper::Response::new(http_body_util::Either::Right(
        http_body_util::StreamBody::new(body(transcript, pacing)),
    ));
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(content_type),
    );
    response
}

/// Counts streams dropped by their reader before their last event (or planned break) was sent:
/// what a test of "a client that hangs up cancels its upstream request" waits for.
#[derive(Debug, Default)]
pub struct Abandoned {
    count: std::sync::atomic::AtomicUsize,
    notify: Notify,
}

impl Abandoned {
    pub fn count(&self) -> usize {
        self.count.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Waits until at least `n` streams have been abandoned.
    pub async fn wait_for(&self, n: usize) {
        loop {
            let notified = self.notify.notified();
            if self.count() >= n {
                return;
            }
            notified.await;
        }
    }

    fn record(&self) {
        self.count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.notify.notify_waiters();
    }
}

pub(crate) type FrameStream = BoxStream<'static, Result<Frame<Bytes>, io::Error>>;

/// The SSE body: events in order, `chunk_delay` between them, a wait on the gate after the first
/// content-bearing event, and an I/O error after `disconnect_after_chunks` events so hyper aborts
/// the connection instead of ending the chunked body cleanly.
pub(crate) fn body(transcript: Transcript, pacing: Pacing) -> FrameStream {
    struct State {
        events: std::vec::IntoIter<Bytes>,
        sent: usize,
        gate_after: Option<usize>,
        pacing: Pacing,
        broken: bool,
        finished: bool,
    }
    impl Drop for State {
        fn drop(&mut self) {
            if !self.finished && !self.broken {
                self.pacing.abandoned.record();
            }
        }
    }
    let state = State {
        events: transcript.events.into_iter(),
        sent: 0,
        gate_after: transcript.first_content,
        pacing,
        broken: false,
        finished: false,
    };
    stream::unfold(state, |mut state| async move {
        if state.broken {
            return None;
        }
        if state.pacing.disconnect_after_chunks == Some(state.sent) {
            // Let hyper flush what was already sent before the connection is torn down.
            tokio::time::sleep(Duration::from_millis(20)).await;
            state.broken = true;
            let error = io::Error::new(io::ErrorKind::ConnectionAborted, "fake disconnect");
            return Some((Err(error), state));
        }
        let Some(event) = state.events.next() else {
            state.finished = true;
            drop(state);
            return None;
        };
        if state.sent > 0 {
            if state.gate_after == Some(state.sent - 1)
                && let Some(gate) = &state.pacing.gate
            {
                gate.notified().await;
            }
            if !state.pacing.chunk_delay.is_zero() {
                tokio::time::sleep(state.pacing.chunk_delay).await;
            }
        }
        state.sent += 1;
        Some((Ok(Frame::data(event)), state))
    })
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_keep_their_leading_space() {
        assert_eq!(
            split_words("Hello from the fake provider."),
            ["Hello", " from", " the", " fake", " provider."]
        );
        assert_eq!(split_words("  a  b "), ["  a", "  b "]);
        assert_eq!(split_words("one"), ["one"]);
        assert!(split_words("").is_empty());
    }

    #[test]
    fn arguments_split_in_at_least_two_pieces() {
        assert_eq!(split_arguments("{}"), ["{", "}"]);
        assert_eq!(split_arguments("{\"a\":1}"), ["{\"a", "\":1", "}"]);
        assert_eq!(split_arguments("é€x"), ["é", "€", "x"]);
        assert_eq!(split_arguments(""), [""]);
        assert_eq!(
            split_arguments("{\"city\":\"Oslo\"}").concat(),
            "{\"city\":\"Oslo\"}"
        );
    }
}
