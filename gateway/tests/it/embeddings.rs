//! Embeddings through the gateway to OpenAI-compatible and Gemini upstreams: the vectors the
//! upstream computed reach the client unchanged, as floats or as the SDKs' default base64.

use base64::Engine;
use serde_json::{Value, json};
use switchboard_load_tests::{FakeProvider, fake_embedding};

use crate::common::{Gateway, KEY, post};

fn gateway(provider: &str, base_url: String) -> Gateway {
    Gateway::start(&format!(
        r#"
channels:
  - name: embedder
    provider: {provider}
    base_url: {base_url}
    api_key: upstream-key
    models: [{{name: embed, upstream: text-embedder}}]
roles: [{{name: all, models: ["*"]}}]
api_keys: [{{name: tester, key: {KEY}, role: all}}]
"#
    ))
}

async fn embed(gateway: &Gateway, body: Value) -> Value {
    let response = post(gateway, "/v1/embeddings", &body).await;
    let status = response.status();
    let body: Value = response.json().await.expect("json");
    assert_eq!(status, 200, "{body}");
    body
}

fn floats(value: &Value) -> Vec<f32> {
    match value {
        Value::Array(values) => values
            .iter()
            .map(|value| value.as_f64().expect("float") as f32)
            .collect(),
        Value::String(encoded) => base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .expect("base64")
            .chunks_exact(4)
            .map(|chunk| f32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]))
            .collect(),
        other => panic!("not an embedding: {other}"),
    }
}

#[tokio::test]
async fn openai_upstream_vectors_reach_the_client_as_floats_or_base64() {
    let fake = FakeProvider::start().await;
    let gateway = gateway("openai", fake.base_url());
    for format in ["float", "base64"] {
        let body = embed(&gateway, json!({"model": "embed", "input": ["first text", "second text"], "encoding_format": format})).await;
        assert_eq!(body["object"], "list");
        assert_eq!(body["data"][1]["index"], 1);
        assert_eq!(
            floats(&body["data"][0]["embedding"]),
            fake_embedding("first text", 8),
            "{format}"
        );
        assert_eq!(
            floats(&body["data"][1]["embedding"]),
            fake_embedding("second text", 8),
            "{format}"
        );
        assert!(body["usage"]["prompt_tokens"].as_u64().unwrap_or_default() > 0);
        let upstream = fake.requests().pop().expect("request");
        assert_eq!(upstream.path, "/v1/embeddings");
        assert_eq!(upstream.body["model"], "text-embedder");
        assert_eq!(
            upstream.body["encoding_format"], "float",
            "the gateway asks for floats and encodes itself"
        );
    }
}

#[tokio::test]
async fn gemini_upstreams_embed_through_batch_embed_contents() {
    let fake = FakeProvider::start().await;
    let gateway = gateway("gemini", fake.gemini_base_url());
    let body = embed(
        &gateway,
        json!({"model": "embed", "input": ["alpha", "beta"], "dimensions": 4}),
    )
    .await;
    assert_eq!(
        floats(&body["data"][0]["embedding"]),
        fake_embedding("alpha", 4)
    );
    assert_eq!(
        floats(&body["data"][1]["embedding"]),
        fake_embedding("beta", 4)
    );
    assert_eq!(body["model"], "text-embedder");
    assert!(
        body["usage"]["prompt_tokens"].as_u64().unwrap_or_default() > 0,
        "estimated when Gemini reports none"
    );
    let upstream = fake.requests().pop().expect("request");
    assert!(
        upstream
            .path
            .ends_with("/models/text-embedder:batchEmbedContents"),
        "{}",
        upstream.path
    );
    assert_eq!(upstream.body["requests"][0]["outputDimensionality"], 4);

    let response = post(
        &gateway,
        "/v1/embeddings",
        &json!({"model": "embed", "input": [[1, 2, 3]]}),
    )
    .await;
    assert_eq!(response.status(), 400, "Gemini embeds text only");
}

#[tokio::test]
async fn bedrock_upstreams_embed_with_titan_or_cohere_bodies() {
    let fake = FakeProvider::start().await;
    let gateway = Gateway::start(&format!(
        r#"
channels:
  - name: bedrock
    provider: bedrock
    base_url: {}
    aws: {{region: us-east-1, access_key_id: AKIDFAKEEXAMPLE, secret_access_key: fake-secret-key}}
    models:
      - {{name: titan, upstream: "amazon.titan-embed-text-v2:0"}}
      - {{name: cohere, upstream: "cohere.embed-english-v3"}}
roles: [{{name: all, models: ["*"]}}]
api_keys: [{{name: tester, key: {KEY}, role: all}}]
"#,
        fake.bedrock_base_url()
    ));

    let titan = embed(
        &gateway,
        json!({"model": "titan", "input": "one text", "dimensions": 256}),
    )
    .await;
    assert_eq!(
        floats(&titan["data"][0]["embedding"]),
        fake_embedding("one text", 256)
    );
    assert!(titan["usage"]["prompt_tokens"].as_u64().unwrap_or_default() > 0);
    let upstream = fake.requests().pop().expect("request");
    assert_eq!(
        upstream.path,
        "/model/amazon.titan-embed-text-v2%3A0/invoke"
    );
    assert_eq!(upstream.body["inputText"], "one text");

    let cohere = embed(
        &gateway,
        json!({"model": "cohere", "input": ["first", "second"], "encoding_format": "base64"}),
    )
    .await;
    assert_eq!(
        floats(&cohere["data"][1]["embedding"]),
        fake_embedding("second", 1024)
    );
    assert_eq!(
        fake.requests().pop().expect("request").body["texts"],
        json!(["first", "second"])
    );

    let response = post(
        &gateway,
        "/v1/embeddings",
        &json!({"model": "titan", "input": ["a", "b"]}),
    )
    .await;
    assert_eq!(response.status(), 400, "Titan takes one input per request");
}
