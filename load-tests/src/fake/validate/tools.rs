//! Validation of tool definitions, `tool_choice`, `response_format`, the legacy
//! `functions`/`function_call` pair, and the checks that tie them together.

use serde_json::{Map, Value};

use super::{
    InvalidRequest, Path, array, boolean, empty_array, invalid_type, object, one_of, required,
    string, unexpected_property,
};

pub(super) fn tools(value: &Value) -> Result<(), InvalidRequest> {
    let at = Path::Root("tools");
    let list = array(at, value)?;
    if list.is_empty() {
        return Err(empty_array(at));
    }
    for (i, tool) in list.iter().enumerate() {
        let at = at.index(i);
        let fields = object(at, tool)?;
        let tool_type = string(at.key("type"), required(at, fields, "type")?)?;
        one_of(at.key("type"), tool_type, &["function", "custom"])?;
        if let Some(key) = fields
            .keys()
            .find(|k| !["type", tool_type].contains(&k.as_str()))
        {
            return Err(unexpected_property(key, at));
        }
        let body_at = at.key(tool_type);
        let body = object(body_at, required(at, fields, tool_type)?)?;
        let allowed: &[&str] = if tool_type == "function" {
            &["name", "description", "parameters", "strict"]
        } else {
            &["name", "description", "format"]
        };
        if let Some(key) = body.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(unexpected_property(key, body_at));
        }
        function_like(body_at, body)?;
    }
    Ok(())
}

/// The `name`, `description`, `parameters` and `strict` of a function definition.
fn function_like(at: Path<'_>, body: &Map<String, Value>) -> Result<(), InvalidRequest> {
    name(
        at.key("name"),
        string(at.key("name"), required(at, body, "name")?)?,
    )?;
    if let Some(description) = body.get("description").filter(|v| !v.is_null()) {
        string(at.key("description"), description)?;
    }
    if let Some(parameters) = body.get("parameters").filter(|v| !v.is_null()) {
        object(at.key("parameters"), parameters)?;
    }
    if let Some(strict) = body.get("strict").filter(|v| !v.is_null()) {
        boolean(at.key("strict"), strict)?;
    }
    Ok(())
}

/// Function and schema names: letters, digits, `_` and `-`, 1 to 64 characters. The Responses
/// API holds its names to the same pattern.
pub(crate) fn name(at: Path<'_>, value: &str) -> Result<(), InvalidRequest> {
    let valid = !value.is_empty()
        && value.len() <= 64
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if valid {
        return Ok(());
    }
    Err(InvalidRequest::new(
        format!(
            "Invalid '{at}': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]{{1,64}}$'."
        ),
        Some(&at.to_string()),
        Some("invalid_value"),
    ))
}

pub(super) fn tool_choice(value: &Value) -> Result<(), InvalidRequest> {
    let at = Path::Root("tool_choice");
    let fields = match value {
        Value::String(mode) => return one_of(at, mode, &["none", "auto", "required"]),
        Value::Object(fields) => fields,
        other => return Err(invalid_type(at, "a string or object", other)),
    };
    let choice_type = string(at.key("type"), required(at, fields, "type")?)?;
    one_of(
        at.key("type"),
        choice_type,
        &["function", "allowed_tools", "custom"],
    )?;
    if let Some(key) = fields
        .keys()
        .find(|k| !["type", choice_type].contains(&k.as_str()))
    {
        return Err(unexpected_property(key, at));
    }
    let body_at = at.key(choice_type);
    let body = object(body_at, required(at, fields, choice_type)?)?;
    if choice_type == "allowed_tools" {
        let mode_at = body_at.key("mode");
        let mode = string(mode_at, required(body_at, body, "mode")?)?;
        one_of(mode_at, mode, &["auto", "required"])?;
        array(body_at.key("tools"), required(body_at, body, "tools")?)?;
        return Ok(());
    }
    string(body_at.key("name"), required(body_at, body, "name")?).map(drop)
}

pub(super) fn response_format(value: &Value) -> Result<(), InvalidRequest> {
    let at = Path::Root("response_format");
    let fields = object(at, value)?;
    let format_type = string(at.key("type"), required(at, fields, "type")?)?;
    one_of(
        at.key("type"),
        format_type,
        &["text", "json_object", "json_schema"],
    )?;
    if format_type != "json_schema" {
        return Ok(());
    }
    let schema_at = at.key("json_schema");
    let schema = object(schema_at, required(at, fields, "json_schema")?)?;
    let name_at = schema_at.key("name");
    name(
        name_at,
        string(name_at, required(schema_at, schema, "name")?)?,
    )?;
    if let Some(inner) = schema.get("schema").filter(|v| !v.is_null()) {
        object(schema_at.key("schema"), inner)?;
    }
    if let Some(strict) = schema.get("strict").filter(|v| !v.is_null()) {
        boolean(schema_at.key("strict"), strict)?;
    }
    Ok(())
}

pub(super) fn functions(value: &Value) -> Result<(), InvalidRequest> {
    let at = Path::Root("functions");
    for (i, function) in array(at, value)?.iter().enumerate() {
        function_like(at.index(i), object(at.index(i), function)?)?;
    }
    Ok(())
}

pub(super) fn function_call(value: &Value) -> Result<(), InvalidRequest> {
    let at = Path::Root("function_call");
    match value {
        Value::String(mode) => one_of(at, mode, &["none", "auto"]),
        Value::Object(fields) => string(at.key("name"), required(at, fields, "name")?).map(drop),
        other => Err(invalid_type(at, "a string or object", other)),
    }
}

/// `tool_choice` and `parallel_tool_calls` are refused when no `tools` are given.
pub(super) fn cross_checks(body: &Map<String, Value>) -> Result<(), InvalidRequest> {
    let has_tools = body
        .get("tools")
        .and_then(Value::as_array)
        .is_some_and(|tools| !tools.is_empty());
    if has_tools {
        return Ok(());
    }
    for key in ["tool_choice", "parallel_tool_calls"] {
        if body.get(key).is_some_and(|v| !v.is_null()) {
            return Err(InvalidRequest::new(
                format!(
                    "Invalid value for '{key}': '{key}' is only allowed when 'tools' are specified."
                ),
                Some(key),
                None,
            ));
        }
    }
    Ok(())
}
