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

use super::{Limits, Principal};
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

/// The most output tokens an estimate assumes, whatever `max_tokens` says: no model writes more
/// in one answer, and a client's absurd `max_tokens` must not overflow the arithmetic.
pub const MAX_ESTIMATED_OUTPUT_TOKENS: u64 = 1 << 20;

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
        self.input_tokens.saturating_add(self.output_tokens)
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
    Role,
    Model,
}

impl Owner {
    fn prefix(self) -> &'static str {
        match self {
            Owner::Key => "key",
            Owner::Tenant => "tenant",
            Owner::Role => "role",
            Owner::Model => "model",
        }
    }

    fn describe(self, name: &str) -> String {
        match self {
            Owner::Key => format!("API key `{name}`"),
            Owner::Tenant => format!("tenant `{name}`"),
            Owner::Role => format!("role `{name}` (all its keys together)"),
            Owner::Model => format!("model `{name}`"),
        }
    }
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

/// One charge — the limits of one Redis hash tag — and who each of its entries belongs to.
struct Part {
    charge: Charge,
    /// Per rate bucket, in the charge's order.
    rate_owners: Vec<(Owner, String)>,
    lease_owners: Vec<(Owner, String)>,
    budgets: Vec<(Owner, String, Period, OffsetDateTime)>,
    /// Whether the node-local fallback admitted it (settled there too).
    local: bool,
}

impl Part {
    fn new(scope: String, lease_id: &str, lease_ttl: Duration) -> Part {
        Part {
            charge: Charge {
                scope,
                lease_id: lease_id.to_owned(),
                lease_ttl,
                ..Charge::default()
            },
            rate_owners: Vec::new(),
            lease_owners: Vec::new(),
            budgets: Vec::new(),
            local: false,
        }
    }

    /// Adds everything `limits` asks of this request.
    fn add(
        &mut self,
        owner: Owner,
        name: &str,
        limits: &Limits,
        estimate: &Estimate,
        now: OffsetDateTime,
    ) {
        let prefix = owner.prefix();
        if let Some(limit) = limits.requests_per_minute {
            self.charge.rates.push(RateCharge {
                bucket: format!("{prefix}:{name}:rpm"),
                kind: LimitKind::Requests,
                per_minute: u64::from(limit),
                cost: 1,
            });
            self.rate_owners.push((owner, name.to_owned()));
        }
        if let Some(limit) = limits.tokens_per_minute {
            self.charge.rates.push(RateCharge {
                bucket: format!("{prefix}:{name}:tpm"),
                kind: LimitKind::Tokens,
                per_minute: limit,
                // A request larger than a whole minute's allowance goes when the bucket is full.
                cost: estimate.tokens().clamp(1, limit),
            });
            self.rate_owners.push((owner, name.to_owned()));
        }
        if let Some(limit) = limits.max_concurrent_requests {
            self.charge.leases.push(LeaseCharge {
                bucket: format!("{prefix}:{name}:concurrent"),
                limit,
            });
            self.lease_owners.push((owner, name.to_owned()));
        }
        for (period, limit) in [
            (Period::Day, limits.daily_budget_micros),
            (Period::Month, limits.monthly_budget_micros),
        ] {
            let Some(limit) = limit else { continue };
            let (id, resets) = period_of(period, now);
            self.charge.budgets.push(BudgetCharge {
                bucket: format!("{prefix}:{name}:spend:{id}"),
                limit,
                amount: estimate.cost(),
                ttl: (resets - now).unsigned_abs() + Duration::from_secs(3600),
            });
            self.budgets.push((owner, name.to_owned(), period, resets));
        }
    }

    /// Whether settling with `used` changes anything.
    fn needs_settling(&self, used: &Usage) -> bool {
        !self.charge.leases.is_empty()
            || !self.charge.budgets.is_empty()
            || self
                .charge
                .rates
                .iter()
                .any(|rate| rate.cost != used.of(rate))
    }

    /// Why the shared state refused this part, in the client's terms.
    fn refusal(&self, verdict: Verdict, estimate: &Estimate, now: OffsetDateTime) -> GatewayError {
        let owner = |owners: &[(Owner, String)], index: usize| {
            owners
                .get(index)
                .map_or_else(String::new, |(owner, name)| owner.describe(name))
        };
        match verdict {
            Verdict::RateLimited { index, retry_after } => {
                let whose = owner(&self.rate_owners, index);
                let rate = self.charge.rates.get(index);
                let per_minute = rate.map_or(0, |rate| rate.per_minute);
                let tokens = rate.is_some_and(|rate| rate.kind == LimitKind::Tokens);
                metrics::counter!("switchboard_limit_denials_total", "kind" => if tokens { "tokens" } else { "requests" })
                    .increment(1);
                let message = if tokens {
                    format!(
                        "Rate limit reached for tokens: {whose} allows {per_minute} tokens per minute and this request needs about {}. Retry after {:.1}s.",
                        estimate.tokens(),
                        retry_after.as_secs_f64()
                    )
                } else {
                    format!(
                        "Rate limit reached for requests: {whose} allows {per_minute} requests per minute. Retry after {:.1}s.",
                        retry_after.as_secs_f64()
                    )
                };
                let mut error = GatewayError::new(ErrorKind::RateLimited, message)
                    .with_code("rate_limit_exceeded")
                    .with_retry_after(Some(retry_after));
                // OpenAI's own word for which limit it was.
                error.upstream_type = Some(if tokens { "tokens" } else { "requests" }.to_owned());
                error
            }
            Verdict::Concurrency { index } => {
                metrics::counter!("switchboard_limit_denials_total", "kind" => "concurrency")
                    .increment(1);
                GatewayError::new(
                    ErrorKind::RateLimited,
                    format!(
                        "Too many concurrent requests: {} allows {} at once. Retry when one of them finishes.",
                        owner(&self.lease_owners, index),
                        self.charge.leases.get(index).map_or(0, |lease| lease.limit)
                    ),
                )
                .with_code("concurrency_limit_exceeded")
                .with_retry_after(Some(Duration::from_secs(1)))
            }
            Verdict::OverBudget { index, spent } => {
                metrics::counter!("switchboard_limit_denials_total", "kind" => "budget")
                    .increment(1);
                let (Some(budget), Some((owner, name, period, resets))) =
                    (self.charge.budgets.get(index), self.budgets.get(index))
                else {
                    return GatewayError::new(ErrorKind::BudgetExceeded, "Budget exceeded.")
                        .with_code("budget_exceeded");
                };
                let spent_part = if spent >= budget.limit {
                    format!("is spent (${} used)", usd(spent))
                } else {
                    format!(
                        "has ${} left, less than this request's estimated ${}",
                        usd(budget.limit - spent),
                        usd(budget.amount)
                    )
                };
                GatewayError::new(
                    ErrorKind::BudgetExceeded,
                    format!(
                        // Periods end at midnight UTC.
                        "Budget exceeded: the {} budget of {} (${}) {spent_part}. It resets at {}T00:00:00Z.",
                        period.adjective(),
                        owner.describe(name),
                        usd(budget.limit),
                        resets.date(),
                    ),
                )
                .with_code("budget_exceeded")
                .with_retry_after(Some((*resets - now).unsigned_abs()))
            }
            Verdict::Admitted { .. } => GatewayError::new(
                ErrorKind::Internal,
                "a limit check was admitted and refused at once",
            ),
        }
    }
}

/// A request that passed its limits. Settle it with [`Admission::settle`] once its usage is
/// known, or [`Admission::refund`] when it used nothing; dropped unsettled (a client that went
/// away mid-stream), it keeps its estimate charged and releases its concurrency leases.
pub struct Admission {
    state: Arc<SharedState>,
    parts: Vec<Part>,
    /// For the `x-ratelimit-*-requests` headers: the tightest requests bucket.
    pub requests: Option<(u64, RateStatus)>,
    /// For the `x-ratelimit-*-tokens` headers: the tightest tokens bucket.
    pub tokens: Option<(u64, RateStatus)>,
    /// The least any of the request's budgets has left after its reservation (micro-dollars).
    pub budget_remaining: Option<u64>,
    thresholds: Arc<[u32]>,
    settled: bool,
}

impl Admission {
    /// Corrects the estimate with the real usage, priced at `price` (the serving channel's).
    pub fn settle(mut self, usage: &crate::canonical::Usage, price: Option<Price>) {
        self.settled = true;
        self.spawn_settlement(Usage::used(
            usage.total(),
            price.map_or(0, |price| price.cost_micros(usage)),
        ));
    }

    /// Gives back tokens and spend: the request failed before any upstream used anything. (It
    /// still counts as a request.)
    pub fn refund(mut self) {
        self.settled = true;
        self.spawn_settlement(Usage::used(0, 0));
    }

    fn spawn_settlement(&mut self, used: Usage) {
        let parts: Vec<Part> = std::mem::take(&mut self.parts)
            .into_iter()
            .filter(|part| part.needs_settling(&used))
            .collect();
        if parts.is_empty() {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let state = self.state.clone();
        let thresholds = self.thresholds.clone();
        runtime.spawn(async move {
            for part in parts {
                let crossings = state
                    .settle(&part.charge, used, part.local, &thresholds)
                    .await;
                for crossing in crossings {
                    let (Some((owner, name, period, _)), Some(budget)) = (
                        part.budgets.get(crossing.budget),
                        part.charge.budgets.get(crossing.budget),
                    ) else {
                        continue;
                    };
                    let label = format!("{} {}", owner.describe(name), period.adjective());
                    metrics::counter!(
                        "switchboard_budget_alerts_total",
                        "budget" => label.clone(),
                        "percent" => crossing.percent.to_string(),
                    )
                    .increment(1);
                    tracing::warn!(
                        budget = %label,
                        percent = crossing.percent,
                        spent_usd = usd(crossing.spent),
                        limit_usd = usd(budget.limit),
                        "budget alert: spend crossed a threshold"
                    );
                }
            }
        });
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        if !self.settled {
            // The usage is unknown (a client that went away): keep the estimate charged.
            self.spawn_settlement(Usage::AS_CHARGED);
        }
    }
}

/// Checks and takes everything the request needs from its key's, tenant's, role's and model's
/// limits, or answers why not: 429 for rates and concurrency, 402 for budgets.
///
/// The key's and tenant's limits share the tenant's hash tag and go in one script; a role's
/// shared limits and a model's span tenants, so they share another hash tag and are a second
/// script sent at the same time (pipelined on one Redis, in parallel on a Cluster). If either
/// refuses, what the other took is given back.
pub async fn admit(
    state: &Arc<SharedState>,
    principal: &Principal,
    model: Option<(&str, &Limits)>,
    estimate: &Estimate,
    settings: &BudgetSettings,
    lease_id: &str,
    lease_ttl: Duration,
) -> Result<Option<Admission>, GatewayError> {
    let now = OffsetDateTime::now_utc();
    let tenant = principal.tenant.as_deref();
    let scope = tenant.map_or(&principal.key_name, |tenant| &tenant.name);
    let mut own = Part::new(scope.clone(), lease_id, lease_ttl);
    own.add(
        Owner::Key,
        &principal.key_name,
        &principal.limits,
        estimate,
        now,
    );
    if let Some(tenant) = tenant {
        own.add(Owner::Tenant, &tenant.name, &tenant.limits, estimate, now);
    }
    let mut shared = Part::new("shared".to_owned(), lease_id, lease_ttl);
    let role = &principal.role;
    shared.add(Owner::Role, &role.name, &role.shared_limits, estimate, now);
    if let Some((name, limits)) = model {
        shared.add(Owner::Model, name, limits, estimate, now);
    }
    let mut parts = vec![own, shared];
    parts.retain(|part| !part.charge.is_empty());
    if parts.is_empty() {
        return Ok(None);
    }
    let estimate = *estimate;
    let admission = Admission {
        state: state.clone(),
        parts,
        requests: None,
        tokens: None,
        budget_remaining: None,
        thresholds: settings.alert_thresholds.clone(),
        settled: false,
    };
    // In-process state answers without ever yielding, so nothing can interrupt it. On Redis,
    // admission runs as its own task: if the client goes away meanwhile, the task still
    // finishes, and what it took is settled (its leases released) instead of leaking.
    if matches!(**state, SharedState::Local(_)) {
        return take(admission, estimate, now).await;
    }
    tokio::spawn(take(admission, estimate, now))
        .await
        .unwrap_or_else(|error| {
            Err(GatewayError::new(
                ErrorKind::Internal,
                format!("the limit check failed: {error}"),
            ))
        })
}

async fn take(
    mut admission: Admission,
    estimate: Estimate,
    now: OffsetDateTime,
) -> Result<Option<Admission>, GatewayError> {
    let state = admission.state.clone();
    let verdicts = futures_util::future::join_all(
        admission.parts.iter().map(|part| state.admit(&part.charge)),
    )
    .await;
    let mut refusal = None;
    let mut taken = Vec::with_capacity(admission.parts.len());
    for (mut part, verdict) in std::mem::take(&mut admission.parts)
        .into_iter()
        .zip(verdicts)
    {
        match verdict {
            Ok(Verdict::Admitted {
                rates,
                budgets,
                local,
            }) => {
                part.local = local;
                for (budget, counter) in part.charge.budgets.iter().zip(budgets) {
                    let left = budget.limit.saturating_sub(counter);
                    admission.budget_remaining = Some(
                        admission
                            .budget_remaining
                            .map_or(left, |least| least.min(left)),
                    );
                }
                for (rate, status) in part.charge.rates.iter().zip(rates) {
                    let slot = match rate.kind {
                        LimitKind::Tokens => &mut admission.tokens,
                        _ => &mut admission.requests,
                    };
                    if slot.is_none_or(|(_, tightest)| status.remaining < tightest.remaining) {
                        *slot = Some((rate.per_minute, status));
                    }
                }
                taken.push(part);
            }
            Ok(verdict) => {
                refusal.get_or_insert_with(|| part.refusal(verdict, &estimate, now));
            }
            Err(error) => {
                // Shared state was unavailable (fail-closed): its script may still have run.
                if !part.charge.leases.is_empty() {
                    state
                        .settle(&part.charge.leases_only(), Usage::NOTHING, false, &[])
                        .await;
                }
                refusal.get_or_insert(error);
            }
        }
    }
    admission.parts = taken;
    let Some(error) = refusal else {
        return Ok(Some(admission));
    };
    // Give back what the other part took: the request never happened. Awaited, so a caller
    // that hears the refusal finds the other limits as they were.
    admission.settled = true;
    for part in std::mem::take(&mut admission.parts) {
        state
            .settle(&part.charge, Usage::NOTHING, part.local, &[])
            .await;
    }
    Err(error)
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
