//! Shared arrange/act helpers: a plain reqwest client and a valid chat body.

use serde_json::{Value, json};
use switchboard_load_tests::{FakeOptions, FakeProvider};

pub const KEY: &str = "sk-test-key-123456";

pub async fn provider() -> FakeProvider {
    FakeProvider::start_with(FakeOptions {
        api_key: Some(KEY.to_owned()),
        models: vec!["gpt-test".to_owned()],
    })
    .await
}

pub fn chat_body() -> Value {
    json!({
        "model": "gpt-test",
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "Say hello to me"}
        ]
    })
}

/// POSTs `body` to `/v1/chat/completions` with the right key.
pub async fn post_chat(provider: &FakeProvider, body: &Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}/chat/completions", provider.base_url()))
        .bearer_auth(KEY)
        .json(body)
        .send()
        .await
        .expect("the fake answers")
}

pub async fn json_of(response: reqwest::Response) -> Value {
    response.json().await.expect("a JSON body")
}

/// Splits an SSE body into its `data:` payloads, checking the framing on the way.
pub fn sse_data(text: &str) -> Vec<String> {
    assert!(
        text.ends_with("\n\n"),
        "events end with a blank line: {text:?}"
    );
    text.split("\n\n")
        .filter(|event| !event.is_empty())
        .map(|event| {
            let data = event
                .strip_prefix("data: ")
                .unwrap_or_else(|| panic!("only data lines: {event:?}"));
            assert!(!data.contains('\n'), "one line per event: {event:?}");
            data.to_owned()
        })
        .collect()
}
