//! The fake's OpenAI Responses API, `POST /v1/responses`, served by the same
//! [`FakeProvider`](super::FakeProvider) as the other protocols and as strict as api.openai.com:
//! unknown parameters, malformed items and tools, unverifiable encrypted reasoning, unknown
//! previous responses and unanswered tool outputs are refused.
//!
//! Order of checks: authentication (`Authorization: Bearer`, 401), the content type and a JSON
//! body (400), request validation (400, `validate/`), the model (OpenAI's 404
//! `model_not_found`), then the checks against what the fake remembers (400, or 404 for items
//! and conversations it does not hold). Only a request that passes all of them pops a behaviour
//! from the script, whose latency, hang, error, reply, usage, thinking, web search and stream
//! pacing and faults all apply. Errors use OpenAI's envelope and headers.
//!
//! This module answers one request; `answer.rs` builds the output items and usage, `object.rs`
//! renders the response object, `stream.rs` its SSE events, `encrypted.rs` mints and checks
//! reasoning's encrypted content, `store.rs` keeps stored responses. Recording happens before
//! routing, in the handler.

mod answer;
mod encrypted;
mod object;
mod store;
mod stream;
mod validate;

use std::sync::Arc;
use std::time::Duration;

use hyper::http::request::Parts;
use hyper::{Response, StatusCode};
use serde_json::Value;

pub use encrypted::responses_encrypted_content;
pub(crate) use store::State;

use super::handler::{Flavour, Refusal as OpenAiRefusal, Responder, ResponseBody, Shared};
use super::handler::{admit, known_model, unix_now};
use super::openai::{error_body, to_vec};
use super::script::ErrorReply;
use object::Head;
use validate::Refusal;

/// Answers one `POST /v1/responses`.
pub(crate) async fn handle(
    shared: &Shared,
    parts: &Parts,
    json: Option<&Value>,
    reply: Responder,
) -> Response<ResponseBody> {
    let json = match admit(shared, parts, json, &Flavour::OpenAi) {
        Ok(json) => json,
        Err(error) => return reply.error(&error),
    };
    let request = match validate::request(json) {
        Ok(request) => request,
        Err(invalid) => return reply.refuse(OpenAiRefusal::Invalid(invalid)),
    };
    if let Err(error) = known_model(shared, request.model, &Flavour::OpenAi) {
        return reply.error(&error);
    }
    let mut conversation = match validate::check_conversation(&request, &shared.responses) {
        Ok(conversation) => conversation,
        Err(Refusal::Invalid(invalid)) => return reply.refuse(OpenAiRefusal::Invalid(invalid)),
        Err(Refusal::NotFound(missing)) => {
            let body = error_body(
                &missing.message,
                "invalid_request_error",
                missing.param.as_deref(),
                missing.code,
            );
            return reply.json(StatusCode::NOT_FOUND, body, Duration::ZERO);
        }
    };
    let behaviour = shared.script.play().await;
    if let Some(error) = &behaviour.error {
        return reply.error(error);
    }
    let state = &shared.responses;
    let answer = match answer::answer(&behaviour, &request, &conversation, state) {
        Ok(answer) => answer,
        Err(problem) => return reply.error(&ErrorReply::new(500, "server_error", &problem)),
    };
    let id = state.next_id("resp");
    let head = Head {
        id: &id,
        created_at: unix_now(),
        model: request.model,
    };
    if request.store {
        conversation.extend(answer.output.iter().cloned());
        state.keep(&id, conversation, &answer.output);
    }
    if !request.stream {
        let body = to_vec(&object::response(&head, &request, Some(&answer)));
        return reply.json(StatusCode::OK, body, behaviour.latency);
    }
    let transcript = stream::transcript(&head, &request, &answer);
    reply.stream(transcript, &behaviour, Arc::clone(&shared.abandoned))
}
