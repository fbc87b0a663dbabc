//! Passive channel health: consecutive failures open a cool-down during which the channel is
//! ordered last; one success closes it again.
//!
//! This is the node-local first step; error-rate windows, latency scores, active probes and
//! cluster-wide circuit state build on the same per-channel record.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Consecutive failures that put a channel into cool-down.
pub const FAILURE_THRESHOLD: u32 = 3;
/// How long a failing channel is ordered last before it is trusted again.
pub const COOLDOWN: Duration = Duration::from_secs(30);

pub struct Health {
    origin: Instant,
    channels: Vec<ChannelHealth>,
}

#[derive(Default)]
struct ChannelHealth {
    consecutive_failures: AtomicU32,
    /// Milliseconds since `origin` until which the channel cools down.
    cooling_until_ms: AtomicU64,
    last_error: Mutex<Option<String>>,
}

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
            channels: (0..channels).map(|_| ChannelHealth::default()).collect(),
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
