//! Stop reasons exact in every direction: an answer cut at a stop sequence reaches an Anthropic
//! client as `stop_reason: "stop_sequence"` with the sequence itself, streamed and not, from
//! every upstream that says which one matched (Anthropic, Bedrock's Claude models); upstreams
//! that do not (OpenAI, Gemini) give `end_turn`. Other clients get their own plain stop.

use serde_json::{Value, json};
use switchboard_load_tests::{Behaviour, FakeProvider};

use crate::common::{Gateway, KEY, client};

fn gateway(fake: &FakeProvider) -> Gateway {
    let root = format!("http://{}", fake.addr());
    Gateway::start(&format!(
        r#"
channels:
  - {{name: anthropic, provider: anthropic, base_url: "{root}", api_key: sk-up, models: [{{name: via-anthropic, upstream: claude-up}}]}}
  - name: bedrock
    provider: bedrock
    base_url: "{root}"
    aws: {{region: us-east-1, access_key_id: AKIDFAKEEXAMPLE, secret_access_key: fake-secret-key}}
    models: [{{name: via-bedrock, upstream: "anthropic.claude-up-v1:0"}}]
  - {{name: openai, provider: openai, base_url: "{root}/v1", api_key: sk-up, models: [{{name: via-openai, upstream: gpt-up}}]}}
  - {{name: gemini, provider: gemini, base_url: "{root}", api_key: sk-up, models: [{{name: via-gemini, upstream: gemini-up}}]}}
roles: [{{name: all, models: ["*"]}}]
api_keys: [{{name: tester, key: {KEY}, role: all}}]
"#
    ))
}

const ANSWER: &str = "alpha beta STOP gamma delta";

/// `(text, stop_reason, stop_sequence)` an Anthropic client saw.
async fn anthropic_turn(gateway: &Gateway, model: &str, stream: bool) -> (String, Value, Value) {
    let body = json!({
        "model": model, "max_tokens": 100, "stream": stream, "stop_sequences": ["NEVER", "STOP"],
        "messages": [{"role": "user", "content": "Count."}],
    });
    let response = client()
        .post(gateway.url("/v1/messages"))
        .header("x-api-key", KEY)
        .header("anthropic-version", "2023-06-01")
        .json(&body)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200, "{model}");
    if !stream {
        let message: Value = response.json().await.expect("json");
        let text = message["content"][0]["text"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        return (
            text,
            message["stop_reason"].clone(),
            message["stop_sequence"].clone(),
        );
    }
    let body = response.text().await.expect("body");
    let mut text = String::new();
    let mut delta = Value::Null;
    for data in body.lines().filter_map(|line| line.strip_prefix("data: ")) {
        let event: Value = serde_json::from_str(data).expect("json");
        match event["type"].as_str() {
            Some("content_block_delta") => {
                text.push_str(event["delta"]["text"].as_str().unwrap_or_default());
            }
            Some("message_delta") => delta = event["delta"].clone(),
            _ => {}
        }
    }
    assert!(body.contains("event: message_stop"), "{body}");
    (
        text,
        delta["stop_reason"].clone(),
        delta["stop_sequence"].clone(),
    )
}

#[tokio::test]
async fn an_anthropic_client_hears_which_stop_sequence_ended_the_answer() {
    let fake = FakeProvider::start().await;
    fake.set_default(Behaviour::text(ANSWER));
    let gateway = gateway(&fake);
    for stream in [false, true] {
        for (model, reason, sequence) in [
            ("via-anthropic", json!("stop_sequence"), json!("STOP")),
            ("via-bedrock", json!("stop_sequence"), json!("STOP")),
            ("via-openai", json!("end_turn"), Value::Null),
            ("via-gemini", json!("end_turn"), Value::Null),
        ] {
            let (text, stop_reason, stop_sequence) = anthropic_turn(&gateway, model, stream).await;
            assert!(
                text.starts_with("alpha beta") && !text.contains("STOP"),
                "{model} {stream}: {text:?}"
            );
            assert_eq!(stop_reason, reason, "{model} stream={stream}");
            assert_eq!(stop_sequence, sequence, "{model} stream={stream}");
        }
    }
    // Bedrock was asked for the matched sequence, as its Claude models need.
    let bedrock = fake
        .requests()
        .into_iter()
        .find(|request| request.path.contains("/converse"))
        .expect("a Bedrock request");
    assert_eq!(
        bedrock.body["additionalModelResponseFieldPaths"],
        json!(["/stop_sequence"])
    );
}

#[tokio::test]
async fn other_clients_get_their_own_plain_stop() {
    let fake = FakeProvider::start().await;
    fake.set_default(Behaviour::text(ANSWER));
    let gateway = gateway(&fake);
    let chat = client()
        .post(gateway.url("/v1/chat/completions"))
        .bearer_auth(KEY)
        .json(&json!({"model": "via-anthropic", "stop": ["STOP"], "messages": [{"role": "user", "content": "Count."}]}))
        .send()
        .await
        .expect("request");
    let chat: Value = chat.json().await.expect("json");
    assert_eq!(chat["choices"][0]["finish_reason"], "stop", "{chat}");
    let gemini = client()
        .post(gateway.url("/v1beta/models/via-bedrock:generateContent"))
        .header("x-goog-api-key", KEY)
        .json(
            &json!({"contents": [{"role": "user", "parts": [{"text": "Count."}]}],
                      "generationConfig": {"stopSequences": ["STOP"]}}),
        )
        .send()
        .await
        .expect("request");
    let gemini: Value = gemini.json().await.expect("json");
    assert_eq!(gemini["candidates"][0]["finishReason"], "STOP", "{gemini}");
}
