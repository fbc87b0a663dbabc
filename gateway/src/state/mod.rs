//! Shared state: the buckets, leases and counters that several gateway nodes must agree on.
//!
//! One small type with two implementations: in-process (standalone) and Redis (cluster, where
//! every node takes from the same buckets, so "20 requests per minute" admits 20 whether one node
//! or ten serve the traffic). Callers never know which one they talk to. When Redis is
//! unreachable the Redis state falls back to node-local state (fail-open, the default) or
//! refuses (fail-closed, per limit kind), reconnects by itself, and reports itself degraded
//! meanwhile.
//!
//! A request is admitted with one [`Charge`] — every rate bucket, concurrency lease and budget
//! reservation it needs, taken all or nothing in one step (one Lua script on Redis) — and later
//! settled with what it really used.

mod local;
mod redis;

use std::time::Duration;

pub use local::LocalState;
pub use redis::{RedisSettings, RedisState};

use crate::error::GatewayError;

/// The length of a rate bucket's window: limits are per minute.
pub const RATE_PERIOD: Duration = Duration::from_secs(60);

/// The kinds of limit, for messages and for per-kind fail-closed settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitKind {
    Requests,
    Tokens,
    Concurrency,
    Budget,
}

/// A GCRA bucket of `per_minute` units, from which the request takes `cost`.
#[derive(Debug, Clone)]
pub struct RateCharge {
    pub bucket: String,
    pub kind: LimitKind,
    pub per_minute: u64,
    pub cost: u64,
}

/// A concurrency lease: at most `limit` holders of `bucket` at once.
#[derive(Debug, Clone)]
pub struct LeaseCharge {
    pub bucket: String,
    pub limit: u32,
}

/// A budget reservation: `amount` micro-dollars against a counter of at most `limit`, which
/// expires `ttl` from now (at the end of its period, plus slack).
#[derive(Debug, Clone)]
pub struct BudgetCharge {
    pub bucket: String,
    pub limit: u64,
    pub amount: u64,
    pub ttl: Duration,
}

/// Everything one request takes, all within one scope (a tenant, or a key without one), so that
/// on Redis Cluster every key shares one slot.
#[derive(Debug, Clone, Default)]
pub struct Charge {
    pub scope: String,
    /// Identifies this request's concurrency leases.
    pub lease_id: String,
    /// How long a lease outlives a node that died without releasing it.
    pub lease_ttl: Duration,
    pub rates: Vec<RateCharge>,
    pub leases: Vec<LeaseCharge>,
    pub budgets: Vec<BudgetCharge>,
}

impl Charge {
    pub fn is_empty(&self) -> bool {
        self.rates.is_empty() && self.leases.is_empty() && self.budgets.is_empty()
    }

    /// The same request's leases and nothing else, to release them.
    pub fn leases_only(&self) -> Charge {
        Charge {
            scope: self.scope.clone(),
            lease_id: self.lease_id.clone(),
            lease_ttl: self.lease_ttl,
            leases: self.leases.clone(),
            ..Charge::default()
        }
    }

    pub fn has(&self, kind: LimitKind) -> bool {
        match kind {
            LimitKind::Concurrency => !self.leases.is_empty(),
            LimitKind::Budget => !self.budgets.is_empty(),
            kind => self.rates.iter().any(|rate| rate.kind == kind),
        }
    }
}

/// A rate bucket's state after a request was admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateStatus {
    pub remaining: u64,
    /// Until the bucket is full again.
    pub reset: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Everything was taken: the rate buckets' state and each budget's counter after the
    /// reservation, in the charge's order. `local` says the node-local fallback took it.
    Admitted {
        rates: Vec<RateStatus>,
        budgets: Vec<u64>,
        local: bool,
    },
    /// Nothing was taken, because of the charge's `rates[index]` …
    RateLimited { index: usize, retry_after: Duration },
    /// … or `leases[index]` is full …
    Concurrency { index: usize },
    /// … or `budgets[index]` has `spent` of its limit and cannot take the reservation.
    OverBudget { index: usize, spent: u64 },
}

/// What an admitted request really used: its rate buckets and budgets are corrected from what
/// the charge took to these, and its leases are released.
#[derive(Debug, Clone, Copy)]
pub struct Usage {
    /// 1, or 0 to give the request back (it was refused by another part of its limits).
    pub requests: u64,
    pub tokens: u64,
    pub cost: u64,
    /// Leave every bucket and budget as the charge took it (only release the leases): the real
    /// usage is unknown.
    pub as_charged: bool,
}

impl Usage {
    /// Releases the leases and keeps everything else as charged.
    pub const AS_CHARGED: Usage = Usage {
        requests: 0,
        tokens: 0,
        cost: 0,
        as_charged: true,
    };

    /// Gives everything back: the request never happened.
    pub const NOTHING: Usage = Usage {
        requests: 0,
        tokens: 0,
        cost: 0,
        as_charged: false,
    };

    /// A request that was served (or failed upstream) and used this much.
    pub fn used(tokens: u64, cost: u64) -> Usage {
        Usage {
            requests: 1,
            tokens,
            cost,
            as_charged: false,
        }
    }

    /// What `rate` should have taken, for this usage.
    pub fn of(&self, rate: &RateCharge) -> u64 {
        match rate.kind {
            _ if self.as_charged => rate.cost,
            LimitKind::Tokens => self.tokens,
            _ => self.requests,
        }
    }

    /// What `budget` should have been charged, for this usage.
    pub fn of_budget(&self, budget: &BudgetCharge) -> u64 {
        if self.as_charged {
            budget.amount
        } else {
            self.cost
        }
    }
}

/// A budget that crossed an alert threshold (percent) when a request was settled: reported once
/// per budget, threshold and period, whichever node settles it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Crossing {
    pub budget: usize,
    pub percent: u32,
    pub spent: u64,
}

/// The shared-state handle the request path uses.
pub enum SharedState {
    Local(LocalState),
    Redis(Box<RedisState>),
}

impl SharedState {
    pub fn local() -> Self {
        SharedState::Local(LocalState::default())
    }

    /// Takes the whole charge, or nothing (one round trip on Redis).
    pub async fn admit(&self, charge: &Charge) -> Result<Verdict, GatewayError> {
        match self {
            SharedState::Local(local) => Ok(local.admit(charge)),
            SharedState::Redis(redis) => redis.admit(charge).await,
        }
    }

    /// Corrects an admitted charge with what the request used and releases its leases; in the
    /// same place (Redis or the node-local fallback) that admitted it.
    pub async fn settle(
        &self,
        charge: &Charge,
        used: Usage,
        local: bool,
        thresholds: &[u32],
    ) -> Vec<Crossing> {
        match self {
            SharedState::Local(state) => state.settle(charge, used, thresholds),
            SharedState::Redis(redis) => redis.settle(charge, used, local, thresholds).await,
        }
    }

    /// `true` while a Redis state cannot reach Redis and serves from node-local state.
    pub fn degraded(&self) -> bool {
        match self {
            SharedState::Local(_) => false,
            SharedState::Redis(redis) => redis.degraded(),
        }
    }
}
