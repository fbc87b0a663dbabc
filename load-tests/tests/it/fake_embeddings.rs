//! The fake provider's embeddings over real sockets: OpenAI's and Azure's `/embeddings` (float
//! and base64 vectors, dimensions, token inputs, usage, strict bodies, keys, scripted errors) and
//! Gemini's `:embedContent` / `:batchEmbedContents` (both spellings, dimensions, the model
//! check), all predicted with [`fake_embedding`].

use serde_json::{Value, json};
use switchboard_load_tests::{
    Behaviour, ErrorReply, FakeOptions, FakeProvider, FakeUsage, fake_embedding,
};

use crate::common::{KEY, gemini_provider, post_gemini, status_and_json};

const MODEL: &str = "text-embedding-3-small";

async fn openai_provider() -> FakeProvider {
    FakeProvider::start_with(FakeOptions {
        api_key: Some(KEY.to_owned()),
        models: vec![MODEL.to_owned()],
    })
    .await
}

async fn post_embeddings(provider: &FakeProvider, body: &Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/embeddings", provider.base_url()))
        .bearer_auth(KEY)
        .json(body)
        .send()
        .await
        .expect("the fake answers");
    status_and_json(response).await
}

/// A JSON array of numbers read back as the `f32`s it was printed from.
fn floats(value: &Value) -> Vec<f32> {
    serde_json::from_value(value.clone()).expect("an array of numbers")
}

/// Standard base64 (padded) to bytes, enough for the fake's vectors.
fn base64_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for byte in text.trim_end_matches('=').bytes() {
        let value = ALPHABET
            .iter()
            .position(|letter| *letter == byte)
            .expect("a base64 letter");
        buffer = (buffer << 6) | u32::try_from(value).expect("under 64");
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((buffer >> bits) & 0xff).expect("one byte"));
        }
    }
    out
}

#[tokio::test]
async fn an_openai_response_has_openais_shape() {
    let provider = openai_provider().await;
    let body = json!({"model": MODEL, "input": "The food was delicious", "user": "u-1"});

    let (status, mut answer) = post_embeddings(&provider, &body).await;

    assert_eq!(status, 200);
    let vector = floats(&answer["data"][0]["embedding"]);
    assert_eq!(vector, fake_embedding("The food was delicious", 8));
    answer["data"][0]["embedding"] = Value::Null;
    assert_eq!(
        answer,
        json!({
            "object": "list",
            "data": [{"object": "embedding", "index": 0, "embedding": null}],
            "model": MODEL,
            "usage": {"prompt_tokens": 4, "total_tokens": 4}
        })
    );
    assert_eq!(provider.requests()[0].path, "/v1/embeddings");
}

#[tokio::test]
async fn base64_vectors_decode_to_the_same_floats() {
    let provider = openai_provider().await;
    let body = json!({"model": MODEL, "input": ["first one", "second"],
                      "encoding_format": "base64", "dimensions": 5});

    let (status, answer) = post_embeddings(&provider, &body).await;

    assert_eq!(status, 200);
    assert_eq!(
        answer["usage"],
        json!({"prompt_tokens": 3, "total_tokens": 3})
    );
    for (index, text) in ["first one", "second"].into_iter().enumerate() {
        let item = &answer["data"][index];
        assert_eq!(item["index"], index);
        let encoded = item["embedding"].as_str().expect("a base64 string");
        let decoded: Vec<f32> = base64_decode(encoded)
            .chunks_exact(4)
            .map(|bytes| f32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
            .collect();
        assert_eq!(decoded, fake_embedding(text, 5));
    }
}

#[tokio::test]
async fn token_inputs_count_tokens_and_dimensions_set_the_length() {
    let provider = openai_provider().await;
    let body = json!({"model": MODEL, "input": [[1, 2, 3], [40]], "dimensions": 256});

    let (status, answer) = post_embeddings(&provider, &body).await;

    assert_eq!(status, 200);
    assert_eq!(answer["usage"]["prompt_tokens"], 4);
    let first = floats(&answer["data"][0]["embedding"]);
    assert_eq!(first.len(), 256);
    assert_eq!(first, fake_embedding("1 2 3", 256));
    let norm: f32 = first.iter().map(|c| c * c).sum();
    assert!((norm - 1.0).abs() < 1e-4, "unit length: {norm}");
    assert_eq!(
        floats(&answer["data"][1]["embedding"]),
        fake_embedding("40", 256)
    );
}

#[tokio::test]
async fn bad_openai_bodies_are_refused() {
    let provider = openai_provider().await;

    let (status, answer) =
        post_embeddings(&provider, &json!({"model": MODEL, "input": "a", "foo": 1})).await;
    assert_eq!(status, 400);
    assert_eq!(
        answer,
        json!({"error": {"message": "Unrecognized request argument supplied: foo",
                         "type": "invalid_request_error", "param": null, "code": null}})
    );
    let (status, answer) =
        post_embeddings(&provider, &json!({"model": MODEL, "input": ["a", ""]})).await;
    assert_eq!(status, 400);
    assert!(
        answer["error"]["message"]
            .as_str()
            .is_some_and(|message| message.starts_with("'$.input' is invalid."))
    );
    let (status, answer) = post_embeddings(
        &provider,
        &json!({"model": MODEL, "input": "a", "dimensions": 0}),
    )
    .await;
    assert_eq!(
        (status, &answer["error"]["param"]),
        (400, &json!("dimensions"))
    );
    let (status, answer) =
        post_embeddings(&provider, &json!({"model": "nope", "input": "a"})).await;
    assert_eq!(
        (status, &answer["error"]["code"]),
        (404, &json!("model_not_found"))
    );
    let unauthenticated = reqwest::Client::new()
        .post(format!("{}/embeddings", provider.base_url()))
        .json(&json!({"model": MODEL, "input": "a"}))
        .send()
        .await
        .expect("the fake answers");
    assert_eq!(unauthenticated.status(), 401);
}

#[tokio::test]
async fn scripted_errors_and_usage_apply_and_refusals_do_not_consume_them() {
    let provider = openai_provider().await;
    provider.push(Behaviour::error(
        ErrorReply::new(429, "rate_limit_error", "Slow down.").with_retry_after(3),
    ));
    provider.push(Behaviour {
        usage: Some(FakeUsage {
            prompt_tokens: 42,
            ..FakeUsage::default()
        }),
        ..Behaviour::default()
    });
    let body = json!({"model": MODEL, "input": "hello"});

    let (refused, _) = post_embeddings(&provider, &json!({"model": MODEL})).await;
    let (limited, error) = post_embeddings(&provider, &body).await;
    let (ok, answer) = post_embeddings(&provider, &body).await;

    assert_eq!((refused, limited, ok), (400, 429, 200));
    assert_eq!(error["error"]["message"], "Slow down.");
    assert_eq!(answer["usage"]["total_tokens"], 42);
}

#[tokio::test]
async fn azure_deployment_urls_serve_embeddings() {
    let provider = FakeProvider::start_with(FakeOptions {
        api_key: Some("azure-key".into()),
        models: vec!["emb".into()],
    })
    .await;
    let url = |query: &str| {
        format!(
            "http://{}/openai/deployments/emb/embeddings{query}",
            provider.addr()
        )
    };
    let client = reqwest::Client::new();
    let send = |url: String, key: &'static str| {
        client
            .post(url)
            .header("api-key", key)
            .json(&json!({"input": "azure text"}))
            .send()
    };

    let ok = send(url("?api-version=2024-10-21"), "azure-key").await;
    let (status, answer) = status_and_json(ok.expect("the fake answers")).await;
    assert_eq!(status, 200);
    assert_eq!(answer["model"], "emb");
    assert_eq!(
        floats(&answer["data"][0]["embedding"]),
        fake_embedding("azure text", 8)
    );
    let no_version = send(url(""), "azure-key").await.expect("the fake answers");
    assert_eq!(no_version.status(), 400);
    let wrong_key = send(url("?api-version=2024-10-21"), "other").await;
    assert_eq!(wrong_key.expect("the fake answers").status(), 401);
}

#[tokio::test]
async fn gemini_batches_in_both_spellings() {
    let provider = gemini_provider().await;
    let body = json!({"requests": [
        {"model": "models/gemini-test", "content": {"parts": [{"text": "What is life?"}]},
         "taskType": "RETRIEVAL_QUERY"},
        {"model": "models/gemini-test", "content": {"role": "user", "parts": [{"text": "Love"}]},
         "output_dimensionality": 3, "task_type": "RETRIEVAL_DOCUMENT", "title": "On love"}
    ]});

    let response = post_gemini(&provider, "batchEmbedContents", &body).await;

    assert_eq!(
        response.headers()["content-type"],
        "application/json; charset=UTF-8"
    );
    let (status, answer) = status_and_json(response).await;
    assert_eq!(status, 200);
    let embeddings = answer["embeddings"].as_array().expect("a list");
    assert_eq!(embeddings.len(), 2);
    assert_eq!(
        floats(&embeddings[0]["values"]),
        fake_embedding("What is life?", 8)
    );
    assert_eq!(floats(&embeddings[1]["values"]), fake_embedding("Love", 3));
    assert_eq!(
        answer.as_object().map(|fields| fields.len()),
        Some(1),
        "no usage"
    );
}

#[tokio::test]
async fn gemini_embeds_one_content() {
    let provider = gemini_provider().await;
    let body = json!({"content": {"parts": [{"text": "Hello "}, {"text": "world"}]},
                      "outputDimensionality": 16});

    let (status, answer) =
        status_and_json(post_gemini(&provider, "embedContent", &body).await).await;

    assert_eq!(status, 200);
    let values = floats(&answer["embedding"]["values"]);
    assert_eq!(values, fake_embedding("Hello world", 16));
    assert_eq!(answer.as_object().map(|fields| fields.len()), Some(1));
}

#[tokio::test]
async fn bad_gemini_bodies_are_refused() {
    let provider = gemini_provider().await;
    let refusal = |body: Value, method: &'static str| {
        let provider = &provider;
        async move { status_and_json(post_gemini(provider, method, &body).await).await }
    };

    let (status, answer) = refusal(
        json!({"requests": [{"model": "models/other", "content": {"parts": [{"text": "a"}]}}]}),
        "batchEmbedContents",
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(answer["error"]["status"], "INVALID_ARGUMENT");
    assert!(answer["error"]["message"].as_str().is_some_and(|message| {
        message.starts_with("* BatchEmbedContentsRequest.requests[0].model: ")
    }));
    let (status, answer) = refusal(
        json!({"content": {"parts": [{"text": "a"}]}, "foo": 1}),
        "embedContent",
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        answer["error"]["message"],
        "Invalid JSON payload received. Unknown name \"foo\": Cannot find field."
    );
    let (status, _) = refusal(
        json!({"content": {"parts": [{"inlineData": {"mimeType": "image/png", "data": "AAAA"}}]}}),
        "embedContent",
    )
    .await;
    assert_eq!(status, 400);
    let (status, _) = refusal(json!({"requests": []}), "batchEmbedContents").await;
    assert_eq!(status, 400);
    let unknown = reqwest::Client::new()
        .post(format!(
            "{}/v1beta/models/other:embedContent",
            provider.gemini_base_url()
        ))
        .header("x-goog-api-key", KEY)
        .json(&json!({"content": {"parts": [{"text": "a"}]}}))
        .send()
        .await
        .expect("the fake answers");
    assert_eq!(unknown.status(), 404);
}

#[tokio::test]
async fn gemini_embeddings_play_scripted_errors() {
    let provider = gemini_provider().await;
    provider.push(Behaviour::error(ErrorReply::new(
        503,
        "server_error",
        "The model is overloaded.",
    )));
    let body = json!({"content": {"parts": [{"text": "a"}]}});

    let (status, answer) =
        status_and_json(post_gemini(&provider, "embedContent", &body).await).await;

    assert_eq!(status, 503);
    assert_eq!(answer["error"]["status"], "UNAVAILABLE");
}
