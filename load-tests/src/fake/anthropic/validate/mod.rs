//! Strict validation of an Anthropic Messages (or count_tokens) request body, the way
//! api.anthropic.com refuses bad ones: unknown fields anywhere, wrong types, out-of-range numbers,
//! malformed messages and blocks, tool calls without results, results without calls, and thinking
//! blocks that were not echoed back as the fake sent them. Every refusal is an [`Invalid`] whose
//! message names the field (`messages.1.content.0.tool_use_id: Field required`).
//!
//! Top-level fields are dispatched here; `blocks.rs` checks messages and system, `params.rs` the
//! other parameters, `conversation.rs` the rules that span messages, `betas.rs` reads the
//! `anthropic-beta` header and checks what only a beta allows. It does not check
//! authentication, the `anthropic-version` header or the model list (the handler does).

mod betas;
mod blocks;
mod checks;
mod conversation;
mod params;

use serde_json::{Map, Value};

pub(crate) use betas::Betas;
pub(crate) use checks::Invalid;
use checks::{boolean, fail, integer, literal, number, optional, string};
use params::{Thinking, Tools};

use crate::fake::validate::Path;

/// Which endpoint the body was sent to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Endpoint {
    /// `POST /v1/messages`.
    Messages,
    /// `POST /v1/messages/count_tokens`: no `max_tokens`, no sampling or streaming settings.
    CountTokens,
}

const MESSAGES_FIELDS: &[&str] = &[
    "model",
    "max_tokens",
    "messages",
    "system",
    "temperature",
    "top_p",
    "top_k",
    "stop_sequences",
    "stream",
    "metadata",
    "tools",
    "tool_choice",
    "thinking",
    "service_tier",
    "output_config",
    "cache_control",
];

const COUNT_TOKENS_FIELDS: &[&str] = &[
    "model",
    "messages",
    "system",
    "tools",
    "tool_choice",
    "thinking",
    "output_config",
    "cache_control",
];

/// The parts of a valid request the response depends on.
#[derive(Debug)]
pub(crate) struct MessagesRequest<'a> {
    pub model: &'a str,
    /// `None` for count_tokens.
    pub max_tokens: Option<u64>,
    pub system: Option<&'a Value>,
    pub messages: &'a [Value],
    pub stream: bool,
    /// `thinking` is `enabled` or `adaptive`.
    pub thinking: bool,
    /// `thinking.display` is `omitted`: thinking blocks are sent without their text.
    pub thinking_omitted: bool,
    pub stop_sequences: Vec<&'a str>,
    /// The request carries `context_management` (under its beta).
    pub context_management: bool,
    /// Tools declared with `defer_loading: true`, which the model never calls.
    pub deferred_tools: Vec<&'a str>,
}

/// Validates a parsed body sent to `endpoint` with the `betas` its headers turned on.
pub(crate) fn request(
    body: &Value,
    endpoint: Endpoint,
    betas: Betas,
) -> Result<MessagesRequest<'_>, Invalid> {
    let Some(fields) = body.as_object() else {
        return Err(Invalid::new(
            "Input should be a valid dictionary or object to extract fields from",
        ));
    };
    let allowed = match endpoint {
        Endpoint::Messages => MESSAGES_FIELDS,
        Endpoint::CountTokens => COUNT_TOKENS_FIELDS,
    };
    let known = |key: &str| {
        allowed.contains(&key) || (key == "context_management" && betas.context_management)
    };
    if let Some(key) = fields.keys().find(|key| !known(key)) {
        return Err(fail(Path::Root(key), "Extra inputs are not permitted"));
    }
    let model = match fields.get("model") {
        Some(model) => string(Path::Root("model"), model)?,
        None => return Err(fail(Path::Root("model"), "Field required")),
    };
    let max_tokens = match (endpoint, fields.get("max_tokens")) {
        (Endpoint::CountTokens, _) => None,
        (Endpoint::Messages, Some(value)) => Some(integer(Path::Root("max_tokens"), value, 1)?),
        (Endpoint::Messages, None) => {
            return Err(fail(Path::Root("max_tokens"), "Field required"));
        }
    };
    let messages = blocks::messages(fields.get("messages"), betas)?;
    let (tools, thinking, forces_tool_use) = parameters(fields, betas)?;
    params::thinking_rules(fields, thinking, max_tokens, forces_tool_use)?;
    conversation::check(messages, !tools.names.is_empty(), thinking.is_on())?;
    conversation::cache_breakpoints(fields)?;
    Ok(MessagesRequest {
        model,
        max_tokens: max_tokens.and_then(|max| u64::try_from(max).ok()),
        system: optional(fields, "system"),
        messages,
        stream: optional(fields, "stream").and_then(Value::as_bool) == Some(true),
        thinking: thinking.is_on(),
        thinking_omitted: optional(fields, "thinking")
            .and_then(|thinking| thinking.get("display"))
            .and_then(Value::as_str)
            == Some("omitted"),
        stop_sequences: optional(fields, "stop_sequences")
            .and_then(Value::as_array)
            .map(|stops| stops.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default(),
        context_management: optional(fields, "context_management").is_some(),
        deferred_tools: tools.deferred,
    })
}

/// Checks every optional parameter; returns the tools, the thinking setting and whether
/// `tool_choice` forces tool use.
fn parameters(
    fields: &Map<String, Value>,
    betas: Betas,
) -> Result<(Tools<'_>, Thinking, bool), Invalid> {
    let root = Path::Root;
    if let Some(system) = optional(fields, "system") {
        blocks::system(system)?;
    }
    if let Some(temperature) = optional(fields, "temperature") {
        number(root("temperature"), temperature, 0.0, 1.0)?;
    }
    if let Some(top_p) = optional(fields, "top_p") {
        number(root("top_p"), top_p, 0.0, 1.0)?;
    }
    if let Some(top_k) = optional(fields, "top_k") {
        integer(root("top_k"), top_k, 0)?;
    }
    if let Some(stop_sequences) = optional(fields, "stop_sequences") {
        params::stop_sequences(stop_sequences)?;
    }
    if let Some(stream) = optional(fields, "stream") {
        boolean(root("stream"), stream)?;
    }
    if let Some(metadata) = optional(fields, "metadata") {
        params::metadata(metadata)?;
    }
    if let Some(service_tier) = optional(fields, "service_tier") {
        literal(
            root("service_tier"),
            service_tier,
            &["auto", "standard_only"],
        )?;
    }
    if let Some(output_config) = optional(fields, "output_config") {
        params::output_config(output_config)?;
    }
    if let Some(cache_control) = optional(fields, "cache_control") {
        blocks::marker(root("cache_control"), cache_control)?;
    }
    if let Some(context_management) = optional(fields, "context_management") {
        betas::context_management(context_management)?;
    }
    let tools = match optional(fields, "tools") {
        Some(tools) => params::tools(tools, betas)?,
        None => Tools::default(),
    };
    let forces_tool_use = match optional(fields, "tool_choice") {
        Some(choice) => params::tool_choice(choice, &tools.names)?,
        None => false,
    };
    let thinking = match optional(fields, "thinking") {
        Some(thinking) => params::thinking(thinking)?,
        None => Thinking::Disabled,
    };
    Ok((tools, thinking, forces_tool_use))
}

#[cfg(test)]
mod tests;
