//! Stop sequences in all four chat protocols, over real sockets: the scripted text ends just
//! before the earliest stop sequence (which is not sent), each protocol reports it its own way,
//! streams agree with the whole answers, and a max-tokens cut still wins.

use serde_json::{Value, json};
use switchboard_load_tests::{Behaviour, FakeProvider};

use crate::common::{
    bedrock_events, chat_body, converse_body, gemini_body, gemini_chunks, json_of, messages_body,
    post_bedrock, post_chat, post_gemini, post_messages, sse_data, sse_events,
};

const SCRIPT: &str = "Alpha beta. END gamma STOP delta";

async fn scripted() -> FakeProvider {
    let provider = FakeProvider::start().await;
    provider.set_default(Behaviour::text(SCRIPT));
    provider
}

#[tokio::test]
async fn openai_chat_stops_before_the_earliest_sequence() {
    let provider = scripted().await;
    let mut body = chat_body();
    body["stop"] = json!(["STOP", "END"]);

    let answer = json_of(post_chat(&provider, &body).await).await;

    assert_eq!(answer["choices"][0]["message"]["content"], "Alpha beta. ");
    assert_eq!(answer["choices"][0]["finish_reason"], "stop");
    assert_eq!(answer["usage"]["completion_tokens"], 2);

    body["stop"] = json!("gamma");
    body["stream"] = json!(true);
    let text = post_chat(&provider, &body).await.text().await.unwrap();
    let chunks: Vec<Value> = sse_data(&text)
        .iter()
        .filter(|data| *data != "[DONE]")
        .map(|data| serde_json::from_str(data).unwrap())
        .collect();
    let streamed: String = chunks
        .iter()
        .filter_map(|chunk| chunk["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(streamed, "Alpha beta. END ");
    let last = chunks.last().unwrap();
    assert_eq!(last["choices"][0]["finish_reason"], "stop");
}

#[tokio::test]
async fn anthropic_reports_the_matched_sequence() {
    let provider = scripted().await;
    let mut body = messages_body();
    body["stop_sequences"] = json!(["STOP", "END"]);

    let answer = json_of(post_messages(&provider, &body).await).await;

    assert_eq!(
        answer["content"],
        json!([{"type": "text", "text": "Alpha beta. "}])
    );
    assert_eq!(answer["stop_reason"], "stop_sequence");
    assert_eq!(answer["stop_sequence"], "END");
    assert_eq!(answer["usage"]["output_tokens"], 2);

    body["stream"] = json!(true);
    let text = post_messages(&provider, &body).await.text().await.unwrap();
    let events = sse_events(&text);
    assert_eq!(events[0].1["message"]["stop_sequence"], Value::Null);
    let streamed: String = events
        .iter()
        .filter_map(|(_, event)| event["delta"]["text"].as_str())
        .collect();
    assert_eq!(streamed, "Alpha beta. ");
    let (name, delta) = &events[events.len() - 2];
    assert_eq!(name, "message_delta");
    assert_eq!(
        delta["delta"],
        json!({"stop_reason": "stop_sequence", "stop_sequence": "END"})
    );
}

#[tokio::test]
async fn anthropic_max_tokens_wins_over_a_later_stop_sequence() {
    let provider = scripted().await;
    let mut body = messages_body();
    body["stop_sequences"] = json!(["STOP"]);
    body["max_tokens"] = json!(2);

    let answer = json_of(post_messages(&provider, &body).await).await;

    assert_eq!(answer["content"][0]["text"], "Alpha beta.");
    assert_eq!(answer["stop_reason"], "max_tokens");
    assert_eq!(answer["stop_sequence"], Value::Null);

    body["stop_sequences"] = json!(["nowhere"]);
    body["max_tokens"] = json!(1024);
    let plain = json_of(post_messages(&provider, &body).await).await;
    assert_eq!(plain["stop_reason"], "end_turn");
    assert_eq!(plain["stop_sequence"], Value::Null);
    assert_eq!(plain["content"][0]["text"], SCRIPT);
}

#[tokio::test]
async fn gemini_stops_with_stop_in_both_spellings() {
    let provider = scripted().await;
    let mut body = gemini_body();
    body["generationConfig"] = json!({"stopSequences": ["STOP", "END"]});

    let answer = json_of(post_gemini(&provider, "generateContent", &body).await).await;

    let candidate = &answer["candidates"][0];
    assert_eq!(
        candidate["content"]["parts"],
        json!([{"text": "Alpha beta. "}])
    );
    assert_eq!(candidate["finishReason"], "STOP");
    assert_eq!(answer["usageMetadata"]["candidatesTokenCount"], 2);

    let mut snake = gemini_body();
    snake["generation_config"] = json!({"stop_sequences": ["gamma"]});
    let response = post_gemini(&provider, "streamGenerateContent?alt=sse", &snake).await;
    let chunks = gemini_chunks(&response.text().await.unwrap());
    let streamed: String = chunks
        .iter()
        .filter_map(|chunk| chunk["candidates"][0]["content"]["parts"][0]["text"].as_str())
        .collect();
    assert_eq!(streamed, "Alpha beta. END ");
    assert_eq!(
        chunks.last().unwrap()["candidates"][0]["finishReason"],
        "STOP"
    );
}

#[tokio::test]
async fn bedrock_stops_with_stop_sequence_and_reports_it_when_asked() {
    let provider = scripted().await;
    let mut body = converse_body();
    body["inferenceConfig"]["stopSequences"] = json!(["STOP", "END"]);

    let plain = json_of(post_bedrock(&provider, "converse", &body).await).await;

    assert_eq!(
        plain["output"]["message"]["content"],
        json!([{"text": "Alpha beta. "}])
    );
    assert_eq!(plain["stopReason"], "stop_sequence");
    assert!(plain.get("additionalModelResponseFields").is_none());

    body["additionalModelResponseFieldPaths"] = json!(["/stop_sequence"]);
    let asked = json_of(post_bedrock(&provider, "converse", &body).await).await;
    assert_eq!(
        asked["additionalModelResponseFields"],
        json!({"stop_sequence": "END"})
    );

    let response = post_bedrock(&provider, "converse-stream", &body).await;
    let events = bedrock_events(&response.bytes().await.unwrap());
    let (name, stop) = &events[events.len() - 2];
    assert_eq!(name, "messageStop");
    assert_eq!(stop["stopReason"], "stop_sequence");
    assert_eq!(
        stop["additionalModelResponseFields"],
        json!({"stop_sequence": "END"})
    );
}

#[tokio::test]
async fn bedrock_max_tokens_wins_and_leaves_the_field_null() {
    let provider = scripted().await;
    let mut body = converse_body();
    body["inferenceConfig"] = json!({"maxTokens": 1, "stopSequences": ["END"]});
    body["additionalModelResponseFieldPaths"] = json!(["/stop_sequence"]);

    let answer = json_of(post_bedrock(&provider, "converse", &body).await).await;

    assert_eq!(
        answer["output"]["message"]["content"],
        json!([{"text": "Alpha"}])
    );
    assert_eq!(answer["stopReason"], "max_tokens");
    assert_eq!(
        answer["additionalModelResponseFields"],
        json!({"stop_sequence": null})
    );
}
