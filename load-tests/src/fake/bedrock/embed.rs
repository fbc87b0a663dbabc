//! Bedrock `InvokeModel` (`POST /model/{modelId}/invoke`) for embedding models, the family
//! chosen by the model id ([`Family::of`]); any other model is a 400 `ValidationException`
//! "The provided model identifier is invalid.". The body is validated (`validate/embed.rs`), the
//! model checked against the configured list, then a behaviour is played (hang, latency, error)
//! as for the other embeddings endpoints.
//!
//! - Titan answers `{"embedding": […], "inputTextTokenCount": n}` (plus
//!   `"embeddingsByType": {"float": […], "binary": [0|1, …]}` when `embeddingTypes` is given),
//!   the vector being [`fake_embedding`]`(inputText, dimensions or 1024)`.
//! - Cohere answers `{"id", "embeddings": [[…], …], "texts", "response_type":
//!   "embeddings_floats"}` with [`fake_embedding`]`(text, 1024)` per text; with
//!   `embedding_types` it answers as Cohere does, `"response_type": "embeddings_by_type"` and
//!   `"embeddings": {"float": [[…]], "int8": [[…]], …}` (int8/uint8 scaled from the floats,
//!   binary/ubinary their sign bits packed eight to a byte).
//!
//! Both set `X-Amzn-Bedrock-Input-Token-Count` (words, or the script's `prompt_tokens`) and
//! `X-Amzn-Bedrock-Invocation-Latency` (the scripted latency, in milliseconds).

use std::collections::BTreeMap;

use hyper::header::{HeaderName, HeaderValue};
use hyper::{Response, StatusCode};
use serde::Serialize;
use serde_json::Value;

use super::error::Failure;
use super::validate::embed::{self, CohereRequest, Family, TitanRequest};
use super::{Responder, Shared, known_model};
use crate::fake::embeddings::fake_embedding;
use crate::fake::handler::ResponseBody;
use crate::fake::openai::{to_vec, words};

/// Cohere Embed v3's vector length.
const COHERE_DIMENSIONS: usize = 1024;

/// Answers an `/invoke` request whose signature already verified; `model` is decoded.
pub(super) async fn answer(
    shared: &Shared,
    json: &Value,
    model: &str,
    reply: &Responder,
) -> Result<Response<ResponseBody>, Failure> {
    let Some(family) = Family::of(model) else {
        return Err(Failure::validation(
            "The provided model identifier is invalid.",
        ));
    };
    let request = match family {
        Family::Titan => Request::Titan(embed::titan(json)?),
        Family::Cohere => Request::Cohere(embed::cohere(json)?),
    };
    known_model(shared, model)?;
    let behaviour = shared.script.play().await;
    if let Some(error) = &behaviour.error {
        return Err(Failure::scripted(error));
    }
    let counted = match &request {
        Request::Titan(titan) => words(titan.text),
        Request::Cohere(cohere) => cohere.texts.iter().map(|text| words(text)).sum(),
    };
    let tokens = behaviour.usage.map_or(counted, |usage| usage.prompt_tokens);
    let body = match &request {
        Request::Titan(titan) => titan_body(titan, tokens),
        Request::Cohere(cohere) => cohere_body(cohere, reply.number),
    };
    let mut response = reply.json(StatusCode::OK, body);
    let headers = response.headers_mut();
    headers.insert(
        HeaderName::from_static("x-amzn-bedrock-input-token-count"),
        HeaderValue::from(tokens),
    );
    let latency = u64::try_from(behaviour.latency.as_millis()).unwrap_or(u64::MAX);
    headers.insert(
        HeaderName::from_static("x-amzn-bedrock-invocation-latency"),
        HeaderValue::from(latency),
    );
    Ok(response)
}

enum Request<'a> {
    Titan(TitanRequest<'a>),
    Cohere(CohereRequest<'a>),
}

fn titan_body(request: &TitanRequest, tokens: u64) -> Vec<u8> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Titan {
        embedding: Vec<f32>,
        input_text_token_count: u64,
        #[serde(skip_serializing_if = "Option::is_none")]
        embeddings_by_type: Option<BTreeMap<String, Components>>,
    }
    let embedding = fake_embedding(request.text, request.dimensions);
    let embeddings_by_type = request.types.as_ref().map(|types| {
        let by_type = types.iter().map(|kind| {
            let components = match *kind {
                "binary" => {
                    Components::Ints(embedding.iter().map(|c| i64::from(*c > 0.0)).collect())
                }
                _ => Components::Floats(embedding.clone()),
            };
            ((*kind).to_owned(), components)
        });
        by_type.collect()
    });
    to_vec(&Titan {
        embedding,
        input_text_token_count: tokens,
        embeddings_by_type,
    })
}

fn cohere_body(request: &CohereRequest, number: u64) -> Vec<u8> {
    #[derive(Serialize)]
    struct Cohere<'a> {
        id: String,
        embeddings: Embeddings,
        texts: &'a [&'a str],
        response_type: &'static str,
    }
    #[derive(Serialize)]
    #[serde(untagged)]
    enum Embeddings {
        Floats(Vec<Vec<f32>>),
        ByType(BTreeMap<String, Vec<Components>>),
    }
    let vectors: Vec<Vec<f32>> = request
        .texts
        .iter()
        .map(|text| fake_embedding(text, COHERE_DIMENSIONS))
        .collect();
    let (embeddings, response_type) = match &request.types {
        None => (Embeddings::Floats(vectors), "embeddings_floats"),
        Some(types) => {
            let by_type = types.iter().map(|kind| {
                let per_text = vectors.iter().map(|vector| quantised(kind, vector));
                ((*kind).to_owned(), per_text.collect())
            });
            (Embeddings::ByType(by_type.collect()), "embeddings_by_type")
        }
    };
    to_vec(&Cohere {
        id: format!("00000000-0000-4000-a000-{number:012x}"),
        embeddings,
        texts: &request.texts,
        response_type,
    })
}

/// One vector, as floats or as integers.
#[derive(Debug, PartialEq, Serialize)]
#[serde(untagged)]
enum Components {
    Floats(Vec<f32>),
    Ints(Vec<i64>),
}

/// `vector` as Cohere's `kind` (`float`, `int8`, `uint8`, `binary` or `ubinary`).
fn quantised(kind: &str, vector: &[f32]) -> Components {
    // Components are in [-1, 1]; the cast saturates.
    let scaled = |c: &f32| (c * 127.0).round() as i64;
    match kind {
        "int8" => Components::Ints(vector.iter().map(scaled).collect()),
        "uint8" => Components::Ints(vector.iter().map(|c| scaled(c) + 128).collect()),
        "binary" | "ubinary" => {
            let offset = if kind == "binary" { 128 } else { 0 };
            let packed = vector.chunks(8).map(|bits| {
                let byte = bits
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| **c > 0.0)
                    .fold(0_i64, |byte, (bit, _)| byte | (0x80 >> bit));
                byte - offset
            });
            Components::Ints(packed.collect())
        }
        _ => Components::Floats(vector.to_vec()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantisations() {
        let vector = [1.0, -1.0, 0.5, 0.0, 0.1, 0.1, 0.1, 0.1, -0.2];
        let ints = |kind: &str, vector: &[f32]| match quantised(kind, vector) {
            Components::Ints(ints) => ints,
            Components::Floats(_) => panic!("{kind} is integers"),
        };
        assert_eq!(ints("int8", &vector[..3]), [127, -127, 64]);
        assert_eq!(ints("uint8", &vector[..3]), [255, 1, 192]);
        // Bits 1 0 1 0 1 1 1 1 = 0xaf, then 0 (the last byte padded).
        assert_eq!(ints("ubinary", &vector), [0xaf, 0]);
        assert_eq!(ints("binary", &vector), [0xaf - 128, -128]);
        assert_eq!(
            quantised("float", &vector[..2]),
            Components::Floats(vec![1.0, -1.0])
        );
    }
}
