//! Passive channel health: consecutive failures open a cool-down during which the channel is
//! ordered last; one success closes it again.
//!
//! This is the node-local first step; error-rate windows, latency scores, active probes and
//! cluster-wide circuit state build on the same per-channel record.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Consecutive failures that put a channel into cool-down.
pub const FAILURE_THRESHOLD: u32 = 3;
/// How long a failing channel is ordered last before it is trusted again.
pub const COOLDOWN: Duration = Duration::from_secs(30);

pub struct Health {
    origin: Instant,
    channels: Arc<[ChannelHealth]>,
}

#[derive(Default)]
struct ChannelHealth {
    consecutive_failures: AtomicU32,
    /// Milliseconds since `origin` until which the channel cools down.
    cooling_until_ms: AtomicU64,
    last_error: Mutex<Option<String>>,
    /// Requests on their way to or streaming from this channel.
    in_flight: AtomicU32,
    /// Peak-EWMA of the time until an attempt commits, in microseconds (0: no sample yet).
    latency_us: AtomicU64,
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
}

impl Health {
    pub fn new(channels: usize) -> Self {
        Health {
            origin: Instant::now(),
            channels: (0..channels)
                .map(|_| ChannelHealth::default())
                .collect::<Vec<_>>()
                .into(),
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

    pub fn record_success(&self, channel: usize) {
        if let Some(health) = self.channels.get(channel)
            && health.consecutive_failures.swap(0, Ordering::Relaxed) != 0
        {
            health.cooling_until_ms.store(0, Ordering::Relaxed);
        }
    }

    pub fn record_failure(&self, channel: usize, message: &str) {
        let Some(health) = self.channels.get(channel) else {
            return;
        };
        let failures = health.consecutive_failures.fetch_add(1, Ordering::Relaxed) + 1;
        if failures >= FAILURE_THRESHOLD {
            let until = self.now_ms() + COOLDOWN.as_millis() as u64;
            health.cooling_until_ms.store(until, Ordering::Relaxed);
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
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threshold_failures_cool_a_channel_and_a_success_restores_it() {
        let health = Health::new(2);
        for _ in 0..FAILURE_THRESHOLD - 1 {
            health.record_failure(0, "boom");
        }
        assert!(health.is_healthy(0));
        health.record_failure(0, "boom");
        assert!(!health.is_healthy(0));
        assert!(health.is_healthy(1));
        assert_eq!(health.status(0).last_error.as_deref(), Some("boom"));
        health.record_success(0);
        assert!(health.is_healthy(0));
    }
}
