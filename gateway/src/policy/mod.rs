//! Policy: who is calling (the principal behind an API key), what their role lets them use, and
//! whether their limits let this request through.
//!
//! Keys are only ever handled as SHA-256 hashes after they leave the request headers; lookups go
//! to the in-memory snapshot, never to a database.

pub mod limits;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::http::{HeaderMap, header};
use wildmatch::WildMatch;

pub use limits::{Admission, Estimate, admit};

use crate::config::{Snapshot, hash_key};
use crate::error::{ErrorKind, GatewayError};

/// The caller behind an API key.
#[derive(Debug)]
pub struct Principal {
    /// The key's name from the config (never the key itself).
    pub key_name: String,
    pub role: Arc<Role>,
    pub metadata: BTreeMap<String, String>,
    /// This key's limits: its own and its role's, the lower of each.
    pub limits: Limits,
    /// The tenant the key belongs to (`metadata.tenant`), when the config lists it.
    pub tenant: Option<Arc<Tenant>>,
    /// Revoked keys are kept so that their callers hear why they are refused.
    pub revoked: bool,
}

/// A tenant (team, project, customer) whose keys share limits.
#[derive(Debug)]
pub struct Tenant {
    pub name: String,
    pub limits: Limits,
}

#[derive(Debug)]
pub struct Role {
    pub name: String,
    pub models: Vec<ModelPattern>,
    /// Limits for each key with this role.
    pub limits: Limits,
    /// Limits for all keys with this role together, across tenants.
    pub shared_limits: Limits,
}

/// The limits of a key, role or tenant; `None` is unlimited.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Limits {
    pub requests_per_minute: Option<u32>,
    pub tokens_per_minute: Option<u64>,
    pub max_concurrent_requests: Option<u32>,
    pub daily_budget_micros: Option<u64>,
    pub monthly_budget_micros: Option<u64>,
}

impl Limits {
    /// The lower of each limit.
    pub fn tighter(self, other: Limits) -> Limits {
        fn min<T: Ord>(a: Option<T>, b: Option<T>) -> Option<T> {
            match (a, b) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            }
        }
        Limits {
            requests_per_minute: min(self.requests_per_minute, other.requests_per_minute),
            tokens_per_minute: min(self.tokens_per_minute, other.tokens_per_minute),
            max_concurrent_requests: min(
                self.max_concurrent_requests,
                other.max_concurrent_requests,
            ),
            daily_budget_micros: min(self.daily_budget_micros, other.daily_budget_micros),
            monthly_budget_micros: min(self.monthly_budget_micros, other.monthly_budget_micros),
        }
    }
}

impl Role {
    /// Whether any of the role's globs matches the model name.
    pub fn permits(&self, model: &str) -> bool {
        self.models.iter().any(|pattern| pattern.matches(model))
    }
}

/// A model glob: `*`, `gpt-4o*`, an exact name. `models:*` is accepted as a synonym of `*`.
#[derive(Debug)]
pub struct ModelPattern(WildMatch);

impl ModelPattern {
    pub fn new(glob: &str) -> Self {
        let glob = glob.strip_prefix("models:").unwrap_or(glob);
        ModelPattern(WildMatch::new(glob))
    }

    pub fn matches(&self, model: &str) -> bool {
        self.0.matches(model)
    }
}

/// Reads the OpenAI-style bearer key (or `x-api-key`) and finds its principal.
pub fn authenticate(
    snapshot: &Snapshot,
    headers: &HeaderMap,
) -> Result<Arc<Principal>, GatewayError> {
    authenticate_with_query(snapshot, headers, None)
}

/// Like [`authenticate`], also taking a key from the `?key=` query parameter (Gemini clients).
/// Headers win: `Authorization: Bearer`, then `x-api-key`, then `x-goog-api-key`.
pub fn authenticate_with_query(
    snapshot: &Snapshot,
    headers: &HeaderMap,
    query_key: Option<&str>,
) -> Result<Arc<Principal>, GatewayError> {
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    let key = bearer(headers)
        .or_else(|| header("x-api-key"))
        .or_else(|| header("x-goog-api-key"))
        .or(query_key)
        .map(str::trim)
        .filter(|key| !key.is_empty())
        .ok_or_else(|| {
            GatewayError::new(
                ErrorKind::Authentication,
                "You didn't provide an API key. Send it as 'Authorization: Bearer YOUR_KEY' (or in the x-api-key header).",
            )
            .with_code("missing_api_key")
        })?;
    let principal = snapshot.principals.get(&hash_key(key)).ok_or_else(|| {
        GatewayError::new(
            ErrorKind::Authentication,
            format!("Incorrect API key provided: {}.", redact(key)),
        )
        .with_code("invalid_api_key")
    })?;
    if principal.revoked {
        return Err(GatewayError::new(
            ErrorKind::Authentication,
            format!(
                "The API key {} (`{}`) has been revoked.",
                redact(key),
                principal.key_name
            ),
        )
        .with_code("api_key_revoked"));
    }
    Ok(principal.clone())
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token)
}

/// Shows enough of a key for a person to recognise it, as OpenAI does: `sk-ab***yz`.
fn redact(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() <= 8 {
        return "***".to_owned();
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 2..].iter().collect();
    format!("{head}***{tail}")
}

/// Checks the role's model globs; answers 403 naming the role.
pub fn authorize_model(principal: &Principal, model: &str) -> Result<(), GatewayError> {
    if principal.role.permits(model) {
        return Ok(());
    }
    Err(GatewayError::new(
        ErrorKind::PermissionDenied,
        format!(
            "Your API key's role `{}` is not allowed to use the model `{model}`.",
            principal.role.name
        ),
    )
    .with_param("model")
    .with_code("model_not_permitted"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_like_users_expect() {
        let role = Role {
            name: "r".into(),
            models: vec![
                ModelPattern::new("gpt-4o*"),
                ModelPattern::new("claude-3-haiku"),
            ],
            limits: Limits::default(),
            shared_limits: Limits::default(),
        };
        assert!(role.permits("gpt-4o"));
        assert!(role.permits("gpt-4o-mini"));
        assert!(role.permits("claude-3-haiku"));
        assert!(!role.permits("claude-3-haiku-2"));
        assert!(!role.permits("gpt-4"));
        assert!(ModelPattern::new("models:*").matches("anything"));
    }

    #[test]
    fn redaction_never_shows_the_middle_of_a_key() {
        assert_eq!(redact("sk-abcdefghijkl"), "sk-a***kl");
        assert_eq!(redact("short"), "***");
    }
}
