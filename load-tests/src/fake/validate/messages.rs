//! Validation of `messages`: roles, the properties each role may carry, content and content parts,
//! assistant tool calls, and the pairing of tool results with the tool calls they answer.

use serde_json::{Map, Value};

use super::{
    InvalidRequest, Path, array, empty_array, invalid_type, missing, object, one_of, required,
    string, unexpected_property,
};

const ROLES: &[&str] = &[
    "system",
    "assistant",
    "user",
    "function",
    "tool",
    "developer",
];

/// Which content part types a role may send.
const TEXT_PARTS: &[&str] = &["text"];
const USER_PARTS: &[&str] = &["text", "image_url", "input_audio", "file"];
const ASSISTANT_PARTS: &[&str] = &["text", "refusal"];

pub(super) fn validate(messages: Option<&Value>) -> Result<&[Value], InvalidRequest> {
    let at = Path::Root("messages");
    let Some(messages) = messages else {
        return Err(missing(at));
    };
    let list = array(at, messages)?;
    if list.is_empty() {
        return Err(empty_array(at));
    }
    let mut pairing = ToolPairing::default();
    for (index, message) in list.iter().enumerate() {
        let role = one(at.index(index), message)?;
        pairing.next(index, role, message)?;
    }
    pairing.finish()?;
    Ok(list)
}

/// Validates one message and returns its role.
fn one<'a>(at: Path<'_>, message: &'a Value) -> Result<&'a str, InvalidRequest> {
    let fields = object(at, message)?;
    let role = required(at, fields, "role")?;
    let role = string(at.key("role"), role)?;
    one_of(at.key("role"), role, ROLES)?;
    let allowed: &[&str] = match role {
        "assistant" => &[
            "role",
            "content",
            "name",
            "tool_calls",
            "refusal",
            "audio",
            "function_call",
        ],
        "tool" => &["role", "content", "tool_call_id"],
        _ => &["role", "content", "name"],
    };
    if let Some(key) = fields.keys().find(|key| !allowed.contains(&key.as_str())) {
        return Err(unexpected_property(key, at));
    }
    for key in ["name", "refusal", "tool_call_id"] {
        if let Some(value) = fields.get(key).filter(|v| !v.is_null()) {
            string(at.key(key), value)?;
        }
    }
    match role {
        "assistant" => assistant(at, fields)?,
        "tool" => {
            string(
                at.key("tool_call_id"),
                required(at, fields, "tool_call_id")?,
            )?;
            content(at, fields, TEXT_PARTS)?;
        }
        "function" => {
            required(at, fields, "name")?;
            if fields.get("content").is_some_and(|c| !c.is_null()) {
                content(at, fields, TEXT_PARTS)?;
            }
        }
        "user" => content(at, fields, USER_PARTS)?,
        _ => content(at, fields, TEXT_PARTS)?,
    }
    Ok(role)
}

fn assistant(at: Path<'_>, fields: &Map<String, Value>) -> Result<(), InvalidRequest> {
    let tool_calls = fields.get("tool_calls").filter(|v| !v.is_null());
    if let Some(tool_calls) = tool_calls {
        let calls_at = at.key("tool_calls");
        let calls = array(calls_at, tool_calls)?;
        if calls.is_empty() {
            return Err(empty_array(calls_at));
        }
        for (i, call) in calls.iter().enumerate() {
            tool_call(calls_at.index(i), call)?;
        }
    }
    let has_call =
        tool_calls.is_some() || fields.get("function_call").is_some_and(|v| !v.is_null());
    if fields.get("content").is_none_or(Value::is_null) {
        if has_call {
            return Ok(());
        }
        return Err(missing(at.key("content")));
    }
    content(at, fields, ASSISTANT_PARTS)
}

fn tool_call(at: Path<'_>, call: &Value) -> Result<(), InvalidRequest> {
    let fields = object(at, call)?;
    if let Some(key) = fields
        .keys()
        .find(|k| !["id", "type", "function"].contains(&k.as_str()))
    {
        return Err(unexpected_property(key, at));
    }
    string(at.key("id"), required(at, fields, "id")?)?;
    let call_type = string(at.key("type"), required(at, fields, "type")?)?;
    one_of(at.key("type"), call_type, &["function"])?;
    let function_at = at.key("function");
    let function = object(function_at, required(at, fields, "function")?)?;
    if let Some(key) = function
        .keys()
        .find(|k| !["name", "arguments"].contains(&k.as_str()))
    {
        return Err(unexpected_property(key, function_at));
    }
    for key in ["name", "arguments"] {
        string(function_at.key(key), required(function_at, function, key)?)?;
    }
    Ok(())
}

/// `content` as a string or a non-empty array of parts whose types are in `allowed`.
fn content(
    at: Path<'_>,
    fields: &Map<String, Value>,
    allowed: &[&str],
) -> Result<(), InvalidRequest> {
    let content_at = at.key("content");
    match fields.get("content") {
        None | Some(Value::Null) => Err(missing(content_at)),
        Some(Value::String(_)) => Ok(()),
        Some(Value::Array(parts)) if parts.is_empty() => Err(empty_array(content_at)),
        Some(Value::Array(parts)) => parts
            .iter()
            .enumerate()
            .try_for_each(|(i, value)| part(content_at.index(i), value, allowed)),
        Some(other) => Err(invalid_type(
            content_at,
            "one of a string or array of objects",
            other,
        )),
    }
}

fn part(at: Path<'_>, value: &Value, allowed: &[&str]) -> Result<(), InvalidRequest> {
    let fields = object(at, value)?;
    let part_type = string(at.key("type"), required(at, fields, "type")?)?;
    one_of(at.key("type"), part_type, allowed)?;
    if let Some(key) = fields
        .keys()
        .find(|k| !["type", part_type, "prompt_cache_breakpoint"].contains(&k.as_str()))
    {
        return Err(unexpected_property(key, at));
    }
    let payload_at = at.key(part_type);
    let payload = required(at, fields, part_type)?;
    match part_type {
        "text" | "refusal" => string(payload_at, payload).map(drop),
        "image_url" => {
            let image = object(payload_at, payload)?;
            string(payload_at.key("url"), required(payload_at, image, "url")?)?;
            if let Some(detail) = image.get("detail").filter(|d| !d.is_null()) {
                let detail_at = payload_at.key("detail");
                one_of(
                    detail_at,
                    string(detail_at, detail)?,
                    &["auto", "low", "high"],
                )?;
            }
            Ok(())
        }
        "input_audio" => {
            let audio = object(payload_at, payload)?;
            string(payload_at.key("data"), required(payload_at, audio, "data")?)?;
            let format_at = payload_at.key("format");
            let format = string(format_at, required(payload_at, audio, "format")?)?;
            one_of(format_at, format, &["wav", "mp3"])
        }
        _ => {
            let file = object(payload_at, payload)?;
            if !file.contains_key("file_data") && !file.contains_key("file_id") {
                return Err(missing(payload_at.key("file_id")));
            }
            for (key, item) in file {
                string(payload_at.key(key), item)?;
            }
            Ok(())
        }
    }
}

/// Tracks the open assistant `tool_calls` block: tool messages must directly follow it, answer
/// one of its ids, and answer all of them before any other message.
#[derive(Default)]
struct ToolPairing {
    /// (index of the assistant message, its tool call ids, whether each was answered)
    open: Option<(usize, Vec<String>, Vec<bool>)>,
}

impl ToolPairing {
    fn next(&mut self, index: usize, role: &str, message: &Value) -> Result<(), InvalidRequest> {
        if role == "tool" {
            let id = message.get("tool_call_id").and_then(Value::as_str);
            let answered = self.open.as_mut().and_then(|(_, ids, answered)| {
                let position = ids.iter().position(|known| Some(known.as_str()) == id)?;
                answered[position] = true;
                Some(())
            });
            return answered.ok_or_else(|| InvalidRequest::new(
                "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.".to_owned(),
                Some(&format!("messages.[{index}].role")),
                None,
            ));
        }
        self.finish()?;
        if role == "assistant" {
            let ids: Vec<String> = message
                .get("tool_calls")
                .and_then(Value::as_array)
                .map(|calls| {
                    calls
                        .iter()
                        .filter_map(|call| call.get("id")?.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            if !ids.is_empty() {
                let answered = vec![false; ids.len()];
                self.open = Some((index, ids, answered));
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), InvalidRequest> {
        let Some((index, ids, answered)) = self.open.take() else {
            return Ok(());
        };
        let unanswered: Vec<&str> = ids
            .iter()
            .zip(&answered)
            .filter(|(_, done)| !**done)
            .map(|(id, _)| id.as_str())
            .collect();
        if unanswered.is_empty() {
            return Ok(());
        }
        Err(InvalidRequest::new(
            format!(
                "An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: {}",
                unanswered.join(", ")
            ),
            Some(&format!("messages.[{index}].role")),
            None,
        ))
    }
}
