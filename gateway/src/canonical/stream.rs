//! Canonical stream events: what a provider's stream parser yields and a client protocol's
//! stream encoder consumes, one at a time, as they arrive.

use super::{FinishReason, Usage};

#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// The answer has begun; carries the identity every later chunk repeats.
    Start {
        id: String,
        model: String,
        created: u64,
    },
    TextDelta {
        choice: u32,
        text: String,
    },
    ReasoningDelta {
        choice: u32,
        text: String,
    },
    RefusalDelta {
        choice: u32,
        text: String,
    },
    /// The signature that closes the reasoning streamed so far (Anthropic thinking blocks).
    ReasoningSignature {
        choice: u32,
        signature: String,
    },
    /// Encrypted reasoning, passed through whole.
    RedactedReasoning {
        choice: u32,
        data: String,
    },
    /// A tool call begins; `index` numbers the calls within the choice.
    ToolCallStart {
        choice: u32,
        index: u32,
        id: String,
        name: String,
    },
    ToolCallArguments {
        choice: u32,
        index: u32,
        fragment: String,
    },
    Finish {
        choice: u32,
        reason: FinishReason,
    },
    /// Final token counts (the last one seen wins).
    Usage(Usage),
    /// An upstream event exactly as it came, for a client that speaks the upstream's protocol
    /// (an OpenAI Responses client served by a Responses channel): that client's encoder writes
    /// these and nothing else, so hosted-tool items, encrypted reasoning and response ids reach
    /// it unchanged. The canonical events decoded from the same upstream event come before it,
    /// for usage, finish and first-event timing. `sequence` is the event's own sequence number;
    /// `terminal` marks the event that ends the answer (completed, incomplete or failed).
    Native {
        frame: bytes::Bytes,
        sequence: u64,
        terminal: bool,
    },
}

/// What one upstream stream payload meant.
pub enum Decoded {
    Events(Vec<StreamEvent>),
    /// The upstream finished cleanly (`[DONE]`, `message_stop`).
    Done,
}

/// A stream of canonical events as a provider yields them; an `Err` ends the stream abnormally.
pub type EventStream = std::pin::Pin<
    Box<dyn futures_util::Stream<Item = Result<StreamEvent, crate::error::GatewayError>> + Send>,
>;
