//! Canonical embeddings: one request type and one response type every protocol and provider
//! converts to and from.

#[derive(Debug, Clone, PartialEq)]
pub enum EmbeddingInput {
    Text(String),
    /// Pre-tokenized input (OpenAI accepts token ids).
    Tokens(Vec<u32>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct EmbeddingRequest {
    pub model: String,
    pub inputs: Vec<EmbeddingInput>,
    /// Requested vector size, for models that can shorten their vectors.
    pub dimensions: Option<u32>,
    /// The client wants vectors as base64 of little-endian f32 (the OpenAI SDKs' default).
    pub base64: bool,
    pub user: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EmbeddingResponse {
    /// The model that answered.
    pub model: String,
    /// One vector per input, in input order.
    pub vectors: Vec<Vec<f32>>,
    pub input_tokens: u64,
}
