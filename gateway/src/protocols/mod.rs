//! Inbound client protocols. Each protocol parses its requests into the canonical model and
//! renders responses, stream events and errors in its own shape; the request path remembers
//! which protocol a caller speaks so that every answer, including every error, goes back in it.
//!
//! The mapping table between the formats lives in the per-protocol `request`, `response` and
//! `stream` modules, each converting to and from the canonical model only:
//!
//! OpenAI Responses clients map like OpenAI Chat (`instructions` → system, `function_call` /
//! `function_call_output` items → tool calls and results, `namespace` tools → plain tools named
//! `<namespace>__<name>` whose calls go back namespaced, `text.format` → response format,
//! `reasoning.effort` → reasoning effort); see `openai_responses::request`. To an OpenAI channel
//! with `api: responses` their request passes unchanged instead (`openai_responses::upstream`).
//!
//! | concept | OpenAI Chat | Anthropic Messages |
//! |---|---|---|
//! | system prompt | `system`/`developer` messages | `system` (string or text blocks) |
//! | tool definitions | `tools[].function{name,parameters}` | `tools[]{name,input_schema}` (+ server tools, Anthropic only) |
//! | tool choice | `none`/`auto`/`required`/function | `none`/`auto`/`any`/`tool` |
//! | parallel tool calls | `parallel_tool_calls` | `tool_choice.disable_parallel_tool_use` (inverted) |
//! | tool call | `tool_calls[]` with JSON-string `arguments` | `tool_use` block with object `input` |
//! | tool result | `tool` message | `tool_result` blocks first in a user message |
//! | images | `image_url` (URL or data URL) | `image` block (base64 or url source) |
//! | JSON mode / schema | `response_format` | `output_config.format` (json_schema; JSON mode → object schema) |
//! | stop sequences, max tokens | `stop`, `max_completion_tokens`/`max_tokens` | `stop_sequences`, `max_tokens` (required; channel default) |
//! | mid-conversation system | `system`/`developer` message in place | `role: "system"` message (beta), else joins `system` |
//! | reasoning | `reasoning_effort` | `thinking` (budget) / `output_config.effort`; signed blocks round-trip |
//! | prompt caching | automatic | `cache_control` → canonical cache points |
//! | finish reason | `stop`/`length`/`tool_calls`/`content_filter` | `end_turn`/`stop_sequence` (+ the sequence)/`max_tokens`/`tool_use`/`refusal` |
//! | usage | `prompt_tokens` includes cache | `input_tokens` excludes cache |
//!
//! What a target cannot run after that mapping — hosted tools, parameters with no equivalent
//! (`n > 1`, penalties, `seed`, `logprobs`), one provider's context hints, server-side state — is
//! dropped or refused by one rule, in [`fit`]; what is dropped is named in the answer's
//! `x-switchboard-dropped` header, never dropped silently. Errors are rendered with a (status,
//! type) pair the client's protocol documents (each protocol's `error` module).

pub mod anthropic;
pub mod fit;
pub mod gemini;
pub mod models;
pub mod openai_chat;
pub mod openai_embeddings;
pub mod openai_responses;
#[cfg(test)]
mod properties;
pub mod shared;
pub mod simple;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use crate::canonical::{ChatRequest, ChatResponse, StreamEvent, Usage};
use crate::error::GatewayError;

/// The protocol a client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientProtocol {
    /// OpenAI's API: chat completions, models.
    OpenAi,
    /// OpenAI's Responses API.
    OpenAiResponses,
    /// OpenAI's embeddings endpoint (its body is decoded by [`openai_embeddings`]).
    OpenAiEmbeddings,
    /// Anthropic's Messages API.
    Anthropic,
    /// `POST /api/request`: a query and a context, no SDK needed.
    Simple,
    /// Google's Gemini API; the action (`streamGenerateContent`, `?alt=sse`) is in the path.
    Gemini { stream: bool, sse: bool },
}

impl ClientProtocol {
    pub fn as_str(self) -> &'static str {
        match self {
            ClientProtocol::OpenAi => "openai",
            ClientProtocol::OpenAiResponses => "openai_responses",
            ClientProtocol::OpenAiEmbeddings => "openai_embeddings",
            ClientProtocol::Anthropic => "anthropic",
            ClientProtocol::Simple => "simple",
            ClientProtocol::Gemini { .. } => "gemini",
        }
    }

    /// Parses a request body into the canonical request; `path_model` is the model named in
    /// the URL (Gemini).
    pub fn decode(self, body: &[u8], path_model: &str) -> Result<ChatRequest, GatewayError> {
        match self {
            ClientProtocol::Simple => simple::decode(body),
            ClientProtocol::Gemini { stream, .. } => {
                gemini::request::decode(gemini::request::parse_body(body)?, path_model, stream)
            }
            // The embeddings endpoint shares OpenAI's chat shape for anything chat-like.
            ClientProtocol::OpenAi | ClientProtocol::OpenAiEmbeddings => {
                openai_chat::request::decode(openai_chat::request::parse_body(body)?)
            }
            ClientProtocol::OpenAiResponses => {
                openai_responses::request::decode(openai_responses::request::parse_body(body)?)
            }
            ClientProtocol::Anthropic => {
                anthropic::request::decode(anthropic::request::parse_body(body)?, false)
            }
        }
    }

    /// Renders a complete answer to `request`.
    pub fn encode_response(self, response: &ChatResponse, request: &ChatRequest) -> Response {
        match self {
            // `/api/request` answers are built with their metadata by the request path.
            ClientProtocol::OpenAi | ClientProtocol::OpenAiEmbeddings | ClientProtocol::Simple => {
                axum::Json(openai_chat::response::encode(response)).into_response()
            }
            // Served by a Responses channel: the upstream's own body.
            ClientProtocol::OpenAiResponses if response.native.is_some() => (
                [(header::CONTENT_TYPE, "application/json")],
                response.native.clone().unwrap_or_default(),
            )
                .into_response(),
            ClientProtocol::OpenAiResponses => axum::Json(openai_responses::response::encode(
                response,
                &request.tool_namespaces,
            ))
            .into_response(),
            ClientProtocol::Anthropic => {
                axum::Json(anthropic::response::encode(response)).into_response()
            }
            ClientProtocol::Gemini { .. } => {
                axum::Json(gemini::response::encode(response)).into_response()
            }
        }
    }

    /// The encoder for a stream answering `request`; `native`: the upstream speaks the client's
    /// protocol and its events pass through unchanged.
    pub fn stream_encoder(self, request: &ChatRequest, native: bool) -> StreamEncoder {
        match self {
            ClientProtocol::OpenAi | ClientProtocol::OpenAiEmbeddings | ClientProtocol::Simple => {
                StreamEncoder::OpenAi(openai_chat::stream::ChunkEncoder::new(
                    request.include_usage,
                ))
            }
            ClientProtocol::OpenAiResponses => {
                StreamEncoder::Responses(openai_responses::stream::ResponseEncoder::new(
                    request.tool_namespaces.clone(),
                    native,
                ))
            }
            ClientProtocol::Anthropic => {
                StreamEncoder::Anthropic(anthropic::stream::EventEncoder::new())
            }
            ClientProtocol::Gemini { sse, .. } => {
                StreamEncoder::Gemini(gemini::stream::ChunkEncoder::new(sse))
            }
        }
    }

    /// The protocol a request to `path` speaks, for answers given before a handler runs
    /// (unknown URLs, wrong methods, oversized headers): Anthropic under `/v1/messages`, Gemini
    /// under `/v1beta/` and for `/v1/models/{model}:{action}`, OpenAI elsewhere.
    pub fn for_path(path: &str) -> ClientProtocol {
        if path.starts_with("/v1/messages") {
            ClientProtocol::Anthropic
        } else if path.starts_with("/v1beta/")
            || (path.starts_with("/v1/models/") && path.contains(':'))
        {
            ClientProtocol::Gemini {
                stream: false,
                sse: false,
            }
        } else if path.starts_with("/v1/responses") {
            ClientProtocol::OpenAiResponses
        } else {
            ClientProtocol::OpenAi
        }
    }

    /// The status an error is rendered with for this protocol's clients.
    pub fn error_status(self, error: &GatewayError) -> axum::http::StatusCode {
        match self {
            ClientProtocol::OpenAi
            | ClientProtocol::OpenAiResponses
            | ClientProtocol::OpenAiEmbeddings
            | ClientProtocol::Simple => openai_chat::error::status_and_type(error).0,
            ClientProtocol::Anthropic => anthropic::error::status_and_type(error).0,
            ClientProtocol::Gemini { .. } => gemini::error::status_and_name(error).0,
        }
    }

    /// Renders an error in this protocol's shape (the Responses API uses OpenAI's error object).
    pub fn error_response(self, error: &GatewayError) -> Response {
        match self {
            ClientProtocol::OpenAi
            | ClientProtocol::OpenAiResponses
            | ClientProtocol::OpenAiEmbeddings
            | ClientProtocol::Simple => openai_chat::error::error_response(error),
            ClientProtocol::Anthropic => anthropic::error::error_response(error),
            ClientProtocol::Gemini { .. } => gemini::error::error_response(error),
        }
    }
}

/// Canonical stream events → the client protocol's stream, one event at a time.
pub enum StreamEncoder {
    OpenAi(openai_chat::stream::ChunkEncoder),
    Responses(openai_responses::stream::ResponseEncoder),
    Anthropic(anthropic::stream::EventEncoder),
    Gemini(gemini::stream::ChunkEncoder),
}

impl StreamEncoder {
    /// The bytes for one event; `None` when it produces nothing by itself.
    pub fn encode(&mut self, event: StreamEvent) -> Option<Bytes> {
        match self {
            StreamEncoder::OpenAi(encoder) => encoder.encode(event),
            StreamEncoder::Responses(encoder) => encoder.encode(event),
            StreamEncoder::Anthropic(encoder) => encoder.encode(event),
            StreamEncoder::Gemini(encoder) => encoder.encode(event),
        }
    }

    /// The closing bytes of a stream that completed.
    pub fn finish(&mut self) -> Bytes {
        match self {
            StreamEncoder::OpenAi(encoder) => encoder.finish(),
            StreamEncoder::Responses(encoder) => encoder.finish(),
            StreamEncoder::Anthropic(encoder) => encoder.finish(),
            StreamEncoder::Gemini(encoder) => encoder.finish(),
        }
    }

    /// The in-band error for a stream that broke after it started.
    pub fn error(&mut self, error: &GatewayError) -> Bytes {
        match self {
            StreamEncoder::OpenAi(_) => openai_chat::error::stream_error(error),
            StreamEncoder::Responses(encoder) => encoder.error(error),
            StreamEncoder::Anthropic(_) => anthropic::error::stream_error(error),
            StreamEncoder::Gemini(encoder) => encoder.error(error),
        }
    }

    pub fn usage(&self) -> Option<Usage> {
        match self {
            StreamEncoder::OpenAi(encoder) => encoder.usage(),
            StreamEncoder::Responses(encoder) => encoder.usage(),
            StreamEncoder::Anthropic(encoder) => encoder.usage(),
            StreamEncoder::Gemini(encoder) => encoder.usage(),
        }
    }
}
