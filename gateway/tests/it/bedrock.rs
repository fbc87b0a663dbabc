//! Bedrock-specific behaviour beyond the matrix: a signature the upstream rejects, throttling,
//! and a stream that breaks between event-stream frames.

use serde_json::Value;
use switchboard_load_tests::{Behaviour, ErrorReply, FakeProvider};

use crate::common::{Gateway, KEY, chat_body, post};

fn bedrock_gateway(fake: &FakeProvider, secret: &str) -> Gateway {
    Gateway::start(&format!(
        r#"
channels:
  - name: bedrock
    provider: bedrock
    base_url: {}
    aws: {{region: us-east-1, access_key_id: AKIDFAKEEXAMPLE, secret_access_key: {secret}}}
    models: [{{name: gpt-test, upstream: "anthropic.claude-test-v1:0"}}]
roles: [{{name: all, models: ["*"]}}]
api_keys: [{{name: tester, key: {KEY}, role: all}}]
"#,
        fake.bedrock_base_url()
    ))
}

#[tokio::test]
async fn a_wrong_secret_is_the_upstreams_403_not_a_retry() {
    let fake = FakeProvider::start().await;
    let gateway = bedrock_gateway(&fake, "not-the-secret");
    let response = post(
        &gateway,
        "/v1/chat/completions",
        &chat_body("gpt-test", false),
    )
    .await;
    assert_eq!(response.status(), 403);
    let error: Value = response.json().await.expect("json");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("signature"),
        "{error}"
    );
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn throttling_keeps_its_status_and_retry_after() {
    let fake = FakeProvider::start().await;
    fake.set_default(Behaviour::error(
        ErrorReply::new(
            429,
            "ThrottlingException",
            "Too many requests, please wait before trying again.",
        )
        .with_retry_after(3),
    ));
    let gateway = bedrock_gateway(&fake, "fake-secret-key");
    let response = post(
        &gateway,
        "/v1/chat/completions",
        &chat_body("gpt-test", false),
    )
    .await;
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "3");
    let error: Value = response.json().await.expect("json");
    // OpenAI's own type for a 429 that is not about tokens or quota.
    assert_eq!(error["error"]["type"], "requests", "{error}");
    assert!(
        error["error"]["message"]
            .as_str()
            .is_some_and(|message| message.contains("Too many requests")),
        "{error}"
    );
}

#[tokio::test]
async fn a_stream_broken_between_frames_ends_with_an_error_event() {
    let fake = FakeProvider::start().await;
    fake.push(Behaviour {
        disconnect_after_chunks: Some(3),
        ..Behaviour::text("alpha beta gamma delta epsilon")
    });
    let gateway = bedrock_gateway(&fake, "fake-secret-key");
    let text = post(
        &gateway,
        "/v1/chat/completions",
        &chat_body("gpt-test", true),
    )
    .await
    .text()
    .await
    .expect("body");
    assert!(!text.contains("[DONE]"), "{text}");
    let last = text
        .split("\n\n")
        .filter(|event| !event.trim().is_empty())
        .last()
        .unwrap_or_default();
    let last: Value = serde_json::from_str(last.trim_start_matches("data: ")).expect("json");
    assert!(last.get("error").is_some(), "{last}");
}
