//! Validation of content parts: a message's `content` and a tool output's `output`, each a
//! string or a list of parts whose types depend on who speaks (`input_text`, `input_image`,
//! `input_file` for the client; `output_text` and `refusal` for the assistant).

use serde_json::{Map, Value};

use super::{only, optional};
use crate::fake::validate::{
    InvalidRequest, Path, array, invalid_type, missing, object, one_of, required, string,
};

/// The parts the client's roles and tool outputs may send.
pub(super) const INPUT_PARTS: &[&str] = &["input_text", "input_image", "input_file"];
/// The parts an assistant message may carry.
pub(super) const ASSISTANT_PARTS: &[&str] = &["output_text", "refusal"];

/// A string, or a list of parts whose types are in `allowed`.
pub(super) fn content(at: Path<'_>, value: &Value, allowed: &[&str]) -> Result<(), InvalidRequest> {
    let parts = match value {
        Value::String(_) => return Ok(()),
        Value::Array(parts) => parts,
        other => return Err(invalid_type(at, "a string or array", other)),
    };
    for (index, value) in parts.iter().enumerate() {
        part(at.index(index), value, allowed)?;
    }
    Ok(())
}

fn part(at: Path<'_>, value: &Value, allowed: &[&str]) -> Result<(), InvalidRequest> {
    let fields = object(at, value)?;
    let type_at = at.key("type");
    let kind = string(type_at, required(at, fields, "type")?)?;
    one_of(type_at, kind, allowed)?;
    let text = |key: &str| string(at.key(key), required(at, fields, key)?).map(drop);
    match kind {
        "input_text" => {
            only(at, fields, &["type", "text", "prompt_cache_breakpoint"])?;
            text("text")
        }
        "output_text" => {
            only(at, fields, &["type", "text", "annotations", "logprobs"])?;
            for key in ["annotations", "logprobs"] {
                if let Some(list) = optional(fields, key) {
                    array(at.key(key), list)?;
                }
            }
            text("text")
        }
        "refusal" => {
            only(at, fields, &["type", "refusal"])?;
            text("refusal")
        }
        "input_image" => {
            let keys = [
                "type",
                "image_url",
                "file_id",
                "detail",
                "prompt_cache_breakpoint",
            ];
            only(at, fields, &keys)?;
            source(at, fields, &["image_url", "file_id"])?;
            detail(at, fields, &["low", "high", "auto", "original"])
        }
        _ => {
            let keys = [
                "type",
                "file_id",
                "file_data",
                "file_url",
                "filename",
                "detail",
                "prompt_cache_breakpoint",
            ];
            only(at, fields, &keys)?;
            source(at, fields, &["file_id", "file_data", "file_url"])?;
            if let Some(filename) = optional(fields, "filename") {
                string(at.key("filename"), filename)?;
            }
            detail(at, fields, &["low", "high", "auto"])
        }
    }
}

/// At least one of the string fields `keys` (the first is named when all are missing).
fn source(at: Path<'_>, fields: &Map<String, Value>, keys: &[&str]) -> Result<(), InvalidRequest> {
    let mut found = false;
    for key in keys {
        if let Some(value) = optional(fields, key) {
            string(at.key(key), value)?;
            found = true;
        }
    }
    match (found, keys.first()) {
        (false, Some(first)) => Err(missing(at.key(first))),
        _ => Ok(()),
    }
}

fn detail(
    at: Path<'_>,
    fields: &Map<String, Value>,
    allowed: &[&str],
) -> Result<(), InvalidRequest> {
    let Some(detail) = optional(fields, "detail") else {
        return Ok(());
    };
    let detail_at = at.key("detail");
    one_of(detail_at, string(detail_at, detail)?, allowed)
}
