//! Gemini streams: upstream chunks → canonical events ([`ChunkDecoder`]) and canonical events →
//! client chunks ([`ChunkEncoder`]).
//!
//! Gemini clients get only `data: {json}` lines — the google-genai SDK parses any other line as
//! JSON and fails — or, without `alt=sse`, one JSON array written element by element. Function
//! calls arrive whole in Gemini, so the encoder buffers an upstream's streamed argument fragments
//! and emits each call once it is complete.

use bytes::{BufMut, Bytes, BytesMut};

use super::response::{
    call_args, decode_finish, decode_parts, decode_usage, encode_finish, encode_usage,
};
use super::wire::{
    WireCandidate, WireContent, WireErrorBody, WireFunctionCall, WirePart, WireResponse, WireUsage,
};
use crate::canonical::{ContentPart, Decoded, FinishReason, StreamEvent, Usage};
use crate::error::{ErrorKind, GatewayError};
use crate::protocols::anthropic::response::unix_now;

/// Reads a Gemini upstream's SSE chunks.
#[derive(Default)]
pub struct ChunkDecoder {
    started: bool,
    calls: usize,
    tool_index: u32,
}

impl ChunkDecoder {
    pub fn decode(&mut self, data: &str) -> Result<Decoded, GatewayError> {
        let chunk: WireResponse = serde_json::from_str(data).map_err(|error| {
            if let Ok(body) = serde_json::from_str::<WireErrorBody>(data) {
                return GatewayError::new(
                    ErrorKind::BadGateway,
                    format!("it reported an error mid-stream: {}", body.error.message),
                );
            }
            GatewayError::new(
                ErrorKind::BadGateway,
                format!("it sent a stream chunk the gateway could not read ({error})"),
            )
        })?;
        let mut events = Vec::new();
        let id = chunk.response_id.clone().unwrap_or_default();
        if !self.started {
            self.started = true;
            events.push(StreamEvent::Start {
                id: id.clone(),
                model: chunk.model_version.clone().unwrap_or_default(),
                created: unix_now(),
            });
        }
        for candidate in chunk.candidates {
            let choice = candidate.index;
            let parts = candidate
                .content
                .map(|content| content.parts)
                .unwrap_or_default();
            for part in decode_parts(&id, parts, &mut self.calls) {
                match part {
                    ContentPart::Text(text) => events.push(StreamEvent::TextDelta { choice, text }),
                    ContentPart::Reasoning { text, signature } => {
                        if !text.is_empty() {
                            events.push(StreamEvent::ReasoningDelta { choice, text });
                        }
                        if let Some(signature) = signature {
                            events.push(StreamEvent::ReasoningSignature { choice, signature });
                        }
                    }
                    ContentPart::ToolCall {
                        id,
                        name,
                        arguments,
                    } => {
                        let index = self.tool_index;
                        self.tool_index += 1;
                        events.push(StreamEvent::ToolCallStart {
                            choice,
                            index,
                            id,
                            name,
                        });
                        events.push(StreamEvent::ToolCallArguments {
                            choice,
                            index,
                            fragment: arguments,
                        });
                    }
                    _ => {}
                }
            }
            if let Some(reason) = candidate.finish_reason {
                events.push(StreamEvent::Finish {
                    choice,
                    reason: decode_finish(&reason, self.calls > 0),
                });
            }
        }
        if let Some(usage) = chunk.usage_metadata {
            events.push(StreamEvent::Usage(decode_usage(&usage)));
        }
        Ok(Decoded::Events(events))
    }
}

struct PendingCall {
    id: String,
    name: String,
    arguments: String,
    signature: Option<String>,
}

/// Writes Gemini chunks for a client.
pub struct ChunkEncoder {
    /// `data:` lines (`alt=sse`) or one JSON array.
    sse: bool,
    chunks_written: usize,
    response_id: String,
    model: String,
    calls: Vec<PendingCall>,
    signature: Option<String>,
    finish: Option<FinishReason>,
    usage: Option<Usage>,
}

impl ChunkEncoder {
    pub fn new(sse: bool) -> Self {
        ChunkEncoder {
            sse,
            chunks_written: 0,
            response_id: String::new(),
            model: String::new(),
            calls: Vec::new(),
            signature: None,
            finish: None,
            usage: None,
        }
    }

    pub fn usage(&self) -> Option<Usage> {
        self.usage
    }

    fn write(&mut self, value: &impl serde::Serialize) -> Bytes {
        let mut out = BytesMut::with_capacity(256);
        if self.sse {
            out.put_slice(b"data: ");
        } else {
            out.put_slice(if self.chunks_written == 0 {
                b"["
            } else {
                b",\r\n"
            });
        }
        let mut writer = out.writer();
        let _ = serde_json::to_writer(&mut writer, value);
        let mut out = writer.into_inner();
        if self.sse {
            out.put_slice(b"\r\n\r\n");
        }
        self.chunks_written += 1;
        out.freeze()
    }

    fn chunk(
        &mut self,
        parts: Vec<WirePart>,
        finish: Option<&FinishReason>,
        usage: Option<WireUsage>,
    ) -> Bytes {
        let response = WireResponse {
            candidates: vec![WireCandidate {
                content: Some(WireContent {
                    role: Some("model".to_owned()),
                    parts,
                }),
                finish_reason: finish.map(|reason| encode_finish(reason).to_owned()),
                index: 0,
            }],
            prompt_feedback: None,
            usage_metadata: usage,
            model_version: Some(self.model.clone()),
            response_id: Some(self.response_id.clone()),
        };
        self.write(&response)
    }

    fn flush_calls(&mut self) -> Vec<WirePart> {
        self.calls
            .drain(..)
            .map(|call| WirePart {
                function_call: Some(WireFunctionCall {
                    id: Some(call.id),
                    name: call.name,
                    args: call_args(&call.arguments),
                }),
                thought_signature: call.signature,
                ..WirePart::default()
            })
            .collect()
    }

    pub fn encode(&mut self, event: StreamEvent) -> Option<Bytes> {
        let parts = match event {
            StreamEvent::Start { id, model, .. } => {
                self.response_id = id;
                self.model = model;
                return None;
            }
            StreamEvent::TextDelta { choice: 0, text }
            | StreamEvent::RefusalDelta { choice: 0, text } => {
                let mut parts = self.flush_calls();
                parts.push(WirePart {
                    text: Some(text),
                    thought_signature: self.signature.take(),
                    ..WirePart::default()
                });
                parts
            }
            StreamEvent::ReasoningDelta { choice: 0, text } => {
                vec![WirePart {
                    text: Some(text),
                    thought: Some(true),
                    ..WirePart::default()
                }]
            }
            StreamEvent::ReasoningSignature {
                choice: 0,
                signature,
            } => {
                self.signature = Some(signature);
                return None;
            }
            StreamEvent::ToolCallStart {
                choice: 0,
                id,
                name,
                ..
            } => {
                let signature = self.signature.take();
                self.calls.push(PendingCall {
                    id,
                    name,
                    arguments: String::new(),
                    signature,
                });
                return None;
            }
            StreamEvent::ToolCallArguments {
                choice: 0,
                fragment,
                ..
            } => {
                if let Some(call) = self.calls.last_mut() {
                    call.arguments.push_str(&fragment);
                }
                return None;
            }
            StreamEvent::Finish { choice: 0, reason } => {
                self.finish = Some(reason);
                return None;
            }
            StreamEvent::Usage(usage) => {
                self.usage = Some(usage);
                return None;
            }
            _ => return None,
        };
        Some(self.chunk(parts, None, None))
    }

    /// The last chunk: buffered calls, the finish reason and the usage.
    pub fn finish(&mut self) -> Bytes {
        let parts = self.flush_calls();
        let finish = self.finish.clone().unwrap_or(FinishReason::Stop);
        let usage = self.usage.as_ref().map(encode_usage);
        let mut out = BytesMut::from(&self.chunk(parts, Some(&finish), usage)[..]);
        if !self.sse {
            out.put_slice(b"]");
        }
        out.freeze()
    }

    /// A chunk that is an error object, then the end of the stream.
    pub fn error(&mut self, error: &GatewayError) -> Bytes {
        let body = super::error::body(error);
        let mut out = BytesMut::from(&self.write(&body)[..]);
        if !self.sse {
            out.put_slice(b"]");
        }
        out.freeze()
    }
}
