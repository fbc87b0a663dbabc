//! OpenAI Responses requests (`POST /v1/responses`) → the canonical request.
//!
//! `input` items map to canonical messages: `message` items by role, consecutive
//! `function_call` items into one assistant message with tool calls (a call to a namespaced
//! function under its flat name, see `tools`), `function_call_output` items into tool messages,
//! `instructions` into a leading system message.
//!
//! A Responses request may carry what only OpenAI's Responses API can honour: server-side state
//! (`previous_response_id`, `conversation`, `background`, `item_reference` items, stored
//! `prompt` templates), encrypted `reasoning` items, hosted tools and their calls in the
//! history, `input_file` parts, custom tools. Decoding never refuses those: an `api: responses`
//! channel gets the client's request unchanged and honours them. The canonical request records
//! each as [`Unportable`], so any other target drops (encrypted reasoning, hosted-tool results:
//! always, and named; hosted tools: by the `unsupported` rule) or refuses (server-side state,
//! custom tools) it with a clear 400.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::tools;
use crate::canonical::{
    ChatRequest, ContentPart, Family, Message, NamespacedTool, ResponseFormat, Role, Sampling,
    Unportable, UnportableKind,
};
use crate::error::GatewayError;
use crate::protocols::shared;

#[derive(Debug, Deserialize)]
pub struct WireRequest {
    #[serde(default)]
    pub model: String,
    #[serde(default)]
    pub input: Option<Value>,
    #[serde(default)]
    pub instructions: Option<String>,
    #[serde(default)]
    pub max_output_tokens: Option<u64>,
    #[serde(default)]
    pub temperature: Option<f64>,
    #[serde(default)]
    pub top_p: Option<f64>,
    #[serde(default)]
    pub tools: Option<Vec<Value>>,
    #[serde(default)]
    pub tool_choice: Option<Value>,
    #[serde(default)]
    pub parallel_tool_calls: Option<bool>,
    #[serde(default)]
    pub text: Option<Value>,
    #[serde(default)]
    pub reasoning: Option<Value>,
    #[serde(default)]
    pub stream: Option<bool>,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub safety_identifier: Option<String>,
    /// `store`, `include`, `prompt_cache_key`, `previous_response_id`, `metadata`, …
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

pub fn parse_body(body: &[u8]) -> Result<WireRequest, GatewayError> {
    shared::parse_json(
        body,
        "We could not parse the JSON body of your request",
        |path, problem| format!("Invalid value for '{path}': {problem}"),
    )
}

pub(super) fn invalid(param: impl Into<String>, message: impl Into<String>) -> GatewayError {
    GatewayError::invalid_param(param, message)
}

/// Top-level fields that keep state at OpenAI: no other target can continue from them.
const SERVER_STATE: &[(&str, &str)] = &[
    (
        "previous_response_id",
        "it continues a response stored by OpenAI, which only an OpenAI Responses channel \
         (`api: responses`) can read; send the whole conversation in `input` (with `store: false`) \
         instead",
    ),
    (
        "conversation",
        "it continues a conversation stored by OpenAI, which only an OpenAI Responses channel \
         (`api: responses`) can read; send the whole conversation in `input` instead",
    ),
    (
        "prompt",
        "it names a prompt template stored by OpenAI, which only an OpenAI Responses channel \
         (`api: responses`) can read",
    ),
];

/// The request as decoded so far.
struct Decoder {
    messages: Vec<Message>,
    unportable: Vec<Unportable>,
    namespaces: Vec<NamespacedTool>,
}

impl Decoder {
    fn left_out(&mut self, field: String, label: String) {
        self.unportable.push(Unportable {
            field,
            label,
            kind: UnportableKind::LeftOut,
        });
    }

    fn required(&mut self, field: String, label: String, why: &str) {
        self.unportable.push(Unportable {
            field,
            label,
            kind: UnportableKind::Required(why.to_owned()),
        });
    }
}

pub fn decode(wire: WireRequest) -> Result<ChatRequest, GatewayError> {
    if wire.model.trim().is_empty() {
        return Err(invalid("model", "Missing required parameter: 'model'."));
    }
    let mut extensions = wire.extra;
    let mut decoder = Decoder {
        messages: Vec::new(),
        unportable: Vec::new(),
        namespaces: Vec::new(),
    };
    for (field, why) in SERVER_STATE {
        if extensions
            .remove(*field)
            .is_some_and(|value| !value.is_null())
        {
            decoder.required((*field).to_owned(), (*field).to_owned(), why);
        }
    }
    if extensions.remove("background") == Some(Value::Bool(true)) {
        decoder.required(
            "background".to_owned(),
            "background".to_owned(),
            "background responses are kept by OpenAI, which only an OpenAI Responses channel \
             (`api: responses`) can do",
        );
    }
    let tools = tools::decode(wire.tools.unwrap_or_default())?;
    decoder.namespaces = tools.namespaces;
    decoder.unportable.extend(tools.unportable);
    if !tools.hosted.is_empty() {
        extensions.insert("tools".to_owned(), Value::Array(tools.hosted));
    }
    if let Some(instructions) = wire.instructions.filter(|text| !text.is_empty()) {
        decoder
            .messages
            .push(text_message(Role::System, instructions));
    }
    match wire.input {
        None => return Err(invalid("input", "Missing required parameter: 'input'.")),
        Some(Value::String(text)) => decoder.messages.push(text_message(Role::User, text)),
        Some(Value::Array(items)) => {
            for (index, item) in items.into_iter().enumerate() {
                decode_item(index, item, &mut decoder)?;
            }
        }
        Some(_) => {
            return Err(invalid(
                "input",
                "Invalid type for 'input': expected a string or an array of items.",
            ));
        }
    }
    let tool_choice = match wire.tool_choice {
        Some(choice) => {
            let (choice, unportable) = tools::decode_choice(choice)?;
            decoder.unportable.extend(unportable);
            Some(choice)
        }
        None => None,
    };
    let response_format = wire
        .text
        .as_ref()
        .and_then(|text| text.get("format"))
        .map(decode_format)
        .transpose()?
        .flatten();
    if wire
        .text
        .as_ref()
        .and_then(|text| text.get("verbosity"))
        .is_some()
    {
        extensions.insert("text.verbosity".to_owned(), Value::Bool(true));
    }
    let reasoning_effort = wire
        .reasoning
        .as_ref()
        .and_then(|reasoning| reasoning.get("effort"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    if wire
        .reasoning
        .as_ref()
        .and_then(|reasoning| reasoning.get("summary"))
        .is_some()
    {
        extensions.insert("reasoning.summary".to_owned(), Value::Bool(true));
    }
    if let Some(Value::Object(options)) = extensions.remove("stream_options") {
        for (key, value) in options {
            extensions.insert(format!("stream_options.{key}"), value);
        }
    }
    let stream = wire.stream.unwrap_or(false);
    Ok(ChatRequest {
        model: wire.model,
        messages: decoder.messages,
        tools: tools.tools,
        tool_choice,
        parallel_tool_calls: wire.parallel_tool_calls,
        sampling: Sampling {
            temperature: wire.temperature,
            top_p: wire.top_p,
            ..Sampling::default()
        },
        max_output_tokens: wire.max_output_tokens,
        response_format,
        reasoning_effort,
        user: wire.safety_identifier.or(wire.user),
        stream,
        include_usage: true,
        extensions,
        extension_family: Family::OpenAiResponses,
        unportable: decoder.unportable,
        tool_namespaces: decoder.namespaces,
        ..ChatRequest::default()
    })
}

fn text_message(role: Role, text: String) -> Message {
    Message {
        role,
        name: None,
        content: vec![ContentPart::Text(text)],
        plain_text: true,
        extensions: Default::default(),
    }
}

/// Items of tools OpenAI runs itself that a history may hold: the answers that followed them
/// already carry what they found, and only OpenAI can read the items themselves.
const HOSTED_CALL_ITEMS: &[&str] = &[
    "web_search_call",
    "file_search_call",
    "code_interpreter_call",
    "image_generation_call",
    "mcp_call",
    "mcp_list_tools",
    "mcp_approval_request",
    "mcp_approval_response",
];

fn decode_item(index: usize, item: Value, decoder: &mut Decoder) -> Result<(), GatewayError> {
    let field = format!("input[{index}]");
    let Value::Object(mut item) = item else {
        return Err(invalid(
            field,
            "Invalid type: each input item must be an object.",
        ));
    };
    let kind = item
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("message")
        .to_owned();
    let string = |item: &mut Map<String, Value>, key: &str| match item.remove(key) {
        Some(Value::String(value)) => Ok(value),
        _ => Err(invalid(
            format!("{field}.{key}"),
            format!("Missing required parameter: '{field}.{key}'."),
        )),
    };
    match kind.as_str() {
        "message" => {
            let role = match item.get("role").and_then(Value::as_str) {
                Some("user") => Role::User,
                Some("assistant") => Role::Assistant,
                Some("system") => Role::System,
                Some("developer") => Role::Developer,
                other => {
                    return Err(invalid(
                        format!("{field}.role"),
                        format!(
                            "Invalid value: {other:?}. Supported values are: 'user', 'assistant', 'system', and 'developer'."
                        ),
                    ));
                }
            };
            let (content, plain_text) =
                decode_content(&format!("{field}.content"), item.remove("content"), decoder)?;
            decoder.messages.push(Message {
                role,
                name: None,
                content,
                plain_text,
                extensions: Default::default(),
            });
        }
        "function_call" => {
            let id = string(&mut item, "call_id")?;
            let name = string(&mut item, "name")?;
            let name = match item.get("namespace").and_then(Value::as_str) {
                Some(namespace) => {
                    tools::remember(&mut decoder.namespaces, namespace, &name);
                    tools::flat_name(namespace, &name)
                }
                None => name,
            };
            let call = ContentPart::ToolCall {
                id,
                name,
                arguments: string(&mut item, "arguments")?,
            };
            // Consecutive calls (and a preceding assistant message) form one assistant turn.
            match decoder.messages.last_mut() {
                Some(last) if last.role == Role::Assistant => last.content.push(call),
                _ => decoder.messages.push(Message {
                    role: Role::Assistant,
                    name: None,
                    content: vec![call],
                    plain_text: false,
                    extensions: Default::default(),
                }),
            }
        }
        "function_call_output" => {
            let call_id = string(&mut item, "call_id")?;
            let content = match item.remove("output") {
                Some(Value::String(text)) => vec![ContentPart::Text(text)],
                other => decode_content(&format!("{field}.output"), other, decoder)?.0,
            };
            decoder.messages.push(Message {
                role: Role::Tool,
                name: None,
                content: vec![ContentPart::ToolResult {
                    call_id,
                    content,
                    is_error: false,
                }],
                plain_text: false,
                extensions: Default::default(),
            });
        }
        // Encrypted OpenAI reasoning state: only OpenAI can read it back.
        "reasoning" => decoder.left_out(field, "input.reasoning".to_owned()),
        hosted if HOSTED_CALL_ITEMS.contains(&hosted) => {
            decoder.left_out(field, format!("input.{hosted}"));
        }
        // Tools the client runs (shells, patches, computer use) and compacted history: the
        // items hold the only copy of what happened, so no other target may go without them.
        "local_shell_call"
        | "local_shell_call_output"
        | "shell_call"
        | "shell_call_output"
        | "apply_patch_call"
        | "apply_patch_call_output"
        | "computer_call"
        | "computer_call_output"
        | "compaction" => decoder.required(
            field,
            format!("input.{kind}"),
            &format!(
                "`{kind}` items hold the only record of what happened, and only an OpenAI \
                 Responses channel (`api: responses`) can read them"
            ),
        ),
        "item_reference" => decoder.required(
            field,
            "input.item_reference".to_owned(),
            "it refers to an item stored by OpenAI, which only an OpenAI Responses channel \
             (`api: responses`) can read",
        ),
        other => decoder.required(
            format!("{field}.type"),
            format!("input.{other}"),
            &format!(
                "input items of type '{other}' only an OpenAI Responses channel \
                 (`api: responses`) can take"
            ),
        ),
    }
    Ok(())
}

fn decode_content(
    field: &str,
    content: Option<Value>,
    decoder: &mut Decoder,
) -> Result<(Vec<ContentPart>, bool), GatewayError> {
    let parts = match content {
        Some(Value::String(text)) => return Ok((vec![ContentPart::Text(text)], true)),
        Some(Value::Array(parts)) => parts,
        _ => {
            return Err(invalid(
                field,
                format!("Missing required parameter: '{field}'."),
            ));
        }
    };
    let mut decoded = Vec::with_capacity(parts.len());
    for (index, part) in parts.into_iter().enumerate() {
        let part_field = format!("{field}[{index}]");
        let kind = part.get("type").and_then(Value::as_str).unwrap_or_default();
        let text = || part.get("text").and_then(Value::as_str).map(str::to_owned);
        match kind {
            "input_text" | "output_text" | "text" => {
                decoded.push(ContentPart::Text(text().ok_or_else(|| {
                    invalid(
                        format!("{part_field}.text"),
                        format!("Missing required parameter: '{part_field}.text'."),
                    )
                })?));
            }
            "refusal" => decoded.push(ContentPart::Refusal(
                part.get("refusal")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
            )),
            "input_image" => match part.get("image_url").and_then(Value::as_str) {
                Some(url) => decoded.push(ContentPart::Image {
                    url: url.to_owned(),
                    detail: part
                        .get("detail")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                }),
                // An uploaded file (`file_id`) lives at OpenAI.
                None => decoder.required(
                    part_field,
                    "input.input_image".to_owned(),
                    "an image given by `file_id` lives at OpenAI, which only an OpenAI Responses \
                     channel (`api: responses`) can read",
                ),
            },
            other => decoder.required(
                format!("{part_field}.type"),
                format!("input.{other}"),
                &format!(
                    "content parts of type '{other}' only an OpenAI Responses channel \
                     (`api: responses`) can take"
                ),
            ),
        }
    }
    Ok((decoded, false))
}

fn decode_format(format: &Value) -> Result<Option<ResponseFormat>, GatewayError> {
    match format.get("type").and_then(Value::as_str) {
        Some("text") | None => Ok(None),
        Some("json_object") => Ok(Some(ResponseFormat::JsonObject)),
        Some("json_schema") => Ok(Some(ResponseFormat::JsonSchema {
            name: format
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("response")
                .to_owned(),
            description: format
                .get("description")
                .and_then(Value::as_str)
                .map(str::to_owned),
            schema: format.get("schema").cloned(),
            strict: format.get("strict").and_then(Value::as_bool),
        })),
        Some(other) => Err(invalid(
            "text.format.type",
            format!("Invalid value: '{other}'."),
        )),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn decode_json(body: Value) -> Result<ChatRequest, GatewayError> {
        decode(parse_body(body.to_string().as_bytes())?)
    }

    /// The shape of the Codex CLI's second turn: developer messages, a namespaced call and its
    /// output, an encrypted reasoning item, hosted web search, and advisory fields.
    #[test]
    fn a_codex_turn_decodes_with_what_only_openai_takes_recorded() {
        let request = decode_json(json!({
            "model": "gpt-5.1-codex", "stream": true, "store": false,
            "include": ["reasoning.encrypted_content"], "prompt_cache_key": "abc",
            "client_metadata": {"x": "y"}, "reasoning": {"summary": "auto"},
            "tool_choice": "auto", "parallel_tool_calls": true,
            "tools": [
                {"type": "function", "name": "exec_command", "strict": false, "parameters": {"type": "object"}},
                {"type": "namespace", "name": "multi_agent_v1", "description": "d", "tools": [
                    {"type": "function", "name": "spawn_agent", "strict": false, "parameters": {"type": "object"}}]},
                {"type": "web_search", "external_web_access": false},
            ],
            "input": [
                {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "rules"}]},
                {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "go"}]},
                {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "opaque"},
                {"type": "function_call", "call_id": "c1", "namespace": "multi_agent_v1", "name": "spawn_agent", "arguments": "{}"},
                {"type": "function_call_output", "call_id": "c1", "output": "spawned"},
            ],
        }))
        .expect("decoded");
        assert_eq!(request.extension_family, Family::OpenAiResponses);
        assert_eq!(request.tools[1].name, "multi_agent_v1__spawn_agent");
        assert_eq!(
            request.namespaced("multi_agent_v1__spawn_agent"),
            Some(("multi_agent_v1", "spawn_agent"))
        );
        assert!(matches!(
            &request.messages[2].content[0],
            ContentPart::ToolCall { name, .. } if name == "multi_agent_v1__spawn_agent"
        ));
        assert_eq!(request.extensions["tools"][0]["type"], "web_search");
        assert_eq!(request.unportable.len(), 1);
        assert_eq!(request.unportable[0].label, "input.reasoning");
        assert_eq!(request.unportable[0].kind, UnportableKind::LeftOut);
    }

    #[test]
    fn server_side_state_is_recorded_not_refused() {
        let request = decode_json(json!({
            "model": "m", "input": [{"type": "item_reference", "id": "msg_1"}],
            "previous_response_id": "resp_1",
        }))
        .expect("decoded");
        let labels: Vec<_> = request
            .unportable
            .iter()
            .map(|unportable| unportable.label.as_str())
            .collect();
        assert_eq!(labels, ["previous_response_id", "input.item_reference"]);
        assert!(
            request
                .unportable
                .iter()
                .all(|unportable| matches!(unportable.kind, UnportableKind::Required(_)))
        );
    }

    #[test]
    fn malformed_items_are_still_refused_at_once() {
        let error =
            decode_json(json!({"model": "m", "input": [{"type": "function_call", "name": "f"}]}))
                .expect_err("refused");
        assert_eq!(error.param.as_deref(), Some("input[0].call_id"));
    }
}
