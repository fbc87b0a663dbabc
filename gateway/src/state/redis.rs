//! Shared state on Redis: GCRA rate buckets in one Lua script, one round trip per check.
//!
//! Keys are `<prefix>:{t:<scope>}:rl:<bucket>`: the hash tag puts every bucket of one tenant in
//! one Redis Cluster slot, so a script only ever touches one slot. The script reads the clock
//! with `TIME`, so every node agrees on "now" whatever its own clock says. A call that fails or
//! takes longer than the timeout falls back to node-local buckets (or refuses, when fail-closed)
//! and marks the state degraded until Redis answers again; the connection reconnects by itself.
//!
//! One multiplexed connection carries every request's script (redis' `ConnectionManager`):
//! concurrent calls are pipelined on it, with no per-call pool checkout or health-check PING.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::{Decision, LocalState};
use crate::error::{ErrorKind, GatewayError};

/// GCRA over several buckets at once, all or nothing: each KEYS[i] holds a theoretical arrival
/// time in microseconds; ARGV[1] is the period, ARGV[i+1] bucket i's emission interval (µs).
/// Returns {1, least remaining, reset_us} or {0, retry_after_us}.
const GCRA: &str = r"
local now = redis.call('TIME')
now = tonumber(now[1]) * 1000000 + tonumber(now[2])
local period = tonumber(ARGV[1])
local remaining = nil
local reset = 0
local retry = nil
local updates = {}
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[i + 1])
  local tat = tonumber(redis.call('GET', key) or now)
  if tat < now then tat = now end
  local new_tat = tat + interval
  local allow_at = new_tat - period
  if now < allow_at then
    if retry == nil or allow_at - now > retry then retry = allow_at - now end
  else
    local left = math.floor((period - (new_tat - now)) / interval)
    if remaining == nil or left < remaining then remaining = left end
    if new_tat - now > reset then reset = new_tat - now end
    updates[#updates + 1] = {key, new_tat}
  end
end
if retry ~= nil then return {0, retry} end
for _, update in ipairs(updates) do
  redis.call('SET', update[1], update[2], 'PX', math.ceil((update[2] - now) / 1000) + 1)
end
return {1, remaining or 0, reset}
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
    connection: ConnectionManager,
    script: redis::Script,
    settings: RedisSettings,
    fallback: LocalState,
    degraded: AtomicBool,
}

impl RedisState {
    pub fn new(settings: RedisSettings) -> Result<Self, String> {
        let client = redis::Client::open(settings.url.as_str())
            .map_err(|error| format!("cannot use Redis URL: {error}"))?;
        // Connecting is lazy (the first call), so a gateway starts while Redis is down. A failed
        // connection is not retried in the background with back-off (calls would wait on it):
        // the next call after a failure makes one fresh attempt, shared by the calls that arrive
        // meanwhile, and every call is bounded by `take_all`'s own timeout. While Redis is
        // refusing connections, calls fall back at once instead of after the timeout.
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(settings.timeout))
            .set_number_of_retries(0);
        let connection = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|error| format!("cannot use Redis URL: {error}"))?;
        Ok(RedisState {
            connection,
            script: redis::Script::new(GCRA),
            settings,
            fallback: LocalState::default(),
            degraded: AtomicBool::new(false),
        })
    }

    pub fn degraded(&self) -> bool {
        self.degraded.load(Ordering::Relaxed)
    }

    /// Takes one unit from every bucket `(name, limit per period)` of `scope`, or from none.
    pub async fn take_all(
        &self,
        scope: &str,
        buckets: &[(String, u32)],
        period: Duration,
    ) -> Result<Decision, GatewayError> {
        let call = async {
            let mut connection = self.connection.clone();
            let mut invocation = self.script.prepare_invoke();
            for (name, _) in buckets {
                invocation.key(format!("{}:{{t:{scope}}}:rl:{name}", self.settings.prefix));
            }
            invocation.arg(period.as_micros() as u64);
            for (_, limit) in buckets {
                invocation.arg((period.as_micros() / u128::from((*limit).max(1))).max(1) as u64);
            }
            invocation
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
                Ok(self.fallback.take_all(buckets, period))
            }
        }
    }
}
