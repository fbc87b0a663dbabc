//! Responses API streams from `api: responses` channels → canonical events.
//!
//! `response.created` starts the answer; `output_text`, `refusal` and reasoning deltas become
//! text, refusal and reasoning deltas; a `function_call` item announced by
//! `response.output_item.added` becomes a tool call whose arguments follow in
//! `response.function_call_arguments.delta` events; `response.completed` and
//! `response.incomplete` carry the finish reason and usage. `response.failed` and `error` end
//! the stream with the upstream's message. Hosted-tool events are left out: their results reach
//! the answer's text.
//!
//! Passing through (a Responses client), every event is also given as it came, after the
//! canonical events decoded from it, and a `response.failed` is passed on instead of becoming an
//! error: the client reads the upstream's own failure.

use std::collections::HashMap;

use bytes::{BufMut, Bytes, BytesMut};
use serde_json::Value;

use super::response::{decode_usage, finish_reason};
use crate::canonical::{Decoded, StreamEvent};
use crate::error::{ErrorKind, GatewayError};

#[derive(Default)]
pub struct EventDecoder {
    /// `output_index` of a function-call item → its canonical tool index.
    calls: HashMap<u64, u32>,
    native: bool,
}

impl EventDecoder {
    pub fn pass_through(&mut self) {
        self.native = true;
    }

    pub fn decode(&mut self, event: &str, data: &str) -> Result<Decoded, GatewayError> {
        let payload: Value = serde_json::from_str(data).map_err(|error| {
            GatewayError::new(
                ErrorKind::BadGateway,
                format!("it sent a stream event the gateway could not read ({error})"),
            )
        })?;
        let kind = payload["type"]
            .as_str()
            .filter(|kind| !kind.is_empty())
            .unwrap_or(event);
        let mut events = Vec::new();
        let mut terminal = false;
        match kind {
            "response.created" => {
                let response = &payload["response"];
                events.push(StreamEvent::Start {
                    id: response["id"].as_str().unwrap_or_default().to_owned(),
                    model: response["model"].as_str().unwrap_or_default().to_owned(),
                    created: response["created_at"].as_u64().unwrap_or_default(),
                });
            }
            "response.output_item.added" => {
                let item = &payload["item"];
                if item["type"] == "function_call" {
                    let index = self.calls.len() as u32;
                    self.calls
                        .insert(payload["output_index"].as_u64().unwrap_or(0), index);
                    events.push(StreamEvent::ToolCallStart {
                        choice: 0,
                        index,
                        id: item["call_id"].as_str().unwrap_or_default().to_owned(),
                        name: item["name"].as_str().unwrap_or_default().to_owned(),
                    });
                }
            }
            "response.output_text.delta" => events.push(StreamEvent::TextDelta {
                choice: 0,
                text: delta(&payload),
            }),
            "response.refusal.delta" => events.push(StreamEvent::RefusalDelta {
                choice: 0,
                text: delta(&payload),
            }),
            "response.reasoning_summary_text.delta" | "response.reasoning_text.delta" => {
                events.push(StreamEvent::ReasoningDelta {
                    choice: 0,
                    text: delta(&payload),
                });
            }
            "response.function_call_arguments.delta" => {
                let output = payload["output_index"].as_u64().unwrap_or(0);
                if let Some(index) = self.calls.get(&output) {
                    events.push(StreamEvent::ToolCallArguments {
                        choice: 0,
                        index: *index,
                        fragment: delta(&payload),
                    });
                }
            }
            "response.completed" | "response.incomplete" => {
                terminal = true;
                let response = &payload["response"];
                events.push(StreamEvent::Finish {
                    choice: 0,
                    reason: finish_reason(response, !self.calls.is_empty()),
                });
                if let Some(usage) = response.get("usage").filter(|usage| !usage.is_null()) {
                    events.push(StreamEvent::Usage(decode_usage(usage)));
                }
            }
            "response.failed" | "error" => {
                let error = if kind == "error" {
                    &payload
                } else {
                    &payload["response"]["error"]
                };
                let message = error["message"].as_str().unwrap_or("no error message");
                let mut failure = GatewayError::new(
                    ErrorKind::BadGateway,
                    format!("it reported an error mid-stream: {message}"),
                );
                failure.code = error["code"].as_str().map(str::to_owned);
                if !self.native {
                    return Err(failure);
                }
                terminal = true;
            }
            _ => {}
        }
        if self.native {
            events.push(StreamEvent::Native {
                frame: frame(event, data),
                sequence: payload["sequence_number"].as_u64().unwrap_or(0),
                terminal,
            });
        }
        Ok(Decoded::Events(events))
    }
}

fn delta(payload: &Value) -> String {
    payload["delta"].as_str().unwrap_or_default().to_owned()
}

/// The event re-framed exactly as an SSE event with its name.
fn frame(event: &str, data: &str) -> Bytes {
    let mut out = BytesMut::with_capacity(event.len() + data.len() + 16);
    out.put_slice(b"event: ");
    out.put_slice(event.as_bytes());
    out.put_slice(b"\ndata: ");
    out.put_slice(data.as_bytes());
    out.put_slice(b"\n\n");
    out.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canonical::FinishReason;

    fn events(decoder: &mut EventDecoder, event: &str, data: &str) -> Vec<StreamEvent> {
        match decoder.decode(event, data).expect("decoded") {
            Decoded::Events(events) => events,
            Decoded::Done => Vec::new(),
        }
    }

    #[test]
    fn a_function_call_stream_becomes_a_tool_call_with_usage() {
        let mut decoder = EventDecoder::default();
        let start = events(
            &mut decoder,
            "response.created",
            r#"{"type":"response.created","sequence_number":0,"response":{"id":"resp_1","model":"gpt-x","created_at":7}}"#,
        );
        assert!(matches!(&start[0], StreamEvent::Start { id, .. } if id == "resp_1"));
        let added = events(
            &mut decoder,
            "response.output_item.added",
            r#"{"type":"response.output_item.added","output_index":1,"item":{"type":"function_call","call_id":"call_9","name":"ls","arguments":""}}"#,
        );
        assert!(
            matches!(&added[0], StreamEvent::ToolCallStart { index: 0, id, name, .. } if id == "call_9" && name == "ls")
        );
        let arguments = events(
            &mut decoder,
            "response.function_call_arguments.delta",
            r#"{"type":"response.function_call_arguments.delta","output_index":1,"delta":"{}"}"#,
        );
        assert!(matches!(
            &arguments[0],
            StreamEvent::ToolCallArguments { index: 0, .. }
        ));
        let end = events(
            &mut decoder,
            "response.completed",
            r#"{"type":"response.completed","response":{"status":"completed","usage":{"input_tokens":10,"input_tokens_details":{"cached_tokens":4},"output_tokens":3,"output_tokens_details":{"reasoning_tokens":1},"total_tokens":13}}}"#,
        );
        assert_eq!(
            end[0],
            StreamEvent::Finish {
                choice: 0,
                reason: FinishReason::ToolCalls
            }
        );
        assert!(
            matches!(&end[1], StreamEvent::Usage(usage) if usage.input_tokens == 6 && usage.cache_read_tokens == 4)
        );
    }

    #[test]
    fn a_failed_response_is_an_error_unless_passed_through() {
        let failed = r#"{"type":"response.failed","sequence_number":5,"response":{"error":{"code":"server_error","message":"boom"}}}"#;
        let error = EventDecoder::default()
            .decode("response.failed", failed)
            .err()
            .expect("an error");
        assert!(error.message.contains("boom"));
        let mut native = EventDecoder::default();
        native.pass_through();
        let passed = events(&mut native, "response.failed", failed);
        assert!(matches!(
            &passed[0],
            StreamEvent::Native {
                sequence: 5,
                terminal: true,
                ..
            }
        ));
    }
}
