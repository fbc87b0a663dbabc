//! ConverseStream events → canonical events. The frames themselves (AWS event-stream binary
//! framing) are split by the attempt loop; this decoder reads each event's type and JSON payload.
//! Order: `messageStart`, per block `contentBlockStart` (tool use only) / `contentBlockDelta` /
//! `contentBlockStop`, `messageStop` with the stop reason, then `metadata` with the usage.

use std::collections::HashMap;

use serde_json::Value;

use super::converse::{decode_stop_reason, decode_usage};
use crate::canonical::{Decoded, StreamEvent};
use crate::error::{ErrorKind, GatewayError};
use crate::protocols::anthropic::response::unix_now;

pub struct EventDecoder {
    model: String,
    /// contentBlockIndex → canonical tool index.
    tools: HashMap<u64, u32>,
}

impl EventDecoder {
    pub fn new(model: &str) -> Self {
        EventDecoder {
            model: model.to_owned(),
            tools: HashMap::new(),
        }
    }

    pub fn decode(&mut self, event: &str, data: &str) -> Result<Decoded, GatewayError> {
        let payload: Value = serde_json::from_str(data).map_err(|error| {
            GatewayError::new(
                ErrorKind::BadGateway,
                format!("it sent a stream event the gateway could not read ({error})"),
            )
        })?;
        let mut events = Vec::new();
        let block = payload
            .get("contentBlockIndex")
            .and_then(Value::as_u64)
            .unwrap_or_default();
        match event {
            "messageStart" => events.push(StreamEvent::Start {
                id: format!("bedrock-{}", unix_now()),
                model: self.model.clone(),
                created: unix_now(),
            }),
            "contentBlockStart" => {
                if let Some(tool) = payload.pointer("/start/toolUse") {
                    let index = self.tools.len() as u32;
                    self.tools.insert(block, index);
                    events.push(StreamEvent::ToolCallStart {
                        choice: 0,
                        index,
                        id: tool["toolUseId"].as_str().unwrap_or_default().to_owned(),
                        name: tool["name"].as_str().unwrap_or_default().to_owned(),
                    });
                }
            }
            "contentBlockDelta" => {
                let delta = &payload["delta"];
                if let Some(text) = delta.get("text").and_then(Value::as_str) {
                    events.push(StreamEvent::TextDelta {
                        choice: 0,
                        text: text.to_owned(),
                    });
                } else if let Some(fragment) =
                    delta.pointer("/toolUse/input").and_then(Value::as_str)
                {
                    if let (Some(index), false) = (self.tools.get(&block), fragment.is_empty()) {
                        events.push(StreamEvent::ToolCallArguments {
                            choice: 0,
                            index: *index,
                            fragment: fragment.to_owned(),
                        });
                    }
                } else if let Some(reasoning) = delta.get("reasoningContent") {
                    if let Some(text) = reasoning.get("text").and_then(Value::as_str) {
                        events.push(StreamEvent::ReasoningDelta {
                            choice: 0,
                            text: text.to_owned(),
                        });
                    }
                    if let Some(signature) = reasoning.get("signature").and_then(Value::as_str) {
                        events.push(StreamEvent::ReasoningSignature {
                            choice: 0,
                            signature: signature.to_owned(),
                        });
                    }
                    if let Some(data) = reasoning.get("redactedContent").and_then(Value::as_str) {
                        events.push(StreamEvent::RedactedReasoning {
                            choice: 0,
                            data: data.to_owned(),
                        });
                    }
                }
            }
            "messageStop" => {
                let reason = payload["stopReason"].as_str().unwrap_or("end_turn");
                events.push(StreamEvent::Finish {
                    choice: 0,
                    reason: decode_stop_reason(
                        reason,
                        payload.get("additionalModelResponseFields"),
                    ),
                });
            }
            "metadata" => {
                if let Some(usage) = payload.get("usage") {
                    events.push(StreamEvent::Usage(decode_usage(usage)));
                }
            }
            // contentBlockStop, and event types added after this was written.
            _ => {}
        }
        Ok(Decoded::Events(events))
    }
}
