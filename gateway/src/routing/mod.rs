//! Routing: which channels may serve a request, and in which order to try them.
//!
//! Channels are grouped by priority (lower first); within a group the order is a weighted random
//! draw, so weights spread traffic while failover still walks every channel. Channels that are
//! cooling down after repeated failures go last: they are tried only when nothing healthy is
//! left, because a request that an unhealthy channel might still serve is better than a
//! certain failure.

pub mod attempt;
pub mod health;

use std::sync::Arc;

use crate::config::{Route, Snapshot};
use crate::error::GatewayError;
use health::Health;

/// The ordered candidates for a (resolved) model name.
pub fn candidates(
    snapshot: &Snapshot,
    health: &Health,
    model: &str,
) -> Result<Vec<Arc<Route>>, GatewayError> {
    let routes = snapshot
        .routes
        .get(model)
        .ok_or_else(|| GatewayError::model_not_found(model))?;
    let mut keyed: Vec<(bool, u32, f64, &Arc<Route>)> = routes
        .iter()
        .map(|route| {
            let healthy = health.is_healthy(route.channel.index);
            // Efraimidis–Spirakis: sorting by u^(1/w) descending is a weighted random order.
            let draw = fastrand::f64().powf(1.0 / f64::from(route.channel.weight));
            (!healthy, route.channel.priority, -draw, route)
        })
        .collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.total_cmp(&b.2)));
    Ok(keyed
        .into_iter()
        .map(|(_, _, _, route)| route.clone())
        .collect())
}
