//! The rules that span the whole conversation, checked once every message is well-formed: it
//! starts with a user message and alternates; `toolUse`/`toolResult` blocks need `toolConfig`;
//! `toolUse` ids are unique; every assistant `toolUse` is answered by a `toolResult` with the
//! same id in the next (user) message, and a user message carries no more results than the
//! previous turn made calls; and, when the request turns reasoning on, reasoning signatures are
//! the fake's and an assistant turn whose tool calls the fake made with reasoning starts with
//! that reasoning, signature unchanged.
//!
//! The messages phrase these as Bedrock does (its own sentences for roles, tool pairing and
//! `toolConfig`; Anthropic's, which Bedrock passes through for Claude, for thinking).

use serde_json::Value;

use super::checks::Checked;
use crate::fake::anthropic::signature::thinking_signature;
use crate::fake::bedrock::error::Failure;

/// Checks the cross-message rules. `minted` returns the reasoning signature the fake sent with
/// the tool call whose id is given, if it sent one.
pub(super) fn check(
    messages: &[Value],
    has_tool_config: bool,
    reasoning: bool,
    minted: &dyn Fn(&str) -> Option<String>,
) -> Checked<()> {
    if role(messages.first()) != Some("user") {
        return Err(Failure::validation(
            "A conversation must start with a user message. Try again with a conversation that starts with a user message.",
        ));
    }
    if messages
        .windows(2)
        .any(|pair| role(pair.first()) == role(pair.get(1)))
    {
        return Err(Failure::validation(
            "A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again.",
        ));
    }
    let uses_tools = messages
        .iter()
        .flat_map(blocks)
        .any(|block| matches!(member(block), Some("toolUse" | "toolResult")));
    if uses_tools && !has_tool_config {
        return Err(Failure::validation(
            "The toolConfig field must be defined when using toolUse and toolResult content blocks.",
        ));
    }
    let mut seen: Vec<&str> = Vec::new();
    for (index, message) in messages.iter().enumerate() {
        if role(Some(message)) == Some("assistant") {
            unique_ids(index, message, &mut seen)?;
            answered(index, message, messages.get(index + 1))?;
            if reasoning {
                reasoning_carried(index, message, minted)?;
            }
        } else {
            let previous = index.checked_sub(1).and_then(|i| messages.get(i));
            not_too_many_results(index, message, previous)?;
        }
    }
    Ok(())
}

fn unique_ids<'a>(index: usize, message: &'a Value, seen: &mut Vec<&'a str>) -> Checked<()> {
    for (position, block) in blocks(message).iter().enumerate() {
        let Some(id) = tool_use_id(block) else {
            continue;
        };
        if seen.contains(&id) {
            return Err(Failure::validation(format!(
                "messages.{index}.content.{position}: toolUse ids must be unique. Found duplicate id: {id}"
            )));
        }
        seen.push(id);
    }
    Ok(())
}

/// Every `toolUse` of assistant message `index` has a `toolResult` in the next message.
fn answered(index: usize, message: &Value, next: Option<&Value>) -> Checked<()> {
    let calls: Vec<&str> = blocks(message).iter().filter_map(tool_use_id).collect();
    if calls.is_empty() {
        return Ok(());
    }
    let results = result_ids(next);
    let missing: Vec<&str> = calls
        .into_iter()
        .filter(|id| !results.contains(id))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(Failure::validation(format!(
        "Expected toolResult blocks at messages.{}.content for the following Ids: {}",
        index + 1,
        missing.join(", ")
    )))
}

/// User message `index` carries no more `toolResult`s than the previous turn made calls.
fn not_too_many_results(index: usize, message: &Value, previous: Option<&Value>) -> Checked<()> {
    let results = result_ids(Some(message)).len();
    let calls = previous.map_or(0, |previous| {
        blocks(previous).iter().filter_map(tool_use_id).count()
    });
    if results <= calls {
        return Ok(());
    }
    Err(Failure::validation(format!(
        "The number of toolResult blocks at messages.{index}.content exceeds the number of toolUse blocks of previous turn."
    )))
}

/// With reasoning on: every signed reasoning text verifies, and a turn whose calls the fake made
/// with reasoning opens with that reasoning.
fn reasoning_carried(
    index: usize,
    message: &Value,
    minted: &dyn Fn(&str) -> Option<String>,
) -> Checked<()> {
    let content = blocks(message);
    let invalid = |position: usize| {
        Failure::validation(format!(
            "messages.{index}.content.{position}: Invalid `signature` in `thinking` block"
        ))
    };
    for (position, block) in content.iter().enumerate() {
        let Some(text) = block
            .get("reasoningContent")
            .and_then(|r| r.get("reasoningText"))
        else {
            continue;
        };
        let signature = text.get("signature").and_then(Value::as_str);
        let expected = text
            .get("text")
            .and_then(Value::as_str)
            .map(thinking_signature);
        if signature.is_some() && signature != expected.as_deref() {
            return Err(invalid(position));
        }
    }
    let required = content.iter().filter_map(tool_use_id).find_map(minted);
    let Some(required) = required else {
        return Ok(());
    };
    let first = content.first();
    if member(first.unwrap_or(&Value::Null)) != Some("reasoningContent") {
        let found = match first.and_then(member) {
            Some("toolUse") => "tool_use",
            Some("text") | None => "text",
            Some(other) => other,
        };
        return Err(Failure::validation(format!(
            "messages.{index}.content.0.type: Expected `thinking` or `redacted_thinking`, but found `{found}`. When `thinking` is enabled, a final `assistant` message must start with a thinking block (preceeding the lastmost set of `tool_use` and `tool_result` blocks). We recommend you include thinking blocks from previous turns. To avoid this requirement, disable `thinking`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking"
        )));
    }
    let carried = first
        .and_then(|block| {
            block
                .get("reasoningContent")?
                .get("reasoningText")?
                .get("signature")
        })
        .and_then(Value::as_str);
    if carried == Some(required.as_str()) {
        return Ok(());
    }
    Err(invalid(0))
}

fn result_ids(message: Option<&Value>) -> Vec<&str> {
    message
        .map(blocks)
        .unwrap_or_default()
        .iter()
        .filter_map(|block| block.get("toolResult")?.get("toolUseId")?.as_str())
        .collect()
}

fn role(message: Option<&Value>) -> Option<&str> {
    message?.get("role")?.as_str()
}

fn blocks(message: &Value) -> &[Value] {
    message
        .get("content")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// The member a (validated) union block sets.
fn member(block: &Value) -> Option<&str> {
    block
        .as_object()?
        .iter()
        .find(|(_, value)| !value.is_null())
        .map(|(key, _)| key.as_str())
}

fn tool_use_id(block: &Value) -> Option<&str> {
    block.get("toolUse")?.get("toolUseId")?.as_str()
}
