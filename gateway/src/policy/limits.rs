//! Request-rate limits. The check goes through the shared-state interface, so the same code
//! runs on the in-process state in standalone mode and (later) on Redis in a cluster.

use std::time::Duration;

use super::Principal;
use crate::error::{ErrorKind, GatewayError};
use crate::state::{Decision, SharedState};

/// What a successful check reports for the `x-ratelimit-*` headers.
#[derive(Debug, Clone, Copy)]
pub struct RateLimitStatus {
    pub limit: u32,
    pub remaining: u32,
    pub reset: Duration,
}

/// Takes one request from each per-minute bucket that applies — the key's (its own limit or its
/// role's, whichever is lower) and its tenant's — all or nothing, in one shared-state call.
pub async fn check_rate_limit(
    state: &SharedState,
    principal: &Principal,
) -> Result<Option<RateLimitStatus>, GatewayError> {
    let mut buckets: Vec<(String, u32)> = Vec::with_capacity(2);
    if let Some(limit) = principal.requests_per_minute {
        buckets.push((format!("key:{}", principal.key_name), limit));
    }
    let tenant = principal.tenant.as_ref();
    if let Some((name, limit)) = tenant.and_then(|tenant| {
        tenant
            .requests_per_minute
            .map(|limit| (&tenant.name, limit))
    }) {
        buckets.push((format!("tenant:{name}"), limit));
    }
    let Some(limit) = buckets.iter().map(|(_, limit)| *limit).min() else {
        return Ok(None);
    };
    let scope = tenant.map_or(principal.key_name.as_str(), |tenant| tenant.name.as_str());
    match state
        .take_all(scope, &buckets, Duration::from_secs(60))
        .await?
    {
        Decision::Allowed { remaining, reset } => Ok(Some(RateLimitStatus {
            limit,
            remaining,
            reset,
        })),
        Decision::Denied { retry_after } => {
            let limits: Vec<String> = buckets
                .iter()
                .map(|(bucket, limit)| format!("{limit}/min for {}", bucket.replace(':', " ")))
                .collect();
            Err(GatewayError::new(
                ErrorKind::RateLimited,
                format!(
                    "Rate limit reached for API key `{}` ({}). Retry after {:.1}s.",
                    principal.key_name,
                    limits.join(", "),
                    retry_after.as_secs_f64()
                ),
            )
            .with_code("rate_limit_exceeded")
            .with_retry_after(Some(retry_after)))
        }
    }
}
