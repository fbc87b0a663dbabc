//! The streaming (SSE) form of a Responses answer: the event transcript. Pacing, faults and
//! abandonment are the shared body's (`fake/stream.rs`), which counts one event as one chunk and
//! holds the gate after the first `*.delta` event.
//!
//! Every event is `event: <type>` + `data: <json>` + a blank line; the JSON repeats the `type`
//! and carries a `sequence_number` counting from 0; there is no `[DONE]`. Order:
//! `response.created` and `response.in_progress` (the response `in_progress`, no output, no
//! usage); then per output item `response.output_item.added` (the item in progress, without its
//! content), its own events, and `response.output_item.done` (the whole item); last
//! `response.completed` or `response.incomplete` with the whole response and its usage.
//!
//! An item's own events: a message's `response.content_part.added`, one
//! `response.output_text.delta` per word, `response.output_text.done`,
//! `response.content_part.done`; a function call's `response.function_call_arguments.delta`
//! pieces and `.done`; a custom tool call's `response.custom_tool_call_input.delta` pieces and
//! `.done`; a reasoning summary's `response.reasoning_summary_part.added`,
//! `response.reasoning_summary_text.delta` per word, `.done` and
//! `response.reasoning_summary_part.done`; a web search's `response.web_search_call.in_progress`,
//! `.searching` and `.completed`. Delta events carry an `obfuscation` padding string unless
//! `stream_options.include_obfuscation` is false.

use bytes::Bytes;
use serde_json::{Value, json};

use super::answer::Answer;
use super::object::{Head, response};
use super::validate::ResponsesRequest;
use crate::fake::openai::to_vec;
use crate::fake::stream::{Transcript, split_arguments, split_words};

/// Collects events, numbering them and noting the first delta.
struct Events {
    events: Vec<Bytes>,
    first_content: Option<usize>,
    obfuscation: bool,
}

impl Events {
    fn push(&mut self, kind: &str, mut data: Value) {
        let delta = kind.ends_with(".delta");
        if delta && self.first_content.is_none() {
            self.first_content = Some(self.events.len());
        }
        if let Value::Object(fields) = &mut data {
            fields.insert("type".to_owned(), json!(kind));
            fields.insert("sequence_number".to_owned(), json!(self.events.len()));
            if delta && self.obfuscation {
                fields.insert("obfuscation".to_owned(), json!("fake"));
            }
        }
        self.events.push(encode(kind, &data));
    }
}

/// Builds the whole transcript up front; the shared body paces it.
pub(crate) fn transcript(
    head: &Head<'_>,
    request: &ResponsesRequest<'_>,
    answer: &Answer,
) -> Transcript {
    let mut events = Events {
        events: Vec::new(),
        first_content: None,
        obfuscation: request.include_obfuscation,
    };
    let started = response(head, request, None);
    events.push("response.created", json!({"response": started}));
    events.push("response.in_progress", json!({"response": started}));
    for (index, item) in answer.output.iter().enumerate() {
        item_events(&mut events, index, item);
    }
    let terminal = if answer.incomplete {
        "response.incomplete"
    } else {
        "response.completed"
    };
    events.push(
        terminal,
        json!({"response": response(head, request, Some(answer))}),
    );
    Transcript {
        events: events.events,
        first_content: events.first_content,
    }
}

/// The events of output item `index`, from `output_item.added` to `output_item.done`.
fn item_events(events: &mut Events, index: usize, item: &Value) {
    let id = item.get("id").cloned().unwrap_or(Value::Null);
    let text_of = |key: &str| item.get(key).and_then(Value::as_str).unwrap_or_default();
    let mut added = item.clone();
    let kind = item.get("type").and_then(Value::as_str).unwrap_or_default();
    match kind {
        "message" => {
            added["content"] = json!([]);
            added["status"] = json!("in_progress");
        }
        "reasoning" => {
            added["summary"] = json!([]);
            if let Value::Object(fields) = &mut added {
                fields.remove("encrypted_content");
            }
        }
        "function_call" => {
            added["arguments"] = json!("");
            added["status"] = json!("in_progress");
        }
        "custom_tool_call" => {
            added["input"] = json!("");
            added["status"] = json!("in_progress");
        }
        _ => {
            added["status"] = json!("in_progress");
            added["action"] = json!({"type": "search"});
        }
    }
    events.push(
        "response.output_item.added",
        json!({"output_index": index, "item": added}),
    );
    let at = json!({"item_id": id, "output_index": index});
    match kind {
        "message" => {
            let text = item["content"][0]["text"].as_str().unwrap_or_default();
            let part = |text: &str| json!({"type": "output_text", "text": text, "annotations": [], "logprobs": []});
            let added = json!({"content_index": 0, "part": part("")});
            events.push("response.content_part.added", merged(&at, added));
            for piece in split_words(text) {
                let delta = json!({"content_index": 0, "delta": piece, "logprobs": []});
                events.push("response.output_text.delta", merged(&at, delta));
            }
            let done = json!({"content_index": 0, "text": text, "logprobs": []});
            events.push("response.output_text.done", merged(&at, done));
            let done = json!({"content_index": 0, "part": part(text)});
            events.push("response.content_part.done", merged(&at, done));
        }
        "reasoning" => {
            let summary = item["summary"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default();
            for (summary_index, part) in summary.iter().enumerate() {
                let text = part["text"].as_str().unwrap_or_default();
                let part = |text: &str| json!({"type": "summary_text", "text": text});
                let at = merged(&at, json!({"summary_index": summary_index}));
                let added = json!({"part": part("")});
                events.push("response.reasoning_summary_part.added", merged(&at, added));
                for piece in split_words(text) {
                    let delta = json!({"delta": piece});
                    events.push("response.reasoning_summary_text.delta", merged(&at, delta));
                }
                let done = json!({"text": text});
                events.push("response.reasoning_summary_text.done", merged(&at, done));
                let done = json!({"part": part(text)});
                events.push("response.reasoning_summary_part.done", merged(&at, done));
            }
        }
        "function_call" | "custom_tool_call" => {
            let (key, prefix) = if kind == "custom_tool_call" {
                ("input", "response.custom_tool_call_input")
            } else {
                ("arguments", "response.function_call_arguments")
            };
            let whole = text_of(key);
            if !whole.is_empty() {
                for piece in split_arguments(whole) {
                    events.push(
                        &format!("{prefix}.delta"),
                        merged(&at, json!({"delta": piece})),
                    );
                }
            }
            let mut done = merged(&at, json!({key: whole}));
            if kind == "function_call" {
                done["name"] = item.get("name").cloned().unwrap_or(Value::Null);
            }
            events.push(&format!("{prefix}.done"), done);
        }
        _ => {
            for stage in ["in_progress", "searching", "completed"] {
                events.push(&format!("response.web_search_call.{stage}"), at.clone());
            }
        }
    }
    events.push(
        "response.output_item.done",
        json!({"output_index": index, "item": item}),
    );
}

/// `base` (an object) with the fields of `extra` (an object) added.
fn merged(base: &Value, extra: Value) -> Value {
    let mut data = base.clone();
    if let (Value::Object(data), Value::Object(extra)) = (&mut data, extra) {
        data.extend(extra);
    }
    data
}

/// `event: <type>\ndata: <json>\n\n`.
fn encode(kind: &str, data: &Value) -> Bytes {
    let json = to_vec(data);
    let mut out = Vec::with_capacity(json.len() + kind.len() + 16);
    out.extend_from_slice(b"event: ");
    out.extend_from_slice(kind.as_bytes());
    out.extend_from_slice(b"\ndata: ");
    out.extend_from_slice(&json);
    out.extend_from_slice(b"\n\n");
    Bytes::from(out)
}
