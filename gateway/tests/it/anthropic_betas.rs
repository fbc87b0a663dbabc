//! Each `anthropic-beta` flag Claude Code sends, decided one by one (see
//! `protocols::anthropic::betas`): an Anthropic upstream gets the flag and the fields it
//! enables as the client sent them; an OpenAI upstream gets what the decision maps them to,
//! and the answer names what was left out.

use serde_json::{Value, json};
use switchboard_load_tests::{FakeProvider, RecordedRequest};

use crate::common::{Gateway, KEY, client};

fn gateway(fake: &FakeProvider) -> Gateway {
    Gateway::start(&format!(
        r#"
channels:
  - {{name: claude, provider: anthropic, base_url: "http://{addr}", api_key: sk-up, models: [{{name: to-anthropic, upstream: claude-up}}]}}
  - {{name: openai, provider: openai, base_url: "http://{addr}/v1", api_key: sk-up, models: [{{name: to-openai, upstream: gpt-up}}]}}
  - {{name: gemini, provider: gemini, base_url: "http://{addr}", api_key: sk-up, models: [{{name: to-gemini, upstream: gemini-up}}]}}
roles: [{{name: all, models: ["*"]}}]
api_keys: [{{name: agent, key: {KEY}, role: all}}]
"#,
        addr = fake.addr()
    ))
}

/// Sends `body` (with `model`) under `beta`; returns the upstream request and the dropped header.
async fn send(
    gateway: &Gateway,
    fake: &FakeProvider,
    beta: Option<&str>,
    model: &str,
    mut body: Value,
) -> (RecordedRequest, String) {
    body["model"] = model.into();
    let before = fake.requests().len();
    let mut request = client()
        .post(gateway.url("/v1/messages"))
        .header("x-api-key", KEY)
        .header("anthropic-version", "2023-06-01")
        .json(&body);
    if let Some(beta) = beta {
        request = request.header("anthropic-beta", beta);
    }
    let response = request.send().await.expect("request");
    let status = response.status();
    let dropped = response
        .headers()
        .get("x-switchboard-dropped")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = response.text().await.expect("body");
    assert_eq!(status, 200, "{beta:?} to {model}: {text}");
    let requests = fake.requests();
    assert_eq!(requests.len(), before + 1, "one upstream request");
    (requests[before].clone(), dropped)
}

fn base() -> Value {
    json!({"max_tokens": 1024, "messages": [{"role": "user", "content": "List the files."}]})
}

fn with_mid_conversation_system(output_config: Option<Value>) -> Value {
    let mut system = json!({"role": "system", "content": [{"type": "text", "text": "Tools changed: Grep is available."}]});
    if let Some(config) = output_config {
        system["output_config"] = config;
    }
    json!({"max_tokens": 1024, "messages": [
        {"role": "user", "content": "List the files."},
        system,
    ]})
}

#[tokio::test]
async fn flags_that_only_mark_the_client_go_to_anthropic_and_change_nothing_elsewhere() {
    let fake = FakeProvider::start().await;
    let gateway = gateway(&fake);
    for beta in [
        "claude-code-20250219",
        "interleaved-thinking-2025-05-14",
        "thinking-token-count-2026-05-13",
    ] {
        let (sent, dropped) = send(&gateway, &fake, Some(beta), "to-anthropic", base()).await;
        assert_eq!(sent.header("anthropic-beta"), Some(beta));
        assert!(dropped.is_empty());
        let (sent, dropped) = send(&gateway, &fake, Some(beta), "to-openai", base()).await;
        assert!(sent.header("anthropic-beta").is_none());
        assert_eq!(sent.body["messages"][0]["content"], "List the files.");
        assert!(dropped.is_empty(), "{beta}: {dropped}");
    }
}

#[tokio::test]
async fn context_management_goes_to_anthropic_and_is_left_out_elsewhere() {
    let fake = FakeProvider::start().await;
    let gateway = gateway(&fake);
    let beta = "context-management-2025-06-27";
    let mut body = base();
    body["context_management"] =
        json!({"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]});
    let (sent, _) = send(&gateway, &fake, Some(beta), "to-anthropic", body.clone()).await;
    assert_eq!(sent.header("anthropic-beta"), Some(beta));
    assert_eq!(sent.body["context_management"], body["context_management"]);
    for model in ["to-openai", "to-gemini"] {
        let (sent, dropped) = send(&gateway, &fake, Some(beta), model, body.clone()).await;
        assert!(sent.body.get("context_management").is_none(), "{model}");
        assert_eq!(dropped, "context_management", "{model}");
    }
}

#[tokio::test]
async fn a_mid_conversation_system_message_stays_in_place_or_becomes_an_instruction() {
    let fake = FakeProvider::start().await;
    let gateway = gateway(&fake);
    let beta = "mid-conversation-tool-changes-2026-07-01";
    let body = with_mid_conversation_system(None);
    // With the beta, Anthropic gets it where the client put it.
    let (sent, _) = send(&gateway, &fake, Some(beta), "to-anthropic", body.clone()).await;
    assert_eq!(sent.body["messages"][1]["role"], "system", "{}", sent.body);
    // Without it, Anthropic would refuse the role: it joins the top-level system prompt.
    let (sent, _) = send(&gateway, &fake, None, "to-anthropic", body.clone()).await;
    assert_eq!(sent.body["messages"].as_array().map(Vec::len), Some(1));
    assert!(
        sent.body["system"]
            .to_string()
            .contains("Grep is available")
    );
    // OpenAI: a system message at that point; Gemini: the system instruction.
    let (sent, _) = send(&gateway, &fake, Some(beta), "to-openai", body.clone()).await;
    assert_eq!(sent.body["messages"][1]["role"], "system", "{}", sent.body);
    let (sent, _) = send(&gateway, &fake, Some(beta), "to-gemini", body).await;
    assert!(
        sent.body["systemInstruction"]
            .to_string()
            .contains("Grep is available"),
        "{}",
        sent.body
    );
}

#[tokio::test]
async fn effort_top_level_or_per_turn_becomes_the_reasoning_effort_elsewhere() {
    let fake = FakeProvider::start().await;
    let gateway = gateway(&fake);
    let mut body = base();
    body["output_config"] = json!({"effort": "low"});
    let (sent, _) = send(
        &gateway,
        &fake,
        Some("effort-2025-11-24"),
        "to-anthropic",
        body.clone(),
    )
    .await;
    assert_eq!(sent.body["output_config"]["effort"], "low");
    let (sent, _) = send(
        &gateway,
        &fake,
        Some("effort-2025-11-24"),
        "to-openai",
        body,
    )
    .await;
    assert_eq!(sent.body["reasoning_effort"], "low", "{}", sent.body);

    // Per-turn control: a system message's own effort is the one in force from there.
    let betas =
        "mid-conversation-tool-changes-2026-07-01,per-turn-control-2026-07-01,effort-2025-11-24";
    let mut body = with_mid_conversation_system(Some(json!({"effort": "high"})));
    body["output_config"] = json!({"effort": "low"});
    let (sent, _) = send(&gateway, &fake, Some(betas), "to-anthropic", body.clone()).await;
    assert_eq!(sent.body["messages"][1]["output_config"]["effort"], "high");
    let (sent, _) = send(&gateway, &fake, Some(betas), "to-openai", body).await;
    assert_eq!(sent.body["reasoning_effort"], "high", "{}", sent.body);
}

#[tokio::test]
async fn deferred_tools_are_shown_once_loaded_and_tool_references_follow_advanced_tool_use() {
    let fake = FakeProvider::start().await;
    let gateway = gateway(&fake);
    let beta = "advanced-tool-use-2025-11-20";
    let schema = json!({"type": "object", "properties": {"query": {"type": "string"}}});
    let body = json!({
        "max_tokens": 1024,
        "tools": [
            {"name": "ToolSearch", "description": "Finds tools.", "input_schema": schema},
            {"name": "Grep", "description": "Searches files.", "input_schema": schema, "defer_loading": true},
            {"name": "Glob", "description": "Lists files.", "input_schema": schema, "defer_loading": true},
        ],
        "messages": [
            {"role": "user", "content": "Find a search tool."},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "ToolSearch", "input": {"query": "grep"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": [
                {"type": "tool_reference", "tool_name": "Grep"},
            ]}]},
        ],
    });
    let (sent, dropped) = send(&gateway, &fake, Some(beta), "to-anthropic", body.clone()).await;
    assert_eq!(sent.body["tools"][1]["defer_loading"], true);
    assert_eq!(
        sent.body["messages"][2]["content"][0]["content"][0]["type"],
        "tool_reference"
    );
    assert!(dropped.is_empty());
    let (sent, dropped) = send(&gateway, &fake, Some(beta), "to-openai", body).await;
    let tools: Vec<&str> = sent.body["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|tool| tool["function"]["name"].as_str())
        .collect();
    // A deferred tool is shown once a tool search has loaded it, not before.
    assert_eq!(tools, ["ToolSearch", "Grep"]);
    assert_eq!(dropped, "tools.Glob");
    let result = &sent.body["messages"][2];
    assert_eq!(result["role"], "tool");
    assert!(
        result["content"]
            .to_string()
            .contains("Tool `Grep` is loaded and can be called."),
        "{result}"
    );
}
