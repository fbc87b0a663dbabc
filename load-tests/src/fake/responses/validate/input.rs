//! Validation of `input` items one at a time: their type (a bare `{role, content}` is a
//! `message`, a bare `{id}` an `item_reference`), the fields each type takes (content parts are
//! `parts.rs`'s), and a `function_call`'s `namespace`, which must be a namespace tool of this
//! request that declares the called function.
//!
//! The rules that need the fake's memory (stored items, encrypted reasoning, which call an output
//! answers) are `conversation.rs`'s. Item types the fake never produces nor reads (computer use,
//! shells, MCP, …) are accepted with any fields.

use serde_json::{Map, Value};

use super::parts::{ASSISTANT_PARTS, INPUT_PARTS, content};
use super::tools::Tools;
use super::{Input, only, optional};
use crate::fake::validate::{
    InvalidRequest, Path, array, invalid_type, max_length, missing, object, one_of, required,
    string,
};

const TYPES: &[&str] = &[
    "message",
    "function_call",
    "function_call_output",
    "custom_tool_call",
    "custom_tool_call_output",
    "reasoning",
    "web_search_call",
    "item_reference",
    "file_search_call",
    "computer_call",
    "computer_call_output",
    "tool_search_call",
    "tool_search_output",
    "additional_tools",
    "compaction",
    "compaction_trigger",
    "image_generation_call",
    "code_interpreter_call",
    "local_shell_call",
    "local_shell_call_output",
    "shell_call",
    "shell_call_output",
    "apply_patch_call",
    "apply_patch_call_output",
    "mcp_list_tools",
    "mcp_approval_request",
    "mcp_approval_response",
    "mcp_call",
    "program",
    "program_output",
];

const STATUSES: &[&str] = &["in_progress", "completed", "incomplete"];

/// Validates `input`: a string or a list of items; it may be left out only when a stored
/// `prompt` is used.
pub(super) fn input<'a>(
    value: Option<&'a Value>,
    has_prompt: bool,
    tools: &Tools<'_>,
) -> Result<Input<'a>, InvalidRequest> {
    let at = Path::Root("input");
    match value {
        Some(Value::String(text)) => Ok(Input::Text(text)),
        Some(Value::Array(items)) => {
            for (index, value) in items.iter().enumerate() {
                item(at.index(index), value, tools)?;
            }
            Ok(Input::Items(items))
        }
        Some(other) => Err(invalid_type(at, "a string or array", other)),
        None if has_prompt => Ok(Input::Items(&[])),
        None => Err(missing(at)),
    }
}

/// The type of an input item that passed validation.
pub(crate) fn item_type(item: &Value) -> &str {
    match item.get("type").and_then(Value::as_str) {
        Some(kind) => kind,
        None if item.get("role").is_some() => "message",
        None => "item_reference",
    }
}

fn item(at: Path<'_>, value: &Value, tools: &Tools<'_>) -> Result<(), InvalidRequest> {
    let fields = object(at, value)?;
    let type_at = at.key("type");
    let kind = match optional(fields, "type") {
        Some(kind) => string(type_at, kind)?,
        None if fields.contains_key("role") => "message",
        None if fields.contains_key("id") => "item_reference",
        None => return Err(missing(type_at)),
    };
    one_of(type_at, kind, TYPES)?;
    match kind {
        "message" => message(at, fields),
        "function_call" => function_call(at, fields, tools),
        "function_call_output" => call_output(at, fields, false),
        "custom_tool_call" => custom_tool_call(at, fields),
        "custom_tool_call_output" => call_output(at, fields, true),
        "reasoning" => reasoning(at, fields),
        "web_search_call" => web_search_call(at, fields),
        "item_reference" => {
            only(at, fields, &["type", "id"])?;
            string(at.key("id"), required(at, fields, "id")?).map(drop)
        }
        _ => Ok(()),
    }
}

fn message(at: Path<'_>, fields: &Map<String, Value>) -> Result<(), InvalidRequest> {
    only(
        at,
        fields,
        &["type", "role", "content", "id", "status", "phase"],
    )?;
    let role_at = at.key("role");
    let role = string(role_at, required(at, fields, "role")?)?;
    one_of(role_at, role, &["user", "assistant", "system", "developer"])?;
    status(at, fields, STATUSES)?;
    if let Some(phase) = optional(fields, "phase") {
        let phase_at = at.key("phase");
        one_of(
            phase_at,
            string(phase_at, phase)?,
            &["commentary", "final_answer"],
        )?;
    }
    if let Some(id) = optional(fields, "id") {
        string(at.key("id"), id)?;
    }
    let allowed = if role == "assistant" {
        ASSISTANT_PARTS
    } else {
        INPUT_PARTS
    };
    content(at.key("content"), required(at, fields, "content")?, allowed)
}

fn status(
    at: Path<'_>,
    fields: &Map<String, Value>,
    allowed: &[&str],
) -> Result<(), InvalidRequest> {
    let Some(status) = optional(fields, "status") else {
        return Ok(());
    };
    let status_at = at.key("status");
    one_of(status_at, string(status_at, status)?, allowed)
}

/// A `call_id`: 1 to 64 characters.
fn call_id(at: Path<'_>, fields: &Map<String, Value>) -> Result<(), InvalidRequest> {
    let id_at = at.key("call_id");
    let id = string(id_at, required(at, fields, "call_id")?)?;
    if id.is_empty() {
        return Err(InvalidRequest::at(
            format!(
                "Invalid '{id_at}': string too short. Expected a string with minimum length 1, but got an empty string instead."
            ),
            id_at,
            Some("string_below_min_length"),
        ));
    }
    max_length(id_at, id, 64)
}

fn function_call(
    at: Path<'_>,
    fields: &Map<String, Value>,
    tools: &Tools<'_>,
) -> Result<(), InvalidRequest> {
    only(
        at,
        fields,
        &[
            "type",
            "call_id",
            "name",
            "arguments",
            "id",
            "status",
            "namespace",
            "caller",
        ],
    )?;
    call_id(at, fields)?;
    let name = string(at.key("name"), required(at, fields, "name")?)?;
    string(at.key("arguments"), required(at, fields, "arguments")?)?;
    status(at, fields, STATUSES)?;
    if let Some(id) = optional(fields, "id") {
        string(at.key("id"), id)?;
    }
    if let Some(caller) = optional(fields, "caller") {
        object(at.key("caller"), caller)?;
    }
    let Some(namespace) = optional(fields, "namespace") else {
        return Ok(());
    };
    let namespace_at = at.key("namespace");
    let namespace = string(namespace_at, namespace)?;
    let declared = tools
        .namespace(namespace)
        .is_some_and(|group| group.tool(name).is_some());
    if declared {
        return Ok(());
    }
    Err(InvalidRequest::at(
        format!(
            "Invalid value: '{namespace}'. No namespace tool named '{namespace}' that declares the function '{name}' was found in 'tools'."
        ),
        namespace_at,
        Some("invalid_value"),
    ))
}

fn custom_tool_call(at: Path<'_>, fields: &Map<String, Value>) -> Result<(), InvalidRequest> {
    only(
        at,
        fields,
        &[
            "type",
            "call_id",
            "name",
            "input",
            "id",
            "status",
            "namespace",
            "caller",
        ],
    )?;
    call_id(at, fields)?;
    for key in ["name", "input"] {
        string(at.key(key), required(at, fields, key)?)?;
    }
    status(at, fields, STATUSES)
}

/// A `function_call_output` or `custom_tool_call_output`: a call id and a string or a list of
/// input parts.
fn call_output(
    at: Path<'_>,
    fields: &Map<String, Value>,
    custom: bool,
) -> Result<(), InvalidRequest> {
    let allowed: &[&str] = if custom {
        &["type", "call_id", "output", "id", "caller"]
    } else {
        &[
            "type",
            "call_id",
            "output",
            "id",
            "status",
            "caller",
            "name",
            "namespace",
        ]
    };
    only(at, fields, allowed)?;
    call_id(at, fields)?;
    status(at, fields, STATUSES)?;
    content(
        at.key("output"),
        required(at, fields, "output")?,
        INPUT_PARTS,
    )
}

fn reasoning(at: Path<'_>, fields: &Map<String, Value>) -> Result<(), InvalidRequest> {
    only(
        at,
        fields,
        &[
            "type",
            "id",
            "summary",
            "content",
            "encrypted_content",
            "status",
        ],
    )?;
    let summary_at = at.key("summary");
    let summary = array(summary_at, required(at, fields, "summary")?)?;
    texts(summary_at, summary, "summary_text")?;
    if let Some(content) = optional(fields, "content") {
        let content_at = at.key("content");
        texts(content_at, array(content_at, content)?, "reasoning_text")?;
    }
    status(at, fields, STATUSES)?;
    let encrypted = optional(fields, "encrypted_content");
    if let Some(encrypted) = encrypted {
        string(at.key("encrypted_content"), encrypted)?;
    }
    match optional(fields, "id") {
        Some(id) => string(at.key("id"), id).map(drop),
        None if encrypted.is_none() => Err(missing(at.key("id"))),
        None => Ok(()),
    }
}

/// A list of `{"type": kind, "text": …}` parts.
fn texts(at: Path<'_>, parts: &[Value], kind: &str) -> Result<(), InvalidRequest> {
    for (index, value) in parts.iter().enumerate() {
        let part_at = at.index(index);
        let fields = object(part_at, value)?;
        only(part_at, fields, &["type", "text"])?;
        let type_at = part_at.key("type");
        one_of(
            type_at,
            string(type_at, required(part_at, fields, "type")?)?,
            &[kind],
        )?;
        string(part_at.key("text"), required(part_at, fields, "text")?)?;
    }
    Ok(())
}

fn web_search_call(at: Path<'_>, fields: &Map<String, Value>) -> Result<(), InvalidRequest> {
    only(at, fields, &["type", "id", "status", "action"])?;
    if let Some(id) = optional(fields, "id") {
        string(at.key("id"), id)?;
    }
    status(
        at,
        fields,
        &["in_progress", "searching", "completed", "failed"],
    )?;
    let action_at = at.key("action");
    let action = object(action_at, required(at, fields, "action")?)?;
    let type_at = action_at.key("type");
    let kind = string(type_at, required(action_at, action, "type")?)?;
    one_of(type_at, kind, &["search", "open_page", "find_in_page"])?;
    let allowed: &[&str] = match kind {
        "search" => &["type", "query", "queries", "sources"],
        "open_page" => &["type", "url"],
        _ => &["type", "url", "pattern"],
    };
    only(action_at, action, allowed)
}
