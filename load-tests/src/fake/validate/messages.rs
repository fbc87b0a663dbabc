//! Validation of `messages`: roles, the properties each role may carry, content and content parts,
//! assistant tool calls, and the pairing of tool results with the tool calls they answer.

use serde_json::{Map, Value};

use super::{
    InvalidRequest, array, empty_array, invalid_type, missing, object, one_of, string,
    unexpected_property,
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
    let Some(messages) = messages else {
        return Err(missing("messages"));
    };
    let list = array("messages", messages)?;
    if list.is_empty() {
        return Err(empty_array("messages"));
    }
    let mut pairing = ToolPairing::default();
    for (index, message) in list.iter().enumerate() {
        let role = one(index, message)?;
        pairing.next(index, role, message)?;
    }
    pairing.finish()?;
    Ok(list)
}

/// Validates one message and returns its role.
fn one(index: usize, message: &Value) -> Result<&str, InvalidRequest> {
    let param = format!("messages[{index}]");
    let fields = object(&param, message)?;
    let role_param = format!("{param}.role");
    let role = string(
        &role_param,
        fields.get("role").ok_or_else(|| missing(&role_param))?,
    )?;
    one_of(&role_param, role, ROLES)?;
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
        return Err(unexpected_property(key, &format!("messages.{index}")));
    }
    for key in ["name", "refusal", "tool_call_id"] {
        if let Some(value) = fields.get(key).filter(|v| !v.is_null()) {
            string(&format!("{param}.{key}"), value)?;
        }
    }
    match role {
        "assistant" => assistant(&param, fields)?,
        "tool" => {
            let id_param = format!("{param}.tool_call_id");
            let id = fields
                .get("tool_call_id")
                .ok_or_else(|| missing(&id_param))?;
            string(&id_param, id)?;
            content(&param, fields, TEXT_PARTS)?;
        }
        "function" => {
            if !fields.contains_key("name") {
                return Err(missing(&format!("{param}.name")));
            }
            if fields.get("content").is_some_and(|c| !c.is_null()) {
                content(&param, fields, TEXT_PARTS)?;
            }
        }
        "user" => content(&param, fields, USER_PARTS)?,
        _ => content(&param, fields, TEXT_PARTS)?,
    }
    Ok(role)
}

fn assistant(param: &str, fields: &Map<String, Value>) -> Result<(), InvalidRequest> {
    let tool_calls = fields.get("tool_calls").filter(|v| !v.is_null());
    if let Some(tool_calls) = tool_calls {
        let calls_param = format!("{param}.tool_calls");
        let calls = array(&calls_param, tool_calls)?;
        if calls.is_empty() {
            return Err(empty_array(&calls_param));
        }
        for (i, call) in calls.iter().enumerate() {
            tool_call(&format!("{calls_param}[{i}]"), call)?;
        }
    }
    let has_call =
        tool_calls.is_some() || fields.get("function_call").is_some_and(|v| !v.is_null());
    if fields.get("content").is_none_or(Value::is_null) {
        if has_call {
            return Ok(());
        }
        return Err(missing(&format!("{param}.content")));
    }
    content(param, fields, ASSISTANT_PARTS)
}

fn tool_call(param: &str, call: &Value) -> Result<(), InvalidRequest> {
    let fields = object(param, call)?;
    if let Some(key) = fields
        .keys()
        .find(|k| !["id", "type", "function"].contains(&k.as_str()))
    {
        return Err(unexpected_property(key, &dotted(param)));
    }
    for key in ["id", "type"] {
        let key_param = format!("{param}.{key}");
        string(
            &key_param,
            fields.get(key).ok_or_else(|| missing(&key_param))?,
        )?;
    }
    let type_param = format!("{param}.type");
    one_of(
        &type_param,
        fields.get("type").and_then(Value::as_str).unwrap_or(""),
        &["function"],
    )?;
    let function_param = format!("{param}.function");
    let function = object(
        &function_param,
        fields
            .get("function")
            .ok_or_else(|| missing(&function_param))?,
    )?;
    if let Some(key) = function
        .keys()
        .find(|k| !["name", "arguments"].contains(&k.as_str()))
    {
        return Err(unexpected_property(key, &dotted(&function_param)));
    }
    for key in ["name", "arguments"] {
        let key_param = format!("{function_param}.{key}");
        string(
            &key_param,
            function.get(key).ok_or_else(|| missing(&key_param))?,
        )?;
    }
    Ok(())
}

/// `content` as a string or a non-empty array of parts whose types are in `allowed`.
fn content(
    param: &str,
    fields: &Map<String, Value>,
    allowed: &[&str],
) -> Result<(), InvalidRequest> {
    let content_param = format!("{param}.content");
    match fields.get("content") {
        None | Some(Value::Null) => Err(missing(&content_param)),
        Some(Value::String(_)) => Ok(()),
        Some(Value::Array(parts)) if parts.is_empty() => Err(empty_array(&content_param)),
        Some(Value::Array(parts)) => parts.iter().enumerate().try_for_each(|(i, part_value)| {
            part(&format!("{content_param}[{i}]"), part_value, allowed)
        }),
        Some(other) => Err(invalid_type(
            &content_param,
            "one of a string or array of objects",
            other,
        )),
    }
}

fn part(param: &str, value: &Value, allowed: &[&str]) -> Result<(), InvalidRequest> {
    let fields = object(param, value)?;
    let type_param = format!("{param}.type");
    let part_type = string(
        &type_param,
        fields.get("type").ok_or_else(|| missing(&type_param))?,
    )?;
    one_of(&type_param, part_type, allowed)?;
    if let Some(key) = fields
        .keys()
        .find(|k| !["type", part_type, "prompt_cache_breakpoint"].contains(&k.as_str()))
    {
        return Err(unexpected_property(key, &dotted(param)));
    }
    let payload_param = format!("{param}.{part_type}");
    let payload = fields
        .get(part_type)
        .ok_or_else(|| missing(&payload_param))?;
    match part_type {
        "text" | "refusal" => string(&payload_param, payload).map(drop),
        "image_url" => {
            let image = object(&payload_param, payload)?;
            let url_param = format!("{payload_param}.url");
            string(
                &url_param,
                image.get("url").ok_or_else(|| missing(&url_param))?,
            )?;
            if let Some(detail) = image.get("detail").filter(|d| !d.is_null()) {
                let detail_param = format!("{payload_param}.detail");
                one_of(
                    &detail_param,
                    string(&detail_param, detail)?,
                    &["auto", "low", "high"],
                )?;
            }
            Ok(())
        }
        "input_audio" => {
            let audio = object(&payload_param, payload)?;
            let data_param = format!("{payload_param}.data");
            string(
                &data_param,
                audio.get("data").ok_or_else(|| missing(&data_param))?,
            )?;
            let format_param = format!("{payload_param}.format");
            let format = audio.get("format").ok_or_else(|| missing(&format_param))?;
            one_of(
                &format_param,
                string(&format_param, format)?,
                &["wav", "mp3"],
            )
        }
        _ => {
            let file = object(&payload_param, payload)?;
            if !file.contains_key("file_data") && !file.contains_key("file_id") {
                return Err(missing(&format!("{payload_param}.file_id")));
            }
            for (key, item) in file {
                string(&format!("{payload_param}.{key}"), item)?;
            }
            Ok(())
        }
    }
}

/// `messages[1].tool_calls[0]` → `messages.1.tool_calls.0`, the path style of OpenAI's schema
/// errors.
fn dotted(param: &str) -> String {
    param.replace("].", ".").replace('[', ".").replace(']', "")
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
