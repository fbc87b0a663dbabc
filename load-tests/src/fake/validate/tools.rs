//! Validation of tool definitions, `tool_choice`, `response_format`, the legacy
//! `functions`/`function_call` pair, and the checks that tie them together.

use serde_json::{Map, Value};

use super::{
    InvalidRequest, array, boolean, empty_array, invalid_type, missing, object, one_of, string,
    unexpected_property,
};

pub(super) fn tools(value: &Value) -> Result<(), InvalidRequest> {
    let list = array("tools", value)?;
    if list.is_empty() {
        return Err(empty_array("tools"));
    }
    for (i, tool) in list.iter().enumerate() {
        let param = format!("tools[{i}]");
        let fields = object(&param, tool)?;
        let type_param = format!("{param}.type");
        let tool_type = string(
            &type_param,
            fields.get("type").ok_or_else(|| missing(&type_param))?,
        )?;
        one_of(&type_param, tool_type, &["function", "custom"])?;
        if let Some(key) = fields
            .keys()
            .find(|k| !["type", tool_type].contains(&k.as_str()))
        {
            return Err(unexpected_property(key, &format!("tools.{i}")));
        }
        let body_param = format!("{param}.{tool_type}");
        let body = object(
            &body_param,
            fields.get(tool_type).ok_or_else(|| missing(&body_param))?,
        )?;
        let allowed: &[&str] = if tool_type == "function" {
            &["name", "description", "parameters", "strict"]
        } else {
            &["name", "description", "format"]
        };
        if let Some(key) = body.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(unexpected_property(key, &format!("tools.{i}.{tool_type}")));
        }
        function_like(&body_param, body)?;
    }
    Ok(())
}

/// The `name`, `description`, `parameters` and `strict` of a function definition.
fn function_like(param: &str, body: &Map<String, Value>) -> Result<(), InvalidRequest> {
    let name_param = format!("{param}.name");
    name(
        &name_param,
        string(
            &name_param,
            body.get("name").ok_or_else(|| missing(&name_param))?,
        )?,
    )?;
    if let Some(description) = body.get("description").filter(|v| !v.is_null()) {
        string(&format!("{param}.description"), description)?;
    }
    if let Some(parameters) = body.get("parameters").filter(|v| !v.is_null()) {
        object(&format!("{param}.parameters"), parameters)?;
    }
    if let Some(strict) = body.get("strict").filter(|v| !v.is_null()) {
        boolean(&format!("{param}.strict"), strict)?;
    }
    Ok(())
}

/// Function and schema names: letters, digits, `_` and `-`, 1 to 64 characters.
fn name(param: &str, value: &str) -> Result<(), InvalidRequest> {
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
            "Invalid '{param}': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]{{1,64}}$'."
        ),
        Some(param),
        Some("invalid_value"),
    ))
}

pub(super) fn tool_choice(value: &Value) -> Result<(), InvalidRequest> {
    let fields = match value {
        Value::String(mode) => return one_of("tool_choice", mode, &["none", "auto", "required"]),
        Value::Object(fields) => fields,
        other => return Err(invalid_type("tool_choice", "a string or object", other)),
    };
    let choice_type = string(
        "tool_choice.type",
        fields
            .get("type")
            .ok_or_else(|| missing("tool_choice.type"))?,
    )?;
    one_of(
        "tool_choice.type",
        choice_type,
        &["function", "allowed_tools", "custom"],
    )?;
    if let Some(key) = fields
        .keys()
        .find(|k| !["type", choice_type].contains(&k.as_str()))
    {
        return Err(unexpected_property(key, "tool_choice"));
    }
    let body_param = format!("tool_choice.{choice_type}");
    let body = object(
        &body_param,
        fields
            .get(choice_type)
            .ok_or_else(|| missing(&body_param))?,
    )?;
    if choice_type == "allowed_tools" {
        let mode_param = "tool_choice.allowed_tools.mode";
        let mode = body.get("mode").ok_or_else(|| missing(mode_param))?;
        one_of(mode_param, string(mode_param, mode)?, &["auto", "required"])?;
        let tools_param = "tool_choice.allowed_tools.tools";
        array(
            tools_param,
            body.get("tools").ok_or_else(|| missing(tools_param))?,
        )?;
        return Ok(());
    }
    let name_param = format!("{body_param}.name");
    string(
        &name_param,
        body.get("name").ok_or_else(|| missing(&name_param))?,
    )
    .map(drop)
}

pub(super) fn response_format(value: &Value) -> Result<(), InvalidRequest> {
    let fields = object("response_format", value)?;
    let type_param = "response_format.type";
    let format_type = string(
        type_param,
        fields.get("type").ok_or_else(|| missing(type_param))?,
    )?;
    one_of(
        type_param,
        format_type,
        &["text", "json_object", "json_schema"],
    )?;
    if format_type != "json_schema" {
        return Ok(());
    }
    let schema_param = "response_format.json_schema";
    let schema = object(
        schema_param,
        fields
            .get("json_schema")
            .ok_or_else(|| missing(schema_param))?,
    )?;
    let name_param = "response_format.json_schema.name";
    name(
        name_param,
        string(
            name_param,
            schema.get("name").ok_or_else(|| missing(name_param))?,
        )?,
    )?;
    if let Some(inner) = schema.get("schema").filter(|v| !v.is_null()) {
        object("response_format.json_schema.schema", inner)?;
    }
    if let Some(strict) = schema.get("strict").filter(|v| !v.is_null()) {
        boolean("response_format.json_schema.strict", strict)?;
    }
    Ok(())
}

pub(super) fn functions(value: &Value) -> Result<(), InvalidRequest> {
    for (i, function) in array("functions", value)?.iter().enumerate() {
        let param = format!("functions[{i}]");
        function_like(&param, object(&param, function)?)?;
    }
    Ok(())
}

pub(super) fn function_call(value: &Value) -> Result<(), InvalidRequest> {
    match value {
        Value::String(mode) => one_of("function_call", mode, &["none", "auto"]),
        Value::Object(fields) => string(
            "function_call.name",
            fields
                .get("name")
                .ok_or_else(|| missing("function_call.name"))?,
        )
        .map(drop),
        other => Err(invalid_type("function_call", "a string or object", other)),
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
