//! The output items the fake answers a Responses request with, and their usage; built once and
//! rendered whole (`object.rs`) or as events (`stream.rs`).
//!
//! Output items, in order:
//! 1. a `reasoning` item when the request sets `reasoning` (effort not `none`): its summary is
//!    one `summary_text` with [`Behaviour::thinking`] (default "Let me think about this.") when
//!    `reasoning.summary` is set, else empty; its `encrypted_content` (`encrypted.rs`) only when
//!    `include` asks for `reasoning.encrypted_content`;
//! 2. a completed `web_search_call` searching [`Behaviour::web_search`] when the request offers
//!    a hosted web search tool;
//! 3. for [`Reply::Text`], one assistant `message` with one `output_text` part, cut to
//!    `max_output_tokens` words minus the reasoning's (the response is then `incomplete` with
//!    reason `max_output_tokens`, and a text cut to nothing sends no message); for
//!    [`Reply::ToolCalls`], one `function_call` per call with a fresh `call_<n>` — or a
//!    `custom_tool_call` (`input` = the scripted string) when the name is a `custom` tool.
//!
//! A scripted name is looked up in the request's tools: a top-level tool is called as such; a
//! name declared only inside namespace tools is called with `namespace` set, and must be in
//! exactly one of them (several is a script error: a 500); a name declared nowhere is sent as a
//! plain `function_call`, as the Chat Completions side does.
//!
//! Default usage (when [`Behaviour::usage`] is `None`), in whitespace-separated words: input =
//! for `instructions`, when present, 1 + its words; for every item of the conversation so far
//! (the previous response's, then this input) 1 + the words of the text a message carries,
//! of a call's arguments or input, or of a tool output's text; reasoning, web search and other
//! items count nothing. Reasoning = the reasoning's words when there is a reasoning item; output
//! = reasoning + the words of the text sent or of all call arguments.

use serde_json::{Value, json};

use super::store::State;
use super::validate::{ResponsesRequest, Tools};
use crate::fake::openai::words;
use crate::fake::script::{Behaviour, Reply, Usage};
use crate::fake::stream::cut_to_room;

use super::encrypted::responses_encrypted_content;

const DEFAULT_THINKING: &str = "Let me think about this.";

/// OpenAI's Responses token counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Tokens {
    pub input: u64,
    pub cached: u64,
    pub cache_write: u64,
    pub output: u64,
    pub reasoning: u64,
}

impl Tokens {
    /// The `usage` object.
    pub(crate) fn to_json(self) -> Value {
        json!({
            "input_tokens": self.input,
            "input_tokens_details": {"cached_tokens": self.cached, "cache_write_tokens": self.cache_write},
            "output_tokens": self.output,
            "output_tokens_details": {"reasoning_tokens": self.reasoning},
            "total_tokens": self.input + self.output,
        })
    }
}

/// What the fake answers with, before it is rendered.
#[derive(Debug)]
pub(crate) struct Answer {
    /// The output items, complete.
    pub output: Vec<Value>,
    /// `max_output_tokens` cut the text: the response is `incomplete`.
    pub incomplete: bool,
    pub usage: Tokens,
}

/// Builds the answer to a valid request whose conversation so far is `conversation`. Fails (with
/// a message for a 500) only when the script is broken.
pub(crate) fn answer(
    behaviour: &Behaviour,
    request: &ResponsesRequest<'_>,
    conversation: &[Value],
    state: &State,
) -> Result<Answer, String> {
    let mut output = Vec::new();
    let mut reasoning = 0;
    if let Some(settings) = request.reasoning {
        let thinking = behaviour.thinking.as_deref().unwrap_or(DEFAULT_THINKING);
        reasoning = words(thinking);
        let id = state.next_id("rs");
        let summary = if settings.summary {
            json!([{"type": "summary_text", "text": thinking}])
        } else {
            json!([])
        };
        let mut item = json!({"id": id, "type": "reasoning", "summary": summary});
        if request.includes("reasoning.encrypted_content") {
            item["encrypted_content"] = json!(responses_encrypted_content(&id, thinking));
        }
        output.push(item);
    }
    if let Some(query) = behaviour
        .web_search
        .as_deref()
        .filter(|_| request.tools.web_search)
    {
        let mut action = json!({"type": "search", "query": query});
        if request.includes("web_search_call.action.sources") {
            action["sources"] = json!([]);
        }
        output.push(json!({"id": state.next_id("ws"), "type": "web_search_call",
                           "status": "completed", "action": action}));
    }
    let mut incomplete = false;
    let said = match &behaviour.reply {
        Reply::Text(text) => {
            let (text, cut) = cut_to_room(text, request.max_output_tokens, reasoning);
            incomplete = cut;
            if !text.is_empty() {
                let status = if cut { "incomplete" } else { "completed" };
                output.push(json!({
                    "id": state.next_id("msg"), "type": "message", "status": status,
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": text, "annotations": [],
                                 "logprobs": []}],
                }));
            }
            words(&text)
        }
        Reply::ToolCalls(calls) => {
            for (name, arguments) in calls {
                output.push(call(name, arguments, &request.tools, state)?);
            }
            calls.iter().map(|(_, arguments)| words(arguments)).sum()
        }
    };
    let usage = behaviour.usage.unwrap_or(Usage {
        prompt_tokens: request.instructions.map_or(0, |text| 1 + words(text))
            + conversation.iter().map(item_tokens).sum::<u64>(),
        completion_tokens: reasoning + said,
        cached_tokens: 0,
        reasoning_tokens: reasoning,
    });
    Ok(Answer {
        output,
        incomplete,
        usage: Tokens {
            input: usage.prompt_tokens,
            cached: usage.cached_tokens,
            cache_write: behaviour.cache_write_tokens,
            output: usage.completion_tokens,
            reasoning: usage.reasoning_tokens,
        },
    })
}

/// The output item for a scripted call of `name` (see the module doc for how names resolve).
fn call(name: &str, arguments: &str, tools: &Tools<'_>, state: &State) -> Result<Value, String> {
    let (namespace, custom) = match tools.top_level(name) {
        Some(tool) => (None, tool.custom),
        None => {
            let holders: Vec<&str> = tools
                .namespaces
                .iter()
                .filter(|namespace| namespace.tool(name).is_some())
                .map(|namespace| namespace.name)
                .collect();
            match holders.as_slice() {
                [] => (None, false),
                [holder] => {
                    let custom = tools
                        .namespace(holder)
                        .and_then(|namespace| namespace.tool(name))
                        .is_some_and(|tool| tool.custom);
                    (Some(*holder), custom)
                }
                several => {
                    return Err(format!(
                        "fake provider script error: Reply::ToolCalls calls `{name}`, which the namespace tools {} all declare; the fake cannot tell which one the model would call",
                        several.join(", ")
                    ));
                }
            }
        }
    };
    let mut item = if custom {
        json!({"id": state.next_id("ctc"), "type": "custom_tool_call", "status": "completed",
               "call_id": state.next_call_id(), "name": name, "input": arguments})
    } else {
        json!({"id": state.next_id("fc"), "type": "function_call", "status": "completed",
               "call_id": state.next_call_id(), "name": name, "arguments": arguments})
    };
    if let Some(namespace) = namespace {
        item["namespace"] = json!(namespace);
    }
    Ok(item)
}

/// The default input count of one conversation item (see the module doc).
fn item_tokens(item: &Value) -> u64 {
    let text = |key: &str| item.get(key).map_or(0, text_words);
    match super::validate::item_type(item) {
        "message" => 1 + text("content"),
        "function_call" => 1 + text("arguments"),
        "custom_tool_call" => 1 + text("input"),
        "function_call_output" | "custom_tool_call_output" => 1 + text("output"),
        _ => 0,
    }
}

/// Words of a string, or of the `text` / `refusal` of a list of parts.
fn text_words(value: &Value) -> u64 {
    match value {
        Value::String(text) => words(text),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|part| part.get("text").or_else(|| part.get("refusal"))?.as_str())
            .map(words)
            .sum(),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_count_their_text() {
        let items = [
            json!({"role": "user", "content": "one two"}),
            json!({"type": "message", "role": "assistant",
                   "content": [{"type": "output_text", "text": "a b c"}]}),
            json!({"type": "function_call", "call_id": "c", "name": "f", "arguments": "{\"x\": 1}"}),
            json!({"type": "function_call_output", "call_id": "c",
                   "output": [{"type": "input_text", "text": "done"}]}),
            json!({"type": "reasoning", "summary": [{"type": "summary_text", "text": "not counted"}]}),
            json!({"type": "web_search_call", "action": {"type": "search", "query": "q"}}),
        ];
        let counts: Vec<u64> = items.iter().map(item_tokens).collect();
        assert_eq!(counts, [3, 4, 3, 2, 0, 0]);
    }
}
