//! The canonical model: one request, response and stream-event type that every client protocol
//! converts into and every provider converts out of.
//!
//! Nothing converts protocol to protocol directly. Fields that only one protocol family
//! understands travel in `extensions` (and, for what only the client's own protocol can carry,
//! `unportable`) and are forwarded only to upstreams of that family; for any other target,
//! `protocols::fit` drops them (named in `x-switchboard-dropped`) or refuses the request with a
//! clear 400, by the `unsupported` rule. The one exception to "through the canonical model": an
//! OpenAI Responses client served by a Responses channel, whose request and answer carry state
//! (encrypted reasoning, stored responses, hosted-tool items) no other protocol can hold, passes
//! through unchanged (`ChatRequest::native`, `StreamEvent::Native`) while the canonical request and
//! events still drive limits, routing and accounting.

mod embeddings;
mod request;
mod response;
mod stream;
mod usage;

pub use embeddings::{EmbeddingInput, EmbeddingRequest, EmbeddingResponse};
pub use request::{
    CacheControl, ChatRequest, ContentPart, Family, Message, NamespacedTool, ResponseFormat, Role,
    RoutingPreferences, Sampling, Tool, ToolChoice, Unportable, UnportableKind, UnsupportedPolicy,
};
pub use response::{ChatResponse, Choice, FinishReason};
pub use stream::{Decoded, EventStream, StreamEvent};
pub use usage::Usage;
