//! Channel health and the circuit breaker, node-local.
//!
//! Every attempt's outcome lands in a per-channel sliding window (error rate, p95 latency). The
//! circuit opens — the channel cools down and is ordered last — after `failure_threshold`
//! consecutive failures or when a full window's error rate reaches `error_rate_threshold`. When
//! the cool-down ends the channel is half-open: the next attempt is the probe; a success closes
//! the circuit, a failure opens it again at once. Active probes (see `probe`) feed the same
//! record.
//!
//! In a cluster (shared state on Redis) each node also reports its outcomes and the circuits it
//! opened on a short tick, and takes back what the cluster saw: a circuit opened on one node
//! keeps every node off the channel, and an error rate only visible across the nodes' merged
//! outcomes opens it too (see [`sync`]).

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// When the circuit opens and for how long.
#[derive(Debug, Clone, Copy)]
pub struct CircuitSettings {
    /// Consecutive failures that open the circuit.
    pub failure_threshold: u32,
    /// How long an open circuit keeps the channel out before a probe may close it.
    pub cooldown: Duration,
    /// Error rate over a full window that opens the circuit.
    pub error_rate_threshold: f64,
    /// Outcomes kept per channel.
    pub window: usize,
}

impl Default for CircuitSettings {
    fn default() -> Self {
        CircuitSettings {
            failure_threshold: 3,
            cooldown: Duration::from_secs(30),
            error_rate_threshold: 0.5,
            window: 20,
        }
    }
}

pub struct Health {
    origin: Instant,
    settings: CircuitSettings,
    channels: Arc<[ChannelHealth]>,
    /// Woken when a circuit opens, so the cluster hears of it at once rather than next tick.
    opened: tokio::sync::Notify,
}

#[derive(Default)]
struct ChannelHealth {
    /// The channel's name, for the log lines that say its circuit opened or closed.
    name: String,
    /// The circuit is open (the channel is out until a request succeeds on it again).
    open: std::sync::atomic::AtomicBool,
    consecutive_failures: AtomicU32,
    /// Milliseconds since `origin` until which the channel cools down.
    cooling_until_ms: AtomicU64,
    last_error: Mutex<Option<String>>,
    /// Requests on their way to or streaming from this channel.
    in_flight: AtomicU32,
    /// Peak-EWMA of the time until an attempt commits, in microseconds (0: no sample yet).
    latency_us: AtomicU64,
    /// The latest outcomes: success and elapsed milliseconds.
    window: Mutex<std::collections::VecDeque<(bool, u32)>>,
    /// Outcomes since the last report to the cluster.
    unreported_ok: AtomicU32,
    unreported_failed: AtomicU32,
    /// The end (ms since `origin`) of a cool-down this node started and has not reported yet.
    unreported_open_until_ms: AtomicU64,
}

/// What one node tells the cluster about a channel since its last report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Report {
    pub ok: u32,
    pub failed: u32,
    /// A cool-down this node started: how long it has left.
    pub open_for: Duration,
}

/// What the cluster knows about a channel: how long its circuit stays open (zero: closed) and
/// every node's outcomes over the recent window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Shared {
    pub open_for: Duration,
    pub ok: u64,
    pub failed: u64,
}

/// Counts a request in flight on a channel until dropped.
pub struct InFlight {
    channels: Arc<[ChannelHealth]>,
    channel: usize,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Some(health) = self.channels.get(self.channel) {
            health.in_flight.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// Weight of a new latency sample in the EWMA when it is not a new peak.
const EWMA_WEIGHT: f64 = 0.2;

/// A channel's health as `/health` reports it.
pub struct ChannelStatus {
    pub healthy: bool,
    pub consecutive_failures: u32,
    pub last_error: Option<String>,
    /// Failures over the outcomes in the window (None before the first).
    pub error_rate: Option<f64>,
    pub p95_latency: Option<Duration>,
}

impl Health {
    /// Health for the channels named `names`, in channel order.
    pub fn new(names: impl IntoIterator<Item = String>, settings: CircuitSettings) -> Self {
        Health {
            origin: Instant::now(),
            settings,
            channels: names
                .into_iter()
                .map(|name| ChannelHealth {
                    name,
                    ..ChannelHealth::default()
                })
                .collect::<Vec<_>>()
                .into(),
            opened: tokio::sync::Notify::new(),
        }
    }

    /// Resolves when a circuit opens on this node.
    pub async fn circuit_opened(&self) {
        self.opened.notified().await;
    }

    /// Takes every channel's unreported outcomes and openings (in channel order).
    pub fn take_reports(&self) -> Vec<Report> {
        let now = self.now_ms();
        self.channels
            .iter()
            .map(|health| {
                let opened_until = health.unreported_open_until_ms.swap(0, Ordering::Relaxed);
                Report {
                    ok: health.unreported_ok.swap(0, Ordering::Relaxed),
                    failed: health.unreported_failed.swap(0, Ordering::Relaxed),
                    open_for: Duration::from_millis(opened_until.saturating_sub(now)),
                }
            })
            .collect()
    }

    /// Puts back reports that could not be delivered, to go with the next ones.
    pub fn restore_reports(&self, reports: &[Report]) {
        let now = self.now_ms();
        for (health, report) in self.channels.iter().zip(reports) {
            health.unreported_ok.fetch_add(report.ok, Ordering::Relaxed);
            health
                .unreported_failed
                .fetch_add(report.failed, Ordering::Relaxed);
            if !report.open_for.is_zero() {
                health
                    .unreported_open_until_ms
                    .fetch_max(now + report.open_for.as_millis() as u64, Ordering::Relaxed);
            }
        }
    }

    /// Applies the cluster's view of `channel`: an open circuit keeps it out here too, and a
    /// merged error rate at the threshold over at least a window's worth of outcomes opens it.
    pub fn apply_shared(&self, channel: usize, shared: Shared) {
        let Some(health) = self.channels.get(channel) else {
            return;
        };
        if !shared.open_for.is_zero() {
            let until = self.now_ms() + shared.open_for.as_millis() as u64;
            health.cooling_until_ms.fetch_max(until, Ordering::Relaxed);
            if !health.open.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    channel = %health.name,
                    cooldown_s = shared.open_for.as_secs_f64(),
                    "circuit opened: the cluster has the channel out of rotation"
                );
            }
            return;
        }
        let total = shared.ok + shared.failed;
        if total >= self.settings.window.max(1) as u64
            && shared.failed as f64 / total as f64 >= self.settings.error_rate_threshold
            && self.is_healthy(channel)
        {
            let reason = format!(
                "the cluster's error rate is {:.0}% over the last {total} requests",
                shared.failed as f64 * 100.0 / total as f64
            );
            self.open(health, &reason);
            if let Ok(mut last) = health.last_error.lock() {
                last.get_or_insert(reason);
            }
        }
    }

    fn now_ms(&self) -> u64 {
        self.origin.elapsed().as_millis() as u64
    }

    pub fn is_healthy(&self, channel: usize) -> bool {
        self.channels
            .get(channel)
            .is_none_or(|health| health.cooling_until_ms.load(Ordering::Relaxed) <= self.now_ms())
    }

    /// Counts a request in flight on `channel` until the guard is dropped.
    pub fn begin(&self, channel: usize) -> InFlight {
        if let Some(health) = self.channels.get(channel) {
            health.in_flight.fetch_add(1, Ordering::Relaxed);
        }
        InFlight {
            channels: self.channels.clone(),
            channel,
        }
    }

    pub fn in_flight(&self, channel: usize) -> u32 {
        self.channels
            .get(channel)
            .map_or(0, |health| health.in_flight.load(Ordering::Relaxed))
    }

    /// Peak-EWMA: a slower sample takes over at once, a faster one pulls the average down slowly,
    /// so a channel that just got slow is avoided quickly and trusted again gradually.
    pub fn observe_latency(&self, channel: usize, elapsed: Duration) {
        let Some(health) = self.channels.get(channel) else {
            return;
        };
        let sample = elapsed.as_micros().min(u128::from(u64::MAX)) as u64;
        let current = health.latency_us.load(Ordering::Relaxed);
        let next = if current == 0 || sample > current {
            sample
        } else {
            (current as f64 * (1.0 - EWMA_WEIGHT) + sample as f64 * EWMA_WEIGHT) as u64
        };
        health.latency_us.store(next, Ordering::Relaxed);
    }

    /// Expected cost of sending one more request: latency × (in flight + 1). Channels without a
    /// sample score 0, so they get probed.
    pub fn latency_score(&self, channel: usize) -> f64 {
        self.channels.get(channel).map_or(0.0, |health| {
            health.latency_us.load(Ordering::Relaxed) as f64
                * f64::from(health.in_flight.load(Ordering::Relaxed) + 1)
        })
    }

    pub fn latency(&self, channel: usize) -> Option<Duration> {
        let micros = self
            .channels
            .get(channel)?
            .latency_us
            .load(Ordering::Relaxed);
        (micros > 0).then(|| Duration::from_micros(micros))
    }

    /// Keeps `channel` out for `duration` (an upstream's `retry-after`), without counting a failure.
    pub fn cool_for(&self, channel: usize, duration: Duration) {
        if let Some(health) = self.channels.get(channel) {
            let until = self.now_ms() + duration.as_millis() as u64;
            health.cooling_until_ms.fetch_max(until, Ordering::Relaxed);
            health
                .unreported_open_until_ms
                .fetch_max(until, Ordering::Relaxed);
            self.opened.notify_one();
        }
    }

    /// How long `channel` still cools down, if it does.
    pub fn cooling_remaining(&self, channel: usize) -> Option<Duration> {
        let until = self
            .channels
            .get(channel)?
            .cooling_until_ms
            .load(Ordering::Relaxed);
        let now = self.now_ms();
        (until > now).then(|| Duration::from_millis(until - now))
    }

    pub fn record_success(&self, channel: usize, elapsed: Duration) {
        let Some(health) = self.channels.get(channel) else {
            return;
        };
        let error_rate = self.push(health, true, elapsed);
        if health.consecutive_failures.swap(0, Ordering::Relaxed) != 0
            && error_rate.is_none_or(|rate| rate < self.settings.error_rate_threshold)
        {
            health.cooling_until_ms.store(0, Ordering::Relaxed);
        }
        // However it opened (failures, error rate, another node), the circuit is closed once the
        // channel answers and no cool-down holds it out any more.
        if health.open.load(Ordering::Relaxed)
            && health.cooling_until_ms.load(Ordering::Relaxed) <= self.now_ms()
            && health.open.swap(false, Ordering::Relaxed)
        {
            tracing::warn!(channel = %health.name, "circuit closed: the channel answered again and is back in rotation");
        }
    }

    /// Adds an outcome to the window; returns the window's error rate once it is full.
    fn push(&self, health: &ChannelHealth, ok: bool, elapsed: Duration) -> Option<f64> {
        if ok {
            health.unreported_ok.fetch_add(1, Ordering::Relaxed);
        } else {
            health.unreported_failed.fetch_add(1, Ordering::Relaxed);
        }
        let mut window = health
            .window
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if window.len() == self.settings.window.max(1) {
            window.pop_front();
        }
        window.push_back((ok, elapsed.as_millis().min(u128::from(u32::MAX)) as u32));
        (window.len() == self.settings.window.max(1))
            .then(|| window.iter().filter(|(ok, _)| !ok).count() as f64 / window.len() as f64)
    }

    /// Opens (or keeps open) the channel's circuit for the cool-down; `reason` says why, in the
    /// warning logged when it was closed.
    fn open(&self, health: &ChannelHealth, reason: &str) {
        let until = self.now_ms() + self.settings.cooldown.as_millis() as u64;
        health.cooling_until_ms.fetch_max(until, Ordering::Relaxed);
        health
            .unreported_open_until_ms
            .fetch_max(until, Ordering::Relaxed);
        self.opened.notify_one();
        if !health.open.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                channel = %health.name,
                cooldown_s = self.settings.cooldown.as_secs_f64(),
                reason,
                "circuit opened: channel taken out of rotation"
            );
        }
    }

    pub fn record_failure(&self, channel: usize, message: &str, elapsed: Duration) {
        let Some(health) = self.channels.get(channel) else {
            return;
        };
        let failures = health.consecutive_failures.fetch_add(1, Ordering::Relaxed) + 1;
        let error_rate = self.push(health, false, elapsed);
        if failures >= self.settings.failure_threshold {
            self.open(
                health,
                &format!("{failures} failures in a row, the last: {message}"),
            );
        } else if let Some(rate) =
            error_rate.filter(|rate| *rate >= self.settings.error_rate_threshold)
        {
            self.open(
                health,
                &format!(
                    "{:.0}% of its last {} requests failed, the last: {message}",
                    rate * 100.0,
                    self.settings.window
                ),
            );
        }
        if let Ok(mut last) = health.last_error.lock() {
            *last = Some(message.to_owned());
        }
    }

    pub fn status(&self, channel: usize) -> ChannelStatus {
        let health = self.channels.get(channel);
        ChannelStatus {
            healthy: self.is_healthy(channel),
            consecutive_failures: health.map_or(0, |health| {
                health.consecutive_failures.load(Ordering::Relaxed)
            }),
            last_error: health
                .and_then(|health| health.last_error.lock().ok().and_then(|last| last.clone())),
            error_rate: health.and_then(|health| {
                let window = health.window.lock().ok()?;
                (!window.is_empty()).then(|| {
                    window.iter().filter(|(ok, _)| !ok).count() as f64 / window.len() as f64
                })
            }),
            p95_latency: health.and_then(|health| {
                let window = health.window.lock().ok()?;
                let mut latencies: Vec<u32> = window
                    .iter()
                    .filter(|(ok, _)| *ok)
                    .map(|(_, ms)| *ms)
                    .collect();
                latencies.sort_unstable();
                let index = (latencies.len() * 95).div_ceil(100).checked_sub(1)?;
                latencies
                    .get(index)
                    .map(|ms| Duration::from_millis(u64::from(*ms)))
            }),
        }
    }
}

/// Merging health across nodes through Redis.
pub mod sync {
    use std::sync::Arc;
    use std::time::Duration;

    use crate::app::AppState;
    use crate::state::SharedState;

    /// How often a node reports and learns; a circuit opening is reported at once.
    pub const TICK: Duration = Duration::from_millis(500);

    /// Starts the sync task when the shared state is on Redis; it runs for the life of the
    /// process. While Redis is unreachable each node goes on with its own health record.
    pub fn spawn(app: &Arc<AppState>) {
        if !matches!(&*app.state, SharedState::Redis(_)) {
            return;
        }
        let app = app.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(TICK);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    () = app.health.circuit_opened() => {}
                }
                let SharedState::Redis(redis) = &*app.state else {
                    return;
                };
                let snapshot = app.snapshot.load_full();
                let reports = app.health.take_reports();
                let names = snapshot
                    .channels
                    .iter()
                    .map(|channel| channel.name.as_str());
                match redis.sync_health(names.zip(reports.iter().copied())).await {
                    Some(shared) => {
                        for (channel, shared) in shared.into_iter().enumerate() {
                            app.health.apply_shared(channel, shared);
                        }
                    }
                    // Redis is away: keep what this node saw for when it is back.
                    None => app.health.restore_reports(&reports),
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(count: usize) -> Vec<String> {
        (0..count).map(|index| format!("channel-{index}")).collect()
    }

    /// A circuit opened by the error rate closes (and says so once) at the first success after
    /// its cool-down, even while the window's rate is still high.
    #[test]
    fn a_circuit_opened_by_the_error_rate_closes_after_its_cool_down() {
        let settings = CircuitSettings {
            failure_threshold: 100,
            cooldown: Duration::from_millis(1),
            error_rate_threshold: 0.5,
            window: 2,
        };
        let health = Health::new(names(1), settings);
        health.record_failure(0, "boom", Duration::from_millis(1));
        health.record_failure(0, "boom", Duration::from_millis(1));
        assert!(health.channels[0].open.load(Ordering::Relaxed), "opened");
        std::thread::sleep(Duration::from_millis(5));
        health.record_success(0, Duration::from_millis(1));
        assert!(!health.channels[0].open.load(Ordering::Relaxed), "closed");
        assert!(health.is_healthy(0));
    }

    #[test]
    fn threshold_failures_cool_a_channel_and_a_success_restores_it() {
        let settings = CircuitSettings::default();
        let health = Health::new(names(2), settings);
        for _ in 0..settings.failure_threshold - 1 {
            health.record_failure(0, "boom", Duration::ZERO);
        }
        assert!(health.is_healthy(0));
        health.record_failure(0, "boom", Duration::ZERO);
        assert!(!health.is_healthy(0));
        assert!(health.is_healthy(1));
        assert_eq!(health.status(0).last_error.as_deref(), Some("boom"));
        health.record_success(0, Duration::from_millis(5));
        assert!(health.is_healthy(0));
        assert_eq!(health.status(0).p95_latency, Some(Duration::from_millis(5)));
    }

    #[test]
    fn a_high_error_rate_over_a_full_window_opens_the_circuit() {
        let settings = CircuitSettings {
            window: 4,
            error_rate_threshold: 0.5,
            ..CircuitSettings::default()
        };
        let health = Health::new(names(1), settings);
        for outcome in [true, false, true, false] {
            if outcome {
                health.record_success(0, Duration::from_millis(1));
            } else {
                health.record_failure(0, "flaky", Duration::ZERO);
            }
        }
        assert!(!health.is_healthy(0), "2 of 4 failed, never two in a row");
        assert_eq!(health.status(0).error_rate, Some(0.5));
    }

    #[test]
    fn reports_carry_outcomes_and_openings_once_and_shared_state_applies() {
        let settings = CircuitSettings {
            failure_threshold: 2,
            window: 4,
            ..CircuitSettings::default()
        };
        let health = Health::new(names(2), settings);
        health.record_success(0, Duration::from_millis(1));
        health.record_failure(0, "boom", Duration::ZERO);
        health.record_failure(0, "boom", Duration::ZERO);
        let reports = health.take_reports();
        assert_eq!((reports[0].ok, reports[0].failed), (1, 2));
        assert!(reports[0].open_for > Duration::from_secs(29), "{reports:?}");
        assert_eq!(reports[1], Report::default());
        assert_eq!(health.take_reports()[0], Report::default(), "reported once");

        // Another node's open circuit keeps channel 1 out here, without this node re-reporting it.
        health.apply_shared(
            1,
            Shared {
                open_for: Duration::from_secs(5),
                ..Shared::default()
            },
        );
        assert!(!health.is_healthy(1));
        assert_eq!(health.take_reports()[1], Report::default());

        // A merged error rate at the threshold opens a circuit no single node opened.
        let fresh = Health::new(names(1), settings);
        fresh.apply_shared(
            0,
            Shared {
                open_for: Duration::ZERO,
                ok: 1,
                failed: 2,
            },
        );
        assert!(fresh.is_healthy(0), "three outcomes are less than a window");
        fresh.apply_shared(
            0,
            Shared {
                open_for: Duration::ZERO,
                ok: 2,
                failed: 2,
            },
        );
        assert!(!fresh.is_healthy(0));
        assert!(
            fresh.take_reports()[0].open_for > Duration::ZERO,
            "and tells the cluster"
        );

        // Reports Redis did not take go out with the next ones.
        let undelivered = health.take_reports();
        health.record_success(1, Duration::from_millis(1));
        health.restore_reports(&[
            Report {
                ok: 2,
                failed: 1,
                open_for: Duration::from_secs(10),
            },
            undelivered[1],
        ]);
        let next = health.take_reports();
        assert_eq!((next[0].ok, next[0].failed), (2, 1));
        assert!(next[0].open_for > Duration::from_secs(9));
        assert_eq!(next[1].ok, 1);
    }
}
