//! The ConverseStream form of an answer: binary AWS event-stream frames
//! (`application/vnd.amazon.eventstream`), built with `aws-smithy-eventstream` so prelude, header
//! encoding and both CRCs are exactly what an SDK decoder checks. Pacing, faults and abandonment
//! are the shared body's (`fake/stream.rs`), which counts one frame as one chunk.
//!
//! Every frame carries the headers `:event-type`, `:content-type: application/json` and
//! `:message-type: event`, and a JSON payload with Bedrock's `"p"` padding field (a run of
//! letters and digits whose length varies), which clients must ignore. Order: `messageStart`
//! (`{"role":"assistant"}`); per content block an optional `contentBlockStart` (tool use only:
//! `{"start":{"toolUse":{"toolUseId","name"}}}` — text and reasoning blocks start with their
//! first delta), the `contentBlockDelta`s and a `contentBlockStop`; `messageStop`
//! (`{"stopReason"}`, plus `additionalModelResponseFields` when the request asked for a field);
//! and last `metadata` (`{"usage","metrics":{"latencyMs"}}`), which comes
//! *after* the stop reason.
//!
//! Deltas: text split on word boundaries; reasoning as `{"reasoningContent":{"text"}}` pieces
//! then one `{"reasoningContent":{"signature"}}`; tool input as `{"toolUse":{"input"}}` string
//! fragments (at least two) that concatenate to the arguments.

use aws_smithy_eventstream::frame::write_message_to;
use aws_smithy_types::event_stream::{Header, HeaderValue, Message};
use bytes::Bytes;
use serde_json::{Value, json};

use super::answer::{Answer, Block};
use crate::fake::openai::to_vec;
use crate::fake::stream::{Transcript, split_arguments, split_words};

const PADDING: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// Builds the whole transcript up front; the shared body paces it.
pub(crate) fn transcript(answer: &Answer<'_>) -> Transcript {
    let mut events = Vec::new();
    let mut first_content = None;
    let mut push = |event_type: &'static str, payload: Value| {
        if event_type == "contentBlockDelta" && first_content.is_none() {
            first_content = Some(events.len());
        }
        events.push(frame(event_type, payload, events.len()));
    };
    push("messageStart", json!({"role": "assistant"}));
    for (index, block) in answer.content.iter().enumerate() {
        let mut delta = |delta: Value| {
            push(
                "contentBlockDelta",
                json!({"contentBlockIndex": index, "delta": delta}),
            );
        };
        match block {
            Block::Reasoning { text, signature } => {
                for piece in split_words(text) {
                    delta(json!({"reasoningContent": {"text": piece}}));
                }
                delta(json!({"reasoningContent": {"signature": signature}}));
            }
            Block::Text(text) => {
                for piece in split_words(text) {
                    delta(json!({"text": piece}));
                }
            }
            Block::ToolUse {
                id,
                name,
                arguments,
                ..
            } => {
                push(
                    "contentBlockStart",
                    json!({"contentBlockIndex": index,
                           "start": {"toolUse": {"toolUseId": id, "name": name}}}),
                );
                for piece in split_arguments(arguments) {
                    push(
                        "contentBlockDelta",
                        json!({"contentBlockIndex": index, "delta": {"toolUse": {"input": piece}}}),
                    );
                }
            }
        }
        push("contentBlockStop", json!({"contentBlockIndex": index}));
    }
    let mut stop = json!({"stopReason": answer.stop_reason});
    if let Some(fields) = &answer.additional_fields {
        stop["additionalModelResponseFields"] = fields.clone();
    }
    push("messageStop", stop);
    push(
        "metadata",
        json!({"usage": answer.usage, "metrics": {"latencyMs": answer.latency_ms}}),
    );
    Transcript {
        events,
        first_content,
    }
}

/// One event frame; `sequence` varies the padding's length.
fn frame(event_type: &'static str, mut payload: Value, sequence: usize) -> Bytes {
    if let Value::Object(fields) = &mut payload {
        let length = 1 + (sequence * 7) % PADDING.len();
        fields.insert("p".to_owned(), Value::from(&PADDING[..length]));
    }
    let message = Message::new(to_vec(&payload))
        .add_header(Header::new(
            ":event-type",
            HeaderValue::String(event_type.into()),
        ))
        .add_header(Header::new(
            ":content-type",
            HeaderValue::String("application/json".into()),
        ))
        .add_header(Header::new(
            ":message-type",
            HeaderValue::String("event".into()),
        ));
    let mut out = Vec::with_capacity(message.payload().len() + 96);
    // Writing fails only for headers or payloads beyond the format's 16 MiB limits, which a
    // scripted word or argument fragment does not reach; the frame would then be empty and the
    // client's decoder would say so.
    let _ = write_message_to(&message, &mut out);
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use aws_smithy_eventstream::frame::read_message_from;

    use super::*;
    use crate::fake::bedrock::answer::TokenUsage;

    fn decoded(transcript: &Transcript) -> Vec<(String, Value)> {
        transcript
            .events
            .iter()
            .map(|frame| {
                let message = read_message_from(frame.clone()).unwrap();
                let header = |name: &str| {
                    let header = message.headers().iter().find(|h| h.name().as_str() == name);
                    header
                        .unwrap()
                        .value()
                        .as_string()
                        .unwrap()
                        .as_str()
                        .to_owned()
                };
                assert_eq!(header(":message-type"), "event");
                assert_eq!(header(":content-type"), "application/json");
                let json: Value = serde_json::from_slice(message.payload()).unwrap();
                assert!(json["p"].is_string());
                (header(":event-type"), json)
            })
            .collect()
    }

    #[test]
    fn reasoning_then_tool_use_then_stop_then_metadata() {
        let answer = Answer {
            content: vec![
                Block::Reasoning {
                    text: "Hmm, weather.",
                    signature: "sig_x".to_owned(),
                },
                Block::ToolUse {
                    id: "tooluse_0".to_owned(),
                    name: "get_weather",
                    input: json!({"city": "Oslo"}),
                    arguments: Cow::Borrowed(r#"{"city":"Oslo"}"#),
                },
            ],
            stop_reason: "tool_use",
            additional_fields: None,
            usage: TokenUsage {
                input_tokens: 3,
                output_tokens: 4,
                total_tokens: 7,
                cache_read_input_tokens: 0,
                cache_write_input_tokens: 0,
            },
            latency_ms: 0,
        };
        let transcript = transcript(&answer);
        let events = decoded(&transcript);
        let names: Vec<&str> = events.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(
            names,
            [
                "messageStart",
                "contentBlockDelta",
                "contentBlockDelta",
                "contentBlockDelta",
                "contentBlockStop",
                "contentBlockStart",
                "contentBlockDelta",
                "contentBlockDelta",
                "contentBlockDelta",
                "contentBlockStop",
                "messageStop",
                "metadata",
            ]
        );
        assert_eq!(transcript.first_content, Some(1));
        assert_eq!(
            events[3].1["delta"]["reasoningContent"]["signature"],
            "sig_x"
        );
        assert_eq!(
            events[5].1["start"],
            json!({"toolUse": {"toolUseId": "tooluse_0", "name": "get_weather"}})
        );
        let input: String = events[6..9]
            .iter()
            .map(|(_, event)| event["delta"]["toolUse"]["input"].as_str().unwrap())
            .collect();
        assert_eq!(input, r#"{"city":"Oslo"}"#);
        assert_eq!(events[10].1["stopReason"], "tool_use");
        assert_eq!(events[11].1["usage"]["totalTokens"], 7);
        assert_eq!(events[11].1["metrics"]["latencyMs"], 0);
    }
}
