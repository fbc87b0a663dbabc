//! Validation of the Responses API's nested settings: `text` (output format and verbosity),
//! `reasoning`, `stream_options`, `include`, `conversation`, `context_management`, `prompt`,
//! `prompt_cache_options` and `moderation`. Each is an object whose unknown keys are refused.

use serde_json::Value;

use super::{Reasoning, only, optional, unknown};
use crate::fake::validate::{
    InvalidRequest, Path, array, boolean, function_name, integer, invalid_type, missing, object,
    one_of, required, string,
};

const EFFORTS: &[&str] = &["none", "minimal", "low", "medium", "high", "xhigh", "max"];
const SUMMARIES: &[&str] = &["auto", "concise", "detailed"];

/// What `include` may ask for.
pub(crate) const INCLUDABLE: &[&str] = &[
    "reasoning.encrypted_content",
    "web_search_call.action.sources",
    "web_search_call.results",
    "file_search_call.results",
    "message.output_text.logprobs",
    "code_interpreter_call.outputs",
    "computer_call_output.output.image_url",
    "message.input_image.image_url",
];

/// `text`: `{"format": {…}, "verbosity": low|medium|high}`.
pub(super) fn text(value: &Value) -> Result<(), InvalidRequest> {
    let at = Path::Root("text");
    let fields = object(at, value)?;
    only(at, fields, &["format", "verbosity"])?;
    if let Some(verbosity) = optional(fields, "verbosity") {
        let verbosity_at = at.key("verbosity");
        one_of(
            verbosity_at,
            string(verbosity_at, verbosity)?,
            &["low", "medium", "high"],
        )?;
    }
    let Some(format) = optional(fields, "format") else {
        return Ok(());
    };
    let format_at = at.key("format");
    let format = object(format_at, format)?;
    let kind_at = format_at.key("type");
    let kind = string(kind_at, required(format_at, format, "type")?)?;
    one_of(kind_at, kind, &["text", "json_object", "json_schema"])?;
    if kind != "json_schema" {
        return only(format_at, format, &["type"]);
    }
    only(
        format_at,
        format,
        &["type", "name", "schema", "strict", "description"],
    )?;
    let name_at = format_at.key("name");
    function_name(
        name_at,
        string(name_at, required(format_at, format, "name")?)?,
    )?;
    object(
        format_at.key("schema"),
        required(format_at, format, "schema")?,
    )?;
    if let Some(strict) = optional(format, "strict") {
        boolean(format_at.key("strict"), strict)?;
    }
    if let Some(description) = optional(format, "description") {
        string(format_at.key("description"), description)?;
    }
    Ok(())
}

/// `reasoning`: `{"effort", "summary", "generate_summary", "context", "mode"}`.
pub(super) fn reasoning(value: &Value) -> Result<(), InvalidRequest> {
    let at = Path::Root("reasoning");
    let fields = object(at, value)?;
    only(
        at,
        fields,
        &["effort", "summary", "generate_summary", "context", "mode"],
    )?;
    let choice = |key: &str, allowed: &[&str]| -> Result<(), InvalidRequest> {
        let Some(value) = optional(fields, key) else {
            return Ok(());
        };
        let key_at = at.key(key);
        one_of(key_at, string(key_at, value)?, allowed)
    };
    choice("effort", EFFORTS)?;
    choice("summary", SUMMARIES)?;
    choice("generate_summary", SUMMARIES)?;
    choice("context", &["auto", "current_turn", "all_turns"])?;
    if let Some(mode) = optional(fields, "mode") {
        string(at.key("mode"), mode)?;
    }
    Ok(())
}

/// How a valid `reasoning` makes the model reason: `None` with effort `none`.
pub(super) fn reasoning_of(value: &Value) -> Option<Reasoning> {
    let fields = value.as_object()?;
    if optional(fields, "effort").and_then(Value::as_str) == Some("none") {
        return None;
    }
    let summary = optional(fields, "summary").or_else(|| optional(fields, "generate_summary"));
    Some(Reasoning {
        summary: summary.is_some(),
    })
}

/// `stream_options`: `{"include_obfuscation": bool}`.
pub(super) fn stream_options(value: &Value) -> Result<(), InvalidRequest> {
    let at = Path::Root("stream_options");
    let fields = object(at, value)?;
    only(at, fields, &["include_obfuscation"])?;
    if let Some(flag) = optional(fields, "include_obfuscation") {
        boolean(at.key("include_obfuscation"), flag)?;
    }
    Ok(())
}

/// `include`: a list of [`INCLUDABLE`] values.
pub(super) fn include(value: &Value) -> Result<(), InvalidRequest> {
    let at = Path::Root("include");
    for (index, item) in array(at, value)?.iter().enumerate() {
        let item_at = at.index(index);
        one_of(item_at, string(item_at, item)?, INCLUDABLE)?;
    }
    Ok(())
}

/// `conversation`: an id, or `{"id": …}`.
pub(super) fn conversation(value: &Value) -> Result<(), InvalidRequest> {
    let at = Path::Root("conversation");
    match value {
        Value::String(_) => Ok(()),
        Value::Object(fields) => {
            only(at, fields, &["id"])?;
            string(at.key("id"), required(at, fields, "id")?).map(drop)
        }
        other => Err(invalid_type(at, "a string or object", other)),
    }
}

/// `context_management`: a list of `{"type", "compact_threshold"?}`.
pub(super) fn context_management(value: &Value) -> Result<(), InvalidRequest> {
    let at = Path::Root("context_management");
    for (index, entry) in array(at, value)?.iter().enumerate() {
        let entry_at = at.index(index);
        let fields = object(entry_at, entry)?;
        only(entry_at, fields, &["type", "compact_threshold"])?;
        string(entry_at.key("type"), required(entry_at, fields, "type")?)?;
        if let Some(threshold) = optional(fields, "compact_threshold") {
            integer(entry_at.key("compact_threshold"), threshold, Some(1), None)?;
        }
    }
    Ok(())
}

/// `prompt`: a stored prompt template, `{"id", "version"?, "variables"?}`.
pub(super) fn prompt(value: &Value) -> Result<(), InvalidRequest> {
    let at = Path::Root("prompt");
    let fields = object(at, value)?;
    only(at, fields, &["id", "version", "variables"])?;
    string(at.key("id"), required(at, fields, "id")?)?;
    if let Some(version) = optional(fields, "version") {
        string(at.key("version"), version)?;
    }
    if let Some(variables) = optional(fields, "variables") {
        object(at.key("variables"), variables)?;
    }
    Ok(())
}

/// `prompt_cache_options`: `{"mode": implicit|explicit, "ttl": "30m"}`.
pub(super) fn prompt_cache_options(value: &Value) -> Result<(), InvalidRequest> {
    let at = Path::Root("prompt_cache_options");
    let fields = object(at, value)?;
    only(at, fields, &["mode", "ttl"])?;
    if let Some(mode) = optional(fields, "mode") {
        let mode_at = at.key("mode");
        one_of(mode_at, string(mode_at, mode)?, &["implicit", "explicit"])?;
    }
    if let Some(ttl) = optional(fields, "ttl") {
        let ttl_at = at.key("ttl");
        one_of(ttl_at, string(ttl_at, ttl)?, &["30m"])?;
    }
    Ok(())
}

/// `moderation`: `{"model", "policy"?}`.
pub(super) fn moderation(value: &Value) -> Result<(), InvalidRequest> {
    let at = Path::Root("moderation");
    let fields = object(at, value)?;
    only(at, fields, &["model", "policy"])?;
    match optional(fields, "model") {
        Some(model) => string(at.key("model"), model).map(drop)?,
        None => return Err(missing(at.key("model"))),
    }
    if let Some(policy) = optional(fields, "policy") {
        let policy_at = at.key("policy");
        let policy = object(policy_at, policy)?;
        if let Some(key) = policy
            .keys()
            .find(|key| !["input", "output"].contains(&key.as_str()))
        {
            return Err(unknown(policy_at.key(key)));
        }
    }
    Ok(())
}
