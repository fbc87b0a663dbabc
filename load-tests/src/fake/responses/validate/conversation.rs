//! The rules that need the fake's memory, checked once the body is well-formed: a
//! `previous_response_id` must name a response this fake stored; a `conversation` is never
//! found (the fake keeps none); an `item_reference`, and a reasoning item sent back by id alone,
//! must name an output item of a stored response; a reasoning item's `encrypted_content` must be
//! one this fake minted for it; and every tool output must answer a call made earlier in the
//! input or in the previous response's conversation.
//!
//! On success it returns the conversation the answer continues: the previous response's stored
//! conversation, then this request's input items with references resolved (a string input is
//! one user message).

use serde_json::{Value, json};

use super::input::item_type;
use super::{Input, ResponsesRequest};
use crate::fake::responses::encrypted::{claimed_item, verified_item};
use crate::fake::responses::store::State;
use crate::fake::validate::InvalidRequest;

/// Why a well-formed request is refused: a 400, or a 404 for what the fake does not have. Both
/// carry OpenAI's error fields.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    Invalid(InvalidRequest),
    NotFound(InvalidRequest),
}

/// Checks `request` against what `state` holds; returns the conversation so far.
pub(crate) fn check(request: &ResponsesRequest<'_>, state: &State) -> Result<Vec<Value>, Refusal> {
    if let Some(id) = request.conversation {
        return Err(Refusal::NotFound(InvalidRequest::new(
            format!("Conversation with id '{id}' not found."),
            Some("conversation"),
            None,
        )));
    }
    let mut conversation = match request.previous_response_id {
        Some(id) => match state.conversation(id) {
            Some(stored) => stored.as_ref().clone(),
            None => {
                return Err(Refusal::Invalid(InvalidRequest::new(
                    format!("Previous response with id '{id}' not found."),
                    Some("previous_response_id"),
                    Some("previous_response_not_found"),
                )));
            }
        },
        None => Vec::new(),
    };
    let items = match request.input {
        Input::Text(text) => {
            conversation.push(json!({"type": "message", "role": "user", "content": text}));
            return Ok(conversation);
        }
        Input::Items(items) => items,
    };
    for (index, item) in items.iter().enumerate() {
        let item = resolve(index, item, state)?;
        answers_a_call(&item, &conversation)?;
        conversation.push(item);
    }
    Ok(conversation)
}

/// The item itself, or the stored item it refers to; a reasoning item's encrypted content is
/// verified on the way.
fn resolve(index: usize, item: &Value, state: &State) -> Result<Value, Refusal> {
    let id = item.get("id").and_then(Value::as_str);
    match item_type(item) {
        "item_reference" => {
            let id = id.unwrap_or_default();
            state.item(id).ok_or_else(|| not_stored(id, false))
        }
        "reasoning" => match item.get("encrypted_content").and_then(Value::as_str) {
            Some(token) => match verified_item(token) {
                Some(minted_for) if id.is_none_or(|id| id == minted_for) => Ok(item.clone()),
                minted_for => {
                    let named = id
                        .map(str::to_owned)
                        .or(minted_for)
                        .or_else(|| claimed_item(token))
                        .unwrap_or_default();
                    Err(Refusal::Invalid(InvalidRequest::new(
                        format!("The encrypted content for item {named} could not be verified."),
                        Some(&format!("input[{index}].encrypted_content")),
                        Some("invalid_encrypted_content"),
                    )))
                }
            },
            None => {
                let id = id.unwrap_or_default();
                state
                    .item(id)
                    .map(|_| item.clone())
                    .ok_or_else(|| not_stored(id, true))
            }
        },
        _ => Ok(item.clone()),
    }
}

/// OpenAI's 404 for an item id it does not hold.
fn not_stored(id: &str, persisted_hint: bool) -> Refusal {
    let hint = if persisted_hint {
        " Items are not persisted when `store` is set to false. Try again with `store` set to true, or remove this item from your input."
    } else {
        ""
    };
    Refusal::NotFound(InvalidRequest::new(
        format!("Item with id '{id}' not found.{hint}"),
        Some("input"),
        None,
    ))
}

/// A tool output must answer a call of the matching kind earlier in the conversation.
fn answers_a_call(item: &Value, conversation: &[Value]) -> Result<(), Refusal> {
    let (call_kind, described) = match item_type(item) {
        "function_call_output" => ("function_call", "function call output"),
        "custom_tool_call_output" => ("custom_tool_call", "custom tool call output"),
        _ => return Ok(()),
    };
    let call_id = item.get("call_id").and_then(Value::as_str);
    let answered = conversation.iter().any(|earlier| {
        item_type(earlier) == call_kind && earlier.get("call_id").and_then(Value::as_str) == call_id
    });
    if answered {
        return Ok(());
    }
    Err(Refusal::Invalid(InvalidRequest::new(
        format!(
            "No tool call found for {described} with call_id {}.",
            call_id.unwrap_or_default()
        ),
        Some("input"),
        None,
    )))
}
