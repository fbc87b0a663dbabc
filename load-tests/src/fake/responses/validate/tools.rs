//! Validation of the Responses API's `tools`. Tools are flat
//! (`{"type":"function","name":…}`, no nested `function` object) and come in many types: the
//! client's own `function` and `custom` tools, `namespace` groups of them, and hosted tools
//! (`web_search`, `file_search`, `code_interpreter`, `mcp`, shells, …) whose fields are held to
//! their schemas. Returns the declared names, which the answer, `tool_choice` (`choice.rs`) and
//! the input checks need.

use serde_json::{Map, Value};

use super::{only, optional};
use crate::fake::validate::{
    InvalidRequest, Path, array, boolean, function_name, integer, invalid_type, object, one_of,
    required, string,
};

/// A client tool the model may call: a `function` or a `custom` (free-form input) tool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Declared<'a> {
    pub name: &'a str,
    pub custom: bool,
}

/// A `namespace` tool: a named group of client tools.
#[derive(Debug)]
pub(crate) struct Namespace<'a> {
    pub name: &'a str,
    pub tools: Vec<Declared<'a>>,
}

/// What a request's `tools` declare.
#[derive(Debug, Default)]
pub(crate) struct Tools<'a> {
    /// Top-level `function` and `custom` tools.
    pub top_level: Vec<Declared<'a>>,
    pub namespaces: Vec<Namespace<'a>>,
    /// A hosted web search tool is offered.
    pub web_search: bool,
}

impl Tools<'_> {
    /// The top-level client tool called `name`.
    pub(crate) fn top_level(&self, name: &str) -> Option<Declared<'_>> {
        self.top_level
            .iter()
            .copied()
            .find(|tool| tool.name == name)
    }

    /// The namespace called `name`.
    pub(crate) fn namespace(&self, name: &str) -> Option<&Namespace<'_>> {
        self.namespaces
            .iter()
            .find(|namespace| namespace.name == name)
    }
}

impl Namespace<'_> {
    /// Its client tool called `name`.
    pub(crate) fn tool(&self, name: &str) -> Option<Declared<'_>> {
        self.tools.iter().copied().find(|tool| tool.name == name)
    }
}

const TYPES: &[&str] = &[
    "function",
    "custom",
    "namespace",
    "web_search",
    "web_search_2025_08_26",
    "web_search_preview",
    "web_search_preview_2025_03_11",
    "file_search",
    "code_interpreter",
    "image_generation",
    "mcp",
    "local_shell",
    "shell",
    "computer",
    "computer_use_preview",
    "tool_search",
    "apply_patch",
    "programmatic_tool_calling",
];

const CALLERS: &[&str] = &["direct", "programmatic"];
const CONTEXT_SIZES: &[&str] = &["low", "medium", "high"];

/// `tools`.
pub(super) fn tools(value: &Value) -> Result<Tools<'_>, InvalidRequest> {
    let at = Path::Root("tools");
    let mut tools = Tools::default();
    for (index, tool) in array(at, value)?.iter().enumerate() {
        let at = at.index(index);
        let fields = object(at, tool)?;
        let kind = kind(at, fields, TYPES)?;
        match kind {
            "function" | "custom" => {
                let declared = client_tool(at, fields, kind)?;
                if tools
                    .top_level
                    .iter()
                    .any(|tool| tool.name == declared.name)
                {
                    return Err(duplicate(at.key("name"), declared.name));
                }
                tools.top_level.push(declared);
            }
            "namespace" => {
                let namespace = namespace(at, fields)?;
                if tools.namespace(namespace.name).is_some() {
                    return Err(duplicate(at.key("name"), namespace.name));
                }
                tools.namespaces.push(namespace);
            }
            _ => {
                hosted(at, fields, kind)?;
                tools.web_search |= kind.starts_with("web_search");
            }
        }
    }
    Ok(tools)
}

/// The `type` of an object, which must be one of `allowed`.
pub(super) fn kind<'a>(
    at: Path<'_>,
    fields: &'a Map<String, Value>,
    allowed: &[&str],
) -> Result<&'a str, InvalidRequest> {
    let kind_at = at.key("type");
    let kind = string(kind_at, required(at, fields, "type")?)?;
    one_of(kind_at, kind, allowed)?;
    Ok(kind)
}

fn duplicate(at: Path<'_>, name: &str) -> InvalidRequest {
    InvalidRequest::at(
        format!("Duplicate tool name: '{name}'. Tool names must be unique."),
        at,
        Some("invalid_value"),
    )
}

/// A `function` or `custom` tool, top-level or inside a namespace.
fn client_tool<'a>(
    at: Path<'_>,
    fields: &'a Map<String, Value>,
    kind: &str,
) -> Result<Declared<'a>, InvalidRequest> {
    let custom = kind == "custom";
    let allowed: &[&str] = if custom {
        &[
            "type",
            "name",
            "description",
            "format",
            "defer_loading",
            "allowed_callers",
        ]
    } else {
        &[
            "type",
            "name",
            "description",
            "parameters",
            "strict",
            "defer_loading",
            "allowed_callers",
            "output_schema",
        ]
    };
    only(at, fields, allowed)?;
    let name_at = at.key("name");
    let name = string(name_at, required(at, fields, "name")?)?;
    function_name(name_at, name)?;
    if let Some(description) = optional(fields, "description") {
        string(at.key("description"), description)?;
    }
    for key in ["parameters", "output_schema"] {
        if let Some(schema) = optional(fields, key) {
            object(at.key(key), schema)?;
        }
    }
    for key in ["strict", "defer_loading"] {
        if let Some(flag) = optional(fields, key) {
            boolean(at.key(key), flag)?;
        }
    }
    if let Some(callers) = optional(fields, "allowed_callers") {
        strings_of(at.key("allowed_callers"), callers, Some(CALLERS))?;
    }
    if let Some(format) = optional(fields, "format") {
        custom_format(at.key("format"), format)?;
    }
    Ok(Declared { name, custom })
}

/// A custom tool's `format`: `{"type":"text"}` or a `grammar` (`lark` or `regex`).
fn custom_format(at: Path<'_>, value: &Value) -> Result<(), InvalidRequest> {
    let fields = object(at, value)?;
    if kind(at, fields, &["text", "grammar"])? == "text" {
        return only(at, fields, &["type"]);
    }
    only(at, fields, &["type", "syntax", "definition"])?;
    let syntax_at = at.key("syntax");
    let syntax = string(syntax_at, required(at, fields, "syntax")?)?;
    one_of(syntax_at, syntax, &["lark", "regex"])?;
    string(at.key("definition"), required(at, fields, "definition")?).map(drop)
}

/// A `namespace`: a name, a description and a list of `function` / `custom` tools only.
fn namespace<'a>(
    at: Path<'_>,
    fields: &'a Map<String, Value>,
) -> Result<Namespace<'a>, InvalidRequest> {
    only(at, fields, &["type", "name", "description", "tools"])?;
    let name_at = at.key("name");
    let name = string(name_at, required(at, fields, "name")?)?;
    function_name(name_at, name)?;
    string(at.key("description"), required(at, fields, "description")?)?;
    let inner_at = at.key("tools");
    let mut tools: Vec<Declared<'a>> = Vec::new();
    for (index, tool) in array(inner_at, required(at, fields, "tools")?)?
        .iter()
        .enumerate()
    {
        let tool_at = inner_at.index(index);
        let tool_fields = object(tool_at, tool)?;
        let kind = kind(tool_at, tool_fields, &["function", "custom"])?;
        let declared = client_tool(tool_at, tool_fields, kind)?;
        if tools.iter().any(|tool| tool.name == declared.name) {
            return Err(duplicate(tool_at.key("name"), declared.name));
        }
        tools.push(declared);
    }
    Ok(Namespace { name, tools })
}

/// A hosted tool of type `kind`: only its own fields, with the ones the fake can check checked.
fn hosted(at: Path<'_>, fields: &Map<String, Value>, kind: &str) -> Result<(), InvalidRequest> {
    let allowed: &[&str] = match kind {
        "web_search" | "web_search_2025_08_26" => &[
            "type",
            "external_web_access",
            "filters",
            "search_context_size",
            "user_location",
        ],
        "web_search_preview" | "web_search_preview_2025_03_11" => &[
            "type",
            "search_content_types",
            "search_context_size",
            "user_location",
        ],
        "file_search" => &[
            "type",
            "vector_store_ids",
            "filters",
            "max_num_results",
            "ranking_options",
        ],
        "code_interpreter" => &["type", "container", "allowed_callers"],
        "image_generation" => &[
            "type",
            "action",
            "background",
            "input_fidelity",
            "input_image_mask",
            "model",
            "moderation",
            "output_compression",
            "output_format",
            "partial_images",
            "quality",
            "size",
        ],
        "mcp" => &[
            "type",
            "server_label",
            "server_url",
            "connector_id",
            "authorization",
            "headers",
            "allowed_tools",
            "require_approval",
            "server_description",
            "defer_loading",
            "allowed_callers",
            "tunnel_id",
        ],
        "shell" => &["type", "allowed_callers", "environment"],
        "computer_use_preview" => &["type", "display_height", "display_width", "environment"],
        "tool_search" => &["type", "description", "execution", "parameters"],
        "apply_patch" => &["type", "allowed_callers"],
        _ => &["type"],
    };
    only(at, fields, allowed)?;
    match kind {
        "file_search" => {
            let ids_at = at.key("vector_store_ids");
            strings_of(ids_at, required(at, fields, "vector_store_ids")?, None)?;
            if let Some(max) = optional(fields, "max_num_results") {
                integer(at.key("max_num_results"), max, Some(1), Some(50))?;
            }
        }
        "code_interpreter" => match required(at, fields, "container")? {
            Value::String(_) | Value::Object(_) => {}
            other => {
                return Err(invalid_type(
                    at.key("container"),
                    "a string or object",
                    other,
                ));
            }
        },
        "mcp" => {
            string(
                at.key("server_label"),
                required(at, fields, "server_label")?,
            )?;
        }
        "computer_use_preview" => {
            for key in ["display_height", "display_width"] {
                integer(at.key(key), required(at, fields, key)?, Some(1), None)?;
            }
            let environment_at = at.key("environment");
            let environment = string(environment_at, required(at, fields, "environment")?)?;
            let environments = ["windows", "mac", "linux", "ubuntu", "browser"];
            one_of(environment_at, environment, &environments)?;
        }
        _ => {}
    }
    if kind.starts_with("web_search") {
        web_search(at, fields)?;
    }
    Ok(())
}

/// The settings every web search tool shares.
fn web_search(at: Path<'_>, fields: &Map<String, Value>) -> Result<(), InvalidRequest> {
    if let Some(flag) = optional(fields, "external_web_access") {
        boolean(at.key("external_web_access"), flag)?;
    }
    if let Some(size) = optional(fields, "search_context_size") {
        let size_at = at.key("search_context_size");
        one_of(size_at, string(size_at, size)?, CONTEXT_SIZES)?;
    }
    if let Some(filters) = optional(fields, "filters") {
        let filters_at = at.key("filters");
        let filters = object(filters_at, filters)?;
        only(filters_at, filters, &["allowed_domains"])?;
        if let Some(domains) = optional(filters, "allowed_domains") {
            strings_of(filters_at.key("allowed_domains"), domains, None)?;
        }
    }
    if let Some(location) = optional(fields, "user_location") {
        let location_at = at.key("user_location");
        let location = object(location_at, location)?;
        only(
            location_at,
            location,
            &["type", "city", "country", "region", "timezone"],
        )?;
        if let Some(kind) = optional(location, "type") {
            let kind_at = location_at.key("type");
            one_of(kind_at, string(kind_at, kind)?, &["approximate"])?;
        }
    }
    Ok(())
}

/// A list of strings, each one of `allowed` when given.
fn strings_of(at: Path<'_>, value: &Value, allowed: Option<&[&str]>) -> Result<(), InvalidRequest> {
    for (index, item) in array(at, value)?.iter().enumerate() {
        let item_at = at.index(index);
        let item = string(item_at, item)?;
        if let Some(allowed) = allowed {
            one_of(item_at, item, allowed)?;
        }
    }
    Ok(())
}
