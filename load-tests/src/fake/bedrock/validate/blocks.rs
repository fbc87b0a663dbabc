//! Validation of `messages` and `system` one message at a time: roles, the `ContentBlock` union
//! (exactly one member), which members each role may send (`toolUse` and `reasoningContent` only
//! from the assistant; `toolResult`, `image` and `document` only from the user), and the fields
//! of every member the gateway can produce. Members the gateway never sends (`video`, `audio`,
//! `guardContent`, `searchResult`, `citationsContent`) are accepted when they are objects.
//!
//! How blocks relate across messages (alternation, tool pairing, reasoning signatures, the need
//! for `toolConfig`) is `conversation.rs`'s job.

use serde_json::Value;

use super::checks::{
    Checked, array, blob, boolean, constraint, enumerated, length, malformed, object, only,
    optional, required, string, tool_name, tool_use_id, union,
};
use crate::fake::bedrock::error::Failure;
use crate::fake::validate::Path;

const CONTENT_MEMBERS: &[&str] = &[
    "text",
    "image",
    "document",
    "video",
    "audio",
    "toolUse",
    "toolResult",
    "guardContent",
    "cachePoint",
    "reasoningContent",
    "citationsContent",
    "searchResult",
];
const USER_ONLY: &[&str] = &["image", "document", "video", "audio", "toolResult"];
const ASSISTANT_ONLY: &[&str] = &["toolUse", "reasoningContent", "citationsContent"];
const TOOL_RESULT_MEMBERS: &[&str] =
    &["text", "json", "image", "document", "video", "searchResult"];
const IMAGE_FORMATS: &[&str] = &["png", "jpeg", "gif", "webp"];
const DOCUMENT_FORMATS: &[&str] = &[
    "pdf", "csv", "doc", "docx", "xls", "xlsx", "html", "txt", "md",
];

/// Validates `messages` (present, a non-empty list of well-formed messages) and returns them.
pub(super) fn messages(value: Option<&Value>) -> Checked<&[Value]> {
    let at = Path::Root("messages");
    let Some(value) = value.filter(|value| !value.is_null()) else {
        return Err(malformed(at, "required key [messages] not found"));
    };
    let messages = array(at, value)?;
    if messages.is_empty() {
        return Err(constraint(
            at,
            "[]",
            "have length greater than or equal to 1",
        ));
    }
    for (index, message) in messages.iter().enumerate() {
        one(at.index(index), message)?;
    }
    Ok(messages)
}

fn one(at: Path<'_>, message: &Value) -> Checked<()> {
    let fields = object(at, message)?;
    only(at, fields, &["role", "content"])?;
    let role = enumerated(
        at.key("role"),
        required(at, fields, "role")?,
        &["user", "assistant"],
    )?;
    let content_at = at.key("content");
    let content = array(content_at, required(at, fields, "content")?)?;
    if content.is_empty() {
        return Err(Failure::validation(format!(
            "The content field in the Message object at {} is empty. Add a ContentBlock object to the content field and try again.",
            at.dotted()
        )));
    }
    for (index, block) in content.iter().enumerate() {
        content_block(content_at.index(index), block, role)?;
    }
    Ok(())
}

fn content_block(at: Path<'_>, block: &Value, role: &str) -> Checked<()> {
    let (member, value) = union(at, block, CONTENT_MEMBERS)?;
    let forbidden = match role {
        "user" => ASSISTANT_ONLY,
        _ => USER_ONLY,
    };
    if forbidden.contains(&member) {
        return Err(Failure::validation(format!(
            "{}: a {member} block is not allowed in a message with role {role}.",
            at.dotted()
        )));
    }
    let member_at = at.key(member);
    match member {
        "text" => text(at, member_at, value),
        "image" => image(member_at, value),
        "document" => document(member_at, value),
        "toolUse" => tool_use(member_at, value),
        "toolResult" => tool_result(member_at, value),
        "reasoningContent" => reasoning(member_at, value),
        "cachePoint" => cache_point(member_at, value),
        _ => object(member_at, value).map(drop),
    }
}

/// A text block: a string with something other than whitespace in it.
fn text(block_at: Path<'_>, at: Path<'_>, value: &Value) -> Checked<()> {
    if string(at, value)?.trim().is_empty() {
        return Err(Failure::validation(format!(
            "The text field in the ContentBlock object at {} is blank. Add text to the text field, and try again.",
            block_at.dotted()
        )));
    }
    Ok(())
}

fn image(at: Path<'_>, value: &Value) -> Checked<()> {
    let fields = object(at, value)?;
    only(at, fields, &["format", "source"])?;
    enumerated(
        at.key("format"),
        required(at, fields, "format")?,
        IMAGE_FORMATS,
    )?;
    let source_at = at.key("source");
    let source = required(at, fields, "source")?;
    match union(source_at, source, &["bytes", "s3Location"])? {
        ("bytes", bytes) => blob(source_at.key("bytes"), bytes),
        (_, location) => s3_location(source_at.key("s3Location"), location),
    }
}

fn document(at: Path<'_>, value: &Value) -> Checked<()> {
    let fields = object(at, value)?;
    only(
        at,
        fields,
        &["format", "name", "source", "context", "citations"],
    )?;
    if let Some(format) = optional(fields, "format") {
        enumerated(at.key("format"), format, DOCUMENT_FORMATS)?;
    }
    length(at.key("name"), required(at, fields, "name")?, 1, 200)?;
    if let Some(context) = optional(fields, "context") {
        string(at.key("context"), context)?;
    }
    if let Some(citations) = optional(fields, "citations") {
        let citations_at = at.key("citations");
        let citations = object(citations_at, citations)?;
        only(citations_at, citations, &["enabled"])?;
        boolean(
            citations_at.key("enabled"),
            required(citations_at, citations, "enabled")?,
        )?;
    }
    let source_at = at.key("source");
    let source = required(at, fields, "source")?;
    match union(
        source_at,
        source,
        &["bytes", "s3Location", "text", "content"],
    )? {
        ("bytes", bytes) => blob(source_at.key("bytes"), bytes),
        ("s3Location", location) => s3_location(source_at.key("s3Location"), location),
        ("text", text) => string(source_at.key("text"), text).map(drop),
        (_, content) => {
            let content_at = source_at.key("content");
            for (index, block) in array(content_at, content)?.iter().enumerate() {
                let block_at = content_at.index(index);
                let (_, text) = union(block_at, block, &["text"])?;
                string(block_at.key("text"), text)?;
            }
            Ok(())
        }
    }
}

fn s3_location(at: Path<'_>, value: &Value) -> Checked<()> {
    let fields = object(at, value)?;
    only(at, fields, &["uri", "bucketOwner"])?;
    let uri = string(at.key("uri"), required(at, fields, "uri")?)?;
    if !uri.starts_with("s3://") {
        return Err(constraint(
            at.key("uri"),
            uri,
            "satisfy regular expression pattern: s3://[a-z0-9][\\.\\-a-z0-9]{1,61}[a-z0-9](/.*)?",
        ));
    }
    if let Some(owner) = optional(fields, "bucketOwner") {
        string(at.key("bucketOwner"), owner)?;
    }
    Ok(())
}

fn tool_use(at: Path<'_>, value: &Value) -> Checked<()> {
    let fields = object(at, value)?;
    only(at, fields, &["toolUseId", "name", "input", "type"])?;
    tool_use_id(at.key("toolUseId"), required(at, fields, "toolUseId")?)?;
    tool_name(at.key("name"), required(at, fields, "name")?)?;
    object(at.key("input"), required(at, fields, "input")?)?;
    if let Some(kind) = optional(fields, "type") {
        enumerated(at.key("type"), kind, &["server_tool_use"])?;
    }
    Ok(())
}

fn tool_result(at: Path<'_>, value: &Value) -> Checked<()> {
    let fields = object(at, value)?;
    only(at, fields, &["toolUseId", "content", "status", "type"])?;
    tool_use_id(at.key("toolUseId"), required(at, fields, "toolUseId")?)?;
    if let Some(status) = optional(fields, "status") {
        enumerated(at.key("status"), status, &["success", "error"])?;
    }
    if let Some(kind) = optional(fields, "type") {
        string(at.key("type"), kind)?;
    }
    let content_at = at.key("content");
    let content = array(content_at, required(at, fields, "content")?)?;
    for (index, block) in content.iter().enumerate() {
        let block_at = content_at.index(index);
        let (member, value) = union(block_at, block, TOOL_RESULT_MEMBERS)?;
        let member_at = block_at.key(member);
        match member {
            "text" => string(member_at, value).map(drop)?,
            "json" => {}
            "image" => image(member_at, value)?,
            "document" => document(member_at, value)?,
            _ => object(member_at, value).map(drop)?,
        }
    }
    Ok(())
}

fn reasoning(at: Path<'_>, value: &Value) -> Checked<()> {
    match union(at, value, &["reasoningText", "redactedContent"])? {
        ("reasoningText", text) => {
            let text_at = at.key("reasoningText");
            let fields = object(text_at, text)?;
            only(text_at, fields, &["text", "signature"])?;
            string(text_at.key("text"), required(text_at, fields, "text")?)?;
            if let Some(signature) = optional(fields, "signature") {
                string(text_at.key("signature"), signature)?;
            }
            Ok(())
        }
        (_, redacted) => blob(at.key("redactedContent"), redacted),
    }
}

/// `{"type": "default", "ttl"?: "5m" | "1h"}`, in content, `system` or `toolConfig.tools`.
pub(super) fn cache_point(at: Path<'_>, value: &Value) -> Checked<()> {
    let fields = object(at, value)?;
    only(at, fields, &["type", "ttl"])?;
    enumerated(at.key("type"), required(at, fields, "type")?, &["default"])?;
    if let Some(ttl) = optional(fields, "ttl") {
        enumerated(at.key("ttl"), ttl, &["5m", "1h"])?;
    }
    Ok(())
}

/// `system`: a list of `{text}` (non-empty), `{cachePoint}` or `{guardContent}` blocks.
pub(super) fn system(value: &Value) -> Checked<&[Value]> {
    let at = Path::Root("system");
    let blocks = array(at, value)?;
    for (index, block) in blocks.iter().enumerate() {
        let block_at = at.index(index);
        let (member, value) = union(block_at, block, &["text", "guardContent", "cachePoint"])?;
        let member_at = block_at.key(member);
        match member {
            "text" => length(member_at, value, 1, usize::MAX).map(drop)?,
            "cachePoint" => cache_point(member_at, value)?,
            _ => object(member_at, value).map(drop)?,
        }
    }
    Ok(blocks)
}
