//! Non-streaming chat completions end to end: what the client gets and what the upstream saw.

use serde_json::json;
use switchboard_load_tests::{Behaviour, FakeOptions, FakeProvider, FakeUsage, Reply};

use crate::common::{Gateway, UPSTREAM_KEY, chat_body, config, post};

#[tokio::test]
async fn answers_in_openai_shape_and_forwards_the_mapped_model_with_the_channel_key() {
    let fake = FakeProvider::start_with(FakeOptions {
        api_key: Some(UPSTREAM_KEY.to_owned()),
        models: vec!["gpt-test-upstream".to_owned()],
    })
    .await;
    fake.set_default(Behaviour {
        usage: Some(FakeUsage {
            prompt_tokens: 30,
            completion_tokens: 7,
            cached_tokens: 10,
            reasoning_tokens: 2,
        }),
        ..Behaviour::text("Hello, gateway user.")
    });
    let gateway = Gateway::start(&config(&fake.base_url(), ""));

    let mut body = chat_body("fast", false);
    body["temperature"] = json!(0.2);
    body["max_tokens"] = json!(50);
    body["logprobs"] = json!(true);
    let response = post(&gateway, "/v1/chat/completions", &body).await;

    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-switchboard-channel"], "primary");
    assert_eq!(response.headers()["x-switchboard-attempts"], "1");
    assert!(response.headers().contains_key("x-request-id"));
    let answer: serde_json::Value = response.json().await.expect("json");
    assert_eq!(answer["object"], "chat.completion");
    assert_eq!(answer["model"], "gpt-test-upstream");
    assert_eq!(answer["choices"][0]["message"]["role"], "assistant");
    assert_eq!(
        answer["choices"][0]["message"]["content"],
        "Hello, gateway user."
    );
    assert_eq!(answer["choices"][0]["finish_reason"], "stop");
    assert_eq!(
        answer["usage"]["prompt_tokens"], 30,
        "cached tokens stay inside prompt_tokens"
    );
    assert_eq!(
        answer["usage"]["prompt_tokens_details"]["cached_tokens"],
        10
    );
    assert_eq!(answer["usage"]["completion_tokens"], 7);
    assert_eq!(
        answer["usage"]["completion_tokens_details"]["reasoning_tokens"],
        2
    );
    assert_eq!(answer["usage"]["total_tokens"], 37);

    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    let upstream = &requests[0];
    assert_eq!(upstream.path, "/v1/chat/completions");
    assert_eq!(
        upstream.header("authorization"),
        Some(format!("Bearer {UPSTREAM_KEY}").as_str())
    );
    assert_eq!(upstream.body["model"], "gpt-test-upstream");
    assert_eq!(upstream.body["temperature"], 0.2);
    assert_eq!(
        upstream.body["max_tokens"], 50,
        "the client's max-tokens field is kept"
    );
    assert_eq!(
        upstream.body["logprobs"], true,
        "OpenAI-only fields reach OpenAI upstreams"
    );
    assert_eq!(
        upstream.body["messages"][0],
        json!({"role": "system", "content": "You are terse."})
    );
    assert!(upstream.body.get("stream").is_none());
}

#[tokio::test]
async fn tool_calls_round_trip_through_the_gateway() {
    let fake = FakeProvider::start().await;
    fake.push(Behaviour {
        reply: Reply::ToolCalls(vec![
            ("get_weather".to_owned(), r#"{"city":"Oslo"}"#.to_owned()),
            ("get_time".to_owned(), r#"{"zone":"CET"}"#.to_owned()),
        ]),
        ..Behaviour::default()
    });
    let gateway = Gateway::start(&config(&fake.base_url(), ""));
    let tools = json!([
        {"type": "function", "function": {"name": "get_weather", "description": "Weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}},
        {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}}
    ]);
    let mut body = chat_body("gpt-test", false);
    body["tools"] = tools.clone();
    body["tool_choice"] = json!("auto");
    let first: serde_json::Value = post(&gateway, "/v1/chat/completions", &body)
        .await
        .json()
        .await
        .expect("json");

    let message = &first["choices"][0]["message"];
    assert_eq!(first["choices"][0]["finish_reason"], "tool_calls");
    assert!(message["content"].is_null());
    let calls = message["tool_calls"].as_array().expect("tool_calls");
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0]["id"], "call_0");
    assert_eq!(calls[0]["type"], "function");
    assert_eq!(calls[0]["function"]["name"], "get_weather");
    assert_eq!(calls[0]["function"]["arguments"], r#"{"city":"Oslo"}"#);

    // Second turn: the assistant's tool calls and both results go back; the strict fake
    // rejects a tool message that does not answer an earlier call.
    let mut follow_up = chat_body("gpt-test", false);
    let messages = follow_up["messages"].as_array_mut().expect("messages");
    messages.push(message.clone());
    messages.push(json!({"role": "tool", "tool_call_id": "call_0", "content": "3 degrees"}));
    messages.push(json!({"role": "tool", "tool_call_id": "call_1", "content": [{"type": "text", "text": "14:00"}]}));
    follow_up["tools"] = tools;
    let second = post(&gateway, "/v1/chat/completions", &follow_up).await;
    assert_eq!(second.status(), 200);

    let upstream = &fake.requests()[1].body;
    assert_eq!(
        upstream["messages"][2]["tool_calls"][1]["function"]["name"],
        "get_time"
    );
    assert!(upstream["messages"][2]["content"].is_null());
    assert_eq!(
        upstream["messages"][3],
        json!({"role": "tool", "tool_call_id": "call_0", "content": "3 degrees"})
    );
    assert_eq!(
        upstream["messages"][4]["content"],
        json!([{"type": "text", "text": "14:00"}])
    );
    assert_eq!(
        upstream["tools"][0]["function"]["parameters"]["properties"]["city"]["type"],
        "string"
    );
}

#[tokio::test]
async fn azure_channels_use_deployment_urls_api_version_and_api_key_header() {
    let fake = FakeProvider::start_with(FakeOptions {
        api_key: Some("azure-secret".to_owned()),
        models: vec![],
    })
    .await;
    let channel = format!(
        "  - name: azure\n    provider: azure\n    base_url: http://{}\n    api_key: azure-secret\n    api_version: 2024-10-21\n    models: [{{name: gpt-azure, upstream: my-deployment}}]\n",
        fake.addr()
    );
    let gateway = Gateway::start(&config("http://127.0.0.1:9/v1", &channel));

    let response = post(
        &gateway,
        "/v1/chat/completions",
        &chat_body("gpt-azure", false),
    )
    .await;

    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    let upstream = &fake.requests()[0];
    assert_eq!(
        upstream.path,
        "/openai/deployments/my-deployment/chat/completions"
    );
    assert_eq!(upstream.query.as_deref(), Some("api-version=2024-10-21"));
    assert_eq!(upstream.header("api-key"), Some("azure-secret"));
    assert_eq!(upstream.header("authorization"), None);
}

#[tokio::test]
async fn a_failing_channel_fails_over_to_the_next_before_the_client_sees_anything() {
    let broken = FakeProvider::start().await;
    broken.set_default(Behaviour::error(switchboard_load_tests::ErrorReply::new(
        500,
        "server_error",
        "boom",
    )));
    let backup = FakeProvider::start().await;
    let channel = format!(
        "  - name: backup\n    provider: openai\n    base_url: {}\n    api_key: k\n    priority: 1\n    models: [gpt-test]\n",
        backup.base_url()
    );
    let gateway = Gateway::start(&config(&broken.base_url(), &channel));

    let response = post(
        &gateway,
        "/v1/chat/completions",
        &chat_body("gpt-test", false),
    )
    .await;

    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-switchboard-channel"], "backup");
    assert_eq!(response.headers()["x-switchboard-attempts"], "2");
    assert_eq!(broken.requests().len(), 1);
    assert_eq!(backup.requests()[0].body["model"], "gpt-test");
}

#[tokio::test]
async fn the_mock_provider_answers_without_any_network() {
    let yaml = r#"
channels:
  - name: demo
    provider: mock
    models: [demo-model]
roles: [{name: r, models: ["*"]}]
api_keys: [{name: k, key: sk-test-alice-0001, role: r}]
"#;
    let gateway = Gateway::start(yaml);
    let mut body = chat_body("demo-model", false);
    body["n"] = json!(2);
    let answer: serde_json::Value = post(&gateway, "/v1/chat/completions", &body)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(answer["choices"].as_array().map(Vec::len), Some(2));
    let text = answer["choices"][0]["message"]["content"]
        .as_str()
        .expect("text");
    assert!(
        text.ends_with("You said: Say hello to the gateway"),
        "{text}"
    );
    assert_eq!(
        answer["usage"]["completion_tokens"],
        text.split_whitespace().count()
    );
}
