//! The fake's AWS Bedrock Runtime Converse API, served by the same
//! [`FakeProvider`](super::FakeProvider) as the other protocols and routed by path:
//! `POST /model/{modelId}/converse` and `POST /model/{modelId}/converse-stream` (and
//! `POST /model/{modelId}/invoke` for Titan and Cohere embedding models, `embed.rs`), with the model
//! id percent-encoded in the path (`anthropic.claude-3-5-sonnet-20240620-v1%3A0`), as strict as
//! Bedrock — above all about SigV4, which is verified for real against [`BedrockCredentials`].
//!
//! Order of checks, as Bedrock's: the operation (404 `UnknownOperationException` for any other
//! path under `/model/`); the signature (403, `sigv4.rs`); a JSON object body (400
//! `SerializationException`); request validation (400 `ValidationException`, `validate/`); the
//! model list of [`FakeOptions`](super::FakeOptions) (400 `ValidationException` "The provided
//! model identifier is invalid.", checked against the decoded id). Only a request that passes
//! all of them pops a behaviour from the script. Every response carries
//! `x-amzn-requestid: <uuid>`; errors carry `x-amzn-errortype` and `{"message": …}`
//! (`error.rs`).
//!
//! This module answers one request; `answer.rs` builds and renders the answer, `stream.rs` its
//! event-stream frames, `canonical.rs` and `sigv4.rs` check the signature. Recording happens
//! before routing, in the handler.

mod answer;
mod canonical;
mod embed;
mod error;
mod sigv4;
mod stream;
mod validate;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::SystemTime;

use bytes::Bytes;
use hyper::header::{HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use hyper::http::request::Parts;
use hyper::{Method, Response, StatusCode};
use serde_json::Value;

use super::handler::{ResponseBody, Shared};
use super::script::Behaviour;
use super::stream::{self as paced, Transcript};
use error::Failure;
use validate::ConverseRequest;

/// The AWS credentials the fake Bedrock verifies signatures with. The defaults
/// ([`BedrockCredentials::default`]) are [`Self::DEFAULT_ACCESS_KEY_ID`],
/// [`Self::DEFAULT_SECRET_ACCESS_KEY`] and [`Self::DEFAULT_REGION`]; change them with
/// [`FakeProvider::set_bedrock_credentials`](super::FakeProvider::set_bedrock_credentials).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BedrockCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    /// The region the credential scope must name, e.g. `us-east-1`.
    pub region: String,
}

impl BedrockCredentials {
    pub const DEFAULT_ACCESS_KEY_ID: &'static str = "AKIDFAKEEXAMPLE";
    pub const DEFAULT_SECRET_ACCESS_KEY: &'static str = "fake-secret-key";
    pub const DEFAULT_REGION: &'static str = "us-east-1";
}

impl Default for BedrockCredentials {
    fn default() -> Self {
        BedrockCredentials {
            access_key_id: Self::DEFAULT_ACCESS_KEY_ID.to_owned(),
            secret_access_key: Self::DEFAULT_SECRET_ACCESS_KEY.to_owned(),
            region: Self::DEFAULT_REGION.to_owned(),
        }
    }
}

/// The Bedrock side's share of the provider's state.
#[derive(Debug, Default)]
pub(crate) struct State {
    credentials: RwLock<BedrockCredentials>,
    /// Reasoning signatures sent with tool calls, by tool-use id, which later requests must echo.
    minted: Mutex<HashMap<String, String>>,
    /// The `n` of the next `tooluse_<n>`.
    tool_calls: AtomicU64,
}

impl State {
    pub(crate) fn set_credentials(&self, credentials: BedrockCredentials) {
        *self
            .credentials
            .write()
            .unwrap_or_else(PoisonError::into_inner) = credentials;
    }

    fn credentials(&self) -> BedrockCredentials {
        self.credentials
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn minted(&self, tool_use_id: &str) -> Option<String> {
        self.lock_minted().get(tool_use_id).cloned()
    }

    fn lock_minted(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.minted.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A Converse operation, with the model id from its path (still percent-encoded).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Endpoint<'a> {
    pub model: &'a str,
    pub operation: Operation,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Operation {
    Converse,
    ConverseStream,
    /// `InvokeModel`, served for embedding models only.
    Invoke,
    /// Another path under `/model/` (or another method): Bedrock's 404.
    Unknown,
}

/// The Bedrock endpoint `parts` asks for, if the path is under `/model/`.
pub(crate) fn endpoint(parts: &Parts) -> Option<Endpoint<'_>> {
    let rest = parts.uri.path().strip_prefix("/model/")?;
    let (model, action) = rest.split_once('/').unwrap_or((rest, ""));
    let operation = match action {
        _ if parts.method != Method::POST || model.is_empty() => Operation::Unknown,
        "converse" => Operation::Converse,
        "converse-stream" => Operation::ConverseStream,
        "invoke" => Operation::Invoke,
        _ => Operation::Unknown,
    };
    Some(Endpoint { model, operation })
}

/// Answers one request to a Bedrock endpoint. `body` is `None` when it could not be read.
pub(crate) async fn handle(
    shared: &Shared,
    parts: &Parts,
    body: Option<&Bytes>,
    json: Option<&Value>,
    endpoint: Endpoint<'_>,
    number: u64,
) -> Response<ResponseBody> {
    let reply = Responder { number };
    match answer(shared, parts, body, json, endpoint, &reply).await {
        Ok(response) => response,
        Err(failure) => reply.error(&failure),
    }
}

async fn answer(
    shared: &Shared,
    parts: &Parts,
    body: Option<&Bytes>,
    json: Option<&Value>,
    endpoint: Endpoint<'_>,
    reply: &Responder,
) -> Result<Response<ResponseBody>, Failure> {
    if endpoint.operation == Operation::Unknown {
        return Err(Failure::unknown_operation());
    }
    let Some(body) = body else {
        return Err(Failure::validation(
            "The request body could not be read: it exceeds the fake's 64 MiB limit.",
        ));
    };
    let credentials = shared.bedrock.credentials();
    sigv4::verify(parts, body, &credentials, SystemTime::now())?;
    let Some(json) = json else {
        return Err(Failure::serialization(
            "The request body is not valid JSON.",
        ));
    };
    let model = percent_decode(endpoint.model);
    if endpoint.operation == Operation::Invoke {
        return embed::answer(shared, json, &model, reply).await;
    }
    let minted = |id: &str| shared.bedrock.minted(id);
    let request = validate::request(json, &minted)?;
    known_model(shared, &model)?;
    let stream = endpoint.operation == Operation::ConverseStream;
    converse(shared, &request, stream, reply).await
}

/// Refuses a (decoded) model id outside the configured list, if there is one.
fn known_model(shared: &Shared, model: &str) -> Result<(), Failure> {
    let models = &shared.options.models;
    if models.is_empty() || models.iter().any(|known| known == model) {
        return Ok(());
    }
    Err(Failure::validation(
        "The provided model identifier is invalid.",
    ))
}

async fn converse(
    shared: &Shared,
    request: &ConverseRequest<'_>,
    stream: bool,
    reply: &Responder,
) -> Result<Response<ResponseBody>, Failure> {
    let behaviour = shared.script.next();
    if behaviour.hang {
        std::future::pending::<()>().await;
    }
    if !behaviour.latency.is_zero() {
        tokio::time::sleep(behaviour.latency).await;
    }
    if let Some(error) = &behaviour.error {
        return Err(Failure::scripted(error));
    }
    let tool_calls = &shared.bedrock.tool_calls;
    let mut next_tool_id = || tool_calls.fetch_add(1, Ordering::Relaxed);
    let answer =
        answer::answer(&behaviour, request, &mut next_tool_id).map_err(Failure::internal)?;
    {
        let mut minted = shared.bedrock.lock_minted();
        for (id, signature) in answer.minted() {
            minted.insert(id.to_owned(), signature.to_owned());
        }
    }
    if !stream {
        return Ok(reply.json(StatusCode::OK, answer::body(&answer)));
    }
    let transcript = stream::transcript(&answer);
    Ok(reply.stream(transcript, &behaviour, Arc::clone(&shared.abandoned)))
}

/// `%XX` → the byte; anything else as is (the model id is a path label).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).filter(|_| bytes[i] == b'%');
        let decoded = hex
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match decoded {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Builds responses that carry Bedrock's headers for request `number`.
struct Responder {
    number: u64,
}

impl Responder {
    fn error(&self, failure: &Failure) -> Response<ResponseBody> {
        let status =
            StatusCode::from_u16(failure.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = self.json(status, failure.body());
        let headers = response.headers_mut();
        if let Ok(error_type) = HeaderValue::try_from(failure.error_type()) {
            headers.insert(HeaderName::from_static("x-amzn-errortype"), error_type);
        }
        if let Some(seconds) = failure.retry_after {
            headers.insert(RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }

    fn json(&self, status: StatusCode, body: Vec<u8>) -> Response<ResponseBody> {
        let mut response = paced::json_response(status, body, "application/json");
        let headers = response.headers_mut();
        self.common_headers(headers);
        response
    }

    fn stream(
        &self,
        transcript: Transcript,
        behaviour: &Behaviour,
        abandoned: Arc<paced::Abandoned>,
    ) -> Response<ResponseBody> {
        let mut response = paced::paced_response(
            transcript,
            behaviour,
            abandoned,
            "application/vnd.amazon.eventstream",
        );
        let headers = response.headers_mut();
        self.common_headers(headers);
        response
    }

    /// `x-amzn-requestid`: a UUID (version 4 layout) made from the request number.
    fn common_headers(&self, headers: &mut HeaderMap) {
        let id = format!("00000000-0000-4000-8000-{:012x}", self.number);
        if let Ok(id) = HeaderValue::try_from(id) {
            headers.insert(HeaderName::from_static("x-amzn-requestid"), id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::test_parts as parts;

    #[test]
    fn routes() {
        let converse = parts(Method::POST, "/model/anthropic.claude-v2%3A1/converse");
        assert_eq!(
            endpoint(&converse),
            Some(Endpoint {
                model: "anthropic.claude-v2%3A1",
                operation: Operation::Converse
            })
        );
        let stream = parts(Method::POST, "/model/m/converse-stream");
        assert_eq!(
            endpoint(&stream).map(|e| e.operation),
            Some(Operation::ConverseStream)
        );
        let invoke = parts(Method::POST, "/model/m/invoke");
        assert_eq!(
            endpoint(&invoke).map(|e| e.operation),
            Some(Operation::Invoke)
        );
        let invoke_stream = parts(Method::POST, "/model/m/invoke-with-response-stream");
        assert_eq!(
            endpoint(&invoke_stream).map(|e| e.operation),
            Some(Operation::Unknown)
        );
        let get = parts(Method::GET, "/model/m/converse");
        assert_eq!(
            endpoint(&get).map(|e| e.operation),
            Some(Operation::Unknown)
        );
        assert_eq!(endpoint(&parts(Method::POST, "/v1/messages")), None);
    }

    #[test]
    fn model_ids_are_decoded() {
        assert_eq!(
            percent_decode("anthropic.claude-3-5-sonnet-20240620-v1%3A0"),
            "anthropic.claude-3-5-sonnet-20240620-v1:0"
        );
        assert_eq!(
            percent_decode("arn%3Aaws%3Abedrock%3Aus-east-1%3A123%3Ainference-profile%2Fus.x"),
            "arn:aws:bedrock:us-east-1:123:inference-profile/us.x"
        );
        assert_eq!(percent_decode("100%"), "100%");
    }
}
