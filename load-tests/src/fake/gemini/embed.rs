//! Gemini's `:embedContent` and `:batchEmbedContents`: validate the body (`validate/embed.rs`),
//! play the scripted behaviour (hang, latency, error) and answer
//! `{"embedding":{"values":[…]}}` or `{"embeddings":[{"values":[…]},…]}` with the vectors of
//! [`fake_embedding`] over each request's concatenated part texts. Gemini reports no token usage
//! for embeddings, so neither does the fake.

use hyper::{Response, StatusCode};
use serde::Serialize;
use serde_json::Value;

use super::error::Failure;
use super::validate::{self, EmbedRequest};
use super::{Responder, Shared};
use crate::fake::embeddings::fake_embedding;
use crate::fake::handler::ResponseBody;
use crate::fake::openai::to_vec;

/// Answers an embed request whose URL, key and model already passed; `batch` for
/// `:batchEmbedContents`.
pub(super) async fn answer(
    shared: &Shared,
    json: &Value,
    model: &str,
    batch: bool,
    reply: &Responder,
) -> Result<Response<ResponseBody>, Failure> {
    let requests = if batch {
        validate::batch_embed(json, model)
            .map_err(|invalid| Failure::refused(invalid, "BatchEmbedContentsRequest"))?
    } else {
        let request = validate::embed_content(json, model)
            .map_err(|invalid| Failure::refused(invalid, "EmbedContentRequest"))?;
        vec![request]
    };
    let behaviour = shared.script.play().await;
    if let Some(error) = &behaviour.error {
        return Err(Failure::scripted(error));
    }
    let mut embeddings: Vec<Embedding> = requests.iter().map(embedding).collect();
    let body = match embeddings.pop() {
        Some(embedding) if !batch => to_vec(&Single { embedding }),
        last => {
            embeddings.extend(last);
            to_vec(&Batch { embeddings })
        }
    };
    Ok(reply.json(StatusCode::OK, body))
}

fn embedding(request: &EmbedRequest) -> Embedding {
    Embedding {
        values: fake_embedding(&request.text, request.dimensions),
    }
}

#[derive(Serialize)]
struct Embedding {
    values: Vec<f32>,
}

#[derive(Serialize)]
struct Single {
    embedding: Embedding,
}

#[derive(Serialize)]
struct Batch {
    embeddings: Vec<Embedding>,
}
