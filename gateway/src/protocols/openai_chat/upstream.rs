//! Canonical → Chat Completions requests, for OpenAI-family upstreams.

use serde_json::{Map, Value};

use super::wire::{
    WireFunction, WireFunctionCall, WireMessage, WireRequest, WireStop, WireStreamOptions,
    WireTool, WireToolCall,
};
use crate::canonical::{
    ChatRequest, ContentPart, Family, Message, ResponseFormat, Role, ToolChoice,
};
use crate::error::GatewayError;
use crate::protocols::fit::Fit;

/// Builds the upstream request body for an OpenAI-family server.
pub fn encode(
    request: &ChatRequest,
    upstream_model: &str,
    ask_for_usage: bool,
    fit: &mut Fit,
) -> Result<WireRequest, GatewayError> {
    fit.foreign(request)?;
    let forward_extensions = request.extension_family == Family::OpenAi;
    let messages = request
        .messages
        .iter()
        .enumerate()
        .map(|(index, message)| encode_message(index, message, fit))
        .collect::<Result<_, _>>()?;
    let tools = fit.tools(request);
    let tools = (!tools.is_empty()).then(|| {
        tools
            .into_iter()
            .map(|tool| WireTool {
                kind: "function".to_owned(),
                function: WireFunction {
                    name: tool.name.clone(),
                    description: tool.description.clone(),
                    parameters: tool.parameters.clone(),
                    strict: tool.strict,
                },
            })
            .collect()
    });
    let mut extra = Map::new();
    let mut stream_extra = Map::new();
    for (key, value) in request.extensions.iter().filter(|_| forward_extensions) {
        match key.strip_prefix("stream_options.") {
            Some(option) => {
                stream_extra.insert(option.to_owned(), value.clone());
            }
            None => {
                extra.insert(key.clone(), value.clone());
            }
        }
    }
    let stream_options = (request.stream
        && (ask_for_usage || request.include_usage || !stream_extra.is_empty()))
    .then(|| WireStreamOptions {
        include_usage: (ask_for_usage || request.include_usage).then_some(true),
        extra: stream_extra,
    });
    let (max_tokens, max_completion_tokens) = if request.legacy_max_tokens {
        (request.max_output_tokens, None)
    } else {
        (None, request.max_output_tokens)
    };
    Ok(WireRequest {
        model: upstream_model.to_owned(),
        messages,
        stream: request.stream.then_some(true),
        stream_options,
        max_tokens,
        max_completion_tokens,
        temperature: request.sampling.temperature,
        top_p: request.sampling.top_p,
        n: request.sampling.n,
        stop: match request.stop.as_slice() {
            [] => None,
            [one] => Some(WireStop::One(one.clone())),
            many => Some(WireStop::Many(many.to_vec())),
        },
        seed: request.sampling.seed,
        user: request.user.clone(),
        parallel_tool_calls: request.parallel_tool_calls,
        reasoning_effort: request.reasoning_effort.clone(),
        tools,
        tool_choice: request.tool_choice.as_ref().map(encode_tool_choice),
        response_format: request.response_format.as_ref().map(encode_response_format),
        frequency_penalty: request.sampling.frequency_penalty,
        presence_penalty: request.sampling.presence_penalty,
        metadata: request.metadata.clone(),
        functions: None,
        function_call: None,
        extra,
    })
}

fn encode_role(role: Role) -> &'static str {
    match role {
        Role::System => "system",
        Role::Developer => "developer",
        Role::User => "user",
        Role::Assistant => "assistant",
        Role::Tool => "tool",
    }
}

fn encode_message(
    index: usize,
    message: &Message,
    fit: &mut Fit,
) -> Result<WireMessage, GatewayError> {
    let mut wire = WireMessage {
        role: encode_role(message.role).to_owned(),
        name: message.name.clone(),
        ..WireMessage::default()
    };
    let mut parts = Vec::new();
    let mut tool_calls = Vec::new();
    for part in &message.content {
        match part {
            ContentPart::ToolCall {
                id,
                name,
                arguments,
            } => tool_calls.push(WireToolCall {
                id: id.clone(),
                kind: "function".to_owned(),
                function: WireFunctionCall {
                    name: name.clone(),
                    arguments: arguments.clone(),
                },
            }),
            ContentPart::ToolResult {
                call_id, content, ..
            } => {
                wire.tool_call_id = Some(call_id.clone());
                for inner in content {
                    parts.extend(encode_part(index, inner, fit)?);
                }
            }
            ContentPart::Refusal(refusal) if message.role == Role::Assistant => {
                wire.refusal = Some(refusal.clone());
            }
            other => parts.extend(encode_part(index, other, fit)?),
        }
    }
    let single_text = match parts.as_slice() {
        [only] if message.plain_text => only.get("text").and_then(Value::as_str).map(str::to_owned),
        _ => None,
    };
    wire.content = if let Some(text) = single_text {
        Some(Value::String(text))
    } else if parts.is_empty() {
        tool_calls.is_empty().then(|| Value::String(String::new()))
    } else {
        Some(Value::Array(parts))
    };
    if !tool_calls.is_empty() {
        wire.tool_calls = Some(tool_calls);
    }
    Ok(wire)
}

fn encode_part(
    index: usize,
    part: &ContentPart,
    fit: &mut Fit,
) -> Result<Option<Value>, GatewayError> {
    let mut object = Map::new();
    match part {
        ContentPart::Text(text) => {
            object.insert("type".into(), "text".into());
            object.insert("text".into(), text.clone().into());
        }
        ContentPart::Refusal(refusal) => {
            object.insert("type".into(), "refusal".into());
            object.insert("refusal".into(), refusal.clone().into());
        }
        ContentPart::Image { url, detail } => {
            let mut image = Map::new();
            image.insert("url".into(), url.clone().into());
            if let Some(detail) = detail {
                image.insert("detail".into(), detail.clone().into());
            }
            object.insert("type".into(), "image_url".into());
            object.insert("image_url".into(), Value::Object(image));
        }
        ContentPart::Opaque {
            family: Family::OpenAi,
            value,
        } => return Ok(Some(value.clone())),
        ContentPart::Opaque { family, value } => {
            let field = format!("messages[{index}].content");
            return Ok(fit
                .foreign_part(&field, *family, value)?
                .map(|text| serde_json::json!({"type": "text", "text": text})));
        }
        // OpenAI Chat has no field for reasoning in requests; tool calls and results are
        // carried by their own message fields.
        ContentPart::Reasoning { .. }
        | ContentPart::RedactedReasoning { .. }
        | ContentPart::CachePoint(_)
        | ContentPart::ToolCall { .. }
        | ContentPart::ToolResult { .. } => {
            return Ok(None);
        }
    }
    Ok(Some(Value::Object(object)))
}

fn encode_tool_choice(choice: &ToolChoice) -> Value {
    match choice {
        ToolChoice::None => "none".into(),
        ToolChoice::Auto => "auto".into(),
        ToolChoice::Required => "required".into(),
        ToolChoice::Function(name) => {
            serde_json::json!({"type": "function", "function": {"name": name}})
        }
        ToolChoice::Opaque(value) => value.clone(),
    }
}

fn encode_response_format(format: &ResponseFormat) -> Value {
    match format {
        ResponseFormat::Text => serde_json::json!({"type": "text"}),
        ResponseFormat::JsonObject => serde_json::json!({"type": "json_object"}),
        ResponseFormat::JsonSchema {
            name,
            description,
            schema,
            strict,
        } => {
            let mut inner = Map::new();
            inner.insert("name".into(), name.clone().into());
            if let Some(description) = description {
                inner.insert("description".into(), description.clone().into());
            }
            if let Some(schema) = schema {
                inner.insert("schema".into(), schema.clone());
            }
            if let Some(strict) = strict {
                inner.insert("strict".into(), (*strict).into());
            }
            serde_json::json!({"type": "json_schema", "json_schema": inner})
        }
    }
}
