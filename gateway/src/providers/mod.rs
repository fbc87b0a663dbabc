//! Upstream providers: one module per provider family behind one trait.
//!
//! A provider is pure translation: it builds the upstream HTTP request from the canonical one,
//! parses a response, turns stream payloads into canonical events and classifies errors. It
//! performs no I/O; the attempt loop in [`crate::routing::attempt`] sends, times out and fails
//! over for every provider alike. The `mock` provider answers locally and is driven by the same
//! loop through its own entry points.

pub mod anthropic;
pub mod bedrock;
pub mod gemini;
pub mod mock;
pub mod openai;

use std::time::Duration;

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use bytes::Bytes;

use crate::canonical::{
    ChatRequest, ChatResponse, Decoded, EmbeddingRequest, EmbeddingResponse, Family,
};
use crate::config::Channel;
use crate::error::{ErrorKind, GatewayError};
use crate::protocols::anthropic::stream::EventDecoder;
use crate::protocols::fit::Fit;
use crate::protocols::gemini::stream::ChunkDecoder as GeminiDecoder;
use crate::protocols::openai_chat::stream::ChunkDecoder;
use crate::protocols::openai_responses::events::EventDecoder as ResponsesDecoder;

/// Every provider kind. Matches over it are exhaustive so the compiler lists every place a new
/// provider must be wired in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderKind {
    /// OpenAI and every server that speaks its API.
    OpenAi,
    /// Azure OpenAI: same wire format, deployment URLs and an `api-key` header.
    Azure,
    /// Anthropic's Messages API.
    Anthropic,
    /// Google's Gemini API (AI Studio / Developer API).
    Gemini,
    /// AWS Bedrock Runtime (Converse), SigV4-signed.
    Bedrock,
    /// Local deterministic answers; no network.
    Mock,
}

impl ProviderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::OpenAi => "openai",
            ProviderKind::Azure => "azure",
            ProviderKind::Anthropic => "anthropic",
            ProviderKind::Gemini => "gemini",
            ProviderKind::Bedrock => "bedrock",
            ProviderKind::Mock => "mock",
        }
    }
}

/// A ready-to-send upstream request.
pub struct UpstreamRequest {
    pub url: reqwest::Url,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// The translation half of an HTTP provider.
pub trait HttpProvider: Send + Sync {
    /// The chat endpoint for a model on a channel; computed once when the config is compiled.
    fn endpoint(&self, channel: &Channel, upstream_model: &str) -> String;

    /// The endpoint for streamed answers, where it differs.
    fn stream_endpoint(&self, channel: &Channel, upstream_model: &str) -> String {
        self.endpoint(channel, upstream_model)
    }

    /// Headers every request to the channel carries (content type, credential); computed once
    /// when the config is compiled, so the credential is formatted once, not per request.
    fn static_headers(&self, credential: Option<&str>) -> Result<HeaderMap, String>;

    /// The client protocol family the upstream speaks (whose extensions it takes verbatim),
    /// and how error messages name it: "an Anthropic model".
    fn target(&self) -> (Option<Family>, &'static str);

    /// Builds the request body and headers; `endpoint` is the route's precomputed URL. What the
    /// upstream cannot take is dropped or refused through `fit`.
    fn build_request(
        &self,
        channel: &Channel,
        request: &ChatRequest,
        upstream_model: &str,
        endpoint: &reqwest::Url,
        fit: &mut Fit,
    ) -> Result<UpstreamRequest, GatewayError>;

    fn parse_response(
        &self,
        body: &[u8],
        upstream_model: &str,
    ) -> Result<ChatResponse, GatewayError>;

    /// How streamed answers are framed on the wire.
    fn stream_framing(&self) -> StreamFraming {
        StreamFraming::Sse
    }

    /// The embeddings endpoint, for providers that offer embeddings.
    fn embeddings_endpoint(&self, _channel: &Channel, _upstream_model: &str) -> Option<String> {
        None
    }

    fn build_embeddings_request(
        &self,
        channel: &Channel,
        _request: &EmbeddingRequest,
        _upstream_model: &str,
        _endpoint: &reqwest::Url,
    ) -> Result<UpstreamRequest, GatewayError> {
        Err(GatewayError::invalid(format!(
            "channel `{}` does not offer embeddings",
            channel.name
        )))
    }

    fn parse_embeddings(&self, _body: &[u8]) -> Result<EmbeddingResponse, GatewayError> {
        Err(GatewayError::new(
            ErrorKind::Internal,
            "this provider does not offer embeddings",
        ))
    }

    /// A fresh decoder for one streamed answer.
    fn stream_decoder(&self, upstream_model: &str) -> StreamDecoder;

    /// Turns an upstream error response into the error the client sees.
    fn classify_error(
        &self,
        channel: &Channel,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
    ) -> UpstreamFailure;
}

/// Which of OpenAI's APIs an OpenAI channel speaks upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UpstreamApi {
    /// `POST /chat/completions`: what every OpenAI-compatible server offers.
    #[default]
    ChatCompletions,
    /// `POST /responses`: hosted tools, encrypted reasoning and `previous_response_id` survive
    /// for OpenAI Responses clients, who get the upstream's answer unchanged.
    Responses,
}

/// The HTTP provider for a channel's kind and API; `None` for providers that do not go over
/// HTTP.
pub fn http_provider(kind: ProviderKind, api: UpstreamApi) -> Option<&'static dyn HttpProvider> {
    match kind {
        ProviderKind::OpenAi if api == UpstreamApi::Responses => Some(&openai::OPENAI_RESPONSES),
        ProviderKind::OpenAi => Some(&openai::OPENAI),
        ProviderKind::Azure => Some(&openai::AZURE),
        ProviderKind::Anthropic => Some(&anthropic::ANTHROPIC),
        ProviderKind::Gemini => Some(&gemini::GEMINI),
        ProviderKind::Bedrock => Some(&bedrock::BEDROCK),
        ProviderKind::Mock => None,
    }
}

/// A failed attempt, classified once: retries, health and metrics all read this.
#[derive(Debug, Clone)]
pub struct UpstreamFailure {
    pub error: GatewayError,
    /// Another channel may succeed where this one failed.
    pub retryable: bool,
    /// Counts against the channel's health (a 400 is the caller's fault, not the channel's).
    pub channel_fault: bool,
}

impl UpstreamFailure {
    /// Classifies an HTTP error status the way the OpenAI and Anthropic SDKs do: 408, 409, 429
    /// and 5xx are worth another try, other 4xx are the caller's to fix.
    pub fn from_status(
        channel: &Channel,
        status: StatusCode,
        retry_after: Option<Duration>,
        message: String,
        upstream_type: Option<String>,
        code: Option<String>,
    ) -> Self {
        let retryable = matches!(status.as_u16(), 408 | 409 | 429) || status.is_server_error();
        let (kind, client_status) = if status == StatusCode::TOO_MANY_REQUESTS {
            (ErrorKind::RateLimited, status)
        } else if status == StatusCode::REQUEST_TIMEOUT {
            (ErrorKind::GatewayTimeout, StatusCode::GATEWAY_TIMEOUT)
        } else if matches!(status.as_u16(), 503 | 529) {
            // Anthropic's 529 and everyone's 503: the upstream is overloaded.
            (ErrorKind::Overloaded, StatusCode::SERVICE_UNAVAILABLE)
        } else if status.is_server_error() {
            (ErrorKind::BadGateway, StatusCode::BAD_GATEWAY)
        } else {
            (ErrorKind::UpstreamRejected, status)
        };
        let message = if kind == ErrorKind::UpstreamRejected {
            message
        } else {
            format!(
                "upstream channel `{}` answered {}: {message}",
                channel.name,
                status.as_u16()
            )
        };
        let mut error = GatewayError::new(kind, message)
            .with_status(client_status)
            .with_retry_after(retry_after);
        error.upstream_type = upstream_type;
        error.code = code;
        UpstreamFailure {
            error,
            retryable,
            // Rate limiting says nothing about the channel's health; its retry-after is honoured
            // separately.
            channel_fault: retryable && status != StatusCode::TOO_MANY_REQUESTS,
        }
    }
}

/// Reads `retry-after-ms` or `retry-after` (seconds) from upstream headers.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    if let Some(ms) = value("retry-after-ms").and_then(|ms| ms.trim().parse::<f64>().ok()) {
        return Duration::try_from_secs_f64(ms / 1000.0).ok();
    }
    value("retry-after")
        .and_then(|secs| secs.trim().parse::<f64>().ok())
        .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
}

/// The framing of an upstream stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamFraming {
    /// Server-sent events (OpenAI, Anthropic, Gemini).
    Sse,
    /// AWS event-stream binary frames (Bedrock).
    AwsEventStream,
}

/// Upstream stream payloads → canonical events, per wire format.
pub enum StreamDecoder {
    OpenAi(ChunkDecoder),
    Responses(ResponsesDecoder),
    Anthropic(EventDecoder),
    Gemini(GeminiDecoder),
    Bedrock(bedrock::stream::EventDecoder),
}

impl StreamDecoder {
    /// Decodes one SSE event (`event` is its name, `message` when it had none).
    pub fn decode(&mut self, event: &str, data: &str) -> Result<Decoded, GatewayError> {
        match self {
            StreamDecoder::OpenAi(decoder) => decoder.decode(data),
            StreamDecoder::Responses(decoder) => decoder.decode(event, data),
            StreamDecoder::Anthropic(decoder) => decoder.decode(event, data),
            StreamDecoder::Gemini(decoder) => decoder.decode(data),
            StreamDecoder::Bedrock(decoder) => decoder.decode(event, data),
        }
    }

    /// The client speaks the upstream's protocol: pass every event through as it came (see
    /// [`crate::canonical::StreamEvent::Native`]). Only the Responses decoder has such clients.
    pub fn pass_through(&mut self) {
        if let StreamDecoder::Responses(decoder) = self {
            decoder.pass_through();
        }
    }
}

/// A JSON request to `url` with the channel's static headers (content type, credential) and, for
/// a stream, `accept: <accept>`.
pub fn json_request(
    channel: &Channel,
    url: &reqwest::Url,
    body: &impl serde::Serialize,
    accept: Option<&'static str>,
) -> Result<UpstreamRequest, GatewayError> {
    let body = serde_json::to_vec(body).map_err(|error| {
        GatewayError::new(
            ErrorKind::Internal,
            format!("encoding the upstream request: {error}"),
        )
    })?;
    let mut headers = channel.headers.clone();
    if let Some(accept) = accept {
        headers.insert(
            axum::http::header::ACCEPT,
            axum::http::HeaderValue::from_static(accept),
        );
    }
    Ok(UpstreamRequest {
        url: url.clone(),
        headers,
        body: Bytes::from(body),
    })
}

/// `content-type: application/json` plus the credential under `name`, marked sensitive so it
/// never shows in logs.
pub fn json_headers(credential: Option<(HeaderName, String)>) -> Result<HeaderMap, String> {
    let mut headers = HeaderMap::new();
    headers.insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some((name, credential)) = credential {
        let mut value = HeaderValue::from_str(&credential)
            .map_err(|_| "the credential is not a valid header value".to_owned())?;
        value.set_sensitive(true);
        headers.insert(name, value);
    }
    Ok(headers)
}
