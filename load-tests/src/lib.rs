//! Test and benchmark tooling for Switchboard: fake upstream providers that speak the real wire
//! formats (for the gateway's integration tests and as benchmark baselines) and a load generator.
//!
//! Nothing here is on the gateway's request path; the gateway only depends on this crate as a
//! dev-dependency.

pub mod fake;
pub mod loadgen;

pub use fake::{
    BedrockCredentials, Behaviour, ErrorReply, FakeOptions, FakeProvider, RecordedRequest, Reply,
    Usage as FakeUsage, fake_embedding, gemini_thought_signature, responses_encrypted_content,
    thinking_signature,
};
