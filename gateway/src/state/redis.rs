//! Shared state on Redis: a request's rate buckets, leases and budget reservations in one Lua
//! script, one round trip; its settlement in a second one after the response.
//!
//! Keys are `<prefix>:{t:<scope>}:<bucket>`: the hash tag puts every key of one tenant in one
//! Redis Cluster slot, so a script only ever touches one slot. The script reads the clock
//! with `TIME`, so every node agrees on "now" whatever its own clock says. A call that fails or
//! takes longer than the timeout falls back to node-local buckets (or refuses, when fail-closed)
//! and marks the state degraded until Redis answers again; the connection reconnects by itself.
//!
//! One multiplexed connection carries every request's script (redis' `ConnectionManager`):
//! concurrent calls are pipelined on it, with no per-call pool checkout or health-check PING.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use std::sync::Arc;

use arc_swap::ArcSwapOption;
use redis::AsyncConnectionConfig;
use redis::aio::MultiplexedConnection;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::sentinel::{SentinelClient, SentinelServerType};

use super::{Charge, Crossing, LimitKind, LocalState, RATE_PERIOD, RateStatus, Usage, Verdict};
use crate::error::{ErrorKind, GatewayError};
use crate::routing::health::{Report, Shared};

/// Admits a charge all or nothing (see `LocalState`, which does the same steps).
/// KEYS: the rate buckets, then the lease sets, then the budget counters.
/// ARGV: #rates, #leases, #budgets, lease id, lease ttl (µs), rate period (µs); then per rate
/// its limit per period and cost (the emission interval, period / limit, is a float), per lease its limit, per budget its limit, amount and
/// ttl (ms).
/// Returns {1, remaining, reset_us, … per rate, counter … per budget}, or {0, kind, index, n}
/// with kind 1 rate (n = retry after, µs), 2 lease, 3 budget (n = spent).
const ADMIT: &str = r"
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local nr, nl, nb = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local lease_id, lease_ttl, period = ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6])
local out = {1}
local tats = {}
local a = 7
for i = 1, nr do
  local interval, cost = period / tonumber(ARGV[a]), tonumber(ARGV[a + 1])
  a = a + 2
  local tat = tonumber(redis.call('GET', KEYS[i]) or now)
  if tat < now then tat = now end
  local new_tat = tat + interval * cost
  if now < new_tat - period then return {0, 1, i - 1, new_tat - period - now} end
  tats[i] = new_tat
  out[#out + 1] = math.floor((period - (new_tat - now)) / interval)
  out[#out + 1] = new_tat - now
end
for i = 1, nl do
  local key = KEYS[nr + i]
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  if redis.call('ZCARD', key) >= tonumber(ARGV[a]) then return {0, 2, i - 1, 0} end
  a = a + 1
end
local budgets = a
for i = 1, nb do
  local limit, amount = tonumber(ARGV[a]), tonumber(ARGV[a + 1])
  a = a + 3
  local spent = tonumber(redis.call('GET', KEYS[nr + nl + i]) or 0)
  if spent >= limit or spent + amount > limit then return {0, 3, i - 1, spent} end
  out[#out + 1] = spent + amount
end
for i = 1, nr do
  redis.call('SET', KEYS[i], string.format('%.17g', tats[i]), 'PX', math.ceil((tats[i] - now) / 1000) + 1)
end
for i = 1, nl do
  redis.call('ZADD', KEYS[nr + i], now + lease_ttl, lease_id)
  redis.call('PEXPIRE', KEYS[nr + i], math.ceil(lease_ttl / 1000) + 1)
end
a = budgets
for i = 1, nb do
  redis.call('INCRBY', KEYS[nr + nl + i], ARGV[a + 1])
  redis.call('PEXPIRE', KEYS[nr + nl + i], ARGV[a + 2])
  a = a + 3
end
return out
";

/// Settles an admitted charge. KEYS: rate buckets to correct, lease sets, budget counters.
/// ARGV: #rates, #leases, #budgets, lease id, rate period (µs), then per rate its limit per
/// period and the correction (units), per budget the cost correction, its ttl (ms) and limit, then the alert
/// thresholds (percent). Returns {budget index, percent, spent, …} for thresholds first crossed.
const SETTLE: &str = r"
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local nr, nl, nb = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local lease_id, period = ARGV[4], tonumber(ARGV[5])
local a = 6
for i = 1, nr do
  local interval, delta = period / tonumber(ARGV[a]), tonumber(ARGV[a + 1])
  a = a + 2
  local tat = tonumber(redis.call('GET', KEYS[i]) or 0)
  if tat > 0 then
    local new_tat = tat + interval * delta
    if new_tat > now then
      redis.call('SET', KEYS[i], string.format('%.17g', new_tat), 'PX', math.ceil((new_tat - now) / 1000) + 1)
    else
      redis.call('DEL', KEYS[i])
    end
  end
end
for i = 1, nl do
  redis.call('ZREM', KEYS[nr + i], lease_id)
end
local thresholds = a + 3 * nb
local out = {}
for i = 1, nb do
  local key = KEYS[nr + nl + i]
  local delta, ttl, limit = tonumber(ARGV[a]), ARGV[a + 1], tonumber(ARGV[a + 2])
  a = a + 3
  local spent = redis.call('INCRBY', key, delta)
  if spent < 0 then
    redis.call('SET', key, 0)
    spent = 0
  end
  redis.call('PEXPIRE', key, ttl)
  for t = thresholds, #ARGV do
    local percent = tonumber(ARGV[t])
    if spent * 100 >= limit * percent and redis.call('SET', key .. ':alert:' .. percent, 1, 'NX', 'PX', ttl) then
      out[#out + 1] = i - 1
      out[#out + 1] = percent
      out[#out + 1] = spent
    end
  end
end
return out
";

/// Merges node reports of channel health. Per channel, KEYS: its circuit (a string holding
/// the open-until time, ms) and its outcomes (a hash of `ok:<bucket>` / `fail:<bucket>`
/// counters per 5-second bucket); ARGV[1] the bucket length (ms), then per channel the node's
/// new successes, failures and the cool-down it started (ms, 0: none). Returns per channel
/// {ms the circuit stays open, successes, failures over this bucket and the one before}.
const HEALTH: &str = r"
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local span = tonumber(ARGV[1])
local bucket = math.floor(now / span)
local out = {}
for i = 1, #KEYS / 2 do
  local circuit, outcomes = KEYS[2 * i - 1], KEYS[2 * i]
  local a = 2 + 3 * (i - 1)
  local ok, failed, open_for = tonumber(ARGV[a]), tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  local open_until = tonumber(redis.call('GET', circuit) or 0)
  if open_for > 0 and now + open_for > open_until then
    open_until = now + open_for
    redis.call('SET', circuit, string.format('%d', open_until), 'PX', open_for)
  end
  if ok > 0 then redis.call('HINCRBY', outcomes, 'ok:' .. bucket, ok) end
  if failed > 0 then redis.call('HINCRBY', outcomes, 'fail:' .. bucket, failed) end
  redis.call('HDEL', outcomes, 'ok:' .. (bucket - 2), 'fail:' .. (bucket - 2))
  redis.call('PEXPIRE', outcomes, 2 * span)
  local function count(field)
    return tonumber(redis.call('HGET', outcomes, field .. bucket) or 0)
      + tonumber(redis.call('HGET', outcomes, field .. (bucket - 1)) or 0)
  end
  out[#out + 1] = math.max(0, open_until - now)
  out[#out + 1] = count('ok:')
  out[#out + 1] = count('fail:')
end
return out
";

/// The length of one bucket of merged channel outcomes; the error rate spans two.
const HEALTH_BUCKET: Duration = Duration::from_secs(5);

/// 1 while Redis is unreachable and limits are node-local.
const DEGRADED: &str = "switchboard_shared_state_degraded";

#[derive(Debug, Clone)]
pub struct RedisSettings {
    pub url: String,
    /// Namespace of every key (`sb` by default), so several deployments can share a Redis.
    pub prefix: String,
    /// Longest wait for one Redis call before falling back.
    pub timeout: Duration,
    /// The limit kinds whose requests are refused, instead of checked node-locally, while
    /// Redis is unreachable.
    pub fail_closed: Vec<LimitKind>,
    /// `url` lists the seed nodes of a Redis Cluster (comma-separated).
    pub cluster: bool,
    /// `url` lists Sentinels (comma-separated), which name the primary of this service.
    pub sentinel_master: Option<String>,
}

/// How the gateway reaches Redis: one multiplexed connection to a single Redis, a cluster
/// connection that sends each script to the node owning its keys' slot, or a connection to the
/// primary that Sentinel names (asked again after the primary fails over).
enum Connection {
    Single(ConnectionManager),
    Cluster(Box<Lazy<ClusterConnection>>, ClusterClient),
    Sentinel(
        Box<Lazy<MultiplexedConnection>>,
        tokio::sync::Mutex<SentinelClient>,
        AsyncConnectionConfig,
    ),
}

/// A connection made on first use (so a gateway starts while Redis is down) and again after it
/// fails.
struct Lazy<C> {
    connection: ArcSwapOption<C>,
    connecting: tokio::sync::Mutex<()>,
}

impl<C: Clone> Lazy<C> {
    fn new() -> Box<Self> {
        Box::new(Lazy {
            connection: ArcSwapOption::empty(),
            connecting: tokio::sync::Mutex::new(()),
        })
    }

    async fn get<F: Future<Output = redis::RedisResult<C>>>(
        &self,
        make: impl FnOnce() -> F,
    ) -> Result<C, String> {
        if let Some(connection) = self.connection.load_full() {
            return Ok((*connection).clone());
        }
        let _one_at_a_time = self.connecting.lock().await;
        if let Some(connection) = self.connection.load_full() {
            return Ok((*connection).clone());
        }
        let made = make().await.map_err(|error| error.to_string())?;
        self.connection.store(Some(Arc::new(made.clone())));
        Ok(made)
    }

    fn forget(&self) {
        self.connection.store(None);
    }
}

impl Connection {
    async fn invoke(&self, invocation: &redis::ScriptInvocation<'_>) -> Result<Vec<i64>, String> {
        match self {
            Connection::Single(manager) => {
                let mut connection = manager.clone();
                invocation
                    .invoke_async(&mut connection)
                    .await
                    .map_err(|error| error.to_string())
            }
            Connection::Cluster(lazy, client) => {
                let mut connection = lazy.get(|| client.get_async_connection()).await?;
                invocation
                    .invoke_async(&mut connection)
                    .await
                    .map_err(|error| error.to_string())
            }
            Connection::Sentinel(lazy, sentinel, config) => {
                let mut connection = lazy
                    .get(|| async {
                        let primary = sentinel.lock().await.async_get_client().await?;
                        primary
                            .get_multiplexed_async_connection_with_config(config)
                            .await
                    })
                    .await?;
                invocation
                    .invoke_async(&mut connection)
                    .await
                    .map_err(|error| {
                        // The primary may have changed: ask Sentinel again next time.
                        lazy.forget();
                        error.to_string()
                    })
            }
        }
    }
}

pub struct RedisState {
    connection: Connection,
    admit: redis::Script,
    settle: redis::Script,
    health: redis::Script,
    settings: RedisSettings,
    fallback: LocalState,
    degraded: AtomicBool,
}

impl RedisState {
    pub fn new(settings: RedisSettings) -> Result<Self, String> {
        let nodes: Vec<&str> = settings.url.split(',').map(str::trim).collect();
        let connection = if settings.cluster {
            let client = ClusterClient::builder(nodes)
                .connection_timeout(settings.timeout)
                .response_timeout(settings.timeout)
                .retries(0)
                .build()
                .map_err(|error| format!("cannot use Redis Cluster URLs: {error}"))?;
            Connection::Cluster(Lazy::new(), client)
        } else if let Some(primary) = &settings.sentinel_master {
            let sentinel =
                SentinelClient::build(nodes, primary.clone(), None, SentinelServerType::Master)
                    .map_err(|error| format!("cannot use Redis Sentinel URLs: {error}"))?;
            let config = AsyncConnectionConfig::new()
                .set_connection_timeout(Some(settings.timeout))
                .set_response_timeout(Some(settings.timeout));
            Connection::Sentinel(Lazy::new(), tokio::sync::Mutex::new(sentinel), config)
        } else {
            Connection::Single(Self::single(&settings)?)
        };
        Ok(RedisState {
            connection,
            admit: redis::Script::new(ADMIT),
            settle: redis::Script::new(SETTLE),
            health: redis::Script::new(HEALTH),
            settings,
            fallback: LocalState::default(),
            degraded: AtomicBool::new(false),
        })
    }

    fn single(settings: &RedisSettings) -> Result<ConnectionManager, String> {
        let client = redis::Client::open(settings.url.as_str())
            .map_err(|error| format!("cannot use Redis URL: {error}"))?;
        // Connecting is lazy (the first call), so a gateway starts while Redis is down. A failed
        // connection is not retried in the background with back-off (calls would wait on it):
        // the next call after a failure makes one fresh attempt, shared by the calls that arrive
        // meanwhile, and every call is bounded by the timeout. While Redis is refusing
        // connections, calls fall back at once instead of after the timeout.
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(settings.timeout))
            .set_number_of_retries(0);
        ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|error| format!("cannot use Redis URL: {error}"))
    }

    pub fn degraded(&self) -> bool {
        self.degraded.load(Ordering::Relaxed)
    }

    fn key(&self, scope: &str, bucket: &str) -> String {
        format!("{}:{{t:{scope}}}:{bucket}", self.settings.prefix)
    }

    /// Runs a script within the timeout, tracking whether Redis is reachable.
    async fn run(&self, invocation: redis::ScriptInvocation<'_>) -> Option<Vec<i64>> {
        match tokio::time::timeout(self.settings.timeout, self.connection.invoke(&invocation)).await
        {
            Ok(Ok(reply)) => {
                if self.degraded.swap(false, Ordering::Relaxed) {
                    metrics::gauge!(DEGRADED).set(0.0);
                    tracing::info!("Redis is reachable again: shared limits are back");
                }
                Some(reply)
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
                None
            }
        }
    }

    /// Takes the whole charge or nothing, in one script; node-local while Redis is away.
    pub async fn admit(&self, charge: &Charge) -> Result<Verdict, GatewayError> {
        let mut invocation = self.admit.prepare_invoke();
        let keys = charge
            .rates
            .iter()
            .map(|rate| &rate.bucket)
            .chain(charge.leases.iter().map(|lease| &lease.bucket))
            .chain(charge.budgets.iter().map(|budget| &budget.bucket));
        for bucket in keys {
            invocation.key(self.key(&charge.scope, bucket));
        }
        invocation
            .arg(charge.rates.len())
            .arg(charge.leases.len())
            .arg(charge.budgets.len())
            .arg(&charge.lease_id)
            .arg(micros(charge.lease_ttl))
            .arg(micros(RATE_PERIOD));
        for rate in &charge.rates {
            invocation.arg(rate.per_minute.max(1)).arg(rate.cost);
        }
        for lease in &charge.leases {
            invocation.arg(lease.limit);
        }
        for budget in &charge.budgets {
            invocation
                .arg(budget.limit)
                .arg(budget.amount)
                .arg(budget.ttl.as_millis() as u64);
        }
        let Some(reply) = self.run(invocation).await else {
            if let Some(kind) = self
                .settings
                .fail_closed
                .iter()
                .find(|kind| charge.has(**kind))
            {
                return Err(GatewayError::new(
                    ErrorKind::Unavailable,
                    format!(
                        "{} cannot be checked right now (shared state unavailable); try again shortly.",
                        match kind {
                            LimitKind::Requests => "Request rate limits",
                            LimitKind::Tokens => "Token rate limits",
                            LimitKind::Concurrency => "Concurrency limits",
                            LimitKind::Budget => "Budgets",
                        }
                    ),
                )
                .with_code("shared_state_unavailable"));
            }
            return Ok(self.fallback.admit(charge));
        };
        let at = |index: usize| reply.get(index).copied().unwrap_or_default().max(0) as u64;
        if reply.first() == Some(&1) {
            let rates = (0..charge.rates.len())
                .map(|i| RateStatus {
                    remaining: at(1 + 2 * i),
                    reset: Duration::from_micros(at(2 + 2 * i)),
                })
                .collect();
            let first_budget = 1 + 2 * charge.rates.len();
            let budgets = (0..charge.budgets.len())
                .map(|i| at(first_budget + i))
                .collect();
            return Ok(Verdict::Admitted {
                rates,
                budgets,
                local: false,
            });
        }
        let index = at(2) as usize;
        Ok(match at(1) {
            1 => Verdict::RateLimited {
                index,
                retry_after: Duration::from_micros(at(3)),
            },
            2 => Verdict::Concurrency { index },
            _ => Verdict::OverBudget {
                index,
                spent: at(3),
            },
        })
    }

    /// Corrects an admitted charge where it was admitted. A settlement Redis cannot take is
    /// logged and dropped: the estimate stays charged and leases expire by themselves.
    pub async fn settle(
        &self,
        charge: &Charge,
        used: Usage,
        local: bool,
        thresholds: &[u32],
    ) -> Vec<Crossing> {
        if local {
            // Redis failed or timed out when this was admitted, but its script may still have
            // run: remove the request's leases there too (by id; harmless if never taken).
            if !charge.leases.is_empty() {
                self.settle_in_redis(&charge.leases_only(), used, &[]).await;
            }
            return self.fallback.settle(charge, used, thresholds);
        }
        self.settle_in_redis(charge, used, thresholds).await
    }

    async fn settle_in_redis(
        &self,
        charge: &Charge,
        used: Usage,
        thresholds: &[u32],
    ) -> Vec<Crossing> {
        let corrected: Vec<_> = charge
            .rates
            .iter()
            .filter(|rate| rate.cost != used.of(rate))
            .collect();
        let mut invocation = self.settle.prepare_invoke();
        let keys = corrected
            .iter()
            .map(|rate| &rate.bucket)
            .chain(charge.leases.iter().map(|lease| &lease.bucket))
            .chain(charge.budgets.iter().map(|budget| &budget.bucket));
        for bucket in keys {
            invocation.key(self.key(&charge.scope, bucket));
        }
        invocation
            .arg(corrected.len())
            .arg(charge.leases.len())
            .arg(charge.budgets.len())
            .arg(&charge.lease_id)
            .arg(micros(RATE_PERIOD));
        for rate in &corrected {
            invocation
                .arg(rate.per_minute.max(1))
                .arg(difference(used.of(rate), rate.cost));
        }
        for budget in &charge.budgets {
            invocation
                .arg(difference(used.of_budget(budget), budget.amount))
                .arg(budget.ttl.as_millis() as u64)
                .arg(budget.limit);
        }
        for percent in thresholds {
            invocation.arg(percent);
        }
        let Some(reply) = self.run(invocation).await else {
            tracing::warn!(
                scope = %charge.scope,
                "could not settle a request's limits in Redis: its estimate stays charged"
            );
            return Vec::new();
        };
        reply
            .chunks_exact(3)
            .map(|crossing| Crossing {
                budget: crossing[0].max(0) as usize,
                percent: crossing[1].max(0) as u32,
                spent: crossing[2].max(0) as u64,
            })
            .collect()
    }
}

impl RedisState {
    /// Reports this node's channel outcomes and openings, named by channel, and returns the
    /// cluster's view of each, in the same order; `None` while Redis is unreachable.
    pub async fn sync_health<'a>(
        &self,
        reports: impl Iterator<Item = (&'a str, Report)>,
    ) -> Option<Vec<Shared>> {
        let mut invocation = self.health.prepare_invoke();
        invocation.arg(HEALTH_BUCKET.as_millis() as u64);
        let mut channels = 0;
        for (name, report) in reports {
            // One hash tag for all channels: the script touches one slot.
            invocation
                .key(format!(
                    "{}:{{health}}:circuit:{name}",
                    self.settings.prefix
                ))
                .key(format!(
                    "{}:{{health}}:outcomes:{name}",
                    self.settings.prefix
                ))
                .arg(report.ok)
                .arg(report.failed)
                .arg(report.open_for.as_millis() as u64);
            channels += 1;
        }
        if channels == 0 {
            return Some(Vec::new());
        }
        let reply = self.run(invocation).await?;
        Some(
            reply
                .chunks_exact(3)
                .map(|channel| Shared {
                    open_for: Duration::from_millis(channel[0].max(0) as u64),
                    ok: channel[1].max(0) as u64,
                    failed: channel[2].max(0) as u64,
                })
                .collect(),
        )
    }
}

/// `a - b` as a signed correction, saturating.
fn difference(a: u64, b: u64) -> i64 {
    if a >= b {
        i64::try_from(a - b).unwrap_or(i64::MAX)
    } else {
        i64::try_from(b - a).map_or(i64::MIN, |n| -n)
    }
}

fn micros(duration: Duration) -> u64 {
    duration.as_micros() as u64
}
