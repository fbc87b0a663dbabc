//! Gemini routes: `POST /v1beta/models/{model}:{action}` (axum cannot route on a `:` inside a
//! segment, so the segment is captured whole and split on its last colon) and the model list.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::body;
use super::chat::{Target, serve_chat};
use crate::app::AppState;
use crate::error::{ErrorKind, GatewayError};
use crate::policy;
use crate::protocols::{ClientProtocol, gemini, models};

/// The value of one query parameter (`alt`, `key`), percent-decoding `%XX` and `+`.
fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    query?.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (key == name).then(|| percent_decode(value))
    })
}

fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'%' if index + 2 < bytes.len() => {
                match u8::from_str_radix(&value[index + 1..index + 3], 16) {
                    Ok(byte) => {
                        out.push(byte);
                        index += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            byte => out.push(byte),
        }
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

const PROTOCOL: ClientProtocol = ClientProtocol::Gemini {
    stream: false,
    sse: true,
};

/// `POST /v1beta/models/{model}:generateContent | :streamGenerateContent | :countTokens`.
pub async fn model_action(
    State(app): State<Arc<AppState>>,
    Path(model_action): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some((model, action)) = model_action.rsplit_once(':') else {
        let error = GatewayError::new(
            ErrorKind::NotFound,
            format!(
                "Unknown method: POST models/{model_action}. Use models/{{model}}:generateContent."
            ),
        );
        return PROTOCOL.error_response(&error);
    };
    let model = model.strip_prefix("models/").unwrap_or(model).to_owned();
    let target = Target {
        path_model: model,
        query_key: query_param(query.as_deref(), "key"),
    };
    match action {
        "generateContent" => {
            serve_chat(
                ClientProtocol::Gemini {
                    stream: false,
                    sse: true,
                },
                target,
                app,
                headers,
                body,
            )
            .await
        }
        "streamGenerateContent" => {
            let sse = query_param(query.as_deref(), "alt").as_deref() == Some("sse");
            serve_chat(
                ClientProtocol::Gemini { stream: true, sse },
                target,
                app,
                headers,
                body,
            )
            .await
        }
        "countTokens" => count_tokens(app, target, headers, body).await,
        other => {
            let error = GatewayError::new(
                ErrorKind::NotFound,
                format!(
                    "Unknown method '{other}': use generateContent, streamGenerateContent or countTokens."
                ),
            );
            PROTOCOL.error_response(&error)
        }
    }
}

/// `:countTokens` — an estimate from the canonical request, after the usual key, model and
/// permission checks.
async fn count_tokens(
    app: Arc<AppState>,
    target: Target,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let counted = async {
        let snapshot = app.snapshot.load_full();
        let principal =
            policy::authenticate_with_query(&snapshot, &headers, target.query_key.as_deref())?;
        let bytes = body::read(body, &headers, &snapshot.server).await?;
        // countTokens takes the same body as generateContent, or one wrapped in
        // `generateContentRequest`.
        let mut value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|error| {
            GatewayError::invalid(format!("Invalid JSON payload received. {error}"))
        })?;
        for wrapper in ["generateContentRequest", "generate_content_request"] {
            if let Some(inner) = value.get_mut(wrapper).map(serde_json::Value::take) {
                value = inner;
                break;
            }
        }
        let wire: gemini::wire::WireRequest = serde_json::from_value(value).map_err(|error| {
            GatewayError::invalid(format!("Invalid JSON payload received. {error}"))
        })?;
        let request = gemini::request::decode(wire, &target.path_model, false)?;
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
        Ok(tokens) => axum::Json(json!({"totalTokens": tokens})).into_response(),
        Err(error) => PROTOCOL.error_response(&error),
    }
}

/// `GET /v1beta/models`: what the caller may use, in Gemini's list shape.
pub async fn list_models(
    State(app): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let snapshot = app.snapshot.load();
    let principal = match policy::authenticate_with_query(
        &snapshot,
        &headers,
        query_param(query.as_deref(), "key").as_deref(),
    ) {
        Ok(principal) => principal,
        Err(error) => return PROTOCOL.error_response(&error),
    };
    let created = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|now| now.as_secs())
        .unwrap_or_default();
    let list = models::list(&snapshot, &principal, created);
    let value = serde_json::to_value(&list).unwrap_or_default();
    let models: Vec<serde_json::Value> = value["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|entry| entry["id"].as_str())
        .map(|id| {
            json!({
                "name": format!("models/{id}"),
                "displayName": id,
                "supportedGenerationMethods": ["generateContent", "streamGenerateContent", "countTokens"],
            })
        })
        .collect();
    axum::Json(json!({"models": models})).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parameters_are_found_and_decoded() {
        assert_eq!(
            query_param(Some("alt=sse&key=abc%2Bd"), "key").as_deref(),
            Some("abc+d")
        );
        assert_eq!(query_param(Some("alt=sse"), "alt").as_deref(), Some("sse"));
        assert_eq!(query_param(Some("alt=sse"), "key"), None);
        assert_eq!(query_param(None, "key"), None);
        assert_eq!(percent_decode("a%2"), "a%2");
    }
}
