//! Anthropic-specific behaviour beyond the matrix: thinking signatures that survive a tool loop,
//! prompt-cache markers, refusals of what a target cannot express, Anthropic error shapes and
//! broken streams.

use serde_json::{Value, json};
use switchboard_load_tests::{Behaviour, ErrorReply, FakeProvider, Reply};

use crate::common::{Gateway, KEY, client, config, post};

fn anthropic_gateway(fake: &FakeProvider) -> Gateway {
    Gateway::start(&format!(
        r#"
channels:
  - name: claude
    provider: anthropic
    base_url: http://{}
    api_key: sk-ant-upstream
    models: [claude-test]
roles: [{{name: all, models: ["*"]}}]
api_keys: [{{name: tester, key: {KEY}, role: all}}]
"#,
        fake.addr()
    ))
}

async fn messages(gateway: &Gateway, body: &Value) -> reqwest::Response {
    client()
        .post(gateway.url("/v1/messages"))
        .header("x-api-key", KEY)
        .header("anthropic-version", "2023-06-01")
        .json(body)
        .send()
        .await
        .expect("request")
}

const TOOLS: &str = r#"[{"name": "lookup", "description": "Look something up", "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}}}]"#;

#[tokio::test]
async fn thinking_signatures_survive_a_tool_loop() {
    let fake = FakeProvider::start().await;
    let gateway = anthropic_gateway(&fake);
    let tools: Value = serde_json::from_str(TOOLS).expect("tools");
    for stream in [false, true] {
        fake.push(Behaviour {
            thinking: Some("The user wants a lookup.".to_owned()),
            reply: Reply::ToolCalls(vec![("lookup".to_owned(), r#"{"q":"rust"}"#.to_owned())]),
            ..Behaviour::default()
        });
        let mut first_body = json!({
            "model": "claude-test", "max_tokens": 4000, "tools": tools,
            "thinking": {"type": "enabled", "budget_tokens": 2048},
            "messages": [{"role": "user", "content": "Look up rust"}]
        });
        if stream {
            first_body["stream"] = true.into();
        }
        let response = messages(&gateway, &first_body).await;
        assert_eq!(response.status(), 200);
        let content = if stream {
            assemble_stream(&response.text().await.expect("body"))
        } else {
            response.json::<Value>().await.expect("json")["content"].clone()
        };
        assert_eq!(content[0]["type"], "thinking", "stream={stream}: {content}");
        assert!(
            content[0]["signature"]
                .as_str()
                .is_some_and(|signature| !signature.is_empty())
        );
        assert_eq!(content[1]["type"], "tool_use");
        let upstream = fake.requests().last().expect("request").body.clone();
        assert_eq!(
            upstream["thinking"],
            json!({"type": "enabled", "budget_tokens": 2048}),
            "kept verbatim"
        );

        // The fake verifies the signature of the thinking block it produced.
        fake.push(Behaviour {
            thinking: Some("Now answer.".to_owned()),
            ..Behaviour::text("Rust is a language.")
        });
        let tool_id = content[1]["id"].clone();
        let follow_up = json!({
            "model": "claude-test", "max_tokens": 4000, "tools": tools,
            "thinking": {"type": "enabled", "budget_tokens": 2048},
            "messages": [
                {"role": "user", "content": "Look up rust"},
                {"role": "assistant", "content": content},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool_id, "content": "A language"}]}
            ]
        });
        let response = messages(&gateway, &follow_up).await;
        let status = response.status();
        let answer: Value = response.json().await.expect("json");
        assert_eq!(status, 200, "stream={stream}: {answer}");
    }
}

/// Rebuilds message content blocks from an Anthropic event stream.
fn assemble_stream(body: &str) -> Value {
    let mut blocks: Vec<Value> = Vec::new();
    let mut json_input: Vec<String> = Vec::new();
    for event in body.split("\n\n").filter(|event| !event.trim().is_empty()) {
        let data: Value = event
            .lines()
            .find_map(|line| line.strip_prefix("data: "))
            .map(|data| serde_json::from_str(data).expect("json"))
            .expect("data line");
        match data["type"].as_str() {
            Some("content_block_start") => {
                blocks.push(data["content_block"].clone());
                json_input.push(String::new());
            }
            Some("content_block_delta") => {
                let index = data["index"].as_u64().expect("index") as usize;
                let delta = &data["delta"];
                let block = &mut blocks[index];
                match delta["type"].as_str() {
                    Some("text_delta") => {
                        block["text"] = format!(
                            "{}{}",
                            block["text"].as_str().unwrap_or_default(),
                            delta["text"].as_str().unwrap_or_default()
                        )
                        .into()
                    }
                    Some("thinking_delta") => {
                        block["thinking"] = format!(
                            "{}{}",
                            block["thinking"].as_str().unwrap_or_default(),
                            delta["thinking"].as_str().unwrap_or_default()
                        )
                        .into()
                    }
                    Some("signature_delta") => block["signature"] = delta["signature"].clone(),
                    Some("input_json_delta") => json_input[index]
                        .push_str(delta["partial_json"].as_str().unwrap_or_default()),
                    _ => {}
                }
            }
            _ => {}
        }
    }
    for (block, input) in blocks.iter_mut().zip(json_input) {
        if block["type"] == "tool_use" && !input.is_empty() {
            block["input"] = serde_json::from_str(&input).expect("input json");
        }
    }
    Value::Array(blocks)
}

#[tokio::test]
async fn cache_control_markers_reach_the_anthropic_upstream_where_the_client_put_them() {
    let fake = FakeProvider::start().await;
    let gateway = anthropic_gateway(&fake);
    let mut tools: Value = serde_json::from_str(TOOLS).expect("tools");
    tools[0]["cache_control"] = json!({"type": "ephemeral"});
    let body = json!({
        "model": "claude-test", "max_tokens": 100, "tools": tools,
        "system": [{"type": "text", "text": "A long, stable system prompt.", "cache_control": {"type": "ephemeral", "ttl": "1h"}}],
        "messages": [{"role": "user", "content": [
            {"type": "text", "text": "First part", "cache_control": {"type": "ephemeral"}},
            {"type": "text", "text": "Second part"}
        ]}]
    });
    assert_eq!(messages(&gateway, &body).await.status(), 200);

    let upstream = &fake.requests()[0].body;
    assert_eq!(
        upstream["system"][0]["cache_control"],
        json!({"type": "ephemeral", "ttl": "1h"})
    );
    assert_eq!(
        upstream["tools"][0]["cache_control"],
        json!({"type": "ephemeral"})
    );
    assert_eq!(
        upstream["messages"][0]["content"][0]["cache_control"],
        json!({"type": "ephemeral"})
    );
    assert!(
        upstream["messages"][0]["content"][1]
            .get("cache_control")
            .is_none()
    );
}

#[tokio::test]
async fn what_anthropic_cannot_express_is_dropped_and_named_or_refused_by_the_rule() {
    let fake = FakeProvider::start().await;
    let gateway = anthropic_gateway(&fake);
    for (field, value) in [
        ("n", json!(2)),
        ("logprobs", json!(true)),
        ("presence_penalty", json!(0.5)),
    ] {
        let mut body =
            json!({"model": "claude-test", "messages": [{"role": "user", "content": "hi"}]});
        body[field] = value;
        // The default rule: the request goes on without it, and the answer names it.
        let response = post(&gateway, "/v1/chat/completions", &body).await;
        assert_eq!(response.status(), 200, "{field}");
        assert_eq!(
            response
                .headers()
                .get("x-switchboard-dropped")
                .and_then(|value| value.to_str().ok()),
            Some(field),
            "{field}"
        );
        let upstream = fake
            .requests()
            .last()
            .expect("reached the upstream")
            .body
            .clone();
        assert!(
            upstream.get(field).is_none(),
            "{field} left out: {upstream}"
        );
        // The client's own rule: refused with a 400 naming it, before anything goes upstream.
        let before = fake.requests().len();
        let response = client()
            .post(gateway.url("/v1/chat/completions"))
            .bearer_auth(KEY)
            .header("x-switchboard-unsupported", "refuse")
            .json(&body)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 400, "{field}");
        let error: Value = response.json().await.expect("json");
        assert_eq!(error["error"]["param"], field, "{error}");
        let message = error["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("an Anthropic model"), "{error}");
        assert!(
            message.contains("x-switchboard-unsupported: drop"),
            "{error}"
        );
        assert_eq!(
            fake.requests().len(),
            before,
            "nothing reached the upstream"
        );
    }
}

#[tokio::test]
async fn anthropic_server_tools_are_dropped_for_openai_upstreams_or_refused_by_a_refusing_channel()
{
    let fake = FakeProvider::start().await;
    let refusing = "  - name: strict\n    provider: openai\n    base_url: {base}\n    api_key: {key}\n    unsupported: refuse\n    models: [gpt-strict]\n";
    let extra = refusing
        .replace("{base}", &fake.base_url())
        .replace("{key}", crate::common::UPSTREAM_KEY);
    let gateway = Gateway::start(&config(&fake.base_url(), &extra));
    let body = json!({
        "model": "gpt-test", "max_tokens": 100,
        "tools": [{"type": "web_search_20250305", "name": "web_search"}],
        "messages": [{"role": "user", "content": "hi"}]
    });
    let response = messages(&gateway, &body).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response
            .headers()
            .get("x-switchboard-dropped")
            .and_then(|value| value.to_str().ok()),
        Some("tools.web_search_20250305")
    );
    let upstream = fake
        .requests()
        .last()
        .expect("reached the upstream")
        .body
        .clone();
    assert!(upstream.get("tools").is_none(), "{upstream}");

    let mut strict = body.clone();
    strict["model"] = "gpt-strict".into();
    let response = messages(&gateway, &strict).await;
    assert_eq!(response.status(), 400);
    let error: Value = response.json().await.expect("json");
    assert_eq!(error["type"], "error");
    assert_eq!(error["error"]["type"], "invalid_request_error");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("tools"),
        "{error}"
    );
}

#[tokio::test]
async fn anthropic_clients_get_anthropic_error_shapes() {
    let fake = FakeProvider::start().await;
    let gateway = anthropic_gateway(&fake);
    let cases = [
        (
            None,
            json!({"model": "claude-test", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}),
            401,
            "authentication_error",
        ),
        (
            Some(KEY),
            json!({"model": "nope", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}),
            404,
            "not_found_error",
        ),
        (
            Some(KEY),
            json!({"model": "claude-test", "messages": [{"role": "user", "content": "hi"}]}),
            400,
            "invalid_request_error",
        ),
        (
            Some(KEY),
            json!({"model": "claude-test", "max_tokens": 10, "messages": [{"role": "system", "content": "hi"}]}),
            400,
            "invalid_request_error",
        ),
    ];
    for (key, body, status, kind) in cases {
        let mut request = client()
            .post(gateway.url("/v1/messages"))
            .header("anthropic-version", "2023-06-01")
            .json(&body);
        if let Some(key) = key {
            request = request.header("x-api-key", key);
        }
        let response = request.send().await.expect("request");
        assert_eq!(response.status().as_u16(), status, "{body}");
        let error: Value = response.json().await.expect("json");
        assert_eq!(error["type"], "error", "{error}");
        assert_eq!(error["error"]["type"], kind, "{error}");
        assert!(
            error["error"]["message"]
                .as_str()
                .is_some_and(|message| !message.is_empty())
        );
    }
}

#[tokio::test]
async fn an_overloaded_upstream_reaches_an_anthropic_client_as_overloaded_error() {
    let fake = FakeProvider::start().await;
    fake.set_default(Behaviour::error(ErrorReply::new(
        529,
        "overloaded_error",
        "Overloaded",
    )));
    let gateway = anthropic_gateway(&fake);
    let body = json!({"model": "claude-test", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]});
    let response = messages(&gateway, &body).await;
    assert!(response.status().is_server_error());
    let error: Value = response.json().await.expect("json");
    assert_eq!(error["error"]["type"], "overloaded_error", "{error}");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("Overloaded")
    );
}

#[tokio::test]
async fn a_broken_stream_ends_with_an_error_event_and_no_message_stop() {
    let fake = FakeProvider::start().await;
    fake.push(Behaviour {
        disconnect_after_chunks: Some(4),
        ..Behaviour::text("alpha beta gamma delta epsilon zeta")
    });
    let gateway = anthropic_gateway(&fake);
    let body = json!({"model": "claude-test", "max_tokens": 100, "stream": true, "messages": [{"role": "user", "content": "hi"}]});
    let text = messages(&gateway, &body).await.text().await.expect("body");
    assert!(text.contains("event: error\n"), "{text}");
    assert!(!text.contains("message_stop"), "{text}");
}

#[tokio::test]
async fn embeddings_on_a_model_only_anthropic_serves_say_so() {
    let fake = FakeProvider::start().await;
    let gateway = anthropic_gateway(&fake);
    let response = post(
        &gateway,
        "/v1/embeddings",
        &json!({"model": "claude-test", "input": "hello"}),
    )
    .await;
    assert_eq!(response.status(), 400);
    let error: Value = response.json().await.expect("json");
    let message = error["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("claude") && message.contains("does not offer"),
        "{message}"
    );
    assert!(fake.requests().is_empty());
}
