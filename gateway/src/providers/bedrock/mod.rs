//! The AWS Bedrock provider: Converse and ConverseStream on Bedrock Runtime, SigV4-signed per
//! request, streams in AWS event-stream framing. `converse` translates, `stream` reads events,
//! `sign` signs; this file wires them to the provider trait.

pub mod converse;
pub mod frames;
pub mod sign;
pub mod stream;

use axum::http::{HeaderMap, StatusCode};

use super::{
    HttpProvider, StreamDecoder, StreamFraming, UpstreamFailure, UpstreamRequest, json_headers,
    json_request, retry_after,
};
use serde_json::json;

use crate::canonical::{
    ChatRequest, ChatResponse, EmbeddingInput, EmbeddingRequest, EmbeddingResponse, Family,
};
use crate::config::Channel;
use crate::error::{ErrorKind, GatewayError};
use crate::protocols::fit::Fit;

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
        // Bedrock requests are signed per request (SigV4), not by a static credential.
        json_headers(None)
    }

    fn stream_framing(&self) -> StreamFraming {
        StreamFraming::AwsEventStream
    }

    fn target(&self) -> (Option<Family>, &'static str) {
        (None, "a Bedrock model")
    }

    fn build_request(
        &self,
        channel: &Channel,
        canonical: &ChatRequest,
        upstream_model: &str,
        endpoint: &reqwest::Url,
        fit: &mut Fit,
    ) -> Result<UpstreamRequest, GatewayError> {
        let aws = aws_settings(channel)?;
        let accept = if canonical.stream {
            "application/vnd.amazon.eventstream"
        } else {
            "application/json"
        };
        let body = converse::encode(canonical, upstream_model, channel.default_max_tokens, fit)?;
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

    fn embeddings_endpoint(&self, channel: &Channel, upstream_model: &str) -> Option<String> {
        Some(format!(
            "{}/model/{}/invoke",
            channel.base_url,
            model_path(upstream_model)
        ))
    }

    /// Bedrock embeds through the model family's own InvokeModel body: Amazon Titan (one input
    /// per request) or Cohere (a batch of texts).
    fn build_embeddings_request(
        &self,
        channel: &Channel,
        request: &EmbeddingRequest,
        upstream_model: &str,
        endpoint: &reqwest::Url,
    ) -> Result<UpstreamRequest, GatewayError> {
        let aws = aws_settings(channel)?;
        let texts = request
            .inputs
            .iter()
            .map(|input| match input {
                EmbeddingInput::Text(text) => Ok(text.as_str()),
                EmbeddingInput::Tokens(_) => Err(GatewayError::invalid_param(
                    "input",
                    "Bedrock models embed text only; send strings, not token arrays.",
                )),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let body = if upstream_model.starts_with("cohere.") {
            json!({"texts": texts, "input_type": "search_document"})
        } else if upstream_model.starts_with("amazon.titan-embed") {
            let [text] = texts.as_slice() else {
                return Err(GatewayError::invalid_param(
                    "input",
                    "Amazon Titan embeddings take one input per request.",
                ));
            };
            let mut body = json!({"inputText": text, "normalize": true});
            if let Some(dimensions) = request.dimensions {
                body["dimensions"] = dimensions.into();
            }
            body
        } else {
            return Err(GatewayError::invalid_param(
                "model",
                format!(
                    "Bedrock embeddings are supported for amazon.titan-embed* and cohere.embed* models, not `{upstream_model}`."
                ),
            ));
        };
        let mut upstream = json_request(channel, endpoint, &body, Some("application/json"))?;
        sign::sign_request(aws, endpoint, &mut upstream.headers, &upstream.body)?;
        Ok(upstream)
    }

    fn parse_embeddings(&self, body: &[u8]) -> Result<EmbeddingResponse, GatewayError> {
        let bad = |why: &str| {
            GatewayError::new(
                ErrorKind::BadGateway,
                format!("it sent embeddings the gateway could not read ({why})"),
            )
        };
        let value: serde_json::Value =
            serde_json::from_slice(body).map_err(|error| bad(&error.to_string()))?;
        let vector = |value: &serde_json::Value| -> Option<Vec<f32>> {
            value
                .as_array()?
                .iter()
                .map(|number| number.as_f64().map(|number| number as f32))
                .collect()
        };
        // Titan: one `embedding`; Cohere: `embeddings` as a list, or by type.
        let vectors = if let Some(single) = value.get("embedding") {
            vec![vector(single).ok_or_else(|| bad("`embedding` is not a float array"))?]
        } else {
            let list = value
                .get("embeddings")
                .map(|list| list.get("float").unwrap_or(list));
            list.and_then(serde_json::Value::as_array)
                .ok_or_else(|| bad("no embeddings"))?
                .iter()
                .map(vector)
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| bad("an embedding is not a float array"))?
        };
        let input_tokens = value
            .get("inputTextTokenCount")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or_default();
        Ok(EmbeddingResponse {
            model: String::new(),
            vectors,
            input_tokens,
        })
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

/// The channel's AWS region and credentials (compiling the config guarantees them for Bedrock).
fn aws_settings(channel: &Channel) -> Result<&crate::config::AwsSettings, GatewayError> {
    channel.aws.as_ref().ok_or_else(|| {
        GatewayError::new(
            ErrorKind::Internal,
            format!("channel `{}` has no AWS settings", channel.name),
        )
    })
}
