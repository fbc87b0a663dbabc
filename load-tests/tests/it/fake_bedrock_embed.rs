//! The fake Bedrock's `InvokeModel` for embedding models over real sockets, every request signed
//! by `aws-sigv4`: Titan text embeddings and Cohere Embed shapes (vectors predicted with
//! [`fake_embedding`]), Titan's dimensions and token-count header, validation and model refusals,
//! scripted errors and signature failures.

use serde_json::{Value, json};
use switchboard_load_tests::{
    Behaviour, ErrorReply, FakeOptions, FakeProvider, FakeUsage, fake_embedding,
};

use crate::common::{BedrockSigner, json_of, post_signed};

const TITAN: &str = "amazon.titan-embed-text-v2:0";
const COHERE: &str = "cohere.embed-english-v3";

/// `{base}/model/{model, with ':' percent-encoded}/invoke`.
fn invoke_url(provider: &FakeProvider, model: &str) -> String {
    let model = model.replace(':', "%3A");
    format!("{}/model/{model}/invoke", provider.bedrock_base_url())
}

/// POSTs `body` to `model`'s `/invoke`, correctly signed.
async fn invoke(provider: &FakeProvider, model: &str, body: &Value) -> reqwest::Response {
    let bytes = serde_json::to_vec(body).unwrap();
    let url = invoke_url(provider, model);
    post_signed(&url, &bytes, &bytes, &BedrockSigner::default()).await
}

/// The exception name from `x-amzn-errortype`.
fn error_name(response: &reqwest::Response) -> String {
    let header = response.headers().get("x-amzn-errortype");
    let value = header.map(|value| value.to_str().unwrap().to_owned());
    let value = value.unwrap_or_default();
    value.split(':').next().unwrap_or_default().to_owned()
}

/// A JSON array of numbers read back as the `f32`s it was printed from.
fn floats(value: &Value) -> Vec<f32> {
    serde_json::from_value(value.clone()).expect("an array of numbers")
}

#[tokio::test]
async fn titan_answers_its_shape_with_the_token_count_header() {
    let provider = FakeProvider::start().await;

    let body = json!({"inputText": "The food was delicious"});
    let response = invoke(&provider, TITAN, &body).await;

    assert_eq!(response.status(), 200);
    let headers = response.headers();
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(headers["x-amzn-bedrock-input-token-count"], "4");
    assert_eq!(headers["x-amzn-bedrock-invocation-latency"], "0");
    assert_eq!(
        headers["x-amzn-requestid"],
        "00000000-0000-4000-8000-000000000001"
    );
    let json = json_of(response).await;
    let fields: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    assert_eq!(fields, ["embedding", "inputTextTokenCount"]);
    assert_eq!(json["inputTextTokenCount"], 4);
    assert_eq!(
        floats(&json["embedding"]),
        fake_embedding("The food was delicious", 1024)
    );
    let recorded = provider.requests();
    assert_eq!(
        recorded[0].path,
        "/model/amazon.titan-embed-text-v2%3A0/invoke"
    );
    assert_eq!(recorded[0].body, body);
}

#[tokio::test]
async fn titan_dimensions_and_embedding_types() {
    let provider = FakeProvider::start().await;

    for dimensions in [256, 512, 1024] {
        let body = json!({"inputText": "hello", "dimensions": dimensions, "normalize": true,
                          "embeddingTypes": ["float", "binary"]});
        let json = json_of(invoke(&provider, TITAN, &body).await).await;
        let expected = fake_embedding("hello", dimensions);
        assert_eq!(floats(&json["embedding"]), expected);
        assert_eq!(floats(&json["embeddingsByType"]["float"]), expected);
        let bits: Vec<u8> = serde_json::from_value(json["embeddingsByType"]["binary"].clone())
            .expect("an array of bits");
        let signs: Vec<u8> = expected.iter().map(|c| u8::from(*c > 0.0)).collect();
        assert_eq!(bits, signs);
    }

    let refused = invoke(
        &provider,
        TITAN,
        &json!({"inputText": "a", "dimensions": 384}),
    )
    .await;
    assert_eq!(refused.status(), 400);
    assert!(
        json_of(refused).await["message"]
            .as_str()
            .unwrap()
            .contains("dimensions: 384 is not a valid enum value")
    );
}

#[tokio::test]
async fn cohere_answers_its_shape() {
    let provider = FakeProvider::start().await;

    let texts = ["first text", "the second one"];
    let body = json!({"texts": texts, "input_type": "search_document", "truncate": "END"});
    let response = invoke(&provider, COHERE, &body).await;

    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-amzn-bedrock-input-token-count"], "5");
    let json = json_of(response).await;
    assert_eq!(json["response_type"], "embeddings_floats");
    assert_eq!(json["texts"], json!(texts));
    assert_eq!(json["id"], "00000000-0000-4000-a000-000000000001");
    let embeddings = json["embeddings"].as_array().unwrap();
    assert_eq!(embeddings.len(), 2);
    for (embedding, text) in embeddings.iter().zip(texts) {
        assert_eq!(floats(embedding), fake_embedding(text, 1024));
    }

    let typed = json!({"texts": ["x"], "input_type": "search_query",
                       "embedding_types": ["float", "int8"]});
    let json = json_of(invoke(&provider, COHERE, &typed).await).await;
    assert_eq!(json["response_type"], "embeddings_by_type");
    let expected = fake_embedding("x", 1024);
    assert_eq!(floats(&json["embeddings"]["float"][0]), expected);
    let int8: Vec<i64> = serde_json::from_value(json["embeddings"]["int8"][0].clone()).unwrap();
    assert_eq!(int8.len(), 1024);
    assert_eq!(int8[0], (expected[0] * 127.0).round() as i64);
}

#[tokio::test]
async fn bad_bodies_are_validation_exceptions_and_use_no_behaviour() {
    let provider = FakeProvider::start().await;
    provider.push(Behaviour::error(ErrorReply::new(429, "x", "queued")));

    let cases = [
        (
            TITAN,
            json!({"inputText": "a", "texts": ["a"]}),
            "Malformed input request: #: extraneous key [texts] is not permitted, please reformat your input and try again.",
        ),
        (
            TITAN,
            json!({"inputText": ""}),
            "Malformed input request: inputText: expected minLength: 1, actual: 0, please reformat your input and try again.",
        ),
        (
            COHERE,
            json!({"texts": ["a"], "input_type": "clustering", "model": "m"}),
            "Malformed input request: #: extraneous key [model] is not permitted, please reformat your input and try again.",
        ),
        (
            COHERE,
            json!({"texts": ["a"]}),
            "Malformed input request: #: required key [input_type] not found, please reformat your input and try again.",
        ),
        (
            COHERE,
            json!({"texts": vec!["a"; 97], "input_type": "clustering"}),
            "Malformed input request: texts: expected maxItems: 96, actual: 97, please reformat your input and try again.",
        ),
    ];
    for (model, body, message) in cases {
        let response = invoke(&provider, model, &body).await;
        assert_eq!(response.status(), 400, "{body}");
        assert_eq!(error_name(&response), "ValidationException");
        assert_eq!(json_of(response).await["message"], message);
    }

    let scripted = invoke(&provider, TITAN, &json!({"inputText": "a"})).await;
    assert_eq!(
        scripted.status(),
        429,
        "the refused requests used no behaviour"
    );
    assert_eq!(error_name(&scripted), "ThrottlingException");
}

#[tokio::test]
async fn other_models_are_refused() {
    let provider = FakeProvider::start().await;

    for model in [
        "anthropic.claude-3-5-sonnet-20240620-v1:0",
        "amazon.titan-text-express-v1",
    ] {
        let response = invoke(&provider, model, &json!({"inputText": "a"})).await;
        assert_eq!(response.status(), 400);
        assert_eq!(error_name(&response), "ValidationException");
        assert_eq!(
            json_of(response).await["message"],
            "The provided model identifier is invalid."
        );
    }

    let listed = FakeProvider::start_with(FakeOptions {
        api_key: None,
        models: vec![COHERE.to_owned()],
    })
    .await;
    let cohere = json!({"texts": ["a"], "input_type": "clustering"});
    assert_eq!(invoke(&listed, COHERE, &cohere).await.status(), 200);
    let titan = invoke(&listed, TITAN, &json!({"inputText": "a"})).await;
    assert_eq!(titan.status(), 400, "not in the configured list");
}

#[tokio::test]
async fn scripted_usage_and_errors() {
    let provider = FakeProvider::start().await;
    provider.push(Behaviour {
        usage: Some(FakeUsage {
            prompt_tokens: 42,
            ..FakeUsage::default()
        }),
        ..Behaviour::default()
    });
    provider.push(Behaviour::error(ErrorReply::new(
        503,
        "overloaded",
        "Try later",
    )));

    let counted = invoke(&provider, TITAN, &json!({"inputText": "a b"})).await;
    assert_eq!(counted.headers()["x-amzn-bedrock-input-token-count"], "42");
    assert_eq!(json_of(counted).await["inputTextTokenCount"], 42);

    let failed = invoke(&provider, TITAN, &json!({"inputText": "a b"})).await;
    assert_eq!(failed.status(), 503);
    assert_eq!(error_name(&failed), "ServiceUnavailableException");
    assert_eq!(json_of(failed).await, json!({"message": "Try later"}));
}

#[tokio::test]
async fn a_bad_signature_is_refused_before_validation() {
    let provider = FakeProvider::start().await;
    let url = invoke_url(&provider, TITAN);
    let signed = serde_json::to_vec(&json!({"inputText": "a"})).unwrap();
    let sent = serde_json::to_vec(&json!({"inputText": "b"})).unwrap();

    let tampered = post_signed(&url, &signed, &sent, &BedrockSigner::default()).await;
    assert_eq!(tampered.status(), 403);
    assert_eq!(error_name(&tampered), "InvalidSignatureException");

    let wrong_secret = BedrockSigner {
        secret_access_key: "not-the-secret".into(),
        ..BedrockSigner::default()
    };
    let invalid = serde_json::to_vec(&json!({"unknown": 1})).unwrap();
    let refused = post_signed(&url, &invalid, &invalid, &wrong_secret).await;
    assert_eq!(
        refused.status(),
        403,
        "the signature is checked before the body"
    );
    assert_eq!(error_name(&refused), "InvalidSignatureException");

    let unsigned = reqwest::Client::new()
        .post(&url)
        .body(signed)
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 403);
    assert_eq!(error_name(&unsigned), "AccessDeniedException");
}
