//! Anthropic Messages (`POST /v1/messages`, `POST /v1/messages/count_tokens`): the wire format
//! and its conversions to and from the canonical model, for the inbound protocol and the
//! outbound Anthropic provider alike.

pub mod betas;
pub mod error;
pub mod request;
pub mod response;
pub mod stream;
pub mod upstream;
pub mod wire;
