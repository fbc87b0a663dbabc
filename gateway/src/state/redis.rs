//! Shared state on Redis: GCRA rate buckets in one Lua script, one round trip per check.
//!
//! Keys are `<prefix>:{t:<scope>}:rl:<bucket>`: the hash tag puts every bucket of one tenant in
//! one Redis Cluster slot, so a script only ever touches one slot. The script reads the clock
//! with `TIME`, so every node agrees on "now" whatever its own clock says. A call that fails or
//! takes longer than the timeout falls back to node-local buckets (or refuses, when fail-closed)
//! and marks the state degraded until Redis answers again; the pool reconnects by itself.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use deadpool_redis::{Config, Pool, Runtime};

use super::{Decision, LocalState};
use crate::error::{ErrorKind, GatewayError};

/// GCRA: KEYS[1] holds the theoretical arrival time in microseconds. ARGV: emission interval and
/// period (µs). Returns {1, remaining, reset_us} or {0, retry_after_us}.
const GCRA: &str = r"
local now = redis.call('TIME')
now = tonumber(now[1]) * 1000000 + tonumber(now[2])
local interval = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - period
if now < allow_at then
  return {0, allow_at - now}
end
redis.call('SET', KEYS[1], new_tat, 'PX', math.ceil((new_tat - now) / 1000) + 1)
return {1, math.floor((period - (new_tat - now)) / interval), new_tat - now}
";

/// 1 while Redis is unreachable and limits are node-local.
const DEGRADED: &str = "switchboard_shared_state_degraded";

#[derive(Debug, Clone)]
pub struct RedisSettings {
    pub url: String,
    /// Namespace of every key (`sb` by default), so several deployments can share a Redis.
    pub prefix: String,
    /// Longest wait for one Redis call before falling back.
    pub timeout: Duration,
    /// Refuse requests instead of using node-local limits while Redis is unreachable.
    pub fail_closed: bool,
}

pub struct RedisState {
    pool: Pool,
    script: redis::Script,
    settings: RedisSettings,
    fallback: LocalState,
    degraded: AtomicBool,
}

impl RedisState {
    pub fn new(settings: RedisSettings) -> Result<Self, String> {
        let pool = Config::from_url(settings.url.clone())
            .create_pool(Some(Runtime::Tokio1))
            .map_err(|error| format!("cannot use Redis URL: {error}"))?;
        Ok(RedisState {
            pool,
            script: redis::Script::new(GCRA),
            settings,
            fallback: LocalState::default(),
            degraded: AtomicBool::new(false),
        })
    }

    pub fn degraded(&self) -> bool {
        self.degraded.load(Ordering::Relaxed)
    }

    pub async fn take(
        &self,
        scope: &str,
        key: &str,
        limit: u32,
        period: Duration,
    ) -> Result<Decision, GatewayError> {
        let limit = limit.max(1);
        let interval = (period.as_micros() / u128::from(limit)).max(1) as u64;
        let redis_key = format!("{}:{{t:{scope}}}:rl:{key}", self.settings.prefix);
        let call = async {
            let mut connection = self.pool.get().await.map_err(|error| error.to_string())?;
            self.script
                .key(&redis_key)
                .arg(interval)
                .arg(period.as_micros() as u64)
                .invoke_async::<Vec<i64>>(&mut connection)
                .await
                .map_err(|error| error.to_string())
        };
        match tokio::time::timeout(self.settings.timeout, call).await {
            Ok(Ok(reply)) => {
                if self.degraded.swap(false, Ordering::Relaxed) {
                    metrics::gauge!(DEGRADED).set(0.0);
                    tracing::info!("Redis is reachable again: shared limits are back");
                }
                let micros = |index: usize| {
                    Duration::from_micros(
                        reply.get(index).copied().unwrap_or_default().max(0) as u64
                    )
                };
                Ok(match reply.first() {
                    Some(1) => Decision::Allowed {
                        remaining: reply.get(1).copied().unwrap_or_default().max(0) as u32,
                        reset: micros(2),
                    },
                    _ => Decision::Denied {
                        retry_after: micros(1),
                    },
                })
            }
            outcome => {
                let why = match outcome {
                    Ok(Err(error)) => error,
                    _ => format!("no answer within {} ms", self.settings.timeout.as_millis()),
                };
                if !self.degraded.swap(true, Ordering::Relaxed) {
                    metrics::gauge!(DEGRADED).set(1.0);
                    tracing::warn!(error = %why, "Redis is unreachable: using node-local limits until it is back");
                }
                if self.settings.fail_closed {
                    return Err(GatewayError::new(
                        ErrorKind::Unavailable,
                        "Rate limits cannot be checked right now (shared state unavailable); try again shortly.",
                    ));
                }
                Ok(self.fallback.take(key, limit, period))
            }
        }
    }
}
