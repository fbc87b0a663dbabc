//! Routing: which channels may serve a request, and in which order to try them.
//!
//! The model's strategy (see [`strategy`]) orders its channels; request hints then move the
//! preferred provider's channels to the front (`x-switchboard-provider`) or keep only them
//! (`x-switchboard-strict-provider: true`, a hard pin with no fallback). Channels cooling down
//! after repeated failures go last: they are tried only when nothing healthy is left, because a
//! request that an unhealthy channel might still serve is better than a certain failure.

pub mod attempt;
pub mod health;
pub mod strategy;

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use crate::config::{Route, Snapshot};
use crate::error::{ErrorKind, GatewayError};
use health::Health;

/// What the request says about where it wants to go.
#[derive(Debug, Default, Clone, Copy)]
pub struct Hints<'a> {
    /// A channel name or provider kind (`openai`, `anthropic`, …) to prefer.
    pub provider: Option<&'a str>,
    /// Use only the preferred provider's channels; `None` takes the configured default.
    pub strict: Option<bool>,
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
    let ordered = strategy::order(settings.strategy(model), routes, &inputs);
    let Some(wanted) = hints.provider.or(settings.default_provider.as_deref()) else {
        return Ok(ordered);
    };
    let strict = hints.strict.unwrap_or(settings.strict_provider_default);
    let matches =
        |route: &Arc<Route>| route.channel.name == wanted || route.channel.kind.as_str() == wanted;
    let (mut preferred, rest): (Vec<_>, Vec<_>) =
        ordered.into_iter().partition(|route| matches(route));
    if preferred.is_empty() && strict {
        return Err(GatewayError::new(
            ErrorKind::NotFound,
            format!("No channel of provider `{wanted}` serves the model `{model}`, and the request is pinned to it (strict provider)."),
        )
        .with_code("provider_not_available"));
    }
    if !strict {
        preferred.extend(rest);
    }
    Ok(preferred)
}
