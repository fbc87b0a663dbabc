//! `contents` and `systemInstruction`, one content at a time: roles, non-empty `parts`, and each
//! part being exactly one kind of data (`text`, `inlineData`, `fileData`, `functionCall`,
//! `functionResponse`, `executableCode`, `codeExecutionResult`) with its own fields, plus the
//! optional `thought` flag and base64 `thoughtSignature`. Function calls may only come from the
//! model and function responses only from the user.
//!
//! How contents relate to each other (call/response pairing, signatures) is `conversation.rs`'s
//! job.

use serde_json::Value;

use super::proto::{
    Invalid, Message, boolean, bytes, enumeration, field, list, location, message, string,
    structure,
};
use crate::fake::validate::Path;

const CONTENT: &[&str] = &["role", "parts"];

pub(super) const PART: &[&str] = &[
    "text",
    "inline_data",
    "file_data",
    "function_call",
    "function_response",
    "executable_code",
    "code_execution_result",
    "thought",
    "thought_signature",
    "video_metadata",
    "part_metadata",
    "media_resolution",
];

/// The members of the `data` oneof of a `Part`.
const DATA: &[&str] = &[
    "text",
    "inline_data",
    "file_data",
    "function_call",
    "function_response",
    "executable_code",
    "code_execution_result",
];

const INVALID_ROLE: &str = "Please use a valid role: user, model.";

/// Validates `contents` (required, non-empty) and returns them.
pub(super) fn contents<'v>(at: Path<'_>, value: Option<&'v Value>) -> Result<&'v [Value], Invalid> {
    let contents = match value {
        Some(value) => list(at, value, "Content")?,
        None => &[],
    };
    if contents.is_empty() {
        return Err(field(at, "contents is not specified"));
    }
    let single = contents.len() == 1;
    for (index, content) in contents.iter().enumerate() {
        one(at.index(index), content, single)?;
    }
    Ok(contents)
}

fn one(at: Path<'_>, value: &Value, single: bool) -> Result<(), Invalid> {
    let content = message(at, value, "Content", CONTENT)?;
    let role = match content.get("role") {
        Some(role) => string(at.key("role"), role)?,
        None => "",
    };
    let role = match role {
        "user" | "model" => role,
        "" if single => "user",
        _ => return Err(Invalid::request(INVALID_ROLE)),
    };
    let parts_at = at.key("parts");
    let parts = parts(parts_at, content)?;
    for (index, part) in parts.iter().enumerate() {
        self::part(parts_at.index(index), part, role)?;
    }
    Ok(())
}

fn parts<'v>(at: Path<'_>, content: Message<'v>) -> Result<&'v [Value], Invalid> {
    let parts = match content.get("parts") {
        Some(parts) => list(at, parts, "Part")?,
        None => &[],
    };
    if parts.is_empty() {
        return Err(field(at, "contents.parts must not be empty."));
    }
    Ok(parts)
}

/// `systemInstruction`: a content (any role, or none) of text parts.
pub(super) fn system_instruction(at: Path<'_>, value: &Value) -> Result<(), Invalid> {
    let content = message(at, value, "Content", CONTENT)?;
    if let Some(role) = content.get("role") {
        string(at.key("role"), role)?;
    }
    let parts_at = at.key("parts");
    for (index, value) in parts(parts_at, content)?.iter().enumerate() {
        let at = parts_at.index(index);
        part(at, value, "user")?;
        let part = message(at, value, "Part", PART)?;
        if part.get("text").is_none() {
            return Err(field(at, "system_instruction only supports text parts."));
        }
    }
    Ok(())
}

/// One part of a content whose role is `role`.
fn part(at: Path<'_>, value: &Value, role: &str) -> Result<(), Invalid> {
    let part = message(at, value, "Part", PART)?;
    let mut set = DATA.iter().filter(|name| part.get(name).is_some());
    let kind = set.next().copied();
    if let Some(second) = set.next() {
        return Err(Invalid::Payload {
            message: format!(
                "Invalid JSON payload received. Oneof field 'data' is already set. Cannot set '{second}' at '{}'.",
                location(at)
            ),
            field: Some(location(at)),
        });
    }
    let signature = match part.get("thought_signature") {
        Some(signature) => Some(bytes(at.key("thought_signature"), signature)?),
        None => None,
    };
    if let Some(thought) = part.get("thought") {
        boolean(at.key("thought"), thought)?;
    }
    if let Some(video) = part.get("video_metadata") {
        let known = ["start_offset", "end_offset", "fps"];
        message(at.key("video_metadata"), video, "VideoMetadata", &known)?;
    }
    for key in ["part_metadata", "media_resolution"] {
        if let Some(value) = part.get(key) {
            structure(at.key(key), value)?;
        }
    }
    let Some(kind) = kind else {
        return Err(field(
            at.key("data"),
            "required oneof field 'data' must have one initialized field",
        ));
    };
    let data_at = at.key(kind);
    let data = part.get(kind).unwrap_or(&Value::Null);
    match kind {
        "text" => {
            let text = string(data_at, data)?;
            if text.is_empty() && signature.is_none() {
                return Err(field(
                    at.key("data"),
                    "required oneof field 'data' must have one initialized field",
                ));
            }
        }
        "inline_data" => blob(data_at, data)?,
        "file_data" => file(data_at, data)?,
        "function_call" => {
            if role != "model" {
                return Err(field(
                    data_at,
                    "function_call parts may only appear in a content with role 'model'.",
                ));
            }
            function_call(data_at, data)?;
        }
        "function_response" => {
            if role != "user" {
                return Err(field(
                    data_at,
                    "function_response parts may only appear in a content with role 'user'.",
                ));
            }
            function_response(data_at, data)?;
        }
        "executable_code" => {
            let code = message(data_at, data, "ExecutableCode", &["language", "code"])?;
            if let Some(language) = code.get("language") {
                enumeration(
                    data_at.key("language"),
                    language,
                    "ExecutableCode.Language",
                    &["LANGUAGE_UNSPECIFIED", "PYTHON"],
                )?;
            }
            required_string(data_at, code, "code")?;
        }
        _ => {
            let result = message(data_at, data, "CodeExecutionResult", &["outcome", "output"])?;
            if let Some(outcome) = result.get("outcome") {
                enumeration(
                    data_at.key("outcome"),
                    outcome,
                    "CodeExecutionResult.Outcome",
                    &[
                        "OUTCOME_UNSPECIFIED",
                        "OUTCOME_OK",
                        "OUTCOME_FAILED",
                        "OUTCOME_DEADLINE_EXCEEDED",
                    ],
                )?;
            }
            if let Some(output) = result.get("output") {
                string(data_at.key("output"), output)?;
            }
        }
    }
    Ok(())
}

/// `inlineData`: `{mimeType, data}`, both required, `data` base64.
fn blob(at: Path<'_>, value: &Value) -> Result<(), Invalid> {
    let blob = message(at, value, "Blob", &["mime_type", "data"])?;
    required_string(at, blob, "mime_type")?;
    let data = match blob.get("data") {
        Some(data) => bytes(at.key("data"), data)?,
        None => "",
    };
    if data.is_empty() {
        return Err(field(at.key("data"), "data must not be empty."));
    }
    Ok(())
}

/// `fileData`: `{mimeType?, fileUri}`.
fn file(at: Path<'_>, value: &Value) -> Result<(), Invalid> {
    let file = message(at, value, "FileData", &["mime_type", "file_uri"])?;
    if let Some(mime_type) = file.get("mime_type") {
        string(at.key("mime_type"), mime_type)?;
    }
    required_string(at, file, "file_uri").map(drop)
}

/// `functionCall`: `{id?, name, args?}` with `args` an object.
fn function_call(at: Path<'_>, value: &Value) -> Result<(), Invalid> {
    let call = message(at, value, "FunctionCall", &["id", "name", "args"])?;
    if let Some(id) = call.get("id") {
        string(at.key("id"), id)?;
    }
    name(at, call)?;
    if let Some(args) = call.get("args") {
        structure(at.key("args"), args)?;
    }
    Ok(())
}

/// `functionResponse`: `{id?, name, response, parts?, willContinue?, scheduling?}` with
/// `response` an object.
fn function_response(at: Path<'_>, value: &Value) -> Result<(), Invalid> {
    let known = [
        "id",
        "name",
        "response",
        "parts",
        "will_continue",
        "scheduling",
    ];
    let response = message(at, value, "FunctionResponse", &known)?;
    if let Some(id) = response.get("id") {
        string(at.key("id"), id)?;
    }
    name(at, response)?;
    match response.get("response") {
        Some(value) => structure(at.key("response"), value).map(drop)?,
        None => return Err(field(at.key("response"), "response is required.")),
    }
    if let Some(parts) = response.get("parts") {
        let parts_at = at.key("parts");
        for (index, part) in list(parts_at, parts, "FunctionResponsePart")?
            .iter()
            .enumerate()
        {
            let part_at = parts_at.index(index);
            let part = message(part_at, part, "FunctionResponsePart", &["inline_data"])?;
            if let Some(data) = part.get("inline_data") {
                blob(part_at.key("inline_data"), data)?;
            }
        }
    }
    if let Some(flag) = response.get("will_continue") {
        boolean(at.key("will_continue"), flag)?;
    }
    if let Some(scheduling) = response.get("scheduling") {
        let allowed = ["SCHEDULING_UNSPECIFIED", "SILENT", "WHEN_IDLE", "INTERRUPT"];
        enumeration(
            at.key("scheduling"),
            scheduling,
            "FunctionResponse.Scheduling",
            &allowed,
        )?;
    }
    Ok(())
}

/// The non-empty `name` of a function call or response.
fn name(at: Path<'_>, message: Message<'_>) -> Result<(), Invalid> {
    let name = match message.get("name") {
        Some(name) => string(at.key("name"), name)?,
        None => "",
    };
    if name.is_empty() {
        return Err(field(at.key("name"), "Name cannot be empty."));
    }
    Ok(())
}

/// A string field that must be present and non-empty.
fn required_string<'v>(at: Path<'_>, message: Message<'v>, key: &str) -> Result<&'v str, Invalid> {
    let value = match message.get(key) {
        Some(value) => string(at.key(key), value)?,
        None => "",
    };
    if value.is_empty() {
        return Err(field(at.key(key), format!("{key} must not be empty.")));
    }
    Ok(value)
}
