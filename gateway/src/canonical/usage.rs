//! Token usage, normalised once.
//!
//! Providers count differently: OpenAI's `prompt_tokens` includes cached tokens, Anthropic's
//! `input_tokens` excludes them. The canonical form keeps disjoint buckets so that pricing never
//! bills a token twice: uncached input, cache reads, cache writes, and output (which includes
//! reasoning; `reasoning_tokens` says how much of it was reasoning).

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Input tokens that were neither read from nor written to a prompt cache.
    pub input_tokens: u64,
    pub cache_read_tokens: u64,
    pub cache_write_tokens: u64,
    /// All generated tokens, reasoning included.
    pub output_tokens: u64,
    /// The part of `output_tokens` spent on reasoning.
    pub reasoning_tokens: u64,
}

impl Usage {
    /// Every input token, however it was billed.
    pub fn total_input(&self) -> u64 {
        self.input_tokens + self.cache_read_tokens + self.cache_write_tokens
    }

    pub fn total(&self) -> u64 {
        self.total_input() + self.output_tokens
    }
}
