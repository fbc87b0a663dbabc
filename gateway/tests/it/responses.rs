//! OpenAI channels that speak the Responses API (`api: responses`): a Responses client's request
//! and answer pass through unchanged — hosted tools and their items, encrypted reasoning,
//! `previous_response_id` — with limits, usage and accounting as on every path; other channels
//! drop hosted tools (or refuse them, by the rule) and refuse server-side state; and other
//! clients reach a Responses channel through the canonical model.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use switchboard_load_tests::{Behaviour, FakeProvider, FakeUsage, Reply};

use crate::common::{Gateway, KEY, client};

fn gateway(fake: &FakeProvider) -> Gateway {
    let yaml = format!(
        r#"
channels:
  - {{name: responses, provider: openai, api: responses, base_url: "{v1}", api_key: sk-up, models: [{{name: gpt-r, upstream: gpt-up}}]}}
  - {{name: chat, provider: openai, base_url: "{v1}", api_key: sk-up, models: [{{name: gpt-c, upstream: gpt-up}}]}}
roles:
  - name: all
    models: ["*"]
    limits: {{tokens_per_minute: 1000000}}
api_keys: [{{name: tester, key: {KEY}, role: all}}]
"#,
        v1 = fake.base_url()
    );
    Gateway::start_with_env(&yaml, &[("RUST_LOG", "info")])
}

async fn responses(gateway: &Gateway, body: &Value, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut request = client()
        .post(gateway.url("/v1/responses"))
        .bearer_auth(KEY)
        .json(body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.expect("request")
}

fn event_names(body: &str) -> Vec<String> {
    body.lines()
        .filter_map(|line| line.strip_prefix("event: "))
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn previous_response_id_continues_through_a_responses_channel_and_is_refused_elsewhere() {
    let fake = FakeProvider::start().await;
    let gateway = gateway(&fake);
    let first = responses(
        &gateway,
        &json!({"model": "gpt-r", "input": "Remember 7."}),
        &[],
    )
    .await;
    assert_eq!(first.status(), 200);
    let first: Value = first.json().await.expect("json");
    let id = first["id"]
        .as_str()
        .expect("the upstream's own id")
        .to_owned();
    assert!(id.starts_with("resp_"), "{first}");

    let follow_up = json!({"model": "gpt-r", "input": "What number?", "previous_response_id": id});
    let second = responses(&gateway, &follow_up, &[]).await;
    assert_eq!(
        second.status(),
        200,
        "{}",
        second.text().await.unwrap_or_default()
    );
    assert_eq!(fake.requests()[1].body["previous_response_id"], id.as_str());

    let before = fake.requests().len();
    let mut elsewhere = follow_up.clone();
    elsewhere["model"] = "gpt-c".into();
    let refused = responses(&gateway, &elsewhere, &[]).await;
    assert_eq!(refused.status(), 400);
    let error: Value = refused.json().await.expect("json");
    assert_eq!(error["error"]["param"], "previous_response_id", "{error}");
    assert!(
        error["error"]["message"]
            .as_str()
            .is_some_and(|message| message.contains("api: responses")),
        "{error}"
    );
    assert_eq!(fake.requests().len(), before, "nothing went upstream");
}

#[tokio::test]
async fn hosted_tools_and_encrypted_reasoning_pass_through_a_responses_channel() {
    let fake = FakeProvider::start().await;
    let gateway = gateway(&fake);
    fake.push(Behaviour {
        web_search: Some("rust llm gateways".to_owned()),
        thinking: Some("Search first.".to_owned()),
        ..Behaviour::text("Switchboard is one.")
    });
    let body = json!({
        "model": "gpt-r", "stream": true, "store": false,
        "input": [{"type": "message", "role": "user", "content": "Name an LLM gateway."}],
        "tools": [{"type": "web_search", "external_web_access": false}],
        "reasoning": {"effort": "low", "summary": "auto"},
        "include": ["reasoning.encrypted_content"],
    });
    let response = responses(&gateway, &body, &[]).await;
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("x-switchboard-dropped").is_none());
    let text = response.text().await.expect("body");
    let names = event_names(&text);
    for name in [
        "response.web_search_call.searching",
        "response.reasoning_summary_text.delta",
        "response.completed",
    ] {
        assert!(names.iter().any(|seen| seen == name), "{name} in {names:?}");
    }
    // The finished items, as a client keeps them, go back with the next turn.
    let items: Vec<Value> = text
        .split("\n\n")
        .filter(|event| event.starts_with("event: response.output_item.done"))
        .filter_map(|event| event.lines().find_map(|line| line.strip_prefix("data: ")))
        .filter_map(|data| serde_json::from_str::<Value>(data).ok())
        .map(|data| data["item"].clone())
        .collect();
    let reasoning = items
        .iter()
        .find(|item| item["type"] == "reasoning")
        .expect("a reasoning item");
    assert!(reasoning["encrypted_content"].is_string(), "{reasoning}");
    assert!(items.iter().any(|item| item["type"] == "web_search_call"));

    let mut input = body["input"].as_array().cloned().unwrap_or_default();
    input.extend(items);
    input.push(json!({"type": "message", "role": "user", "content": "Another?"}));
    let mut next = body.clone();
    next["input"] = Value::Array(input);
    next["stream"] = false.into();
    let second = responses(&gateway, &next, &[]).await;
    assert_eq!(
        second.status(),
        200,
        "the upstream verified its own encrypted reasoning: {}",
        second.text().await.unwrap_or_default()
    );
}

#[tokio::test]
async fn passed_through_answers_are_limited_counted_and_logged() {
    let fake = FakeProvider::start().await;
    let gateway = gateway(&fake);
    fake.set_default(Behaviour {
        usage: Some(FakeUsage {
            prompt_tokens: 40,
            completion_tokens: 7,
            cached_tokens: 10,
            reasoning_tokens: 0,
        }),
        ..Behaviour::text("Seven.")
    });
    for stream in [false, true] {
        let response = responses(
            &gateway,
            &json!({"model": "gpt-r", "input": "Count.", "stream": stream}),
            &[],
        )
        .await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["x-switchboard-channel"], "responses");
        assert_eq!(response.headers()["x-ratelimit-limit-tokens"], "1000000");
        let body = response.text().await.expect("body");
        assert!(body.contains("\"input_tokens\":40"), "{body}");
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    let access = loop {
        let lines: Vec<String> = gateway
            .logs()
            .lines()
            .filter(|line| line.contains("access:") && line.contains("channel=\"responses\""))
            .map(str::to_owned)
            .collect();
        if lines.len() >= 2 || Instant::now() > deadline {
            break lines;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(access.len(), 2, "{}", gateway.logs());
    for line in &access {
        assert!(
            line.contains("input_tokens=40") && line.contains("output_tokens=7"),
            "{line}"
        );
    }
}

#[tokio::test]
async fn hosted_tools_are_dropped_or_refused_by_other_channels() {
    let fake = FakeProvider::start().await;
    let gateway = gateway(&fake);
    let body = json!({"model": "gpt-c", "input": "Search.", "tools": [
        {"type": "web_search"},
        {"type": "function", "name": "lookup", "parameters": {"type": "object"}},
    ]});
    let dropped = responses(&gateway, &body, &[]).await;
    assert_eq!(dropped.status(), 200);
    assert_eq!(
        dropped.headers()["x-switchboard-dropped"],
        "tools.web_search"
    );
    let sent = fake.requests().last().expect("upstream").body.clone();
    assert_eq!(sent["tools"].as_array().map(Vec::len), Some(1), "{sent}");

    let refused = responses(&gateway, &body, &[("x-switchboard-unsupported", "refuse")]).await;
    assert_eq!(refused.status(), 400);
    let error: Value = refused.json().await.expect("json");
    assert_eq!(error["error"]["param"], "tools", "{error}");

    let wrong = responses(&gateway, &body, &[("x-switchboard-unsupported", "maybe")]).await;
    assert_eq!(wrong.status(), 400);
    let error: Value = wrong.json().await.expect("json");
    assert_eq!(
        error["error"]["param"], "x-switchboard-unsupported",
        "{error}"
    );
}

#[tokio::test]
async fn chat_clients_reach_a_responses_channel() {
    let fake = FakeProvider::start().await;
    let gateway = gateway(&fake);
    fake.push(Behaviour {
        reply: Reply::ToolCalls(vec![("lookup".to_owned(), r#"{"q":"x"}"#.to_owned())]),
        ..Behaviour::default()
    });
    let tools = json!([{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}}]);
    let chat = client()
        .post(gateway.url("/v1/chat/completions"))
        .bearer_auth(KEY)
        .json(&json!({"model": "gpt-r", "tools": tools, "messages": [
            {"role": "system", "content": "Use tools."},
            {"role": "user", "content": "Look up x."},
        ]}))
        .send()
        .await
        .expect("request");
    assert_eq!(chat.status(), 200);
    let chat: Value = chat.json().await.expect("json");
    assert_eq!(chat["choices"][0]["finish_reason"], "tool_calls", "{chat}");
    let call = &chat["choices"][0]["message"]["tool_calls"][0];
    assert_eq!(call["function"]["name"], "lookup");
    let sent = &fake.requests()[0];
    assert_eq!(sent.path, "/v1/responses");
    assert_eq!(sent.body["store"], false);
    assert_eq!(sent.body["input"][0]["role"], "system");

    let stream = client()
        .post(gateway.url("/v1/chat/completions"))
        .bearer_auth(KEY)
        .json(&json!({"model": "gpt-r", "stream": true, "messages": [{"role": "user", "content": "Hi."}]}))
        .send()
        .await
        .expect("request")
        .text()
        .await
        .expect("body");
    assert!(stream.contains("\"finish_reason\":\"stop\""), "{stream}");
    assert!(stream.trim_end().ends_with("data: [DONE]"), "{stream}");
}

/// A channel that cannot take the request is skipped without counting as an attempt; when the
/// one that could answers overloaded, the client hears that, not the other's refusal.
#[tokio::test]
async fn a_refusing_channel_does_not_hide_the_real_failure() {
    let fake = FakeProvider::start().await;
    let yaml = format!(
        r#"
channels:
  - {{name: responses, provider: openai, api: responses, base_url: "{v1}", api_key: sk-up, priority: 0, models: [{{name: gpt-both, upstream: gpt-up}}]}}
  - {{name: claude, provider: anthropic, base_url: "http://{addr}", api_key: sk-up, priority: 1, models: [{{name: gpt-both, upstream: claude-up}}]}}
routing: {{strategy: failover}}
roles: [{{name: all, models: ["*"]}}]
api_keys: [{{name: tester, key: {KEY}, role: all}}]
"#,
        v1 = fake.base_url(),
        addr = fake.addr()
    );
    let gateway = Gateway::start(&yaml);
    let first = responses(
        &gateway,
        &json!({"model": "gpt-both", "input": "Start."}),
        &[],
    )
    .await;
    let first: Value = first.json().await.expect("json");
    let id = first["id"].as_str().expect("id").to_owned();
    fake.set_default(Behaviour::error(switchboard_load_tests::ErrorReply::new(
        503,
        "server_error",
        "The engine is currently overloaded",
    )));
    let body = json!({"model": "gpt-both", "input": "Go on.", "previous_response_id": id});
    let response = responses(&gateway, &body, &[]).await;
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["x-switchboard-attempts"], "1");
    let error: Value = response.json().await.expect("json");
    assert!(
        error["error"]["message"]
            .as_str()
            .is_some_and(|message| message.contains("overloaded")),
        "{error}"
    );
    assert_eq!(
        fake.requests().len(),
        2,
        "the Anthropic channel was never called"
    );
}
