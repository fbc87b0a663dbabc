//! Coding agents through every upstream. The request shapes the Codex CLI (OpenAI Responses) and
//! Claude Code (Anthropic Messages) send — recorded from the real clients, see
//! `shared/reference/agent-requests.md` — are replayed turn by turn through OpenAI, Anthropic,
//! Gemini and Bedrock channels, and the Codex CLI's also through an OpenAI channel that speaks
//! the Responses API. Every turn gets a complete streamed answer, the model's tool call comes
//! back in the shape the client declared (a namespaced function for the Codex CLI, a `tool_use`
//! block for Claude Code), and every turn is one upstream request.

use serde_json::{Value, json};
use switchboard_load_tests::{Behaviour, FakeProvider, RecordedRequest, Reply};

use crate::common::{Gateway, KEY, client};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Upstream {
    OpenAi,
    Responses,
    Anthropic,
    Gemini,
    Bedrock,
}

impl Upstream {
    fn model(self) -> &'static str {
        match self {
            Upstream::OpenAi => "agent-openai",
            Upstream::Responses => "agent-responses",
            Upstream::Anthropic => "agent-anthropic",
            Upstream::Gemini => "agent-gemini",
            Upstream::Bedrock => "agent-bedrock",
        }
    }
}

/// One channel per upstream kind, each serving its own model name, all on the one fake.
fn gateway(fake: &FakeProvider) -> Gateway {
    let root = format!("http://{}", fake.addr());
    Gateway::start(&format!(
        r#"
channels:
  - {{name: openai, provider: openai, base_url: "{v1}", api_key: sk-up, models: [{{name: agent-openai, upstream: gpt-up}}]}}
  - {{name: responses, provider: openai, api: responses, base_url: "{v1}", api_key: sk-up, models: [{{name: agent-responses, upstream: gpt-up}}]}}
  - {{name: anthropic, provider: anthropic, base_url: "{root}", api_key: sk-up, models: [{{name: agent-anthropic, upstream: claude-up}}]}}
  - {{name: gemini, provider: gemini, base_url: "{root}", api_key: sk-up, models: [{{name: agent-gemini, upstream: gemini-up}}]}}
  - name: bedrock
    provider: bedrock
    base_url: "{root}"
    aws: {{region: us-east-1, access_key_id: AKIDFAKEEXAMPLE, secret_access_key: fake-secret-key}}
    models: [{{name: agent-bedrock, upstream: "anthropic.claude-up-v1:0"}}]
roles: [{{name: all, models: ["*"]}}]
api_keys: [{{name: agent, key: {KEY}, role: all}}]
"#,
        v1 = fake.base_url(),
    ))
}

/// `(event name, data)` of every event in an SSE body.
fn events(body: &str) -> Vec<(String, Value)> {
    body.split("\n\n")
        .filter_map(|event| {
            let mut name = String::new();
            let mut data = None;
            for line in event.lines() {
                if let Some(value) = line.strip_prefix("event: ") {
                    name = value.to_owned();
                } else if let Some(value) = line.strip_prefix("data: ") {
                    data = serde_json::from_str(value).ok();
                }
            }
            data.map(|data| (name, data))
        })
        .collect()
}

/// A streamed turn: the dropped-fields header and the events.
struct Turn {
    dropped: String,
    events: Vec<(String, Value)>,
}

async fn send(gateway: &Gateway, request: reqwest::RequestBuilder) -> Turn {
    let response = request.send().await.expect("request");
    let status = response.status();
    let dropped = response
        .headers()
        .get("x-switchboard-dropped")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = response.text().await.expect("body");
    assert_eq!(status, 200, "{body}\n{}", gateway.logs());
    Turn {
        dropped,
        events: events(&body),
    }
}

/// The one new upstream request of a turn.
fn only_new(fake: &FakeProvider, before: usize) -> RecordedRequest {
    let requests = fake.requests();
    assert_eq!(requests.len(), before + 1, "one upstream request per turn");
    requests[before].clone()
}

// ---------------------------------------------------------------------------------------------
// The Codex CLI

fn function(name: &str) -> Value {
    json!({"type": "function", "name": name, "description": format!("The {name} tool."), "strict": false,
           "parameters": {"type": "object", "properties": {"value": {"type": "string"}}, "required": [], "additionalProperties": false}})
}

/// The tools of the Codex CLI's every turn: functions, a namespace of functions, hosted search.
fn codex_tools() -> Value {
    json!([
        function("exec_command"),
        function("write_stdin"),
        function("view_image"),
        {"type": "namespace", "name": "multi_agent_v1", "description": "Sub-agents.",
         "tools": [function("spawn_agent"), function("wait_agent"), function("close_agent")]},
        function("update_goal"),
        {"type": "web_search", "external_web_access": false},
    ])
}

fn codex_request(
    gateway: &Gateway,
    upstream: Upstream,
    input: &[Value],
) -> reqwest::RequestBuilder {
    let body = json!({
        "model": upstream.model(), "stream": true, "input": input, "tools": codex_tools(),
        "tool_choice": "auto", "parallel_tool_calls": true, "reasoning": {"summary": "auto"},
        "store": false, "include": ["reasoning.encrypted_content"],
        "prompt_cache_key": "0b5b9e4e-6a4c-4f7a-9d43-1f2b3c4d5e6f",
        "client_metadata": {"x-codex-turn-metadata": "{\"turn\":1}"},
    });
    client()
        .post(gateway.url("/v1/responses"))
        .bearer_auth(KEY)
        .header("originator", "codex_exec")
        .header("session-id", "0b5b9e4e-6a4c-4f7a-9d43-1f2b3c4d5e6f")
        .header("x-codex-beta-features", "remote_compaction_v2")
        .json(&body)
}

fn codex_first_input() -> Vec<Value> {
    let text = |role: &str, text: &str| json!({"type": "message", "role": role, "content": [{"type": "input_text", "text": text}]});
    vec![
        text("developer", "You are a coding agent. Use the tools."),
        text("developer", "Sandbox: read-only."),
        text(
            "user",
            "<environment_context>cwd=/work</environment_context>",
        ),
        text("user", "Start a helper agent."),
    ]
}

/// The items the Codex CLI keeps from a turn: every finished output item.
fn finished_items(turn: &Turn) -> Vec<Value> {
    turn.events
        .iter()
        .filter(|(name, _)| name == "response.output_item.done")
        .map(|(_, data)| data["item"].clone())
        .collect()
}

fn assert_completed(turn: &Turn) {
    let (last, data) = turn.events.last().expect("events");
    assert_eq!(last, "response.completed", "{data}");
    assert!(
        data["response"]["id"].is_string(),
        "the Codex CLI needs the id: {data}"
    );
    assert!(
        turn.events
            .iter()
            .all(|(name, _)| name != "error" && name != "response.failed"),
        "{:?}",
        turn.events
    );
}

#[tokio::test]
async fn the_codex_cli_works_through_every_upstream() {
    for upstream in [
        Upstream::OpenAi,
        Upstream::Anthropic,
        Upstream::Gemini,
        Upstream::Bedrock,
        Upstream::Responses,
    ] {
        let fake = FakeProvider::start().await;
        let gateway = gateway(&fake);
        // Turn 1: the model calls a function of the namespace.
        let scripted = if upstream == Upstream::Responses {
            "spawn_agent"
        } else {
            "multi_agent_v1__spawn_agent"
        };
        fake.push(Behaviour {
            reply: Reply::ToolCalls(vec![(
                scripted.to_owned(),
                r#"{"value":"lint"}"#.to_owned(),
            )]),
            ..Behaviour::default()
        });
        let mut input = codex_first_input();
        let first = send(&gateway, codex_request(&gateway, upstream, &input)).await;
        assert_completed(&first);
        let items = finished_items(&first);
        let call = items
            .iter()
            .find(|item| item["type"] == "function_call")
            .unwrap_or_else(|| panic!("{upstream:?}: a function call in {items:?}"));
        assert_eq!(call["namespace"], "multi_agent_v1", "{upstream:?}: {call}");
        assert_eq!(call["name"], "spawn_agent", "{upstream:?}: {call}");
        let arguments: Value =
            serde_json::from_str(call["arguments"].as_str().unwrap_or_default()).expect("json");
        assert_eq!(arguments, json!({"value": "lint"}));
        let sent = only_new(&fake, 0);
        check_codex_upstream(upstream, &sent, &first.dropped);

        // Turn 2: the call, its output and any reasoning go back; the model answers in text.
        input.extend(items.iter().cloned());
        input.push(json!({"type": "function_call_output", "call_id": call["call_id"], "output": "agent started"}));
        fake.push(Behaviour::text("The helper agent is running."));
        let second = send(&gateway, codex_request(&gateway, upstream, &input)).await;
        assert_completed(&second);
        let text: String = second
            .events
            .iter()
            .filter(|(name, _)| name == "response.output_text.delta")
            .filter_map(|(_, data)| data["delta"].as_str())
            .collect();
        assert_eq!(text, "The helper agent is running.", "{upstream:?}");
        let sent = only_new(&fake, 1);
        let body = sent.body.to_string();
        assert!(body.contains("agent started"), "{upstream:?}: {body}");
        if upstream != Upstream::Responses {
            assert!(
                body.contains("multi_agent_v1__spawn_agent"),
                "{upstream:?}: the call goes back under its flat name: {body}"
            );
        }
    }
}

/// What the upstream got on the first turn: the Responses channel the client's request as sent,
/// the others flat function tools without the hosted search (named as dropped).
fn check_codex_upstream(upstream: Upstream, sent: &RecordedRequest, dropped: &str) {
    let body = sent.body.to_string();
    if upstream == Upstream::Responses {
        assert_eq!(sent.path, "/v1/responses");
        assert_eq!(sent.body["model"], "gpt-up");
        assert_eq!(sent.body["tools"], codex_tools(), "tools unchanged");
        assert_eq!(sent.body["include"], json!(["reasoning.encrypted_content"]));
        assert!(dropped.is_empty(), "{dropped}");
        return;
    }
    assert!(
        body.contains("multi_agent_v1__spawn_agent"),
        "{upstream:?}: {body}"
    );
    assert!(!body.contains("web_search"), "{upstream:?}: {body}");
    assert!(!body.contains("namespace"), "{upstream:?}: {body}");
    assert!(
        dropped.contains("tools.web_search"),
        "{upstream:?}: {dropped}"
    );
}

// ---------------------------------------------------------------------------------------------
// Claude Code

const CLAUDE_BETAS: &str = "claude-code-20250219,interleaved-thinking-2025-05-14,context-management-2025-06-27,per-turn-control-2026-07-01,mid-conversation-tool-changes-2026-07-01,thinking-token-count-2026-05-13,effort-2025-11-24,advanced-tool-use-2025-11-20";

const ENVIRONMENT: &str = "# Environment\nPrimary working directory: /work";

fn claude_tools() -> Value {
    let tool = |name: &str| {
        json!({"name": name, "description": format!("The {name} tool."),
               "input_schema": {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
                                "properties": {"command": {"type": "string"}}, "required": ["command"], "additionalProperties": false}})
    };
    json!([
        tool("Bash"),
        tool("Read"),
        tool("ToolSearch"),
        {"name": "DeferredToolPlaceholder", "description": "Reserved placeholder; never call this tool.",
         "input_schema": {"type": "object", "properties": {}}, "defer_loading": true},
        tool("Write"),
    ])
}

fn claude_request(
    gateway: &Gateway,
    upstream: Upstream,
    messages: &[Value],
) -> reqwest::RequestBuilder {
    let body = json!({
        "model": upstream.model(), "max_tokens": 32000, "stream": true,
        "system": [
            {"type": "text", "text": "x-anthropic-billing-header: cc_version=2.1.332;"},
            {"type": "text", "text": "You are a Claude agent.", "cache_control": {"type": "ephemeral"}},
            {"type": "text", "text": "Use the tools to help the user.", "cache_control": {"type": "ephemeral"}},
        ],
        "messages": messages, "tools": claude_tools(),
        "metadata": {"user_id": "{\"device_id\":\"c21f\",\"account_uuid\":\"\",\"session_id\":\"de88\"}"},
        "thinking": {"type": "adaptive", "display": "omitted"},
        "output_config": {"effort": "medium"},
        "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
    });
    client()
        .post(gateway.url("/v1/messages?beta=true"))
        .header("x-api-key", KEY)
        .header("anthropic-version", "2023-06-01")
        .header("anthropic-beta", CLAUDE_BETAS)
        .header("x-app", "cli")
        .header("anthropic-dangerous-direct-browser-access", "true")
        .json(&body)
}

fn claude_first_messages() -> Vec<Value> {
    vec![
        json!({"role": "user", "content": [
            {"type": "text", "text": "<system-reminder>Skills are available.</system-reminder>"},
            {"type": "text", "text": "List the files."},
        ]}),
        // Per-turn control: the system message carries its own effort.
        json!({"role": "system", "content": [
            {"type": "text", "text": ENVIRONMENT, "cache_control": {"type": "ephemeral"}},
        ], "output_config": {"effort": "medium"}}),
    ]
}

/// The content blocks of a streamed Anthropic message, rebuilt as the SDK does.
fn claude_content(turn: &Turn) -> Vec<Value> {
    let mut blocks: Vec<Value> = Vec::new();
    let mut json_parts: Vec<String> = Vec::new();
    for (name, data) in &turn.events {
        match name.as_str() {
            "content_block_start" => {
                blocks.push(data["content_block"].clone());
                json_parts.push(String::new());
            }
            "content_block_delta" => {
                let (Some(block), Some(json)) = (blocks.last_mut(), json_parts.last_mut()) else {
                    continue;
                };
                let delta = &data["delta"];
                match delta["type"].as_str() {
                    Some("text_delta") => {
                        let text = format!(
                            "{}{}",
                            block["text"].as_str().unwrap_or_default(),
                            delta["text"].as_str().unwrap_or_default()
                        );
                        block["text"] = text.into();
                    }
                    Some("thinking_delta") => {
                        let text = format!(
                            "{}{}",
                            block["thinking"].as_str().unwrap_or_default(),
                            delta["thinking"].as_str().unwrap_or_default()
                        );
                        block["thinking"] = text.into();
                    }
                    Some("signature_delta") => block["signature"] = delta["signature"].clone(),
                    Some("input_json_delta") => {
                        json.push_str(delta["partial_json"].as_str().unwrap_or_default())
                    }
                    _ => {}
                }
            }
            "content_block_stop" => {
                if let (Some(block), Some(json)) = (blocks.last_mut(), json_parts.last())
                    && block["type"] == "tool_use"
                {
                    block["input"] = serde_json::from_str(json).unwrap_or_else(|_| json!({}));
                }
            }
            _ => {}
        }
    }
    blocks
}

fn stop_reason(turn: &Turn) -> Value {
    let names: Vec<&str> = turn.events.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names.last(), Some(&"message_stop"), "{names:?}");
    assert!(!names.contains(&"error"), "{:?}", turn.events);
    turn.events
        .iter()
        .find(|(name, _)| name == "message_delta")
        .map(|(_, data)| data["delta"]["stop_reason"].clone())
        .unwrap_or_default()
}

#[tokio::test]
async fn claude_code_works_through_every_upstream() {
    for upstream in [
        Upstream::Anthropic,
        Upstream::OpenAi,
        Upstream::Gemini,
        Upstream::Bedrock,
        Upstream::Responses,
    ] {
        let fake = FakeProvider::start().await;
        let gateway = gateway(&fake);
        fake.push(Behaviour {
            reply: Reply::ToolCalls(vec![("Bash".to_owned(), r#"{"command":"ls"}"#.to_owned())]),
            ..Behaviour::default()
        });
        let mut messages = claude_first_messages();
        let first = send(&gateway, claude_request(&gateway, upstream, &messages)).await;
        assert_eq!(stop_reason(&first), "tool_use", "{upstream:?}");
        let content = claude_content(&first);
        let call = content
            .iter()
            .find(|block| block["type"] == "tool_use")
            .unwrap_or_else(|| panic!("{upstream:?}: a tool_use block in {content:?}"));
        assert_eq!(call["name"], "Bash");
        assert_eq!(call["input"], json!({"command": "ls"}), "{upstream:?}");
        let sent = only_new(&fake, 0);
        check_claude_upstream(upstream, &sent, &first.dropped);

        // Turn 2: the assistant turn as received (thinking and all), then the tool's result.
        messages.push(json!({"role": "assistant", "content": content}));
        messages.push(json!({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": call["id"], "content": "Cargo.toml\nREADME.md"},
        ]}));
        fake.push(Behaviour::text("There are two files."));
        let second = send(&gateway, claude_request(&gateway, upstream, &messages)).await;
        assert_eq!(stop_reason(&second), "end_turn", "{upstream:?}");
        let text: String = claude_content(&second)
            .iter()
            .filter_map(|block| block["text"].as_str())
            .collect();
        assert_eq!(text, "There are two files.", "{upstream:?}");
        let sent = only_new(&fake, 1);
        assert!(sent.body.to_string().contains("README.md"), "{upstream:?}");
    }
}

/// What the upstream got on the first turn.
fn check_claude_upstream(upstream: Upstream, sent: &RecordedRequest, dropped: &str) {
    let body = &sent.body;
    let text = body.to_string();
    match upstream {
        Upstream::Anthropic => {
            assert_eq!(
                sent.header("anthropic-beta"),
                Some(CLAUDE_BETAS),
                "every beta passed on"
            );
            assert_eq!(body["messages"][1]["role"], "system", "in place: {body}");
            assert_eq!(body["messages"][1]["output_config"]["effort"], "medium");
            assert_eq!(
                body["context_management"]["edits"][0]["type"],
                "clear_thinking_20251015"
            );
            assert!(text.contains("\"defer_loading\":true"), "{text}");
            assert!(dropped.is_empty(), "{dropped}");
        }
        _ => {
            assert!(sent.header("anthropic-beta").is_none(), "{upstream:?}");
            assert!(!text.contains("context_management"), "{upstream:?}: {text}");
            assert!(
                !text.contains("DeferredToolPlaceholder"),
                "{upstream:?}: {text}"
            );
            assert!(
                text.contains(ENVIRONMENT.split('\n').next().unwrap_or_default()),
                "{upstream:?}: the mid-conversation instruction is kept: {text}"
            );
            assert!(
                dropped.contains("context_management"),
                "{upstream:?}: {dropped}"
            );
            assert!(
                dropped.contains("tools.DeferredToolPlaceholder"),
                "{upstream:?}: {dropped}"
            );
        }
    }
    match upstream {
        // A system message at that point of the conversation.
        Upstream::OpenAi => {
            assert_eq!(body["messages"][2]["role"], "system", "{body}");
            assert!(
                body["messages"][2]
                    .to_string()
                    .contains("Primary working directory")
            );
        }
        Upstream::Responses => {
            assert_eq!(body["input"][2]["role"], "system", "{body}");
        }
        _ => {}
    }
}
