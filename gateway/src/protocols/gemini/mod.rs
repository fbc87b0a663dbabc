//! Google Gemini (`/v1beta/models/{model}:generateContent`, `:streamGenerateContent`,
//! `:countTokens`): the wire format and its conversions to and from the canonical model, for
//! the inbound protocol and the outbound Gemini provider alike.

pub mod error;
pub mod request;
pub mod response;
pub mod stream;
pub mod upstream;
pub mod wire;
