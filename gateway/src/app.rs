//! `AppState`: everything a handler needs, shared by all connections.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use arc_swap::ArcSwap;
use metrics_exporter_prometheus::PrometheusHandle;

use crate::config::Snapshot;
use crate::routing::health::Health;
use crate::state::{RedisState, SharedState};

pub struct AppState {
    /// The configuration in force, swapped atomically on reload.
    pub snapshot: ArcSwap<Snapshot>,
    pub health: Health,
    pub state: Arc<SharedState>,
    /// Renders `/metrics`; absent when no recorder is installed.
    pub metrics: Option<PrometheusHandle>,
    /// Set when shutdown begins, so `/ready` tells load balancers to stop sending traffic.
    pub shutting_down: AtomicBool,
    /// Each request ends with an access log line (`log.access`), read once at start.
    pub access_log: bool,
    request_prefix: String,
    request_counter: AtomicU64,
}

impl AppState {
    /// Fails only when the configured Redis URL cannot be used at all (a bad URL); an
    /// unreachable Redis is handled per request.
    pub fn new(snapshot: Snapshot, metrics: Option<PrometheusHandle>) -> Result<Arc<Self>, String> {
        let health = Health::new(
            snapshot.channels.iter().map(|channel| channel.name.clone()),
            snapshot.routing.circuit,
        );
        let state = match &snapshot.redis {
            Some(settings) => SharedState::Redis(Box::new(RedisState::new(settings.clone())?)),
            None => SharedState::local(),
        };
        let access_log = snapshot.access_log;
        Ok(Arc::new(AppState {
            access_log,
            snapshot: ArcSwap::from_pointee(snapshot),
            health,
            state: Arc::new(state),
            metrics,
            shutting_down: AtomicBool::new(false),
            request_prefix: format!("req_{:08x}", fastrand::u32(..)),
            request_counter: AtomicU64::new(0),
        }))
    }

    /// A process-unique request id, cheap to make.
    pub fn next_request_id(&self) -> String {
        let n = self.request_counter.fetch_add(1, Ordering::Relaxed);
        format!("{}{n:010x}", self.request_prefix)
    }
}
