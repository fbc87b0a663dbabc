//! The fake provider's Anthropic Messages API over real sockets: the response and stream shapes,
//! usage, scripted errors, stream faults and count_tokens.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use switchboard_load_tests::{Behaviour, ErrorReply, FakeUsage, Reply, thinking_signature};
use tokio::sync::Notify;

use crate::common::{
    KEY, anthropic_provider, anthropic_request, event_names, json_of, messages_body, post_messages,
    sse_events, weather_tools,
};

#[tokio::test]
async fn a_message_has_anthropics_shape() {
    let provider = anthropic_provider().await;

    let response = post_messages(&provider, &messages_body()).await;

    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.headers()["request-id"], "req_1");
    assert!(response.headers().contains_key("anthropic-organization-id"));
    assert_eq!(
        json_of(response).await,
        json!({
            "id": "msg_fake1", "type": "message", "role": "assistant", "model": "claude-test",
            "content": [{"type": "text", "text": "Hello from the fake provider."}],
            "stop_reason": "end_turn", "stop_sequence": null,
            "usage": {"input_tokens": 9, "output_tokens": 5, "cache_creation_input_tokens": 0,
                      "cache_read_input_tokens": 0, "service_tier": "standard"}
        })
    );
    let recorded = provider.requests();
    assert_eq!(recorded[0].path, "/v1/messages");
    assert_eq!(recorded[0].header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(recorded[0].body, messages_body());
}

#[tokio::test]
async fn a_stream_has_event_lines_in_order_and_usage() {
    let provider = anthropic_provider().await;
    provider.push(Behaviour {
        usage: Some(FakeUsage {
            prompt_tokens: 100,
            completion_tokens: 7,
            cached_tokens: 60,
            reasoning_tokens: 0,
        }),
        cache_write_tokens: 30,
        ..Behaviour::default()
    });
    let mut body = messages_body();
    body["stream"] = json!(true);

    let response = post_messages(&provider, &body).await;

    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let text = response.text().await.unwrap();
    assert!(!text.contains("[DONE]"));
    let events = sse_events(&text);
    let deltas = events.len() - 6;
    assert!(deltas >= 2, "multi-word text arrives in several deltas");
    let mut expected = vec!["message_start", "content_block_start", "ping"];
    expected.extend(std::iter::repeat_n("content_block_delta", deltas));
    expected.extend(["content_block_stop", "message_delta", "message_stop"]);
    assert_eq!(event_names(&events), expected);
    let start = &events[0].1["message"];
    assert_eq!(start["content"], json!([]));
    assert_eq!(start["stop_reason"], Value::Null);
    assert_eq!(start["usage"]["input_tokens"], 10);
    assert_eq!(start["usage"]["output_tokens"], 1);
    assert_eq!(start["usage"]["cache_read_input_tokens"], 60);
    assert_eq!(start["usage"]["cache_creation_input_tokens"], 30);
    assert_eq!(
        events[1].1["content_block"],
        json!({"type": "text", "text": ""})
    );
    let text: String = events[3..3 + deltas]
        .iter()
        .map(|(_, event)| {
            assert_eq!(event["delta"]["type"], "text_delta");
            event["delta"]["text"].as_str().unwrap()
        })
        .collect();
    assert_eq!(text, "Hello from the fake provider.");
    let delta = &events[events.len() - 2].1;
    assert_eq!(
        delta["delta"],
        json!({"stop_reason": "end_turn", "stop_sequence": null})
    );
    assert_eq!(
        delta["usage"],
        json!({"input_tokens": 10, "output_tokens": 7, "cache_creation_input_tokens": 30,
               "cache_read_input_tokens": 60})
    );
}

#[tokio::test]
async fn a_streamed_thinking_and_tool_use_answer() {
    let provider = anthropic_provider().await;
    provider.push(Behaviour {
        reply: Reply::ToolCalls(vec![("get_weather".into(), r#"{"city":"Oslo"}"#.into())]),
        ..Behaviour::default()
    });
    let mut body = messages_body();
    body["stream"] = json!(true);
    body["thinking"] = json!({"type": "adaptive"});
    body["tools"] = weather_tools();

    let events = sse_events(&post_messages(&provider, &body).await.text().await.unwrap());

    let block = |index: usize| -> Vec<&Value> {
        events
            .iter()
            .filter(|(name, event)| name == "content_block_delta" && event["index"] == index)
            .map(|(_, event)| &event["delta"])
            .collect()
    };
    let thinking = block(0);
    let (signature, pieces) = thinking.split_last().unwrap();
    let text: String = pieces
        .iter()
        .map(|delta| delta["thinking"].as_str().unwrap())
        .collect();
    assert_eq!(text, "Let me think about this.");
    assert_eq!(
        signature,
        &&json!({"type": "signature_delta", "signature": thinking_signature(&text)})
    );
    let starts: Vec<&Value> = events
        .iter()
        .filter(|(name, _)| name == "content_block_start")
        .map(|(_, event)| &event["content_block"])
        .collect();
    assert_eq!(
        starts,
        [
            &json!({"type": "thinking", "thinking": "", "signature": ""}),
            &json!({"type": "tool_use", "id": "toolu_fake0", "name": "get_weather", "input": {}})
        ]
    );
    let input = block(1);
    assert_eq!(input[0]["partial_json"], "");
    let json: String = input
        .iter()
        .map(|delta| delta["partial_json"].as_str().unwrap())
        .collect();
    assert_eq!(json, r#"{"city":"Oslo"}"#);
    let (_, delta) = &events[events.len() - 2];
    assert_eq!(delta["delta"]["stop_reason"], "tool_use");
}

#[tokio::test]
async fn a_scripted_overload_has_anthropics_error_shape() {
    let provider = anthropic_provider().await;
    provider.push(Behaviour::error(
        ErrorReply::new(529, "overloaded_error", "Overloaded").with_retry_after(2),
    ));

    let response = post_messages(&provider, &messages_body()).await;

    assert_eq!(response.status(), 529);
    assert_eq!(response.headers()["retry-after"], "2");
    assert_eq!(response.headers()["request-id"], "req_1");
    assert_eq!(
        json_of(response).await,
        json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"},
               "request_id": "req_1"})
    );
}

#[tokio::test]
async fn count_tokens_counts_without_using_the_script() {
    let provider = anthropic_provider().await;
    provider.push(Behaviour::error(ErrorReply::new(
        529,
        "overloaded_error",
        "Overloaded",
    )));
    let mut body = messages_body();
    body.as_object_mut().map(|body| body.remove("max_tokens"));

    let response = anthropic_request(&provider, "/v1/messages/count_tokens")
        .header("authorization", format!("Bearer {KEY}"))
        .header("anthropic-version", "2023-06-01")
        .json(&body)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 200);
    assert_eq!(json_of(response).await, json!({"input_tokens": 9}));
    let scripted = post_messages(&provider, &messages_body()).await;
    assert_eq!(scripted.status(), 529, "the pushed error is still queued");
}

#[tokio::test]
async fn max_tokens_cuts_the_text() {
    let provider = anthropic_provider().await;
    let mut body = messages_body();
    body["max_tokens"] = json!(2);

    let message = json_of(post_messages(&provider, &body).await).await;

    assert_eq!(message["stop_reason"], "max_tokens");
    assert_eq!(message["content"][0]["text"], "Hello from");
    assert_eq!(message["usage"]["output_tokens"], 2);
}

#[tokio::test]
async fn stream_faults_apply_to_anthropic_streams() {
    let provider = anthropic_provider().await;
    let gate = Arc::new(Notify::new());
    provider.push(Behaviour {
        gate: Some(Arc::clone(&gate)),
        ..Behaviour::default()
    });
    provider.push(Behaviour {
        disconnect_after_chunks: Some(3),
        ..Behaviour::default()
    });
    let mut body = messages_body();
    body["stream"] = json!(true);

    let mut gated = post_messages(&provider, &body).await;
    let mut received = String::new();
    while !received.contains("\"text\":\"Hello\"") {
        let bytes = gated.chunk().await.unwrap().expect("more events");
        received.push_str(std::str::from_utf8(&bytes).unwrap());
    }
    let held = tokio::time::timeout(Duration::from_millis(200), gated.chunk()).await;
    assert!(held.is_err(), "nothing arrives while the gate is closed");
    gate.notify_one();
    while let Some(bytes) = gated.chunk().await.unwrap() {
        received.push_str(std::str::from_utf8(&bytes).unwrap());
    }
    assert_eq!(sse_events(&received).last().unwrap().0, "message_stop");

    let mut broken = post_messages(&provider, &body).await;
    let mut received = Vec::new();
    let error = loop {
        match broken.chunk().await {
            Ok(Some(bytes)) => received.extend_from_slice(&bytes),
            Ok(None) => panic!("the body ended cleanly"),
            Err(error) => break error,
        }
    };
    assert!(error.is_body() || error.is_decode(), "{error:?}");
    let events = sse_events(std::str::from_utf8(&received).unwrap());
    assert_eq!(
        event_names(&events),
        ["message_start", "content_block_start", "ping"]
    );
}
