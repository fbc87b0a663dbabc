//! The canonical model: one request, response and stream-event type that every client protocol
//! converts into and every provider converts out of.
//!
//! Nothing converts protocol to protocol directly. Fields that only one protocol family
//! understands travel in `extensions` and are forwarded only to upstreams of that family; a
//! target that cannot express them refuses the request with a clear 400 instead of dropping them.

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
