//! `POST /v1/chat/completions`: the request path of DESIGN.md, step by step — principal,
//! limits, body, canonical request, model and permission, candidates, attempts, response,
//! accounting.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::StreamExt;
use tracing::{Instrument, debug_span, field};

use super::body;
use crate::accounting::{self, UsageRecord};
use crate::app::AppState;
use crate::canonical::{EventStream, StreamEvent};
use crate::config::{Route, Snapshot};
use crate::error::{ErrorKind, GatewayError};
use crate::policy::{self, Admission};
use crate::protocols::{ClientProtocol, StreamEncoder, openai_embeddings};
use crate::routing::{
    self,
    attempt::{Answer, Operation},
};
use crate::state::RateStatus;
use crate::telemetry::metrics;

/// What is known about a request so far, for its usage record.
struct Context {
    protocol: ClientProtocol,
    /// The model named in the URL (Gemini), empty otherwise.
    path_model: String,
    /// A key passed as `?key=` (Gemini clients).
    query_key: Option<String>,
    request_id: String,
    started: Instant,
    key_name: String,
    /// The key's tenant, when it has one.
    tenant: Option<String>,
    /// Write an access log line when the request ends.
    access_log: bool,
    model: String,
    /// The route that served the request, once one has.
    route: Option<Arc<Route>>,
    attempts: u32,
    /// The request's limits, until it is settled.
    admission: Option<Admission>,
    /// For the `x-ratelimit-*` headers: (limit, state) of the tightest requests and tokens
    /// buckets.
    rate_limits: [Option<(u64, RateStatus)>; 2],
    /// For `x-switchboard-budget-remaining-usd`: the least the request's budgets have left.
    budget_remaining: Option<u64>,
    /// For `x-switchboard-dropped`: what the serving attempt left out of its upstream request.
    dropped: Vec<String>,
}

impl Context {
    /// Settles the request's limits with what it used; without a usage report the estimate
    /// stays charged.
    fn settle(&mut self, usage: Option<crate::canonical::Usage>) {
        let Some(admission) = self.admission.take() else {
            return;
        };
        if let Some(usage) = usage {
            admission.settle(&usage, self.route.as_ref().and_then(|route| route.price));
        }
    }
}

/// How long a concurrency lease outlives the longest a request may run, should its node die
/// holding it.
const LEASE_SLACK: Duration = Duration::from_secs(60);

/// `POST /v1/chat/completions` (OpenAI).
pub async fn openai_chat_completions(
    State(app): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    serve_chat(
        ClientProtocol::OpenAi,
        Target::default(),
        app,
        headers,
        body,
    )
    .await
}

/// `POST /v1/responses` (OpenAI Responses).
pub async fn openai_responses(
    State(app): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    serve_chat(
        ClientProtocol::OpenAiResponses,
        Target::default(),
        app,
        headers,
        body,
    )
    .await
}

/// `POST /api/request` (the simple JSON endpoint).
pub async fn simple_request(
    State(app): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    serve_chat(
        ClientProtocol::Simple,
        Target::default(),
        app,
        headers,
        body,
    )
    .await
}

/// `POST /v1/embeddings` (OpenAI).
pub async fn openai_embeddings(
    State(app): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    serve_chat(
        ClientProtocol::OpenAiEmbeddings,
        Target::default(),
        app,
        headers,
        body,
    )
    .await
}

/// `POST /v1/messages` (Anthropic).
pub async fn anthropic_messages(
    State(app): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    serve_chat(
        ClientProtocol::Anthropic,
        Target::default(),
        app,
        headers,
        body,
    )
    .await
}

/// `POST /v1/messages/count_tokens` (Anthropic): an estimate from the canonical request, after
/// the same key, model and permission checks as a real request.
pub async fn anthropic_count_tokens(
    State(app): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let protocol = ClientProtocol::Anthropic;
    let counted = async {
        let snapshot = app.snapshot.load_full();
        let principal = policy::authenticate(&snapshot, &headers)?;
        let bytes = body::read(body, &headers, &snapshot.server).await?;
        let wire = crate::protocols::anthropic::request::parse_body(&bytes)?;
        let request = crate::protocols::anthropic::request::decode(wire, true)?;
        let model = snapshot.resolve_model(&request.model);
        if !snapshot.routes.contains_key(model) {
            return Err(GatewayError::model_not_found(model));
        }
        if !principal.role.permits(&request.model) {
            policy::authorize_model(&principal, model)?;
        }
        Ok::<_, GatewayError>(request.estimate_input_tokens())
    };
    match counted.await {
        Ok(tokens) => axum::Json(serde_json::json!({"input_tokens": tokens})).into_response(),
        Err(error) => protocol.error_response(&error),
    }
}

/// Where a request came in: what the URL says beside the body.
#[derive(Default)]
pub struct Target {
    pub path_model: String,
    pub query_key: Option<String>,
}

pub async fn serve_chat(
    protocol: ClientProtocol,
    target: Target,
    app: Arc<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let mut context = Context {
        protocol,
        path_model: target.path_model,
        query_key: target.query_key,
        request_id: app.next_request_id(),
        started: Instant::now(),
        key_name: String::new(),
        tenant: None,
        access_log: app.access_log,
        model: "unknown".to_owned(),
        route: None,
        attempts: 0,
        admission: None,
        rate_limits: [None, None],
        budget_remaining: None,
        dropped: Vec::new(),
    };
    let span = debug_span!("request", request_id = %context.request_id, protocol = protocol.as_str(), model = field::Empty, channel = field::Empty);
    async {
        let result = handle(&app, &headers, body, &mut context).await;
        let mut response = match result {
            Ok(response) => response,
            Err(error) => {
                if let Some(admission) = context.admission.take() {
                    admission.refund();
                }
                let status = protocol.error_status(&error).as_u16();
                record(&context, status, None, false, Some(&error.message));
                protocol.error_response(&error)
            }
        };
        decorate(response.headers_mut(), &context);
        response
            .extensions_mut()
            .insert(super::routes::AccessLogged);
        response
    }
    .instrument(span)
    .await
}

async fn handle(
    app: &Arc<AppState>,
    headers: &HeaderMap,
    body: Body,
    context: &mut Context,
) -> Result<Response, GatewayError> {
    let snapshot: Arc<Snapshot> = app.snapshot.load_full();
    let principal =
        policy::authenticate_with_query(&snapshot, headers, context.query_key.as_deref())?;
    context.key_name.clone_from(&principal.key_name);
    context.tenant = principal.tenant.as_ref().map(|tenant| tenant.name.clone());

    let bytes = body::read(body, headers, &snapshot.server).await?;
    let mut payload = match context.protocol {
        ClientProtocol::OpenAiEmbeddings => Payload::Embeddings(openai_embeddings::decode(&bytes)?),
        protocol => {
            let mut request = protocol.decode(&bytes, &context.path_model)?;
            from_headers(protocol, headers, &mut request)?;
            if protocol == ClientProtocol::OpenAiResponses {
                request.native = Some(bytes);
            }
            Payload::Chat(Box::new(request))
        }
    };
    let requested = payload.model();
    if !principal.role.permits(requested) {
        policy::authorize_model(&principal, snapshot.resolve_model(requested))?;
    }
    // Routing rules: the first whose conditions hold may redirect the model or restrict channels.
    let rule = snapshot.matching_rule(requested, &principal.metadata, &|| {
        payload.estimated_tokens()
    });
    let model = snapshot.resolve_model(
        rule.and_then(|rule| rule.redirect.as_deref())
            .unwrap_or(requested),
    );
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    let mut preferences = payload.routing().clone();
    if let Some(provider) = header("x-switchboard-provider").filter(|value| !value.is_empty()) {
        preferences.order.insert(0, provider.to_owned());
    }
    if let Some(strict) = header("x-switchboard-strict-provider") {
        preferences.allow_fallbacks = Some(!matches!(strict.trim(), "true" | "1" | "yes"));
    }
    let hints = routing::Hints {
        preferences: &preferences,
        session: headers
            .get(&snapshot.routing.session_header)
            .and_then(|value| value.to_str().ok()),
    };
    let mut routes = routing::candidates(&snapshot, &app.health, model, &hints)?;
    // OpenRouter-style `models`: the fallback models' channels follow, in order.
    for fallback in &preferences.fallback_models {
        let resolved = snapshot.resolve_model(fallback);
        if !principal.role.permits(fallback) {
            policy::authorize_model(&principal, resolved)?;
        }
        if let Ok(more) = routing::candidates(&snapshot, &app.health, resolved, &hints) {
            for route in more {
                if !routes.iter().any(|seen| Arc::ptr_eq(seen, &route)) {
                    routes.push(route);
                }
            }
        }
    }
    if let Some(rule) = rule {
        routes.retain(|route| rule.allows(&route.channel));
        if routes.is_empty() {
            return Err(GatewayError::new(
                ErrorKind::Unavailable,
                format!(
                    "Routing rule `{}` leaves no channel that serves the model `{model}`.",
                    rule.name
                ),
            )
            .with_code("no_channel_for_rule"));
        }
    }
    context.model = model.to_owned();
    tracing::Span::current().record("model", model);
    let speaks_responses = routes
        .iter()
        .any(|route| route.channel.api == crate::providers::UpstreamApi::Responses);

    // Limits and budgets, in one shared-state call, with estimates priced at the dearest
    // channel that may serve the request.
    let estimate = policy::Estimate {
        input_tokens: payload.estimated_tokens(),
        output_tokens: match &payload {
            Payload::Chat(request) => request
                .max_output_tokens
                .unwrap_or(snapshot.budgets.default_output_tokens)
                .min(policy::limits::MAX_ESTIMATED_OUTPUT_TOKENS),
            Payload::Embeddings(_) => 0,
        },
        price: routes
            .iter()
            .filter_map(|route| route.price)
            .reduce(crate::accounting::prices::Price::max),
    };
    context.admission = policy::admit(
        &app.state,
        &principal,
        snapshot
            .model_limits
            .get_key_value(model)
            .map(|(name, limits)| (name.as_str(), limits)),
        &estimate,
        &snapshot.budgets,
        &context.request_id,
        snapshot.lease_ttl(LEASE_SLACK),
    )
    .await?;
    if let Some(admission) = &context.admission {
        context.rate_limits = [admission.requests, admission.tokens];
        context.budget_remaining = admission.budget_remaining;
    }

    // The client's own body is kept only for a channel that can take it as it is.
    if let Payload::Chat(request) = &mut payload
        && !speaks_responses
    {
        request.native = None;
    }
    let deadline = context.started + snapshot.server.request_timeout;
    let operation = match &payload {
        Payload::Chat(request) => Operation::Chat(request),
        Payload::Embeddings(request) => Operation::Embeddings(request),
    };
    let served = routing::attempt::run(app, routes, operation, deadline).await;
    let served = match served {
        Ok(served) => served,
        Err(exhausted) => {
            context.attempts = exhausted.attempts;
            return Err(exhausted.error);
        }
    };
    context.attempts = served.attempts;
    context.route = Some(served.route.clone());
    context.dropped = served.translation.dropped;
    tracing::Span::current().record("channel", served.route.channel.name.as_str());

    match served.answer {
        Answer::Complete(answer) => {
            let usage = answer.usage;
            let response = match (context.protocol, context.route.as_ref()) {
                (ClientProtocol::Simple, Some(route)) => {
                    let served = crate::protocols::simple::Served {
                        provider: route.channel.kind.as_str(),
                        channel: &route.channel.name,
                        attempts: context.attempts,
                        elapsed: context.started.elapsed(),
                    };
                    axum::Json(crate::protocols::simple::encode(&answer, &served)).into_response()
                }
                (protocol, _) => match &payload {
                    Payload::Chat(request) => protocol.encode_response(&answer, request),
                    Payload::Embeddings(_) => {
                        return Err(GatewayError::new(
                            ErrorKind::Internal,
                            "an embeddings request was answered with a chat completion",
                        ));
                    }
                },
            };
            record(context, 200, usage, false, None);
            context.settle(usage);
            Ok(response)
        }
        Answer::Stream(events) => {
            let encoder = match &payload {
                Payload::Chat(request) => context
                    .protocol
                    .stream_encoder(request, served.translation.native),
                Payload::Embeddings(_) => {
                    return Err(GatewayError::new(
                        ErrorKind::Internal,
                        "an embeddings request was answered with a stream",
                    ));
                }
            };
            Ok(stream_response(events, encoder, context))
        }
        Answer::Embeddings(mut answer) => {
            let base64 = matches!(&payload, Payload::Embeddings(request) if request.base64);
            if answer.model.is_empty() {
                answer.model = served.route.upstream_model.to_string();
            }
            if let (0, Payload::Embeddings(request)) = (answer.input_tokens, &payload) {
                answer.input_tokens = estimate_embedding_tokens(request);
            }
            let response =
                axum::Json(openai_embeddings::encode_response(&answer, base64)).into_response();
            let usage = crate::canonical::Usage {
                input_tokens: answer.input_tokens,
                ..Default::default()
            };
            record(context, 200, Some(usage), false, None);
            context.settle(Some(usage));
            Ok(response)
        }
    }
}

/// What the request's headers add to it: Anthropic's beta flags, and the client's rule for
/// what a target cannot run.
fn from_headers(
    protocol: ClientProtocol,
    headers: &HeaderMap,
    request: &mut crate::canonical::ChatRequest,
) -> Result<(), GatewayError> {
    if protocol == ClientProtocol::Anthropic {
        request.betas = crate::protocols::anthropic::betas::parse(headers);
    }
    if let Some(value) = headers.get(UNSUPPORTED_HEADER) {
        let policy = value
            .to_str()
            .ok()
            .and_then(crate::canonical::UnsupportedPolicy::parse)
            .ok_or_else(|| {
                GatewayError::invalid_param(
                    UNSUPPORTED_HEADER,
                    format!("The `{UNSUPPORTED_HEADER}` header must be `drop` or `refuse`."),
                )
            })?;
        request.unsupported = Some(policy);
    }
    Ok(())
}

/// The request header that sets the rule for what a target cannot run.
const UNSUPPORTED_HEADER: &str = "x-switchboard-unsupported";

/// About four characters a token, for upstreams that do not count embedding input.
fn estimate_embedding_tokens(request: &crate::canonical::EmbeddingRequest) -> u64 {
    request
        .inputs
        .iter()
        .map(|input| match input {
            crate::canonical::EmbeddingInput::Text(text) => (text.len() as u64).div_ceil(4),
            crate::canonical::EmbeddingInput::Tokens(tokens) => tokens.len() as u64,
        })
        .sum()
}

/// What the client asked for.
enum Payload {
    Chat(Box<crate::canonical::ChatRequest>),
    Embeddings(crate::canonical::EmbeddingRequest),
}

impl Payload {
    fn routing(&self) -> &crate::canonical::RoutingPreferences {
        static NONE: std::sync::LazyLock<crate::canonical::RoutingPreferences> =
            std::sync::LazyLock::new(Default::default);
        match self {
            Payload::Chat(request) => &request.routing,
            Payload::Embeddings(_) => &NONE,
        }
    }

    /// Estimated input tokens, for rules that look at size.
    fn estimated_tokens(&self) -> u64 {
        match self {
            Payload::Chat(request) => request.estimate_input_tokens(),
            Payload::Embeddings(request) => estimate_embedding_tokens(request),
        }
    }

    fn model(&self) -> &str {
        match self {
            Payload::Chat(request) => &request.model,
            Payload::Embeddings(request) => &request.model,
        }
    }
}

fn record(
    context: &Context,
    status: u16,
    usage: Option<crate::canonical::Usage>,
    stream: bool,
    error: Option<&str>,
) {
    accounting::record(&UsageRecord {
        request_id: &context.request_id,
        protocol: context.protocol.as_str(),
        key_name: &context.key_name,
        tenant: context.tenant.as_deref(),
        model: &context.model,
        channel: context
            .route
            .as_ref()
            .map(|route| route.channel.name.as_str()),
        route_metrics: context.route.as_ref().map(|route| &*route.metrics),
        status,
        attempts: context.attempts,
        usage,
        price: context.route.as_ref().and_then(|route| route.price),
        elapsed: context.started.elapsed(),
        stream,
        error,
        log: context.access_log,
    });
}

fn decorate(headers: &mut HeaderMap, context: &Context) {
    if let Ok(value) = HeaderValue::from_str(&context.request_id) {
        headers.insert(HeaderName::from_static("x-request-id"), value);
    }
    if let Some(channel) = context
        .route
        .as_ref()
        .and_then(|route| HeaderValue::from_str(&route.channel.name).ok())
    {
        headers.insert(HeaderName::from_static("x-switchboard-channel"), channel);
    }
    if context.attempts > 0 {
        headers.insert(
            HeaderName::from_static("x-switchboard-attempts"),
            HeaderValue::from(context.attempts),
        );
    }
    if let Some(dropped) = dropped_header(&context.dropped) {
        headers.insert(HeaderName::from_static("x-switchboard-dropped"), dropped);
    }
    const NAMES: [[&str; 3]; 2] = [
        [
            "x-ratelimit-limit-requests",
            "x-ratelimit-remaining-requests",
            "x-ratelimit-reset-requests",
        ],
        [
            "x-ratelimit-limit-tokens",
            "x-ratelimit-remaining-tokens",
            "x-ratelimit-reset-tokens",
        ],
    ];
    if let Some(Ok(remaining)) = context
        .budget_remaining
        .map(|micros| HeaderValue::from_str(&format!("{:.6}", micros as f64 / 1e6)))
    {
        headers.insert(
            HeaderName::from_static("x-switchboard-budget-remaining-usd"),
            remaining,
        );
    }
    for (names, status) in NAMES.iter().zip(&context.rate_limits) {
        let Some((limit, status)) = status else {
            continue;
        };
        headers.insert(HeaderName::from_static(names[0]), HeaderValue::from(*limit));
        headers.insert(
            HeaderName::from_static(names[1]),
            HeaderValue::from(status.remaining),
        );
        if let Ok(reset) = HeaderValue::from_str(&go_duration(status.reset)) {
            headers.insert(HeaderName::from_static(names[2]), reset);
        }
    }
}

/// The longest `x-switchboard-dropped` value: beyond it the rest is counted, so that a client
/// with hundreds of deferred tools cannot grow a header past a proxy's buffers.
const MAX_DROPPED_HEADER: usize = 1024;

/// `x-switchboard-dropped`: the labels, comma-separated, with any byte a header cannot carry
/// (labels may hold a client's tool names) replaced by `_`.
fn dropped_header(labels: &[String]) -> Option<HeaderValue> {
    if labels.is_empty() {
        return None;
    }
    let mut value = String::new();
    for (index, label) in labels.iter().enumerate() {
        let clean: String = label
            .chars()
            .map(|c| if c.is_ascii_graphic() { c } else { '_' })
            .collect();
        if value.len() + clean.len() + 2 > MAX_DROPPED_HEADER {
            let separator = if value.is_empty() { "" } else { ", " };
            value.push_str(&format!("{separator}+{} more", labels.len() - index));
            break;
        }
        if !value.is_empty() {
            value.push_str(", ");
        }
        value.push_str(&clean);
    }
    HeaderValue::from_str(&value).ok()
}

/// OpenAI writes reset times as Go durations: `12ms`, `1.5s`, `6m0s`.
fn go_duration(duration: Duration) -> String {
    let millis = duration.as_millis();
    if millis < 1000 {
        format!("{millis}ms")
    } else if millis < 60_000 {
        format!("{}s", duration.as_secs_f64())
    } else {
        format!("{}m{}s", millis / 60_000, (millis % 60_000) / 1000)
    }
}

fn stream_response(events: EventStream, encoder: StreamEncoder, context: &mut Context) -> Response {
    let state = ClientStream {
        events,
        encoder,
        context: Context {
            protocol: context.protocol,
            path_model: String::new(),
            query_key: None,
            request_id: context.request_id.clone(),
            started: context.started,
            key_name: context.key_name.clone(),
            tenant: context.tenant.clone(),
            access_log: context.access_log,
            model: context.model.clone(),
            route: context.route.clone(),
            attempts: context.attempts,
            admission: context.admission.take(),
            rate_limits: [None, None],
            budget_remaining: None,
            dropped: Vec::new(),
        },
        first_token: false,
        outcome: None,
        error: None,
    };
    let body = futures_util::stream::unfold(state, |mut state| async move {
        state
            .next_chunk()
            .await
            .map(|chunk| (Ok::<_, std::convert::Infallible>(chunk), state))
    });
    let mut response = Response::new(Body::from_stream(body));
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        HeaderName::from_static("x-accel-buffering"),
        HeaderValue::from_static("no"),
    );
    response
}

/// The client's side of a stream: canonical events in, OpenAI chunks out, and a usage record
/// when it ends — completed, broken upstream, or abandoned by the client (dropped by hyper,
/// which also drops and so cancels the upstream request).
struct ClientStream {
    events: EventStream,
    encoder: StreamEncoder,
    context: Context,
    first_token: bool,
    outcome: Option<&'static str>,
    /// Why the stream broke, when it did.
    error: Option<String>,
}

impl ClientStream {
    async fn next_chunk(&mut self) -> Option<Bytes> {
        if self.outcome.is_some() {
            return None;
        }
        loop {
            match self.events.next().await {
                Some(Ok(event)) => {
                    if !self.first_token && !matches!(event, StreamEvent::Start { .. }) {
                        self.first_token = true;
                        metrics::time_to_first_token(
                            self.context.protocol.as_str(),
                            self.context.started.elapsed(),
                        );
                    }
                    if let Some(chunk) = self.encoder.encode(event) {
                        return Some(chunk);
                    }
                }
                Some(Err(error)) => {
                    tracing::warn!(request_id = %self.context.request_id, error = %error, "upstream stream failed after it started");
                    self.outcome = Some("upstream_error");
                    let chunk = self.encoder.error(&error);
                    self.error = Some(error.message);
                    return Some(chunk);
                }
                None => {
                    self.outcome = Some("complete");
                    return Some(self.encoder.finish());
                }
            }
        }
    }
}

impl Drop for ClientStream {
    fn drop(&mut self) {
        let outcome = self.outcome.unwrap_or("client_cancelled");
        metrics::stream_ended(outcome);
        let usage = self.encoder.usage();
        let error = match outcome {
            "client_cancelled" => Some("the client closed the stream before it ended"),
            _ => self.error.as_deref(),
        };
        record(&self.context, 200, usage, true, error);
        self.context.settle(usage);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropped_labels_are_made_header_safe_and_capped() {
        let labels = vec!["tools.données".to_owned(), "context_management".to_owned()];
        assert_eq!(
            dropped_header(&labels).expect("a header"),
            "tools.donn_es, context_management"
        );
        let many: Vec<String> = (0..500).map(|index| format!("tools.Tool{index}")).collect();
        let header = dropped_header(&many).expect("a header");
        let text = header.to_str().expect("ascii");
        assert!(text.len() <= MAX_DROPPED_HEADER + 16, "{}", text.len());
        assert!(text.ends_with("more"), "{text}");
        assert!(dropped_header(&[]).is_none());
    }

    #[test]
    fn reset_durations_read_like_openai_ones() {
        assert_eq!(go_duration(Duration::from_millis(12)), "12ms");
        assert_eq!(go_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(go_duration(Duration::from_secs(360)), "6m0s");
    }
}
