//! The fake provider's Gemini API over real sockets: the response and stream shapes in both
//! request spellings, usage, keys by header and by query, scripted errors, stream faults,
//! countTokens and the model list.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use switchboard_load_tests::{Behaviour, ErrorReply, FakeUsage};
use tokio::sync::Notify;

use crate::common::{
    KEY, gemini_body, gemini_chunks, gemini_provider, gemini_request, json_of, post_gemini,
    status_and_json,
};

#[tokio::test]
async fn a_response_has_geminis_shape() {
    let provider = gemini_provider().await;

    let response = post_gemini(&provider, "generateContent", &gemini_body()).await;

    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/json; charset=UTF-8"
    );
    assert_eq!(
        json_of(response).await,
        json!({
            "candidates": [{"content": {"parts": [{"text": "Hello from the fake provider."}],
                                        "role": "model"},
                            "finishReason": "STOP", "index": 0}],
            "usageMetadata": {"promptTokenCount": 9, "candidatesTokenCount": 5,
                              "totalTokenCount": 14,
                              "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 9}]},
            "modelVersion": "gemini-test",
            "responseId": "fake-gemini-response-1"
        })
    );
    let recorded = provider.requests();
    assert_eq!(
        recorded[0].path,
        "/v1beta/models/gemini-test:generateContent"
    );
    assert_eq!(recorded[0].header("x-goog-api-key"), Some(KEY));
    assert_eq!(recorded[0].body, gemini_body());
}

#[tokio::test]
async fn snake_case_requests_and_the_v1_path_are_accepted() {
    let provider = gemini_provider().await;
    let body = json!({
        "system_instruction": {"parts": [{"text": "You are terse."}]},
        "contents": [{"role": "user", "parts": [{"text": "Say hello to me"}]}],
        "generation_config": {"max_output_tokens": 2, "stop_sequences": ["END"],
                              "thinking_config": {"thinking_budget": 0}},
        "safety_settings": [{"category": "HARM_CATEGORY_HATE_SPEECH", "threshold": "BLOCK_NONE"}]
    });

    let response = reqwest::Client::new()
        .post(format!(
            "{}/v1/models/gemini-test:generateContent?key={KEY}",
            provider.gemini_base_url()
        ))
        .json(&body)
        .send()
        .await
        .unwrap();

    let (status, answer) = status_and_json(response).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["candidates"][0]["finishReason"], "MAX_TOKENS");
    assert_eq!(
        answer["candidates"][0]["content"]["parts"],
        json!([{"text": "Hello from"}])
    );
    assert_eq!(answer["usageMetadata"]["candidatesTokenCount"], 2);
    assert_eq!(answer["usageMetadata"]["promptTokenCount"], 9);
}

#[tokio::test]
async fn a_stream_is_data_lines_with_crlf_and_finishes_on_the_last_chunk() {
    let provider = gemini_provider().await;
    provider.push(Behaviour {
        usage: Some(FakeUsage {
            prompt_tokens: 100,
            completion_tokens: 50,
            cached_tokens: 60,
            reasoning_tokens: 30,
        }),
        ..Behaviour::default()
    });

    let response = post_gemini(&provider, "streamGenerateContent?alt=sse", &gemini_body()).await;

    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let text = response.text().await.unwrap();
    assert!(!text.contains("[DONE]") && !text.contains("event:"));
    let chunks = gemini_chunks(&text);
    assert!(chunks.len() >= 2, "text arrives in several chunks");
    let (last, earlier) = chunks.split_last().unwrap();
    for chunk in earlier {
        let candidate = &chunk["candidates"][0];
        assert!(candidate.get("finishReason").is_none());
        assert_eq!(candidate["content"]["role"], "model");
        assert_eq!(chunk["usageMetadata"], json!({"promptTokenCount": 100}));
        assert_eq!(chunk["modelVersion"], "gemini-test");
        assert_eq!(chunk["responseId"], last["responseId"]);
    }
    let text: String = chunks
        .iter()
        .map(|chunk| {
            chunk["candidates"][0]["content"]["parts"][0]["text"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(text, "Hello from the fake provider.");
    assert_eq!(last["candidates"][0]["finishReason"], "STOP");
    assert_eq!(
        last["usageMetadata"],
        json!({"promptTokenCount": 100, "candidatesTokenCount": 20, "totalTokenCount": 150,
               "cachedContentTokenCount": 60, "thoughtsTokenCount": 30,
               "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 100}]})
    );
}

#[tokio::test]
async fn streaming_needs_alt_sse() {
    let provider = gemini_provider().await;

    let response = post_gemini(&provider, "streamGenerateContent", &gemini_body()).await;

    let (status, error) = status_and_json(response).await;
    assert_eq!(status, 400);
    assert_eq!(error["error"]["status"], "INVALID_ARGUMENT");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("this fake only streams with alt=sse")
    );
}

#[tokio::test]
async fn keys_by_header_and_by_query_and_their_errors() {
    let provider = gemini_provider().await;
    let send = |request: reqwest::RequestBuilder| async move {
        status_and_json(request.json(&gemini_body()).send().await.unwrap()).await
    };

    let by_header =
        send(gemini_request(&provider, "generateContent").header("x-goog-api-key", KEY));
    assert_eq!(by_header.await.0, 200);
    let by_query = send(gemini_request(
        &provider,
        &format!("generateContent?key={KEY}"),
    ));
    assert_eq!(by_query.await.0, 200);

    let (status, wrong) = send(gemini_request(&provider, "generateContent?key=wrong")).await;
    assert_eq!(status, 400);
    assert_eq!(
        wrong,
        json!({"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.",
            "status": "INVALID_ARGUMENT", "details": [
                {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
                 "domain": "googleapis.com",
                 "metadata": {"service": "generativelanguage.googleapis.com"}},
                {"@type": "type.googleapis.com/google.rpc.LocalizedMessage", "locale": "en-US",
                 "message": "API key not valid. Please pass a valid API key."}]}})
    );
    let (status, missing) = send(gemini_request(&provider, "generateContent")).await;
    assert_eq!(status, 403);
    assert_eq!(missing["error"]["status"], "PERMISSION_DENIED");
    let bearer = gemini_request(&provider, "generateContent").bearer_auth(KEY);
    assert_eq!(
        send(bearer).await.0,
        403,
        "Gemini does not read bearer keys"
    );
}

#[tokio::test]
async fn scripted_errors_and_unknown_models_speak_gemini() {
    let provider = gemini_provider().await;
    provider.push(Behaviour::error(
        ErrorReply::new(
            429,
            "rate_limit_error",
            "Resource has been exhausted (e.g. check quota).",
        )
        .with_retry_after(7),
    ));
    provider.push(Behaviour::error(ErrorReply::new(
        503,
        "overloaded",
        "The model is overloaded. Please try again later.",
    )));

    let limited = post_gemini(&provider, "generateContent", &gemini_body()).await;
    assert_eq!(limited.headers()["retry-after"], "7");
    let (status, error) = status_and_json(limited).await;
    assert_eq!(status, 429);
    assert_eq!(
        error,
        json!({"error": {"code": 429, "message": "Resource has been exhausted (e.g. check quota).",
            "status": "RESOURCE_EXHAUSTED", "details": [
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "7s"}]}})
    );
    let (status, error) = status_and_json(
        post_gemini(&provider, "streamGenerateContent?alt=sse", &gemini_body()).await,
    )
    .await;
    assert_eq!(status, 503);
    assert_eq!(error["error"]["status"], "UNAVAILABLE");

    let other = reqwest::Client::new()
        .post(format!(
            "{}/v1beta/models/gemini-other:generateContent",
            provider.gemini_base_url()
        ))
        .header("x-goog-api-key", KEY)
        .json(&gemini_body())
        .send()
        .await
        .unwrap();
    let (status, error) = status_and_json(other).await;
    assert_eq!(status, 404);
    assert_eq!(
        error["error"],
        json!({"code": 404, "status": "NOT_FOUND", "message": "models/gemini-other is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods."})
    );
}

#[tokio::test]
async fn count_tokens_and_the_model_list_do_not_use_the_script() {
    let provider = gemini_provider().await;
    provider.push(Behaviour::error(ErrorReply::new(
        503,
        "UNAVAILABLE",
        "Overloaded",
    )));

    let contents_only = json!({"contents": gemini_body()["contents"]});
    let count = post_gemini(&provider, "countTokens", &contents_only).await;
    let (status, count) = status_and_json(count).await;
    assert_eq!(status, 200);
    assert_eq!(count["totalTokens"], 5);
    let nested = json!({"generateContentRequest":
        {"model": "models/gemini-test", "systemInstruction": gemini_body()["systemInstruction"],
         "contents": gemini_body()["contents"]}});
    let (_, count) = status_and_json(post_gemini(&provider, "countTokens", &nested).await).await;
    assert_eq!(count["totalTokens"], 9);

    let list = reqwest::Client::new()
        .get(format!("{}/v1beta/models", provider.gemini_base_url()))
        .header("x-goog-api-key", KEY)
        .send()
        .await
        .unwrap();
    let models = json_of(list).await;
    assert_eq!(models["models"][0]["name"], "models/gemini-test");
    assert_eq!(
        models["models"][0]["supportedGenerationMethods"],
        json!(["generateContent", "countTokens"])
    );
    let scripted = post_gemini(&provider, "generateContent", &gemini_body()).await;
    assert_eq!(scripted.status(), 503, "the pushed error is still queued");
}

#[tokio::test]
async fn stream_faults_apply_to_gemini_streams() {
    let provider = gemini_provider().await;
    let gate = Arc::new(Notify::new());
    provider.push(Behaviour {
        gate: Some(Arc::clone(&gate)),
        ..Behaviour::default()
    });
    provider.push(Behaviour {
        disconnect_after_chunks: Some(2),
        ..Behaviour::default()
    });
    provider.push(Behaviour {
        gate: Some(Arc::new(Notify::new())),
        ..Behaviour::default()
    });
    let stream = "streamGenerateContent?alt=sse";

    let mut gated = post_gemini(&provider, stream, &gemini_body()).await;
    let mut received = String::new();
    while !received.contains("\"text\":\"Hello\"") {
        let bytes = gated.chunk().await.unwrap().expect("more chunks");
        received.push_str(std::str::from_utf8(&bytes).unwrap());
    }
    let held = tokio::time::timeout(Duration::from_millis(200), gated.chunk()).await;
    assert!(held.is_err(), "nothing arrives while the gate is closed");
    gate.notify_one();
    while let Some(bytes) = gated.chunk().await.unwrap() {
        received.push_str(std::str::from_utf8(&bytes).unwrap());
    }
    let last = gemini_chunks(&received).pop().unwrap();
    assert_eq!(last["candidates"][0]["finishReason"], "STOP");

    let mut broken = post_gemini(&provider, stream, &gemini_body()).await;
    let mut received = Vec::new();
    let error = loop {
        match broken.chunk().await {
            Ok(Some(bytes)) => received.extend_from_slice(&bytes),
            Ok(None) => panic!("the body ended cleanly"),
            Err(error) => break error,
        }
    };
    assert!(error.is_body() || error.is_decode(), "{error:?}");
    assert_eq!(
        gemini_chunks(std::str::from_utf8(&received).unwrap()).len(),
        2
    );

    let mut abandoned = post_gemini(&provider, stream, &gemini_body()).await;
    abandoned.chunk().await.unwrap().expect("the first chunk");
    drop(abandoned);
    let waited = tokio::time::timeout(
        Duration::from_secs(5),
        provider.wait_for_abandoned_streams(1),
    );
    assert!(waited.await.is_ok(), "the dropped stream is counted");
}

#[tokio::test]
async fn unknown_fields_are_refused_with_a_field_violation() {
    let provider = gemini_provider().await;
    provider.push(Behaviour::text("Pushed."));
    let mut body = gemini_body();
    body["contents"][0]["parts"][0]["cache_control"] = json!({"type": "ephemeral"});

    let (status, error) =
        status_and_json(post_gemini(&provider, "generateContent", &body).await).await;

    let message = "Invalid JSON payload received. Unknown name \"cache_control\" at 'contents[0].parts[0]': Cannot find field.";
    assert_eq!(status, 400);
    assert_eq!(
        error,
        json!({"error": {"code": 400, "message": message, "status": "INVALID_ARGUMENT",
            "details": [{"@type": "type.googleapis.com/google.rpc.BadRequest",
                         "fieldViolations": [{"field": "contents[0].parts[0]",
                                              "description": message}]}]}})
    );
    let next = json_of(post_gemini(&provider, "generateContent", &gemini_body()).await).await;
    assert_eq!(
        next["candidates"][0]["content"]["parts"][0]["text"], "Pushed.",
        "the refused request did not consume the pushed behaviour"
    );
}
