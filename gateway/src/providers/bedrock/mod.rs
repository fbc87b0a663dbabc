//! The AWS Bedrock provider: Converse and ConverseStream on Bedrock Runtime, SigV4-signed per
//! request, streams in AWS event-stream framing. `converse` translates, `stream` reads events,
//! `sign` signs; this file wires them to the provider trait.

pub mod converse;
pub mod frames;
pub mod sign;
pub mod stream;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};

use super::{
    HttpProvider, StreamDecoder, StreamFraming, UpstreamFailure, UpstreamRequest, json_request,
    retry_after,
};
use crate::canonical::{ChatRequest, ChatResponse};
use crate::config::Channel;
use crate::error::{ErrorKind, GatewayError};

pub struct Bedrock;

pub static BEDROCK: Bedrock = Bedrock;

/// Model ids contain `:` (`…-v1:0`): encoded in the path, as the AWS SDKs do.
fn model_path(upstream_model: &str) -> String {
    upstream_model.replace(':', "%3A").replace('/', "%2F")
}

impl HttpProvider for Bedrock {
    fn endpoint(&self, channel: &Channel, upstream_model: &str) -> String {
        format!(
            "{}/model/{}/converse",
            channel.base_url,
            model_path(upstream_model)
        )
    }

    fn stream_endpoint(&self, channel: &Channel, upstream_model: &str) -> String {
        format!(
            "{}/model/{}/converse-stream",
            channel.base_url,
            model_path(upstream_model)
        )
    }

    fn static_headers(&self, _credential: Option<&str>) -> Result<HeaderMap, String> {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        Ok(headers)
    }

    fn stream_framing(&self) -> StreamFraming {
        StreamFraming::AwsEventStream
    }

    fn build_request(
        &self,
        channel: &Channel,
        canonical: &ChatRequest,
        upstream_model: &str,
        endpoint: &reqwest::Url,
    ) -> Result<UpstreamRequest, GatewayError> {
        let aws = channel.aws.as_ref().ok_or_else(|| {
            GatewayError::new(
                ErrorKind::Internal,
                format!("channel `{}` has no AWS settings", channel.name),
            )
        })?;
        let accept = if canonical.stream {
            "application/vnd.amazon.eventstream"
        } else {
            "application/json"
        };
        let body = converse::encode(canonical, upstream_model, channel.default_max_tokens)?;
        let mut upstream = json_request(channel, endpoint, &body, Some(accept))?;
        sign::sign_request(aws, endpoint, &mut upstream.headers, &upstream.body)?;
        Ok(upstream)
    }

    fn parse_response(
        &self,
        body: &[u8],
        upstream_model: &str,
    ) -> Result<ChatResponse, GatewayError> {
        converse::decode(body, upstream_model)
    }

    fn stream_decoder(&self, upstream_model: &str) -> StreamDecoder {
        StreamDecoder::Bedrock(stream::EventDecoder::new(upstream_model))
    }

    /// Bedrock errors are `{"message": …}` with the error name in `x-amzn-errortype`.
    fn classify_error(
        &self,
        channel: &Channel,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
    ) -> UpstreamFailure {
        let message = serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|value| {
                value
                    .get("message")
                    .or_else(|| value.get("Message"))
                    .and_then(|message| message.as_str().map(str::to_owned))
            })
            .unwrap_or_else(|| {
                String::from_utf8_lossy(&body[..body.len().min(512)])
                    .trim()
                    .to_owned()
            });
        let kind = headers
            .get("x-amzn-errortype")
            .and_then(|value| value.to_str().ok())
            .map(|value| value.split(':').next().unwrap_or(value).to_owned());
        UpstreamFailure::from_status(channel, status, retry_after(headers), message, kind, None)
    }
}
