//! What the fake's Anthropic Messages API accepts only under an `anthropic-beta` header, as
//! Claude Code sends them: mid-conversation `system` messages, `context_management`, deferred
//! tools with input examples; plus `thinking.display: "omitted"` and every `effort` level, which
//! need no beta.

use serde_json::{Value, json};
use switchboard_load_tests::{Behaviour, Reply, thinking_signature};

use crate::common::{
    KEY, anthropic_provider, anthropic_request, json_of, messages_body, sse_events,
    status_and_json, weather_tools,
};

const MID_CONVERSATION: &str = "mid-conversation-tool-changes-2026-07-01";
const CONTEXT_MANAGEMENT: &str = "context-management-2025-06-27";
const ADVANCED_TOOL_USE: &str = "advanced-tool-use-2025-11-20";

/// POSTs `body` to `path` with the right key and version, and `betas` (if not empty) as the
/// `anthropic-beta` header.
async fn post(
    provider: &switchboard_load_tests::FakeProvider,
    path: &str,
    body: &Value,
    betas: &str,
) -> reqwest::Response {
    let mut request = anthropic_request(provider, path)
        .header("x-api-key", KEY)
        .header("anthropic-version", "2023-06-01");
    if !betas.is_empty() {
        request = request.header("anthropic-beta", betas);
    }
    request.json(body).send().await.expect("the fake answers")
}

/// The 400's message, after checking it is Anthropic's `invalid_request_error`.
async fn refusal(response: reqwest::Response) -> String {
    let (status, error) = status_and_json(response).await;
    assert_eq!(status, 400, "{error}");
    assert_eq!(error["error"]["type"], "invalid_request_error");
    error["error"]["message"].as_str().unwrap().to_owned()
}

fn with_system_message(content: Value) -> Value {
    let mut body = messages_body();
    body["messages"] = json!([
        {"role": "user", "content": [{"type": "text", "text": "Say hello"},
                                     {"type": "text", "text": "to me"}]},
        {"role": "system", "content": content}
    ]);
    body
}

#[tokio::test]
async fn a_system_message_needs_the_mid_conversation_beta() {
    let provider = anthropic_provider().await;
    let body = with_system_message(json!([{"type": "text", "text": "Be brief now.",
                                           "cache_control": {"type": "ephemeral"}}]));

    let without = post(&provider, "/v1/messages", &body, "claude-code-20250219").await;
    let with = post(
        &provider,
        "/v1/messages",
        &body,
        &format!("claude-code-20250219,{MID_CONVERSATION}"),
    )
    .await;

    assert_eq!(
        refusal(without).await,
        "messages.1.role: Input should be 'user' or 'assistant'"
    );
    let (status, answer) = status_and_json(with).await;
    assert_eq!(status, 200, "{answer}");
    // system (1 + 3) + user (1 + 4) + the system message (1 + 3).
    assert_eq!(answer["usage"]["input_tokens"], 13);
    let mut counted = body.clone();
    counted.as_object_mut().unwrap().remove("max_tokens");
    let count = post(
        &provider,
        "/v1/messages/count_tokens",
        &counted,
        MID_CONVERSATION,
    )
    .await;
    assert_eq!(json_of(count).await, json!({"input_tokens": 13}));
    assert_eq!(
        provider.requests()[1].header("anthropic-beta"),
        Some("claude-code-20250219,mid-conversation-tool-changes-2026-07-01")
    );
}

#[tokio::test]
async fn a_system_message_must_follow_a_user_message_and_carry_only_text() {
    let provider = anthropic_provider().await;
    let user = json!({"role": "user", "content": "Hi"});
    let assistant = json!({"role": "assistant", "content": "Hello"});
    let system = json!({"role": "system", "content": "Be brief."});
    let cases = [
        (
            json!([system, user]),
            "messages.0.role: a `system` message cannot be the first message",
        ),
        (
            json!([user, assistant, system]),
            "messages.2.role: a `system` message must directly follow a `user` message",
        ),
        (
            json!([user, system, system]),
            "messages.2.role: `system` messages cannot follow each other",
        ),
        (
            json!([user, {"role": "system", "content": [
                {"type": "image", "source": {"type": "url", "url": "https://x.test/a.png"}}]}]),
            "messages.1.content.0: Input tag 'image' found using 'type' does not match any of the expected tags: 'text'",
        ),
        (
            json!([user, {"role": "system", "content": ""}]),
            "messages.1: all messages must have non-empty content except for the optional final assistant message",
        ),
    ];
    for (messages, expected) in cases {
        let mut body = messages_body();
        body["messages"] = messages;
        let response = post(&provider, "/v1/messages", &body, MID_CONVERSATION).await;
        assert_eq!(refusal(response).await, expected);
    }
    let mut good = messages_body();
    good["messages"] = json!([user, system, assistant, user]);
    let response = post(&provider, "/v1/messages", &good, MID_CONVERSATION).await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn context_management_needs_its_beta_and_reports_no_edits() {
    let provider = anthropic_provider().await;
    let mut body = messages_body();
    body["context_management"] =
        json!({"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]});

    let without = post(&provider, "/v1/messages", &body, MID_CONVERSATION).await;
    let with = post(&provider, "/v1/messages", &body, CONTEXT_MANAGEMENT).await;

    assert_eq!(
        refusal(without).await,
        "context_management: Extra inputs are not permitted"
    );
    let answer = json_of(with).await;
    assert_eq!(answer["context_management"], json!({"applied_edits": []}));
    assert_eq!(answer["stop_reason"], "end_turn");

    body["stream"] = json!(true);
    let text = post(&provider, "/v1/messages", &body, CONTEXT_MANAGEMENT)
        .await
        .text()
        .await
        .unwrap();
    let events = sse_events(&text);
    let (name, delta) = &events[events.len() - 2];
    assert_eq!(name, "message_delta");
    assert_eq!(delta["context_management"], json!({"applied_edits": []}));
    assert!(events[0].1["message"].get("context_management").is_none());

    let mut counted = body.clone();
    for key in ["max_tokens", "stream"] {
        counted.as_object_mut().unwrap().remove(key);
    }
    let count = post(
        &provider,
        "/v1/messages/count_tokens",
        &counted,
        CONTEXT_MANAGEMENT,
    )
    .await;
    assert_eq!(
        json_of(count).await,
        json!({"input_tokens": 9, "context_management": {"original_input_tokens": 9}})
    );

    let plain = post(
        &provider,
        "/v1/messages",
        &messages_body(),
        CONTEXT_MANAGEMENT,
    )
    .await;
    assert!(json_of(plain).await.get("context_management").is_none());
}

#[tokio::test]
async fn context_management_edits_are_checked() {
    let provider = anthropic_provider().await;
    let mut body = messages_body();
    body["context_management"] = json!({"edits": [
        {"type": "clear_tool_uses_20250919", "trigger": {"type": "input_tokens", "value": 30000}},
        {"type": "clear_thinking_20251015", "keep": 2},
        {"type": "compact_20260112"},
        {"type": "summarize_everything"}
    ]});

    let response = post(&provider, "/v1/messages", &body, CONTEXT_MANAGEMENT).await;

    assert_eq!(
        refusal(response).await,
        "context_management.edits.3.type: Input should be 'clear_tool_uses_20250919', 'clear_thinking_20251015' or 'compact_20260112'"
    );
    body["context_management"]["edits"]
        .as_array_mut()
        .unwrap()
        .pop();
    let accepted = post(&provider, "/v1/messages", &body, CONTEXT_MANAGEMENT).await;
    assert_eq!(accepted.status(), 200);
}

fn deferred_tools() -> Value {
    let mut tools = weather_tools();
    tools.as_array_mut().unwrap().push(json!({
        "name": "WebFetch", "description": "Fetch a page",
        "input_schema": {"type": "object", "properties": {"url": {"type": "string"}}},
        "defer_loading": true,
        "input_examples": [{"url": "https://example.com"}]
    }));
    tools
}

#[tokio::test]
async fn deferred_tools_need_the_advanced_tool_use_beta() {
    let provider = anthropic_provider().await;
    let mut body = messages_body();
    body["tools"] = deferred_tools();

    let without = post(&provider, "/v1/messages", &body, CONTEXT_MANAGEMENT).await;
    let with = post(&provider, "/v1/messages", &body, ADVANCED_TOOL_USE).await;

    assert_eq!(
        refusal(without).await,
        "tools.1.defer_loading: Extra inputs are not permitted"
    );
    assert_eq!(with.status(), 200);
    body["tools"][1]["input_examples"] = json!(["https://example.com"]);
    let bad_example = post(&provider, "/v1/messages", &body, ADVANCED_TOOL_USE).await;
    assert_eq!(
        refusal(bad_example).await,
        "tools.1.input_examples.0: Input should be a valid dictionary"
    );
    body["tools"][1]["input_examples"] = json!([]);
    body["tools"][1]["defer_loading"] = json!("yes");
    let bad_flag = post(&provider, "/v1/messages", &body, ADVANCED_TOOL_USE).await;
    assert_eq!(
        refusal(bad_flag).await,
        "tools.1.defer_loading: Input should be a valid boolean"
    );
}

#[tokio::test]
async fn a_script_that_calls_a_deferred_tool_is_a_500() {
    let provider = anthropic_provider().await;
    provider.push(Behaviour {
        reply: Reply::ToolCalls(vec![(
            "WebFetch".into(),
            r#"{"url":"https://a.test"}"#.into(),
        )]),
        ..Behaviour::default()
    });
    provider.push(Behaviour {
        reply: Reply::ToolCalls(vec![("get_weather".into(), r#"{"city":"Oslo"}"#.into())]),
        ..Behaviour::default()
    });
    let mut body = messages_body();
    body["tools"] = deferred_tools();

    let deferred = post(&provider, "/v1/messages", &body, ADVANCED_TOOL_USE).await;
    let loaded = post(&provider, "/v1/messages", &body, ADVANCED_TOOL_USE).await;

    let (status, error) = status_and_json(deferred).await;
    assert_eq!(status, 500);
    assert_eq!(error["error"]["type"], "api_error");
    let message = error["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("`WebFetch`") && message.contains("defer_loading"),
        "{message}"
    );
    assert_eq!(json_of(loaded).await["stop_reason"], "tool_use");
}

#[tokio::test]
async fn omitted_thinking_is_sent_empty_with_a_signature_that_round_trips() {
    let provider = anthropic_provider().await;
    let thought = "I should call the weather tool.";
    provider.push(Behaviour {
        reply: Reply::ToolCalls(vec![("get_weather".into(), r#"{"city":"Oslo"}"#.into())]),
        thinking: Some(thought.to_owned()),
        ..Behaviour::default()
    });
    let mut body = messages_body();
    body["thinking"] = json!({"type": "adaptive", "display": "omitted"});
    body["output_config"] = json!({"effort": "xhigh"});
    body["tools"] = weather_tools();

    let first = json_of(post(&provider, "/v1/messages", &body, "").await).await;

    assert_eq!(
        first["content"][0],
        json!({"type": "thinking", "thinking": "", "signature": thinking_signature("")})
    );
    // The thinking is still paid for: 6 words of thinking + 1 of arguments.
    assert_eq!(first["usage"]["output_tokens"], 6 + 1);
    let mut answered = body.clone();
    answered["messages"] = json!([
        body["messages"][0],
        {"role": "assistant", "content": first["content"]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_fake0", "content": "Sunny"}]}
    ]);
    answered["stream"] = json!(true);
    let text = post(&provider, "/v1/messages", &answered, "")
        .await
        .text()
        .await
        .unwrap();
    let events = sse_events(&text);
    let deltas: Vec<&str> = events
        .iter()
        .filter(|(name, event)| name == "content_block_delta" && event["index"] == 0)
        .map(|(_, event)| event["delta"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(deltas, ["signature_delta"]);
}

#[tokio::test]
async fn every_effort_level_is_accepted_and_others_are_not() {
    let provider = anthropic_provider().await;
    for effort in ["low", "medium", "high", "xhigh", "max"] {
        let mut body = messages_body();
        body["output_config"] = json!({"effort": effort});
        let response = post(&provider, "/v1/messages", &body, "effort-2025-11-24").await;
        assert_eq!(response.status(), 200, "{effort}");
    }
    let mut body = messages_body();
    body["output_config"] = json!({"effort": "extreme"});
    let response = post(&provider, "/v1/messages", &body, "effort-2025-11-24").await;
    assert_eq!(
        refusal(response).await,
        "output_config.effort: Input should be 'low', 'medium', 'high', 'xhigh' or 'max'"
    );
}

const PER_TURN_CONTROL: &str = "per-turn-control-2026-07-01";

#[tokio::test]
async fn a_system_messages_own_effort_needs_the_per_turn_control_beta() {
    let provider = anthropic_provider().await;
    let mut body = with_system_message(json!([{"type": "text", "text": "Think harder now."}]));
    body["messages"][1]["output_config"] = json!({"effort": "high"});

    let without = post(&provider, "/v1/messages", &body, MID_CONVERSATION).await;
    assert_eq!(
        refusal(without).await,
        "messages.1.output_config: Extra inputs are not permitted"
    );
    let betas = format!("{MID_CONVERSATION},{PER_TURN_CONTROL}");
    let with = post(&provider, "/v1/messages", &body, &betas).await;
    assert_eq!(with.status(), 200);

    // A directive alone: empty content is allowed when the message carries an effort.
    body["messages"][1]["content"] = json!([]);
    assert_eq!(
        post(&provider, "/v1/messages", &body, &betas)
            .await
            .status(),
        200
    );
    body["messages"][1]["output_config"] = json!({"effort": "extreme"});
    let refused = refusal(post(&provider, "/v1/messages", &body, &betas).await).await;
    assert!(
        refused.starts_with("messages.1.output_config.effort"),
        "{refused}"
    );
}

#[tokio::test]
async fn tool_references_in_results_need_the_advanced_tool_use_beta() {
    let provider = anthropic_provider().await;
    let mut body = messages_body();
    body["tools"] = weather_tools();
    body["messages"] = json!([
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Oslo"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": [
            {"type": "tool_reference", "tool_name": "get_weather"}]}]},
    ]);
    let without = refusal(post(&provider, "/v1/messages", &body, "").await).await;
    assert!(without.contains("'tool_reference'"), "{without}");
    let with = post(&provider, "/v1/messages", &body, ADVANCED_TOOL_USE).await;
    assert_eq!(with.status(), 200);
}
