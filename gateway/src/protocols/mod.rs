//! Inbound client protocols. Each protocol parses its requests into the canonical model and
//! renders responses, stream events and errors in its own shape; the request path remembers
//! which protocol a caller speaks so that every answer, including every error, goes back in it.

pub mod models;
pub mod openai_chat;

use axum::response::Response;

use crate::error::GatewayError;

/// The protocol a client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientProtocol {
    /// OpenAI's API: chat completions, models.
    OpenAi,
}

impl ClientProtocol {
    pub fn as_str(self) -> &'static str {
        match self {
            ClientProtocol::OpenAi => "openai",
        }
    }

    /// Renders an error in this protocol's shape.
    pub fn error_response(self, error: &GatewayError) -> Response {
        match self {
            ClientProtocol::OpenAi => openai_chat::error::error_response(error),
        }
    }
}
