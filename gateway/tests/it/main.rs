//! Integration tests: the real gateway binary against the fake OpenAI provider, over real
//! sockets. One test binary for the crate (see STYLE.md), a module per area.

mod agent_clis;
mod agents;
mod anthropic;
mod anthropic_betas;
mod bedrock;
mod chat;
mod cluster;
mod common;
mod deploy;
mod embeddings;
mod errors;
mod gemini;
mod lifecycle;
mod limits;
mod logs;
mod matrix;
mod responses;
mod routing;
mod sdk;
mod stop_sequences;
mod streaming;
