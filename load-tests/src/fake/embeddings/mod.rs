//! The fake's embeddings, served by the same [`FakeProvider`](super::FakeProvider) as chat:
//! OpenAI's `POST /v1/embeddings` and Azure's
//! `POST /openai/deployments/{deployment}/embeddings?api-version=…` are answered here (routing,
//! authentication and the model check are the handler's, body validation is `validate.rs`'s);
//! Gemini's `:embedContent` and `:batchEmbedContents` live in `gemini/` and share the vectors.
//!
//! Vectors are deterministic: [`fake_embedding`] hashes the input (FNV-1a 64), expands the hash
//! with SplitMix64 into components in `[-1, 1)` and normalises the result to unit length, so a
//! test can predict every vector. A token input is embedded as its token ids written in decimal
//! and separated by single spaces (`[1, 2]` embeds like `"1 2"`).

mod validate;

use hyper::http::request::Parts;
use hyper::{Response, StatusCode};
use serde::Serialize;
use serde_json::Value;

use super::gemini::base64_encode;
use super::handler::{Flavour, Responder, ResponseBody, Shared, prepare};
use super::openai::{to_vec, words};
use validate::Input;

/// Vector length when the request does not ask for one.
pub(crate) const DEFAULT_DIMENSIONS: usize = 8;
/// The largest vector the fake hands out (text-embedding-3-large's and gemini-embedding-001's
/// native size).
pub(crate) const MAX_DIMENSIONS: usize = 3072;

/// The vector the fake returns for `input` with `dimensions` components: deterministic, unit
/// length (unless `dimensions` is 0), different for different inputs.
pub fn fake_embedding(input: &str, dimensions: usize) -> Vec<f32> {
    let mut state = input.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    });
    let mut vector: Vec<f32> = (0..dimensions)
        .map(|_| {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut mixed = state;
            mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            mixed ^= mixed >> 31;
            // The top 24 bits are exact in an f32.
            (mixed >> 40) as f32 / (1u32 << 23) as f32 - 1.0
        })
        .collect();
    let norm = vector
        .iter()
        .map(|component| f64::from(*component).powi(2))
        .sum::<f64>()
        .sqrt();
    if norm > 0.0 {
        for component in &mut vector {
            *component = (f64::from(*component) / norm) as f32;
        }
    }
    vector
}

/// `[1, 2, 3]` → `"1 2 3"`, the text a token input is embedded as.
fn tokens_text(tokens: &[Value]) -> String {
    let ids: Vec<String> = tokens.iter().map(Value::to_string).collect();
    ids.join(" ")
}

/// Answers an OpenAI or Azure embeddings request the handler routed here.
pub(crate) async fn openai(
    shared: &Shared,
    parts: &Parts,
    json: Option<&Value>,
    flavour: Flavour<'_>,
    reply: Responder,
) -> Response<ResponseBody> {
    let (request, model, behaviour) =
        match prepare(shared, parts, json, &flavour, validate::request).await {
            Ok(prepared) => prepared,
            Err(refusal) => return reply.refuse(refusal),
        };
    let counted: u64 = request
        .inputs
        .iter()
        .map(|input| match input {
            Input::Text(text) => words(text),
            Input::Tokens(tokens) => tokens.len() as u64,
        })
        .sum();
    let prompt_tokens = behaviour.usage.map_or(counted, |usage| usage.prompt_tokens);
    let data = request
        .inputs
        .iter()
        .enumerate()
        .map(|(index, input)| {
            let vector = match input {
                Input::Text(text) => fake_embedding(text, request.dimensions),
                Input::Tokens(tokens) => fake_embedding(&tokens_text(tokens), request.dimensions),
            };
            let embedding = if request.base64 {
                let bytes: Vec<u8> = vector.iter().flat_map(|c| c.to_le_bytes()).collect();
                Vector::Base64(base64_encode(&bytes))
            } else {
                Vector::Floats(vector)
            };
            Item {
                object: "embedding",
                index,
                embedding,
            }
        })
        .collect();
    let body = List {
        object: "list",
        data,
        model: &model,
        usage: EmbeddingUsage {
            prompt_tokens,
            total_tokens: prompt_tokens,
        },
    };
    reply.json(StatusCode::OK, to_vec(&body), behaviour.latency)
}

#[derive(Serialize)]
struct List<'a> {
    object: &'static str,
    data: Vec<Item>,
    model: &'a str,
    usage: EmbeddingUsage,
}

#[derive(Serialize)]
struct Item {
    object: &'static str,
    index: usize,
    embedding: Vector,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Vector {
    Floats(Vec<f32>),
    Base64(String),
}

#[derive(Serialize)]
struct EmbeddingUsage {
    prompt_tokens: u64,
    total_tokens: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn vectors_are_deterministic_unit_and_distinct() {
        let a = fake_embedding("hello", 8);
        assert_eq!(a, fake_embedding("hello", 8));
        assert_ne!(a, fake_embedding("hullo", 8));
        assert_eq!(fake_embedding("x", 3072).len(), 3072);
        assert!(fake_embedding("", 0).is_empty());
        for dimensions in [1, 8, 256] {
            let norm: f64 = fake_embedding("text", dimensions)
                .iter()
                .map(|c| f64::from(*c).powi(2))
                .sum();
            assert!((norm - 1.0).abs() < 1e-5, "{dimensions}: {norm}");
        }
    }

    #[test]
    fn token_inputs_embed_as_their_decimal_ids() {
        assert_eq!(tokens_text(&[json!(1), json!(22), json!(333)]), "1 22 333");
    }
}
