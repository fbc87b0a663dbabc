//! The rules that span the whole request, checked once every message is well-formed: tool
//! blocks need `tools`; each assistant `tool_use` is answered by exactly one `tool_result` at the
//! start of the next user message, and every `tool_result` answers a `tool_use` of the message
//! before; `tool_use` ids are unique; with thinking on, thinking blocks carry the signature the
//! fake gave them and the final assistant turn of a tool loop starts with its thinking; at most
//! four `cache_control` breakpoints.
//!
//! The shape of single messages and blocks is `blocks.rs`'s job.

use serde_json::{Map, Value};

use super::checks::{Invalid, fail};
use crate::fake::anthropic::signature::thinking_signature;
use crate::fake::validate::Path;

const MAX_CACHE_BREAKPOINTS: usize = 4;

/// Checks the cross-message rules; `messages` have already been validated one by one.
pub(super) fn check(messages: &[Value], has_tools: bool, thinking: bool) -> Result<(), Invalid> {
    let uses_tools = messages
        .iter()
        .flat_map(blocks)
        .any(|block| matches!(kind(block), Some("tool_use" | "tool_result")));
    if uses_tools && !has_tools {
        return Err(Invalid::new(
            "Requests which include `tool_use` or `tool_result` blocks must define tools.",
        ));
    }
    let at = Path::Root("messages");
    let mut seen_ids: Vec<&str> = Vec::new();
    for (index, message) in messages.iter().enumerate() {
        let at = at.index(index);
        if role(message) == Some("assistant") {
            unique_ids(at, message, &mut seen_ids)?;
            answered(at, message, messages.get(index + 1))?;
        } else {
            let previous = index.checked_sub(1).and_then(|i| messages.get(i));
            results_answer_calls(at, message, previous)?;
        }
    }
    if thinking {
        thinking_blocks(messages)?;
    }
    Ok(())
}

/// `tool_use` ids must be unique across the request.
fn unique_ids<'a>(
    at: Path<'_>,
    message: &'a Value,
    seen: &mut Vec<&'a str>,
) -> Result<(), Invalid> {
    for (index, block) in blocks(message).iter().enumerate() {
        let Some(id) = tool_use_id(block) else {
            continue;
        };
        if seen.contains(&id) {
            let content = at.key("content");
            return Err(fail(
                content.index(index),
                format!("`tool_use` ids must be unique. Found duplicate id: {id}"),
            ));
        }
        seen.push(id);
    }
    Ok(())
}

/// Every `tool_use` of the assistant message at `at` has a `tool_result` in the run of
/// `tool_result` blocks that opens the next message.
fn answered(at: Path<'_>, message: &Value, next: Option<&Value>) -> Result<(), Invalid> {
    let calls: Vec<&str> = blocks(message).iter().filter_map(tool_use_id).collect();
    if calls.is_empty() {
        return Ok(());
    }
    let results: Vec<&str> = next
        .filter(|next| role(next) == Some("user"))
        .map(blocks)
        .unwrap_or_default()
        .iter()
        .take_while(|block| kind(block) == Some("tool_result"))
        .filter_map(|block| block.get("tool_use_id")?.as_str())
        .collect();
    let missing: Vec<&str> = calls
        .into_iter()
        .filter(|id| !results.contains(id))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(fail(
        at,
        format!(
            "`tool_use` ids were found without `tool_result` blocks immediately after: {}. Each `tool_use` block must have a corresponding `tool_result` block in the next message.",
            missing.join(", ")
        ),
    ))
}

/// Every `tool_result` of the user message at `at` answers a distinct `tool_use` of `previous`.
fn results_answer_calls(
    at: Path<'_>,
    message: &Value,
    previous: Option<&Value>,
) -> Result<(), Invalid> {
    let calls: Vec<&str> = previous
        .filter(|previous| role(previous) == Some("assistant"))
        .map(blocks)
        .unwrap_or_default()
        .iter()
        .filter_map(tool_use_id)
        .collect();
    let content = at.key("content");
    let mut answered: Vec<&str> = Vec::new();
    for (index, block) in blocks(message).iter().enumerate() {
        if kind(block) != Some("tool_result") {
            continue;
        }
        let id = block
            .get("tool_use_id")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !calls.contains(&id) {
            return Err(fail(
                content.index(index),
                format!(
                    "unexpected `tool_use_id` found in `tool_result` blocks: {id}. Each `tool_result` block must have a corresponding `tool_use` block in the previous message."
                ),
            ));
        }
        if answered.contains(&id) {
            return Err(fail(
                content.index(index),
                format!(
                    "each `tool_use` must have a single result. Found multiple `tool_result` blocks with id: {id}"
                ),
            ));
        }
        answered.push(id);
    }
    Ok(())
}

/// With thinking on: every `thinking` block's signature verifies, and the last assistant message,
/// when it calls tools, opens with its thinking.
fn thinking_blocks(messages: &[Value]) -> Result<(), Invalid> {
    let at = Path::Root("messages");
    let mut last_assistant = None;
    for (index, message) in messages.iter().enumerate() {
        if role(message) != Some("assistant") {
            continue;
        }
        last_assistant = Some((index, message));
        for (position, block) in blocks(message).iter().enumerate() {
            if kind(block) != Some("thinking") {
                continue;
            }
            let text = block.get("thinking").and_then(Value::as_str);
            let signature = block.get("signature").and_then(Value::as_str);
            if text.map(thinking_signature).as_deref() != signature {
                let message_at = at.index(index);
                let content = message_at.key("content");
                return Err(fail(
                    content.index(position),
                    "Invalid `signature` in `thinking` block",
                ));
            }
        }
    }
    let Some((index, message)) = last_assistant else {
        return Ok(());
    };
    let content = blocks(message);
    if !content.iter().any(|block| kind(block) == Some("tool_use")) {
        return Ok(());
    }
    let found = content.first().and_then(kind).unwrap_or("text");
    if matches!(found, "thinking" | "redacted_thinking") {
        return Ok(());
    }
    let message_at = at.index(index);
    let content_at = message_at.key("content");
    let first = content_at.index(0);
    Err(fail(
        first.key("type"),
        format!(
            "Expected `thinking` or `redacted_thinking`, but found `{found}`. When `thinking` is enabled, a final `assistant` message must start with a thinking block (preceeding the lastmost set of `tool_use` and `tool_result` blocks). We recommend you include thinking blocks from previous turns. To avoid this requirement, disable `thinking`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking"
        ),
    ))
}

/// At most four blocks (tools, system blocks, message blocks and the blocks inside tool results)
/// may carry `cache_control`.
pub(super) fn cache_breakpoints(body: &Map<String, Value>) -> Result<(), Invalid> {
    fn marked(block: &Value) -> usize {
        let own = usize::from(block.get("cache_control").is_some_and(|c| !c.is_null()));
        let nested = block
            .get("content")
            .and_then(Value::as_array)
            .map_or(0, |inner| inner.iter().map(marked).sum());
        own + nested
    }
    let list = |key: &str| body.get(key).and_then(Value::as_array).map(Vec::as_slice);
    let tools: usize = list("tools").unwrap_or_default().iter().map(marked).sum();
    let system: usize = list("system").unwrap_or_default().iter().map(marked).sum();
    let messages: usize = list("messages")
        .unwrap_or_default()
        .iter()
        .flat_map(blocks)
        .map(marked)
        .sum();
    let found = tools + system + messages;
    if found <= MAX_CACHE_BREAKPOINTS {
        return Ok(());
    }
    Err(Invalid::new(format!(
        "A maximum of {MAX_CACHE_BREAKPOINTS} blocks with cache_control may be provided. Found {found}."
    )))
}

fn role(message: &Value) -> Option<&str> {
    message.get("role")?.as_str()
}

/// A message's content blocks; a string content has none.
fn blocks(message: &Value) -> &[Value] {
    message
        .get("content")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn kind(block: &Value) -> Option<&str> {
    block.get("type")?.as_str()
}

fn tool_use_id(block: &Value) -> Option<&str> {
    if kind(block) != Some("tool_use") {
        return None;
    }
    block.get("id")?.as_str()
}
