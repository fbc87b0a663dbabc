//! Routing: which channels may serve a request, and in which order to try them.
//!
//! The model's strategy (see [`strategy`]) orders its channels; request hints then move the
//! preferred provider's channels to the front (`x-switchboard-provider`) or keep only them
//! (`x-switchboard-strict-provider: true`, a hard pin with no fallback). Channels cooling down
//! after repeated failures go last: they are tried only when nothing healthy is left, because a
//! request that an unhealthy channel might still serve is better than a certain failure.

pub mod attempt;
pub(crate) mod failure;
pub mod health;
pub mod probe;
pub mod strategy;

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use crate::canonical::RoutingPreferences;
use crate::config::{Route, Snapshot};
use crate::error::{ErrorKind, GatewayError};
use health::Health;

/// What the request says about where it wants to go.
#[derive(Debug, Clone, Copy)]
pub struct Hints<'a> {
    /// Provider order, allow and deny lists, pinning (body fields and headers merged).
    pub preferences: &'a RoutingPreferences,
    /// The session key for the `sticky` strategy.
    pub session: Option<&'a str>,
}

/// The ordered candidates for a (resolved) model name.
pub fn candidates(
    snapshot: &Snapshot,
    health: &Health,
    model: &str,
    hints: &Hints<'_>,
) -> Result<Vec<Arc<Route>>, GatewayError> {
    let routes = snapshot
        .routes
        .get(model)
        .ok_or_else(|| GatewayError::model_not_found(model))?;
    let settings = &snapshot.routing;
    let fallback_cursor = AtomicUsize::new(0);
    let inputs = strategy::Inputs {
        health,
        cursor: settings.cursors.get(model).unwrap_or(&fallback_cursor),
        session: hints.session,
    };
    let mut ordered = strategy::order(settings.strategy(model), routes, &inputs);
    let preferences = hints.preferences;
    let named = |route: &Arc<Route>, name: &str| {
        route.channel.name == name || route.channel.kind.as_str() == name
    };
    ordered.retain(|route| {
        (preferences.only.is_empty() || preferences.only.iter().any(|name| named(route, name)))
            && !preferences.ignore.iter().any(|name| named(route, name))
    });
    let order: Vec<&str> = if preferences.order.is_empty() {
        settings
            .default_provider
            .iter()
            .map(String::as_str)
            .collect()
    } else {
        preferences.order.iter().map(String::as_str).collect()
    };
    let position = |route: &Arc<Route>| {
        order
            .iter()
            .position(|name| named(route, name))
            .unwrap_or(usize::MAX)
    };
    // Stable: within the same preference the strategy's order stands.
    ordered.sort_by_key(|route| position(route));
    let strict = preferences
        .allow_fallbacks
        .map(|allowed| !allowed)
        .unwrap_or(settings.strict_provider_default);
    if strict && !order.is_empty() {
        ordered.retain(|route| position(route) != usize::MAX);
    }
    if ordered.is_empty() {
        let wanted = if order.is_empty() {
            preferences.only.join(", ")
        } else {
            order.join(", ")
        };
        return Err(GatewayError::new(
            ErrorKind::NotFound,
            format!("No channel of the requested provider(s) `{wanted}` serves the model `{model}` (the request does not allow others)."),
        )
        .with_code("provider_not_available"));
    }
    Ok(ordered)
}
