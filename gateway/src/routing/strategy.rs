//! Routing strategies: how the healthy candidates for a model are ordered.
//!
//! Every strategy produces a full order, not a single pick, so failover walks the rest of the
//! list in a sensible order when the first choice fails. Channels cooling down after repeated
//! failures always come last, whatever the strategy.
//!
//! | strategy | order |
//! |---|---|
//! | `weighted` (default) | by priority; within a priority a weighted random draw (weights normalised) |
//! | `round_robin` | by priority; within a priority the next channel in turn, per model |
//! | `failover` | by priority, then configuration order — the primary takes everything while healthy |
//! | `cost_optimized` | cheapest configured price first; unpriced channels last; ties in configuration order |
//! | `least_busy` | fewest requests in flight first; ties random |
//! | `latency` | power of two choices over peak-EWMA latency × (in flight + 1), then by that score |
//! | `sticky` | rendezvous hash of the session header: a conversation keeps its channel (and its prompt cache) |

use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Deserialize;

use super::health::Health;
use crate::config::Route;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    #[default]
    Weighted,
    RoundRobin,
    Failover,
    CostOptimized,
    LeastBusy,
    Latency,
    Sticky,
}

impl Strategy {
    /// The names AxonFlow's `LLM_ROUTING_STRATEGY` uses, plus ours.
    pub fn parse(name: &str) -> Option<Strategy> {
        Some(
            match name.trim().to_ascii_lowercase().replace('-', "_").as_str() {
                "weighted" => Strategy::Weighted,
                "round_robin" | "roundrobin" => Strategy::RoundRobin,
                "failover" | "priority" => Strategy::Failover,
                "cost_optimized" | "cost" => Strategy::CostOptimized,
                "least_busy" => Strategy::LeastBusy,
                "latency" => Strategy::Latency,
                "sticky" => Strategy::Sticky,
                _ => return None,
            },
        )
    }
}

/// What an order is computed from besides the routes.
pub struct Inputs<'a> {
    pub health: &'a Health,
    /// The per-model round-robin cursor.
    pub cursor: &'a AtomicUsize,
    /// The session key for `sticky`, when the request carried one.
    pub session: Option<&'a str>,
}

/// Orders `routes` by `strategy`; cooling-down channels go last in every strategy.
pub fn order(strategy: Strategy, routes: &[Arc<Route>], inputs: &Inputs<'_>) -> Vec<Arc<Route>> {
    let health = inputs.health;
    let (mut healthy, cooling): (Vec<&Arc<Route>>, Vec<&Arc<Route>>) = routes
        .iter()
        .partition(|route| health.is_healthy(route.channel.index));
    match strategy {
        Strategy::Weighted => weighted(&mut healthy),
        Strategy::RoundRobin => round_robin(&mut healthy, inputs.cursor),
        Strategy::Failover => healthy.sort_by_key(|route| route.channel.priority),
        Strategy::CostOptimized => healthy.sort_by(|a, b| {
            let price =
                |route: &Arc<Route>| route.channel.price_per_1k_tokens.unwrap_or(f64::INFINITY);
            price(a).total_cmp(&price(b))
        }),
        Strategy::LeastBusy => {
            fastrand::shuffle(&mut healthy);
            healthy.sort_by_key(|route| health.in_flight(route.channel.index));
        }
        Strategy::Latency => latency(&mut healthy, health),
        Strategy::Sticky => match inputs.session {
            Some(session) => sticky(&mut healthy, session),
            None => weighted(&mut healthy),
        },
    }
    healthy.into_iter().chain(cooling).cloned().collect()
}

/// Efraimidis–Spirakis within each priority: sorting by u^(1/w) descending is a weighted random
/// order.
fn weighted(routes: &mut Vec<&Arc<Route>>) {
    let mut keyed: Vec<(u32, f64, &Arc<Route>)> = routes
        .iter()
        .map(|route| {
            let draw = fastrand::f64().powf(1.0 / f64::from(route.channel.weight));
            (route.channel.priority, -draw, *route)
        })
        .collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
    *routes = keyed.into_iter().map(|(_, _, route)| route).collect();
}

fn round_robin(routes: &mut [&Arc<Route>], cursor: &AtomicUsize) {
    routes.sort_by_key(|route| route.channel.priority);
    let Some(first) = routes.first().map(|route| route.channel.priority) else {
        return;
    };
    let group = routes
        .iter()
        .take_while(|route| route.channel.priority == first)
        .count();
    let turn = cursor.fetch_add(1, Ordering::Relaxed) % group;
    routes[..group].rotate_left(turn);
}

fn latency(routes: &mut Vec<&Arc<Route>>, health: &Health) {
    let score = |route: &Arc<Route>| health.latency_score(route.channel.index);
    routes.sort_by(|a, b| score(a).total_cmp(&score(b)));
    if routes.len() >= 2 {
        // Power of two choices: of two random channels the better one goes first, so load also
        // reaches channels whose scores are stale.
        let (a, b) = (
            fastrand::usize(..routes.len()),
            fastrand::usize(..routes.len()),
        );
        let pick = if score(routes[a]) <= score(routes[b]) {
            a
        } else {
            b
        };
        let chosen = routes.remove(pick);
        routes.insert(0, chosen);
    }
}

/// Rendezvous (highest random weight) hashing: each session prefers one channel, and only the
/// sessions of a removed channel move.
fn sticky(routes: &mut [&Arc<Route>], session: &str) {
    let hasher =
        std::hash::BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default();
    let weight = |route: &Arc<Route>| {
        let mut state = hasher.build_hasher();
        state.write(session.as_bytes());
        state.write(route.channel.name.as_bytes());
        state.finish()
    };
    routes.sort_by_key(|route| std::cmp::Reverse(weight(route)));
}
