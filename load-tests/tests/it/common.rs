//! Shared arrange/act helpers: a plain reqwest client, valid chat and messages bodies, and SSE
//! parsers for both protocols.

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

/// A valid Messages body with the same texts as [`chat_body`], so the same default prompt count
/// (9).
pub fn messages_body() -> Value {
    json!({
        "model": "claude-test",
        "max_tokens": 1024,
        "system": "You are terse.",
        "messages": [{"role": "user", "content": "Say hello to me"}]
    })
}

pub fn weather_tools() -> Value {
    json!([{"name": "get_weather", "description": "Current weather",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}},
                             "required": ["city"]}}])
}

/// A fake that wants [`KEY`] and knows only `claude-test`.
pub async fn anthropic_provider() -> FakeProvider {
    FakeProvider::start_with(FakeOptions {
        api_key: Some(KEY.to_owned()),
        models: vec!["claude-test".to_owned()],
    })
    .await
}

/// A POST to `path` on the fake, without any headers yet.
pub fn anthropic_request(provider: &FakeProvider, path: &str) -> reqwest::RequestBuilder {
    reqwest::Client::new().post(format!("{}{path}", provider.anthropic_base_url()))
}

/// POSTs `body` to `/v1/messages` with the right key and version.
pub async fn post_messages(provider: &FakeProvider, body: &Value) -> reqwest::Response {
    anthropic_request(provider, "/v1/messages")
        .header("x-api-key", KEY)
        .header("anthropic-version", "2023-06-01")
        .json(body)
        .send()
        .await
        .expect("the fake answers")
}

/// Splits an Anthropic SSE body into (event name, data), checking that every event has both
/// lines and that the data's `type` repeats the name.
pub fn sse_events(text: &str) -> Vec<(String, Value)> {
    assert!(text.ends_with("\n\n"), "events end with a blank line");
    text.split("\n\n")
        .filter(|event| !event.is_empty())
        .map(|event| {
            let (head, data) = event.split_once('\n').expect("two lines per event");
            let name = head.strip_prefix("event: ").expect("an event line");
            let data = data.strip_prefix("data: ").expect("a data line");
            assert!(!data.contains('\n'), "one data line: {event:?}");
            let json: Value = serde_json::from_str(data).expect("JSON data");
            assert_eq!(json["type"], name, "type repeats the event name");
            (name.to_owned(), json)
        })
        .collect()
}

pub fn event_names(events: &[(String, Value)]) -> Vec<&str> {
    events.iter().map(|(name, _)| name.as_str()).collect()
}

pub async fn status_and_json(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    (status, json_of(response).await)
}

/// A fake that wants [`KEY`] and knows only `gemini-test`.
pub async fn gemini_provider() -> FakeProvider {
    FakeProvider::start_with(FakeOptions {
        api_key: Some(KEY.to_owned()),
        models: vec!["gemini-test".to_owned()],
    })
    .await
}

/// A valid `GenerateContentRequest` with the same texts as [`chat_body`], so the same default
/// prompt count (9).
pub fn gemini_body() -> Value {
    json!({
        "systemInstruction": {"parts": [{"text": "You are terse."}]},
        "contents": [{"role": "user", "parts": [{"text": "Say hello to me"}]}]
    })
}

/// A request to `/v1beta/models/gemini-test:<method_and_query>`, without any headers yet.
pub fn gemini_request(provider: &FakeProvider, method_and_query: &str) -> reqwest::RequestBuilder {
    reqwest::Client::new().post(format!(
        "{}/v1beta/models/gemini-test:{method_and_query}",
        provider.gemini_base_url()
    ))
}

/// POSTs `body` to `:<method_and_query>` with the right key in `x-goog-api-key`.
pub async fn post_gemini(
    provider: &FakeProvider,
    method_and_query: &str,
    body: &Value,
) -> reqwest::Response {
    gemini_request(provider, method_and_query)
        .header("x-goog-api-key", KEY)
        .json(body)
        .send()
        .await
        .expect("the fake answers")
}

/// Splits a Gemini SSE body into its chunks, checking that every event is one `data:` line
/// ended by `\r\n\r\n`.
pub fn gemini_chunks(text: &str) -> Vec<Value> {
    assert!(
        text.ends_with("\r\n\r\n"),
        "events end with CRLF CRLF: {text:?}"
    );
    text.split("\r\n\r\n")
        .filter(|event| !event.is_empty())
        .map(|event| {
            let data = event
                .strip_prefix("data: ")
                .unwrap_or_else(|| panic!("only data lines: {event:?}"));
            assert!(
                !data.contains(['\r', '\n']),
                "one line per event: {event:?}"
            );
            serde_json::from_str(data).expect("JSON chunk")
        })
        .collect()
}
