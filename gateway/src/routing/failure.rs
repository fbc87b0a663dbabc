//! Attempts that failed on the way: timeouts and broken connections, told in plain words.
//!
//! A client reads these messages, so they name the upstream channel and say what happened —
//! "the connection was refused", "it closed the connection before the answer was complete" —
//! rather than an HTTP library's internals ("error decoding response body"). The library's own
//! text goes to the log, where an operator may want it.

use std::error::Error as _;
use std::time::Duration;

use crate::config::Channel;
use crate::error::{ErrorKind, GatewayError};
use crate::providers::UpstreamFailure;

pub fn timeout_failure(channel: &Channel, waited: Duration) -> UpstreamFailure {
    UpstreamFailure {
        error: GatewayError::new(
            ErrorKind::GatewayTimeout,
            format!(
                "upstream channel `{}` did not answer within {:.1}s",
                channel.name,
                waited.as_secs_f64()
            ),
        ),
        retryable: true,
        channel_fault: true,
    }
}

pub fn transport_failure(channel: &Channel, error: &reqwest::Error) -> UpstreamFailure {
    let kind = if error.is_connect() {
        ErrorKind::Unavailable
    } else if error.is_timeout() {
        ErrorKind::GatewayTimeout
    } else {
        ErrorKind::BadGateway
    };
    tracing::debug!(channel = %channel.name, error = %chain(error), "upstream transport error");
    UpstreamFailure {
        error: GatewayError::new(
            kind,
            format!(
                "upstream channel `{}` could not be used: {}",
                channel.name,
                plain_reason(error)
            ),
        ),
        retryable: true,
        channel_fault: true,
    }
}

/// An error a provider's parser found in what a channel sent, saying which channel sent it.
pub fn from_channel(channel: &str, mut error: GatewayError) -> GatewayError {
    error.message = format!("upstream channel `{channel}`: {}", error.message);
    error
}

/// Why a stream's bytes stopped making sense, in plain words.
pub fn stream_reason(error: &eventsource_stream::EventStreamError<reqwest::Error>) -> String {
    use eventsource_stream::EventStreamError;
    match error {
        EventStreamError::Transport(error) => plain_reason(error),
        EventStreamError::Utf8(_) => "it sent bytes that are not UTF-8 text".to_owned(),
        EventStreamError::Parser(_) => {
            "it sent something that is not server-sent events".to_owned()
        }
    }
}

/// What went wrong with a connection, as a person would say it.
pub fn plain_reason(error: &reqwest::Error) -> String {
    let mut source = error.source();
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            let reason = match io.kind() {
                std::io::ErrorKind::ConnectionRefused => "the connection was refused",
                std::io::ErrorKind::ConnectionReset => "it reset the connection",
                std::io::ErrorKind::ConnectionAborted => "the connection was aborted",
                std::io::ErrorKind::UnexpectedEof => {
                    "it closed the connection before the answer was complete"
                }
                std::io::ErrorKind::TimedOut => "the connection timed out",
                std::io::ErrorKind::BrokenPipe => "it closed the connection while it was sent to",
                _ => "the connection failed",
            };
            return reason.to_owned();
        }
        if let Some(hyper) = cause.downcast_ref::<hyper::Error>()
            && (hyper.is_incomplete_message() || hyper.is_closed())
        {
            return "it closed the connection before the answer was complete".to_owned();
        }
        if cause.to_string().contains("dns error") {
            return "its host name could not be resolved".to_owned();
        }
        source = cause.source();
    }
    if error.is_connect() {
        "the connection could not be made"
    } else if error.is_timeout() {
        "it did not answer in time"
    } else if error.is_body() || error.is_decode() {
        "the connection broke while the answer was read"
    } else if error.is_request() {
        "the request could not be sent"
    } else {
        "the connection failed"
    }
    .to_owned()
}

/// The library's own account, every cause in order, for the log.
fn chain(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
