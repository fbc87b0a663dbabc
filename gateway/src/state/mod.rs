//! Shared state: the counters and buckets that several gateway nodes must agree on.
//!
//! One small type with two implementations: in-process (standalone) and Redis (cluster, where
//! every node takes from the same buckets, so "20 requests per minute" admits 20 whether one node
//! or ten serve the traffic). Callers never know which one they talk to. When Redis is
//! unreachable the Redis state falls back to node-local buckets (fail-open, the default) or
//! refuses (fail-closed), reconnects by itself, and reports itself degraded meanwhile.

mod local;
mod redis;

use std::time::Duration;

pub use local::LocalState;
pub use redis::{RedisSettings, RedisState};

use crate::error::GatewayError;

/// The outcome of taking from a bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed { remaining: u32, reset: Duration },
    Denied { retry_after: Duration },
}

/// The shared-state handle the request path uses.
pub enum SharedState {
    Local(LocalState),
    Redis(RedisState),
}

impl SharedState {
    pub fn local() -> Self {
        SharedState::Local(LocalState::default())
    }

    /// Takes one unit from every bucket `(name, limit per period)`, or from none (one round
    /// trip on Redis). `scope` groups buckets that must share a Redis Cluster slot (a tenant's).
    pub async fn take_all(
        &self,
        scope: &str,
        buckets: &[(String, u32)],
        period: Duration,
    ) -> Result<Decision, GatewayError> {
        match self {
            SharedState::Local(local) => Ok(local.take_all(buckets, period)),
            SharedState::Redis(redis) => redis.take_all(scope, buckets, period).await,
        }
    }

    /// `true` while a Redis state cannot reach Redis and serves from node-local buckets.
    pub fn degraded(&self) -> bool {
        match self {
            SharedState::Local(_) => false,
            SharedState::Redis(redis) => redis.degraded(),
        }
    }
}
