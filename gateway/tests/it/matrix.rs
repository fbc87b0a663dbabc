//! The translation matrix: every client protocol × every upstream provider kind (OpenAI
//! speaking Chat Completions and, `api: responses`, the Responses API), streaming and not, for plain text, a system prompt, a multi-turn conversation, a tool-call round trip and
//! usage. The fake upstream is strict about its own wire format, so a translation bug fails here.

use serde_json::{Value, json};
use switchboard_load_tests::{Behaviour, FakeProvider, FakeUsage, Reply};

use crate::common::{Gateway, KEY, client};

#[derive(Clone, Copy, Debug, PartialEq)]
enum ClientKind {
    OpenAi,
    Responses,
    Anthropic,
    Gemini,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum UpstreamKind {
    OpenAi,
    Responses,
    Anthropic,
    Gemini,
    Bedrock,
}

const CLIENTS: [ClientKind; 4] = [
    ClientKind::OpenAi,
    ClientKind::Responses,
    ClientKind::Anthropic,
    ClientKind::Gemini,
];
const UPSTREAMS: [UpstreamKind; 5] = [
    UpstreamKind::OpenAi,
    UpstreamKind::Responses,
    UpstreamKind::Anthropic,
    UpstreamKind::Gemini,
    UpstreamKind::Bedrock,
];

#[derive(Clone, Debug)]
enum Turn {
    User(&'static str),
    Assistant(&'static str),
    ToolCalls(Vec<ToolCall>),
    ToolResult(String, &'static str),
}

#[derive(Clone, Debug, PartialEq)]
struct ToolCall {
    id: String,
    name: String,
    arguments: Value,
}

/// What a client saw, in protocol-neutral terms.
#[derive(Debug, Default)]
struct Seen {
    text: String,
    tool_calls: Vec<ToolCall>,
    /// `stop`, `tool_calls` or `length`.
    finish: String,
    total_input_tokens: u64,
    cache_read_tokens: u64,
    output_tokens: u64,
}

fn gateway_for(upstream: UpstreamKind, fake: &FakeProvider) -> Gateway {
    let (provider, base_url, credentials) = match upstream {
        UpstreamKind::OpenAi => ("openai", fake.base_url(), "api_key: sk-upstream-secret"),
        UpstreamKind::Responses => (
            "openai",
            fake.base_url(),
            "api_key: sk-upstream-secret\n    api: responses",
        ),
        UpstreamKind::Anthropic => (
            "anthropic",
            format!("http://{}", fake.addr()),
            "api_key: sk-upstream-secret",
        ),
        UpstreamKind::Gemini => (
            "gemini",
            format!("http://{}", fake.addr()),
            "api_key: sk-upstream-secret",
        ),
        // The fake verifies SigV4 with its default credentials.
        UpstreamKind::Bedrock => (
            "bedrock",
            format!("http://{}", fake.addr()),
            "aws: {region: us-east-1, access_key_id: AKIDFAKEEXAMPLE, secret_access_key: fake-secret-key}",
        ),
    };
    let upstream_model = upstream_model(upstream);
    Gateway::start(&format!(
        r#"
channels:
  - name: upstream
    provider: {provider}
    base_url: {base_url}
    {credentials}
    models: [{{name: matrix-model, upstream: "{upstream_model}"}}]
roles: [{{name: all, models: ["*"]}}]
api_keys: [{{name: tester, key: {KEY}, role: all}}]
"#
    ))
}

/// Bedrock model ids carry a `:` that must be encoded in the signed path.
fn upstream_model(upstream: UpstreamKind) -> &'static str {
    match upstream {
        UpstreamKind::Bedrock => "vendor.upstream-model-v1:0",
        _ => "upstream-model",
    }
}

const SYSTEM: &str = "You answer in one line.";
const WEATHER_TOOL: &str = "get_weather";

fn openai_body(system: Option<&str>, turns: &[Turn], tools: bool, stream: bool) -> Value {
    let mut messages = Vec::new();
    if let Some(system) = system {
        messages.push(json!({"role": "system", "content": system}));
    }
    for turn in turns {
        messages.push(match turn {
            Turn::User(text) => json!({"role": "user", "content": text}),
            Turn::Assistant(text) => json!({"role": "assistant", "content": text}),
            Turn::ToolCalls(calls) => json!({"role": "assistant", "content": null, "tool_calls": calls.iter().map(|call| json!({
                "id": call.id, "type": "function",
                "function": {"name": call.name, "arguments": call.arguments.to_string()}
            })).collect::<Vec<_>>()}),
            Turn::ToolResult(id, text) => json!({"role": "tool", "tool_call_id": id, "content": text}),
        });
    }
    let mut body = json!({"model": "matrix-model", "messages": messages, "max_tokens": 200});
    if tools {
        body["tools"] = json!([{"type": "function", "function": {"name": WEATHER_TOOL, "description": "Weather for a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]);
    }
    if stream {
        body["stream"] = true.into();
        body["stream_options"] = json!({"include_usage": true});
    }
    body
}

fn responses_body(system: Option<&str>, turns: &[Turn], tools: bool, stream: bool) -> Value {
    let mut input = Vec::new();
    for turn in turns {
        match turn {
            Turn::User(text) => input.push(json!({"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]})),
            Turn::Assistant(text) => input.push(json!({"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": text}]})),
            Turn::ToolCalls(calls) => input.extend(calls.iter().map(|call| json!({
                "type": "function_call", "call_id": call.id, "name": call.name, "arguments": call.arguments.to_string()
            }))),
            Turn::ToolResult(id, text) => input.push(json!({"type": "function_call_output", "call_id": id, "output": text})),
        }
    }
    let mut body =
        json!({"model": "matrix-model", "input": input, "max_output_tokens": 200, "store": false});
    if let Some(system) = system {
        body["instructions"] = system.into();
    }
    if tools {
        body["tools"] = json!([{"type": "function", "name": WEATHER_TOOL, "description": "Weather for a city", "strict": false,
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}]);
    }
    if stream {
        body["stream"] = true.into();
    }
    body
}

fn gemini_body(system: Option<&str>, turns: &[Turn], tools: bool) -> Value {
    let mut contents: Vec<Value> = Vec::new();
    for turn in turns {
        let (role, parts) = match turn {
            Turn::User(text) => ("user", vec![json!({"text": text})]),
            Turn::Assistant(text) => ("model", vec![json!({"text": text})]),
            Turn::ToolCalls(calls) => (
                "model",
                calls
                    .iter()
                    .map(|call| {
                        let mut function_call = json!({"name": call.name, "args": call.arguments});
                        if !call.id.is_empty() {
                            function_call["id"] = call.id.clone().into();
                        }
                        json!({"functionCall": function_call})
                    })
                    .collect(),
            ),
            Turn::ToolResult(id, text) => {
                let mut response = json!({"name": WEATHER_TOOL, "response": {"output": text}});
                if !id.is_empty() {
                    response["id"] = id.clone().into();
                }
                ("user", vec![json!({"functionResponse": response})])
            }
        };
        match contents.last_mut() {
            Some(last) if last["role"] == role => {
                last["parts"].as_array_mut().expect("parts").extend(parts)
            }
            _ => contents.push(json!({"role": role, "parts": parts})),
        }
    }
    let mut body = json!({"contents": contents, "generationConfig": {"maxOutputTokens": 200}});
    if let Some(system) = system {
        body["systemInstruction"] = json!({"parts": [{"text": system}]});
    }
    if tools {
        body["tools"] = json!([{"functionDeclarations": [{"name": WEATHER_TOOL, "description": "Weather for a city",
            "parametersJsonSchema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}]}]);
    }
    body
}

fn anthropic_body(system: Option<&str>, turns: &[Turn], tools: bool, stream: bool) -> Value {
    let mut messages: Vec<Value> = Vec::new();
    for turn in turns {
        let (role, block) = match turn {
            Turn::User(text) => ("user", vec![json!({"type": "text", "text": text})]),
            Turn::Assistant(text) => ("assistant", vec![json!({"type": "text", "text": text})]),
            Turn::ToolCalls(calls) => ("assistant", calls.iter().map(|call| json!({
                "type": "tool_use", "id": call.id, "name": call.name, "input": call.arguments
            })).collect()),
            Turn::ToolResult(id, text) => ("user", vec![json!({"type": "tool_result", "tool_use_id": id, "content": text})]),
        };
        match messages.last_mut() {
            Some(last) if last["role"] == role => {
                last["content"]
                    .as_array_mut()
                    .expect("blocks")
                    .extend(block);
            }
            _ => messages.push(json!({"role": role, "content": block})),
        }
    }
    let mut body = json!({"model": "matrix-model", "messages": messages, "max_tokens": 200});
    if let Some(system) = system {
        body["system"] = system.into();
    }
    if tools {
        body["tools"] = json!([{"name": WEATHER_TOOL, "description": "Weather for a city",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}]);
    }
    if stream {
        body["stream"] = true.into();
    }
    body
}

async fn call(
    gateway: &Gateway,
    kind: ClientKind,
    system: Option<&str>,
    turns: &[Turn],
    tools: bool,
    stream: bool,
) -> Seen {
    let request = match kind {
        ClientKind::OpenAi => client()
            .post(gateway.url("/v1/chat/completions"))
            .bearer_auth(KEY)
            .json(&openai_body(system, turns, tools, stream)),
        ClientKind::Responses => client()
            .post(gateway.url("/v1/responses"))
            .bearer_auth(KEY)
            .json(&responses_body(system, turns, tools, stream)),
        ClientKind::Gemini => {
            let action = if stream {
                "streamGenerateContent?alt=sse"
            } else {
                "generateContent"
            };
            client()
                .post(gateway.url(&format!("/v1beta/models/matrix-model:{action}")))
                .header("x-goog-api-key", KEY)
                .json(&gemini_body(system, turns, tools))
        }
        ClientKind::Anthropic => client()
            .post(gateway.url("/v1/messages"))
            .header("x-api-key", KEY)
            .header("anthropic-version", "2023-06-01")
            .json(&anthropic_body(system, turns, tools, stream)),
    };
    let response = request.send().await.expect("request");
    let status = response.status();
    let text = response.text().await.expect("body");
    assert_eq!(status, 200, "{kind:?} client, stream={stream}: {text}");
    match (kind, stream) {
        (ClientKind::OpenAi, false) => seen_openai(&serde_json::from_str(&text).expect("json")),
        (ClientKind::OpenAi, true) => seen_openai_stream(&text),
        (ClientKind::Responses, false) => {
            seen_responses(&serde_json::from_str(&text).expect("json"))
        }
        (ClientKind::Responses, true) => seen_responses_stream(&text),
        (ClientKind::Gemini, false) => {
            let mut seen = Seen::default();
            seen_gemini_chunk(&mut seen, &serde_json::from_str(&text).expect("json"));
            seen
        }
        (ClientKind::Gemini, true) => seen_gemini_stream(&text),
        (ClientKind::Anthropic, false) => {
            seen_anthropic(&serde_json::from_str(&text).expect("json"))
        }
        (ClientKind::Anthropic, true) => seen_anthropic_stream(&text),
    }
}

fn seen_openai(body: &Value) -> Seen {
    let message = &body["choices"][0]["message"];
    Seen {
        text: message["content"].as_str().unwrap_or_default().to_owned(),
        tool_calls: message["tool_calls"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|call| ToolCall {
                id: call["id"].as_str().unwrap_or_default().to_owned(),
                name: call["function"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                arguments: serde_json::from_str(
                    call["function"]["arguments"].as_str().unwrap_or("null"),
                )
                .expect("arguments JSON"),
            })
            .collect(),
        finish: body["choices"][0]["finish_reason"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        total_input_tokens: body["usage"]["prompt_tokens"].as_u64().unwrap_or_default(),
        cache_read_tokens: body["usage"]["prompt_tokens_details"]["cached_tokens"]
            .as_u64()
            .unwrap_or_default(),
        output_tokens: body["usage"]["completion_tokens"]
            .as_u64()
            .unwrap_or_default(),
    }
}

fn seen_openai_stream(body: &str) -> Seen {
    let mut seen = Seen::default();
    let mut arguments: Vec<String> = Vec::new();
    let payloads: Vec<&str> = body
        .split("\n\n")
        .filter_map(|event| event.strip_prefix("data: "))
        .collect();
    assert_eq!(payloads.last(), Some(&"[DONE]"), "{body}");
    for payload in &payloads[..payloads.len() - 1] {
        let chunk: Value = serde_json::from_str(payload).expect("chunk");
        assert!(chunk.get("error").is_none(), "{chunk}");
        if let Some(usage) = chunk["usage"].as_object() {
            seen.total_input_tokens = usage["prompt_tokens"].as_u64().unwrap_or_default();
            seen.cache_read_tokens = usage["prompt_tokens_details"]["cached_tokens"]
                .as_u64()
                .unwrap_or_default();
            seen.output_tokens = usage["completion_tokens"].as_u64().unwrap_or_default();
        }
        let Some(choice) = chunk["choices"].get(0) else {
            continue;
        };
        if let Some(text) = choice["delta"]["content"].as_str() {
            seen.text.push_str(text);
        }
        for fragment in choice["delta"]["tool_calls"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let index = fragment["index"].as_u64().expect("index") as usize;
            if let Some(id) = fragment["id"].as_str() {
                seen.tool_calls.push(ToolCall {
                    id: id.to_owned(),
                    name: fragment["function"]["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    arguments: Value::Null,
                });
                arguments.push(String::new());
            }
            arguments[index].push_str(
                fragment["function"]["arguments"]
                    .as_str()
                    .unwrap_or_default(),
            );
        }
        if let Some(finish) = choice["finish_reason"].as_str() {
            seen.finish = finish.to_owned();
        }
    }
    for (call, arguments) in seen.tool_calls.iter_mut().zip(arguments) {
        call.arguments = serde_json::from_str(&arguments).expect("streamed arguments JSON");
    }
    seen
}

fn seen_responses(body: &Value) -> Seen {
    assert_eq!(body["object"], "response", "{body}");
    let mut seen = Seen::default();
    for item in body["output"].as_array().into_iter().flatten() {
        match item["type"].as_str() {
            Some("message") => {
                for part in item["content"].as_array().into_iter().flatten() {
                    seen.text
                        .push_str(part["text"].as_str().unwrap_or_default());
                }
            }
            Some("function_call") => seen.tool_calls.push(ToolCall {
                id: item["call_id"].as_str().unwrap_or_default().to_owned(),
                name: item["name"].as_str().unwrap_or_default().to_owned(),
                arguments: serde_json::from_str(item["arguments"].as_str().unwrap_or("null"))
                    .expect("arguments JSON"),
            }),
            _ => {}
        }
    }
    seen.finish = match (body["status"].as_str(), seen.tool_calls.is_empty()) {
        (Some("completed"), true) => "stop",
        (Some("completed"), false) => "tool_calls",
        (Some("incomplete"), _) => "length",
        _ => "unknown",
    }
    .to_owned();
    seen.total_input_tokens = body["usage"]["input_tokens"].as_u64().unwrap_or_default();
    seen.cache_read_tokens = body["usage"]["input_tokens_details"]["cached_tokens"]
        .as_u64()
        .unwrap_or_default();
    seen.output_tokens = body["usage"]["output_tokens"].as_u64().unwrap_or_default();
    seen
}

/// The final `response.completed` carries the whole response; the deltas must add up to it.
fn seen_responses_stream(body: &str) -> Seen {
    let mut deltas = String::new();
    let mut arguments = String::new();
    let mut sequence = Vec::new();
    let mut completed = None;
    for event in body.split("\n\n").filter(|event| !event.trim().is_empty()) {
        let mut lines = event.lines();
        let name = lines
            .next()
            .and_then(|line| line.strip_prefix("event: "))
            .expect("event line");
        let data: Value = serde_json::from_str(
            lines
                .next()
                .and_then(|line| line.strip_prefix("data: "))
                .expect("data line"),
        )
        .expect("json");
        assert_eq!(data["type"], name);
        sequence.push(data["sequence_number"].as_u64().expect("sequence_number"));
        match name {
            "response.output_text.delta" => {
                deltas.push_str(data["delta"].as_str().unwrap_or_default())
            }
            "response.function_call_arguments.delta" => {
                arguments.push_str(data["delta"].as_str().unwrap_or_default())
            }
            "response.completed" | "response.incomplete" => {
                completed = Some(data["response"].clone())
            }
            "error" => panic!("stream error: {data}"),
            _ => {}
        }
    }
    assert!(
        sequence.windows(2).all(|pair| pair[1] == pair[0] + 1),
        "sequence numbers increase by one"
    );
    let seen = seen_responses(&completed.expect("a response.completed event"));
    assert_eq!(deltas, seen.text, "text deltas add up to the final text");
    if let Some(call) = seen.tool_calls.first() {
        assert_eq!(
            serde_json::from_str::<Value>(&arguments).expect("json"),
            call.arguments
        );
    }
    seen
}

fn seen_gemini_chunk(seen: &mut Seen, chunk: &Value) {
    assert!(chunk.get("error").is_none(), "{chunk}");
    let candidate = &chunk["candidates"][0];
    for part in candidate["content"]["parts"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if let Some(call) = part.get("functionCall") {
            seen.tool_calls.push(ToolCall {
                id: call["id"].as_str().unwrap_or_default().to_owned(),
                name: call["name"].as_str().unwrap_or_default().to_owned(),
                arguments: call["args"].clone(),
            });
        } else if part["thought"] != true {
            seen.text
                .push_str(part["text"].as_str().unwrap_or_default());
        }
    }
    if let Some(reason) = candidate["finishReason"].as_str() {
        seen.finish = match (reason, seen.tool_calls.is_empty()) {
            ("STOP", true) => "stop",
            ("STOP", false) => "tool_calls",
            ("MAX_TOKENS", _) => "length",
            (other, _) => other,
        }
        .to_owned();
    }
    if let Some(usage) = chunk.get("usageMetadata") {
        seen.total_input_tokens = usage["promptTokenCount"].as_u64().unwrap_or_default();
        seen.cache_read_tokens = usage["cachedContentTokenCount"]
            .as_u64()
            .unwrap_or_default();
        seen.output_tokens = usage["candidatesTokenCount"].as_u64().unwrap_or_default()
            + usage["thoughtsTokenCount"].as_u64().unwrap_or_default();
    }
}

/// Gemini clients get `data:` lines only: no `event:` lines, no comments, no `[DONE]`.
fn seen_gemini_stream(body: &str) -> Seen {
    let mut seen = Seen::default();
    for line in body.lines().filter(|line| !line.trim().is_empty()) {
        let data = line
            .strip_prefix("data: ")
            .unwrap_or_else(|| panic!("a Gemini client got a non-data line: {line:?}"));
        seen_gemini_chunk(&mut seen, &serde_json::from_str(data).expect("chunk JSON"));
    }
    seen
}

fn anthropic_usage(seen: &mut Seen, usage: &Value) {
    let input = usage["input_tokens"].as_u64().unwrap_or_default();
    let cache_read = usage["cache_read_input_tokens"]
        .as_u64()
        .unwrap_or_default();
    let cache_write = usage["cache_creation_input_tokens"]
        .as_u64()
        .unwrap_or_default();
    seen.total_input_tokens = input + cache_read + cache_write;
    seen.cache_read_tokens = cache_read;
    seen.output_tokens = usage["output_tokens"].as_u64().unwrap_or_default();
}

fn anthropic_finish(reason: &str) -> String {
    match reason {
        "end_turn" => "stop",
        "tool_use" => "tool_calls",
        "max_tokens" => "length",
        other => other,
    }
    .to_owned()
}

fn seen_anthropic(body: &Value) -> Seen {
    assert_eq!(body["type"], "message", "{body}");
    let mut seen = Seen::default();
    for block in body["content"].as_array().into_iter().flatten() {
        match block["type"].as_str() {
            Some("text") => seen
                .text
                .push_str(block["text"].as_str().unwrap_or_default()),
            Some("tool_use") => seen.tool_calls.push(ToolCall {
                id: block["id"].as_str().unwrap_or_default().to_owned(),
                name: block["name"].as_str().unwrap_or_default().to_owned(),
                arguments: block["input"].clone(),
            }),
            _ => {}
        }
    }
    seen.finish = anthropic_finish(body["stop_reason"].as_str().unwrap_or_default());
    anthropic_usage(&mut seen, &body["usage"]);
    seen
}

fn seen_anthropic_stream(body: &str) -> Seen {
    let mut seen = Seen::default();
    let mut blocks: Vec<(String, Value, String)> = Vec::new();
    let mut names = Vec::new();
    for event in body.split("\n\n").filter(|event| !event.trim().is_empty()) {
        let mut lines = event.lines();
        let name = lines
            .next()
            .and_then(|line| line.strip_prefix("event: "))
            .unwrap_or_else(|| panic!("event line missing in {event:?}"));
        let data: Value = lines
            .next()
            .and_then(|line| line.strip_prefix("data: "))
            .map(|data| serde_json::from_str(data).expect("data JSON"))
            .unwrap_or_else(|| panic!("data line missing in {event:?}"));
        assert_eq!(data["type"], name, "the data type repeats the event name");
        names.push(name.to_owned());
        match name {
            "content_block_start" => {
                let block = data["content_block"].clone();
                blocks.push((
                    block["type"].as_str().unwrap_or_default().to_owned(),
                    block,
                    String::new(),
                ));
            }
            "content_block_delta" => {
                let index = data["index"].as_u64().expect("index") as usize;
                let delta = &data["delta"];
                let piece = delta["text"]
                    .as_str()
                    .or_else(|| delta["partial_json"].as_str())
                    .unwrap_or_default();
                blocks[index].2.push_str(piece);
            }
            "message_delta" => {
                seen.finish =
                    anthropic_finish(data["delta"]["stop_reason"].as_str().unwrap_or_default());
                anthropic_usage(&mut seen, &data["usage"]);
            }
            "error" => panic!("stream error: {data}"),
            _ => {}
        }
    }
    assert_eq!(names.first().map(String::as_str), Some("message_start"));
    assert_eq!(names.last().map(String::as_str), Some("message_stop"));
    for (kind, block, accumulated) in blocks {
        match kind.as_str() {
            "text" => seen.text.push_str(&accumulated),
            "tool_use" => seen.tool_calls.push(ToolCall {
                id: block["id"].as_str().unwrap_or_default().to_owned(),
                name: block["name"].as_str().unwrap_or_default().to_owned(),
                arguments: if accumulated.is_empty() {
                    json!({})
                } else {
                    serde_json::from_str(&accumulated).expect("input JSON")
                },
            }),
            _ => {}
        }
    }
    seen
}

fn usage() -> FakeUsage {
    FakeUsage {
        prompt_tokens: 40,
        completion_tokens: 6,
        cached_tokens: 10,
        reasoning_tokens: 0,
    }
}

/// Every cell of the matrix, each scenario in turn.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_client_reaches_every_upstream() {
    for upstream in UPSTREAMS {
        let fake = FakeProvider::start().await;
        let gateway = gateway_for(upstream, &fake);
        for client_kind in CLIENTS {
            for stream in [false, true] {
                let cell =
                    format!("{client_kind:?} client → {upstream:?} upstream, stream={stream}");
                plain_text_with_system_prompt(
                    &fake,
                    &gateway,
                    client_kind,
                    stream,
                    upstream,
                    &cell,
                )
                .await;
                multi_turn(&fake, &gateway, client_kind, stream, &cell).await;
                tool_round_trip(&fake, &gateway, client_kind, stream, &cell).await;
            }
        }
    }
}

async fn plain_text_with_system_prompt(
    fake: &FakeProvider,
    gateway: &Gateway,
    client_kind: ClientKind,
    stream: bool,
    upstream: UpstreamKind,
    cell: &str,
) {
    fake.push(Behaviour {
        usage: Some(usage()),
        ..Behaviour::text("Hello from the upstream model.")
    });
    let before = fake.requests().len();
    let seen = call(
        gateway,
        client_kind,
        Some(SYSTEM),
        &[Turn::User("Say hello")],
        false,
        stream,
    )
    .await;

    assert_eq!(seen.text, "Hello from the upstream model.", "{cell}");
    assert_eq!(seen.finish, "stop", "{cell}");
    assert!(seen.tool_calls.is_empty(), "{cell}");
    // 40 prompt tokens of which 10 cached, whatever each side calls them: never double counted.
    assert_eq!(seen.total_input_tokens, 40, "{cell}: {seen:?}");
    assert_eq!(seen.cache_read_tokens, 10, "{cell}");
    assert_eq!(seen.output_tokens, 6, "{cell}");

    let upstream_request = &fake.requests()[before];
    let upstream_body = &upstream_request.body;
    match upstream {
        UpstreamKind::Gemini => assert!(
            upstream_request.path.contains("/models/upstream-model:"),
            "{cell}: {}",
            upstream_request.path
        ),
        UpstreamKind::Bedrock => assert!(
            upstream_request
                .path
                .starts_with("/model/vendor.upstream-model-v1%3A0/converse"),
            "{cell}: {}",
            upstream_request.path
        ),
        _ => assert_eq!(upstream_body["model"], "upstream-model", "{cell}"),
    }
    match upstream {
        UpstreamKind::OpenAi => {
            assert_eq!(
                upstream_body["messages"][0],
                json!({"role": "system", "content": SYSTEM}),
                "{cell}"
            );
            assert_eq!(upstream_body["messages"][1]["role"], "user", "{cell}");
        }
        // A Responses client's request goes up as sent; others become input items.
        UpstreamKind::Responses => {
            assert_eq!(upstream_request.path, "/v1/responses", "{cell}");
            let system = &upstream_body["input"][0];
            let native = upstream_body
                .get("instructions")
                .is_some_and(|value| value == SYSTEM);
            assert!(
                native || (system["role"] == "system" && system.to_string().contains(SYSTEM)),
                "{cell}: {upstream_body}"
            );
        }
        UpstreamKind::Gemini => {
            assert_eq!(
                upstream_body["systemInstruction"]["parts"][0]["text"], SYSTEM,
                "{cell}"
            );
            assert_eq!(upstream_body["contents"][0]["role"], "user", "{cell}");
            assert_eq!(
                upstream_body["generationConfig"]["maxOutputTokens"], 200,
                "{cell}"
            );
        }
        UpstreamKind::Bedrock => {
            assert_eq!(upstream_body["system"], json!([{"text": SYSTEM}]), "{cell}");
            assert_eq!(upstream_body["messages"][0]["role"], "user", "{cell}");
            assert_eq!(upstream_body["inferenceConfig"]["maxTokens"], 200, "{cell}");
        }
        UpstreamKind::Anthropic => {
            assert_eq!(upstream_body["system"], SYSTEM, "{cell}");
            assert_eq!(upstream_body["messages"][0]["role"], "user", "{cell}");
            assert_eq!(upstream_body["max_tokens"], 200, "{cell}");
        }
    }
}

async fn multi_turn(
    fake: &FakeProvider,
    gateway: &Gateway,
    client_kind: ClientKind,
    stream: bool,
    cell: &str,
) {
    fake.push(Behaviour::text("Your name is Ada."));
    let before = fake.requests().len();
    let turns = [
        Turn::User("My name is Ada."),
        Turn::Assistant("Nice to meet you, Ada."),
        Turn::User("What is my name?"),
    ];
    let seen = call(gateway, client_kind, None, &turns, false, stream).await;

    assert_eq!(seen.text, "Your name is Ada.", "{cell}");
    let body = &fake.requests()[before].body;
    let messages = body["messages"]
        .as_array()
        .or_else(|| body["contents"].as_array())
        .or_else(|| body["input"].as_array())
        .cloned()
        .unwrap_or_default();
    let roles: Vec<&str> = messages
        .iter()
        .filter_map(|message| message["role"].as_str())
        .map(|role| if role == "model" { "assistant" } else { role })
        .collect();
    assert_eq!(roles, ["user", "assistant", "user"], "{cell}");
}

async fn tool_round_trip(
    fake: &FakeProvider,
    gateway: &Gateway,
    client_kind: ClientKind,
    stream: bool,
    cell: &str,
) {
    fake.push(Behaviour {
        reply: Reply::ToolCalls(vec![(
            WEATHER_TOOL.to_owned(),
            r#"{"city":"Oslo"}"#.to_owned(),
        )]),
        ..Behaviour::default()
    });
    let first = call(
        gateway,
        client_kind,
        Some(SYSTEM),
        &[Turn::User("Weather in Oslo?")],
        true,
        stream,
    )
    .await;
    assert_eq!(first.finish, "tool_calls", "{cell}");
    assert_eq!(first.tool_calls.len(), 1, "{cell}: {first:?}");
    let tool_call = first.tool_calls[0].clone();
    assert_eq!(tool_call.name, WEATHER_TOOL, "{cell}");
    assert_eq!(tool_call.arguments, json!({"city": "Oslo"}), "{cell}");
    assert!(
        !tool_call.id.is_empty() || client_kind == ClientKind::Gemini,
        "{cell}"
    );

    // The strict fake only accepts the second turn if the result answers the call it made.
    fake.push(Behaviour::text("It is 3 degrees in Oslo."));
    let turns = [
        Turn::User("Weather in Oslo?"),
        Turn::ToolCalls(vec![tool_call.clone()]),
        Turn::ToolResult(tool_call.id.clone(), "3 degrees, cloudy"),
    ];
    let second = call(gateway, client_kind, Some(SYSTEM), &turns, true, stream).await;
    assert_eq!(second.text, "It is 3 degrees in Oslo.", "{cell}");
    assert_eq!(second.finish, "stop", "{cell}");
}
