//! The `mock` provider: answers locally, deterministically, with no network and no API key, so
//! the quick start and load tests run anywhere.
//!
//! The reply quotes the last user message (or is the channel's fixed `reply`), cut before the
//! first of the request's stop sequences it contains (reported as that stop sequence). Tokens are words:
//! the reply is streamed one word per chunk, `output_tokens` is the number of chunks, and
//! `input_tokens` counts the words of every message plus 3 per message for role framing — simple,
//! but consistent between the stream and the usage it reports.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;

use crate::canonical::{
    ChatRequest, ChatResponse, Choice, ContentPart, EventStream, FinishReason, Role, StreamEvent,
    Usage,
};
use crate::config::MockSettings;

const QUOTE_LIMIT: usize = 200;

/// The deterministic reply text for a request.
pub fn reply_text(settings: &MockSettings, request: &ChatRequest) -> String {
    if let Some(reply) = &settings.reply {
        return reply.clone();
    }
    let last_user = request
        .messages
        .iter()
        .rev()
        .find(|message| message.role == Role::User)
        .map(|message| message.text())
        .unwrap_or_default();
    let quoted: String = last_user.split_whitespace().collect::<Vec<_>>().join(" ");
    let quoted: String = quoted.chars().take(QUOTE_LIMIT).collect();
    format!("This is a mock response from Switchboard. You said: {quoted}")
}

/// Splits text into word tokens, each carrying its leading space, so that concatenating the
/// tokens gives back the text.
pub fn tokens(text: &str) -> Vec<&str> {
    let mut tokens = Vec::new();
    let mut start = 0;
    for (index, character) in text.char_indices() {
        if character == ' ' && index > start && !text[start..index].trim().is_empty() {
            tokens.push(&text[start..index]);
            start = index;
        }
    }
    if start < text.len() {
        tokens.push(&text[start..]);
    }
    tokens
}

fn usage(request: &ChatRequest, output: u64) -> Usage {
    let input = request
        .messages
        .iter()
        .map(|message| message.text().split_whitespace().count() as u64 + 3)
        .sum();
    Usage {
        input_tokens: input,
        output_tokens: output,
        ..Usage::default()
    }
}

fn identity() -> (String, u64) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    (format!("chatcmpl-mock-{:x}", now.as_nanos()), now.as_secs())
}

/// The reply cut before the earliest stop sequence it contains, and how it ended.
fn stopped(request: &ChatRequest, mut text: String) -> (String, FinishReason) {
    let first = request
        .stop
        .iter()
        .filter(|stop| !stop.is_empty())
        .filter_map(|stop| text.find(stop.as_str()).map(|at| (at, stop)))
        .min_by_key(|(at, _)| *at);
    match first {
        Some((at, stop)) => {
            text.truncate(at);
            (text, FinishReason::StopSequence(Some(stop.clone())))
        }
        None => (text, FinishReason::Stop),
    }
}

/// Applies `max_output_tokens` the way a model would: cut the reply and report `length`.
fn limited<'a>(
    request: &ChatRequest,
    tokens: &'a [&'a str],
    finish: FinishReason,
) -> (&'a [&'a str], FinishReason) {
    match request.max_output_tokens {
        Some(limit) if (limit as usize) < tokens.len() => {
            (&tokens[..limit as usize], FinishReason::Length)
        }
        _ => (tokens, finish),
    }
}

pub async fn respond(settings: &MockSettings, request: &ChatRequest, model: &str) -> ChatResponse {
    tokio::time::sleep(settings.latency).await;
    let (text, finish) = stopped(request, reply_text(settings, request));
    let all = tokens(&text);
    let (kept, finish) = limited(request, &all, finish);
    let (id, created) = identity();
    let choices = (0..request.sampling.n.unwrap_or(1))
        .map(|index| Choice {
            index,
            content: vec![ContentPart::Text(kept.concat())],
            finish_reason: Some(finish.clone()),
            logprobs: None,
        })
        .collect();
    ChatResponse {
        id,
        created,
        model: model.to_owned(),
        choices,
        usage: Some(usage(request, kept.len() as u64)),
        system_fingerprint: None,
        service_tier: None,
        native: None,
    }
}

/// The same answer as [`respond`], one word per event, paced by `chunk_delay`.
pub fn stream(settings: &MockSettings, request: &ChatRequest, model: &str) -> EventStream {
    let (text, finish) = stopped(request, reply_text(settings, request));
    let owned: Vec<String> = tokens(&text).into_iter().map(str::to_owned).collect();
    let (kept, finish) = {
        let borrowed: Vec<&str> = owned.iter().map(String::as_str).collect();
        let (kept, finish) = limited(request, &borrowed, finish);
        (kept.len(), finish)
    };
    let (id, created) = identity();
    let mut events = vec![StreamEvent::Start {
        id,
        model: model.to_owned(),
        created,
    }];
    events.extend(
        owned
            .into_iter()
            .take(kept)
            .map(|text| StreamEvent::TextDelta { choice: 0, text }),
    );
    events.push(StreamEvent::Finish {
        choice: 0,
        reason: finish,
    });
    events.push(StreamEvent::Usage(usage(request, kept as u64)));

    let latency = settings.latency;
    let delay = settings.chunk_delay;
    let paced = futures_util::stream::iter(events.into_iter().enumerate()).then(
        move |(index, event)| async move {
            let pause = match index {
                0 => latency,
                _ if matches!(event, StreamEvent::TextDelta { .. }) && index > 1 => delay,
                _ => Duration::ZERO,
            };
            if !pause.is_zero() {
                tokio::time::sleep(pause).await;
            }
            Ok(event)
        },
    );
    Box::pin(paced)
}

/// Deterministic unit vectors (8 dimensions unless asked otherwise) derived from each input,
/// so equal inputs embed equally; token usage counts words like the chat mock.
pub fn embed(
    request: &crate::canonical::EmbeddingRequest,
    model: &str,
) -> crate::canonical::EmbeddingResponse {
    use crate::canonical::EmbeddingInput;
    let dimensions = request.dimensions.unwrap_or(8).clamp(1, 4096) as usize;
    let mut input_tokens = 0;
    let vectors = request
        .inputs
        .iter()
        .map(|input| {
            let (seed, tokens) = match input {
                EmbeddingInput::Text(text) => {
                    (fnv(text.as_bytes()), text.split_whitespace().count() as u64)
                }
                EmbeddingInput::Tokens(tokens) => {
                    let bytes: Vec<u8> = tokens
                        .iter()
                        .flat_map(|token| token.to_le_bytes())
                        .collect();
                    (fnv(&bytes), tokens.len() as u64)
                }
            };
            input_tokens += tokens;
            let mut state = seed;
            let raw: Vec<f32> = (0..dimensions)
                .map(|_| {
                    state = state
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
                })
                .collect();
            let norm = raw
                .iter()
                .map(|value| value * value)
                .sum::<f32>()
                .sqrt()
                .max(f32::EPSILON);
            raw.into_iter().map(|value| value / norm).collect()
        })
        .collect();
    crate::canonical::EmbeddingResponse {
        model: model.to_owned(),
        vectors,
        input_tokens,
    }
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325u64, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x100000001b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_concatenate_back_to_the_text() {
        let text = "This is  a mock response.";
        let pieces = tokens(text);
        assert_eq!(pieces.concat(), text);
        assert_eq!(pieces, ["This", " is", "  a", " mock", " response."]);
    }

    #[test]
    fn max_output_tokens_cuts_the_reply_with_length() {
        let request = ChatRequest {
            max_output_tokens: Some(2),
            ..ChatRequest::default()
        };
        let all = ["a", " b", " c"];
        let (kept, reason) = limited(&request, &all, FinishReason::Stop);
        assert_eq!(kept, ["a", " b"]);
        assert_eq!(reason, FinishReason::Length);
    }

    #[test]
    fn the_earliest_stop_sequence_cuts_the_reply_and_is_reported() {
        let request = ChatRequest {
            stop: vec!["END".to_owned(), "said".to_owned()],
            ..ChatRequest::default()
        };
        let (text, reason) = stopped(&request, "You said: hi END".to_owned());
        assert_eq!(text, "You ");
        assert_eq!(reason, FinishReason::StopSequence(Some("said".to_owned())));
        let (text, reason) = stopped(&ChatRequest::default(), "no stop".to_owned());
        assert_eq!((text.as_str(), reason), ("no stop", FinishReason::Stop));
    }
}
