//! The router: the client API, health and readiness, metrics, and a fallback that answers
//! unknown paths and methods in the error shape of the protocol the path belongs to (OpenAI's
//! unless it is under `/v1/messages` or `/v1beta/`) instead of an empty 404.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use super::chat::{
    anthropic_count_tokens, anthropic_messages, openai_chat_completions, openai_embeddings,
    openai_responses, simple_request,
};
use crate::app::AppState;
use crate::error::{ErrorKind, GatewayError};
use crate::policy;
use crate::protocols::{ClientProtocol, models};

pub fn router(app: Arc<AppState>) -> Router {
    let edge = Edge {
        max_header_bytes: app.snapshot.load().server.max_header_bytes,
        access_log: app.access_log,
    };
    Router::new()
        .route("/v1/chat/completions", post(openai_chat_completions))
        .route("/v1/responses", post(openai_responses))
        .route("/v1/embeddings", post(openai_embeddings))
        .route("/api/request", post(simple_request))
        .route("/v1/messages", post(anthropic_messages))
        .route("/v1/messages/count_tokens", post(anthropic_count_tokens))
        .route("/v1/models", get(list_models))
        .route(
            "/v1/models/{model}",
            get(get_model).post(super::gemini::model_action),
        )
        .route("/v1beta/models", get(super::gemini::list_models))
        .route(
            "/v1beta/models/{model_action}",
            post(super::gemini::model_action),
        )
        .route("/health", get(health))
        .route("/health/channels", get(health_channels))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn(move |request, next| {
            edge.handle(request, next)
        }))
        .with_state(app)
}

/// Marks a response whose request has written its own access line (the model endpoints, with
/// key, model, channel and tokens).
#[derive(Clone, Copy)]
pub struct AccessLogged;

/// What every request meets before and after its handler.
#[derive(Clone, Copy)]
struct Edge {
    max_header_bytes: usize,
    access_log: bool,
}

impl Edge {
    /// Refuses a header block (request line and headers, as sent) larger than
    /// `max_header_bytes` with 431 in the protocol its path belongs to, never serving it; and
    /// writes the access line of a request whose handler wrote none (`count_tokens`, model
    /// lists, unknown URLs) — but for `/health`, `/ready` and `/metrics`, which load balancers
    /// and scrapers poll.
    async fn handle(self, request: Request, next: Next) -> Response {
        let started = std::time::Instant::now();
        let method = request.method().clone();
        // A `Uri` clone shares its bytes: no copy of the path per request.
        let uri = request.uri().clone();
        let path = uri.path();
        let size = header_block_size(&request);
        let response = if size <= self.max_header_bytes {
            next.run(request).await
        } else {
            let error = GatewayError::new(
                ErrorKind::HeadersTooLarge,
                format!(
                    "The request's headers take {size} bytes, more than this gateway's limit of {} (server.max_header_bytes).",
                    self.max_header_bytes
                ),
            )
            .with_code("request_header_fields_too_large");
            ClientProtocol::for_path(path).error_response(&error)
        };
        if self.access_log
            && response.extensions().get::<AccessLogged>().is_none()
            && !matches!(path, "/health" | "/ready" | "/metrics")
        {
            tracing::info!(
                target: "access",
                method = %method,
                path,
                protocol = ClientProtocol::for_path(path).as_str(),
                status = response.status().as_u16(),
                latency_ms = started.elapsed().as_secs_f64() * 1000.0,
            );
        }
        response
    }
}

/// The size of the request line and headers as HTTP/1.1 writes them.
fn header_block_size(request: &Request) -> usize {
    let target = request
        .uri()
        .path_and_query()
        .map_or(1, |target| target.as_str().len());
    let line = request.method().as_str().len() + target + 12;
    request.headers().iter().fold(line, |size, (name, value)| {
        size + name.as_str().len() + value.len() + 4
    })
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|now| now.as_secs())
        .unwrap_or_default()
}

async fn list_models(State(app): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let snapshot = app.snapshot.load();
    match policy::authenticate(&snapshot, &headers) {
        Ok(principal) => {
            axum::Json(models::list(&snapshot, &principal, unix_now())).into_response()
        }
        Err(error) => ClientProtocol::OpenAi.error_response(&error),
    }
}

async fn get_model(
    State(app): State<Arc<AppState>>,
    Path(model): Path<String>,
    headers: HeaderMap,
) -> Response {
    let snapshot = app.snapshot.load();
    let principal = match policy::authenticate(&snapshot, &headers) {
        Ok(principal) => principal,
        Err(error) => return ClientProtocol::OpenAi.error_response(&error),
    };
    let list = models::list(&snapshot, &principal, unix_now());
    let value = serde_json::to_value(&list).unwrap_or_default();
    let entry = value["data"]
        .as_array()
        .and_then(|data| data.iter().find(|entry| entry["id"] == model.as_str()))
        .cloned();
    match entry {
        Some(entry) => axum::Json(entry).into_response(),
        None => ClientProtocol::OpenAi.error_response(&GatewayError::model_not_found(&model)),
    }
}

/// `{"status":"healthy","providers":{"<channel>":{"healthy":true}}}`; 503 with
/// `"status":"unhealthy"` when no channel can serve.
async fn health(State(app): State<Arc<AppState>>) -> Response {
    let snapshot = app.snapshot.load();
    let mut providers = serde_json::Map::new();
    let mut any_healthy = false;
    for channel in &snapshot.channels {
        let status = app.health.status(channel.index);
        any_healthy |= status.healthy;
        let mut entry = json!({"healthy": status.healthy, "provider": channel.kind.as_str()});
        if status.consecutive_failures > 0 {
            entry["consecutive_failures"] = status.consecutive_failures.into();
        }
        if let Some(last_error) = status.last_error {
            entry["last_error"] = last_error.into();
        }
        providers.insert(channel.name.clone(), entry);
    }
    let (status, word) = if any_healthy {
        (StatusCode::OK, "healthy")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "unhealthy")
    };
    (
        status,
        axum::Json(json!({"status": word, "providers": providers})),
    )
        .into_response()
}

/// `GET /health/channels`: every channel's state and why it is out, for operators.
async fn health_channels(State(app): State<Arc<AppState>>) -> Response {
    let snapshot = app.snapshot.load();
    let channels: Vec<serde_json::Value> = snapshot
        .channels
        .iter()
        .map(|channel| {
            let status = app.health.status(channel.index);
            json!({
                "name": channel.name,
                "provider": channel.kind.as_str(),
                "healthy": status.healthy,
                "consecutive_failures": status.consecutive_failures,
                "last_error": status.last_error,
                "error_rate": status.error_rate,
                "p95_latency_ms": status.p95_latency.map(|latency| latency.as_secs_f64() * 1000.0),
                "in_flight": app.health.in_flight(channel.index),
                "latency_ewma_ms": app.health.latency(channel.index).map(|latency| latency.as_secs_f64() * 1000.0),
                "weight": channel.weight,
                "priority": channel.priority,
                "price_per_1k_tokens": channel.price_per_1k_tokens,
                "region": channel.region,
                "tags": channel.tags,
            })
        })
        .collect();
    axum::Json(json!({"channels": channels})).into_response()
}

/// Ready once serving; 503 as soon as shutdown begins so load balancers drain this node.
async fn ready(State(app): State<Arc<AppState>>) -> Response {
    if app.shutting_down.load(Ordering::Relaxed) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"status": "shutting_down"})),
        )
            .into_response();
    }
    // Degraded still serves (node-local limits), so it stays ready; the body says so.
    let shared_state = match (&*app.state, app.state.degraded()) {
        (crate::state::SharedState::Local(_), _) => "local",
        (crate::state::SharedState::Redis(_), false) => "redis",
        (crate::state::SharedState::Redis(_), true) => "degraded",
    };
    axum::Json(json!({"status": "ready", "shared_state": shared_state})).into_response()
}

async fn metrics(State(app): State<Arc<AppState>>) -> Response {
    match &app.metrics {
        Some(handle) => (
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
            handle.render(),
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            "metrics are not enabled in this process\n",
        )
            .into_response(),
    }
}

async fn not_found(method: Method, uri: Uri) -> Response {
    let error = GatewayError::new(
        ErrorKind::NotFound,
        format!("Unknown request URL: {method} {}.", uri.path()),
    )
    .with_code("unknown_url");
    ClientProtocol::for_path(uri.path()).error_response(&error)
}

async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    let error = GatewayError::new(
        ErrorKind::NotFound,
        format!("{method} is not supported on {}.", uri.path()),
    )
    .with_status(StatusCode::METHOD_NOT_ALLOWED)
    .with_code("method_not_allowed");
    ClientProtocol::for_path(uri.path()).error_response(&error)
}
