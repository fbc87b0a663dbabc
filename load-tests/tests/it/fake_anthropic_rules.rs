//! What the fake's Anthropic Messages API refuses, and the multi-turn requests it accepts: the
//! tool_use/tool_result round trip, the thinking-signature round trip, unknown fields, a missing
//! `anthropic-version`, a wrong key and an unknown model.

use serde_json::json;
use switchboard_load_tests::{Behaviour, Reply, thinking_signature};

use crate::common::{
    KEY, anthropic_provider, anthropic_request, json_of, messages_body, post_messages,
    status_and_json, weather_tools,
};

#[tokio::test]
async fn tool_use_round_trip_and_a_missing_tool_result() {
    let provider = anthropic_provider().await;
    provider.push(Behaviour {
        reply: Reply::ToolCalls(vec![("get_weather".into(), r#"{"city":"Oslo"}"#.into())]),
        ..Behaviour::default()
    });
    let mut body = messages_body();
    body["tools"] = weather_tools();

    let first = json_of(post_messages(&provider, &body).await).await;

    assert_eq!(first["stop_reason"], "tool_use");
    assert_eq!(
        first["content"],
        json!([{"type": "tool_use", "id": "toolu_fake0", "name": "get_weather",
                "input": {"city": "Oslo"}}])
    );
    let mut answered = body.clone();
    answered["messages"] = json!([
        body["messages"][0],
        {"role": "assistant", "content": first["content"]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_fake0", "content": "Sunny, 21°C"}]}
    ]);
    let second = post_messages(&provider, &answered).await;
    assert_eq!(second.status(), 200);

    let mut unanswered = answered.clone();
    unanswered["messages"][2]["content"] = json!("What now?");
    let (status, error) = status_and_json(post_messages(&provider, &unanswered).await).await;
    assert_eq!(status, 400);
    assert_eq!(error["type"], "error");
    assert_eq!(error["error"]["type"], "invalid_request_error");
    let message = error["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with(
            "messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: toolu_fake0."
        ),
        "{message}"
    );
}

#[tokio::test]
async fn thinking_round_trip_and_a_tampered_signature() {
    let provider = anthropic_provider().await;
    let thought = "The user wants the weather, so I call the tool.";
    provider.push(Behaviour {
        reply: Reply::ToolCalls(vec![("get_weather".into(), r#"{"city":"Oslo"}"#.into())]),
        thinking: Some(thought.to_owned()),
        ..Behaviour::default()
    });
    let mut body = messages_body();
    body["max_tokens"] = json!(4096);
    body["thinking"] = json!({"type": "enabled", "budget_tokens": 2048});
    body["tools"] = weather_tools();

    let first = json_of(post_messages(&provider, &body).await).await;

    assert_eq!(
        first["content"][0],
        json!({"type": "thinking", "thinking": thought, "signature": thinking_signature(thought)})
    );
    assert_eq!(first["content"][1]["type"], "tool_use");
    let mut answered = body.clone();
    answered["messages"] = json!([
        body["messages"][0],
        {"role": "assistant", "content": first["content"]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_fake0", "content": "Sunny"}]}
    ]);
    let second = json_of(post_messages(&provider, &answered).await).await;
    assert_eq!(second["content"][0]["type"], "thinking");
    assert_eq!(second["content"][1]["type"], "text");

    let mut tampered = answered.clone();
    tampered["messages"][1]["content"][0]["thinking"] = json!("I call the tool.");
    let (status, error) = status_and_json(post_messages(&provider, &tampered).await).await;
    assert_eq!(status, 400);
    assert_eq!(
        error["error"]["message"],
        "messages.1.content.0: Invalid `signature` in `thinking` block"
    );

    let mut stripped = answered.clone();
    stripped["messages"][1]["content"] = json!([first["content"][1]]);
    let (status, error) = status_and_json(post_messages(&provider, &stripped).await).await;
    assert_eq!(status, 400);
    let message = error["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with(
            "messages.1.content.0.type: Expected `thinking` or `redacted_thinking`, but found `tool_use`."
        ),
        "{message}"
    );
}

#[tokio::test]
async fn refusals_speak_anthropic() {
    let provider = anthropic_provider().await;
    let mut unknown = messages_body();
    unknown["frequency_penalty"] = json!(0.5);

    let (status, error) = status_and_json(post_messages(&provider, &unknown).await).await;
    assert_eq!(status, 400);
    assert_eq!(
        error,
        json!({"type": "error", "request_id": "req_1", "error": {"type": "invalid_request_error",
               "message": "frequency_penalty: Extra inputs are not permitted"}})
    );

    let unversioned = anthropic_request(&provider, "/v1/messages")
        .header("x-api-key", KEY)
        .json(&messages_body())
        .send()
        .await
        .unwrap();
    let (status, error) = status_and_json(unversioned).await;
    assert_eq!(status, 400);
    assert_eq!(
        error["error"],
        json!({"type": "invalid_request_error", "message": "anthropic-version: header is required"})
    );

    let wrong_key = anthropic_request(&provider, "/v1/messages")
        .header("x-api-key", "sk-wrong")
        .header("anthropic-version", "2023-06-01")
        .json(&messages_body())
        .send()
        .await
        .unwrap();
    let (status, error) = status_and_json(wrong_key).await;
    assert_eq!(status, 401);
    assert_eq!(
        error["error"],
        json!({"type": "authentication_error", "message": "invalid x-api-key"})
    );

    let mut other_model = messages_body();
    other_model["model"] = json!("claude-other");
    let (status, error) = status_and_json(post_messages(&provider, &other_model).await).await;
    assert_eq!(status, 404);
    assert_eq!(error["error"]["type"], "not_found_error");
}
