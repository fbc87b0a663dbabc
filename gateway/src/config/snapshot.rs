//! The compiled, read-only configuration the request path uses.
//!
//! A [`Snapshot`] is built once from a validated file (later: from a control-plane push) and
//! published through `arc-swap`; handlers take a cheap `Arc` to it and never re-validate anything.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use std::sync::atomic::AtomicUsize;

use reqwest::header::{HeaderMap, HeaderName};

use crate::routing::strategy::Strategy;

use crate::policy::Principal;
use crate::providers::ProviderKind;
use crate::telemetry::metrics::RouteMetrics;

pub struct Snapshot {
    pub server: ServerSettings,
    pub channels: Vec<Arc<Channel>>,
    /// Model name (as clients ask for it) → the channels serving it, in configuration order.
    pub routes: HashMap<String, Vec<Arc<Route>>>,
    /// Alias → its targets with weights (one target: a plain alias; several: an A/B split).
    pub aliases: HashMap<String, Vec<(String, u32)>>,
    /// Routing rules in order.
    pub rules: Vec<Rule>,
    /// SHA-256 of an API key → who it belongs to.
    pub principals: HashMap<[u8; 32], Arc<Principal>>,
    /// Models and aliases in a stable order, for `GET /v1/models`.
    pub model_names: Vec<String>,
    pub routing: RoutingSettings,
    /// Redis shared state, when configured (else in-process).
    pub redis: Option<crate::state::RedisSettings>,
    pub budgets: crate::policy::limits::BudgetSettings,
    /// Served model → limits shared by all callers.
    pub model_limits: HashMap<String, crate::policy::Limits>,
    /// Whether each request gets an access log line.
    pub access_log: bool,
}

/// A compiled routing rule.
pub struct Rule {
    pub name: String,
    pub model: Option<crate::policy::ModelPattern>,
    pub min_input_tokens: Option<u64>,
    pub max_input_tokens: Option<u64>,
    pub metadata: std::collections::BTreeMap<String, String>,
    /// Redirect to this model (or alias).
    pub redirect: Option<String>,
    pub require_tags: Vec<String>,
    pub region: Option<String>,
}

impl Rule {
    /// Whether a channel is allowed by the rule's restrictions.
    pub fn allows(&self, channel: &Channel) -> bool {
        self.require_tags
            .iter()
            .all(|tag| channel.tags.contains(tag))
            && self
                .region
                .as_ref()
                .is_none_or(|region| channel.region.as_ref() == Some(region))
    }
}

impl Snapshot {
    /// How long a concurrency lease may be held: the longest a request can run (the request
    /// deadline, or a channel's whole-stream limit if longer) plus `slack`, after which the
    /// lease of a node that died holding it lapses.
    pub fn lease_ttl(&self, slack: Duration) -> Duration {
        self.channels
            .iter()
            .map(|channel| channel.timeouts.total)
            .fold(self.server.request_timeout, Duration::max)
            + slack
    }
}

pub struct RoutingSettings {
    pub default_strategy: Strategy,
    pub strategies: HashMap<String, Strategy>,
    /// One round-robin cursor per served model.
    pub cursors: HashMap<String, AtomicUsize>,
    pub session_header: HeaderName,
    pub strict_provider_default: bool,
    pub default_provider: Option<String>,
    pub circuit: crate::routing::health::CircuitSettings,
}

impl RoutingSettings {
    pub fn strategy(&self, model: &str) -> Strategy {
        self.strategies
            .get(model)
            .copied()
            .unwrap_or(self.default_strategy)
    }
}

#[derive(Debug, Clone)]
pub struct ServerSettings {
    pub listen: String,
    pub max_body_bytes: usize,
    pub max_header_bytes: usize,
    pub header_read_timeout: Duration,
    pub body_read_timeout: Duration,
    pub shutdown_grace_period: Duration,
    pub request_timeout: Duration,
}

/// One way to reach a model: a channel plus the name the upstream knows the model by.
#[derive(Clone)]
pub struct Route {
    pub channel: Arc<Channel>,
    pub upstream_model: Arc<str>,
    /// The upstream URL for this model, parsed once (`None` for providers without HTTP).
    pub endpoint: Option<reqwest::Url>,
    /// The URL for streamed answers (Gemini streams on another method).
    pub stream_endpoint: Option<reqwest::Url>,
    /// The embeddings URL, when the provider offers embeddings.
    pub embeddings_endpoint: Option<reqwest::Url>,
    /// Metric handles for this model on this channel, registered once.
    pub metrics: Arc<RouteMetrics>,
    /// USD per token for the upstream model (else the served name), from the price table.
    pub price: Option<crate::accounting::prices::Price>,
}

pub struct Channel {
    /// Position in `Snapshot::channels`, used to index per-channel runtime state.
    pub index: usize,
    pub name: String,
    pub kind: ProviderKind,
    pub base_url: String,
    pub credential: Option<Secret>,
    pub api_version: Option<String>,
    pub weight: u32,
    pub priority: u32,
    /// Active probe interval and timeout, when enabled.
    pub health_check: Option<(Duration, Duration)>,
    /// Most requests in flight at once (none: unlimited).
    pub max_concurrent: Option<u32>,
    /// USD per 1,000 tokens, for `cost_optimized`.
    pub price_per_1k_tokens: Option<f64>,
    pub region: Option<String>,
    pub tags: Vec<String>,
    /// Headers every upstream request carries: content type, credential, configured extras.
    pub headers: HeaderMap,
    pub timeouts: ChannelTimeouts,
    pub stream_usage: bool,
    /// `max_tokens` for upstreams that require one when the client gave none.
    pub default_max_tokens: u64,
    pub mock: MockSettings,
    /// Region and credentials for SigV4 (Bedrock channels).
    pub aws: Option<AwsSettings>,
    /// Pooled HTTP client for this channel (keeps upstream connections alive).
    pub http: reqwest::Client,
    /// The API an OpenAI channel speaks upstream.
    pub api: crate::providers::UpstreamApi,
    /// The rule for what this channel's provider cannot run (the channel's, else the gateway's).
    pub unsupported: crate::canonical::UnsupportedPolicy,
}

#[derive(Debug, Clone, Copy)]
pub struct ChannelTimeouts {
    pub connect: Duration,
    pub first_byte: Duration,
    pub idle: Duration,
    pub total: Duration,
}

#[derive(Debug, Clone, Default)]
pub struct MockSettings {
    pub reply: Option<String>,
    pub chunk_delay: Duration,
    pub latency: Duration,
}

#[derive(Debug, Clone)]
pub struct AwsSettings {
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: Secret,
    pub session_token: Option<Secret>,
}

/// A credential that never shows up in `Debug` output or logs.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Self {
        Secret(value)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl Snapshot {
    /// Resolves an alias to a model name — for a split, a weighted random draw among its
    /// targets; other names come back unchanged.
    pub fn resolve_model<'a>(&'a self, requested: &'a str) -> &'a str {
        let Some(targets) = self.aliases.get(requested) else {
            return requested;
        };
        let total: u64 = targets.iter().map(|(_, weight)| u64::from(*weight)).sum();
        let mut draw = fastrand::u64(..total.max(1));
        for (model, weight) in targets {
            if draw < u64::from(*weight) {
                return model;
            }
            draw -= u64::from(*weight);
        }
        targets
            .first()
            .map_or(requested, |(model, _)| model.as_str())
    }

    /// The first rule whose conditions hold, if any. `tokens` is only called when a rule
    /// looks at input size.
    pub fn matching_rule(
        &self,
        requested: &str,
        metadata: &std::collections::BTreeMap<String, String>,
        tokens: &dyn Fn() -> u64,
    ) -> Option<&Rule> {
        let mut estimate = None;
        self.rules.iter().find(|rule| {
            if rule
                .model
                .as_ref()
                .is_some_and(|pattern| !pattern.matches(requested))
            {
                return false;
            }
            if !rule
                .metadata
                .iter()
                .all(|(key, value)| metadata.get(key) == Some(value))
            {
                return false;
            }
            if rule.min_input_tokens.is_none() && rule.max_input_tokens.is_none() {
                return true;
            }
            let tokens = *estimate.get_or_insert_with(tokens);
            rule.min_input_tokens.is_none_or(|min| tokens >= min)
                && rule.max_input_tokens.is_none_or(|max| tokens < max)
        })
    }

    /// One line for the startup log: counts only, never a secret.
    pub fn summary(&self) -> String {
        format!(
            "{} channels ({}), {} models, {} aliases, {} API keys",
            self.channels.len(),
            self.channels
                .iter()
                .map(|channel| format!("{}:{}", channel.name, channel.kind.as_str()))
                .collect::<Vec<_>>()
                .join(", "),
            self.routes.len(),
            self.aliases.len(),
            self.principals.len(),
        )
    }
}
