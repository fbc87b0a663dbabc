//! Strict validation of a Gemini `GenerateContentRequest` (generateContent,
//! streamGenerateContent) or `CountTokensRequest` body (embed requests: `embed.rs`), the way generativelanguage.googleapis.com
//! refuses bad ones: unknown fields anywhere (under either spelling), wrong types, out-of-range
//! numbers, malformed contents and parts, function calls without responses, responses without
//! calls, and thought signatures that did not come back as the fake issued them.
//!
//! Top-level fields are dispatched here; `proto.rs` reads proto3 JSON, `content.rs` checks
//! contents, `config.rs` the generation config, `tools.rs` tools and tool config,
//! `conversation.rs` the rules that span contents. Authentication, the URL (model, `alt=sse`) and
//! the model list are the handler's.

mod config;
mod content;
mod conversation;
mod embed;
mod proto;
#[cfg(test)]
mod tests;
mod tools;

use serde_json::Value;

pub(crate) use config::Settings;
pub(crate) use embed::{EmbedRequest, batch_embed, embed_content};
pub(crate) use proto::{Invalid, get};

use super::signature::Issued;
use crate::fake::validate::Path;
use proto::{message, string};

const REQUEST: &[&str] = &[
    "model",
    "contents",
    "tools",
    "tool_config",
    "safety_settings",
    "system_instruction",
    "generation_config",
    "cached_content",
    "labels",
];

/// The parts of a valid request the answer depends on.
#[derive(Debug)]
pub(crate) struct GenerateRequest<'a> {
    pub system: Option<&'a Value>,
    pub contents: &'a [Value],
    pub settings: Settings,
    /// `generationConfig.stopSequences`.
    pub stop_sequences: Vec<&'a str>,
}

/// Validates a `GenerateContentRequest` body. With `issued`, history thought signatures are
/// held to what the fake issued.
pub(crate) fn generate<'a>(
    body: &'a Value,
    issued: &Issued,
) -> Result<GenerateRequest<'a>, Invalid> {
    request(Path::Root(""), body, Some(issued), false)
}

/// Validates a `CountTokensRequest` body: `contents`, or a whole `generateContentRequest` (which
/// must name its `model`). Signatures are not checked.
pub(crate) fn count_tokens(body: &Value) -> Result<GenerateRequest<'_>, Invalid> {
    let root = Path::Root("");
    let known = ["contents", "generate_content_request"];
    let fields = root_message(body, "CountTokensRequest", &known)?;
    match (
        fields.get("contents"),
        fields.get("generate_content_request"),
    ) {
        (Some(_), Some(_)) => Err(proto::field(
            root.key("generate_content_request"),
            "contents and generate_content_request cannot both be set.",
        )),
        (None, Some(nested)) => {
            let at = root.key("generate_content_request");
            request(at, nested, None, true)
        }
        (contents, None) => {
            let contents = content::contents(root.key("contents"), contents)?;
            conversation::check(contents, None)?;
            Ok(GenerateRequest {
                system: None,
                contents,
                settings: Settings::default(),
                stop_sequences: Vec::new(),
            })
        }
    }
}

fn root_message<'v>(
    body: &'v Value,
    name: &str,
    known: &[&str],
) -> Result<proto::Message<'v>, Invalid> {
    if !body.is_object() {
        return Err(Invalid::Payload {
            message:
                "Invalid JSON payload received. Unknown name \"\": Root element must be a message."
                    .to_owned(),
            field: None,
        });
    }
    message(Path::Root(""), body, name, known)
}

fn request<'a>(
    at: Path<'_>,
    body: &'a Value,
    issued: Option<&Issued>,
    needs_model: bool,
) -> Result<GenerateRequest<'a>, Invalid> {
    let fields = match at {
        Path::Root(_) => root_message(body, "GenerateContentRequest", REQUEST)?,
        _ => message(at, body, "GenerateContentRequest", REQUEST)?,
    };
    match fields.get("model") {
        Some(model) => {
            string(at.key("model"), model)?;
        }
        None if needs_model => return Err(proto::field(at.key("model"), "model is required.")),
        None => {}
    }
    let contents = content::contents(at.key("contents"), fields.get("contents"))?;
    let system = fields.get("system_instruction");
    if let Some(system) = system {
        content::system_instruction(at.key("system_instruction"), system)?;
    }
    let declared = match fields.get("tools") {
        Some(tools) => tools::tools(at.key("tools"), tools)?,
        None => Vec::new(),
    };
    if let Some(tool_config) = fields.get("tool_config") {
        tools::tool_config(at.key("tool_config"), tool_config, &declared)?;
    }
    let settings = match fields.get("generation_config") {
        Some(value) => config::generation_config(at.key("generation_config"), value)?,
        None => Settings::default(),
    };
    if let Some(safety) = fields.get("safety_settings") {
        config::safety_settings(at.key("safety_settings"), safety)?;
    }
    if let Some(labels) = fields.get("labels") {
        config::labels(at.key("labels"), labels)?;
    }
    if let Some(cached) = fields.get("cached_content") {
        string(at.key("cached_content"), cached)?;
    }
    conversation::check(contents, issued)?;
    let stop_sequences = fields
        .get("generation_config")
        .and_then(|config| get(config, "stop_sequences"))
        .and_then(Value::as_array)
        .map(|stops| stops.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    Ok(GenerateRequest {
        system,
        contents,
        settings,
        stop_sequences,
    })
}
