//! The individual checks of the Anthropic validator, phrased the way api.anthropic.com phrases
//! its (pydantic) schema errors: `<dotted.path>: <problem>`, e.g.
//! `messages.1.content.0.tool_use_id: Field required`.
//!
//! Paths reuse the OpenAI validator's [`Path`] and are only formatted when a request is refused.

use std::fmt::Display;

use serde_json::{Map, Value};

use crate::fake::validate::Path;

/// A 400 `invalid_request_error`: the message Anthropic would send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Invalid {
    pub message: String,
}

impl Invalid {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Invalid {
            message: message.into(),
        }
    }
}

/// `<path>: <problem>`.
pub(crate) fn fail(at: Path<'_>, problem: impl Display) -> Invalid {
    Invalid::new(format!("{}: {problem}", at.dotted()))
}

/// `fields[key]`, or `at.key: Field required`.
pub(crate) fn required<'a>(
    at: Path<'_>,
    fields: &'a Map<String, Value>,
    key: &str,
) -> Result<&'a Value, Invalid> {
    fields
        .get(key)
        .ok_or_else(|| fail(at.key(key), "Field required"))
}

/// `fields[key]` unless it is absent or `null` (optional fields accept `null`).
pub(crate) fn optional<'a>(fields: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    fields.get(key).filter(|value| !value.is_null())
}

/// Refuses the first key of `fields` not in `allowed`.
pub(crate) fn only(
    at: Path<'_>,
    fields: &Map<String, Value>,
    allowed: &[&str],
) -> Result<(), Invalid> {
    match fields.keys().find(|key| !allowed.contains(&key.as_str())) {
        Some(key) => Err(fail(at.key(key), "Extra inputs are not permitted")),
        None => Ok(()),
    }
}

pub(crate) fn string<'a>(at: Path<'_>, value: &'a Value) -> Result<&'a str, Invalid> {
    value
        .as_str()
        .ok_or_else(|| fail(at, "Input should be a valid string"))
}

pub(crate) fn boolean(at: Path<'_>, value: &Value) -> Result<bool, Invalid> {
    value
        .as_bool()
        .ok_or_else(|| fail(at, "Input should be a valid boolean"))
}

/// A typed object (a block, a source, a tool definition).
pub(crate) fn object<'a>(
    at: Path<'_>,
    value: &'a Value,
) -> Result<&'a Map<String, Value>, Invalid> {
    value.as_object().ok_or_else(|| {
        fail(
            at,
            "Input should be a valid dictionary or object to extract fields from",
        )
    })
}

/// A free-form object (`input`, `input_schema`).
pub(crate) fn dictionary<'a>(
    at: Path<'_>,
    value: &'a Value,
) -> Result<&'a Map<String, Value>, Invalid> {
    value
        .as_object()
        .ok_or_else(|| fail(at, "Input should be a valid dictionary"))
}

pub(crate) fn list<'a>(at: Path<'_>, value: &'a Value) -> Result<&'a [Value], Invalid> {
    value
        .as_array()
        .map(Vec::as_slice)
        .ok_or_else(|| fail(at, "Input should be a valid list"))
}

/// An integer `>= min`; integers beyond `i64` count as very large.
pub(crate) fn integer(at: Path<'_>, value: &Value, min: i64) -> Result<i64, Invalid> {
    let number = match value {
        Value::Number(n) if n.is_i64() => n.as_i64().unwrap_or_default(),
        Value::Number(n) if n.is_u64() => i64::MAX,
        _ => return Err(fail(at, "Input should be a valid integer")),
    };
    if number < min {
        return Err(fail(
            at,
            format!("Input should be greater than or equal to {min}"),
        ));
    }
    Ok(number)
}

/// A number in `min..=max`.
pub(crate) fn number(at: Path<'_>, value: &Value, min: f64, max: f64) -> Result<f64, Invalid> {
    let Some(number) = value.as_f64() else {
        return Err(fail(at, "Input should be a valid number"));
    };
    if number < min {
        return Err(fail(
            at,
            format!("Input should be greater than or equal to {min}"),
        ));
    }
    if number > max {
        return Err(fail(
            at,
            format!("Input should be less than or equal to {max}"),
        ));
    }
    Ok(number)
}

/// A string that must be one of `allowed`: `Input should be 'a', 'b' or 'c'`.
pub(crate) fn literal<'a>(
    at: Path<'_>,
    value: &'a Value,
    allowed: &[&str],
) -> Result<&'a str, Invalid> {
    if let Some(text) = value.as_str()
        && allowed.contains(&text)
    {
        return Ok(text);
    }
    Err(fail(at, format!("Input should be {}", choices(allowed))))
}

/// `'a'`, `'a' or 'b'`, `'a', 'b' or 'c'`.
pub(crate) fn choices(allowed: &[&str]) -> String {
    let quoted: Vec<String> = allowed.iter().map(|item| format!("'{item}'")).collect();
    match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => quoted.concat(),
    }
}

/// Tool names: `^[a-zA-Z0-9_-]{1,64}$`.
pub(crate) fn tool_name(at: Path<'_>, name: &str) -> Result<(), Invalid> {
    let valid = (1..=64).contains(&name.len()) && name.bytes().all(is_id_byte);
    if valid {
        return Ok(());
    }
    Err(fail(
        at,
        "String should match pattern '^[a-zA-Z0-9_-]{1,64}$'",
    ))
}

/// Tool-use ids: `^[a-zA-Z0-9_-]+$`.
pub(crate) fn tool_use_id<'a>(at: Path<'_>, value: &'a Value) -> Result<&'a str, Invalid> {
    let id = string(at, value)?;
    if !id.is_empty() && id.bytes().all(is_id_byte) {
        return Ok(id);
    }
    Err(fail(at, "String should match pattern '^[a-zA-Z0-9_-]+$'"))
}

fn is_id_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_read_like_pydantic() {
        assert_eq!(choices(&["object"]), "'object'");
        assert_eq!(choices(&["user", "assistant"]), "'user' or 'assistant'");
        assert_eq!(choices(&["a", "b", "c"]), "'a', 'b' or 'c'");
    }

    #[test]
    fn paths_are_dotted() {
        let root = Path::Root("messages");
        let message = root.index(1);
        assert_eq!(
            fail(message.key("role"), "Field required").message,
            "messages.1.role: Field required"
        );
    }
}
