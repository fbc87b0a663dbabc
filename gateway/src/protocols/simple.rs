//! `POST /api/request`: the simple JSON endpoint for callers without an LLM SDK.
//!
//! ```json
//! {"query": "Summarise this…", "request_type": "chat",
//!  "context": {"model": "gpt-4o-mini", "provider": "openai", "strict_provider": false,
//!              "system": "Be brief.", "max_tokens": 200, "temperature": 0.2}}
//! ```
//! answers `{"response": "<text>", "metadata": {provider, channel, model, usage, latency_ms,
//! attempts}}`; errors use OpenAI's error object.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::canonical::{
    ChatRequest, ChatResponse, ContentPart, Family, Message, Role, RoutingPreferences, Sampling,
};
use crate::error::GatewayError;
use crate::protocols::shared;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireRequest {
    query: String,
    #[serde(default)]
    request_type: Option<String>,
    #[serde(default)]
    context: WireContext,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct WireContext {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    provider: Option<String>,
    #[serde(default)]
    strict_provider: Option<bool>,
    #[serde(default)]
    system: Option<String>,
    #[serde(default)]
    max_tokens: Option<u64>,
    #[serde(default)]
    temperature: Option<f64>,
}

/// Where the answer came from, for the `metadata` object.
pub struct Served<'a> {
    pub provider: &'a str,
    pub channel: &'a str,
    pub attempts: u32,
    pub elapsed: Duration,
}

pub fn decode(body: &[u8]) -> Result<ChatRequest, GatewayError> {
    let wire: WireRequest = shared::parse_json(
        body,
        "The request body is not valid JSON",
        |path, problem| format!("Invalid value for '{path}': {problem}"),
    )?;
    if wire.query.trim().is_empty() {
        return Err(GatewayError::invalid_param(
            "query",
            "'query' must not be empty.",
        ));
    }
    match wire.request_type.as_deref() {
        None | Some("chat") | Some("completion") | Some("llm") => {}
        Some(other) => {
            return Err(GatewayError::invalid_param(
                "request_type",
                format!("Unsupported request_type '{other}'; use 'chat'."),
            ));
        }
    }
    let context = wire.context;
    let model = context
        .model
        .filter(|model| !model.trim().is_empty())
        .ok_or_else(|| {
            GatewayError::invalid_param(
                "context.model",
                "Missing required parameter: 'context.model'.",
            )
        })?;
    let mut messages = Vec::with_capacity(2);
    if let Some(system) = context.system.filter(|system| !system.is_empty()) {
        messages.push(Message {
            role: Role::System,
            name: None,
            content: vec![ContentPart::Text(system)],
            plain_text: true,
            extensions: Default::default(),
        });
    }
    messages.push(Message {
        role: Role::User,
        name: None,
        content: vec![ContentPart::Text(wire.query)],
        plain_text: true,
        extensions: Default::default(),
    });
    Ok(ChatRequest {
        model,
        messages,
        sampling: Sampling {
            temperature: context.temperature,
            ..Sampling::default()
        },
        max_output_tokens: context.max_tokens,
        extension_family: Family::OpenAi,
        routing: RoutingPreferences {
            order: context.provider.into_iter().collect(),
            allow_fallbacks: context.strict_provider.map(|strict| !strict),
            ..RoutingPreferences::default()
        },
        ..ChatRequest::default()
    })
}

pub fn encode(response: &ChatResponse, served: &Served<'_>) -> Value {
    let text: String = response
        .choices
        .first()
        .map(|choice| {
            choice
                .content
                .iter()
                .filter_map(|part| match part {
                    ContentPart::Text(text) | ContentPart::Refusal(text) => Some(text.as_str()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    let usage = response.usage.unwrap_or_default();
    json!({
        "response": text,
        "metadata": {
            "provider": served.provider,
            "channel": served.channel,
            "model": response.model,
            "finish_reason": response.choices.first().and_then(|choice| choice.finish_reason.as_ref()).map(|reason| reason.as_openai().to_owned()),
            "usage": {
                "input_tokens": usage.total_input(),
                "output_tokens": usage.output_tokens,
                "total_tokens": usage.total(),
            },
            "latency_ms": served.elapsed.as_millis() as u64,
            "attempts": served.attempts,
        },
    })
}
