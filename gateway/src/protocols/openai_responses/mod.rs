//! OpenAI Responses (`POST /v1/responses`): what the Codex CLI and newer OpenAI SDK code speak.
//! Inbound, requests become canonical requests for any upstream, and answers and streams are
//! rendered as Responses objects and lifecycle events. Outbound, OpenAI channels with
//! `api: responses` speak it upstream: a Responses client's request passes through unchanged
//! (but for the model) and so does the answer; other clients' requests are encoded from the
//! canonical one.

pub mod events;
pub mod request;
pub mod response;
pub mod stream;
pub mod tools;
pub mod upstream;
