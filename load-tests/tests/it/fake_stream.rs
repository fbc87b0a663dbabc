//! Streaming behaviour of the fake provider: the SSE transcript, the usage chunk, tool-call
//! fragments, and the faults (disconnect, gate).

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use switchboard_load_tests::{Behaviour, Reply};
use tokio::sync::Notify;

use crate::common::{chat_body, post_chat, provider, sse_data};

fn stream_body(include_usage: bool) -> Value {
    let mut body = chat_body();
    body["stream"] = json!(true);
    if include_usage {
        body["stream_options"] = json!({"include_usage": true});
    }
    body
}

fn parse(data: &[String]) -> Vec<Value> {
    data.iter()
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str(d).expect("JSON chunk"))
        .collect()
}

#[tokio::test]
async fn text_stream_transcript_with_usage_chunk() {
    let provider = provider().await;

    let response = post_chat(&provider, &stream_body(true)).await;

    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    assert_eq!(response.headers()["cache-control"], "no-cache");
    let data = sse_data(&response.text().await.unwrap());
    assert_eq!(data.last().map(String::as_str), Some("[DONE]"));
    let chunks = parse(&data);
    for chunk in &chunks {
        assert_eq!(chunk["id"], "chatcmpl-fake1");
        assert_eq!(chunk["object"], "chat.completion.chunk");
        assert_eq!(chunk["model"], "gpt-test");
        assert_eq!(chunk["created"], chunks[0]["created"]);
        assert_eq!(chunk["system_fingerprint"], "fp_fake");
    }
    assert_eq!(
        chunks[0]["choices"][0]["delta"],
        json!({"role": "assistant", "content": "", "refusal": null})
    );
    let deltas: Vec<&str> = chunks[1..chunks.len() - 2]
        .iter()
        .map(|c| c["choices"][0]["delta"]["content"].as_str().unwrap())
        .collect();
    assert_eq!(deltas, ["Hello", " from", " the", " fake", " provider."]);
    let finish = &chunks[chunks.len() - 2];
    assert_eq!(finish["choices"][0]["delta"], json!({}));
    assert_eq!(finish["choices"][0]["finish_reason"], "stop");
    assert_eq!(finish["usage"], Value::Null);
    assert!(finish.as_object().unwrap().contains_key("usage"));
    let usage = &chunks[chunks.len() - 1];
    assert_eq!(usage["choices"], json!([]));
    assert_eq!(usage["usage"]["prompt_tokens"], 9);
    assert_eq!(usage["usage"]["completion_tokens"], 5);
    assert_eq!(usage["usage"]["total_tokens"], 14);
}

#[tokio::test]
async fn without_include_usage_there_is_no_usage_at_all() {
    let provider = provider().await;

    let response = post_chat(&provider, &stream_body(false)).await;

    let chunks = parse(&sse_data(&response.text().await.unwrap()));
    assert!(
        chunks
            .iter()
            .all(|c| !c.as_object().unwrap().contains_key("usage"))
    );
    assert_eq!(
        chunks.last().unwrap()["choices"][0]["finish_reason"],
        "stop"
    );
}

#[tokio::test]
async fn tool_call_fragments() {
    let provider = provider().await;
    provider.push(Behaviour {
        reply: Reply::ToolCalls(vec![("get_weather".into(), r#"{"city":"Oslo"}"#.into())]),
        ..Behaviour::default()
    });

    let response = post_chat(&provider, &stream_body(true)).await;

    let chunks = parse(&sse_data(&response.text().await.unwrap()));
    let tool_deltas: Vec<&Value> = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"].get("tool_calls"))
        .collect();
    assert_eq!(
        tool_deltas[0],
        &json!([{"index": 0, "id": "call_0", "type": "function",
                 "function": {"name": "get_weather", "arguments": ""}}])
    );
    assert!(
        tool_deltas.len() >= 3,
        "a head and at least two argument pieces"
    );
    let mut arguments = String::new();
    for delta in &tool_deltas[1..] {
        let call = delta[0].as_object().unwrap();
        assert_eq!(call.keys().collect::<Vec<_>>(), ["function", "index"]);
        arguments.push_str(call["function"]["arguments"].as_str().unwrap());
    }
    assert_eq!(arguments, r#"{"city":"Oslo"}"#);
    let finish = &chunks[chunks.len() - 2];
    assert_eq!(finish["choices"][0]["finish_reason"], "tool_calls");
}

#[tokio::test]
async fn disconnect_after_chunks_breaks_the_body() {
    let provider = provider().await;
    provider.push(Behaviour {
        disconnect_after_chunks: Some(2),
        ..Behaviour::default()
    });

    let mut response = post_chat(&provider, &stream_body(true)).await;

    assert_eq!(response.status(), 200);
    let mut received = Vec::new();
    let error = loop {
        match response.chunk().await {
            Ok(Some(bytes)) => received.extend_from_slice(&bytes),
            Ok(None) => panic!("the body ended cleanly"),
            Err(error) => break error,
        }
    };
    assert!(error.is_body() || error.is_decode(), "{error:?}");
    let data = sse_data(std::str::from_utf8(&received).unwrap());
    assert_eq!(data.len(), 2, "the role chunk and one content chunk");
}

#[tokio::test]
async fn gate_holds_the_stream_after_the_first_content_chunk() {
    let provider = provider().await;
    let gate = Arc::new(Notify::new());
    provider.push(Behaviour {
        gate: Some(Arc::clone(&gate)),
        ..Behaviour::default()
    });

    let mut response = post_chat(&provider, &stream_body(false)).await;

    let mut received = String::new();
    while !received.contains("\"content\":\"Hello\"") {
        let bytes = response.chunk().await.unwrap().expect("more chunks");
        received.push_str(std::str::from_utf8(&bytes).unwrap());
    }
    let held = tokio::time::timeout(Duration::from_millis(200), response.chunk()).await;
    assert!(held.is_err(), "nothing arrives while the gate is closed");
    gate.notify_one();
    while let Some(bytes) = response.chunk().await.unwrap() {
        received.push_str(std::str::from_utf8(&bytes).unwrap());
    }
    let data = sse_data(&received);
    assert_eq!(data.last().map(String::as_str), Some("[DONE]"));
    assert_eq!(data.len(), 1 + 5 + 1 + 1);
}

#[tokio::test]
async fn chunk_delay_paces_the_stream() {
    let provider = provider().await;
    provider.push(Behaviour {
        chunk_delay: Duration::from_millis(20),
        ..Behaviour::default()
    });
    let started = std::time::Instant::now();

    let response = post_chat(&provider, &stream_body(false)).await;
    let data = sse_data(&response.text().await.unwrap());

    assert_eq!(data.len(), 8);
    assert!(started.elapsed() >= Duration::from_millis(7 * 20));
}
