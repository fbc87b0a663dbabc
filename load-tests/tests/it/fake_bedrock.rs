//! The fake provider's Bedrock Converse API over real sockets, every request signed by
//! `aws-sigv4` as a client signs it: the Converse and ConverseStream shapes (event-stream frames
//! decoded with `aws-smithy-eventstream`), usage, the tool round trip with reasoning, request
//! validation, scripted errors and stream faults. Signature failures are in `fake_bedrock_auth`.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use switchboard_load_tests::{
    Behaviour, ErrorReply, FakeOptions, FakeProvider, FakeUsage, Reply, thinking_signature,
};
use tokio::sync::Notify;

use crate::common::{
    BEDROCK_MODEL, BEDROCK_MODEL_IN_PATH, bedrock_events, converse_body, json_of, post_bedrock,
};

fn names(events: &[(String, Value)]) -> Vec<&str> {
    events.iter().map(|(name, _)| name.as_str()).collect()
}

fn weather_tools() -> Value {
    json!({"tools": [{"toolSpec": {"name": "get_weather", "description": "Current weather",
        "inputSchema": {"json": {"type": "object", "properties": {"city": {"type": "string"}},
                                 "required": ["city"]}}}}]})
}

#[tokio::test]
async fn a_converse_answer_has_bedrocks_shape() {
    let provider = FakeProvider::start().await;

    let response = post_bedrock(&provider, "converse", &converse_body()).await;

    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(
        response.headers()["x-amzn-requestid"],
        "00000000-0000-4000-8000-000000000001"
    );
    assert_eq!(
        json_of(response).await,
        json!({
            "output": {"message": {"role": "assistant",
                                   "content": [{"text": "Hello from the fake provider."}]}},
            "stopReason": "end_turn",
            "usage": {"inputTokens": 9, "outputTokens": 5, "totalTokens": 14},
            "metrics": {"latencyMs": 0}
        })
    );
    let recorded = provider.requests();
    assert_eq!(
        recorded[0].path,
        format!("/model/{BEDROCK_MODEL_IN_PATH}/converse")
    );
    assert!(recorded[0].header("authorization").is_some());
    assert_eq!(recorded[0].body, converse_body());
}

#[tokio::test]
async fn a_stream_is_event_frames_with_metadata_after_message_stop() {
    let provider = FakeProvider::start().await;
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

    let response = post_bedrock(&provider, "converse-stream", &converse_body()).await;

    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/vnd.amazon.eventstream"
    );
    assert!(response.headers().contains_key("x-amzn-requestid"));
    let events = bedrock_events(&response.bytes().await.unwrap());
    let deltas = events.len() - 4;
    assert!(deltas >= 2, "multi-word text arrives in several deltas");
    let mut expected = vec!["messageStart"];
    expected.extend(std::iter::repeat_n("contentBlockDelta", deltas));
    expected.extend(["contentBlockStop", "messageStop", "metadata"]);
    assert_eq!(names(&events), expected);
    for (_, event) in &events {
        assert!(event["p"].is_string(), "every payload is padded: {event}");
    }
    assert_eq!(events[0].1["role"], "assistant");
    let text: String = events[1..=deltas]
        .iter()
        .map(|(_, event)| {
            assert_eq!(event["contentBlockIndex"], 0);
            event["delta"]["text"].as_str().unwrap()
        })
        .collect();
    assert_eq!(text, "Hello from the fake provider.");
    assert_eq!(events[deltas + 2].1["stopReason"], "end_turn");
    let metadata = &events[deltas + 3].1;
    assert_eq!(
        metadata["usage"],
        json!({"inputTokens": 10, "outputTokens": 7, "totalTokens": 107,
               "cacheReadInputTokens": 60, "cacheWriteInputTokens": 30})
    );
    assert_eq!(metadata["metrics"], json!({"latencyMs": 0}));
}

#[tokio::test]
async fn a_tool_round_trip_with_reasoning() {
    let provider = FakeProvider::start().await;
    let thinking = "The user wants the weather.";
    provider.push(Behaviour {
        reply: Reply::ToolCalls(vec![("get_weather".into(), r#"{"city":"Oslo"}"#.into())]),
        thinking: Some(thinking.into()),
        ..Behaviour::default()
    });
    let mut body = converse_body();
    body["toolConfig"] = weather_tools();
    body["additionalModelRequestFields"] =
        json!({"thinking": {"type": "enabled", "budget_tokens": 1024}});

    let first = json_of(post_bedrock(&provider, "converse", &body).await).await;

    let content = &first["output"]["message"]["content"];
    assert_eq!(
        content,
        &json!([
            {"reasoningContent": {"reasoningText": {"text": thinking,
                                                    "signature": thinking_signature(thinking)}}},
            {"toolUse": {"toolUseId": "tooluse_0", "name": "get_weather", "input": {"city": "Oslo"}}}
        ])
    );
    assert_eq!(first["stopReason"], "tool_use");

    let answered = |assistant: Value| {
        let mut next = body.clone();
        next["messages"].as_array_mut().unwrap().extend([
            json!({"role": "assistant", "content": assistant}),
            json!({"role": "user", "content": [{"toolResult": {"toolUseId": "tooluse_0",
                "content": [{"json": {"temperature": 21}}], "status": "success"}}]}),
        ]);
        next
    };
    let accepted = post_bedrock(&provider, "converse", &answered(content.clone())).await;
    assert_eq!(accepted.status(), 200);

    let without_reasoning = answered(json!([content[1].clone()]));
    let refused = post_bedrock(&provider, "converse", &without_reasoning).await;
    assert_eq!(refused.status(), 400);
    let message = json_of(refused).await["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        message.contains("Expected `thinking` or `redacted_thinking`"),
        "{message}"
    );
}

#[tokio::test]
async fn a_streamed_tool_call_arrives_in_fragments() {
    let provider = FakeProvider::start().await;
    provider.push(Behaviour {
        reply: Reply::ToolCalls(vec![("get_weather".into(), r#"{"city":"Oslo"}"#.into())]),
        ..Behaviour::default()
    });
    let mut body = converse_body();
    body["toolConfig"] = weather_tools();

    let response = post_bedrock(&provider, "converse-stream", &body).await;
    let events = bedrock_events(&response.bytes().await.unwrap());

    let fragments = events.len() - 5;
    let mut expected = vec!["messageStart", "contentBlockStart"];
    expected.extend(std::iter::repeat_n("contentBlockDelta", fragments));
    expected.extend(["contentBlockStop", "messageStop", "metadata"]);
    assert_eq!(names(&events), expected);
    assert!(fragments >= 2);
    assert_eq!(
        events[1].1["start"],
        json!({"toolUse": {"toolUseId": "tooluse_0", "name": "get_weather"}})
    );
    let input: String = events[2..2 + fragments]
        .iter()
        .map(|(_, event)| event["delta"]["toolUse"]["input"].as_str().unwrap())
        .collect();
    assert_eq!(input, r#"{"city":"Oslo"}"#);
    assert_eq!(events[events.len() - 2].1["stopReason"], "tool_use");
}

#[tokio::test]
async fn an_unanswered_tool_use_is_refused() {
    let provider = FakeProvider::start().await;
    let mut body = converse_body();
    body["toolConfig"] = weather_tools();
    body["messages"].as_array_mut().unwrap().extend([
        json!({"role": "assistant", "content": [{"toolUse": {"toolUseId": "tooluse_7",
            "name": "get_weather", "input": {"city": "Oslo"}}}]}),
        json!({"role": "user", "content": [{"text": "Never mind."}]}),
    ]);

    let response = post_bedrock(&provider, "converse", &body).await;

    assert_eq!(response.status(), 400);
    assert_eq!(
        response.headers()["x-amzn-errortype"],
        "ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/"
    );
    assert_eq!(
        json_of(response).await,
        json!({"message": "Expected toolResult blocks at messages.2.content for the following Ids: tooluse_7"})
    );
}

#[tokio::test]
async fn an_unknown_field_is_a_validation_exception() {
    let provider = FakeProvider::start().await;
    provider.push(Behaviour::error(ErrorReply::new(429, "x", "queued")));
    let mut body = converse_body();
    body["modelId"] = json!(BEDROCK_MODEL);

    let response = post_bedrock(&provider, "converse", &body).await;

    assert_eq!(response.status(), 400);
    let error_type = response.headers()["x-amzn-errortype"].to_str().unwrap();
    assert_eq!(error_type.split(':').next(), Some("ValidationException"));
    assert_eq!(
        json_of(response).await["message"],
        "Malformed input request: #: extraneous key [modelId] is not permitted, please reformat your input and try again."
    );
    let scripted = post_bedrock(&provider, "converse", &converse_body()).await;
    assert_eq!(
        scripted.status(),
        429,
        "the refused request used no behaviour"
    );
}

#[tokio::test]
async fn scripted_errors_and_unknown_models_speak_bedrock() {
    let provider = FakeProvider::start_with(FakeOptions {
        api_key: None,
        models: vec![BEDROCK_MODEL.to_owned()],
    })
    .await;
    provider.push(Behaviour::error(
        ErrorReply::new(
            429,
            "rate_limit_error",
            "Too many requests, please wait before trying again.",
        )
        .with_retry_after(3),
    ));

    let throttled = post_bedrock(&provider, "converse-stream", &converse_body()).await;

    assert_eq!(throttled.status(), 429);
    assert_eq!(throttled.headers()["retry-after"], "3");
    assert_eq!(
        throttled.headers()["x-amzn-errortype"],
        "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/"
    );
    assert_eq!(
        json_of(throttled).await,
        json!({"message": "Too many requests, please wait before trying again."})
    );
    assert_eq!(
        post_bedrock(&provider, "converse", &converse_body())
            .await
            .status(),
        200,
        "the decoded model id is in the list"
    );

    let other = FakeProvider::start_with(FakeOptions {
        api_key: None,
        models: vec!["gpt-test".to_owned()],
    })
    .await;
    let unknown = post_bedrock(&other, "converse", &converse_body()).await;
    assert_eq!(unknown.status(), 400);
    assert_eq!(
        json_of(unknown).await["message"],
        "The provided model identifier is invalid."
    );
}

#[tokio::test]
async fn disconnect_after_chunks_counts_frames() {
    let provider = FakeProvider::start().await;
    provider.push(Behaviour {
        disconnect_after_chunks: Some(2),
        ..Behaviour::default()
    });

    let mut response = post_bedrock(&provider, "converse-stream", &converse_body()).await;

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
    let events = bedrock_events(&received);
    assert_eq!(names(&events), ["messageStart", "contentBlockDelta"]);
}

#[tokio::test]
async fn the_gate_holds_the_stream_after_the_first_delta() {
    let provider = FakeProvider::start().await;
    let gate = Arc::new(Notify::new());
    provider.push(Behaviour {
        gate: Some(Arc::clone(&gate)),
        ..Behaviour::default()
    });

    let mut response = post_bedrock(&provider, "converse-stream", &converse_body()).await;

    let mut received = Vec::new();
    while !received
        .windows(17)
        .any(|window| window == b"contentBlockDelta")
    {
        let bytes = response.chunk().await.unwrap().expect("more frames");
        received.extend_from_slice(&bytes);
    }
    let held = tokio::time::timeout(Duration::from_millis(200), response.chunk()).await;
    assert!(held.is_err(), "nothing arrives while the gate is closed");
    assert_eq!(
        names(&bedrock_events(&received)),
        ["messageStart", "contentBlockDelta"]
    );
    gate.notify_one();
    while let Some(bytes) = response.chunk().await.unwrap() {
        received.extend_from_slice(&bytes);
    }
    assert_eq!(bedrock_events(&received).last().unwrap().0, "metadata");
}

#[tokio::test]
async fn an_abandoned_stream_is_counted() {
    let provider = FakeProvider::start().await;
    provider.push(Behaviour {
        chunk_delay: Duration::from_millis(50),
        ..Behaviour::default()
    });

    let mut response = post_bedrock(&provider, "converse-stream", &converse_body()).await;
    response.chunk().await.unwrap().expect("the first frame");
    drop(response);

    tokio::time::timeout(
        Duration::from_secs(5),
        provider.wait_for_abandoned_streams(1),
    )
    .await
    .expect("the fake notices the reader left");
}
