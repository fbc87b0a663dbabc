//! Active health checks: a background task per channel that has `health_check` configured.
//!
//! Probes never spend tokens (users of other gateways hate paying for health checks): they list
//! models (`GET …/models` with the channel's credentials) or, for Bedrock, whose list API is a
//! different service, open a TCP connection. Outcomes feed the same health record as real
//! traffic, so a dead channel is taken out before a client meets it and comes back by itself.

use std::sync::Arc;
use std::time::Instant;

use crate::app::AppState;
use crate::config::Channel;
use crate::providers::ProviderKind;

/// Starts the probes of every channel that has them; they run for the life of the process.
pub fn spawn(app: &Arc<AppState>) {
    let snapshot = app.snapshot.load_full();
    for channel in &snapshot.channels {
        let Some((interval, timeout)) = channel.health_check else {
            continue;
        };
        let app = app.clone();
        let channel = channel.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let started = Instant::now();
                match tokio::time::timeout(timeout, probe(&channel)).await {
                    Ok(Ok(())) => app.health.record_success(channel.index, started.elapsed()),
                    Ok(Err(why)) => app.health.record_failure(
                        channel.index,
                        &format!("health check: {why}"),
                        started.elapsed(),
                    ),
                    Err(_) => app.health.record_failure(
                        channel.index,
                        &format!(
                            "health check: no answer within {:.1}s",
                            timeout.as_secs_f64()
                        ),
                        started.elapsed(),
                    ),
                }
            }
        });
    }
}

async fn probe(channel: &Channel) -> Result<(), String> {
    let url = match channel.kind {
        ProviderKind::OpenAi => format!("{}/models", channel.base_url),
        ProviderKind::Azure => format!(
            "{}/openai/models?api-version={}",
            channel.base_url,
            channel.api_version.as_deref().unwrap_or_default()
        ),
        ProviderKind::Anthropic => format!("{}/v1/models", channel.base_url),
        ProviderKind::Gemini => format!("{}/v1beta/models", channel.base_url),
        ProviderKind::Bedrock => return connect(&channel.base_url).await,
        ProviderKind::Mock => return Ok(()),
    };
    let mut headers = channel.headers.clone();
    headers.remove(reqwest::header::CONTENT_TYPE);
    let response = channel
        .http
        .get(url)
        .headers(headers)
        .send()
        .await
        .map_err(|error| {
            std::error::Error::source(&error)
                .map(ToString::to_string)
                .unwrap_or_else(|| error.to_string())
        })?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(format!(
            "the model list answered {}",
            response.status().as_u16()
        ))
    }
}

async fn connect(base_url: &str) -> Result<(), String> {
    let url = reqwest::Url::parse(base_url).map_err(|error| error.to_string())?;
    let host = url.host_str().ok_or("no host")?.to_owned();
    let port = url.port_or_known_default().ok_or("no port")?;
    tokio::net::TcpStream::connect((host.as_str(), port))
        .await
        .map(|_| ())
        .map_err(|error| error.to_string())
}
