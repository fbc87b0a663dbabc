//! The Gemini provider (Developer API style): `POST {base_url}/v1beta/models/{model}:generateContent`
//! and `:streamGenerateContent?alt=sse`, key in `x-goog-api-key` (never in the URL, where it
//! would leak into logs). Translation lives in `protocols::gemini`.

use axum::http::{HeaderMap, HeaderName, StatusCode};

use super::{
    HttpProvider, StreamDecoder, UpstreamFailure, UpstreamRequest, json_headers, json_request,
    retry_after,
};
use serde_json::json;

use crate::canonical::{
    ChatRequest, ChatResponse, EmbeddingInput, EmbeddingRequest, EmbeddingResponse, Family,
};
use crate::config::Channel;
use crate::error::{ErrorKind, GatewayError};
use crate::protocols::fit::Fit;
use crate::protocols::gemini::{
    error::parse_upstream_error, response, stream::ChunkDecoder, upstream,
};

pub struct Gemini;

pub static GEMINI: Gemini = Gemini;

impl HttpProvider for Gemini {
    fn endpoint(&self, channel: &Channel, upstream_model: &str) -> String {
        format!(
            "{}/v1beta/models/{upstream_model}:generateContent",
            channel.base_url
        )
    }

    fn stream_endpoint(&self, channel: &Channel, upstream_model: &str) -> String {
        format!(
            "{}/v1beta/models/{upstream_model}:streamGenerateContent?alt=sse",
            channel.base_url
        )
    }

    fn static_headers(&self, credential: Option<&str>) -> Result<HeaderMap, String> {
        json_headers(
            credential.map(|key| (HeaderName::from_static("x-goog-api-key"), key.to_owned())),
        )
    }

    fn target(&self) -> (Option<Family>, &'static str) {
        (Some(Family::Gemini), "a Gemini model")
    }

    fn build_request(
        &self,
        channel: &Channel,
        canonical: &ChatRequest,
        _upstream_model: &str,
        endpoint: &reqwest::Url,
        fit: &mut Fit,
    ) -> Result<UpstreamRequest, GatewayError> {
        json_request(channel, endpoint, &upstream::encode(canonical, fit)?, None)
    }

    fn parse_response(
        &self,
        body: &[u8],
        _upstream_model: &str,
    ) -> Result<ChatResponse, GatewayError> {
        response::decode(body)
    }

    fn embeddings_endpoint(&self, channel: &Channel, upstream_model: &str) -> Option<String> {
        Some(format!(
            "{}/v1beta/models/{upstream_model}:batchEmbedContents",
            channel.base_url
        ))
    }

    /// `batchEmbedContents`: one request per input; Gemini embeds text only.
    fn build_embeddings_request(
        &self,
        channel: &Channel,
        request: &EmbeddingRequest,
        upstream_model: &str,
        endpoint: &reqwest::Url,
    ) -> Result<UpstreamRequest, GatewayError> {
        let requests = request
            .inputs
            .iter()
            .map(|input| match input {
                EmbeddingInput::Text(text) => {
                    let mut entry = json!({"model": format!("models/{upstream_model}"), "content": {"parts": [{"text": text}]}});
                    if let Some(dimensions) = request.dimensions {
                        entry["outputDimensionality"] = dimensions.into();
                    }
                    Ok(entry)
                }
                EmbeddingInput::Tokens(_) => Err(GatewayError::invalid_param("input", "Gemini models embed text only; send strings, not token arrays.")),
            })
            .collect::<Result<Vec<_>, _>>()?;
        json_request(channel, endpoint, &json!({"requests": requests}), None)
    }

    fn parse_embeddings(&self, body: &[u8]) -> Result<EmbeddingResponse, GatewayError> {
        let bad = |why: String| {
            GatewayError::new(
                ErrorKind::BadGateway,
                format!("it sent embeddings the gateway could not read ({why})"),
            )
        };
        let value: serde_json::Value =
            serde_json::from_slice(body).map_err(|error| bad(error.to_string()))?;
        let vectors = value["embeddings"]
            .as_array()
            .ok_or_else(|| bad("no embeddings".to_owned()))?
            .iter()
            .map(|embedding| {
                embedding["values"].as_array().and_then(|values| {
                    values
                        .iter()
                        .map(|value| value.as_f64().map(|value| value as f32))
                        .collect::<Option<Vec<f32>>>()
                })
            })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| bad("an embedding has no float values".to_owned()))?;
        // Gemini reports neither the model nor token counts here; the request path fills both in.
        Ok(EmbeddingResponse {
            model: String::new(),
            vectors,
            input_tokens: 0,
        })
    }

    fn stream_decoder(&self, _upstream_model: &str) -> StreamDecoder {
        StreamDecoder::Gemini(ChunkDecoder::default())
    }

    fn classify_error(
        &self,
        channel: &Channel,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
    ) -> UpstreamFailure {
        let (message, kind) = parse_upstream_error(body);
        UpstreamFailure::from_status(channel, status, retry_after(headers), message, kind, None)
    }
}
