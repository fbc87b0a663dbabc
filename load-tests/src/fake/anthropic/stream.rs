//! The streaming (SSE) form of an Anthropic answer: the event transcript. Pacing, faults and
//! abandonment are the shared body's (`fake/stream.rs`), which counts one SSE event as one chunk.
//!
//! Every event is `event: <type>` + `data: <json whose "type" repeats it>` + a blank line, and
//! there is no `[DONE]`. Order: `message_start` (empty content, `stop_reason: null`, usage with
//! the real input counts and `output_tokens: 1`); per content block `content_block_start`, the
//! deltas, `content_block_stop`, with one `ping` right after the first `content_block_start`;
//! `message_delta` (stop reason, the matched stop sequence or `null`, cumulative usage, and a
//! top-level `context_management: {"applied_edits": []}` when the request asked for context
//! management); `message_stop`.
//!
//! Deltas: text as `text_delta`s split on word boundaries; tool input as `input_json_delta`s, an
//! empty first piece then pieces that concatenate to the scripted argument string; thinking as
//! `thinking_delta`s followed by one `signature_delta`.

use bytes::Bytes;
use serde::Serialize;

use super::message::{Answer, AppliedEdits, Block, MessageObject, Tokens, UsageObject};
use crate::fake::openai::to_vec;
use crate::fake::stream::{Transcript, split_arguments, split_words};

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Event<'a> {
    MessageStart {
        message: MessageObject<'a>,
    },
    ContentBlockStart {
        index: usize,
        content_block: StartBlock<'a>,
    },
    Ping,
    ContentBlockDelta {
        index: usize,
        delta: Delta<'a>,
    },
    ContentBlockStop {
        index: usize,
    },
    MessageDelta {
        delta: StopDelta<'a>,
        usage: UsageObject,
        #[serde(skip_serializing_if = "Option::is_none")]
        context_management: Option<AppliedEdits>,
    },
    MessageStop,
}

impl Event<'_> {
    fn name(&self) -> &'static str {
        match self {
            Event::MessageStart { .. } => "message_start",
            Event::ContentBlockStart { .. } => "content_block_start",
            Event::Ping => "ping",
            Event::ContentBlockDelta { .. } => "content_block_delta",
            Event::ContentBlockStop { .. } => "content_block_stop",
            Event::MessageDelta { .. } => "message_delta",
            Event::MessageStop => "message_stop",
        }
    }
}

/// A block as `content_block_start` opens it: with its identity but without its content.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum StartBlock<'a> {
    Thinking {
        thinking: &'static str,
        signature: &'static str,
    },
    Text {
        text: &'static str,
    },
    ToolUse {
        id: &'a str,
        name: &'a str,
        input: Empty,
    },
}

/// Serializes as `{}`.
#[derive(Serialize)]
struct Empty {}

/// A `content_block_delta`'s `delta`; the tag is the variant's name + `_delta`.
#[derive(Serialize)]
#[serde(tag = "type")]
enum Delta<'a> {
    #[serde(rename = "thinking_delta")]
    Thinking { thinking: &'a str },
    #[serde(rename = "signature_delta")]
    Signature { signature: &'a str },
    #[serde(rename = "text_delta")]
    Text { text: &'a str },
    #[serde(rename = "input_json_delta")]
    InputJson { partial_json: &'a str },
}

#[derive(Serialize)]
struct StopDelta<'a> {
    stop_reason: &'static str,
    stop_sequence: Option<&'a str>,
}

/// Builds the whole transcript up front; the shared body paces it.
pub(crate) fn transcript(id: &str, model: &str, answer: &Answer<'_>) -> Transcript {
    let mut events = Vec::new();
    let mut first_content = None;
    let mut push = |event: Event<'_>| {
        if matches!(event, Event::ContentBlockDelta { .. }) && first_content.is_none() {
            first_content = Some(events.len());
        }
        events.push(encode(&event));
    };
    let opening = Tokens {
        output: 1,
        ..answer.usage
    };
    push(Event::MessageStart {
        message: MessageObject {
            id,
            kind: "message",
            role: "assistant",
            model,
            content: &[],
            stop_reason: None,
            stop_sequence: None,
            usage: UsageObject::new(opening, true),
            context_management: None,
        },
    });
    for (index, block) in answer.content.iter().enumerate() {
        push(Event::ContentBlockStart {
            index,
            content_block: start_block(block),
        });
        if index == 0 {
            push(Event::Ping);
        }
        for delta in deltas(block) {
            push(Event::ContentBlockDelta { index, delta });
        }
        push(Event::ContentBlockStop { index });
    }
    push(Event::MessageDelta {
        delta: StopDelta {
            stop_reason: answer.stop_reason,
            stop_sequence: answer.stop_sequence,
        },
        usage: UsageObject::new(answer.usage, false),
        context_management: AppliedEdits::of(answer),
    });
    push(Event::MessageStop);
    Transcript {
        events,
        first_content,
    }
}

fn start_block<'a>(block: &'a Block<'_>) -> StartBlock<'a> {
    match block {
        Block::Thinking { .. } => StartBlock::Thinking {
            thinking: "",
            signature: "",
        },
        Block::Text { .. } => StartBlock::Text { text: "" },
        Block::ToolUse { id, name, .. } => StartBlock::ToolUse {
            id,
            name,
            input: Empty {},
        },
    }
}

fn deltas<'a>(block: &'a Block<'_>) -> Vec<Delta<'a>> {
    match block {
        Block::Thinking {
            thinking,
            signature,
        } => split_words(thinking)
            .into_iter()
            .map(|thinking| Delta::Thinking { thinking })
            .chain([Delta::Signature { signature }])
            .collect(),
        Block::Text { text } => split_words(text)
            .into_iter()
            .map(|text| Delta::Text { text })
            .collect(),
        Block::ToolUse { arguments, .. } => {
            let pieces = if arguments.is_empty() {
                Vec::new()
            } else {
                split_arguments(arguments)
            };
            std::iter::once("")
                .chain(pieces)
                .map(|partial_json| Delta::InputJson { partial_json })
                .collect()
        }
    }
}

/// `event: <name>\ndata: <json>\n\n`.
fn encode(event: &Event<'_>) -> Bytes {
    let json = to_vec(event);
    let name = event.name();
    let mut out = Vec::with_capacity(json.len() + name.len() + 16);
    out.extend_from_slice(b"event: ");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\ndata: ");
    out.extend_from_slice(&json);
    out.extend_from_slice(b"\n\n");
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;
    use serde_json::Value;

    fn events(transcript: &Transcript) -> Vec<(String, Value)> {
        transcript
            .events
            .iter()
            .map(|event| {
                let text = std::str::from_utf8(event).unwrap();
                let (head, data) = text.trim_end().split_once('\n').unwrap();
                let name = head.strip_prefix("event: ").unwrap().to_owned();
                let json = serde_json::from_str(data.strip_prefix("data: ").unwrap()).unwrap();
                (name, json)
            })
            .collect()
    }

    #[test]
    fn thinking_then_tool_use() {
        let answer = Answer {
            context_management: false,
            content: vec![
                Block::Thinking {
                    thinking: "Hmm, weather.",
                    signature: "sig_x".to_owned(),
                },
                Block::ToolUse {
                    id: "toolu_fake0".to_owned(),
                    name: "get_weather",
                    input: serde_json::json!({"city": "Oslo"}),
                    arguments: r#"{"city":"Oslo"}"#,
                },
            ],
            stop_reason: "tool_use",
            stop_sequence: None,
            usage: Tokens {
                input: 3,
                cache_creation: 0,
                cache_read: 0,
                output: 4,
            },
        };

        let events = events(&transcript("msg_1", "m", &answer));

        for (name, json) in &events {
            assert_eq!(json["type"], name.as_str());
        }
        let names: Vec<&str> = events.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(
            names,
            [
                "message_start",
                "content_block_start",
                "ping",
                "content_block_delta",
                "content_block_delta",
                "content_block_delta",
                "content_block_stop",
                "content_block_start",
                "content_block_delta",
                "content_block_delta",
                "content_block_delta",
                "content_block_delta",
                "content_block_stop",
                "message_delta",
                "message_stop",
            ]
        );
        assert_eq!(events[5].1["delta"]["signature"], "sig_x");
        let json: String = events[8..12]
            .iter()
            .map(|(_, e)| e["delta"]["partial_json"].as_str().unwrap())
            .collect();
        assert_eq!(json, r#"{"city":"Oslo"}"#);
        assert_eq!(events[13].1["usage"]["output_tokens"], 4);
    }

    #[test]
    fn gate_index_is_the_first_delta() {
        let answer = Answer {
            context_management: false,
            content: vec![Block::Text {
                text: Cow::Borrowed("a b"),
            }],
            stop_reason: "end_turn",
            stop_sequence: None,
            usage: Tokens {
                input: 1,
                cache_creation: 0,
                cache_read: 0,
                output: 2,
            },
        };
        assert_eq!(transcript("m", "m", &answer).first_content, Some(3));
    }
}
