//! The streaming form of the fake's Responses API over real sockets: the exact event order and
//! sequence numbers of a text answer and of a reasoning summary, obfuscation padding, and the
//! stream faults (gate, disconnect, abandonment).

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use switchboard_load_tests::Behaviour;
use tokio::sync::Notify;

use crate::common::{event_names, provider, sse_events};
use crate::fake_responses::{post_responses, responses_body};

#[tokio::test]
async fn a_text_stream_has_every_event_in_order_and_numbered() {
    let provider = provider().await;
    provider.push(Behaviour::text("Hi there"));
    let mut body = responses_body();
    body["stream"] = json!(true);

    let response = post_responses(&provider, &body).await;

    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let events = sse_events(&response.text().await.unwrap());
    assert_eq!(
        event_names(&events),
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.completed",
        ]
    );
    for (number, (_, event)) in events.iter().enumerate() {
        assert_eq!(event["sequence_number"], number);
    }
    let created = &events[0].1["response"];
    assert_eq!(created["status"], "in_progress");
    assert_eq!(created["output"], json!([]));
    assert_eq!(created["usage"], Value::Null);
    let added = &events[2].1;
    assert_eq!(added["output_index"], 0);
    assert_eq!(added["item"]["status"], "in_progress");
    assert_eq!(added["item"]["content"], json!([]));
    let item_id = added["item"]["id"].clone();
    let deltas: Vec<&str> = events[4..6]
        .iter()
        .map(|(_, event)| {
            assert_eq!(event["item_id"], item_id);
            assert_eq!(event["content_index"], 0);
            assert_eq!(event["obfuscation"], "fake");
            event["delta"].as_str().unwrap()
        })
        .collect();
    assert_eq!(deltas, ["Hi", " there"]);
    assert_eq!(events[6].1["text"], "Hi there");
    assert_eq!(events[8].1["item"]["content"][0]["text"], "Hi there");
    let completed = &events[9].1["response"];
    assert_eq!(completed["status"], "completed");
    assert_eq!(completed["id"], created["id"]);
    assert_eq!(completed["output"][0], events[8].1["item"]);
    assert_eq!(completed["usage"]["output_tokens"], 2);
    assert_eq!(completed["usage"]["total_tokens"], 11);
}

#[tokio::test]
async fn obfuscation_can_be_turned_off() {
    let provider = provider().await;
    let mut body = responses_body();
    body["stream"] = json!(true);
    body["stream_options"] = json!({"include_obfuscation": false});

    let text = post_responses(&provider, &body).await.text().await.unwrap();

    let events = sse_events(&text);
    assert!(
        events
            .iter()
            .all(|(_, event)| event.get("obfuscation").is_none())
    );
}

#[tokio::test]
async fn a_reasoning_summary_streams_word_by_word() {
    let provider = provider().await;
    provider.push(Behaviour {
        thinking: Some("Greet them.".into()),
        ..Behaviour::text("Hello!")
    });
    let mut body = responses_body();
    body["reasoning"] = json!({"summary": "detailed"});
    body["stream"] = json!(true);

    let text = post_responses(&provider, &body).await.text().await.unwrap();

    let events = sse_events(&text);
    assert_eq!(
        event_names(&events)[2..10],
        [
            "response.output_item.added",
            "response.reasoning_summary_part.added",
            "response.reasoning_summary_text.delta",
            "response.reasoning_summary_text.delta",
            "response.reasoning_summary_text.done",
            "response.reasoning_summary_part.done",
            "response.output_item.done",
            "response.output_item.added",
        ]
    );
    assert_eq!(events[2].1["item"]["summary"], json!([]));
    assert_eq!(events[4].1["summary_index"], 0);
    assert_eq!(events[4].1["delta"], "Greet");
    assert_eq!(events[6].1["text"], "Greet them.");
    assert_eq!(
        events[7].1["part"],
        json!({"type": "summary_text", "text": "Greet them."})
    );
}

#[tokio::test]
async fn stream_faults_apply_to_responses_streams() {
    let provider = provider().await;
    let gate = Arc::new(Notify::new());
    provider.push(Behaviour {
        gate: Some(Arc::clone(&gate)),
        ..Behaviour::default()
    });
    provider.push(Behaviour {
        disconnect_after_chunks: Some(3),
        ..Behaviour::default()
    });
    provider.push(Behaviour {
        gate: Some(Arc::new(Notify::new())),
        ..Behaviour::default()
    });
    let mut body = responses_body();
    body["stream"] = json!(true);

    let mut gated = post_responses(&provider, &body).await;
    let mut received = String::new();
    while !received.contains("\"delta\":\"Hello\"") {
        let bytes = gated.chunk().await.unwrap().expect("more events");
        received.push_str(std::str::from_utf8(&bytes).unwrap());
    }
    let held = tokio::time::timeout(Duration::from_millis(200), gated.chunk()).await;
    assert!(held.is_err(), "nothing arrives while the gate is closed");
    gate.notify_one();
    while let Some(bytes) = gated.chunk().await.unwrap() {
        received.push_str(std::str::from_utf8(&bytes).unwrap());
    }
    assert_eq!(
        sse_events(&received).last().unwrap().0,
        "response.completed"
    );

    let mut broken = post_responses(&provider, &body).await;
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
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added"
        ]
    );

    let mut abandoned = post_responses(&provider, &body).await;
    abandoned.chunk().await.unwrap().expect("the first event");
    drop(abandoned);
    let waited = tokio::time::timeout(
        Duration::from_secs(5),
        provider.wait_for_abandoned_streams(1),
    );
    assert!(waited.await.is_ok(), "the dropped stream is counted");
}
