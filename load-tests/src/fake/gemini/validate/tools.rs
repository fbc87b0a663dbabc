//! `tools` and `toolConfig`: function declarations (name rule, `parameters` as Gemini's
//! OpenAPI-subset `Schema` or `parametersJsonSchema` as plain JSON Schema, never both), the other
//! tool kinds accepted as opaque objects, and `functionCallingConfig` (mode, allowed names that
//! must be declared, no config without declarations).
//!
//! The `Schema` check is strict the way Gemini's is: keywords outside the subset
//! (`additionalProperties`, `$schema`, `const`, …) are unknown fields.

use serde_json::Value;

use super::proto::{
    Invalid, boolean, enumeration, field, float, integer, list, message, string, strings, structure,
};
use crate::fake::validate::Path;

const TOOL: &[&str] = &[
    "function_declarations",
    "google_search_retrieval",
    "code_execution",
    "google_search",
    "url_context",
    "computer_use",
    "file_search",
    "google_maps",
];

const FUNCTION_DECLARATION: &[&str] = &[
    "name",
    "description",
    "parameters",
    "parameters_json_schema",
    "response",
    "response_json_schema",
    "behavior",
];

const SCHEMA: &[&str] = &[
    "type",
    "format",
    "title",
    "description",
    "nullable",
    "enum",
    "max_items",
    "min_items",
    "properties",
    "required",
    "min_properties",
    "max_properties",
    "min_length",
    "max_length",
    "pattern",
    "example",
    "any_of",
    "property_ordering",
    "default",
    "items",
    "minimum",
    "maximum",
];

const TYPES: &[&str] = &[
    "TYPE_UNSPECIFIED",
    "STRING",
    "NUMBER",
    "INTEGER",
    "BOOLEAN",
    "ARRAY",
    "OBJECT",
    "NULL",
];

const MODES: &[&str] = &["MODE_UNSPECIFIED", "AUTO", "ANY", "NONE", "VALIDATED"];

/// Validates `tools` and returns the declared function names.
pub(super) fn tools<'v>(at: Path<'_>, value: &'v Value) -> Result<Vec<&'v str>, Invalid> {
    let mut names = Vec::new();
    for (index, tool) in list(at, value, "Tool")?.iter().enumerate() {
        let tool_at = at.index(index);
        let tool = message(tool_at, tool, "Tool", TOOL)?;
        for &kind in &TOOL[1..] {
            if let Some(value) = tool.get(kind) {
                structure(tool_at.key(kind), value)?;
            }
        }
        let Some(declarations) = tool.get("function_declarations") else {
            continue;
        };
        let declarations_at = tool_at.key("function_declarations");
        let declarations = list(declarations_at, declarations, "FunctionDeclaration")?;
        for (index, declaration) in declarations.iter().enumerate() {
            let name = function_declaration(declarations_at.index(index), declaration)?;
            if names.contains(&name) {
                let at = declarations_at.index(index);
                return Err(field(
                    at.key("name"),
                    format!("Duplicate function declaration found: {name}"),
                ));
            }
            names.push(name);
        }
    }
    Ok(names)
}

fn function_declaration<'v>(at: Path<'_>, value: &'v Value) -> Result<&'v str, Invalid> {
    let declaration = message(at, value, "FunctionDeclaration", FUNCTION_DECLARATION)?;
    let name = match declaration.get("name") {
        Some(name) => string(at.key("name"), name)?,
        None => "",
    };
    if !valid_function_name(name) {
        return Err(field(
            at.key("name"),
            "Invalid function name. Must start with a letter or an underscore. Must be a-z, A-Z, 0-9, or contain underscores, dots, colons and dashes, with a maximum length of 128.",
        ));
    }
    if let Some(description) = declaration.get("description") {
        string(at.key("description"), description)?;
    }
    for (schema_key, json_key) in [
        ("parameters", "parameters_json_schema"),
        ("response", "response_json_schema"),
    ] {
        if let Some(value) = declaration.get(schema_key) {
            schema(at.key(schema_key), value)?;
        }
        if let Some(value) = declaration.get(json_key) {
            json_schema(at.key(json_key), value)?;
        }
        if declaration.get(schema_key).is_some() && declaration.get(json_key).is_some() {
            return Err(field(
                at,
                format!("{schema_key} and {json_key} cannot both be set."),
            ));
        }
    }
    if let Some(behavior) = declaration.get("behavior") {
        let allowed = ["UNSPECIFIED", "BLOCKING", "NON_BLOCKING"];
        enumeration(
            at.key("behavior"),
            behavior,
            "FunctionDeclaration.Behavior",
            &allowed,
        )?;
    }
    Ok(name)
}

/// Letters, digits, `_`, `.`, `:` and `-`; starts with a letter or `_`; at most 128 long.
fn valid_function_name(name: &str) -> bool {
    let starts_well = name
        .bytes()
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == b'_');
    starts_well
        && name.len() <= 128
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'))
}

/// A `*JsonSchema` field: any JSON Schema, which must be an object (or a boolean schema).
pub(super) fn json_schema(at: Path<'_>, value: &Value) -> Result<(), Invalid> {
    if value.is_object() || value.is_boolean() {
        return Ok(());
    }
    Err(field(at, "must be a JSON Schema object."))
}

/// Gemini's OpenAPI-subset `Schema`, recursively.
pub(super) fn schema(at: Path<'_>, value: &Value) -> Result<(), Invalid> {
    let schema = message(at, value, "Schema", SCHEMA)?;
    if let Some(kind) = schema.get("type") {
        enumeration(at.key("type"), kind, "Type", TYPES)?;
    }
    for key in ["format", "title", "description", "pattern"] {
        if let Some(value) = schema.get(key) {
            string(at.key(key), value)?;
        }
    }
    if let Some(nullable) = schema.get("nullable") {
        boolean(at.key("nullable"), nullable)?;
    }
    for key in ["enum", "required", "property_ordering"] {
        if let Some(value) = schema.get(key) {
            strings(at.key(key), value)?;
        }
    }
    for key in [
        "max_items",
        "min_items",
        "min_properties",
        "max_properties",
        "min_length",
        "max_length",
    ] {
        if let Some(value) = schema.get(key) {
            integer(at.key(key), value, "TYPE_INT64")?;
        }
    }
    for key in ["minimum", "maximum"] {
        if let Some(value) = schema.get(key) {
            float(at.key(key), value, "TYPE_DOUBLE")?;
        }
    }
    if let Some(items) = schema.get("items") {
        self::schema(at.key("items"), items)?;
    }
    if let Some(any_of) = schema.get("any_of") {
        let any_of_at = at.key("any_of");
        for (index, option) in list(any_of_at, any_of, "Schema")?.iter().enumerate() {
            self::schema(any_of_at.index(index), option)?;
        }
    }
    if let Some(properties) = schema.get("properties") {
        let properties_at = at.key("properties");
        let properties = structure(properties_at, properties)?;
        for (index, property) in properties.values().enumerate() {
            let entry = properties_at.index(index);
            self::schema(entry.key("value"), property)?;
        }
    }
    Ok(())
}

/// `toolConfig`; `declared` are the function names from `tools`.
pub(super) fn tool_config(at: Path<'_>, value: &Value, declared: &[&str]) -> Result<(), Invalid> {
    let known = ["function_calling_config", "retrieval_config"];
    let config = message(at, value, "ToolConfig", &known)?;
    if let Some(retrieval) = config.get("retrieval_config") {
        structure(at.key("retrieval_config"), retrieval)?;
    }
    let Some(calling) = config.get("function_calling_config") else {
        return Ok(());
    };
    let at = at.key("function_calling_config");
    let known = ["mode", "allowed_function_names"];
    let calling = message(at, calling, "FunctionCallingConfig", &known)?;
    let mode = match calling.get("mode") {
        Some(mode) => enumeration(at.key("mode"), mode, "FunctionCallingConfig.Mode", MODES)?,
        None => "MODE_UNSPECIFIED",
    };
    if declared.is_empty() {
        return Err(Invalid::request(
            "Function calling config is set without function_declarations.",
        ));
    }
    let Some(allowed) = calling.get("allowed_function_names") else {
        return Ok(());
    };
    let allowed_at = at.key("allowed_function_names");
    let allowed = strings(allowed_at, allowed)?;
    if !allowed.is_empty() && !matches!(mode, "ANY" | "VALIDATED") {
        return Err(field(
            allowed_at,
            "allowed_function_names may only be set when mode is ANY or VALIDATED.",
        ));
    }
    match allowed.iter().position(|name| !declared.contains(name)) {
        Some(index) => Err(field(
            allowed_at.index(index),
            format!(
                "function `{}` is not declared in tools.function_declarations.",
                allowed[index]
            ),
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_names() {
        assert!(valid_function_name("get_weather"));
        assert!(valid_function_name("_a.b:c-d9"));
        assert!(!valid_function_name("9lives"));
        assert!(!valid_function_name("has space"));
        assert!(!valid_function_name(""));
        assert!(valid_function_name(&"a".repeat(128)));
        assert!(!valid_function_name(&"a".repeat(129)));
    }
}
