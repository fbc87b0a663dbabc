//! Validation of the Responses API's `tool_choice`: a mode (`none`, `auto`, `required`), or an
//! object forcing one tool — a client `function` or `custom` tool, which must be declared in
//! `tools` (top level or inside a namespace), an `allowed_tools` subset, an MCP server's tool or
//! a hosted tool type.

use serde_json::Value;

use super::tools::{Tools, kind};
use super::{only, optional};
use crate::fake::validate::{
    InvalidRequest, Path, array, invalid_type, object, one_of, required, string,
};

/// The hosted tool types `tool_choice` may force.
const HOSTED_CHOICES: &[&str] = &[
    "file_search",
    "web_search_preview",
    "computer",
    "computer_use_preview",
    "computer_use",
    "web_search_preview_2025_03_11",
    "image_generation",
    "code_interpreter",
    "apply_patch",
    "shell",
    "programmatic_tool_calling",
];

/// `tool_choice`: a mode, or an object forcing one tool; a forced client tool must be declared.
pub(super) fn tool_choice(value: &Value, tools: &Tools<'_>) -> Result<(), InvalidRequest> {
    let at = Path::Root("tool_choice");
    let fields = match value {
        Value::String(mode) => return one_of(at, mode, &["none", "auto", "required"]),
        Value::Object(fields) => fields,
        other => return Err(invalid_type(at, "a string or object", other)),
    };
    let mut kinds = vec!["function", "custom", "allowed_tools", "mcp"];
    kinds.extend_from_slice(HOSTED_CHOICES);
    match kind(at, fields, &kinds)? {
        kind @ ("function" | "custom") => {
            only(at, fields, &["type", "name"])?;
            let name_at = at.key("name");
            let name = string(name_at, required(at, fields, "name")?)?;
            let custom = kind == "custom";
            let declared = tools.top_level.iter().chain(
                tools
                    .namespaces
                    .iter()
                    .flat_map(|namespace| &namespace.tools),
            );
            if declared
                .into_iter()
                .any(|tool| tool.name == name && tool.custom == custom)
            {
                return Ok(());
            }
            Err(InvalidRequest::at(
                format!("Tool choice '{kind}' with name '{name}' not found in 'tools' parameter."),
                name_at,
                None,
            ))
        }
        "allowed_tools" => {
            only(at, fields, &["type", "mode", "tools"])?;
            let mode_at = at.key("mode");
            let mode = string(mode_at, required(at, fields, "mode")?)?;
            one_of(mode_at, mode, &["auto", "required"])?;
            let list_at = at.key("tools");
            for (index, tool) in array(list_at, required(at, fields, "tools")?)?
                .iter()
                .enumerate()
            {
                object(list_at.index(index), tool)?;
            }
            Ok(())
        }
        "mcp" => {
            only(at, fields, &["type", "server_label", "name"])?;
            string(
                at.key("server_label"),
                required(at, fields, "server_label")?,
            )?;
            if let Some(name) = optional(fields, "name") {
                string(at.key("name"), name)?;
            }
            Ok(())
        }
        _ => only(at, fields, &["type"]),
    }
}
