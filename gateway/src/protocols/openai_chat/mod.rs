//! OpenAI Chat Completions (`POST /v1/chat/completions`): the wire format, and its conversions
//! to and from the canonical model in both directions — the inbound protocol and the
//! OpenAI-compatible provider share them, so the mapping lives in one place.

pub mod error;
pub mod request;
pub mod response;
pub mod stream;
pub mod upstream;
pub mod wire;
