//! The configuration file's schema: plain serde types that mirror the YAML exactly.
//!
//! These types are what a user writes (and, later, what the control plane pushes). They are never
//! read on the request path: [`super::compile`] validates them once and turns them into the
//! runtime [`crate::config::Snapshot`]. Unknown fields are rejected so a typo is an error, not a
//! silently ignored setting.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    #[serde(default)]
    pub server: ServerConfig,
    #[serde(default)]
    pub channels: Vec<ChannelConfig>,
    /// Alias name → a model served by some channel, or a split over several.
    #[serde(default)]
    pub aliases: BTreeMap<String, AliasConfig>,
    /// Routing rules, applied in order: conditions on the request, then a redirect or a
    /// restriction of the channels.
    #[serde(default)]
    pub rules: Vec<RuleConfig>,
    #[serde(default)]
    pub routing: RoutingConfig,
    #[serde(default)]
    pub roles: Vec<RoleConfig>,
    #[serde(default)]
    pub api_keys: Vec<ApiKeyConfig>,
    #[serde(default)]
    pub tenants: Vec<TenantConfig>,
    /// Limits of a served model shared by every key and tenant (a provider quota, a spend cap).
    #[serde(default)]
    pub model_limits: BTreeMap<String, LimitsConfig>,
    /// Where limits and counters live: in this process (default) or in Redis, shared by every
    /// gateway node.
    #[serde(default)]
    pub state: StateConfig,
    #[serde(default)]
    pub prices: PricesConfig,
    #[serde(default)]
    pub budgets: BudgetsConfig,
    /// How the gateway logs.
    #[serde(default)]
    pub log: LogConfig,
    /// What to do with hosted tools and parameters a channel's provider cannot run: `drop`
    /// (the default: left out, named in `x-switchboard-dropped`) or `refuse` (400).
    #[serde(default)]
    pub unsupported: UnsupportedConfig,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `text` (default; colours only on a terminal) or `json` (one object a line).
    pub format: LogFormat,
    /// One `access` line per request (request id, key, tenant, protocol, model, channel,
    /// attempts, status, latency, tokens).
    pub access: bool,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: LogFormat::Text,
            access: true,
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, Default, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, Deserialize, Default, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum UnsupportedConfig {
    #[default]
    Drop,
    Refuse,
}

/// Which API an OpenAI channel speaks upstream.
#[derive(Debug, Clone, Copy, Deserialize, Default, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ApiConfig {
    #[default]
    ChatCompletions,
    Responses,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum FailClosedConfig {
    All(bool),
    Kinds(Vec<String>),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StateConfig {
    /// `redis://host:6379/0`; absent: standalone, in-process state. With `cluster: true`, the
    /// seed nodes of a Redis Cluster, comma-separated.
    pub redis_url: Option<String>,
    /// Talk to a Redis Cluster (slots spread over several primaries).
    pub cluster: bool,
    /// With Redis Sentinel: the monitored primary's name (`mymaster`); `redis_url` then lists
    /// the Sentinels, comma-separated.
    pub sentinel_master: Option<String>,
    pub key_prefix: String,
    /// Longest wait for Redis before falling back to node-local limits.
    pub timeout_ms: u64,
    /// While Redis is unreachable, refuse (503) the requests that these limit kinds apply to
    /// instead of falling back to node-local limits: `true` (all), `false` (none, the default),
    /// or a list of `requests`, `tokens`, `concurrency`, `budgets`.
    pub fail_closed: FailClosedConfig,
}

impl Default for StateConfig {
    fn default() -> Self {
        StateConfig {
            redis_url: None,
            cluster: false,
            sentinel_master: None,
            key_prefix: "sb".to_owned(),
            timeout_ms: 100,
            fail_closed: FailClosedConfig::All(false),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address to listen on, e.g. `0.0.0.0:8080`.
    pub listen: String,
    /// Largest accepted request body in bytes; larger bodies get 413.
    pub max_body_bytes: usize,
    /// Largest accepted request header block (request line and all headers) in bytes; larger
    /// ones get 431 in the caller's protocol.
    pub max_header_bytes: usize,
    /// A client must send its headers within this time.
    pub header_read_timeout_ms: u64,
    /// A client must send its whole body within this time (slow senders are cut off with 408).
    pub body_read_timeout_ms: u64,
    /// On SIGTERM/SIGINT, in-flight requests and streams get this long to finish.
    pub shutdown_grace_period_ms: u64,
    /// Overall deadline for one request across all upstream attempts (non-streaming answers).
    pub request_timeout_ms: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: "127.0.0.1:8080".to_owned(),
            max_body_bytes: 4 * 1024 * 1024,
            max_header_bytes: 32 * 1024,
            header_read_timeout_ms: 10_000,
            body_read_timeout_ms: 30_000,
            shutdown_grace_period_ms: 30_000,
            request_timeout_ms: 600_000,
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKindConfig {
    /// api.openai.com or any server speaking the OpenAI API (Groq, Together, vLLM, Ollama, …).
    Openai,
    /// Alias of `openai` that reads better for self-hosted servers.
    OpenaiCompatible,
    /// Azure OpenAI: deployment path, `api-version` query, `api-key` header.
    Azure,
    /// Anthropic's Messages API (`x-api-key`, `anthropic-version`).
    Anthropic,
    /// Google's Gemini API (`x-goog-api-key`).
    Gemini,
    /// AWS Bedrock Runtime Converse / ConverseStream, signed with SigV4.
    Bedrock,
    /// Answers locally without any network: demos, quick start, load tests.
    Mock,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelConfig {
    pub name: String,
    pub provider: ProviderKindConfig,
    #[serde(default)]
    pub base_url: Option<String>,
    /// The upstream credential; `${ENV_VAR}` references are expanded.
    #[serde(default)]
    pub api_key: Option<String>,
    /// Name of an environment variable that holds the upstream credential.
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// Azure OpenAI `api-version` query parameter.
    #[serde(default)]
    pub api_version: Option<String>,
    pub models: Vec<ChannelModelConfig>,
    #[serde(default = "default_weight")]
    pub weight: u32,
    /// Lower is preferred.
    #[serde(default)]
    pub priority: u32,
    /// Active health checks that spend no tokens (a model list, or a connection for Bedrock).
    #[serde(default)]
    pub health_check: Option<HealthCheckConfig>,
    /// Most requests this gateway sends the channel at once; others go elsewhere.
    #[serde(default)]
    pub max_concurrent: Option<u32>,
    /// Price in USD per 1,000 tokens, for the `cost_optimized` strategy.
    #[serde(default)]
    pub price_per_1k_tokens: Option<f64>,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Extra headers sent upstream on every request (values may reference `${ENV_VAR}`).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub timeouts: TimeoutsConfig,
    /// Whether the upstream understands `stream_options.include_usage` (some compatible servers
    /// reject it). Defaults to true.
    #[serde(default = "default_true")]
    pub stream_usage: bool,
    /// `max_tokens` sent to upstreams that require it (Anthropic) when the client set none.
    #[serde(default = "default_max_tokens")]
    pub default_max_tokens: u64,
    /// AWS region and credentials of a `bedrock` channel.
    #[serde(default)]
    pub aws: Option<AwsConfig>,
    /// The API an `openai` channel speaks upstream: `chat_completions` (default) or
    /// `responses` (OpenAI's Responses API: Responses clients pass through unchanged).
    #[serde(default)]
    pub api: ApiConfig,
    /// This channel's own rule for what its provider cannot run (else the gateway's).
    #[serde(default)]
    pub unsupported: Option<UnsupportedConfig>,
    /// Settings of the `mock` provider.
    #[serde(default)]
    pub mock: Option<MockConfig>,
}

fn default_weight() -> u32 {
    1
}

fn default_max_tokens() -> u64 {
    4096
}

fn default_true() -> bool {
    true
}

/// A model a channel serves: either just its name, or a name plus the upstream's own name for it.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum ChannelModelConfig {
    Name(String),
    Mapped { name: String, upstream: String },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TimeoutsConfig {
    pub connect_ms: u64,
    /// Until the response headers (non-streaming: the whole answer must also arrive by `total_ms`).
    pub first_byte_ms: u64,
    /// Longest silence between two stream events.
    pub idle_ms: u64,
    pub total_ms: u64,
}

impl Default for TimeoutsConfig {
    fn default() -> Self {
        TimeoutsConfig {
            connect_ms: 5_000,
            first_byte_ms: 60_000,
            idle_ms: 60_000,
            total_ms: 600_000,
        }
    }
}

/// AWS settings; every value may reference `${ENV_VAR}`. Missing credentials fall back to the
/// standard `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN` variables.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsConfig {
    pub region: String,
    #[serde(default)]
    pub access_key_id: Option<String>,
    #[serde(default)]
    pub secret_access_key: Option<String>,
    #[serde(default)]
    pub session_token: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct MockConfig {
    /// Fixed reply text; by default the mock answers with a deterministic sentence that quotes
    /// the last user message.
    pub reply: Option<String>,
    /// Pause between streamed tokens, to imitate a real model's pace.
    pub chunk_delay_ms: u64,
    /// Pause before the first byte.
    pub latency_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HealthCheckConfig {
    pub interval_ms: u64,
    pub timeout_ms: u64,
}

impl Default for HealthCheckConfig {
    fn default() -> Self {
        HealthCheckConfig {
            interval_ms: 10_000,
            timeout_ms: 3_000,
        }
    }
}

/// `fast: gpt-4o-mini`, or an A/B split:
/// `smart: {targets: [{model: gpt-4o, weight: 90}, {model: claude-sonnet, weight: 10}]}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum AliasConfig {
    Model(String),
    Split { targets: Vec<SplitTarget> },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitTarget {
    pub model: String,
    /// Relative share of traffic (percentages work).
    pub weight: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    #[serde(default)]
    pub name: Option<String>,
    pub when: RuleWhen,
    pub then: RuleThen,
}

/// Every condition given must hold.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct RuleWhen {
    /// Glob on the requested model (as the client named it).
    pub model: Option<String>,
    /// Estimated input tokens at least / below.
    pub min_input_tokens: Option<u64>,
    pub max_input_tokens: Option<u64>,
    /// API key metadata that must match exactly (`region: eu`, `tenant: acme`, …).
    pub metadata: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct RuleThen {
    /// Send the request to this model (or alias) instead.
    pub model: Option<String>,
    /// Use only channels carrying all these tags.
    pub require_tags: Vec<String>,
    /// Use only channels in this region.
    pub region: Option<String>,
}

/// How candidates are ordered and how request hints are treated.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RoutingConfig {
    /// The default strategy: weighted, round_robin, failover, cost_optimized, least_busy,
    /// latency or sticky.
    pub strategy: crate::routing::strategy::Strategy,
    /// Per model (or alias target) strategies.
    pub models: BTreeMap<String, crate::routing::strategy::Strategy>,
    /// The header whose value keeps a conversation on one channel (`sticky`).
    pub session_header: String,
    /// A preferred provider without `x-switchboard-strict-provider` is a hard pin.
    pub strict_provider_default: bool,
    /// Channel name or provider kind preferred when the request names none.
    pub default_provider: Option<String>,
    /// When a channel's circuit opens.
    pub circuit: CircuitConfig,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CircuitConfig {
    pub failure_threshold: u32,
    pub cooldown_ms: u64,
    pub error_rate_threshold: f64,
    pub window: usize,
}

impl Default for CircuitConfig {
    fn default() -> Self {
        CircuitConfig {
            failure_threshold: 3,
            cooldown_ms: 30_000,
            error_rate_threshold: 0.5,
            window: 20,
        }
    }
}

impl Default for RoutingConfig {
    fn default() -> Self {
        RoutingConfig {
            strategy: crate::routing::strategy::Strategy::Weighted,
            models: BTreeMap::new(),
            session_header: "x-session-id".to_owned(),
            strict_provider_default: false,
            default_provider: None,
            circuit: CircuitConfig::default(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleConfig {
    pub name: String,
    /// Model globs this role may use: `*`, `gpt-4o*`, exact names.
    pub models: Vec<String>,
    /// Limits for each API key with this role (a key's own limits apply too, the lower wins).
    #[serde(default)]
    pub limits: LimitsConfig,
    /// Limits for all keys with this role together, whatever their tenant.
    #[serde(default)]
    pub shared_limits: LimitsConfig,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyConfig {
    pub name: String,
    /// The key itself (`${ENV_VAR}` expanded); hashed on load and never kept in memory in clear.
    #[serde(default)]
    pub key: Option<String>,
    /// Environment variable holding the key.
    #[serde(default)]
    pub key_env: Option<String>,
    /// The key's SHA-256 as hex, for configs that must not contain the key at all.
    #[serde(default)]
    pub key_sha256: Option<String>,
    pub role: String,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// This key's own limits (its role's still apply where they are lower).
    #[serde(default)]
    pub limits: LimitsConfig,
    /// A revoked key stays on record and is refused with 401 `api_key_revoked`.
    #[serde(default)]
    pub revoked: bool,
}

/// A tenant whose keys (those with `metadata.tenant: <name>`) share limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantConfig {
    pub name: String,
    /// Limits shared by all of the tenant's keys together.
    #[serde(default)]
    pub limits: LimitsConfig,
}

/// Limits of a role (per key), a key or a tenant. Every one is optional: absent means unlimited.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    pub requests_per_minute: Option<u32>,
    /// Input plus output tokens per minute: an estimate is taken before the call and corrected
    /// with the real usage after it.
    pub tokens_per_minute: Option<u64>,
    /// Requests in flight at once (streams count until they end).
    pub max_concurrent_requests: Option<u32>,
    /// Spend per UTC day, in USD.
    pub daily_budget_usd: Option<f64>,
    /// Spend per UTC calendar month, in USD.
    pub monthly_budget_usd: Option<f64>,
}

/// The price table budgets and cost accounting use.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PricesConfig {
    /// A LiteLLM-format price file (`model_prices_and_context_window.json`) that replaces the
    /// bundled table.
    #[serde(default)]
    pub file: Option<String>,
    /// Per-model prices in USD per million tokens, over the table.
    #[serde(default)]
    pub models: BTreeMap<String, ModelPriceConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelPriceConfig {
    pub input_per_million: f64,
    pub output_per_million: f64,
    /// Defaults to the input price.
    #[serde(default)]
    pub cache_read_per_million: Option<f64>,
    /// Defaults to the input price.
    #[serde(default)]
    pub cache_write_per_million: Option<f64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BudgetsConfig {
    /// Output tokens assumed for a request that sets no `max_tokens`, when reserving budget
    /// and tokens-per-minute before the call.
    pub default_output_tokens: u64,
    /// Spend levels (percent of a budget) that are logged and counted once per period as a
    /// budget alert.
    pub alert_thresholds_percent: Vec<u32>,
}

impl Default for BudgetsConfig {
    fn default() -> Self {
        BudgetsConfig {
            default_output_tokens: 1024,
            alert_thresholds_percent: vec![80, 90, 100],
        }
    }
}
