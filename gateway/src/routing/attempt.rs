//! The attempt loop: sends a request to its candidate channels in order until one answers.
//!
//! The failover contract, in one place:
//! - An attempt that fails *before it is committed* with a retryable failure (connect error,
//!   timeout, 408/409/429/5xx, an unparseable answer, a stream that breaks before its first
//!   event) moves on to the next candidate, within the request's overall deadline.
//! - A non-retryable failure (400, 401, 403, 404, 422 …) is returned at once: another channel
//!   would refuse the same request.
//! - A channel whose provider cannot take the request (a content part with no equivalent, a
//!   parameter refused by the `unsupported` rule, an operation it lacks) is skipped before
//!   anything is sent, without counting as an attempt or against the channel: another provider
//!   may take it. Only when no channel could even be tried is the first such refusal returned;
//!   otherwise the last real upstream failure is.
//! - A non-streaming attempt commits when its whole body has been parsed; a streaming attempt
//!   commits when its first canonical event has been parsed. After that nothing is retried: a
//!   stream that breaks later ends with the client protocol's error event.
//!
//! Every attempt ends in one classified outcome that feeds health and metrics alike.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use tracing::{Instrument, debug_span};

use crate::app::AppState;
use crate::canonical::{
    ChatRequest, ChatResponse, Decoded, EmbeddingRequest, EmbeddingResponse, EventStream,
    StreamEvent,
};
use crate::config::{Channel, MockSettings, Route};
use crate::error::{ErrorKind, GatewayError};
use crate::protocols::fit::Fit;
use crate::providers::{
    self, HttpProvider, ProviderKind, StreamDecoder, StreamFraming, UpstreamFailure,
    UpstreamRequest,
};
use crate::telemetry::metrics;

use super::failure::{self, timeout_failure, transport_failure};

/// What is being asked of the upstream.
#[derive(Clone, Copy)]
pub enum Operation<'a> {
    Chat(&'a ChatRequest),
    Embeddings(&'a EmbeddingRequest),
}

/// A committed answer.
pub enum Answer {
    Complete(ChatResponse),
    Stream(EventStream),
    Embeddings(EmbeddingResponse),
}

/// The answer plus where it came from.
pub struct Served {
    pub answer: Answer,
    pub route: Arc<Route>,
    pub attempts: u32,
    /// How the serving attempt's request was translated.
    pub translation: Translation,
}

/// What became of a request on its way up.
#[derive(Debug, Default)]
pub struct Translation {
    /// What the upstream request left out (`x-switchboard-dropped`).
    pub dropped: Vec<String>,
    /// The request went up in the client's own protocol, and the answer comes back unchanged.
    pub native: bool,
}

/// Why no answer could be had, and how many attempts were made.
pub struct Exhausted {
    pub error: GatewayError,
    pub attempts: u32,
}

/// Tries `routes` in order until one commits.
pub async fn run(
    app: &AppState,
    routes: Vec<Arc<Route>>,
    operation: Operation<'_>,
    deadline: Instant,
) -> Result<Served, Exhausted> {
    let mut last_failure: Option<UpstreamFailure> = None;
    // Why the first channel that could not take the request refused it; returned only when no
    // channel was even tried.
    let mut refusal: Option<GatewayError> = None;
    let mut attempts = 0;
    for route in routes {
        let channel = &route.channel;
        let prepared = match prepare(&route, operation) {
            Ok(prepared) => prepared,
            Err(error) => {
                tracing::debug!(channel = %channel.name, error = %error, "channel cannot take this request");
                refusal.get_or_insert(error);
                continue;
            }
        };
        // Cooling channels come last, so reaching one means nothing healthy is left: wait for its
        // recovery if the deadline allows, rather than failing at once.
        if let Some(wait) = app.health.cooling_remaining(channel.index)
            && Instant::now() + wait < deadline
        {
            tokio::time::sleep(wait).await;
        }
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            break;
        }
        if let Some(cap) = channel.max_concurrent
            && app.health.in_flight(channel.index) >= cap
        {
            let message = format!(
                "upstream channel `{}` is at its limit of {cap} concurrent requests",
                channel.name
            );
            last_failure.get_or_insert(UpstreamFailure {
                error: GatewayError::new(ErrorKind::Unavailable, message),
                retryable: true,
                channel_fault: false,
            });
            continue;
        }
        attempts += 1;
        let span = debug_span!("attempt", channel = %channel.name, provider = channel.kind.as_str(), attempt = attempts);
        let started = Instant::now();
        let in_flight = app.health.begin(channel.index);
        let outcome = attempt(&route, prepared, operation, remaining)
            .instrument(span)
            .await;
        match outcome {
            Ok((answer, translation)) => {
                app.health.record_success(channel.index, started.elapsed());
                app.health.observe_latency(channel.index, started.elapsed());
                // A stream stays in flight on its channel until it ends.
                let answer = match answer {
                    Answer::Stream(events) => Answer::Stream(Box::pin(events.map(move |event| {
                        let _counted = &in_flight;
                        event
                    }))),
                    other => other,
                };
                route.metrics.attempt_succeeded(started.elapsed());
                return Ok(Served {
                    answer,
                    route,
                    attempts,
                    translation,
                });
            }
            Err(failure) => {
                metrics::attempt(
                    &channel.name,
                    if failure.retryable {
                        "retryable_error"
                    } else {
                        "error"
                    },
                    started.elapsed(),
                );
                tracing::warn!(channel = %channel.name, attempt = attempts, retryable = failure.retryable, error = %failure.error, "upstream attempt failed");
                if failure.channel_fault {
                    app.health.record_failure(
                        channel.index,
                        &failure.error.message,
                        started.elapsed(),
                    );
                }
                // An upstream that says when to come back is left alone until then.
                if let (ErrorKind::RateLimited, Some(retry_after)) =
                    (failure.error.kind, failure.error.retry_after)
                {
                    app.health.cool_for(channel.index, retry_after);
                }
                if !failure.retryable {
                    return Err(Exhausted {
                        error: failure.error,
                        attempts,
                    });
                }
                last_failure = Some(failure);
            }
        }
    }
    let error = match (last_failure, refusal) {
        (Some(failure), _) => failure.error,
        (None, Some(refusal)) => refusal,
        (None, None) => GatewayError::new(
            ErrorKind::GatewayTimeout,
            "the request's deadline passed before any channel answered",
        ),
    };
    Err(Exhausted { error, attempts })
}

/// A request built for one channel and ready to go, or the mock provider's turn.
enum Prepared {
    Mock,
    Http(Box<HttpAttempt>),
}

/// What an HTTP attempt sends and how it reads the answer.
struct HttpAttempt {
    provider: &'static dyn HttpProvider,
    upstream: UpstreamRequest,
    stream: bool,
    translation: Translation,
}

/// Builds the upstream request for `route`. Fails — before anything is sent — when the channel's
/// provider cannot take the request: it lacks the operation, or the `unsupported` rule refuses
/// something in it. The next candidate may take it.
fn prepare(route: &Route, operation: Operation<'_>) -> Result<Prepared, GatewayError> {
    let channel = &route.channel;
    let upstream_model = &*route.upstream_model;
    let provider = match (
        channel.kind,
        providers::http_provider(channel.kind, channel.api),
    ) {
        (ProviderKind::Mock, _) => return Ok(Prepared::Mock),
        (_, Some(provider)) => provider,
        (kind, None) => {
            let message = format!("provider `{}` has no HTTP adapter", kind.as_str());
            return Err(GatewayError::new(ErrorKind::Internal, message));
        }
    };
    let missing_endpoint = || {
        GatewayError::invalid(format!(
            "channel `{}` ({}) does not offer this operation",
            channel.name,
            channel.kind.as_str()
        ))
    };
    let mut translation = Translation::default();
    let (upstream, stream) = match operation {
        Operation::Chat(request) => {
            let endpoint = if request.stream {
                &route.stream_endpoint
            } else {
                &route.endpoint
            };
            let endpoint = endpoint.as_ref().ok_or_else(missing_endpoint)?;
            let (family, target) = provider.target();
            let policy = request.unsupported.unwrap_or(channel.unsupported);
            let mut fit = Fit::new(policy, family, target);
            let upstream =
                provider.build_request(channel, request, upstream_model, endpoint, &mut fit)?;
            translation.native = fit.native();
            translation.dropped = fit.into_dropped();
            (upstream, request.stream)
        }
        Operation::Embeddings(request) => {
            let endpoint = route
                .embeddings_endpoint
                .as_ref()
                .ok_or_else(missing_endpoint)?;
            let upstream =
                provider.build_embeddings_request(channel, request, upstream_model, endpoint)?;
            (upstream, false)
        }
    };
    Ok(Prepared::Http(Box::new(HttpAttempt {
        provider,
        upstream,
        stream,
        translation,
    })))
}

/// One attempt: the answer and how its request was translated, or how it failed.
async fn attempt(
    route: &Route,
    prepared: Prepared,
    operation: Operation<'_>,
    remaining: Duration,
) -> Result<(Answer, Translation), UpstreamFailure> {
    let channel = &route.channel;
    let upstream_model = &*route.upstream_model;
    let (provider, upstream, stream, translation) = match prepared {
        Prepared::Mock => {
            let answer = mock_answer(&channel.mock, operation, upstream_model).await;
            return Ok((answer, Translation::default()));
        }
        Prepared::Http(http) => {
            let HttpAttempt {
                provider,
                upstream,
                stream,
                translation,
            } = *http;
            (provider, upstream, stream, translation)
        }
    };
    let first_byte = channel.timeouts.first_byte.min(remaining);
    let started = Instant::now();
    let send = channel
        .http
        .post(upstream.url)
        .headers(upstream.headers)
        .body(upstream.body)
        .send();
    let response = match tokio::time::timeout(first_byte, send).await {
        Err(_) => return Err(timeout_failure(channel, first_byte)),
        Ok(Err(error)) => return Err(transport_failure(channel, &error)),
        Ok(Ok(response)) => response,
    };
    let status = response.status();
    if !status.is_success() {
        let headers = response.headers().clone();
        let body = read_body(
            channel,
            response,
            remaining.saturating_sub(started.elapsed()),
        )
        .await?;
        return Err(provider.classify_error(channel, status, &headers, &body));
    }
    if stream {
        let events = upstream_events(response, provider, route, translation.native);
        let answer = commit_stream(
            channel,
            events,
            first_byte.saturating_sub(started.elapsed()),
        )
        .await?;
        return Ok((answer, translation));
    }
    let budget = channel
        .timeouts
        .total
        .min(remaining)
        .saturating_sub(started.elapsed());
    let body = read_body(channel, response, budget).await?;
    let parsed = match operation {
        Operation::Chat(_) => provider
            .parse_response(&body, upstream_model)
            .map(|mut response| {
                if translation.native {
                    response.native = Some(body.clone());
                }
                Answer::Complete(response)
            }),
        Operation::Embeddings(_) => provider.parse_embeddings(&body).map(Answer::Embeddings),
    };
    let answer = parsed.map_err(|error| UpstreamFailure {
        error: failure::from_channel(&channel.name, error),
        retryable: true,
        channel_fault: true,
    })?;
    Ok((answer, translation))
}

async fn mock_answer(settings: &MockSettings, operation: Operation<'_>, model: &str) -> Answer {
    match operation {
        Operation::Chat(request) if request.stream => {
            Answer::Stream(providers::mock::stream(settings, request, model))
        }
        Operation::Chat(request) => {
            Answer::Complete(providers::mock::respond(settings, request, model).await)
        }
        Operation::Embeddings(request) => {
            Answer::Embeddings(providers::mock::embed(request, model))
        }
    }
}

async fn read_body(
    channel: &Channel,
    response: reqwest::Response,
    budget: Duration,
) -> Result<bytes::Bytes, UpstreamFailure> {
    match tokio::time::timeout(budget, response.bytes()).await {
        Err(_) => Err(timeout_failure(channel, budget)),
        Ok(Err(error)) => Err(transport_failure(channel, &error)),
        Ok(Ok(body)) => Ok(body),
    }
}

/// Waits for the first canonical event; only then is the stream the client's.
async fn commit_stream(
    channel: &Channel,
    mut events: EventStream,
    budget: Duration,
) -> Result<Answer, UpstreamFailure> {
    match tokio::time::timeout(budget, events.next()).await {
        Err(_) => Err(timeout_failure(channel, budget)),
        Ok(None) => Err(UpstreamFailure {
            error: GatewayError::new(
                ErrorKind::BadGateway,
                format!(
                    "upstream channel `{}` closed the stream before sending anything",
                    channel.name
                ),
            ),
            retryable: true,
            channel_fault: true,
        }),
        Ok(Some(Err(error))) => Err(UpstreamFailure {
            error,
            retryable: true,
            channel_fault: true,
        }),
        Ok(Some(Ok(first))) => Ok(Answer::Stream(Box::pin(
            futures_util::stream::once(async { Ok(first) }).chain(events),
        ))),
    }
}

/// Upstream stream → canonical events, with the channel's idle timeout between events.
fn upstream_events(
    response: reqwest::Response,
    provider: &'static dyn HttpProvider,
    route: &Route,
    native: bool,
) -> EventStream {
    let channel = &route.channel;
    let source: EventSource = match provider.stream_framing() {
        StreamFraming::Sse => Box::pin(response.bytes_stream().eventsource().map(|event| {
            event
                .map(|event| (event.event, event.data))
                .map_err(|error| failure::stream_reason(&error))
        })),
        StreamFraming::AwsEventStream => Box::pin(providers::bedrock::frames::events(Box::pin(
            response.bytes_stream(),
        ))),
    };
    let mut decoder = provider.stream_decoder(&route.upstream_model);
    if native {
        decoder.pass_through();
    }
    let state = UpstreamStream {
        source,
        decoder,
        pending: VecDeque::new(),
        idle: channel.timeouts.idle,
        ends_by: Instant::now() + channel.timeouts.total,
        channel: channel.name.clone(),
        finished: false,
        done: false,
    };
    Box::pin(futures_util::stream::unfold(
        state,
        |mut state| async move { state.next_event().await.map(|event| (event, state)) },
    ))
}

/// Upstream events as `(event name, payload)`, whatever the framing.
type EventSource =
    std::pin::Pin<Box<dyn futures_util::Stream<Item = Result<(String, String), String>> + Send>>;

struct UpstreamStream {
    source: EventSource,
    decoder: StreamDecoder,
    pending: VecDeque<StreamEvent>,
    idle: Duration,
    /// The stream's total deadline (the channel's `total_ms`).
    ends_by: Instant,
    channel: String,
    /// A finish reason was seen: a close without `[DONE]` is then still a complete answer.
    finished: bool,
    done: bool,
}

impl UpstreamStream {
    async fn next_event(&mut self) -> Option<Result<StreamEvent, GatewayError>> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                if matches!(event, StreamEvent::Finish { .. }) {
                    self.finished = true;
                }
                return Some(Ok(event));
            }
            if self.done {
                return None;
            }
            let until_end = self.ends_by.saturating_duration_since(Instant::now());
            let next =
                match tokio::time::timeout(self.idle.min(until_end), self.source.next()).await {
                    Err(_) if until_end <= self.idle => {
                        return self.fail(
                        ErrorKind::GatewayTimeout,
                        format!(
                            "the stream from upstream channel `{}` exceeded its total time limit",
                            self.channel
                        ),
                    );
                    }
                    Err(_) => {
                        return self.fail(
                            ErrorKind::GatewayTimeout,
                            format!(
                                "upstream channel `{}` sent nothing for {:.1}s mid-stream",
                                self.channel,
                                self.idle.as_secs_f64()
                            ),
                        );
                    }
                    Ok(next) => next,
                };
            match next {
                None if self.finished => {
                    self.done = true;
                }
                None => {
                    return self.fail(
                        ErrorKind::BadGateway,
                        format!(
                            "upstream channel `{}` ended the stream before the answer was complete",
                            self.channel
                        ),
                    );
                }
                Some(Err(error)) => {
                    return self.fail(
                        ErrorKind::BadGateway,
                        format!(
                            "the stream from upstream channel `{}` broke: {error}",
                            self.channel
                        ),
                    );
                }
                Some(Ok((event, data))) => match self.decoder.decode(&event, &data) {
                    Ok(Decoded::Done) => self.done = true,
                    Ok(Decoded::Events(events)) => self.pending.extend(events),
                    Err(error) => {
                        self.done = true;
                        return Some(Err(failure::from_channel(&self.channel, error)));
                    }
                },
            }
        }
    }

    fn fail(
        &mut self,
        kind: ErrorKind,
        message: String,
    ) -> Option<Result<StreamEvent, GatewayError>> {
        self.done = true;
        Some(Err(GatewayError::new(kind, message)))
    }
}
