//! Reading a request body the way Google's proto3-JSON front end does, and the errors it gives:
//! every field under its lowerCamelCase or its original snake_case name, unknown names refused
//! (`Invalid JSON payload received. Unknown name "foo" at 'contents[0]': Cannot find field.`),
//! wrong types refused (`Invalid value at 'generation_config.temperature' (TYPE_FLOAT), "hot"`),
//! `null` read as "not set", integers accepted as numbers or numeric strings, `bytes` as base64.
//!
//! Locations always use the snake_case names and `[i]` indices, as Google's do. The semantic
//! rules (ranges, required values, conversation) live in the sibling modules; they report through
//! [`Invalid::Field`] and [`Invalid::Request`].

use serde_json::{Map, Value};

use super::super::signature;
use crate::fake::validate::Path;

const TYPES: &str = "type.googleapis.com/google.ai.generativelanguage.v1beta";

/// Why a request is refused, before it is rendered as a Gemini 400 `INVALID_ARGUMENT`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Invalid {
    /// A proto-JSON parse error: the whole message, reported with a `google.rpc.BadRequest`
    /// detail whose violation names `field` (absent at the root).
    Payload {
        message: String,
        field: Option<String>,
    },
    /// A semantic check on one field, rendered `* <Request>.<field>: <problem>\n`.
    Field { field: String, problem: String },
    /// A rule about the whole request, with a fixed message.
    Request { message: String },
}

impl Invalid {
    pub(crate) fn request(message: impl Into<String>) -> Self {
        Invalid::Request {
            message: message.into(),
        }
    }
}

/// `contents[1].parts[0]`; empty at the root.
pub(crate) fn location(at: Path<'_>) -> String {
    at.to_string().trim_start_matches('.').to_owned()
}

/// A semantic problem with the field at `at`.
pub(crate) fn field(at: Path<'_>, problem: impl Into<String>) -> Invalid {
    Invalid::Field {
        field: location(at),
        problem: problem.into(),
    }
}

fn payload(at: Path<'_>, message: String) -> Invalid {
    let field = Some(location(at)).filter(|field| !field.is_empty());
    Invalid::Payload { message, field }
}

/// `Invalid value at '<at>' (<type_name>), <value>`.
pub(crate) fn invalid_value(at: Path<'_>, type_name: &str, value: &Value) -> Invalid {
    let mut shown = value.to_string();
    if shown.len() > 120 {
        let cut = (0..=117)
            .rev()
            .find(|i| shown.is_char_boundary(*i))
            .unwrap_or(0);
        shown.truncate(cut);
        shown.push_str("...");
    }
    let message = format!("Invalid value at '{}' ({type_name}), {shown}", location(at));
    payload(at, message)
}

/// The full name of a message or enum type of the API, for type errors.
pub(crate) fn type_name(name: &str) -> String {
    format!("{TYPES}.{name}")
}

/// A JSON object read as the proto message `name`, whose fields are `known` (snake_case).
#[derive(Clone, Copy)]
pub(crate) struct Message<'v> {
    fields: &'v Map<String, Value>,
}

impl<'v> Message<'v> {
    /// The field `name` (snake_case) under either spelling; `null` counts as not set.
    pub(crate) fn get(&self, name: &str) -> Option<&'v Value> {
        self.fields
            .iter()
            .find(|(key, _)| same_field(key, name))
            .map(|(_, value)| value)
            .filter(|value| !value.is_null())
    }
}

/// Reads `value` as the message type `name` with fields `known`.
pub(crate) fn message<'v>(
    at: Path<'_>,
    value: &'v Value,
    name: &str,
    known: &[&str],
) -> Result<Message<'v>, Invalid> {
    let fields = match value {
        Value::Object(fields) => fields,
        Value::Array(_) => return Err(not_repeating(at)),
        other => return Err(invalid_value(at, &type_name(name), other)),
    };
    let mut seen: Vec<&str> = Vec::with_capacity(fields.len());
    for key in fields.keys() {
        let Some(known) = known.iter().find(|known| same_field(key, known)) else {
            let message = match location(at) {
                place if place.is_empty() => {
                    format!(
                        "Invalid JSON payload received. Unknown name \"{key}\": Cannot find field."
                    )
                }
                place => format!(
                    "Invalid JSON payload received. Unknown name \"{key}\" at '{place}': Cannot find field."
                ),
            };
            return Err(payload(at, message));
        };
        if seen.contains(known) {
            let message = format!(
                "Invalid JSON payload received. Duplicate field \"{known}\" at '{}': the field was given under both of its names.",
                location(at)
            );
            return Err(payload(at, message));
        }
        seen.push(*known);
    }
    Ok(Message { fields })
}

/// A list given where one message is expected.
fn not_repeating(at: Path<'_>) -> Invalid {
    let message = match at {
        Path::Key(parent, key) if !location(*parent).is_empty() => format!(
            "Invalid JSON payload received. Unknown name \"{key}\" at '{}': Proto field is not repeating, cannot start list.",
            location(*parent)
        ),
        Path::Key(_, key) | Path::Root(key) => format!(
            "Invalid JSON payload received. Unknown name \"{key}\": Proto field is not repeating, cannot start list."
        ),
        Path::Index(..) => {
            "Invalid JSON payload received. Proto field is not repeating, cannot start list."
                .to_owned()
        }
    };
    payload(at, message)
}

/// A repeated field of `element` type (a message name or a `TYPE_*` scalar).
pub(crate) fn list<'v>(
    at: Path<'_>,
    value: &'v Value,
    element: &str,
) -> Result<&'v [Value], Invalid> {
    match value {
        Value::Array(items) => Ok(items),
        other if element.starts_with("TYPE_") => Err(invalid_value(at, element, other)),
        other => Err(invalid_value(at, &type_name(element), other)),
    }
}

pub(crate) fn string<'v>(at: Path<'_>, value: &'v Value) -> Result<&'v str, Invalid> {
    value
        .as_str()
        .ok_or_else(|| invalid_value(at, "TYPE_STRING", value))
}

/// A list of strings.
pub(crate) fn strings<'v>(at: Path<'_>, value: &'v Value) -> Result<Vec<&'v str>, Invalid> {
    list(at, value, "TYPE_STRING")?
        .iter()
        .enumerate()
        .map(|(index, item)| string(at.index(index), item))
        .collect()
}

pub(crate) fn boolean(at: Path<'_>, value: &Value) -> Result<bool, Invalid> {
    value
        .as_bool()
        .ok_or_else(|| invalid_value(at, "TYPE_BOOL", value))
}

/// An `int32` or `int64` (`kind` is `TYPE_INT32` or `TYPE_INT64`): a JSON integer or a string
/// holding one.
pub(crate) fn integer(at: Path<'_>, value: &Value, kind: &str) -> Result<i64, Invalid> {
    let number = match value {
        Value::Number(number) => number.as_i64(),
        Value::String(text) => text.trim().parse::<i64>().ok(),
        _ => None,
    };
    let limit = if kind == "TYPE_INT32" {
        i64::from(i32::MIN)..=i64::from(i32::MAX)
    } else {
        i64::MIN..=i64::MAX
    };
    number
        .filter(|number| limit.contains(number))
        .ok_or_else(|| invalid_value(at, kind, value))
}

/// A `float` or `double` (`kind`): a JSON number or a string holding one.
pub(crate) fn float(at: Path<'_>, value: &Value, kind: &str) -> Result<f64, Invalid> {
    let number = match value {
        Value::Number(number) => number.as_f64(),
        Value::String(text) => text.trim().parse::<f64>().ok(),
        _ => None,
    };
    number.ok_or_else(|| invalid_value(at, kind, value))
}

/// An enum value named in `allowed`, matched without regard to case (Google's front end accepts
/// `object` for `OBJECT`). Returns the canonical name.
pub(crate) fn enumeration<'a>(
    at: Path<'_>,
    value: &Value,
    enum_name: &str,
    allowed: &[&'a str],
) -> Result<&'a str, Invalid> {
    value
        .as_str()
        .and_then(|text| allowed.iter().find(|name| name.eq_ignore_ascii_case(text)))
        .copied()
        .ok_or_else(|| invalid_value(at, &type_name(enum_name), value))
}

/// A `bytes` field: base64 in either alphabet.
pub(crate) fn bytes<'v>(at: Path<'_>, value: &'v Value) -> Result<&'v str, Invalid> {
    let text = value
        .as_str()
        .ok_or_else(|| invalid_value(at, "TYPE_BYTES", value))?;
    if signature::decode(text).is_some() {
        return Ok(text);
    }
    let message = format!(
        "Invalid value at '{}' (TYPE_BYTES), Base64 decoding failed for \"{}\"",
        location(at),
        text.chars().take(64).collect::<String>()
    );
    Err(payload(at, message))
}

/// A `google.protobuf.Struct`: any JSON object.
pub(crate) fn structure<'v>(
    at: Path<'_>,
    value: &'v Value,
) -> Result<&'v Map<String, Value>, Invalid> {
    value
        .as_object()
        .ok_or_else(|| invalid_value(at, "type.googleapis.com/google.protobuf.Struct", value))
}

/// The field `name` (snake_case) of an already validated object, under either spelling.
pub(crate) fn get<'v>(value: &'v Value, name: &str) -> Option<&'v Value> {
    value
        .as_object()
        .and_then(|fields| Message { fields }.get(name))
}

/// Whether the JSON key `key` names the field `snake` (`inline_data` or `inlineData`).
fn same_field(key: &str, snake: &str) -> bool {
    if key == snake {
        return true;
    }
    let mut key = key.chars();
    let mut snake = snake.chars();
    while let Some(expected) = snake.next() {
        let expected = if expected == '_' {
            match snake.next() {
                Some(next) => next.to_ascii_uppercase(),
                None => return false,
            }
        } else {
            expected
        };
        if key.next() != Some(expected) {
            return false;
        }
    }
    key.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn both_spellings_name_a_field() {
        assert!(same_field("inlineData", "inline_data"));
        assert!(same_field("inline_data", "inline_data"));
        assert!(same_field("parametersJsonSchema", "parameters_json_schema"));
        assert!(!same_field("inlinedata", "inline_data"));
        assert!(!same_field("inlineDataX", "inline_data"));
        assert!(!same_field("inline", "inline_data"));
    }

    #[test]
    fn unknown_and_duplicate_fields() {
        let root = Path::Root("");
        let contents = root.key("contents");
        let first = contents.index(0);
        let content = json!({"role": "user", "foo": 1});
        let unknown = message(first, &content, "Content", &["role", "parts"]);
        assert_eq!(
            unknown.err(),
            Some(Invalid::Payload {
                message: "Invalid JSON payload received. Unknown name \"foo\" at 'contents[0]': Cannot find field.".to_owned(),
                field: Some("contents[0]".to_owned()),
            })
        );
        let body = json!({"foo": 1});
        let top = message(root, &body, "GenerateContentRequest", &["contents"]);
        assert!(matches!(top, Err(Invalid::Payload { field: None, .. })));
        let body = json!({"systemInstruction": {}, "system_instruction": {}});
        let twice = message(root, &body, "R", &["system_instruction"]);
        assert!(twice.is_err());
    }

    #[test]
    fn scalars_read_like_proto3_json() {
        let at = Path::Root("max_output_tokens");
        assert_eq!(integer(at, &json!("12"), "TYPE_INT32"), Ok(12));
        assert_eq!(integer(at, &json!(12), "TYPE_INT32"), Ok(12));
        assert!(integer(at, &json!(1.5), "TYPE_INT32").is_err());
        assert!(integer(at, &json!(5_000_000_000_i64), "TYPE_INT32").is_err());
        assert_eq!(
            float(at, &json!("hot"), "TYPE_FLOAT").err(),
            Some(Invalid::Payload {
                message: "Invalid value at 'max_output_tokens' (TYPE_FLOAT), \"hot\"".to_owned(),
                field: Some("max_output_tokens".to_owned()),
            })
        );
        let modes = ["AUTO", "ANY"];
        assert_eq!(enumeration(at, &json!("any"), "Mode", &modes), Ok("ANY"));
        assert!(bytes(at, &json!("%%%")).is_err());
    }
}
