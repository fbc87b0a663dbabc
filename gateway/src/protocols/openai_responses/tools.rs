//! Responses tools and tool choice → canonical tools.
//!
//! - `function` tools become canonical tools.
//! - `namespace` tools (a named group of functions, which the Codex CLI sends every turn) are
//!   flattened: each inner function becomes a plain tool named `<namespace>__<name>`, and the
//!   request remembers the pair so the model's calls go back to the client namespaced, as it
//!   declared them.
//! - Hosted tools (`web_search`, `file_search`, `code_interpreter`, computer use, MCP, image
//!   generation, shells, …) are run by OpenAI itself: they go to `api: responses` channels with
//!   the client's request and follow the `unsupported` rule everywhere else.
//! - `custom` tools (free-form input) have no equivalent elsewhere and are refused by other
//!   targets.

use serde_json::Value;

use super::request::invalid;
use crate::canonical::{NamespacedTool, Tool, ToolChoice, Unportable, UnportableKind};
use crate::error::GatewayError;

/// Longest function name every provider accepts.
const MAX_NAME: usize = 64;

/// What a request's `tools` decode to.
#[derive(Default)]
pub struct Decoded {
    pub tools: Vec<Tool>,
    /// Hosted tools, kept verbatim in the request's extensions.
    pub hosted: Vec<Value>,
    pub namespaces: Vec<NamespacedTool>,
    pub unportable: Vec<Unportable>,
}

/// The plain name a namespaced function goes upstream under.
pub fn flat_name(namespace: &str, name: &str) -> String {
    format!("{namespace}__{name}")
}

pub fn decode(tools: Vec<Value>) -> Result<Decoded, GatewayError> {
    let mut decoded = Decoded::default();
    for (index, tool) in tools.into_iter().enumerate() {
        let field = format!("tools[{index}]");
        match tool.get("type").and_then(Value::as_str).unwrap_or_default() {
            "function" => decoded.tools.push(function(&field, &tool, None)?),
            "namespace" => namespace(&field, &tool, &mut decoded)?,
            "custom" => decoded.unportable.push(Unportable {
                field: field.clone(),
                label: "tools.custom".to_owned(),
                kind: UnportableKind::Required(
                    "custom tools take free-form input, which only an OpenAI Responses channel \
                     (`api: responses`) can run"
                        .to_owned(),
                ),
            }),
            "" => {
                return Err(invalid(
                    format!("{field}.type"),
                    format!("Missing required parameter: '{field}.type'."),
                ));
            }
            _ => decoded.hosted.push(tool),
        }
    }
    for tool in &decoded.namespaces {
        if tool.flat.len() > MAX_NAME
            || decoded
                .tools
                .iter()
                .filter(|declared| declared.name == tool.flat)
                .count()
                > 1
        {
            decoded.unportable.push(Unportable {
                field: "tools".to_owned(),
                label: format!("tools.{}", tool.namespace),
                kind: UnportableKind::Required(format!(
                    "the function `{}` of namespace `{}` has no plain name other providers accept \
                     (`{}` is too long or taken)",
                    tool.name, tool.namespace, tool.flat
                )),
            });
        }
    }
    Ok(decoded)
}

/// A function tool; `namespace` when it is declared inside one.
fn function(field: &str, tool: &Value, namespace: Option<&str>) -> Result<Tool, GatewayError> {
    let name = tool.get("name").and_then(Value::as_str).ok_or_else(|| {
        invalid(
            format!("{field}.name"),
            format!("Missing required parameter: '{field}.name'."),
        )
    })?;
    Ok(Tool {
        name: namespace.map_or_else(|| name.to_owned(), |namespace| flat_name(namespace, name)),
        description: tool
            .get("description")
            .and_then(Value::as_str)
            .map(str::to_owned),
        parameters: tool
            .get("parameters")
            .filter(|schema| !schema.is_null())
            .cloned(),
        strict: tool.get("strict").and_then(Value::as_bool),
        cache: None,
        extensions: Default::default(),
    })
}

fn namespace(field: &str, tool: &Value, decoded: &mut Decoded) -> Result<(), GatewayError> {
    let namespace = tool.get("name").and_then(Value::as_str).ok_or_else(|| {
        invalid(
            format!("{field}.name"),
            format!("Missing required parameter: '{field}.name'."),
        )
    })?;
    let inner = tool.get("tools").and_then(Value::as_array).ok_or_else(|| {
        invalid(
            format!("{field}.tools"),
            format!("Missing required parameter: '{field}.tools'."),
        )
    })?;
    for (index, function_tool) in inner.iter().enumerate() {
        let inner_field = format!("{field}.tools[{index}]");
        if function_tool.get("type").and_then(Value::as_str) != Some("function") {
            return Err(invalid(
                format!("{inner_field}.type"),
                "Invalid value: a namespace groups function tools only.",
            ));
        }
        let tool = function(&inner_field, function_tool, Some(namespace))?;
        let name = function_tool
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        remember(&mut decoded.namespaces, namespace, name);
        decoded.tools.push(tool);
    }
    Ok(())
}

/// Records a namespaced function once.
pub fn remember(namespaces: &mut Vec<NamespacedTool>, namespace: &str, name: &str) {
    let flat = flat_name(namespace, name);
    if !namespaces.iter().any(|tool| tool.flat == flat) {
        namespaces.push(NamespacedTool {
            flat,
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        });
    }
}

/// `tool_choice`: the canonical choice, and what only the Responses API can express.
pub fn decode_choice(choice: Value) -> Result<(ToolChoice, Option<Unportable>), GatewayError> {
    let forced = |label: String, what: &str| Unportable {
        field: "tool_choice".to_owned(),
        label,
        kind: UnportableKind::Required(format!(
            "it forces {what}, which only an OpenAI Responses channel (`api: responses`) runs"
        )),
    };
    match &choice {
        Value::String(value) => match value.as_str() {
            "auto" => Ok((ToolChoice::Auto, None)),
            "none" => Ok((ToolChoice::None, None)),
            "required" => Ok((ToolChoice::Required, None)),
            other => Err(invalid("tool_choice", format!("Invalid value: '{other}'."))),
        },
        Value::Object(object) => {
            let kind = object
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let name = || object.get("name").and_then(Value::as_str);
            match kind {
                "function" => {
                    let name = name().ok_or_else(|| {
                        invalid(
                            "tool_choice.name",
                            "Missing required parameter: 'tool_choice.name'.",
                        )
                    })?;
                    let name = match object.get("namespace").and_then(Value::as_str) {
                        Some(namespace) => flat_name(namespace, name),
                        None => name.to_owned(),
                    };
                    Ok((ToolChoice::Function(name), None))
                }
                // A subset of the tools: the mode is kept, the subset follows the rule.
                "allowed_tools" => {
                    let mode = match object.get("mode").and_then(Value::as_str) {
                        Some("required") => ToolChoice::Required,
                        _ => ToolChoice::Auto,
                    };
                    let unportable = Unportable {
                        field: "tool_choice".to_owned(),
                        label: "tool_choice.allowed_tools".to_owned(),
                        kind: UnportableKind::Optional,
                    };
                    Ok((mode, Some(unportable)))
                }
                "custom" => Ok((
                    ToolChoice::Auto,
                    Some(forced("tool_choice.custom".to_owned(), "a custom tool")),
                )),
                "" => Err(invalid(
                    "tool_choice.type",
                    "Missing required parameter: 'tool_choice.type'.",
                )),
                hosted => Ok((
                    ToolChoice::Auto,
                    Some(forced(
                        format!("tool_choice.{hosted}"),
                        &format!("the hosted tool `{hosted}`"),
                    )),
                )),
            }
        }
        _ => Err(invalid(
            "tool_choice",
            "Invalid type for 'tool_choice': expected a string or an object.",
        )),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn namespaces_flatten_and_hosted_tools_stay_verbatim() {
        let decoded = decode(vec![
            json!({"type": "function", "name": "exec_command", "parameters": {"type": "object"}}),
            json!({"type": "namespace", "name": "multi_agent_v1", "description": "agents", "tools": [
                {"type": "function", "name": "spawn_agent", "parameters": {"type": "object"}},
                {"type": "function", "name": "wait_agent", "parameters": null},
            ]}),
            json!({"type": "web_search", "external_web_access": false}),
        ])
        .expect("decoded");
        let names: Vec<_> = decoded
            .tools
            .iter()
            .map(|tool| tool.name.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "exec_command",
                "multi_agent_v1__spawn_agent",
                "multi_agent_v1__wait_agent"
            ]
        );
        assert_eq!(decoded.namespaces[0].namespace, "multi_agent_v1");
        assert_eq!(decoded.namespaces[0].name, "spawn_agent");
        assert_eq!(
            decoded.hosted,
            [json!({"type": "web_search", "external_web_access": false})]
        );
        assert!(decoded.unportable.is_empty());
    }

    #[test]
    fn a_namespace_of_something_else_than_functions_is_refused() {
        let error = decode(vec![json!({"type": "namespace", "name": "n", "tools": [
            {"type": "web_search"},
        ]})])
        .err()
        .expect("refused");
        assert_eq!(error.param.as_deref(), Some("tools[0].tools[0].type"));
    }

    #[test]
    fn forcing_a_hosted_tool_needs_a_responses_channel() {
        let (choice, unportable) = decode_choice(json!({"type": "web_search"})).expect("decoded");
        assert_eq!(choice, ToolChoice::Auto);
        assert!(matches!(
            unportable.map(|unportable| unportable.kind),
            Some(UnportableKind::Required(_))
        ));
        let (choice, _) = decode_choice(
            json!({"type": "function", "namespace": "multi_agent_v1", "name": "spawn_agent"}),
        )
        .expect("decoded");
        assert_eq!(
            choice,
            ToolChoice::Function("multi_agent_v1__spawn_agent".into())
        );
    }
}
