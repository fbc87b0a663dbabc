//! The canonical non-streaming response.

use super::{ContentPart, Usage};

#[derive(Debug, Clone, PartialEq)]
pub struct ChatResponse {
    pub id: String,
    /// Unix seconds.
    pub created: u64,
    /// The model that actually answered, as the upstream reported it.
    pub model: String,
    pub choices: Vec<Choice>,
    pub usage: Option<Usage>,
    pub system_fingerprint: Option<String>,
    pub service_tier: Option<String>,
    /// The upstream's body as it came, when the client speaks the upstream's protocol (an
    /// OpenAI Responses client served by a Responses channel): the client gets it unchanged.
    pub native: Option<bytes::Bytes>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    pub index: u32,
    /// Text, reasoning, refusal and tool-call parts in the order the model produced them.
    pub content: Vec<ContentPart>,
    pub finish_reason: Option<FinishReason>,
    /// Token log-probabilities, when the client asked for them (OpenAI's shape, kept verbatim).
    pub logprobs: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FinishReason {
    /// The model ended its turn.
    Stop,
    /// Generation stopped at one of the request's stop sequences: the sequence, when the
    /// upstream says which (Anthropic and Bedrock do; OpenAI and Gemini report a plain stop).
    StopSequence(Option<String>),
    Length,
    ToolCalls,
    ContentFilter,
    /// A reason the canonical model does not name, kept as the upstream spelled it.
    Other(String),
}

impl FinishReason {
    pub fn as_openai(&self) -> &str {
        match self {
            FinishReason::Stop | FinishReason::StopSequence(_) => "stop",
            FinishReason::Length => "length",
            FinishReason::ToolCalls => "tool_calls",
            FinishReason::ContentFilter => "content_filter",
            FinishReason::Other(other) => other,
        }
    }

    pub fn from_openai(value: &str) -> Self {
        match value {
            "stop" => FinishReason::Stop,
            "length" => FinishReason::Length,
            "tool_calls" | "function_call" => FinishReason::ToolCalls,
            "content_filter" => FinishReason::ContentFilter,
            other => FinishReason::Other(other.to_owned()),
        }
    }
}
