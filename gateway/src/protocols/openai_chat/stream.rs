//! Chat Completions streams: upstream chunks → canonical events ([`ChunkDecoder`]) and canonical
//! events → client chunks ([`ChunkEncoder`]), one chunk at a time.
//!
//! The encoder emits what OpenAI emits: a first chunk with the role, content fragments, tool-call
//! fragments keyed by `index`, a chunk with an empty delta and the `finish_reason`, the usage chunk
//! (`choices: []`) only when the client asked for it, then `data: [DONE]`. A stream that breaks
//! ends with an `error` object and no `[DONE]`, so no client mistakes it for a complete answer.

use std::collections::HashSet;

use bytes::{BufMut, Bytes, BytesMut};

use super::response::{decode_usage, encode_usage};
use super::wire::{
    UsageField, WireChunk, WireChunkChoice, WireDelta, WireFunctionDelta, WireToolCallDelta,
};
use crate::canonical::{Decoded, FinishReason, StreamEvent, Usage};
use crate::error::{ErrorKind, GatewayError};

/// Turns each upstream `data:` payload into canonical events.
#[derive(Default)]
pub struct ChunkDecoder {
    started: bool,
    /// (choice, tool index) pairs whose start has been emitted.
    tool_calls: HashSet<(u32, u32)>,
}

impl ChunkDecoder {
    pub fn decode(&mut self, data: &str) -> Result<Decoded, GatewayError> {
        if data.trim() == "[DONE]" {
            return Ok(Decoded::Done);
        }
        let chunk: WireChunk = serde_json::from_str(data).map_err(|error| {
            if let Some(message) = upstream_stream_error(data) {
                return GatewayError::new(
                    ErrorKind::BadGateway,
                    format!("it reported an error mid-stream: {message}"),
                );
            }
            GatewayError::new(
                ErrorKind::BadGateway,
                format!("it sent a stream chunk the gateway could not read ({error})"),
            )
        })?;
        let mut events = Vec::new();
        let usage = match chunk.usage {
            UsageField::Present(usage) => Some(usage),
            UsageField::Omitted | UsageField::Null => chunk.x_groq.and_then(|extras| extras.usage),
        };
        // Azure sends filter-result chunks with no choices before the answer starts.
        if !self.started && (!chunk.choices.is_empty() || usage.is_some()) {
            self.started = true;
            events.push(StreamEvent::Start {
                id: chunk.id,
                model: chunk.model,
                created: chunk.created,
            });
        }
        for choice in chunk.choices {
            self.decode_choice(choice, &mut events);
        }
        if let Some(usage) = usage {
            events.push(StreamEvent::Usage(decode_usage(&usage)));
        }
        Ok(Decoded::Events(events))
    }

    fn decode_choice(&mut self, choice: WireChunkChoice, events: &mut Vec<StreamEvent>) {
        let index = choice.index;
        let delta = choice.delta;
        if let Some(text) = delta
            .reasoning_content
            .or(delta.reasoning)
            .filter(|text| !text.is_empty())
        {
            events.push(StreamEvent::ReasoningDelta {
                choice: index,
                text,
            });
        }
        if let Some(text) = delta.content.filter(|text| !text.is_empty()) {
            events.push(StreamEvent::TextDelta {
                choice: index,
                text,
            });
        }
        if let Some(text) = delta.refusal.filter(|text| !text.is_empty()) {
            events.push(StreamEvent::RefusalDelta {
                choice: index,
                text,
            });
        }
        for call in delta.tool_calls.into_iter().flatten() {
            let function = call.function.unwrap_or_default();
            if self.tool_calls.insert((index, call.index)) {
                events.push(StreamEvent::ToolCallStart {
                    choice: index,
                    index: call.index,
                    id: call
                        .id
                        .unwrap_or_else(|| format!("call_{index}_{}", call.index)),
                    name: function.name.unwrap_or_default(),
                });
            }
            if let Some(fragment) = function.arguments.filter(|fragment| !fragment.is_empty()) {
                events.push(StreamEvent::ToolCallArguments {
                    choice: index,
                    index: call.index,
                    fragment,
                });
            }
        }
        if let Some(reason) = choice.finish_reason {
            events.push(StreamEvent::Finish {
                choice: index,
                reason: FinishReason::from_openai(&reason),
            });
        }
    }
}

fn upstream_stream_error(data: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(data).ok()?;
    let error = value.get("error")?;
    Some(
        error
            .get("message")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("unknown error")
            .to_owned(),
    )
}

/// Renders canonical events as the client's SSE chunks.
pub struct ChunkEncoder {
    id: String,
    model: String,
    created: u64,
    include_usage: bool,
    usage: Option<Usage>,
}

impl ChunkEncoder {
    pub fn new(include_usage: bool) -> Self {
        ChunkEncoder {
            id: String::new(),
            model: String::new(),
            created: 0,
            include_usage,
            usage: None,
        }
    }

    /// Encodes one event; `None` when the event produces no chunk by itself (usage is held
    /// until the end).
    pub fn encode(&mut self, event: StreamEvent) -> Option<Bytes> {
        let (choice, delta, finish_reason) = match event {
            StreamEvent::Start { id, model, created } => {
                self.id = id;
                self.model = model;
                self.created = created;
                let delta = WireDelta {
                    role: Some("assistant".to_owned()),
                    content: Some(String::new()),
                    ..WireDelta::default()
                };
                (0, delta, None)
            }
            StreamEvent::TextDelta { choice, text } => (
                choice,
                WireDelta {
                    content: Some(text),
                    ..WireDelta::default()
                },
                None,
            ),
            StreamEvent::ReasoningDelta { choice, text } => (
                choice,
                WireDelta {
                    reasoning_content: Some(text),
                    ..WireDelta::default()
                },
                None,
            ),
            StreamEvent::RefusalDelta { choice, text } => (
                choice,
                WireDelta {
                    refusal: Some(text),
                    ..WireDelta::default()
                },
                None,
            ),
            StreamEvent::ToolCallStart {
                choice,
                index,
                id,
                name,
            } => {
                let call = WireToolCallDelta {
                    index,
                    id: Some(id),
                    kind: Some("function".to_owned()),
                    function: Some(WireFunctionDelta {
                        name: Some(name),
                        arguments: Some(String::new()),
                    }),
                };
                (
                    choice,
                    WireDelta {
                        tool_calls: Some(vec![call]),
                        ..WireDelta::default()
                    },
                    None,
                )
            }
            StreamEvent::ToolCallArguments {
                choice,
                index,
                fragment,
            } => {
                let call = WireToolCallDelta {
                    index,
                    function: Some(WireFunctionDelta {
                        name: None,
                        arguments: Some(fragment),
                    }),
                    ..WireToolCallDelta::default()
                };
                (
                    choice,
                    WireDelta {
                        tool_calls: Some(vec![call]),
                        ..WireDelta::default()
                    },
                    None,
                )
            }
            StreamEvent::Finish { choice, reason } => (
                choice,
                WireDelta::default(),
                Some(reason.as_openai().to_owned()),
            ),
            StreamEvent::Usage(usage) => {
                self.usage = Some(usage);
                return None;
            }
            // Chat Completions chunks have no field for reasoning signatures; native events are
            // for clients of another protocol.
            StreamEvent::ReasoningSignature { .. }
            | StreamEvent::RedactedReasoning { .. }
            | StreamEvent::Native { .. } => {
                return None;
            }
        };
        let choices = vec![WireChunkChoice {
            index: choice,
            delta,
            finish_reason,
        }];
        Some(self.chunk(choices, self.null_usage()))
    }

    /// The closing chunks of a stream that completed: the usage chunk if asked for, `[DONE]`.
    pub fn finish(&mut self) -> Bytes {
        let mut out = BytesMut::new();
        if self.include_usage {
            let usage = self.usage.as_ref().map(encode_usage).unwrap_or_default();
            out.extend_from_slice(&self.chunk(Vec::new(), UsageField::Present(usage)));
        }
        out.extend_from_slice(b"data: [DONE]\n\n");
        out.freeze()
    }

    /// The last usage seen, for accounting.
    pub fn usage(&self) -> Option<Usage> {
        self.usage
    }

    fn null_usage(&self) -> UsageField {
        if self.include_usage {
            UsageField::Null
        } else {
            UsageField::Omitted
        }
    }

    fn chunk(&self, choices: Vec<WireChunkChoice>, usage: UsageField) -> Bytes {
        let chunk = WireChunk {
            id: self.id.clone(),
            object: "chat.completion.chunk".to_owned(),
            created: self.created,
            model: self.model.clone(),
            choices,
            usage,
            x_groq: None,
        };
        sse_data(&chunk)
    }
}

/// `data: <json>\n\n`.
pub fn sse_data(value: &impl serde::Serialize) -> Bytes {
    let mut out = BytesMut::with_capacity(256);
    out.put_slice(b"data: ");
    let mut writer = out.writer();
    // Serializing our own plain structs into memory cannot fail.
    if serde_json::to_writer(&mut writer, value).is_err() {
        return Bytes::from_static(b"data: {}\n\n");
    }
    let mut out = writer.into_inner();
    out.put_slice(b"\n\n");
    out.freeze()
}
