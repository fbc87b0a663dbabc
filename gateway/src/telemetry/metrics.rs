//! Metric names and the functions that record them, so every call site uses the same names
//! and labels. Labels are bounded by configuration (protocol, model as configured, channel,
//! outcome); never a key, a user or a request id.

use std::time::Duration;

use metrics::{Unit, counter, describe_counter, describe_histogram, histogram};

use crate::canonical::Usage;

pub const REQUESTS: &str = "switchboard_requests_total";
pub const REQUEST_DURATION: &str = "switchboard_request_duration_seconds";
pub const TIME_TO_FIRST_TOKEN: &str = "switchboard_time_to_first_token_seconds";
pub const TOKENS: &str = "switchboard_tokens_total";
pub const ATTEMPTS: &str = "switchboard_upstream_attempts_total";
pub const ATTEMPT_DURATION: &str = "switchboard_upstream_attempt_duration_seconds";
pub const STREAMS: &str = "switchboard_streams_total";
pub const COST: &str = "switchboard_cost_microdollars_total";

pub fn describe() {
    describe_counter!(
        REQUESTS,
        "Client requests by protocol, model, channel and HTTP status"
    );
    describe_histogram!(
        REQUEST_DURATION,
        Unit::Seconds,
        "Time from request to the end of the response"
    );
    describe_histogram!(
        TIME_TO_FIRST_TOKEN,
        Unit::Seconds,
        "Time from request to the first streamed event"
    );
    describe_counter!(
        TOKENS,
        "Tokens by model, channel and kind (input, cache_read, cache_write, output, reasoning)"
    );
    describe_counter!(ATTEMPTS, "Upstream attempts by channel and outcome");
    describe_histogram!(
        ATTEMPT_DURATION,
        Unit::Seconds,
        "Upstream attempt time until commit or failure"
    );
    describe_counter!(
        COST,
        "Spend in micro-dollars (USD / 1,000,000) by model and channel, from the price table"
    );
    describe_counter!(
        STREAMS,
        "Streams by how they ended: complete, client_cancelled, upstream_error"
    );
}

pub fn request(protocol: &'static str, model: &str, channel: &str, status: u16, elapsed: Duration) {
    counter!(REQUESTS, "protocol" => protocol, "model" => model.to_owned(), "channel" => channel.to_owned(), "status" => status.to_string())
        .increment(1);
    histogram!(REQUEST_DURATION, "protocol" => protocol).record(elapsed.as_secs_f64());
}

pub fn time_to_first_token(protocol: &'static str, elapsed: Duration) {
    histogram!(TIME_TO_FIRST_TOKEN, "protocol" => protocol).record(elapsed.as_secs_f64());
}

pub fn attempt(channel: &str, outcome: &'static str, elapsed: Duration) {
    counter!(ATTEMPTS, "channel" => channel.to_owned(), "outcome" => outcome).increment(1);
    histogram!(ATTEMPT_DURATION, "channel" => channel.to_owned()).record(elapsed.as_secs_f64());
}

pub fn stream_ended(outcome: &'static str) {
    counter!(STREAMS, "outcome" => outcome).increment(1);
}

/// Handles for the success path of one (model, channel) pair, registered once when the config is
/// compiled so a served request records its metrics without building label sets.
pub struct RouteMetrics {
    requests_ok: metrics::Counter,
    tokens: [metrics::Counter; 5],
    attempts_ok: metrics::Counter,
    attempt_duration: metrics::Histogram,
    cost: metrics::Counter,
}

const TOKEN_KINDS: [&str; 5] = ["input", "cache_read", "cache_write", "output", "reasoning"];

impl RouteMetrics {
    pub fn new(model: &str, channel: &str) -> Self {
        let model = model.to_owned();
        let channel = channel.to_owned();
        RouteMetrics {
            requests_ok: counter!(REQUESTS, "protocol" => "openai", "model" => model.clone(), "channel" => channel.clone(), "status" => "200"),
            tokens: TOKEN_KINDS.map(|kind| {
                counter!(TOKENS, "model" => model.clone(), "channel" => channel.clone(), "kind" => kind)
            }),
            attempts_ok: counter!(ATTEMPTS, "channel" => channel.clone(), "outcome" => "success"),
            cost: counter!(COST, "model" => model.clone(), "channel" => channel.clone()),
            attempt_duration: histogram!(ATTEMPT_DURATION, "channel" => channel),
        }
    }

    pub fn attempt_succeeded(&self, elapsed: Duration) {
        self.attempts_ok.increment(1);
        self.attempt_duration.record(elapsed.as_secs_f64());
    }

    /// A request this route served with status 200, and what it cost (micro-dollars).
    pub fn served(
        &self,
        protocol: &'static str,
        usage: Option<&Usage>,
        cost: Option<u64>,
        elapsed: Duration,
    ) {
        self.requests_ok.increment(1);
        if let Some(cost) = cost.filter(|cost| *cost > 0) {
            self.cost.increment(cost);
        }
        histogram!(REQUEST_DURATION, "protocol" => protocol).record(elapsed.as_secs_f64());
        if let Some(usage) = usage {
            let counts = [
                usage.input_tokens,
                usage.cache_read_tokens,
                usage.cache_write_tokens,
                usage.output_tokens,
                usage.reasoning_tokens,
            ];
            for (counter, count) in self.tokens.iter().zip(counts) {
                if count > 0 {
                    counter.increment(count);
                }
            }
        }
    }
}
