//! The Anthropic provider: `POST {base_url}/v1/messages` with `x-api-key` and
//! `anthropic-version`. Translation lives in `protocols::anthropic`; this file only wires it to
//! the provider trait.

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

use super::{
    HttpProvider, StreamDecoder, UpstreamFailure, UpstreamRequest, json_headers, json_request,
    retry_after,
};
use crate::canonical::{ChatRequest, ChatResponse, Family};
use crate::config::Channel;
use crate::error::GatewayError;
use crate::protocols::anthropic::betas;
use crate::protocols::anthropic::{
    error::parse_upstream_error, response, stream::EventDecoder, upstream,
};
use crate::protocols::fit::Fit;

/// The API version every current Anthropic SDK sends.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

pub struct Anthropic;

pub static ANTHROPIC: Anthropic = Anthropic;

impl HttpProvider for Anthropic {
    fn endpoint(&self, channel: &Channel, _upstream_model: &str) -> String {
        format!("{}/v1/messages", channel.base_url)
    }

    fn static_headers(&self, credential: Option<&str>) -> Result<HeaderMap, String> {
        let mut headers = json_headers(
            credential.map(|key| (HeaderName::from_static("x-api-key"), key.to_owned())),
        )?;
        headers.insert(
            HeaderName::from_static("anthropic-version"),
            HeaderValue::from_static(ANTHROPIC_VERSION),
        );
        Ok(headers)
    }

    fn target(&self) -> (Option<Family>, &'static str) {
        (Some(Family::Anthropic), "an Anthropic model")
    }

    fn build_request(
        &self,
        channel: &Channel,
        canonical: &ChatRequest,
        upstream_model: &str,
        endpoint: &reqwest::Url,
        fit: &mut Fit,
    ) -> Result<UpstreamRequest, GatewayError> {
        let wire = upstream::encode(canonical, upstream_model, channel.default_max_tokens, fit)?;
        let mut request = json_request(
            channel,
            endpoint,
            &wire,
            canonical.stream.then_some("text/event-stream"),
        )?;
        if canonical.extension_family == Family::Anthropic {
            betas::forward(&canonical.betas, &mut request.headers);
        }
        Ok(request)
    }

    fn parse_response(
        &self,
        body: &[u8],
        _upstream_model: &str,
    ) -> Result<ChatResponse, GatewayError> {
        response::decode(body)
    }

    fn stream_decoder(&self, _upstream_model: &str) -> StreamDecoder {
        StreamDecoder::Anthropic(EventDecoder::default())
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
