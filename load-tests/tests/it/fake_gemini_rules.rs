//! What the fake's Gemini API refuses across turns, and the multi-turn requests it accepts: the
//! functionCall/functionResponse round trip, a missing response, the thought-signature round trip
//! (plain and streamed) and a dropped or tampered signature.

use serde_json::{Value, json};
use switchboard_load_tests::{Behaviour, Reply, gemini_thought_signature};

use crate::common::{
    gemini_body, gemini_chunks, gemini_provider, json_of, post_gemini, status_and_json,
};

fn weather_call() -> Behaviour {
    Behaviour {
        reply: Reply::ToolCalls(vec![("get_weather".into(), r#"{"city":"Oslo"}"#.into())]),
        ..Behaviour::default()
    }
}

fn with_tools() -> Value {
    let mut body = gemini_body();
    body["tools"] = json!([{"functionDeclarations": [{"name": "get_weather",
        "description": "Current weather",
        "parametersJsonSchema": {"type": "object", "properties": {"city": {"type": "string"}},
                                 "required": ["city"]}}]}]);
    body
}

/// `body` continued with the model turn `model_parts` and a user turn answering get_weather.
fn answered(body: &Value, model_parts: &Value) -> Value {
    let mut next = body.clone();
    next["contents"] = json!([
        body["contents"][0],
        {"role": "model", "parts": model_parts},
        {"role": "user", "parts": [{"functionResponse": {"name": "get_weather",
                                                        "response": {"output": "Sunny, 21°C"}}}]}
    ]);
    next
}

fn error_message(error: &Value) -> &str {
    error["error"]["message"].as_str().unwrap()
}

#[tokio::test]
async fn function_call_round_trip_and_a_missing_response() {
    let provider = gemini_provider().await;
    provider.push(weather_call());
    let body = with_tools();

    let first = json_of(post_gemini(&provider, "generateContent", &body).await).await;

    let candidate = &first["candidates"][0];
    assert_eq!(
        candidate["finishReason"], "STOP",
        "Gemini has no tool-call finish reason"
    );
    let parts = &candidate["content"]["parts"];
    assert_eq!(
        parts,
        &json!([{"functionCall": {"name": "get_weather", "args": {"city": "Oslo"}}}]),
        "no id and no signature without thinking"
    );
    let second = post_gemini(&provider, "generateContent", &answered(&body, parts)).await;
    assert_eq!(second.status(), 200);

    let mut unanswered = answered(&body, parts);
    unanswered["contents"][2]["parts"] = json!([{"text": "What now?"}]);
    let (status, error) =
        status_and_json(post_gemini(&provider, "generateContent", &unanswered).await).await;
    assert_eq!(status, 400);
    assert_eq!(error["error"]["status"], "INVALID_ARGUMENT");
    assert_eq!(
        error_message(&error),
        "Please ensure that the number of function response parts is equal to the number of function call parts of the function call turn."
    );

    let mut misnamed = answered(&body, parts);
    misnamed["contents"][2]["parts"][0]["functionResponse"]["name"] = json!("get_time");
    let (status, error) =
        status_and_json(post_gemini(&provider, "generateContent", &misnamed).await).await;
    assert_eq!(status, 400);
    assert!(error_message(&error).contains("no function response with name `get_weather`"));
}

#[tokio::test]
async fn thought_signature_round_trip_and_a_dropped_or_tampered_one() {
    let provider = gemini_provider().await;
    let thought = "The user wants the weather, so I call the tool.";
    provider.push(Behaviour {
        thinking: Some(thought.to_owned()),
        ..weather_call()
    });
    let mut body = with_tools();
    body["generationConfig"] = json!({"thinkingConfig": {"includeThoughts": true}});

    let first = json_of(post_gemini(&provider, "generateContent", &body).await).await;

    let parts = &first["candidates"][0]["content"]["parts"];
    let signature = gemini_thought_signature("get_weather", &json!({"city": "Oslo"}));
    assert_eq!(
        parts,
        &json!([{"text": thought, "thought": true},
                {"functionCall": {"name": "get_weather", "args": {"city": "Oslo"}},
                 "thoughtSignature": signature}])
    );
    assert_eq!(first["usageMetadata"]["thoughtsTokenCount"], 10);
    let echoed = post_gemini(&provider, "generateContent", &answered(&body, parts)).await;
    assert_eq!(echoed.status(), 200);
    let reordered = json!([{"functionCall": {"args": {"city": "Oslo"}, "name": "get_weather"},
                            "thought_signature": signature}]);
    let snake = post_gemini(&provider, "generateContent", &answered(&body, &reordered)).await;
    assert_eq!(
        snake.status(),
        200,
        "key order and spelling do not matter, the value does"
    );

    let dropped = json!([{"functionCall": {"name": "get_weather", "args": {"city": "Oslo"}}}]);
    let (status, error) = status_and_json(
        post_gemini(&provider, "generateContent", &answered(&body, &dropped)).await,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        error_message(&error),
        "Function call is missing a thought_signature in functionCall parts. This is required for tools to work correctly, and missing thought_signature may lead to degraded model performance. Additional data, function call `default_api:get_weather` , position 2. Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more details."
    );

    let mut tampered = parts.clone();
    tampered[1]["functionCall"]["args"] = json!({"city": "Bergen"});
    let mut next = answered(&body, &tampered);
    next["contents"][2]["parts"][0]["functionResponse"]["response"] = json!({"output": "Rain"});
    let (status, error) =
        status_and_json(post_gemini(&provider, "generateContent", &next).await).await;
    assert_eq!(status, 400);
    assert_eq!(error_message(&error), "Invalid thought signature.");
    assert_eq!(
        error["error"]["details"][0]["fieldViolations"][0]["field"],
        "contents[1].parts[1].thought_signature"
    );
}

#[tokio::test]
async fn a_streamed_call_is_signed_when_the_request_thinks() {
    let provider = gemini_provider().await;
    provider.push(weather_call());
    let mut body = with_tools();
    body["generationConfig"] = json!({"thinkingConfig": {"thinkingBudget": 1024}});

    let response = post_gemini(&provider, "streamGenerateContent?alt=sse", &body).await;

    let chunks = gemini_chunks(&response.text().await.unwrap());
    assert_eq!(
        chunks.len(),
        1,
        "function calls arrive whole, no thought summary was asked for"
    );
    let candidate = &chunks[0]["candidates"][0];
    assert_eq!(candidate["finishReason"], "STOP");
    let parts = &candidate["content"]["parts"];
    assert_eq!(
        parts[0]["thoughtSignature"],
        gemini_thought_signature("get_weather", &json!({"city": "Oslo"}))
    );
    assert_eq!(chunks[0]["usageMetadata"]["thoughtsTokenCount"], 5);
    let echoed = post_gemini(&provider, "generateContent", &answered(&body, parts)).await;
    assert_eq!(echoed.status(), 200);
    let unsigned = json!([{"functionCall": {"name": "get_weather", "args": {"city": "Oslo"}}}]);
    let refused = post_gemini(&provider, "generateContent", &answered(&body, &unsigned)).await;
    assert_eq!(refused.status(), 400);
}
