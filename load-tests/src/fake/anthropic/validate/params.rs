//! Validation of the request parameters beside `messages` and `system`: tool definitions,
//! `tool_choice`, `thinking`, `metadata`, `output_config` and `stop_sequences`, plus the rules
//! that tie them together (thinking's budget and the sampling settings thinking forbids).

use serde_json::{Map, Value};

use super::betas::Betas;
use super::blocks::cache_control;
use super::checks::{
    Invalid, boolean, dictionary, fail, integer, list, literal, object, only, optional, required,
    string, tool_name,
};
use crate::fake::validate::Path;

const THINKING_DOCS: &str = "Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking";

/// The request's `thinking` setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Thinking {
    Disabled,
    Enabled { budget_tokens: i64 },
    Adaptive,
}

impl Thinking {
    /// Whether the model thinks (and thinking blocks are checked and produced).
    pub(super) fn is_on(self) -> bool {
        !matches!(self, Thinking::Disabled)
    }
}

/// The names of the custom tools a request declares.
#[derive(Debug, Default)]
pub(super) struct Tools<'a> {
    pub names: Vec<&'a str>,
    /// Those declared with `defer_loading: true`.
    pub deferred: Vec<&'a str>,
}

const TOOL_FIELDS: &[&str] = &[
    "type",
    "name",
    "description",
    "input_schema",
    "cache_control",
    "strict",
];

const ADVANCED_TOOL_FIELDS: &[&str] = &[
    "type",
    "name",
    "description",
    "input_schema",
    "cache_control",
    "strict",
    "defer_loading",
    "input_examples",
];

/// `tools`: custom tool definitions; `defer_loading` and `input_examples` only under the
/// advanced-tool-use beta.
pub(super) fn tools(value: &Value, betas: Betas) -> Result<Tools<'_>, Invalid> {
    let at = Path::Root("tools");
    let mut tools = Tools::default();
    for (index, tool) in list(at, value)?.iter().enumerate() {
        let at = at.index(index);
        let fields = object(at, tool)?;
        if let Some(kind) = optional(fields, "type") {
            literal(at.key("type"), kind, &["custom"])?;
        }
        let allowed = if betas.advanced_tool_use {
            ADVANCED_TOOL_FIELDS
        } else {
            TOOL_FIELDS
        };
        only(at, fields, allowed)?;
        let name = string(at.key("name"), required(at, fields, "name")?)?;
        tool_name(at.key("name"), name)?;
        if let Some(description) = optional(fields, "description") {
            string(at.key("description"), description)?;
        }
        if let Some(strict) = optional(fields, "strict") {
            boolean(at.key("strict"), strict)?;
        }
        let schema_at = at.key("input_schema");
        let schema = dictionary(schema_at, required(at, fields, "input_schema")?)?;
        literal(
            schema_at.key("type"),
            required(schema_at, schema, "type")?,
            &["object"],
        )?;
        cache_control(at, fields)?;
        if let Some(examples) = optional(fields, "input_examples") {
            let examples_at = at.key("input_examples");
            for (index, example) in list(examples_at, examples)?.iter().enumerate() {
                dictionary(examples_at.index(index), example)?;
            }
        }
        if tools.names.contains(&name) {
            return Err(fail(at, "Tool names must be unique."));
        }
        tools.names.push(name);
        if let Some(deferred) = optional(fields, "defer_loading")
            && boolean(at.key("defer_loading"), deferred)?
        {
            tools.deferred.push(name);
        }
    }
    Ok(tools)
}

/// `tool_choice`. Returns whether it forces tool use (`any` or `tool`).
pub(super) fn tool_choice(value: &Value, tools: &[&str]) -> Result<bool, Invalid> {
    let at = Path::Root("tool_choice");
    let fields = object(at, value)?;
    let kind = literal(
        at.key("type"),
        required(at, fields, "type")?,
        &["auto", "any", "tool", "none"],
    )?;
    let allowed: &[&str] = match kind {
        "tool" => &["type", "name", "disable_parallel_tool_use"],
        "none" => &["type"],
        _ => &["type", "disable_parallel_tool_use"],
    };
    only(at, fields, allowed)?;
    if let Some(flag) = optional(fields, "disable_parallel_tool_use") {
        boolean(at.key("disable_parallel_tool_use"), flag)?;
    }
    if kind == "tool" {
        let name = string(at.key("name"), required(at, fields, "name")?)?;
        if !tools.is_empty() && !tools.contains(&name) {
            return Err(fail(
                at.key("name"),
                format!("Tool '{name}' not found in provided tools"),
            ));
        }
    }
    Ok(matches!(kind, "any" | "tool"))
}

/// `thinking`: `{"type":"enabled","budget_tokens":N}`, `{"type":"disabled"}` or
/// `{"type":"adaptive"}`, the first and last with an optional `display`.
pub(super) fn thinking(value: &Value) -> Result<Thinking, Invalid> {
    let at = Path::Root("thinking");
    let fields = object(at, value)?;
    let kind = literal(
        at.key("type"),
        required(at, fields, "type")?,
        &["enabled", "disabled", "adaptive"],
    )?;
    let thinking = match kind {
        "enabled" => {
            only(at, fields, &["type", "budget_tokens", "display"])?;
            let budget_tokens = integer(
                at.key("budget_tokens"),
                required(at, fields, "budget_tokens")?,
                1024,
            )?;
            Thinking::Enabled { budget_tokens }
        }
        "disabled" => {
            only(at, fields, &["type"])?;
            return Ok(Thinking::Disabled);
        }
        _ => {
            only(at, fields, &["type", "display"])?;
            Thinking::Adaptive
        }
    };
    if let Some(display) = optional(fields, "display") {
        literal(at.key("display"), display, &["summarized", "omitted"])?;
    }
    Ok(thinking)
}

/// What thinking forbids: a budget that does not fit in `max_tokens`, a temperature other than 1,
/// `top_k`, `top_p` below 0.95 and forced tool use.
pub(super) fn thinking_rules(
    fields: &Map<String, Value>,
    thinking: Thinking,
    max_tokens: Option<i64>,
    forces_tool_use: bool,
) -> Result<(), Invalid> {
    if let (Thinking::Enabled { budget_tokens }, Some(max_tokens)) = (thinking, max_tokens)
        && budget_tokens >= max_tokens
    {
        return Err(Invalid::new(format!(
            "`max_tokens` must be greater than `thinking.budget_tokens`. {THINKING_DOCS}#max-tokens-and-context-window-size"
        )));
    }
    if !thinking.is_on() {
        return Ok(());
    }
    let number = |key: &str| optional(fields, key).and_then(Value::as_f64);
    if number("temperature").is_some_and(|temperature| temperature != 1.0) {
        return Err(Invalid::new(format!(
            "`temperature` may only be set to 1 when thinking is enabled. {THINKING_DOCS}#feature-compatibility"
        )));
    }
    if optional(fields, "top_k").is_some() {
        return Err(Invalid::new(format!(
            "`top_k` must be unset when thinking is enabled. {THINKING_DOCS}#feature-compatibility"
        )));
    }
    if number("top_p").is_some_and(|top_p| top_p < 0.95) {
        return Err(Invalid::new(format!(
            "`top_p` must be greater than or equal to 0.95 or unset when thinking is enabled. {THINKING_DOCS}#feature-compatibility"
        )));
    }
    if forces_tool_use {
        return Err(Invalid::new(
            "Thinking may not be enabled when tool_choice forces tool use.",
        ));
    }
    Ok(())
}

/// `metadata`: `{"user_id"?: string}`.
pub(super) fn metadata(value: &Value) -> Result<(), Invalid> {
    let at = Path::Root("metadata");
    let fields = object(at, value)?;
    only(at, fields, &["user_id"])?;
    if let Some(user_id) = optional(fields, "user_id") {
        string(at.key("user_id"), user_id)?;
    }
    Ok(())
}

/// `output_config`: `{"effort"?: low…max, "format"?: {"type":"json_schema","schema":{…}}}`.
pub(super) fn output_config(value: &Value) -> Result<(), Invalid> {
    let at = Path::Root("output_config");
    let fields = object(at, value)?;
    only(at, fields, &["effort", "format"])?;
    if let Some(effort) = optional(fields, "effort") {
        literal(
            at.key("effort"),
            effort,
            &["low", "medium", "high", "xhigh", "max"],
        )?;
    }
    if let Some(format) = optional(fields, "format") {
        let format_at = at.key("format");
        let format = object(format_at, format)?;
        only(format_at, format, &["type", "schema"])?;
        literal(
            format_at.key("type"),
            required(format_at, format, "type")?,
            &["json_schema"],
        )?;
        dictionary(
            format_at.key("schema"),
            required(format_at, format, "schema")?,
        )?;
    }
    Ok(())
}

/// `stop_sequences`: a list of strings.
pub(super) fn stop_sequences(value: &Value) -> Result<(), Invalid> {
    let at = Path::Root("stop_sequences");
    for (index, item) in list(at, value)?.iter().enumerate() {
        string(at.index(index), item)?;
    }
    Ok(())
}
