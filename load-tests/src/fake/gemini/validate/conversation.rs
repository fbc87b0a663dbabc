//! The rules that span contents, checked once every content is well-formed:
//!
//! - a model content with `functionCall` parts follows a user content (a prompt or function
//!   responses), and the very next content is a user content with exactly as many
//!   `functionResponse` parts, each answering one call by `name` (and by `id` when the call had
//!   one);
//! - a user content with `functionResponse` parts follows a model content that called functions;
//! - thought signatures: every signature the fake issued comes back, unchanged, on the call it
//!   was issued for (`signature.rs` has the scheme and the exact rule).
//!
//! Messages are Gemini's where Gemini has one; the name/id pairing rule is the fake's own
//! (Gemini only counts), so its message says which call went unanswered.

use serde_json::Value;

use super::super::signature::{self, Issued, Problem, gemini_thought_signature};
use super::proto::{Invalid, get};

const CALL_PLACEMENT: &str = "Please ensure that function call turn comes immediately after a user turn or after a function response turn.";
const RESPONSE_PLACEMENT: &str =
    "Please ensure that function response turn comes immediately after a function call turn.";
const RESPONSE_COUNT: &str = "Please ensure that the number of function response parts is equal to the number of function call parts of the function call turn.";

/// One `functionCall` or `functionResponse` part: its index in the content, name and id.
struct Function<'v> {
    part: usize,
    name: &'v str,
    id: Option<&'v str>,
}

/// Checks the cross-content rules; with `issued`, also the thought signatures.
pub(super) fn check(contents: &[Value], issued: Option<&Issued>) -> Result<(), Invalid> {
    for (index, content) in contents.iter().enumerate() {
        let previous = index.checked_sub(1).and_then(|i| contents.get(i));
        let calls = functions(content, "function_call");
        if role(content) == "model" && !calls.is_empty() {
            if previous.is_none_or(|previous| role(previous) != "user") {
                return Err(Invalid::request(CALL_PLACEMENT));
            }
            let next = contents.get(index + 1).filter(|next| role(next) == "user");
            let responses = next.map_or_else(Vec::new, |next| functions(next, "function_response"));
            answered(index, &calls, &responses)?;
        }
        let responses = functions(content, "function_response");
        let after_calls = previous.is_some_and(|previous| {
            role(previous) == "model" && !functions(previous, "function_call").is_empty()
        });
        if !responses.is_empty() && !after_calls {
            return Err(Invalid::request(RESPONSE_PLACEMENT));
        }
    }
    if let Some(issued) = issued {
        signatures(contents, issued)?;
    }
    Ok(())
}

/// Every call of the model content at `index` has its own response in `responses`.
fn answered(
    index: usize,
    calls: &[Function<'_>],
    responses: &[Function<'_>],
) -> Result<(), Invalid> {
    if calls.len() != responses.len() {
        return Err(Invalid::request(RESPONSE_COUNT));
    }
    let mut used = vec![false; responses.len()];
    for call in calls {
        let found = (0..responses.len()).find(|&i| {
            let response = &responses[i];
            !used[i] && response.name == call.name && (call.id.is_none() || response.id == call.id)
        });
        match found {
            Some(i) => used[i] = true,
            None => {
                let id = call
                    .id
                    .map(|id| format!(" and id `{id}`"))
                    .unwrap_or_default();
                return Err(Invalid::request(format!(
                    "Please ensure that every function call is answered by a function response with the same name (and id, when the call has one) in the next turn: no function response with name `{}`{id} answers the function call at 'contents[{index}].parts[{}]'.",
                    call.name, call.part
                )));
            }
        }
    }
    Ok(())
}

/// The thought signatures on model contents.
fn signatures(contents: &[Value], issued: &Issued) -> Result<(), Invalid> {
    for (index, content) in contents.iter().enumerate() {
        if role(content) != "model" {
            continue;
        }
        for (position, part) in parts(content).iter().enumerate() {
            let found = get(part, "thought_signature").and_then(Value::as_str);
            let call = get(part, "function_call");
            let name = call
                .and_then(|call| get(call, "name"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            let expected = call.map(|call| {
                let args = get(call, "args").unwrap_or(&Value::Null);
                gemini_thought_signature(name, args)
            });
            let problem = match signature::check(found, expected.as_deref(), issued) {
                Ok(()) => continue,
                Err(problem) => problem,
            };
            let message = match problem {
                Problem::Missing => format!(
                    "Function call is missing a thought_signature in functionCall parts. This is required for tools to work correctly, and missing thought_signature may lead to degraded model performance. Additional data, function call `default_api:{name}` , position {}. Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more details.",
                    index + 1
                ),
                Problem::Invalid => "Invalid thought signature.".to_owned(),
                Problem::Corrupted => "Corrupted thought signature.".to_owned(),
            };
            let field = (problem != Problem::Missing)
                .then(|| format!("contents[{index}].parts[{position}].thought_signature"));
            return Err(match field {
                Some(field) => Invalid::Payload {
                    message,
                    field: Some(field),
                },
                None => Invalid::request(message),
            });
        }
    }
    Ok(())
}

/// A content's role; an absent role (a lone content) is the user's.
fn role(content: &Value) -> &str {
    get(content, "role")
        .and_then(Value::as_str)
        .unwrap_or("user")
}

fn parts(content: &Value) -> &[Value] {
    get(content, "parts")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// The `kind` (`function_call` or `function_response`) parts of a content.
fn functions<'v>(content: &'v Value, kind: &str) -> Vec<Function<'v>> {
    parts(content)
        .iter()
        .enumerate()
        .filter_map(|(part, value)| {
            let function = get(value, kind)?;
            Some(Function {
                part,
                name: get(function, "name")?.as_str()?,
                id: get(function, "id").and_then(Value::as_str),
            })
        })
        .collect()
}
