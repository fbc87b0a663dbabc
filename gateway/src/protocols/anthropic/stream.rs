//! Anthropic Messages streams: upstream events → canonical events ([`EventDecoder`]) and
//! canonical events → client events ([`EventEncoder`]).
//!
//! Every event the encoder writes has an `event:` line (the SDKs dispatch on it) and a `data:`
//! line whose `type` repeats it: `message_start`, then per content block `content_block_start`,
//! deltas and `content_block_stop`, then `message_delta` with the stop reason and cumulative
//! usage, then `message_stop`. Blocks are opened and closed as the canonical events change kind,
//! so an OpenAI upstream's text-then-tool-calls stream becomes text and `tool_use` blocks.

use std::collections::HashMap;

use bytes::{BufMut, Bytes, BytesMut};
use serde::Serialize;
use serde_json::json;

use super::response::{
    decode_stop_reason, encode_stop_reason, message_id, stop_sequence, unix_now,
};
use super::wire::{KnownBlock, WireBlock, WireStreamEvent};
use crate::canonical::{Decoded, FinishReason, StreamEvent, Usage};
use crate::error::{ErrorKind, GatewayError};

/// `event: <name>\ndata: <json>\n\n`.
pub fn sse_event(name: &str, data: &impl Serialize) -> Bytes {
    let mut out = BytesMut::with_capacity(128);
    out.put_slice(b"event: ");
    out.put_slice(name.as_bytes());
    out.put_slice(b"\ndata: ");
    let mut writer = out.writer();
    if serde_json::to_writer(&mut writer, data).is_err() {
        return Bytes::from_static(b"event: error\ndata: {}\n\n");
    }
    let mut out = writer.into_inner();
    out.put_slice(b"\n\n");
    out.freeze()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum BlockKind {
    Text,
    Thinking,
    Tool(u32),
    Other,
}

/// Reads an Anthropic upstream's events.
#[derive(Default)]
pub struct EventDecoder {
    blocks: HashMap<u32, BlockKind>,
    tools: u32,
    usage: Usage,
}

impl EventDecoder {
    pub fn decode(&mut self, event: &str, data: &str) -> Result<Decoded, GatewayError> {
        if matches!(event, "ping") {
            return Ok(Decoded::Events(Vec::new()));
        }
        if event == "message_stop" {
            return Ok(Decoded::Done);
        }
        let payload: WireStreamEvent = serde_json::from_str(data).map_err(|error| {
            GatewayError::new(
                ErrorKind::BadGateway,
                format!("it sent a stream event the gateway could not read ({error})"),
            )
        })?;
        let mut events = Vec::new();
        match event {
            "message_start" => {
                let message = payload
                    .message
                    .unwrap_or_else(|| super::wire::WireResponse {
                        id: String::new(),
                        kind: "message".to_owned(),
                        role: "assistant".to_owned(),
                        model: String::new(),
                        content: Vec::new(),
                        stop_reason: None,
                        stop_sequence: None,
                        usage: Default::default(),
                    });
                self.usage = super::response::decode_usage(&message.usage);
                events.push(StreamEvent::Start {
                    id: message.id,
                    model: message.model,
                    created: unix_now(),
                });
            }
            "content_block_start" => {
                self.start_block(payload.index, payload.content_block, &mut events)
            }
            "content_block_delta" => {
                let kind = self
                    .blocks
                    .get(&payload.index)
                    .copied()
                    .unwrap_or(BlockKind::Other);
                let delta = payload.delta.unwrap_or_default();
                match (kind, delta.kind.as_deref()) {
                    (_, Some("text_delta")) => events.extend(
                        delta
                            .text
                            .map(|text| StreamEvent::TextDelta { choice: 0, text }),
                    ),
                    (BlockKind::Tool(index), Some("input_json_delta")) => events.extend(
                        delta
                            .partial_json
                            .filter(|fragment| !fragment.is_empty())
                            .map(|fragment| StreamEvent::ToolCallArguments {
                                choice: 0,
                                index,
                                fragment,
                            }),
                    ),
                    (_, Some("thinking_delta")) => events.extend(
                        delta
                            .thinking
                            .map(|text| StreamEvent::ReasoningDelta { choice: 0, text }),
                    ),
                    (_, Some("signature_delta")) => {
                        events.extend(delta.signature.map(|signature| {
                            StreamEvent::ReasoningSignature {
                                choice: 0,
                                signature,
                            }
                        }))
                    }
                    _ => {}
                }
            }
            "message_delta" => {
                if let Some(delta) = payload.delta
                    && let Some(reason) = delta.stop_reason
                {
                    events.push(StreamEvent::Finish {
                        choice: 0,
                        reason: decode_stop_reason(&reason, delta.stop_sequence),
                    });
                }
                if let Some(usage) = payload.usage {
                    // Cumulative values: the latest wins, never summed.
                    let current = &mut self.usage;
                    current.output_tokens = usage.output_tokens.unwrap_or(current.output_tokens);
                    current.input_tokens = usage.input_tokens.unwrap_or(current.input_tokens);
                    current.cache_read_tokens = usage
                        .cache_read_input_tokens
                        .unwrap_or(current.cache_read_tokens);
                    current.cache_write_tokens = usage
                        .cache_creation_input_tokens
                        .unwrap_or(current.cache_write_tokens);
                    events.push(StreamEvent::Usage(*current));
                }
            }
            "error" => {
                let error = payload.error.unwrap_or_else(|| super::wire::WireError {
                    kind: "api_error".to_owned(),
                    message: "unknown error".to_owned(),
                });
                let kind = if error.kind == "overloaded_error" {
                    ErrorKind::Overloaded
                } else {
                    ErrorKind::BadGateway
                };
                let mut failure = GatewayError::new(
                    kind,
                    format!("it reported an error mid-stream: {}", error.message),
                );
                failure.upstream_type = Some(error.kind);
                return Err(failure);
            }
            // content_block_stop and event types added after this was written.
            _ => {}
        }
        Ok(Decoded::Events(events))
    }

    fn start_block(&mut self, index: u32, block: Option<WireBlock>, events: &mut Vec<StreamEvent>) {
        let kind = match block {
            Some(WireBlock::Known(KnownBlock::Text { text, .. })) => {
                if !text.is_empty() {
                    events.push(StreamEvent::TextDelta { choice: 0, text });
                }
                BlockKind::Text
            }
            Some(WireBlock::Known(KnownBlock::ToolUse { id, name, .. })) => {
                let tool = self.tools;
                self.tools += 1;
                events.push(StreamEvent::ToolCallStart {
                    choice: 0,
                    index: tool,
                    id,
                    name,
                });
                BlockKind::Tool(tool)
            }
            Some(WireBlock::Known(KnownBlock::Thinking { thinking, .. })) => {
                if !thinking.is_empty() {
                    events.push(StreamEvent::ReasoningDelta {
                        choice: 0,
                        text: thinking,
                    });
                }
                BlockKind::Thinking
            }
            Some(WireBlock::Known(KnownBlock::RedactedThinking { data })) => {
                events.push(StreamEvent::RedactedReasoning { choice: 0, data });
                BlockKind::Other
            }
            _ => BlockKind::Other,
        };
        self.blocks.insert(index, kind);
    }
}

/// Writes Anthropic events for a client.
pub struct EventEncoder {
    started: bool,
    open: Option<(BlockKind, u32)>,
    next_index: u32,
    tool_blocks: HashMap<u32, u32>,
    stop_reason: Option<FinishReason>,
    usage: Option<Usage>,
}

impl Default for EventEncoder {
    fn default() -> Self {
        Self::new()
    }
}

impl EventEncoder {
    pub fn new() -> Self {
        EventEncoder {
            started: false,
            open: None,
            next_index: 0,
            tool_blocks: HashMap::new(),
            stop_reason: None,
            usage: None,
        }
    }

    pub fn usage(&self) -> Option<Usage> {
        self.usage
    }

    pub fn encode(&mut self, event: StreamEvent) -> Option<Bytes> {
        let mut out = BytesMut::new();
        if !self.started && !matches!(event, StreamEvent::Start { .. }) {
            self.message_start(&mut out, "msg_switchboard", "");
        }
        match event {
            StreamEvent::Start { id, model, .. } if !self.started => {
                self.message_start(&mut out, &message_id(&id), &model);
            }
            StreamEvent::TextDelta { choice: 0, text }
            | StreamEvent::RefusalDelta { choice: 0, text } => {
                let index = self.ensure_open(&mut out, BlockKind::Text);
                out.extend_from_slice(&delta(index, json!({"type": "text_delta", "text": text})));
            }
            StreamEvent::ReasoningDelta { choice: 0, text } => {
                let index = self.ensure_open(&mut out, BlockKind::Thinking);
                out.extend_from_slice(&delta(
                    index,
                    json!({"type": "thinking_delta", "thinking": text}),
                ));
            }
            StreamEvent::ReasoningSignature {
                choice: 0,
                signature,
            } => {
                let index = self.ensure_open(&mut out, BlockKind::Thinking);
                out.extend_from_slice(&delta(
                    index,
                    json!({"type": "signature_delta", "signature": signature}),
                ));
            }
            StreamEvent::RedactedReasoning { choice: 0, data } => {
                self.close(&mut out);
                let index = self.next_block();
                let block = json!({"type": "redacted_thinking", "data": data});
                out.extend_from_slice(&sse_event(
                    "content_block_start",
                    &json!({"type": "content_block_start", "index": index, "content_block": block}),
                ));
                out.extend_from_slice(&sse_event(
                    "content_block_stop",
                    &json!({"type": "content_block_stop", "index": index}),
                ));
            }
            StreamEvent::ToolCallStart {
                choice: 0,
                index: tool,
                id,
                name,
            } => {
                self.close(&mut out);
                let index = self.next_block();
                self.tool_blocks.insert(tool, index);
                self.open = Some((BlockKind::Tool(tool), index));
                let block = json!({"type": "tool_use", "id": id, "name": name, "input": {}});
                out.extend_from_slice(&sse_event(
                    "content_block_start",
                    &json!({"type": "content_block_start", "index": index, "content_block": block}),
                ));
            }
            StreamEvent::ToolCallArguments {
                choice: 0,
                index: tool,
                fragment,
            } => {
                if let Some(index) = self.tool_blocks.get(&tool).copied() {
                    out.extend_from_slice(&delta(
                        index,
                        json!({"type": "input_json_delta", "partial_json": fragment}),
                    ));
                }
            }
            StreamEvent::Finish { choice: 0, reason } => self.stop_reason = Some(reason),
            StreamEvent::Usage(usage) => self.usage = Some(usage),
            // Anthropic messages have a single answer: other choices have nowhere to go.
            _ => {}
        }
        (!out.is_empty()).then(|| out.freeze())
    }

    /// Closes the open block and ends the message: `message_delta` then `message_stop`.
    pub fn finish(&mut self) -> Bytes {
        let mut out = BytesMut::new();
        if !self.started {
            self.message_start(&mut out, "msg_switchboard", "");
        }
        self.close(&mut out);
        let usage = self.usage.unwrap_or_default();
        let stop_reason = self
            .stop_reason
            .as_ref()
            .map(encode_stop_reason)
            .unwrap_or("end_turn");
        let stop_sequence = self.stop_reason.as_ref().and_then(stop_sequence);
        out.extend_from_slice(&sse_event(
            "message_delta",
            &json!({
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason, "stop_sequence": stop_sequence},
                "usage": {
                    "input_tokens": usage.input_tokens,
                    "output_tokens": usage.output_tokens,
                    "cache_creation_input_tokens": usage.cache_write_tokens,
                    "cache_read_input_tokens": usage.cache_read_tokens,
                },
            }),
        ));
        out.extend_from_slice(&sse_event("message_stop", &json!({"type": "message_stop"})));
        out.freeze()
    }

    fn message_start(&mut self, out: &mut BytesMut, id: &str, model: &str) {
        self.started = true;
        let message = json!({
            "id": id, "type": "message", "role": "assistant", "model": model, "content": [],
            "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": 0, "output_tokens": 0, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0},
        });
        out.extend_from_slice(&sse_event(
            "message_start",
            &json!({"type": "message_start", "message": message}),
        ));
    }

    fn next_block(&mut self) -> u32 {
        let index = self.next_index;
        self.next_index += 1;
        index
    }

    /// The index of an open block of `kind`, opening one (and closing another) if needed.
    fn ensure_open(&mut self, out: &mut BytesMut, kind: BlockKind) -> u32 {
        if let Some((open, index)) = self.open
            && open == kind
        {
            return index;
        }
        self.close(out);
        let index = self.next_block();
        let block = match kind {
            BlockKind::Thinking => json!({"type": "thinking", "thinking": "", "signature": ""}),
            _ => json!({"type": "text", "text": ""}),
        };
        out.extend_from_slice(&sse_event(
            "content_block_start",
            &json!({"type": "content_block_start", "index": index, "content_block": block}),
        ));
        self.open = Some((kind, index));
        index
    }

    fn close(&mut self, out: &mut BytesMut) {
        if let Some((_, index)) = self.open.take() {
            out.extend_from_slice(&sse_event(
                "content_block_stop",
                &json!({"type": "content_block_stop", "index": index}),
            ));
        }
    }
}

fn delta(index: u32, delta: serde_json::Value) -> Bytes {
    sse_event(
        "content_block_delta",
        &json!({"type": "content_block_delta", "index": index, "delta": delta}),
    )
}
