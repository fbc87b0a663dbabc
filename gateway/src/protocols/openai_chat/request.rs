//! Chat Completions requests: wire → canonical (inbound) and canonical → wire (to OpenAI-family
//! upstreams). Validation errors name the field the way OpenAI does (`messages[2].content`).

use serde_json::{Map, Value};

use super::wire::{
    WireFunction, WireMessage, WireRequest, WireStop, WireStreamOptions, WireToolCall,
};
use crate::canonical::{
    ChatRequest, ContentPart, Family, Message, ResponseFormat, Role, RoutingPreferences, Sampling,
    Tool, ToolChoice,
};
use crate::error::GatewayError;

/// Parses a request body, naming the offending field when it does not fit the schema.
pub fn parse_body(body: &[u8]) -> Result<WireRequest, GatewayError> {
    match serde_json::from_slice::<WireRequest>(body) {
        Ok(request) => Ok(request),
        Err(error) if error.is_syntax() || error.is_eof() => Err(GatewayError::invalid(format!(
            "We could not parse the JSON body of your request: {error}. Send a JSON object."
        ))),
        Err(_) => {
            // Parse again with path tracking: free on the success path, precise on failure.
            let deserializer = &mut serde_json::Deserializer::from_slice(body);
            match serde_path_to_error::deserialize::<_, WireRequest>(deserializer) {
                Ok(request) => Ok(request),
                Err(error) => Err(describe_schema_error(
                    &error.path().to_string(),
                    &error.into_inner(),
                )),
            }
        }
    }
}

/// Names the field at fault: the path serde tracked, plus the field name of a missing field.
fn describe_schema_error(path: &str, error: &serde_json::Error) -> GatewayError {
    let text = error.to_string();
    let missing = text
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next());
    let param = match (path, missing) {
        (".", Some(field)) => Some(field.to_owned()),
        (path, Some(field)) => Some(format!("{path}.{field}")),
        (".", None) => None,
        (path, None) => Some(path.to_owned()),
    };
    let message = match (&param, missing) {
        (Some(param), Some(_)) => format!("Missing required parameter: '{param}'."),
        (Some(param), None) => format!("Invalid value for '{param}': {text}"),
        (None, _) => format!("Invalid request body: {text}"),
    };
    match param {
        Some(param) => GatewayError::invalid_param(param, message),
        None => GatewayError::invalid(message),
    }
}

/// Converts a parsed wire request into the canonical request.
pub fn decode(wire: WireRequest) -> Result<ChatRequest, GatewayError> {
    if wire.model.trim().is_empty() {
        return Err(GatewayError::invalid_param(
            "model",
            "you must provide a model parameter",
        ));
    }
    if wire.messages.is_empty() {
        return Err(GatewayError::invalid_param(
            "messages",
            "Invalid 'messages': empty array. Expected an array with minimum length 1.",
        ));
    }
    check_range("temperature", wire.temperature, 0.0, 2.0)?;
    check_range("top_p", wire.top_p, 0.0, 1.0)?;
    check_range("presence_penalty", wire.presence_penalty, -2.0, 2.0)?;
    check_range("frequency_penalty", wire.frequency_penalty, -2.0, 2.0)?;
    if let Some(n) = wire.n
        && !(1..=128).contains(&n)
    {
        return Err(GatewayError::invalid_param(
            "n",
            format!("Invalid 'n': {n}. Expected a value between 1 and 128."),
        ));
    }
    let stream = wire.stream.unwrap_or(false);
    let mut extensions = wire.extra;
    let routing = take_routing(&mut extensions)?;
    let include_usage = match wire.stream_options {
        Some(_) if !stream => {
            return Err(GatewayError::invalid_param(
                "stream_options",
                "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
            ));
        }
        Some(WireStreamOptions {
            include_usage,
            extra,
        }) => {
            for (key, value) in extra {
                extensions.insert(format!("stream_options.{key}"), value);
            }
            include_usage.unwrap_or(false)
        }
        None => false,
    };

    let mut messages = Vec::with_capacity(wire.messages.len());
    for (index, message) in wire.messages.into_iter().enumerate() {
        messages.push(decode_message(index, message)?);
    }

    let mut tools = Vec::new();
    for (index, tool) in wire.tools.into_iter().flatten().enumerate() {
        if tool.kind != "function" {
            return Err(GatewayError::invalid_param(
                format!("tools[{index}].type"),
                format!(
                    "Invalid value: '{}'. Supported values are: 'function'.",
                    tool.kind
                ),
            ));
        }
        tools.push(decode_tool(tool.function));
    }
    tools.extend(wire.functions.into_iter().flatten().map(decode_tool));

    let tool_choice = match (wire.tool_choice, wire.function_call) {
        (Some(choice), _) => Some(decode_tool_choice(choice, "tool_choice")?),
        (None, Some(legacy)) => Some(decode_tool_choice(legacy, "function_call")?),
        (None, None) => None,
    };
    let (max_output_tokens, legacy_max_tokens) = match (wire.max_completion_tokens, wire.max_tokens)
    {
        (Some(current), _) => (Some(current), false),
        (None, Some(legacy)) => (Some(legacy), true),
        (None, None) => (None, false),
    };
    Ok(ChatRequest {
        model: wire.model,
        messages,
        tools,
        tool_choice,
        parallel_tool_calls: wire.parallel_tool_calls,
        sampling: Sampling {
            temperature: wire.temperature,
            top_p: wire.top_p,
            presence_penalty: wire.presence_penalty,
            frequency_penalty: wire.frequency_penalty,
            seed: wire.seed,
            top_k: None,
            n: wire.n,
        },
        max_output_tokens,
        legacy_max_tokens,
        stop: match wire.stop {
            None => Vec::new(),
            Some(WireStop::One(stop)) => vec![stop],
            Some(WireStop::Many(stops)) => stops,
        },
        response_format: wire
            .response_format
            .map(decode_response_format)
            .transpose()?,
        reasoning_effort: wire.reasoning_effort,
        user: wire.user,
        metadata: wire.metadata,
        stream,
        include_usage,
        extensions,
        extension_family: Family::OpenAi,
        reasoning_budget: None,
        routing,
        ..ChatRequest::default()
    })
}

/// OpenRouter's routing fields, which clients already send: `models` (fallback models, in
/// order) and `provider` (`order`, `only`, `ignore`, `allow_fallbacks`).
fn take_routing(extensions: &mut Map<String, Value>) -> Result<RoutingPreferences, GatewayError> {
    let names = |value: Option<&Value>, field: &str| -> Result<Vec<String>, GatewayError> {
        match value {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| item.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| {
                    GatewayError::invalid_param(
                        field,
                        format!("'{field}' must be an array of strings."),
                    )
                }),
            Some(_) => Err(GatewayError::invalid_param(
                field,
                format!("'{field}' must be an array of strings."),
            )),
        }
    };
    let mut routing = RoutingPreferences {
        fallback_models: names(extensions.remove("models").as_ref(), "models")?,
        ..RoutingPreferences::default()
    };
    if let Some(provider) = extensions.remove("provider") {
        routing.order = names(provider.get("order"), "provider.order")?;
        routing.only = names(provider.get("only"), "provider.only")?;
        routing.ignore = names(provider.get("ignore"), "provider.ignore")?;
        routing.allow_fallbacks = provider.get("allow_fallbacks").and_then(Value::as_bool);
    }
    Ok(routing)
}

fn check_range(field: &str, value: Option<f64>, min: f64, max: f64) -> Result<(), GatewayError> {
    match value {
        Some(value) if !(min..=max).contains(&value) => Err(GatewayError::invalid_param(
            field,
            format!("Invalid '{field}': {value}. Expected a value between {min} and {max}."),
        )),
        _ => Ok(()),
    }
}

fn decode_tool(function: WireFunction) -> Tool {
    Tool {
        name: function.name,
        description: function.description,
        parameters: function.parameters,
        strict: function.strict,
        cache: None,
        extensions: Default::default(),
    }
}

fn decode_role(index: usize, role: &str) -> Result<Role, GatewayError> {
    Ok(match role {
        "system" => Role::System,
        "developer" => Role::Developer,
        "user" => Role::User,
        "assistant" => Role::Assistant,
        "tool" | "function" => Role::Tool,
        other => {
            return Err(GatewayError::invalid_param(
                format!("messages[{index}].role"),
                format!(
                    "Invalid value: '{other}'. Supported values are: 'system', 'developer', 'user', 'assistant', and 'tool'."
                ),
            ));
        }
    })
}

fn decode_message(index: usize, wire: WireMessage) -> Result<Message, GatewayError> {
    let role = decode_role(index, &wire.role)?;
    let field = format!("messages[{index}].content");
    let (mut content, plain_text) = match wire.content {
        None | Some(Value::Null) => (Vec::new(), false),
        Some(Value::String(text)) => (vec![ContentPart::Text(text)], true),
        Some(Value::Array(parts)) => {
            let mut decoded = Vec::with_capacity(parts.len());
            for (part_index, part) in parts.into_iter().enumerate() {
                decoded.push(decode_part(&format!("{field}[{part_index}]"), role, part)?);
            }
            (decoded, false)
        }
        Some(_) => {
            return Err(GatewayError::invalid_param(
                field,
                "Invalid type: expected a string or an array of content parts.",
            ));
        }
    };
    if let Some(refusal) = wire.refusal {
        content.push(ContentPart::Refusal(refusal));
    }
    match role {
        Role::Assistant => {
            let calls = wire
                .tool_calls
                .into_iter()
                .flatten()
                .chain(wire.function_call.map(|call| WireToolCall {
                    id: format!("call_{index}"),
                    kind: "function".to_owned(),
                    function: call,
                }));
            for call in calls {
                content.push(ContentPart::ToolCall {
                    id: call.id,
                    name: call.function.name,
                    arguments: call.function.arguments,
                });
            }
            if content.is_empty() {
                return Err(GatewayError::invalid_param(
                    field,
                    "Assistant messages need 'content' or 'tool_calls'.",
                ));
            }
        }
        Role::Tool => {
            let call_id = match (wire.tool_call_id, &wire.name) {
                (Some(id), _) => id,
                // Legacy `function` role messages identify the call by the function's name.
                (None, Some(name)) if wire.role == "function" => name.clone(),
                (None, _) => {
                    return Err(GatewayError::invalid_param(
                        format!("messages[{index}].tool_call_id"),
                        "Missing required parameter: 'tool_call_id' on a message with role 'tool'.",
                    ));
                }
            };
            content = vec![ContentPart::ToolResult {
                call_id,
                content,
                is_error: false,
            }];
        }
        Role::System | Role::Developer | Role::User => {
            if content.is_empty() {
                return Err(GatewayError::invalid_param(
                    field,
                    "Missing required parameter: 'content'.",
                ));
            }
        }
    }
    Ok(Message {
        role,
        name: if role == Role::Tool { None } else { wire.name },
        content,
        plain_text,
        extensions: Default::default(),
    })
}

fn decode_part(field: &str, role: Role, part: Value) -> Result<ContentPart, GatewayError> {
    let Value::Object(mut object) = part else {
        return Err(GatewayError::invalid_param(
            field,
            "Invalid type: expected a content part object.",
        ));
    };
    let kind = object
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let take_string = |object: &mut Map<String, Value>, key: &str| match object.remove(key) {
        Some(Value::String(text)) => Ok(text),
        _ => Err(GatewayError::invalid_param(
            format!("{field}.{key}"),
            format!("Missing required parameter: '{field}.{key}' (a string)."),
        )),
    };
    match (kind.as_str(), role) {
        ("text", _) => Ok(ContentPart::Text(take_string(&mut object, "text")?)),
        ("refusal", Role::Assistant) => {
            Ok(ContentPart::Refusal(take_string(&mut object, "refusal")?))
        }
        ("image_url", Role::User) => {
            let image = match object.remove("image_url") {
                Some(Value::Object(image)) => image,
                // Some clients send the URL as a bare string.
                Some(Value::String(url)) => {
                    Map::from_iter([("url".to_owned(), Value::String(url))])
                }
                _ => {
                    return Err(GatewayError::invalid_param(
                        format!("{field}.image_url"),
                        "Missing required parameter: 'image_url.url'.",
                    ));
                }
            };
            let url = image.get("url").and_then(Value::as_str).ok_or_else(|| {
                GatewayError::invalid_param(
                    format!("{field}.image_url.url"),
                    "Missing required parameter: 'image_url.url'.",
                )
            })?;
            Ok(ContentPart::Image {
                url: url.to_owned(),
                detail: image
                    .get("detail")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            })
        }
        ("input_audio" | "file", Role::User) => Ok(ContentPart::Opaque {
            family: Family::OpenAi,
            value: Value::Object(object),
        }),
        (other, _) => Err(GatewayError::invalid_param(
            format!("{field}.type"),
            format!(
                "Invalid value: '{other}'. This content part type is not supported in a message with this role."
            ),
        )),
    }
}

fn decode_tool_choice(value: Value, field: &str) -> Result<ToolChoice, GatewayError> {
    match &value {
        Value::String(choice) => match choice.as_str() {
            "none" => Ok(ToolChoice::None),
            "auto" => Ok(ToolChoice::Auto),
            "required" => Ok(ToolChoice::Required),
            other => Err(GatewayError::invalid_param(
                field,
                format!(
                    "Invalid value: '{other}'. Supported values are: 'none', 'auto', and 'required'."
                ),
            )),
        },
        Value::Object(object) => {
            let name = object
                .get("function")
                .and_then(|function| function.get("name"))
                .or_else(|| object.get("name"))
                .and_then(Value::as_str);
            match (object.get("type").and_then(Value::as_str), name) {
                (Some("function") | None, Some(name)) => Ok(ToolChoice::Function(name.to_owned())),
                (Some(_), _) => Ok(ToolChoice::Opaque(value)),
                (None, None) => Err(GatewayError::invalid_param(
                    field,
                    "Invalid tool choice object.",
                )),
            }
        }
        _ => Err(GatewayError::invalid_param(
            field,
            "Invalid type: expected a string or an object.",
        )),
    }
}

fn decode_response_format(value: Value) -> Result<ResponseFormat, GatewayError> {
    let kind = value.get("type").and_then(Value::as_str);
    match kind {
        Some("text") => Ok(ResponseFormat::Text),
        Some("json_object") => Ok(ResponseFormat::JsonObject),
        Some("json_schema") => {
            let schema = value.get("json_schema").ok_or_else(|| {
                GatewayError::invalid_param(
                    "response_format.json_schema",
                    "Missing required parameter: 'response_format.json_schema'.",
                )
            })?;
            let name = schema.get("name").and_then(Value::as_str).ok_or_else(|| {
                GatewayError::invalid_param(
                    "response_format.json_schema.name",
                    "Missing required parameter: 'response_format.json_schema.name'.",
                )
            })?;
            Ok(ResponseFormat::JsonSchema {
                name: name.to_owned(),
                description: schema
                    .get("description")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                schema: schema.get("schema").cloned(),
                strict: schema.get("strict").and_then(Value::as_bool),
            })
        }
        _ => Err(GatewayError::invalid_param(
            "response_format.type",
            "Invalid value. Supported values are: 'text', 'json_object', and 'json_schema'.",
        )),
    }
}
