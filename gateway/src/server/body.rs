//! Reading request bodies with a size limit and a deadline, so that an oversized body gets 413
//! and a slow sender gets 408 — in the caller's protocol, like every other error.
//!
//! A rejected oversized body is still drained in the background (up to a cap, within the body
//! timeout) — nginx calls this a lingering close. Without it the client may still be writing
//! when the connection closes, get a reset, and never read the 413 that explains why.

use axum::body::Body;
use axum::http::{HeaderMap, header};
use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;

use crate::config::ServerSettings;
use crate::error::{ErrorKind, GatewayError};

/// How much of a rejected body is read and thrown away so the client can see the 413.
const DRAIN_LIMIT: usize = 64 * 1024 * 1024;

enum Failure {
    TooLarge,
    Broken(String),
}

pub async fn read(
    mut body: Body,
    headers: &HeaderMap,
    settings: &ServerSettings,
) -> Result<Bytes, GatewayError> {
    let limit = settings.max_body_bytes;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok());
    if declared.is_some_and(|length| length > limit) {
        drain_in_background(body, settings);
        return Err(too_large(limit));
    }
    match tokio::time::timeout(settings.body_read_timeout, collect(&mut body, limit)).await {
        Err(_) => Err(GatewayError::new(
            ErrorKind::RequestTimeout,
            format!(
                "The request body was not received within {}s.",
                settings.body_read_timeout.as_secs_f64()
            ),
        )),
        Ok(Err(Failure::TooLarge)) => {
            drain_in_background(body, settings);
            Err(too_large(limit))
        }
        Ok(Err(Failure::Broken(reason))) => Err(GatewayError::invalid(format!(
            "Could not read the request body: {reason}"
        ))),
        Ok(Ok(bytes)) => Ok(bytes),
    }
}

/// Collects the body; a body that arrives in one frame (the common case) is not copied.
async fn collect(body: &mut Body, limit: usize) -> Result<Bytes, Failure> {
    let mut first: Option<Bytes> = None;
    let mut joined: Option<BytesMut> = None;
    let mut total = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|error| Failure::Broken(error.to_string()))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        total += data.len();
        if total > limit {
            return Err(Failure::TooLarge);
        }
        match (&mut first, &mut joined) {
            (None, None) => first = Some(data),
            (Some(_), None) => {
                let mut buffer = BytesMut::with_capacity(total);
                buffer.extend_from_slice(first.take().as_deref().unwrap_or_default());
                buffer.extend_from_slice(&data);
                joined = Some(buffer);
            }
            (_, Some(buffer)) => buffer.extend_from_slice(&data),
        }
    }
    Ok(match (first, joined) {
        (_, Some(buffer)) => buffer.freeze(),
        (Some(single), None) => single,
        (None, None) => Bytes::new(),
    })
}

fn drain_in_background(mut body: Body, settings: &ServerSettings) {
    let deadline = settings.body_read_timeout;
    tokio::spawn(async move {
        let drain = async {
            let mut drained = 0usize;
            while let Some(Ok(frame)) = body.frame().await {
                drained += frame.data_ref().map_or(0, Bytes::len);
                if drained > DRAIN_LIMIT {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(deadline, drain).await;
    });
}

fn too_large(limit: usize) -> GatewayError {
    GatewayError::new(
        ErrorKind::PayloadTooLarge,
        format!("The request body is larger than this gateway's limit of {limit} bytes."),
    )
    .with_code("request_too_large")
}
