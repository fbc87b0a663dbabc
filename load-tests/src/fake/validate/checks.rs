//! The individual checks, phrased the way OpenAI's validator phrases its errors: types, required
//! properties, enums, lengths and numeric ranges. Each takes the [`Path`] of the checked value so
//! the error names it.

use serde_json::{Map, Value};

use super::{InvalidRequest, Path};

/// OpenAI's name for a JSON value's type in "expected X, but got Y instead".
pub(crate) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a decimal",
        Value::Number(_) => "an integer",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

pub(crate) fn invalid_type(param: Path<'_>, expected: &str, got: &Value) -> InvalidRequest {
    InvalidRequest::at(
        format!(
            "Invalid type for '{param}': expected {expected}, but got {} instead.",
            type_name(got)
        ),
        param,
        Some("invalid_type"),
    )
}

pub(crate) fn missing(param: Path<'_>) -> InvalidRequest {
    InvalidRequest::at(
        format!("Missing required parameter: '{param}'."),
        param,
        Some("missing_required_parameter"),
    )
}

pub(crate) fn empty_array(param: Path<'_>) -> InvalidRequest {
    InvalidRequest::at(
        format!(
            "Invalid '{param}': empty array. Expected an array with minimum length 1, but got an empty array instead."
        ),
        param,
        Some("empty_array"),
    )
}

/// A property OpenAI's schema does not allow inside a nested object; the path is reported in the
/// dotted style (`messages.0`).
pub(crate) fn unexpected_property(key: &str, at: Path<'_>) -> InvalidRequest {
    let path = at.dotted();
    InvalidRequest::new(
        format!("Additional properties are not allowed ('{key}' was unexpected) - '{path}'"),
        Some(&path),
        None,
    )
}

pub(crate) fn one_of(
    param: Path<'_>,
    value: &str,
    supported: &[&str],
) -> Result<(), InvalidRequest> {
    if supported.contains(&value) {
        return Ok(());
    }
    let quoted: Vec<String> = supported.iter().map(|s| format!("'{s}'")).collect();
    let list = match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{}, and {last}", rest.join(", ")),
        _ => quoted.join(""),
    };
    Err(InvalidRequest::at(
        format!("Invalid value: '{value}'. Supported values are: {list}."),
        param,
        Some("invalid_value"),
    ))
}

/// `fields[key]`, or OpenAI's missing-parameter error for `at.key`.
pub(crate) fn required<'a>(
    at: Path<'_>,
    fields: &'a Map<String, Value>,
    key: &str,
) -> Result<&'a Value, InvalidRequest> {
    fields.get(key).ok_or_else(|| missing(at.key(key)))
}

pub(crate) fn string<'a>(param: Path<'_>, value: &'a Value) -> Result<&'a str, InvalidRequest> {
    value
        .as_str()
        .ok_or_else(|| invalid_type(param, "a string", value))
}

pub(crate) fn boolean(param: Path<'_>, value: &Value) -> Result<(), InvalidRequest> {
    match value {
        Value::Bool(_) => Ok(()),
        other => Err(invalid_type(param, "a boolean", other)),
    }
}

pub(crate) fn object<'a>(
    param: Path<'_>,
    value: &'a Value,
) -> Result<&'a Map<String, Value>, InvalidRequest> {
    value
        .as_object()
        .ok_or_else(|| invalid_type(param, "an object", value))
}

pub(crate) fn array<'a>(param: Path<'_>, value: &'a Value) -> Result<&'a [Value], InvalidRequest> {
    value
        .as_array()
        .map(Vec::as_slice)
        .ok_or_else(|| invalid_type(param, "an array", value))
}

pub(crate) fn max_length(param: Path<'_>, value: &str, max: usize) -> Result<(), InvalidRequest> {
    let length = value.chars().count();
    if length <= max {
        return Ok(());
    }
    Err(InvalidRequest::at(
        format!(
            "Invalid '{param}': string too long. Expected a string with maximum length {max}, but got a string with length {length} instead."
        ),
        param,
        Some("string_above_max_length"),
    ))
}

pub(crate) fn integer(
    param: Path<'_>,
    value: &Value,
    min: Option<i64>,
    max: Option<i64>,
) -> Result<(), InvalidRequest> {
    let number = match value {
        Value::Number(n) if n.is_i64() => n.as_i64().unwrap_or_default(),
        Value::Number(n) if n.is_u64() => i64::MAX,
        other => return Err(invalid_type(param, "an integer", other)),
    };
    let out_of_range = |direction: &str, relation: &str, bound: i64, code: &'static str| {
        InvalidRequest::at(
            format!(
                "Invalid '{param}': integer {direction}. Expected a value {relation} {bound}, but got {value} instead."
            ),
            param,
            Some(code),
        )
    };
    match (min, max) {
        (Some(min), _) if number < min => Err(out_of_range(
            "below minimum value",
            ">=",
            min,
            "integer_below_min_value",
        )),
        (_, Some(max)) if number > max => Err(out_of_range(
            "above maximum value",
            "<=",
            max,
            "integer_above_max_value",
        )),
        _ => Ok(()),
    }
}

pub(crate) fn decimal(
    param: Path<'_>,
    value: &Value,
    min: f64,
    max: f64,
) -> Result<(), InvalidRequest> {
    let Some(number) = value.as_f64() else {
        return Err(invalid_type(param, "a number", value));
    };
    let out_of_range = |direction: &str, relation: &str, bound: f64, code: &'static str| {
        InvalidRequest::at(
            format!(
                "Invalid '{param}': decimal {direction}. Expected a value {relation} {bound}, but got {value} instead."
            ),
            param,
            Some(code),
        )
    };
    if number < min {
        Err(out_of_range(
            "below minimum value",
            ">=",
            min,
            "decimal_below_min_value",
        ))
    } else if number > max {
        Err(out_of_range(
            "above maximum value",
            "<=",
            max,
            "decimal_above_max_value",
        ))
    } else {
        Ok(())
    }
}
