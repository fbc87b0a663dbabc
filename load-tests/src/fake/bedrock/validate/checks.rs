//! The individual checks of the Bedrock validator, phrased the way Bedrock phrases its refusals:
//! shape errors as `Malformed input request: <path>: <problem>, please reformat your input and
//! try again.` (the form its schema validation uses), constraint errors as `1 validation error
//! detected: Value '<v>' at '<path>' failed to satisfy constraint: Member must …` (the form of
//! AWS's model validation). Every refusal is a 400 `ValidationException`.
//!
//! Paths reuse the OpenAI validator's [`Path`] in dotted form (`messages.1.content.0.toolUse`).

use std::fmt::Display;

use serde_json::{Map, Value};

use crate::fake::bedrock::error::Failure;
use crate::fake::validate::Path;

pub(crate) type Checked<T> = Result<T, Failure>;

/// `Malformed input request: <path>: <problem>, please reformat your input and try again.`
pub(crate) fn malformed(at: Path<'_>, problem: impl Display) -> Failure {
    Failure::validation(format!(
        "Malformed input request: {}: {problem}, please reformat your input and try again.",
        at.dotted()
    ))
}

/// `1 validation error detected: Value '<value>' at '<path>' failed to satisfy constraint: Member must <rule>`.
pub(crate) fn constraint(at: Path<'_>, value: impl Display, rule: impl Display) -> Failure {
    Failure::validation(format!(
        "1 validation error detected: Value '{value}' at '{}' failed to satisfy constraint: Member must {rule}",
        at.dotted()
    ))
}

fn expected(at: Path<'_>, kind: &str, found: &Value) -> Failure {
    let found = match found {
        Value::Null => "Null",
        Value::Bool(_) => "Boolean",
        Value::Number(_) => "Number",
        Value::String(_) => "String",
        Value::Array(_) => "JSONArray",
        Value::Object(_) => "JSONObject",
    };
    malformed(at, format!("expected type: {kind}, found: {found}"))
}

pub(crate) fn object<'a>(at: Path<'_>, value: &'a Value) -> Checked<&'a Map<String, Value>> {
    value
        .as_object()
        .ok_or_else(|| expected(at, "JSONObject", value))
}

pub(crate) fn array<'a>(at: Path<'_>, value: &'a Value) -> Checked<&'a [Value]> {
    value
        .as_array()
        .map(Vec::as_slice)
        .ok_or_else(|| expected(at, "JSONArray", value))
}

pub(crate) fn string<'a>(at: Path<'_>, value: &'a Value) -> Checked<&'a str> {
    value.as_str().ok_or_else(|| expected(at, "String", value))
}

pub(crate) fn boolean(at: Path<'_>, value: &Value) -> Checked<bool> {
    value
        .as_bool()
        .ok_or_else(|| expected(at, "Boolean", value))
}

/// An integer `>= min`.
pub(crate) fn integer(at: Path<'_>, value: &Value, min: i64) -> Checked<i64> {
    let number = match value {
        Value::Number(n) if n.is_i64() => n.as_i64().unwrap_or_default(),
        Value::Number(n) if n.is_u64() => i64::MAX,
        _ => return Err(expected(at, "Integer", value)),
    };
    if number < min {
        return Err(constraint(
            at,
            number,
            format!("have value greater than or equal to {min}"),
        ));
    }
    Ok(number)
}

/// A number in `min..=max`.
pub(crate) fn number(at: Path<'_>, value: &Value, min: f64, max: f64) -> Checked<f64> {
    let Some(number) = value.as_f64() else {
        return Err(expected(at, "Number", value));
    };
    if number < min {
        return Err(constraint(
            at,
            number,
            format!("have value greater than or equal to {min}"),
        ));
    }
    if number > max {
        return Err(constraint(
            at,
            number,
            format!("have value less than or equal to {max}"),
        ));
    }
    Ok(number)
}

/// `fields[key]`, or `required key [key] not found`.
pub(crate) fn required<'a>(
    at: Path<'_>,
    fields: &'a Map<String, Value>,
    key: &str,
) -> Checked<&'a Value> {
    fields
        .get(key)
        .filter(|value| !value.is_null())
        .ok_or_else(|| malformed(at, format!("required key [{key}] not found")))
}

/// `fields[key]` unless it is absent or `null`.
pub(crate) fn optional<'a>(fields: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    fields.get(key).filter(|value| !value.is_null())
}

/// Refuses the first key of `fields` not in `allowed`.
pub(crate) fn only(at: Path<'_>, fields: &Map<String, Value>, allowed: &[&str]) -> Checked<()> {
    match fields.keys().find(|key| !allowed.contains(&key.as_str())) {
        Some(key) => Err(malformed(
            at,
            format!("extraneous key [{key}] is not permitted"),
        )),
        None => Ok(()),
    }
}

/// A string that must be one of `allowed`.
pub(crate) fn enumerated<'a>(at: Path<'_>, value: &'a Value, allowed: &[&str]) -> Checked<&'a str> {
    let text = string(at, value)?;
    if allowed.contains(&text) {
        return Ok(text);
    }
    Err(constraint(
        at,
        text,
        format!("satisfy enum value set: [{}]", allowed.join(", ")),
    ))
}

/// A string of `min..=max` characters.
pub(crate) fn length<'a>(
    at: Path<'_>,
    value: &'a Value,
    min: usize,
    max: usize,
) -> Checked<&'a str> {
    let text = string(at, value)?;
    let count = text.chars().count();
    if count < min {
        return Err(constraint(
            at,
            text,
            format!("have length greater than or equal to {min}"),
        ));
    }
    if count > max {
        return Err(constraint(
            at,
            text,
            format!("have length less than or equal to {max}"),
        ));
    }
    Ok(text)
}

/// A union: an object with exactly one member, which must be one of `members`. Returns the
/// member's name and value.
pub(crate) fn union<'a>(
    at: Path<'_>,
    value: &'a Value,
    members: &[&str],
) -> Checked<(&'a str, &'a Value)> {
    let fields = object(at, value)?;
    only(at, fields, members)?;
    let mut set = fields.iter().filter(|(_, value)| !value.is_null());
    match (set.next(), set.next()) {
        (Some((name, value)), None) => Ok((name.as_str(), value)),
        _ => Err(malformed(
            at,
            format!("exactly one of [{}] must be set", members.join(", ")),
        )),
    }
}

/// A tool name: `[a-zA-Z0-9_-]+`, 1 to 64 characters.
pub(crate) fn tool_name<'a>(at: Path<'_>, value: &'a Value) -> Checked<&'a str> {
    let name = length(at, value, 1, 64)?;
    if name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Ok(name);
    }
    Err(constraint(
        at,
        name,
        "satisfy regular expression pattern: [a-zA-Z0-9_-]+",
    ))
}

/// A tool-use id: `[a-zA-Z0-9_.:-]+`, 1 to 64 characters.
pub(crate) fn tool_use_id<'a>(at: Path<'_>, value: &'a Value) -> Checked<&'a str> {
    let id = length(at, value, 1, 64)?;
    let valid = id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'));
    if valid {
        return Ok(id);
    }
    Err(constraint(
        at,
        id,
        "satisfy regular expression pattern: [a-zA-Z0-9_.:-]+",
    ))
}

/// A non-empty base64 blob (standard alphabet, padded), as JSON carries Bedrock's `bytes`.
pub(crate) fn blob(at: Path<'_>, value: &Value) -> Checked<()> {
    let text = string(at, value)?;
    let body = text.trim_end_matches('=');
    let valid = !text.is_empty()
        && text.len().is_multiple_of(4)
        && text.len() - body.len() <= 2
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/');
    if valid {
        return Ok(());
    }
    Err(malformed(at, "expected a non-empty base64-encoded blob"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn messages_read_like_bedrock() {
        let root = Path::Root("inferenceConfig");
        let at = root.key("temperature");
        assert_eq!(
            number(at, &json!(1.5), 0.0, 1.0).unwrap_err().message,
            "1 validation error detected: Value '1.5' at 'inferenceConfig.temperature' failed to satisfy constraint: Member must have value less than or equal to 1"
        );
        assert_eq!(
            object(root, &json!("x")).unwrap_err().message,
            "Malformed input request: inferenceConfig: expected type: JSONObject, found: String, please reformat your input and try again."
        );
    }

    #[test]
    fn unions_take_exactly_one_member() {
        let at = Path::Root("block");
        assert_eq!(
            union(at, &json!({"text": "a"}), &["text", "image"])
                .unwrap()
                .0,
            "text"
        );
        assert!(union(at, &json!({}), &["text"]).is_err());
        assert!(union(at, &json!({"text": "a", "image": {}}), &["text", "image"]).is_err());
        assert!(
            union(at, &json!({"video": {}}), &["text"])
                .unwrap_err()
                .message
                .contains("extraneous key [video]")
        );
    }

    #[test]
    fn ids_names_and_blobs() {
        let at = Path::Root("x");
        assert!(tool_use_id(at, &json!("tooluse_a.b:c-1")).is_ok());
        assert!(tool_use_id(at, &json!("bad id")).is_err());
        assert!(tool_name(at, &json!("get_weather")).is_ok());
        assert!(tool_name(at, &json!("get.weather")).is_err());
        assert!(tool_name(at, &json!("a".repeat(65))).is_err());
        assert!(blob(at, &json!("aGk=")).is_ok());
        assert!(blob(at, &json!("aGk")).is_err());
        assert!(blob(at, &json!("")).is_err());
    }
}
