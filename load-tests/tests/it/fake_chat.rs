//! Non-streaming behaviour of the fake provider: response shape, headers, strict validation,
//! authentication, scripted errors, Azure URLs, the model list and request recording.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use switchboard_load_tests::{Behaviour, ErrorReply, FakeOptions, FakeProvider, FakeUsage, Reply};

use crate::common::{KEY, chat_body, json_of, post_chat, provider};

#[tokio::test]
async fn valid_request_gets_openai_completion_shape() {
    let provider = provider().await;

    let response = post_chat(&provider, &chat_body()).await;

    assert_eq!(response.status(), 200);
    let header = |name: &str| response.headers()[name].to_str().unwrap().to_owned();
    assert_eq!(header("content-type"), "application/json");
    assert_eq!(header("x-request-id"), "req_1");
    assert_eq!(header("openai-version"), "2020-10-01");
    assert!(header("openai-processing-ms").parse::<u64>().is_ok());
    let mut body = json_of(response).await;
    assert!(body["created"].as_u64().unwrap() > 1_700_000_000);
    body["created"] = json!(0);
    assert_eq!(
        body,
        json!({
            "id": "chatcmpl-fake1",
            "object": "chat.completion",
            "created": 0,
            "model": "gpt-test",
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": "Hello from the fake provider.",
                            "refusal": null, "annotations": []},
                "logprobs": null,
                "finish_reason": "stop"
            }],
            "usage": {
                "prompt_tokens": 9, "completion_tokens": 5, "total_tokens": 14,
                "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                    "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}
            },
            "service_tier": "default",
            "system_fingerprint": "fp_fake"
        })
    );
}

#[tokio::test]
async fn tool_calls_usage_override_and_n() {
    let provider = provider().await;
    provider.push(Behaviour {
        reply: Reply::ToolCalls(vec![
            ("get_weather".into(), r#"{"city": "Oslo"}"#.into()),
            ("get_time".into(), "{}".into()),
        ]),
        usage: Some(FakeUsage {
            prompt_tokens: 100,
            completion_tokens: 20,
            cached_tokens: 60,
            reasoning_tokens: 5,
        }),
        ..Behaviour::default()
    });
    let mut body = chat_body();
    body["n"] = json!(2);

    let body = json_of(post_chat(&provider, &body).await).await;

    let choices = body["choices"].as_array().unwrap();
    assert_eq!(choices.len(), 2);
    assert_eq!(choices[1]["index"], 1);
    let message = &choices[0]["message"];
    assert_eq!(message["content"], Value::Null);
    assert_eq!(
        message["tool_calls"],
        json!([
            {"id": "call_0", "type": "function",
             "function": {"name": "get_weather", "arguments": "{\"city\": \"Oslo\"}"}},
            {"id": "call_1", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}
        ])
    );
    assert_eq!(choices[0]["finish_reason"], "tool_calls");
    assert_eq!(body["usage"]["total_tokens"], 120);
    assert_eq!(body["usage"]["prompt_tokens_details"]["cached_tokens"], 60);
    assert_eq!(
        body["usage"]["completion_tokens_details"]["reasoning_tokens"],
        5
    );
}

#[tokio::test]
async fn invalid_requests_get_openai_400s() {
    let provider = provider().await;
    let mut unknown_field = chat_body();
    unknown_field["thinking"] = json!({"type": "enabled"});
    let mut orphan_tool = chat_body();
    orphan_tool["messages"]
        .as_array_mut()
        .unwrap()
        .push(json!({"role": "tool", "tool_call_id": "call_9", "content": "42"}));

    let unknown = post_chat(&provider, &unknown_field).await;
    let orphan = post_chat(&provider, &orphan_tool).await;

    assert_eq!(unknown.status(), 400);
    assert_eq!(
        json_of(unknown).await,
        json!({"error": {"message": "Unrecognized request argument supplied: thinking",
                         "type": "invalid_request_error", "param": null, "code": null}})
    );
    assert_eq!(orphan.status(), 400);
    assert_eq!(
        json_of(orphan).await,
        json!({"error": {
            "message": "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.",
            "type": "invalid_request_error", "param": "messages.[2].role", "code": null}})
    );
    assert_eq!(
        provider.requests().len(),
        2,
        "invalid requests are recorded too"
    );
}

#[tokio::test]
async fn non_json_bodies_are_rejected() {
    let provider = provider().await;
    let client = reqwest::Client::new();
    let url = format!("{}/chat/completions", provider.base_url());

    let text_plain = client
        .post(&url)
        .bearer_auth(KEY)
        .header("content-type", "text/plain")
        .body(chat_body().to_string())
        .send()
        .await
        .unwrap();
    let broken = client
        .post(&url)
        .bearer_auth(KEY)
        .header("content-type", "application/json")
        .body("{\"model\":")
        .send()
        .await
        .unwrap();

    assert_eq!(text_plain.status(), 400);
    assert_eq!(broken.status(), 400);
    let body = json_of(broken).await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("We could not parse the JSON body")
    );
    assert_eq!(provider.requests()[1].body, Value::Null);
}

#[tokio::test]
async fn wrong_or_missing_key_gets_401() {
    let provider = provider().await;
    let client = reqwest::Client::new();
    let url = format!("{}/chat/completions", provider.base_url());

    let wrong = client
        .post(&url)
        .bearer_auth("sk-wrong-key-000000")
        .json(&chat_body())
        .send()
        .await
        .unwrap();
    let missing = client.post(&url).json(&chat_body()).send().await.unwrap();

    assert_eq!(wrong.status(), 401);
    let body = json_of(wrong).await;
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert_eq!(body["error"]["code"], "invalid_api_key");
    assert_eq!(body["error"]["param"], Value::Null);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Incorrect API key provided: sk-")
    );
    assert_eq!(missing.status(), 401);
}

#[tokio::test]
async fn unknown_model_gets_404_model_not_found() {
    let provider = provider().await;
    let mut body = chat_body();
    body["model"] = json!("gpt-nope");

    let response = post_chat(&provider, &body).await;

    assert_eq!(response.status(), 404);
    assert_eq!(json_of(response).await["error"]["code"], "model_not_found");
}

#[tokio::test]
async fn scripted_errors_carry_retry_after_and_repeat() {
    let provider = provider().await;
    provider.push(Behaviour {
        times: Some(2),
        ..Behaviour::error(
            ErrorReply::new(429, "rate_limit_error", "Slow down.")
                .with_code("rate_limit_exceeded")
                .with_retry_after(7),
        )
    });

    let first = post_chat(&provider, &chat_body()).await;
    let second = post_chat(&provider, &chat_body()).await;
    let third = post_chat(&provider, &chat_body()).await;

    assert_eq!(first.status(), 429);
    assert_eq!(first.headers()["retry-after"], "7");
    assert_eq!(
        json_of(first).await,
        json!({"error": {"message": "Slow down.", "type": "rate_limit_error", "param": null,
                         "code": "rate_limit_exceeded"}})
    );
    assert_eq!(second.status(), 429);
    assert_eq!(third.status(), 200);
}

#[tokio::test]
async fn latency_delays_and_hang_never_answers() {
    let provider = provider().await;
    provider.push(Behaviour {
        latency: Duration::from_millis(150),
        ..Behaviour::default()
    });
    provider.push(Behaviour {
        hang: true,
        ..Behaviour::default()
    });

    let started = Instant::now();
    let slow = post_chat(&provider, &chat_body()).await;
    let slow_elapsed = started.elapsed();
    let hung = reqwest::Client::new()
        .post(format!("{}/chat/completions", provider.base_url()))
        .bearer_auth(KEY)
        .json(&chat_body())
        .timeout(Duration::from_millis(300))
        .send()
        .await;

    assert_eq!(slow.status(), 200);
    assert!(slow_elapsed >= Duration::from_millis(150));
    assert!(hung.unwrap_err().is_timeout());
}

#[tokio::test]
async fn azure_deployment_urls() {
    let provider = FakeProvider::start_with(FakeOptions {
        api_key: Some("azure-key".into()),
        models: vec!["my-deployment".into()],
    })
    .await;
    let client = reqwest::Client::new();
    let url = |query: &str| {
        format!(
            "http://{}/openai/deployments/my-deployment/chat/completions{query}",
            provider.addr()
        )
    };
    let body = json!({"messages": [{"role": "user", "content": "hi"}]});

    let ok = client
        .post(url("?api-version=2024-10-21"))
        .header("api-key", "azure-key")
        .json(&body)
        .send()
        .await
        .unwrap();
    let no_version = client
        .post(url(""))
        .header("api-key", "azure-key")
        .json(&body)
        .send()
        .await
        .unwrap();
    let bearer = client
        .post(url("?api-version=2024-10-21"))
        .bearer_auth("azure-key")
        .json(&body)
        .send()
        .await
        .unwrap();

    assert_eq!(ok.status(), 200);
    assert_eq!(json_of(ok).await["model"], "my-deployment");
    assert_eq!(no_version.status(), 400);
    assert_eq!(bearer.status(), 401);
}

#[tokio::test]
async fn models_list_and_unknown_routes() {
    let provider = provider().await;
    let client = reqwest::Client::new();

    let models = client
        .get(format!("{}/models", provider.base_url()))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap();
    let unknown = client
        .post(format!("{}/completions", provider.base_url()))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap();

    assert_eq!(
        json_of(models).await,
        json!({"object": "list", "data": [
            {"id": "gpt-test", "object": "model", "created": 1_700_000_000, "owned_by": "fake"}]})
    );
    assert_eq!(unknown.status(), 404);
    assert_eq!(
        json_of(unknown).await["error"]["message"],
        "Invalid URL (POST /v1/completions)"
    );
}

#[tokio::test]
async fn requests_are_recorded_with_headers_and_body() {
    let provider = provider().await;

    post_chat(&provider, &chat_body()).await;

    let recorded = provider.requests();
    assert_eq!(recorded.len(), 1);
    let request = &recorded[0];
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("POST", "/v1/chat/completions")
    );
    assert_eq!(request.query, None);
    assert_eq!(
        request.header("Authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(request.body, chat_body());
}

#[tokio::test]
async fn shutdown_stops_the_server() {
    let provider = provider().await;
    let addr = provider.addr();

    provider.shutdown().await;

    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[test]
fn the_handle_can_be_shared_across_tasks() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<FakeProvider>();
    assert_send_sync::<Behaviour>();
}
