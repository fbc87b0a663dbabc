//! The fake's Anthropic Messages API, served by the same [`FakeProvider`](super::FakeProvider) as
//! the OpenAI endpoints and routed by path: `POST /v1/messages` and
//! `POST /v1/messages/count_tokens`, as strict as api.anthropic.com.
//!
//! Order of checks: authentication (401 `authentication_error`), the `anthropic-version` header
//! (400), a readable JSON body (413/400), request validation (400, `validate/`, which also reads
//! the `anthropic-beta` header), the model list (404 `not_found_error`). Only a messages request that passes all of them pops a behaviour from
//! the script; count_tokens never does. Every response carries `request-id: req_<n>` and
//! `anthropic-organization-id`; errors use Anthropic's envelope with the same `request_id`.
//!
//! This module answers one request; `message.rs` builds and renders the answer, `stream.rs` its
//! SSE events, `signature.rs` signs thinking. Recording happens before routing, in the handler.

mod message;
pub(crate) mod signature;
mod stream;
mod validate;

use std::sync::Arc;

use hyper::header::{CACHE_CONTROL, HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use hyper::http::request::Parts;
use hyper::{Response, StatusCode};
use serde_json::Value;

pub use signature::thinking_signature;

use super::auth::{anthropic_auth, anthropic_version};
use super::handler::{ResponseBody, Shared};
use super::script::{Behaviour, ErrorReply};
use super::stream::{self as sse, Transcript};
use validate::{Betas, Endpoint, MessagesRequest};

const ORGANIZATION_ID: &str = "00000000-0000-4000-8000-00000000fa6e";

/// The Anthropic endpoint at `path`, if it is one.
pub(crate) fn endpoint(path: &str) -> Option<Endpoint> {
    match path {
        "/v1/messages" => Some(Endpoint::Messages),
        "/v1/messages/count_tokens" => Some(Endpoint::CountTokens),
        _ => None,
    }
}

/// Answers one POST to an Anthropic endpoint. `body` is `None` when it could not be read (too
/// large or broken), else the parsed JSON (`None` inside when it is not JSON).
pub(crate) async fn handle(
    shared: &Shared,
    parts: &Parts,
    body: Option<Option<&Value>>,
    endpoint: Endpoint,
    number: u64,
) -> Response<ResponseBody> {
    let reply = Responder { number };
    let checked = anthropic_auth(&shared.options, &parts.headers)
        .and_then(|()| anthropic_version(&parts.headers));
    if let Err(error) = checked {
        return reply.error(&error);
    }
    let Some(json) = body else {
        return reply.error(&ErrorReply::new(
            413,
            "request_too_large",
            "Request exceeds the maximum allowed number of bytes.",
        ));
    };
    let Some(json) = json else {
        return reply.invalid("There was an error parsing the body of your request as JSON.");
    };
    let betas = Betas::from_headers(&parts.headers);
    let request = match validate::request(json, endpoint, betas) {
        Ok(request) => request,
        Err(invalid) => return reply.invalid(&invalid.message),
    };
    let models = &shared.options.models;
    if !models.is_empty() && !models.iter().any(|known| known == request.model) {
        let message = format!("model: {}", request.model);
        return reply.error(&ErrorReply::new(404, "not_found_error", &message));
    }
    match endpoint {
        Endpoint::Messages => messages(shared, &request, reply).await,
        Endpoint::CountTokens => {
            let count = message::prompt_tokens(request.system, request.messages);
            let body = message::count_tokens_body(count, request.context_management);
            reply.json(StatusCode::OK, body)
        }
    }
}

async fn messages(
    shared: &Shared,
    request: &MessagesRequest<'_>,
    reply: Responder,
) -> Response<ResponseBody> {
    let behaviour = shared.script.next();
    if behaviour.hang {
        std::future::pending::<()>().await;
    }
    if !behaviour.latency.is_zero() {
        tokio::time::sleep(behaviour.latency).await;
    }
    if let Some(error) = &behaviour.error {
        return reply.error(error);
    }
    let answer = match message::answer(&behaviour, request) {
        Ok(answer) => answer,
        Err(problem) => return reply.error(&ErrorReply::new(500, "api_error", &problem)),
    };
    let id = format!("msg_fake{}", reply.number);
    if !request.stream {
        let body = message::body(&id, request.model, &answer);
        return reply.json(StatusCode::OK, body);
    }
    let transcript = stream::transcript(&id, request.model, &answer);
    reply.stream(transcript, &behaviour, Arc::clone(&shared.abandoned))
}

/// Builds responses that carry Anthropic's headers for request `number`.
struct Responder {
    number: u64,
}

impl Responder {
    fn request_id(&self) -> String {
        format!("req_{}", self.number)
    }

    fn invalid(&self, message: &str) -> Response<ResponseBody> {
        self.error(&ErrorReply::new(400, "invalid_request_error", message))
    }

    fn error(&self, error: &ErrorReply) -> Response<ResponseBody> {
        let status =
            StatusCode::from_u16(error.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = message::error_body(&error.error_type, &error.message, &self.request_id());
        let mut response = self.json(status, body);
        if let Some(seconds) = error.retry_after {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }

    fn json(&self, status: StatusCode, body: Vec<u8>) -> Response<ResponseBody> {
        let mut response = sse::json_response(status, body, "application/json");
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
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        self.common_headers(headers);
        response
    }

    fn common_headers(&self, headers: &mut HeaderMap) {
        if let Ok(id) = HeaderValue::try_from(self.request_id()) {
            headers.insert(HeaderName::from_static("request-id"), id);
        }
        headers.insert(
            HeaderName::from_static("anthropic-organization-id"),
            HeaderValue::from_static(ORGANIZATION_ID),
        );
    }
}
