//! Validation of every top-level parameter besides `messages` and `system`: `inferenceConfig`,
//! `toolConfig`, `additionalModelRequestFields` (any object; the fake reads whether it turns
//! reasoning on), and the pass-through settings `guardrailConfig`, `promptVariables`,
//! `additionalModelResponseFieldPaths`, `requestMetadata`, `performanceConfig`, `serviceTier`
//! and `outputConfig`, each checked against the service model's shape.
//!
//! `stopSequences` is held to at most four entries: stricter than the service model (2500), as
//! asked of the fake, so a gateway that forwards an unbounded list is caught.

use serde_json::{Map, Value};

use super::blocks::cache_point;
use super::checks::{
    Checked, array, boolean, constraint, enumerated, integer, length, malformed, number, object,
    only, optional, required, string, tool_name, union,
};
use crate::fake::validate::Path;

const MAX_STOP_SEQUENCES: usize = 4;

/// What the answer depends on in `inferenceConfig`.
#[derive(Debug, Default)]
pub(super) struct Inference<'a> {
    pub max_tokens: Option<u64>,
    pub stop_sequences: Vec<&'a str>,
}

/// `inferenceConfig`; returns `maxTokens` and `stopSequences` when set.
pub(super) fn inference_config(value: &Value) -> Checked<Inference<'_>> {
    let at = Path::Root("inferenceConfig");
    let fields = object(at, value)?;
    only(
        at,
        fields,
        &["maxTokens", "temperature", "topP", "stopSequences"],
    )?;
    let max_tokens = match optional(fields, "maxTokens") {
        Some(max) => Some(integer(at.key("maxTokens"), max, 1)?),
        None => None,
    };
    if let Some(temperature) = optional(fields, "temperature") {
        number(at.key("temperature"), temperature, 0.0, 1.0)?;
    }
    if let Some(top_p) = optional(fields, "topP") {
        number(at.key("topP"), top_p, 0.0, 1.0)?;
    }
    let mut stop_sequences = Vec::new();
    if let Some(stops) = optional(fields, "stopSequences") {
        let stops_at = at.key("stopSequences");
        let stops = array(stops_at, stops)?;
        if stops.len() > MAX_STOP_SEQUENCES {
            return Err(constraint(
                stops_at,
                Value::Array(stops.to_vec()),
                format!("have length less than or equal to {MAX_STOP_SEQUENCES}"),
            ));
        }
        for (index, stop) in stops.iter().enumerate() {
            stop_sequences.push(length(stops_at.index(index), stop, 1, usize::MAX)?);
        }
    }
    Ok(Inference {
        max_tokens: max_tokens.and_then(|max| u64::try_from(max).ok()),
        stop_sequences,
    })
}

/// `toolConfig`; returns the names of the tools it defines.
pub(super) fn tool_config(value: &Value) -> Checked<Vec<&str>> {
    let at = Path::Root("toolConfig");
    let fields = object(at, value)?;
    only(at, fields, &["tools", "toolChoice"])?;
    let tools_at = at.key("tools");
    let tools = array(tools_at, required(at, fields, "tools")?)?;
    if tools.is_empty() {
        return Err(constraint(
            tools_at,
            "[]",
            "have length greater than or equal to 1",
        ));
    }
    let mut names: Vec<&str> = Vec::with_capacity(tools.len());
    for (index, tool) in tools.iter().enumerate() {
        let tool_at = tools_at.index(index);
        let (member, value) = union(tool_at, tool, &["toolSpec", "systemTool", "cachePoint"])?;
        let member_at = tool_at.key(member);
        let name = match member {
            "toolSpec" => tool_spec(member_at, value)?,
            "systemTool" => {
                let fields = object(member_at, value)?;
                only(member_at, fields, &["name"])?;
                tool_name(member_at.key("name"), required(member_at, fields, "name")?)?
            }
            _ => {
                cache_point(member_at, value)?;
                continue;
            }
        };
        if names.contains(&name) {
            return Err(malformed(
                member_at.key("name"),
                format!("tool names must be unique, {name} is defined twice"),
            ));
        }
        names.push(name);
    }
    if let Some(choice) = optional(fields, "toolChoice") {
        tool_choice(at.key("toolChoice"), choice, &names)?;
    }
    Ok(names)
}

fn tool_spec<'a>(at: Path<'_>, value: &'a Value) -> Checked<&'a str> {
    let fields = object(at, value)?;
    only(
        at,
        fields,
        &["name", "description", "inputSchema", "strict"],
    )?;
    let name = tool_name(at.key("name"), required(at, fields, "name")?)?;
    if let Some(description) = optional(fields, "description") {
        length(at.key("description"), description, 1, usize::MAX)?;
    }
    let schema_at = at.key("inputSchema");
    let (_, schema) = union(schema_at, required(at, fields, "inputSchema")?, &["json"])?;
    object(schema_at.key("json"), schema)?;
    if let Some(strict) = optional(fields, "strict") {
        boolean(at.key("strict"), strict)?;
    }
    Ok(name)
}

fn tool_choice(at: Path<'_>, value: &Value, names: &[&str]) -> Checked<()> {
    let (member, value) = union(at, value, &["auto", "any", "tool"])?;
    let member_at = at.key(member);
    let fields = object(member_at, value)?;
    if member != "tool" {
        return only(member_at, fields, &[]);
    }
    only(member_at, fields, &["name"])?;
    let name_at = member_at.key("name");
    let name = tool_name(name_at, required(member_at, fields, "name")?)?;
    if names.contains(&name) {
        return Ok(());
    }
    Err(malformed(
        name_at,
        format!("{name} is not the name of a tool in toolConfig.tools"),
    ))
}

/// `additionalModelRequestFields`: any object. Reasoning is on when it carries Claude's
/// `thinking` with `type` `enabled` or `adaptive`, or a `reasoning_config` / `reasoningConfig`
/// with `type` `enabled`.
pub(super) fn additional_fields(value: &Value) -> Checked<bool> {
    let fields = object(Path::Root("additionalModelRequestFields"), value)?;
    let kind = |key: &str| fields.get(key)?.get("type")?.as_str();
    let thinking = matches!(kind("thinking"), Some("enabled" | "adaptive"));
    let reasoning = ["reasoning_config", "reasoningConfig"]
        .iter()
        .any(|key| kind(key) == Some("enabled"));
    Ok(thinking || reasoning)
}

/// The pass-through settings.
pub(super) fn settings(fields: &Map<String, Value>) -> Checked<()> {
    if let Some(guardrail) = optional(fields, "guardrailConfig") {
        guardrail_config(guardrail)?;
    }
    if let Some(variables) = optional(fields, "promptVariables") {
        let at = Path::Root("promptVariables");
        for (name, value) in object(at, variables)? {
            let variable_at = at.key(name);
            let (_, text) = union(variable_at, value, &["text"])?;
            string(variable_at.key("text"), text)?;
        }
    }
    if let Some(paths) = optional(fields, "additionalModelResponseFieldPaths") {
        let at = Path::Root("additionalModelResponseFieldPaths");
        let paths = array(at, paths)?;
        if paths.len() > 10 {
            return Err(constraint(
                at,
                paths.len(),
                "have length less than or equal to 10",
            ));
        }
        for (index, path) in paths.iter().enumerate() {
            length(at.index(index), path, 1, 256)?;
        }
    }
    if let Some(metadata) = optional(fields, "requestMetadata") {
        request_metadata(metadata)?;
    }
    if let Some(performance) = optional(fields, "performanceConfig") {
        let at = Path::Root("performanceConfig");
        let performance = object(at, performance)?;
        only(at, performance, &["latency"])?;
        if let Some(latency) = optional(performance, "latency") {
            enumerated(at.key("latency"), latency, &["standard", "optimized"])?;
        }
    }
    if let Some(tier) = optional(fields, "serviceTier") {
        let at = Path::Root("serviceTier");
        let tier = object(at, tier)?;
        only(at, tier, &["type"])?;
        let kinds = ["priority", "default", "flex", "reserved"];
        enumerated(at.key("type"), required(at, tier, "type")?, &kinds)?;
    }
    if let Some(output) = optional(fields, "outputConfig") {
        output_config(output)?;
    }
    Ok(())
}

fn guardrail_config(value: &Value) -> Checked<()> {
    let at = Path::Root("guardrailConfig");
    let fields = object(at, value)?;
    only(
        at,
        fields,
        &[
            "guardrailIdentifier",
            "guardrailVersion",
            "trace",
            "streamProcessingMode",
        ],
    )?;
    for key in ["guardrailIdentifier", "guardrailVersion"] {
        if let Some(value) = optional(fields, key) {
            string(at.key(key), value)?;
        }
    }
    if let Some(trace) = optional(fields, "trace") {
        enumerated(
            at.key("trace"),
            trace,
            &["enabled", "disabled", "enabled_full"],
        )?;
    }
    if let Some(mode) = optional(fields, "streamProcessingMode") {
        enumerated(at.key("streamProcessingMode"), mode, &["sync", "async"])?;
    }
    Ok(())
}

fn request_metadata(value: &Value) -> Checked<()> {
    let at = Path::Root("requestMetadata");
    let entries = object(at, value)?;
    if !(1..=16).contains(&entries.len()) {
        return Err(constraint(
            at,
            entries.len(),
            "have length between 1 and 16 entries",
        ));
    }
    for (key, value) in entries {
        if key.is_empty() || key.chars().count() > 256 {
            return Err(constraint(at, key, "have keys of 1 to 256 characters"));
        }
        length(at.key(key), value, 0, 256)?;
    }
    Ok(())
}

fn output_config(value: &Value) -> Checked<()> {
    let at = Path::Root("outputConfig");
    let fields = object(at, value)?;
    only(at, fields, &["textFormat"])?;
    let Some(format) = optional(fields, "textFormat") else {
        return Ok(());
    };
    let format_at = at.key("textFormat");
    let format = object(format_at, format)?;
    only(format_at, format, &["type", "structure"])?;
    enumerated(
        format_at.key("type"),
        required(format_at, format, "type")?,
        &["json_schema"],
    )?;
    let structure_at = format_at.key("structure");
    let structure = required(format_at, format, "structure")?;
    let (_, schema) = union(structure_at, structure, &["jsonSchema"])?;
    let schema_at = structure_at.key("jsonSchema");
    let schema = object(schema_at, schema)?;
    only(schema_at, schema, &["schema", "name", "description"])?;
    string(
        schema_at.key("schema"),
        required(schema_at, schema, "schema")?,
    )?;
    for key in ["name", "description"] {
        if let Some(value) = optional(schema, key) {
            string(schema_at.key(key), value)?;
        }
    }
    Ok(())
}
