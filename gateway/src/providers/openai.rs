//! The OpenAI-compatible provider family: OpenAI itself, Azure OpenAI, and any server that
//! speaks the Chat Completions API (Groq, Together, vLLM, Ollama, …). One implementation,
//! parameterised by a flavour that decides the URL shape and the auth header.

use axum::http::{HeaderMap, StatusCode, header};

use super::{
    HttpProvider, StreamDecoder, UpstreamFailure, UpstreamRequest, json_headers, json_request,
    retry_after,
};
use crate::canonical::{ChatRequest, ChatResponse, EmbeddingRequest, EmbeddingResponse};
use crate::config::Channel;
use crate::error::GatewayError;
use crate::protocols::openai_chat::{
    error::parse_upstream_error, response, stream::ChunkDecoder, upstream,
};
use crate::protocols::openai_embeddings;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavour {
    /// `{base_url}/chat/completions`, `Authorization: Bearer`.
    OpenAi,
    /// `{base_url}/openai/deployments/{model}/chat/completions?api-version=…`, `api-key`.
    Azure,
}

pub struct OpenAiCompatible {
    flavour: Flavour,
}

pub static OPENAI: OpenAiCompatible = OpenAiCompatible {
    flavour: Flavour::OpenAi,
};
pub static AZURE: OpenAiCompatible = OpenAiCompatible {
    flavour: Flavour::Azure,
};

impl HttpProvider for OpenAiCompatible {
    fn endpoint(&self, channel: &Channel, upstream_model: &str) -> String {
        match self.flavour {
            Flavour::OpenAi => format!("{}/chat/completions", channel.base_url),
            Flavour::Azure => format!(
                "{}/openai/deployments/{}/chat/completions?api-version={}",
                channel.base_url,
                upstream_model,
                channel.api_version.as_deref().unwrap_or_default()
            ),
        }
    }

    fn static_headers(&self, credential: Option<&str>) -> Result<HeaderMap, String> {
        json_headers(credential.map(|credential| match self.flavour {
            Flavour::OpenAi => (header::AUTHORIZATION, format!("Bearer {credential}")),
            Flavour::Azure => (
                header::HeaderName::from_static("api-key"),
                credential.to_owned(),
            ),
        }))
    }

    fn build_request(
        &self,
        channel: &Channel,
        canonical: &ChatRequest,
        upstream_model: &str,
        endpoint: &reqwest::Url,
    ) -> Result<UpstreamRequest, GatewayError> {
        let wire = upstream::encode(canonical, upstream_model, channel.stream_usage)?;
        json_request(
            channel,
            endpoint,
            &wire,
            canonical.stream.then_some("text/event-stream"),
        )
    }

    fn parse_response(
        &self,
        body: &[u8],
        _upstream_model: &str,
    ) -> Result<ChatResponse, GatewayError> {
        response::decode(body)
    }

    fn embeddings_endpoint(&self, channel: &Channel, upstream_model: &str) -> Option<String> {
        Some(match self.flavour {
            Flavour::OpenAi => format!("{}/embeddings", channel.base_url),
            Flavour::Azure => format!(
                "{}/openai/deployments/{upstream_model}/embeddings?api-version={}",
                channel.base_url,
                channel.api_version.as_deref().unwrap_or_default()
            ),
        })
    }

    fn build_embeddings_request(
        &self,
        channel: &Channel,
        request: &EmbeddingRequest,
        upstream_model: &str,
        endpoint: &reqwest::Url,
    ) -> Result<UpstreamRequest, GatewayError> {
        json_request(
            channel,
            endpoint,
            &openai_embeddings::encode_request(request, upstream_model),
            None,
        )
    }

    fn parse_embeddings(&self, body: &[u8]) -> Result<EmbeddingResponse, GatewayError> {
        openai_embeddings::decode_response(body)
    }

    fn stream_decoder(&self, _upstream_model: &str) -> StreamDecoder {
        StreamDecoder::OpenAi(ChunkDecoder::default())
    }

    fn classify_error(
        &self,
        channel: &Channel,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
    ) -> UpstreamFailure {
        let (message, kind, code) = parse_upstream_error(body);
        UpstreamFailure::from_status(channel, status, retry_after(headers), message, kind, code)
    }
}
