//! Integration tests for the load-test tooling: the fake provider over real sockets, and the load
//! generator against it. One test binary; a module per area.

mod common;
mod fake_anthropic;
mod fake_anthropic_betas;
mod fake_anthropic_rules;
mod fake_bedrock;
mod fake_bedrock_auth;
mod fake_bedrock_embed;
mod fake_chat;
mod fake_embeddings;
mod fake_gemini;
mod fake_gemini_rules;
mod fake_responses;
mod fake_responses_rules;
mod fake_responses_stream;
mod fake_stop;
mod fake_stream;
mod loadgen;
