//! Gemini-specific behaviour beyond the matrix: thought signatures that survive a tool loop,
//! keys in the query string, the JSON-array stream, Gemini error shapes.

use serde_json::{Value, json};
use switchboard_load_tests::{Behaviour, FakeProvider, Reply};

use crate::common::{Gateway, KEY, client};

fn gemini_gateway(fake: &FakeProvider) -> Gateway {
    Gateway::start(&format!(
        r#"
channels:
  - name: gemini
    provider: gemini
    base_url: {}
    api_key: gemini-upstream-key
    models: [gemini-test]
roles: [{{name: all, models: ["*"]}}]
api_keys: [{{name: tester, key: {KEY}, role: all}}]
"#,
        fake.gemini_base_url()
    ))
}

async fn generate(gateway: &Gateway, action: &str, body: &Value) -> reqwest::Response {
    client()
        .post(gateway.url(&format!("/v1beta/models/gemini-test:{action}")))
        .header("x-goog-api-key", KEY)
        .json(body)
        .send()
        .await
        .expect("request")
}

const TOOLS: &str = r#"[{"functionDeclarations": [{"name": "lookup", "description": "Look up", "parametersJsonSchema": {"type": "object", "properties": {"q": {"type": "string"}}}}]}]"#;

#[tokio::test]
async fn thought_signatures_survive_a_tool_loop() {
    let fake = FakeProvider::start().await;
    let gateway = gemini_gateway(&fake);
    let tools: Value = serde_json::from_str(TOOLS).expect("tools");
    let thinking = json!({"thinkingConfig": {"thinkingBudget": 1024, "includeThoughts": true}});
    for (action, stream) in [
        ("generateContent", false),
        ("streamGenerateContent?alt=sse", true),
    ] {
        fake.push(Behaviour {
            thinking: Some("The user wants a lookup.".to_owned()),
            reply: Reply::ToolCalls(vec![("lookup".to_owned(), r#"{"q":"rust"}"#.to_owned())]),
            ..Behaviour::default()
        });
        let first = json!({"contents": [{"role": "user", "parts": [{"text": "Look up rust"}]}], "tools": tools, "generationConfig": thinking});
        let response = generate(&gateway, action, &first).await;
        assert_eq!(response.status(), 200);
        let text = response.text().await.expect("body");
        let parts: Vec<Value> = if stream {
            text.lines()
                .filter_map(|line| line.strip_prefix("data: "))
                .flat_map(|data| {
                    let chunk: Value = serde_json::from_str(data).expect("chunk");
                    chunk["candidates"][0]["content"]["parts"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default()
                })
                .collect()
        } else {
            let body: Value = serde_json::from_str(&text).expect("json");
            body["candidates"][0]["content"]["parts"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        };
        let call = parts
            .iter()
            .find(|part| part.get("functionCall").is_some())
            .expect("a function call")
            .clone();
        assert!(
            call["thoughtSignature"]
                .as_str()
                .is_some_and(|signature| !signature.is_empty()),
            "stream={stream}: {parts:?}"
        );
        assert_eq!(call["functionCall"]["args"], json!({"q": "rust"}));
        assert!(
            parts.iter().any(|part| part["thought"] == true),
            "thoughts reach the client when asked for"
        );

        // The fake only accepts the follow-up if the signature it minted comes back unchanged.
        fake.push(Behaviour::text("Rust is a language."));
        let model_turn: Vec<Value> = parts
            .iter()
            .filter(|part| part["thought"] != true)
            .cloned()
            .collect();
        let follow_up = json!({
            "contents": [
                {"role": "user", "parts": [{"text": "Look up rust"}]},
                {"role": "model", "parts": model_turn},
                {"role": "user", "parts": [{"functionResponse": {"name": "lookup", "response": {"output": "A language"}}}]}
            ],
            "tools": tools,
            "generationConfig": thinking,
        });
        let response = generate(&gateway, "generateContent", &follow_up).await;
        let status = response.status();
        let body: Value = response.json().await.expect("json");
        assert_eq!(status, 200, "stream={stream}: {body}");
        assert_eq!(
            body["candidates"][0]["content"]["parts"]
                .as_array()
                .and_then(|parts| parts.last())
                .map(|part| part["text"].clone()),
            Some(json!("Rust is a language."))
        );
    }
}

#[tokio::test]
async fn keys_in_the_query_string_and_json_array_streams_work() {
    let fake = FakeProvider::start().await;
    let gateway = gemini_gateway(&fake);
    let body = json!({"contents": [{"parts": [{"text": "hi"}]}]});
    let response = client()
        .post(gateway.url(&format!(
            "/v1beta/models/gemini-test:streamGenerateContent?key={KEY}"
        )))
        .json(&body)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    // Without alt=sse Gemini streams one JSON array, element by element.
    let chunks: Vec<Value> =
        serde_json::from_str(&response.text().await.expect("body")).expect("a JSON array");
    assert!(chunks.len() > 1);
    let text: String = chunks
        .iter()
        .filter_map(|chunk| chunk["candidates"][0]["content"]["parts"][0]["text"].as_str())
        .collect();
    assert_eq!(text, "Hello from the fake provider.");
    assert_eq!(
        chunks.last().expect("chunks")["candidates"][0]["finishReason"],
        "STOP"
    );
    // The upstream got the key in its header, never in its URL.
    let upstream = fake.requests().pop().expect("request");
    assert_eq!(
        upstream.header("x-goog-api-key"),
        Some("gemini-upstream-key")
    );
    assert!(!upstream.query.unwrap_or_default().contains("key="));
}

#[tokio::test]
async fn gemini_clients_get_gemini_error_shapes() {
    let fake = FakeProvider::start().await;
    let gateway = gemini_gateway(&fake);
    let hello = json!({"contents": [{"parts": [{"text": "hi"}]}]});
    let cases = [
        (
            "/v1beta/models/gemini-test:generateContent",
            None,
            hello.clone(),
            401,
            "UNAUTHENTICATED",
        ),
        (
            "/v1beta/models/nope:generateContent",
            Some(KEY),
            hello.clone(),
            404,
            "NOT_FOUND",
        ),
        (
            "/v1beta/models/gemini-test:generateContent",
            Some(KEY),
            json!({"contents": []}),
            400,
            "INVALID_ARGUMENT",
        ),
        (
            "/v1beta/models/gemini-test:teleport",
            Some(KEY),
            hello,
            404,
            "NOT_FOUND",
        ),
    ];
    for (path, key, body, status, name) in cases {
        let mut request = client().post(gateway.url(path)).json(&body);
        if let Some(key) = key {
            request = request.header("x-goog-api-key", key);
        }
        let response = request.send().await.expect("request");
        assert_eq!(response.status().as_u16(), status, "{path}");
        let error: Value = response.json().await.expect("json");
        assert_eq!(error["error"]["code"], status, "{error}");
        assert_eq!(error["error"]["status"], name, "{error}");
        assert!(
            error["error"]["message"]
                .as_str()
                .is_some_and(|message| !message.is_empty())
        );
    }
    assert!(fake.requests().is_empty());
}
