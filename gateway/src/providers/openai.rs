//! The OpenAI-compatible provider family: OpenAI itself, Azure OpenAI, and any server that
//! speaks the Chat Completions API (Groq, Together, vLLM, Ollama, …). One implementation,
//! parameterised by a flavour that decides the URL shape and the auth header, and by the API
//! spoken upstream: Chat Completions, or (`api: responses`, OpenAI itself) the Responses API.

use axum::http::{HeaderMap, StatusCode, header};

use super::{
    HttpProvider, StreamDecoder, UpstreamApi, UpstreamFailure, UpstreamRequest, json_headers,
    json_request, retry_after,
};
use crate::canonical::{ChatRequest, ChatResponse, EmbeddingRequest, EmbeddingResponse, Family};
use crate::config::Channel;
use crate::error::GatewayError;
use crate::protocols::fit::Fit;
use crate::protocols::openai_chat::{
    error::parse_upstream_error, response, stream::ChunkDecoder, upstream,
};
use crate::protocols::openai_embeddings;
use crate::protocols::openai_responses::{
    response as responses_response, upstream as responses_upstream,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavour {
    /// `{base_url}/chat/completions`, `Authorization: Bearer`.
    OpenAi,
    /// `{base_url}/openai/deployments/{model}/chat/completions?api-version=…`, `api-key`.
    Azure,
}

pub struct OpenAiCompatible {
    flavour: Flavour,
    api: UpstreamApi,
}

pub static OPENAI: OpenAiCompatible = OpenAiCompatible {
    flavour: Flavour::OpenAi,
    api: UpstreamApi::ChatCompletions,
};
pub static OPENAI_RESPONSES: OpenAiCompatible = OpenAiCompatible {
    flavour: Flavour::OpenAi,
    api: UpstreamApi::Responses,
};
pub static AZURE: OpenAiCompatible = OpenAiCompatible {
    flavour: Flavour::Azure,
    api: UpstreamApi::ChatCompletions,
};

impl HttpProvider for OpenAiCompatible {
    fn endpoint(&self, channel: &Channel, upstream_model: &str) -> String {
        match self.flavour {
            Flavour::OpenAi if self.api == UpstreamApi::Responses => {
                format!("{}/responses", channel.base_url)
            }
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

    fn target(&self) -> (Option<Family>, &'static str) {
        match self.api {
            UpstreamApi::ChatCompletions => (Some(Family::OpenAi), "an OpenAI-compatible model"),
            UpstreamApi::Responses => (Some(Family::OpenAiResponses), "a Responses API model"),
        }
    }

    fn build_request(
        &self,
        channel: &Channel,
        canonical: &ChatRequest,
        upstream_model: &str,
        endpoint: &reqwest::Url,
        fit: &mut Fit,
    ) -> Result<UpstreamRequest, GatewayError> {
        if self.api == UpstreamApi::Responses {
            let body = responses_upstream::encode(canonical, upstream_model, fit)?;
            let accept = canonical.stream.then_some("text/event-stream");
            return json_request(channel, endpoint, &body, accept);
        }
        let wire = upstream::encode(canonical, upstream_model, channel.stream_usage, fit)?;
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
        match self.api {
            UpstreamApi::ChatCompletions => response::decode(body),
            UpstreamApi::Responses => responses_response::decode(body),
        }
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
        match self.api {
            UpstreamApi::ChatCompletions => StreamDecoder::OpenAi(ChunkDecoder::default()),
            UpstreamApi::Responses => StreamDecoder::Responses(Default::default()),
        }
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
