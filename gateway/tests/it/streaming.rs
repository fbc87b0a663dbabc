//! Streaming chat completions: chunk-by-chunk forwarding, usage, tool-call deltas, and streams
//! that break.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Value, json};
use switchboard_load_tests::{Behaviour, FakeProvider, FakeUsage, Reply};
use tokio::sync::Notify;

use crate::common::{Gateway, chat_body, config, post, sse_data};

fn parse(payloads: &[String]) -> Vec<Value> {
    payloads
        .iter()
        .filter(|payload| payload.as_str() != "[DONE]")
        .map(|payload| serde_json::from_str(payload).expect("chunk is JSON"))
        .collect()
}

#[tokio::test]
async fn streams_openai_chunks_with_usage_only_when_asked() {
    let fake = FakeProvider::start().await;
    fake.set_default(Behaviour {
        usage: Some(FakeUsage {
            prompt_tokens: 12,
            completion_tokens: 5,
            cached_tokens: 0,
            reasoning_tokens: 0,
        }),
        ..Behaviour::text("one two three four five")
    });
    let gateway = Gateway::start(&config(&fake.base_url(), ""));

    for include_usage in [true, false] {
        let mut body = chat_body("gpt-test", true);
        if include_usage {
            body["stream_options"] = json!({"include_usage": true});
        }
        let response = post(&gateway, "/v1/chat/completions", &body).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        let payloads = sse_data(&response.text().await.expect("body"));

        assert_eq!(payloads.last().map(String::as_str), Some("[DONE]"));
        let chunks = parse(&payloads);
        assert!(
            chunks
                .iter()
                .all(|chunk| chunk["object"] == "chat.completion.chunk")
        );
        assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
        let text: String = chunks
            .iter()
            .filter_map(|chunk| chunk["choices"][0]["delta"]["content"].as_str())
            .collect();
        assert_eq!(text, "one two three four five");
        let finish: Vec<&Value> = chunks
            .iter()
            .filter(|chunk| !chunk["choices"][0]["finish_reason"].is_null())
            .collect();
        assert_eq!(finish.len(), 1);
        assert_eq!(finish[0]["choices"][0]["finish_reason"], "stop");
        let usage_chunks: Vec<&Value> = chunks
            .iter()
            .filter(|chunk| chunk["usage"].is_object())
            .collect();
        if include_usage {
            assert_eq!(usage_chunks.len(), 1);
            let last = chunks.last().expect("chunks");
            assert_eq!(
                last["choices"],
                json!([]),
                "usage comes in its own final chunk"
            );
            assert_eq!(last["usage"]["prompt_tokens"], 12);
            assert_eq!(last["usage"]["completion_tokens"], 5);
        } else {
            assert!(
                usage_chunks.is_empty(),
                "no usage chunk unless the client asked"
            );
            assert!(chunks.iter().all(|chunk| chunk.get("usage").is_none()));
        }
    }
    // The gateway always asks the upstream for usage, for its own accounting.
    for request in fake.requests() {
        assert_eq!(request.body["stream_options"]["include_usage"], true);
    }
}

#[tokio::test]
async fn streams_are_forwarded_as_they_arrive_not_buffered() {
    let fake = FakeProvider::start().await;
    let gate = Arc::new(Notify::new());
    fake.push(Behaviour {
        gate: Some(gate.clone()),
        ..Behaviour::text("first second third")
    });
    let gateway = Gateway::start(&config(&fake.base_url(), ""));

    let response = post(
        &gateway,
        "/v1/chat/completions",
        &chat_body("gpt-test", true),
    )
    .await;
    let mut body = response.bytes_stream();
    let mut seen = String::new();
    // The fake holds everything after its first content chunk until the gate opens, so the
    // client can only see that chunk if the gateway forwarded it before the stream ended.
    while !seen.contains("\"content\":\"first\"") {
        let chunk = tokio::time::timeout(Duration::from_secs(5), body.next())
            .await
            .expect(
                "the first content chunk must reach the client while the upstream is still holding",
            )
            .expect("stream open")
            .expect("bytes");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(
        !seen.contains("second"),
        "nothing after the gate may have been sent yet"
    );
    gate.notify_one();
    while let Some(chunk) = body.next().await {
        seen.push_str(&String::from_utf8_lossy(&chunk.expect("bytes")));
    }
    assert!(
        seen.contains(" second") && seen.ends_with("data: [DONE]\n\n"),
        "{seen}"
    );
}

#[tokio::test]
async fn streamed_tool_calls_arrive_as_indexed_fragments() {
    let fake = FakeProvider::start().await;
    fake.push(Behaviour {
        reply: Reply::ToolCalls(vec![(
            "lookup".to_owned(),
            r#"{"query":"rust gateways"}"#.to_owned(),
        )]),
        ..Behaviour::default()
    });
    let gateway = Gateway::start(&config(&fake.base_url(), ""));
    let mut body = chat_body("gpt-test", true);
    body["tools"] = json!([{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]);

    let text = post(&gateway, "/v1/chat/completions", &body)
        .await
        .text()
        .await
        .expect("body");
    let chunks = parse(&sse_data(&text));

    let fragments: Vec<&Value> = chunks
        .iter()
        .filter_map(|chunk| chunk["choices"][0]["delta"]["tool_calls"].get(0))
        .collect();
    assert!(
        fragments.len() >= 2,
        "start plus argument fragments: {text}"
    );
    assert_eq!(fragments[0]["index"], 0);
    assert_eq!(fragments[0]["id"], "call_0");
    assert_eq!(fragments[0]["function"]["name"], "lookup");
    let arguments: String = fragments
        .iter()
        .filter_map(|fragment| fragment["function"]["arguments"].as_str())
        .collect();
    assert_eq!(arguments, r#"{"query":"rust gateways"}"#);
    assert!(
        fragments[1..]
            .iter()
            .all(|fragment| fragment.get("id").is_none())
    );
    let finish = chunks
        .iter()
        .find_map(|chunk| chunk["choices"][0]["finish_reason"].as_str());
    assert_eq!(finish, Some("tool_calls"));
}

#[tokio::test]
async fn a_stream_that_breaks_mid_way_ends_with_an_error_event_not_done() {
    let fake = FakeProvider::start().await;
    fake.push(Behaviour {
        disconnect_after_chunks: Some(3),
        ..Behaviour::text("alpha beta gamma delta epsilon")
    });
    let gateway = Gateway::start(&config(&fake.base_url(), ""));

    let response = post(
        &gateway,
        "/v1/chat/completions",
        &chat_body("gpt-test", true),
    )
    .await;
    assert_eq!(
        response.status(),
        200,
        "the stream had started before it broke"
    );
    let payloads = sse_data(
        &response
            .text()
            .await
            .expect("the gateway closes its body cleanly"),
    );

    assert!(
        !payloads.iter().any(|payload| payload == "[DONE]"),
        "{payloads:?}"
    );
    let last: Value = serde_json::from_str(payloads.last().expect("payloads")).expect("json");
    assert_eq!(last["error"]["type"], "server_error", "{last}");
    assert!(
        last["error"]["message"]
            .as_str()
            .is_some_and(|message| message.contains("primary"))
    );
    let text: String = parse(&payloads[..payloads.len() - 1])
        .iter()
        .filter_map(|chunk| {
            chunk["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    assert!(
        text.starts_with("alpha"),
        "what arrived before the break was forwarded: {text}"
    );
}

#[tokio::test]
async fn a_stream_that_fails_before_its_first_event_fails_over() {
    let broken = FakeProvider::start().await;
    broken.push(Behaviour {
        disconnect_after_chunks: Some(0),
        ..Behaviour::default()
    });
    let backup = FakeProvider::start().await;
    let channel = format!(
        "  - name: backup\n    provider: openai\n    base_url: {}\n    api_key: k\n    priority: 1\n    models: [gpt-test]\n",
        backup.base_url()
    );
    let gateway = Gateway::start(&config(&broken.base_url(), &channel));

    let response = post(
        &gateway,
        "/v1/chat/completions",
        &chat_body("gpt-test", true),
    )
    .await;

    assert_eq!(response.headers()["x-switchboard-channel"], "backup");
    let payloads = sse_data(&response.text().await.expect("body"));
    assert_eq!(payloads.last().map(String::as_str), Some("[DONE]"));
}

#[tokio::test]
async fn a_client_that_hangs_up_cancels_the_upstream_stream() {
    let fake = FakeProvider::start().await;
    let gate = Arc::new(Notify::new());
    fake.push(Behaviour {
        gate: Some(gate.clone()),
        ..Behaviour::text("tokens that nobody will read")
    });
    let gateway = Gateway::start(&config(&fake.base_url(), ""));

    let response = post(
        &gateway,
        "/v1/chat/completions",
        &chat_body("gpt-test", true),
    )
    .await;
    let mut body = response.bytes_stream();
    let mut seen = String::new();
    while !seen.contains("tokens") {
        seen.push_str(&String::from_utf8_lossy(
            &body.next().await.expect("open").expect("bytes"),
        ));
    }
    assert_eq!(fake.abandoned_streams(), 0);
    // Hang up while the upstream is still generating (held at its gate).
    drop(body);

    tokio::time::timeout(Duration::from_secs(10), fake.wait_for_abandoned_streams(1))
        .await
        .expect("the gateway must drop the upstream stream when its client goes away");
    gate.notify_one();
}
