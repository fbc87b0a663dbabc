//! The fake's Gemini API (the Developer API of generativelanguage.googleapis.com), served by the
//! same [`FakeProvider`](super::FakeProvider) as the OpenAI and Anthropic endpoints and routed by
//! path, as strict as Google's:
//!
//! - `POST /v1beta/models/{model}:generateContent`
//! - `POST /v1beta/models/{model}:streamGenerateContent?alt=sse` (without `alt=sse` Google
//!   streams a JSON array; the fake refuses that with a 400)
//! - `POST /v1beta/models/{model}:countTokens`
//! - `POST /v1beta/models/{model}:embedContent` and `:batchEmbedContents` (`embed.rs`)
//! - `GET /v1beta/models` and `GET /v1beta/models/{model}`
//!
//! and the same under `/v1/`, except that `GET /v1/models[/…]` is Gemini's only when it carries a
//! Google key (`x-goog-api-key` or `?key=`) — otherwise it is OpenAI's model list.
//!
//! Order of checks: authentication (`x-goog-api-key` header or `key` query parameter; 403 when
//! missing, 400 `API_KEY_INVALID` when wrong), the model list (404), `alt=sse`, a readable JSON
//! body, request validation (`validate/`). Only a generate, stream or embed request that passes all
//! of them pops a behaviour from the script; countTokens and the model list never do.
//!
//! This module answers one request; `response.rs` builds and renders the answer, `stream.rs` its
//! SSE chunks, `signature.rs` signs function calls, `error.rs` renders errors, `models.rs` the
//! model list. Recording happens
//! before routing, in the handler.

mod embed;
mod error;
mod models;
mod response;
mod signature;
mod stream;
mod validate;

use std::sync::Arc;
use std::time::Instant;

use hyper::header::{CACHE_CONTROL, HeaderMap, HeaderName, HeaderValue, RETRY_AFTER, VARY};
use hyper::http::request::Parts;
use hyper::{Method, Response, StatusCode};
use serde_json::Value;

pub(crate) use signature::Issued;
pub(crate) use signature::decode as base64_decode;
pub(crate) use signature::encode as base64_encode;
pub use signature::gemini_thought_signature;

use super::FakeOptions;
use super::handler::{ResponseBody, Shared};
use super::script::Behaviour;
use super::stream::{self as sse, Transcript};
use error::Failure;
use validate::GenerateRequest;

/// A Gemini endpoint, with the model and API version from its URL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Endpoint<'a> {
    pub version: &'a str,
    pub call: Call<'a>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Call<'a> {
    Generate {
        model: &'a str,
    },
    Stream {
        model: &'a str,
    },
    CountTokens {
        model: &'a str,
    },
    /// `:embedContent`, or `:batchEmbedContents` when `batch`.
    Embed {
        model: &'a str,
        batch: bool,
    },
    ListModels,
    GetModel {
        model: &'a str,
    },
    /// A Gemini-looking path the fake does not serve: Google's 404.
    Unknown,
}

/// What the handler read from the body.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Body<'a> {
    Unreadable,
    Empty,
    NotJson,
    Json(&'a Value),
}

/// The Gemini endpoint `parts` asks for, if it is one.
pub(crate) fn endpoint(parts: &Parts) -> Option<Endpoint<'_>> {
    let path = parts.uri.path();
    let (version, rest) = if let Some(rest) = path.strip_prefix("/v1beta/") {
        ("v1beta", rest)
    } else {
        ("v1", path.strip_prefix("/v1/")?)
    };
    let rest = rest
        .strip_prefix("models")
        .filter(|rest| rest.is_empty() || rest.starts_with('/'))?;
    let rest = rest.strip_prefix('/').unwrap_or(rest);
    let (model, method) = split_method(rest);
    let post = parts.method == Method::POST;
    let get = parts.method == Method::GET;
    let call = match method {
        Some("generateContent") if post => Call::Generate { model },
        Some("streamGenerateContent") if post => Call::Stream { model },
        Some("countTokens") if post => Call::CountTokens { model },
        Some("embedContent") if post => Call::Embed {
            model,
            batch: false,
        },
        Some("batchEmbedContents") if post => Call::Embed { model, batch: true },
        None if get && model.is_empty() => Call::ListModels,
        None if get && !model.contains('/') => Call::GetModel { model },
        _ => Call::Unknown,
    };
    let openai_path = version == "v1"
        && matches!(
            call,
            Call::ListModels | Call::GetModel { .. } | Call::Unknown
        );
    if openai_path && presented_key(parts).is_none() {
        return None;
    }
    Some(Endpoint { version, call })
}

/// `gemini-2.5-flash:generateContent` → (`gemini-2.5-flash`, `generateContent`); the colon may
/// arrive percent-encoded.
fn split_method(rest: &str) -> (&str, Option<&str>) {
    if let Some((model, method)) = rest.split_once(':') {
        return (model, Some(method));
    }
    let lower = rest.to_ascii_lowercase();
    match lower.find("%3a") {
        Some(at) => (&rest[..at], Some(&rest[at + 3..])),
        None => (rest, None),
    }
}

/// The key from `x-goog-api-key`, else from the `key` query parameter.
fn presented_key(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get("x-goog-api-key")
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
        .filter(|key| !key.is_empty())
        .or_else(|| query(parts, "key").filter(|key| !key.is_empty()))
}

fn query<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts.uri.query()?.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (key == name).then_some(value)
    })
}

fn authenticate(options: &FakeOptions, parts: &Parts) -> Result<(), Failure> {
    match (presented_key(parts), &options.api_key) {
        (None, _) => Err(Failure::missing_key()),
        (Some(presented), Some(expected)) if presented != expected => Err(Failure::wrong_key()),
        _ => Ok(()),
    }
}

/// Answers one request to a Gemini endpoint.
pub(crate) async fn handle(
    shared: &Shared,
    parts: &Parts,
    body: Body<'_>,
    endpoint: Endpoint<'_>,
    number: u64,
) -> Response<ResponseBody> {
    let reply = Responder {
        started: Instant::now(),
    };
    match answer(shared, parts, body, endpoint, number, &reply).await {
        Ok(response) => response,
        Err(failure) => reply.error(&failure),
    }
}

async fn answer(
    shared: &Shared,
    parts: &Parts,
    body: Body<'_>,
    endpoint: Endpoint<'_>,
    number: u64,
    reply: &Responder,
) -> Result<Response<ResponseBody>, Failure> {
    authenticate(&shared.options, parts)?;
    let models = &shared.options.models;
    let known = |model: &str| models.is_empty() || models.iter().any(|known| known == model);
    let (model, method) = match endpoint.call {
        Call::Unknown => return Err(Failure::new(404, "Requested entity was not found.")),
        Call::ListModels => return Ok(reply.json(StatusCode::OK, models::models_body(models))),
        Call::GetModel { model } if known(model) => {
            return Ok(reply.json(StatusCode::OK, models::model_body(model)));
        }
        Call::GetModel { model } => {
            let message = format!(
                "models/{model} is not found for API version {}",
                endpoint.version
            );
            return Err(Failure::new(404, message));
        }
        Call::Generate { model } => (model, "generateContent"),
        Call::Stream { model } => (model, "streamGenerateContent"),
        Call::CountTokens { model } => (model, "countTokens"),
        Call::Embed { model, batch } if batch => (model, "batchEmbedContents"),
        Call::Embed { model, .. } => (model, "embedContent"),
    };
    if model.is_empty() || !known(model) {
        return Err(Failure::unknown_model(model, endpoint.version, method));
    }
    let stream = matches!(endpoint.call, Call::Stream { .. });
    if stream && query(parts, "alt") != Some("sse") {
        return Err(Failure::invalid(
            "this fake only streams with alt=sse: without it Gemini streams one JSON array, which the fake does not imitate.",
        ));
    }
    let empty = Value::Object(serde_json::Map::new());
    let json = match body {
        Body::Unreadable => {
            return Err(Failure::invalid(
                "Request payload size exceeds the limit: 67108864 bytes.",
            ));
        }
        Body::NotJson => {
            return Err(Failure::invalid(
                "Invalid JSON payload received. Unexpected token.",
            ));
        }
        Body::Empty => &empty,
        Body::Json(json) => json,
    };
    if let Call::Embed { batch, .. } = endpoint.call {
        return embed::answer(shared, json, model, batch, reply).await;
    }
    if let Call::CountTokens { .. } = endpoint.call {
        let request = validate::count_tokens(json)
            .map_err(|invalid| Failure::refused(invalid, "CountTokensRequest"))?;
        let count = response::prompt_tokens(request.system, request.contents);
        return Ok(reply.json(StatusCode::OK, response::count_tokens_body(count)));
    }
    let request = validate::generate(json, &shared.gemini_signatures)
        .map_err(|invalid| Failure::refused(invalid, "GenerateContentRequest"))?;
    generate(shared, &request, model, stream, number, reply).await
}

async fn generate(
    shared: &Shared,
    request: &GenerateRequest<'_>,
    model: &str,
    stream: bool,
    number: u64,
    reply: &Responder,
) -> Result<Response<ResponseBody>, Failure> {
    let behaviour = shared.script.play().await;
    if let Some(error) = &behaviour.error {
        return Err(Failure::scripted(error));
    }
    let answer =
        response::answer(&behaviour, request).map_err(|problem| Failure::new(500, problem))?;
    for signature in answer.signatures() {
        shared.gemini_signatures.insert(signature.to_owned());
    }
    let response_id = format!("fake-gemini-response-{number}");
    if !stream {
        let body = response::body(&answer, model, &response_id);
        return Ok(reply.json(StatusCode::OK, body));
    }
    let transcript = stream::transcript(&answer, model, &response_id);
    Ok(reply.stream(transcript, &behaviour, Arc::clone(&shared.abandoned)))
}

/// Builds responses with the headers Google's front end sends.
struct Responder {
    started: Instant,
}

impl Responder {
    fn error(&self, failure: &Failure) -> Response<ResponseBody> {
        let status =
            StatusCode::from_u16(failure.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = self.json(status, failure.body());
        if let Some(seconds) = failure.retry_after {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }

    fn json(&self, status: StatusCode, body: Vec<u8>) -> Response<ResponseBody> {
        let mut response = sse::json_response(status, body, "application/json; charset=UTF-8");
        let headers = response.headers_mut();
        self.common_headers(headers);
        response
    }

    fn stream(
        &self,
        transcript: Transcript,
        behaviour: &Behaviour,
        abandoned: Arc<sse::Abandoned>,
    ) -> Response<ResponseBody> {
        let mut response =
            sse::paced_response(transcript, behaviour, abandoned, "text/event-stream");
        let headers = response.headers_mut();
        headers.insert(
            HeaderName::from_static("content-disposition"),
            HeaderValue::from_static("attachment"),
        );
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        self.common_headers(headers);
        response
    }

    fn common_headers(&self, headers: &mut HeaderMap) {
        headers.insert(VARY, HeaderValue::from_static("Origin, X-Origin, Referer"));
        let millis = self.started.elapsed().as_millis();
        if let Ok(timing) = HeaderValue::try_from(format!("gfet4t7; dur={millis}")) {
            headers.insert(HeaderName::from_static("server-timing"), timing);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::test_parts as parts;

    #[test]
    fn routes() {
        let generate = parts(
            Method::POST,
            "/v1beta/models/gemini-2.5-flash:generateContent",
        );
        assert_eq!(
            endpoint(&generate),
            Some(Endpoint {
                version: "v1beta",
                call: Call::Generate {
                    model: "gemini-2.5-flash"
                }
            })
        );
        let encoded = parts(Method::POST, "/v1/models/g%3AstreamGenerateContent?alt=sse");
        assert_eq!(
            endpoint(&encoded).map(|e| e.call),
            Some(Call::Stream { model: "g" })
        );
        let list = parts(Method::GET, "/v1beta/models");
        assert_eq!(endpoint(&list).map(|e| e.call), Some(Call::ListModels));
        assert_eq!(
            endpoint(&parts(Method::GET, "/v1/models")),
            None,
            "OpenAI's without a Google key"
        );
        let keyed = parts(Method::GET, "/v1/models?key=k");
        assert_eq!(endpoint(&keyed).map(|e| e.call), Some(Call::ListModels));
        assert_eq!(endpoint(&parts(Method::POST, "/v1/chat/completions")), None);
        let embed = parts(Method::POST, "/v1beta/models/g:batchEmbedContents");
        let batch = Call::Embed {
            model: "g",
            batch: true,
        };
        assert_eq!(endpoint(&embed).map(|e| e.call), Some(batch));
        let other = parts(Method::POST, "/v1beta/models/g:embedText");
        assert_eq!(endpoint(&other).map(|e| e.call), Some(Call::Unknown));
    }
}
