//! Limits and budgets: what a request takes before its upstream call, and the settlement after.
//!
//! A key's limits (its own and its role's, the lower of each) and its tenant's become one
//! [`Charge`]: requests- and tokens-per-minute buckets, concurrency leases and budget
//! reservations, taken all or nothing through the shared-state interface (one Lua script on
//! Redis). Tokens and spend are estimated before the call — input from the request, output from
//! `max_tokens` or a default — and corrected with the real usage and price after it, so a
//! nearly spent budget cannot be passed by many requests at once: overshoot is bounded by the
//! requests already in flight and what they use beyond their estimate.

use std::sync::Arc;
use std::time::Duration;

use time::{Date, Month, OffsetDateTime, Time};

use super::Principal;
use crate::accounting::prices::Price;
use crate::error::{ErrorKind, GatewayError};
use crate::state::{
    BudgetCharge, Charge, LeaseCharge, LimitKind, RateCharge, RateStatus, SharedState, Usage,
    Verdict,
};

/// Settings from the config's `budgets:` section.
#[derive(Debug, Clone)]
pub struct BudgetSettings {
    pub default_output_tokens: u64,
    pub alert_thresholds: Arc<[u32]>,
}

/// What a request is expected to use, before the call.
#[derive(Debug, Clone, Copy)]
pub struct Estimate {
    pub input_tokens: u64,
    /// `max_tokens` when the client set it, else the configured default.
    pub output_tokens: u64,
    /// The dearest price among the channels that may serve it; `None` when unpriced.
    pub price: Option<Price>,
}

impl Estimate {
    fn tokens(&self) -> u64 {
        self.input_tokens + self.output_tokens
    }

    fn cost(&self) -> u64 {
        self.price.map_or(0, |price| {
            price.cost_micros(&crate::canonical::Usage {
                input_tokens: self.input_tokens,
                output_tokens: self.output_tokens,
                ..Default::default()
            })
        })
    }
}

/// Whose limit a bucket is, for messages.
#[derive(Debug, Clone, Copy)]
enum Owner {
    Key,
    Tenant,
}

#[derive(Debug, Clone, Copy)]
enum Period {
    Day,
    Month,
}

impl Period {
    fn adjective(self) -> &'static str {
        match self {
            Period::Day => "daily",
            Period::Month => "monthly",
        }
    }
}

/// A request that passed its limits. Settle it with [`Admission::settle`] once its usage is
/// known, or [`Admission::refund`] when it used nothing; dropped unsettled (a client that went
/// away mid-stream), it keeps its estimate charged and releases its concurrency leases.
pub struct Admission {
    state: Arc<SharedState>,
    charge: Charge,
    local: bool,
    /// For the `x-ratelimit-*-requests` headers: the tightest requests bucket.
    pub requests: Option<(u64, RateStatus)>,
    /// For the `x-ratelimit-*-tokens` headers: the tightest tokens bucket.
    pub tokens: Option<(u64, RateStatus)>,
    thresholds: Arc<[u32]>,
    /// Each budget's owner and period, for alerts.
    budgets: Vec<(String, Period)>,
    settled: bool,
}

impl Admission {
    /// Corrects the estimate with the real usage, priced at `price` (the serving channel's).
    pub fn settle(self, usage: &crate::canonical::Usage, price: Option<Price>) {
        let used = Usage {
            tokens: usage.total(),
            cost: price.map_or(0, |price| price.cost_micros(usage)),
        };
        self.finish(used);
    }

    /// Gives back the whole estimate: the request failed before any upstream used anything.
    pub fn refund(self) {
        self.finish(Usage { tokens: 0, cost: 0 });
    }

    fn estimate(&self) -> Usage {
        Usage {
            tokens: self
                .charge
                .rates
                .iter()
                .find(|rate| rate.kind == LimitKind::Tokens)
                .map_or(0, |rate| rate.cost),
            cost: self
                .charge
                .budgets
                .first()
                .map_or(0, |budget| budget.amount),
        }
    }

    fn finish(mut self, used: Usage) {
        self.settled = true;
        self.spawn_settlement(used);
    }

    fn spawn_settlement(&mut self, used: Usage) {
        let needs_settling = !self.charge.leases.is_empty()
            || !self.charge.budgets.is_empty()
            || self.charge.has(LimitKind::Tokens);
        if !needs_settling {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let state = self.state.clone();
        let charge = std::mem::take(&mut self.charge);
        let budgets = std::mem::take(&mut self.budgets);
        let thresholds = self.thresholds.clone();
        let local = self.local;
        runtime.spawn(async move {
            for crossing in state.settle(&charge, used, local, &thresholds).await {
                let Some((owner, period)) = budgets.get(crossing.budget) else {
                    continue;
                };
                let limit = charge.budgets[crossing.budget].limit;
                metrics::counter!(
                    "switchboard_budget_alerts_total",
                    "budget" => format!("{owner} {}", period.adjective()),
                    "percent" => crossing.percent.to_string(),
                )
                .increment(1);
                tracing::warn!(
                    budget = %format!("{owner} {}", period.adjective()),
                    percent = crossing.percent,
                    spent_usd = usd(crossing.spent),
                    limit_usd = usd(limit),
                    "budget alert: spend crossed a threshold"
                );
            }
        });
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        if !self.settled {
            let estimate = self.estimate();
            self.spawn_settlement(estimate);
        }
    }
}

/// Checks and takes everything the request needs from its key's and tenant's limits, or
/// answers why not: 429 for rates and concurrency, 402 for budgets.
pub async fn admit(
    state: &Arc<SharedState>,
    principal: &Principal,
    estimate: &Estimate,
    settings: &BudgetSettings,
    lease_id: &str,
    lease_ttl: Duration,
) -> Result<Option<Admission>, GatewayError> {
    let tenant = principal.tenant.as_deref();
    let scopes = [
        Some((Owner::Key, principal.key_name.as_str(), &principal.limits)),
        tenant.map(|tenant| (Owner::Tenant, tenant.name.as_str(), &tenant.limits)),
    ];
    let now = OffsetDateTime::now_utc();
    let mut charge = Charge {
        scope: tenant
            .map_or(&principal.key_name, |tenant| &tenant.name)
            .clone(),
        lease_id: lease_id.to_owned(),
        lease_ttl,
        ..Charge::default()
    };
    let mut owners = Vec::new();
    let mut lease_owners = Vec::new();
    let mut budgets = Vec::new();
    for (owner, name, limits) in scopes.into_iter().flatten() {
        let prefix = match owner {
            Owner::Key => "key",
            Owner::Tenant => "tenant",
        };
        if let Some(limit) = limits.requests_per_minute {
            charge.rates.push(RateCharge {
                bucket: format!("{prefix}:{name}:rpm"),
                kind: LimitKind::Requests,
                per_minute: u64::from(limit),
                cost: 1,
            });
            owners.push((owner, name));
        }
        if let Some(limit) = limits.tokens_per_minute {
            charge.rates.push(RateCharge {
                bucket: format!("{prefix}:{name}:tpm"),
                kind: LimitKind::Tokens,
                per_minute: limit,
                // A request larger than a whole minute's allowance goes when the bucket is full.
                cost: estimate.tokens().clamp(1, limit),
            });
            owners.push((owner, name));
        }
        if let Some(limit) = limits.max_concurrent_requests {
            charge.leases.push(LeaseCharge {
                bucket: format!("{prefix}:{name}:concurrent"),
                limit,
            });
            lease_owners.push((owner, name));
        }
        for (period, limit) in [
            (Period::Day, limits.daily_budget_micros),
            (Period::Month, limits.monthly_budget_micros),
        ] {
            let Some(limit) = limit else { continue };
            let (id, resets) = period_of(period, now);
            charge.budgets.push(BudgetCharge {
                bucket: format!("{prefix}:{name}:spend:{id}"),
                limit,
                amount: estimate.cost(),
                ttl: (resets - now).unsigned_abs() + Duration::from_secs(3600),
            });
            budgets.push((owner, name, period, resets));
        }
    }
    if charge.is_empty() {
        return Ok(None);
    }
    let describe = |(owner, name): (Owner, &str)| match owner {
        Owner::Key => format!("API key `{name}`"),
        Owner::Tenant => format!("tenant `{name}`"),
    };
    match state.admit(&charge).await? {
        Verdict::Admitted {
            rates,
            budgets: _,
            local,
        } => {
            let tightest = |kind: LimitKind| {
                charge
                    .rates
                    .iter()
                    .zip(&rates)
                    .filter(|(rate, _)| rate.kind == kind)
                    .min_by_key(|(_, status)| status.remaining)
                    .map(|(rate, status)| (rate.per_minute, *status))
            };
            Ok(Some(Admission {
                requests: tightest(LimitKind::Requests),
                tokens: tightest(LimitKind::Tokens),
                state: state.clone(),
                local,
                thresholds: settings.alert_thresholds.clone(),
                budgets: budgets
                    .iter()
                    .map(|(owner, name, period, _)| (describe((*owner, name)), *period))
                    .collect(),
                charge,
                settled: false,
            }))
        }
        Verdict::RateLimited { index, retry_after } => {
            let rate = &charge.rates[index.min(charge.rates.len() - 1)];
            let whose = describe(owners[index.min(owners.len() - 1)]);
            let message = match rate.kind {
                LimitKind::Tokens => format!(
                    "Rate limit reached for tokens: {whose} allows {} tokens per minute and this request needs about {}. Retry after {:.1}s.",
                    rate.per_minute,
                    estimate.tokens(),
                    retry_after.as_secs_f64()
                ),
                _ => format!(
                    "Rate limit reached for requests: {whose} allows {} requests per minute. Retry after {:.1}s.",
                    rate.per_minute,
                    retry_after.as_secs_f64()
                ),
            };
            metrics::counter!("switchboard_limit_denials_total", "kind" => match rate.kind {
                LimitKind::Tokens => "tokens",
                _ => "requests",
            })
            .increment(1);
            Err(GatewayError::new(ErrorKind::RateLimited, message)
                .with_code("rate_limit_exceeded")
                .with_retry_after(Some(retry_after)))
        }
        Verdict::Concurrency { index } => {
            let lease = &charge.leases[index.min(charge.leases.len() - 1)];
            let whose = describe(lease_owners[index.min(lease_owners.len() - 1)]);
            metrics::counter!("switchboard_limit_denials_total", "kind" => "concurrency")
                .increment(1);
            Err(GatewayError::new(
                ErrorKind::RateLimited,
                format!(
                    "Too many concurrent requests: {whose} allows {} at once. Retry when one of them finishes.",
                    lease.limit
                ),
            )
            .with_code("concurrency_limit_exceeded")
            .with_retry_after(Some(Duration::from_secs(1))))
        }
        Verdict::OverBudget { index, spent } => {
            let budget = &charge.budgets[index.min(charge.budgets.len() - 1)];
            let (owner, name, period, resets) = budgets[index.min(budgets.len() - 1)];
            metrics::counter!("switchboard_limit_denials_total", "kind" => "budget").increment(1);
            // Periods end at midnight UTC.
            let reset = format!("{}T00:00:00Z", resets.date());
            let spent_part = if spent >= budget.limit {
                format!("is spent (${} used)", usd(spent))
            } else {
                format!(
                    "has ${} left, less than this request's estimated ${}",
                    usd(budget.limit - spent),
                    usd(budget.amount)
                )
            };
            Err(GatewayError::new(
                ErrorKind::BudgetExceeded,
                format!(
                    "Budget exceeded: the {} budget of {} (${}) {spent_part}. It resets at {reset}.",
                    period.adjective(),
                    describe((owner, name)),
                    usd(budget.limit),
                ),
            )
            .with_code("budget_exceeded")
            .with_retry_after(Some((resets - now).unsigned_abs())))
        }
    }
}

/// Micro-dollars as a USD amount for messages: `10.00`, `0.0042`.
fn usd(micros: u64) -> String {
    let dollars = micros as f64 / 1e6;
    if micros.is_multiple_of(10_000) {
        format!("{dollars:.2}")
    } else {
        format!("{dollars:.6}").trim_end_matches('0').to_owned()
    }
}

/// The period's id (part of its counter's key) and the instant it ends, in UTC.
fn period_of(period: Period, now: OffsetDateTime) -> (String, OffsetDateTime) {
    let date = now.date();
    match period {
        Period::Day => {
            let next = date.next_day().unwrap_or(date);
            (
                format!("d{date}"),
                next.with_time(Time::MIDNIGHT).assume_utc(),
            )
        }
        Period::Month => {
            let (year, month) = match date.month() {
                Month::December => (date.year() + 1, Month::January),
                month => (date.year(), month.next()),
            };
            let first = Date::from_calendar_date(year, month, 1).unwrap_or(date);
            (
                format!("m{:04}-{:02}", date.year(), u8::from(date.month())),
                first.with_time(Time::MIDNIGHT).assume_utc(),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(year: i32, month: Month, day: u8, hour: u8) -> OffsetDateTime {
        Date::from_calendar_date(year, month, day)
            .and_then(|date| date.with_hms(hour, 30, 0))
            .expect("a valid date")
            .assume_utc()
    }

    fn midnight(year: i32, month: Month, day: u8) -> OffsetDateTime {
        utc(year, month, day, 0).replace_minute(0).expect("valid")
    }

    #[test]
    fn periods_end_at_utc_midnight_and_month_start() {
        let now = utc(2026, Month::December, 31, 18);
        let (id, resets) = period_of(Period::Day, now);
        assert_eq!(id, "d2026-12-31");
        assert_eq!(resets, midnight(2027, Month::January, 1));
        let (id, resets) = period_of(Period::Month, now);
        assert_eq!(id, "m2026-12");
        assert_eq!(resets, midnight(2027, Month::January, 1));
        let (id, resets) = period_of(Period::Month, utc(2026, Month::February, 10, 0));
        assert_eq!(id, "m2026-02");
        assert_eq!(resets, midnight(2026, Month::March, 1));
    }

    #[test]
    fn amounts_read_as_dollars() {
        assert_eq!(usd(10_000_000), "10.00");
        assert_eq!(usd(4_200), "0.0042");
        assert_eq!(usd(1), "0.000001");
    }
}
