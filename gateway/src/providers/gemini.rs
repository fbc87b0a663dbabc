//! The Gemini provider (Developer API style): `POST {base_url}/v1beta/models/{model}:generateContent`
//! and `:streamGenerateContent?alt=sse`, key in `x-goog-api-key` (never in the URL, where it
//! would leak into logs). Translation lives in `protocols::gemini`.

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use bytes::Bytes;

use super::{HttpProvider, StreamDecoder, UpstreamFailure, UpstreamRequest, retry_after};
use crate::canonical::{ChatRequest, ChatResponse};
use crate::config::Channel;
use crate::error::{ErrorKind, GatewayError};
use crate::protocols::gemini::{
    error::parse_upstream_error, request, response, stream::ChunkDecoder,
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
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(credential) = credential {
            let mut value = HeaderValue::from_str(credential)
                .map_err(|_| "the credential is not a valid header value".to_owned())?;
            value.set_sensitive(true);
            headers.insert(HeaderName::from_static("x-goog-api-key"), value);
        }
        Ok(headers)
    }

    fn build_request(
        &self,
        channel: &Channel,
        canonical: &ChatRequest,
        _upstream_model: &str,
        endpoint: &reqwest::Url,
    ) -> Result<UpstreamRequest, GatewayError> {
        let wire = request::encode(canonical)?;
        let body = serde_json::to_vec(&wire).map_err(|error| {
            GatewayError::new(
                ErrorKind::Internal,
                format!("encoding the upstream request: {error}"),
            )
        })?;
        Ok(UpstreamRequest {
            url: endpoint.clone(),
            headers: channel.headers.clone(),
            body: Bytes::from(body),
        })
    }

    fn parse_response(&self, body: &[u8]) -> Result<ChatResponse, GatewayError> {
        response::decode(body)
    }

    fn stream_decoder(&self) -> StreamDecoder {
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
