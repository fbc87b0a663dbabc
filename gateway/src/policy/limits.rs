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

/// Takes one request from the key's per-minute bucket, if its role sets a limit.
pub async fn check_rate_limit(
    state: &SharedState,
    principal: &Principal,
) -> Result<Option<RateLimitStatus>, GatewayError> {
    let Some(limit) = principal.role.requests_per_minute else {
        return Ok(None);
    };
    let scope = principal
        .metadata
        .get("tenant")
        .unwrap_or(&principal.key_name);
    match state.take(scope, &principal.key_name, limit, Duration::from_secs(60)).await? {
        Decision::Allowed { remaining, reset } => Ok(Some(RateLimitStatus { limit, remaining, reset })),
        Decision::Denied { retry_after } => Err(GatewayError::new(
            ErrorKind::RateLimited,
            format!(
                "Rate limit reached for API key `{}`: {limit} requests per minute (role `{}`). Retry after {:.1}s.",
                principal.key_name,
                principal.role.name,
                retry_after.as_secs_f64()
            ),
        )
        .with_code("rate_limit_exceeded")
        .with_retry_after(Some(retry_after))),
    }
}
