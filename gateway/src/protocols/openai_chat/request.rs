//! Chat Completions requests: wire → canonical (inbound) and canonical → wire (to OpenAI-family
//! upstreams). Validation errors name the field the way OpenAI does (`messages[2].content`).

use serde_json::{Map, Value};

use super::wire::{
    WireFunction, WireFunctionCall, WireMessage, WireRequest, WireStop, WireStreamOptions,
    WireTool, WireToolCall,
};
use crate::canonical::{
    ChatRequest, ContentPart, Family, Message, ResponseFormat, Role, Sampling, Tool, ToolChoice,
};
use crate::error::GatewayError;
use crate::protocols::shared;

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
    })
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
        ("input_audio" | "file", Role::User) => Ok(ContentPart::Opaque(Value::Object(object))),
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

/// Builds the upstream request body for an OpenAI-family server.
pub fn encode(
    request: &ChatRequest,
    upstream_model: &str,
    ask_for_usage: bool,
) -> Result<WireRequest, GatewayError> {
    if request.extension_family != Family::OpenAi {
        shared::refuse_foreign_extensions(request, "an OpenAI-compatible model")?;
    }
    let forward_extensions = request.extension_family == Family::OpenAi;
    let messages = request.messages.iter().map(encode_message).collect();
    let tools = (!request.tools.is_empty()).then(|| {
        request
            .tools
            .iter()
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

fn encode_message(message: &Message) -> WireMessage {
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
                parts.extend(content.iter().filter_map(encode_part));
            }
            ContentPart::Refusal(refusal) if message.role == Role::Assistant => {
                wire.refusal = Some(refusal.clone());
            }
            other => parts.extend(encode_part(other)),
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
    wire
}

fn encode_part(part: &ContentPart) -> Option<Value> {
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
        ContentPart::Opaque(value) => return Some(value.clone()),
        // OpenAI Chat has no field for reasoning in requests; tool calls and results are
        // carried by their own message fields.
        ContentPart::Reasoning { .. }
        | ContentPart::RedactedReasoning { .. }
        | ContentPart::CachePoint(_)
        | ContentPart::ToolCall { .. }
        | ContentPart::ToolResult { .. } => {
            return None;
        }
    }
    Some(Value::Object(object))
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
