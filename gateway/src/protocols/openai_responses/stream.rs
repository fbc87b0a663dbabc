//! Responses API streams: canonical events → the item/part lifecycle events of the Responses
//! API, each with an `event:` line, a `type` and an increasing `sequence_number`; no `[DONE]`.
//!
//! `response.created` and `response.in_progress` open the stream; each output item (reasoning,
//! message, function call) is announced with `response.output_item.added`, filled with deltas,
//! and closed with its `.done` events once the next item starts or the answer ends; the stream
//! ends with `response.completed` (or `response.incomplete`) carrying the whole response and its
//! usage. A stream that breaks ends with an `error` event and `response.failed` instead (the Codex
//! CLI acts on the latter). A function the client declared in a namespace is named as it was
//! declared (`namespace` + inner `name`).
//!
//! Served by a Responses channel (`native`), the encoder writes the upstream's events exactly as
//! they came ([`StreamEvent::Native`]) and nothing of its own, but for the error events of a
//! stream that breaks before its terminal event, numbered on from the upstream's.

use bytes::{Bytes, BytesMut};
use serde_json::{Value, json};

use super::response::{
    function_call_item, message_item, reasoning_item, response_id, response_object, status,
};
use crate::canonical::{FinishReason, NamespacedTool, StreamEvent, Usage};
use crate::error::GatewayError;
use crate::protocols::anthropic::stream::sse_event;

enum Item {
    Message {
        id: String,
        text: String,
    },
    Reasoning {
        id: String,
        text: String,
    },
    Call {
        id: String,
        call_id: String,
        name: String,
        arguments: String,
        tool_index: u32,
    },
}

pub struct ResponseEncoder {
    /// The request's namespaced functions, to name their calls as declared.
    namespaces: Vec<NamespacedTool>,
    /// The upstream speaks Responses too: its events pass through unchanged.
    native: bool,
    /// A terminal event (`response.completed`, `.incomplete` or `.failed`) has been written.
    terminated: bool,
    sequence: u64,
    id: String,
    model: String,
    created_at: u64,
    started: bool,
    open: Option<Item>,
    done_items: Vec<Value>,
    finish: Option<FinishReason>,
    usage: Option<Usage>,
}

impl ResponseEncoder {
    pub fn new(namespaces: Vec<NamespacedTool>, native: bool) -> Self {
        ResponseEncoder {
            namespaces,
            native,
            terminated: false,
            sequence: 0,
            id: "resp_switchboard".to_owned(),
            model: String::new(),
            created_at: 0,
            started: false,
            open: None,
            done_items: Vec::new(),
            finish: None,
            usage: None,
        }
    }

    pub fn usage(&self) -> Option<Usage> {
        self.usage
    }

    fn emit(&mut self, out: &mut BytesMut, kind: &str, mut data: Value) {
        data["type"] = kind.into();
        data["sequence_number"] = self.sequence.into();
        self.sequence += 1;
        out.extend_from_slice(&sse_event(kind, &data));
    }

    fn output_index(&self) -> usize {
        self.done_items.len()
    }

    fn start(&mut self, out: &mut BytesMut) {
        self.started = true;
        let response = response_object(
            &self.id,
            self.created_at,
            &self.model,
            "in_progress",
            Value::Null,
            Vec::new(),
            None,
        );
        self.emit(out, "response.created", json!({"response": response}));
        let response = response_object(
            &self.id,
            self.created_at,
            &self.model,
            "in_progress",
            Value::Null,
            Vec::new(),
            None,
        );
        self.emit(out, "response.in_progress", json!({"response": response}));
    }

    pub fn encode(&mut self, event: StreamEvent) -> Option<Bytes> {
        if self.native {
            return self.pass_through(event);
        }
        let mut out = BytesMut::new();
        if let StreamEvent::Start { id, model, created } = &event
            && !self.started
        {
            self.id = response_id(id);
            self.model.clone_from(model);
            self.created_at = *created;
        }
        if !self.started {
            self.start(&mut out);
        }
        match event {
            StreamEvent::TextDelta { choice: 0, text }
            | StreamEvent::RefusalDelta { choice: 0, text } => {
                if !matches!(self.open, Some(Item::Message { .. })) {
                    self.close(&mut out);
                    let id = format!("msg_{}_{}", self.id, self.output_index());
                    let index = self.output_index();
                    let item = json!({"id": id, "type": "message", "status": "in_progress", "role": "assistant", "content": []});
                    self.emit(
                        &mut out,
                        "response.output_item.added",
                        json!({"output_index": index, "item": item}),
                    );
                    let part = json!({"type": "output_text", "text": "", "annotations": [], "logprobs": []});
                    self.emit(&mut out, "response.content_part.added", json!({"item_id": id, "output_index": index, "content_index": 0, "part": part}));
                    self.open = Some(Item::Message {
                        id,
                        text: String::new(),
                    });
                }
                let index = self.output_index();
                if let Some(Item::Message {
                    id,
                    text: accumulated,
                }) = &mut self.open
                {
                    accumulated.push_str(&text);
                    let id = id.clone();
                    self.emit(&mut out, "response.output_text.delta", json!({"item_id": id, "output_index": index, "content_index": 0, "delta": text, "logprobs": []}));
                }
            }
            StreamEvent::ReasoningDelta { choice: 0, text } => {
                if !matches!(self.open, Some(Item::Reasoning { .. })) {
                    self.close(&mut out);
                    let id = format!("rs_{}_{}", self.id, self.output_index());
                    let index = self.output_index();
                    self.emit(&mut out, "response.output_item.added", json!({"output_index": index, "item": {"id": id, "type": "reasoning", "summary": []}}));
                    self.emit(&mut out, "response.reasoning_summary_part.added", json!({"item_id": id, "output_index": index, "summary_index": 0, "part": {"type": "summary_text", "text": ""}}));
                    self.open = Some(Item::Reasoning {
                        id,
                        text: String::new(),
                    });
                }
                let index = self.output_index();
                if let Some(Item::Reasoning {
                    id,
                    text: accumulated,
                }) = &mut self.open
                {
                    accumulated.push_str(&text);
                    let id = id.clone();
                    self.emit(&mut out, "response.reasoning_summary_text.delta", json!({"item_id": id, "output_index": index, "summary_index": 0, "delta": text}));
                }
            }
            StreamEvent::ToolCallStart {
                choice: 0,
                index: tool_index,
                id: call_id,
                name,
            } => {
                self.close(&mut out);
                let id = format!("fc_{}_{}", self.id, self.output_index());
                let index = self.output_index();
                let item =
                    function_call_item(&id, &call_id, &name, "", "in_progress", &self.namespaces);
                self.emit(
                    &mut out,
                    "response.output_item.added",
                    json!({"output_index": index, "item": item}),
                );
                self.open = Some(Item::Call {
                    id,
                    call_id,
                    name,
                    arguments: String::new(),
                    tool_index,
                });
            }
            StreamEvent::ToolCallArguments {
                choice: 0,
                index: tool,
                fragment,
            } => {
                let index = self.output_index();
                if let Some(Item::Call {
                    id,
                    arguments,
                    tool_index,
                    ..
                }) = &mut self.open
                    && *tool_index == tool
                {
                    arguments.push_str(&fragment);
                    let id = id.clone();
                    self.emit(
                        &mut out,
                        "response.function_call_arguments.delta",
                        json!({"item_id": id, "output_index": index, "delta": fragment}),
                    );
                }
            }
            StreamEvent::Finish { choice: 0, reason } => self.finish = Some(reason),
            StreamEvent::Usage(usage) => self.usage = Some(usage),
            _ => {}
        }
        (!out.is_empty()).then(|| out.freeze())
    }

    /// Closes the open item with its `.done` events.
    fn close(&mut self, out: &mut BytesMut) {
        let index = self.output_index();
        let item = match self.open.take() {
            None => return,
            Some(Item::Message { id, text }) => {
                self.emit(out, "response.output_text.done", json!({"item_id": id, "output_index": index, "content_index": 0, "text": text, "logprobs": []}));
                let part =
                    json!({"type": "output_text", "text": text, "annotations": [], "logprobs": []});
                self.emit(
                    out,
                    "response.content_part.done",
                    json!({"item_id": id, "output_index": index, "content_index": 0, "part": part}),
                );
                message_item(&id, &text, "completed")
            }
            Some(Item::Reasoning { id, text }) => {
                self.emit(
                    out,
                    "response.reasoning_summary_text.done",
                    json!({"item_id": id, "output_index": index, "summary_index": 0, "text": text}),
                );
                self.emit(out, "response.reasoning_summary_part.done", json!({"item_id": id, "output_index": index, "summary_index": 0, "part": {"type": "summary_text", "text": text}}));
                reasoning_item(&id, &text)
            }
            Some(Item::Call {
                id,
                call_id,
                name,
                arguments,
                ..
            }) => {
                self.emit(
                    out,
                    "response.function_call_arguments.done",
                    json!({"item_id": id, "output_index": index, "arguments": arguments}),
                );
                function_call_item(
                    &id,
                    &call_id,
                    &name,
                    &arguments,
                    "completed",
                    &self.namespaces,
                )
            }
        };
        self.emit(
            out,
            "response.output_item.done",
            json!({"output_index": index, "item": item}),
        );
        self.done_items.push(item);
    }

    /// Native mode: the upstream's own events out, the canonical ones only counted.
    fn pass_through(&mut self, event: StreamEvent) -> Option<Bytes> {
        match event {
            StreamEvent::Native {
                frame,
                sequence,
                terminal,
            } => {
                self.sequence = self.sequence.max(sequence + 1);
                self.terminated |= terminal;
                Some(frame)
            }
            StreamEvent::Finish { choice: 0, reason } => {
                self.finish = Some(reason);
                None
            }
            StreamEvent::Usage(usage) => {
                self.usage = Some(usage);
                None
            }
            StreamEvent::Start { id, model, created } => {
                self.id = id;
                self.model = model;
                self.created_at = created;
                None
            }
            _ => None,
        }
    }

    pub fn finish(&mut self) -> Bytes {
        if self.native {
            // The upstream's terminal event has gone through already.
            return Bytes::new();
        }
        let mut out = BytesMut::new();
        if !self.started {
            self.start(&mut out);
        }
        self.close(&mut out);
        let (status, incomplete) = status(self.finish.as_ref());
        let output = std::mem::take(&mut self.done_items);
        let response = response_object(
            &self.id,
            self.created_at,
            &self.model,
            status,
            incomplete,
            output,
            self.usage.as_ref(),
        );
        let kind = if status == "completed" {
            "response.completed"
        } else {
            "response.incomplete"
        };
        self.emit(&mut out, kind, json!({"response": response}));
        self.terminated = true;
        out.freeze()
    }

    /// The in-band `error` event, then `response.failed`, for a stream that broke after it
    /// started.
    pub fn error(&mut self, error: &GatewayError) -> Bytes {
        let mut out = BytesMut::new();
        if self.terminated {
            return out.freeze();
        }
        self.terminated = true;
        let code = error
            .code
            .clone()
            .unwrap_or_else(|| "server_error".to_owned());
        self.emit(
            &mut out,
            "error",
            json!({"code": code, "message": error.message, "param": null}),
        );
        let mut response = response_object(
            &self.id,
            self.created_at,
            &self.model,
            "failed",
            Value::Null,
            std::mem::take(&mut self.done_items),
            self.usage.as_ref(),
        );
        response["error"] = json!({"code": code, "message": error.message});
        self.emit(&mut out, "response.failed", json!({"response": response}));
        out.freeze()
    }
}
