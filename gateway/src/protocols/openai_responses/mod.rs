//! OpenAI Responses (`POST /v1/responses`): what the Codex CLI and newer OpenAI SDK code speak.
//! Inbound only: requests become canonical requests for any upstream, answers and streams are
//! rendered as Responses objects and lifecycle events.

pub mod request;
pub mod response;
pub mod stream;
