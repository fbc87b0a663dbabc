//! Validation of `messages` and `system` one message at a time: roles, content strings, the block
//! types each role may send, the fields each block type takes, and `cache_control` markers.
//!
//! Under the mid-conversation beta a message may also have `role: "system"`: never the first
//! message, always directly after a `user` message (so never two in a row), with a string or
//! text blocks as content. It counts like any other message for the prompt's tokens.
//!
//! How blocks relate across messages (tool pairing, thinking signatures, the need for `tools`)
//! is `conversation.rs`'s job, not this module's.

use serde_json::{Map, Value};

use super::betas::Betas;
use super::checks::{
    Invalid, boolean, choices, dictionary, fail, list, literal, object, only, optional, required,
    string, tool_use_id,
};
use crate::fake::validate::Path;

const USER_BLOCKS: &[&str] = &["text", "image", "document", "tool_result"];
const ASSISTANT_BLOCKS: &[&str] = &["text", "tool_use", "thinking", "redacted_thinking"];
const TOOL_RESULT_BLOCKS: &[&str] = &["text", "image", "document"];
/// Under the advanced-tool-use beta a tool result may also name the tools a tool search loaded.
const TOOL_RESULT_BLOCKS_WITH_REFERENCES: &[&str] =
    &["text", "image", "document", "tool_reference"];
const EFFORTS: &[&str] = &["low", "medium", "high", "xhigh", "max"];
const SYSTEM_BLOCKS: &[&str] = &["text"];
const IMAGE_MEDIA_TYPES: &[&str] = &["image/jpeg", "image/png", "image/gif", "image/webp"];

/// Validates `messages` and returns them; `betas` decides whether `system` is a role.
pub(super) fn messages(value: Option<&Value>, betas: Betas) -> Result<&[Value], Invalid> {
    let at = Path::Root("messages");
    let Some(value) = value else {
        return Err(fail(at, "Field required"));
    };
    let messages = list(at, value)?;
    if messages.is_empty() {
        return Err(fail(at, "at least one message is required"));
    }
    let roles: &[&str] = if betas.mid_conversation_system {
        &["user", "assistant", "system"]
    } else {
        &["user", "assistant"]
    };
    let mut previous = None;
    for (index, message) in messages.iter().enumerate() {
        let at = at.index(index);
        let role = one(at, message, roles, index + 1 == messages.len(), betas)?;
        if role == "system" {
            system_placement(at, previous)?;
        }
        previous = Some(role);
    }
    Ok(messages)
}

/// Where a mid-conversation `system` message may stand: right after a `user` message.
fn system_placement(at: Path<'_>, previous: Option<&str>) -> Result<(), Invalid> {
    let problem = match previous {
        None => "a `system` message cannot be the first message",
        Some("system") => "`system` messages cannot follow each other",
        Some("user") => return Ok(()),
        Some(_) => "a `system` message must directly follow a `user` message",
    };
    Err(fail(at.key("role"), problem))
}

/// Validates one message whose role must be in `roles`; returns the role.
fn one<'a>(
    at: Path<'_>,
    message: &'a Value,
    roles: &[&str],
    last: bool,
    betas: Betas,
) -> Result<&'a str, Invalid> {
    let fields = object(at, message)?;
    let role = literal(at.key("role"), required(at, fields, "role")?, roles)?;
    // Per-turn control: a system message may carry its own effort, and then nothing else.
    let directive = role == "system" && betas.per_turn_control;
    if directive {
        only(at, fields, &["role", "content", "output_config"])?;
        if let Some(config) = optional(fields, "output_config") {
            output_config(at.key("output_config"), config)?;
        }
    } else {
        only(at, fields, &["role", "content"])?;
    }
    let directive_only = directive && optional(fields, "output_config").is_some();
    let final_assistant = last && role == "assistant";
    let content_at = at.key("content");
    let content = required(at, fields, "content")?;
    let empty = match content {
        Value::String(text) => text.is_empty(),
        Value::Array(blocks) => {
            let allowed = match role {
                "user" => USER_BLOCKS,
                "system" => SYSTEM_BLOCKS,
                _ => ASSISTANT_BLOCKS,
            };
            for (index, value) in blocks.iter().enumerate() {
                block(content_at.index(index), value, allowed, betas)?;
            }
            blocks.is_empty()
        }
        _ => {
            return Err(fail(
                content_at,
                "Input should be a valid string or a valid list",
            ));
        }
    };
    if empty && !final_assistant && !directive_only {
        return Err(fail(
            at,
            "all messages must have non-empty content except for the optional final assistant message",
        ));
    }
    if final_assistant && ends_with_whitespace(content) {
        return Err(fail(
            Path::Root("messages"),
            "final assistant content cannot end with trailing whitespace",
        ));
    }
    Ok(role)
}

/// Whether the content's last text (the string, or a trailing text block) ends in whitespace.
fn ends_with_whitespace(content: &Value) -> bool {
    let text = match content {
        Value::String(text) => Some(text.as_str()),
        Value::Array(blocks) => blocks
            .last()
            .filter(|block| block.get("type").and_then(Value::as_str) == Some("text"))
            .and_then(|block| block.get("text")?.as_str()),
        _ => None,
    };
    text.and_then(|text| text.chars().last())
        .is_some_and(char::is_whitespace)
}

/// `system`: a string or a list of text blocks.
pub(super) fn system(value: &Value) -> Result<(), Invalid> {
    let at = Path::Root("system");
    match value {
        Value::String(_) => Ok(()),
        Value::Array(blocks) => blocks.iter().enumerate().try_for_each(|(index, value)| {
            block(at.index(index), value, &["text"], Betas::default())
        }),
        _ => Err(fail(at, "Input should be a valid string or a valid list")),
    }
}

/// A system message's per-turn `output_config`: only an `effort`.
fn output_config(at: Path<'_>, value: &Value) -> Result<(), Invalid> {
    let fields = object(at, value)?;
    only(at, fields, &["effort"])?;
    if let Some(effort) = optional(fields, "effort") {
        literal(at.key("effort"), effort, EFFORTS)?;
    }
    Ok(())
}

/// One content block whose `type` must be in `allowed`.
fn block(at: Path<'_>, value: &Value, allowed: &[&str], betas: Betas) -> Result<(), Invalid> {
    let fields = object(at, value)?;
    let kind = string(at.key("type"), required(at, fields, "type")?)?;
    if !allowed.contains(&kind) {
        let expected: Vec<String> = allowed.iter().map(|tag| format!("'{tag}'")).collect();
        return Err(fail(
            at,
            format!(
                "Input tag '{kind}' found using 'type' does not match any of the expected tags: {}",
                expected.join(", ")
            ),
        ));
    }
    match kind {
        "text" => text(at, fields)?,
        "image" => image(at, fields)?,
        "document" => document(at, fields, betas)?,
        "tool_result" => tool_result(at, fields, betas)?,
        "tool_reference" => {
            only(at, fields, &["type", "tool_name", "cache_control"])?;
            string(at.key("tool_name"), required(at, fields, "tool_name")?)?;
        }
        "tool_use" => tool_use(at, fields)?,
        "thinking" => {
            only(
                at,
                fields,
                &["type", "thinking", "signature", "cache_control"],
            )?;
            string(at.key("thinking"), required(at, fields, "thinking")?)?;
            string(at.key("signature"), required(at, fields, "signature")?)?;
        }
        _ => {
            only(at, fields, &["type", "data", "cache_control"])?;
            string(at.key("data"), required(at, fields, "data")?)?;
        }
    }
    cache_control(at, fields)
}

fn text(at: Path<'_>, fields: &Map<String, Value>) -> Result<(), Invalid> {
    only(at, fields, &["type", "text", "cache_control", "citations"])?;
    let text = string(at.key("text"), required(at, fields, "text")?)?;
    if text.is_empty() {
        return Err(fail(
            at.key("text"),
            "text content blocks must be non-empty",
        ));
    }
    if text.trim().is_empty() {
        return Err(fail(
            at.key("text"),
            "text content blocks must contain non-whitespace text",
        ));
    }
    if let Some(citations) = optional(fields, "citations") {
        list(at.key("citations"), citations)?;
    }
    Ok(())
}

fn image(at: Path<'_>, fields: &Map<String, Value>) -> Result<(), Invalid> {
    only(at, fields, &["type", "source", "cache_control"])?;
    let source_at = at.key("source");
    let source = object(source_at, required(at, fields, "source")?)?;
    match source_type(source_at, source, &["base64", "url"])? {
        "base64" => {
            only(source_at, source, &["type", "media_type", "data"])?;
            literal(
                source_at.key("media_type"),
                required(source_at, source, "media_type")?,
                IMAGE_MEDIA_TYPES,
            )?;
            base64_data(source_at, source)
        }
        _ => url(source_at, source),
    }
}

fn document(at: Path<'_>, fields: &Map<String, Value>, betas: Betas) -> Result<(), Invalid> {
    only(
        at,
        fields,
        &[
            "type",
            "source",
            "title",
            "context",
            "citations",
            "cache_control",
        ],
    )?;
    for key in ["title", "context"] {
        if let Some(value) = optional(fields, key) {
            string(at.key(key), value)?;
        }
    }
    if let Some(citations) = optional(fields, "citations") {
        let citations_at = at.key("citations");
        let citations = object(citations_at, citations)?;
        only(citations_at, citations, &["enabled"])?;
        if let Some(enabled) = optional(citations, "enabled") {
            boolean(citations_at.key("enabled"), enabled)?;
        }
    }
    let source_at = at.key("source");
    let source = object(source_at, required(at, fields, "source")?)?;
    match source_type(source_at, source, &["base64", "text", "url", "content"])? {
        kind @ ("base64" | "text") => {
            only(source_at, source, &["type", "media_type", "data"])?;
            let media_type = if kind == "base64" {
                "application/pdf"
            } else {
                "text/plain"
            };
            literal(
                source_at.key("media_type"),
                required(source_at, source, "media_type")?,
                &[media_type],
            )?;
            if media_type == "application/pdf" {
                return base64_data(source_at, source);
            }
            string(source_at.key("data"), required(source_at, source, "data")?).map(drop)
        }
        "url" => url(source_at, source),
        _ => {
            only(source_at, source, &["type", "content"])?;
            tool_result_content(source_at.key("content"), source.get("content"), betas)
        }
    }
}

fn tool_result(at: Path<'_>, fields: &Map<String, Value>, betas: Betas) -> Result<(), Invalid> {
    only(
        at,
        fields,
        &[
            "type",
            "tool_use_id",
            "content",
            "is_error",
            "cache_control",
        ],
    )?;
    tool_use_id(at.key("tool_use_id"), required(at, fields, "tool_use_id")?)?;
    if let Some(is_error) = optional(fields, "is_error") {
        boolean(at.key("is_error"), is_error)?;
    }
    tool_result_content(at.key("content"), optional(fields, "content"), betas)
}

/// A tool result's (or a content document's) `content`: absent, a string, or a list of text,
/// image and document blocks.
fn tool_result_content(at: Path<'_>, content: Option<&Value>, betas: Betas) -> Result<(), Invalid> {
    let allowed = if betas.advanced_tool_use {
        TOOL_RESULT_BLOCKS_WITH_REFERENCES
    } else {
        TOOL_RESULT_BLOCKS
    };
    match content {
        None | Some(Value::String(_)) => Ok(()),
        Some(Value::Array(blocks)) => blocks
            .iter()
            .enumerate()
            .try_for_each(|(index, value)| block(at.index(index), value, allowed, betas)),
        Some(_) => Err(fail(at, "Input should be a valid string or a valid list")),
    }
}

fn tool_use(at: Path<'_>, fields: &Map<String, Value>) -> Result<(), Invalid> {
    only(
        at,
        fields,
        &["type", "id", "name", "input", "cache_control"],
    )?;
    tool_use_id(at.key("id"), required(at, fields, "id")?)?;
    string(at.key("name"), required(at, fields, "name")?)?;
    dictionary(at.key("input"), required(at, fields, "input")?).map(drop)
}

/// The `type` tag of a `source`, which must be one of `allowed`.
fn source_type<'a>(
    at: Path<'_>,
    source: &'a Map<String, Value>,
    allowed: &[&str],
) -> Result<&'a str, Invalid> {
    let kind = string(at.key("type"), required(at, source, "type")?)?;
    if allowed.contains(&kind) {
        return Ok(kind);
    }
    Err(fail(
        at,
        format!(
            "Input tag '{kind}' found using 'type' does not match any of the expected tags: {}",
            choices(allowed)
        ),
    ))
}

/// `data` of a base64 source: non-empty and made of the base64 alphabet, so a data URL or raw
/// bytes passed through by mistake are refused as Anthropic refuses them.
fn base64_data(at: Path<'_>, source: &Map<String, Value>) -> Result<(), Invalid> {
    let data = string(at.key("data"), required(at, source, "data")?)?;
    let body = data.trim_end_matches('=');
    let valid = !data.is_empty()
        && data.len() - body.len() <= 2
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/');
    if valid {
        return Ok(());
    }
    Err(fail(at.key("data"), "invalid base64 data"))
}

/// `url` of a URL source: an absolute `http(s)` URL.
fn url(at: Path<'_>, source: &Map<String, Value>) -> Result<(), Invalid> {
    only(at, source, &["type", "url"])?;
    let url = string(at.key("url"), required(at, source, "url")?)?;
    if url.starts_with("https://") || url.starts_with("http://") {
        return Ok(());
    }
    Err(fail(
        at.key("url"),
        "Only HTTP and HTTPS URLs are supported",
    ))
}

/// A `cache_control` marker: `{"type":"ephemeral","ttl"?:"5m"|"1h"}`.
pub(super) fn cache_control(at: Path<'_>, fields: &Map<String, Value>) -> Result<(), Invalid> {
    match optional(fields, "cache_control") {
        Some(value) => marker(at.key("cache_control"), value),
        None => Ok(()),
    }
}

/// The `cache_control` value itself, found at `at`.
pub(super) fn marker(at: Path<'_>, value: &Value) -> Result<(), Invalid> {
    let marker = object(at, value)?;
    only(at, marker, &["type", "ttl"])?;
    literal(
        at.key("type"),
        required(at, marker, "type")?,
        &["ephemeral"],
    )?;
    if let Some(ttl) = optional(marker, "ttl") {
        literal(at.key("ttl"), ttl, &["5m", "1h"])?;
    }
    Ok(())
}
