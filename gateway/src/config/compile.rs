//! Validation and compilation of a [`ConfigFile`] into a runtime [`Snapshot`].
//!
//! Every check that can be made before the first request is made here, and each failure names
//! the field (`channels[1].base_url`) and what is wrong with it. The request path relies on these
//! guarantees: every alias points at a served model, every key's role exists, every credential
//! reference resolved.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use crate::routing::health::CircuitSettings;
use crate::routing::strategy::Strategy;
use crate::state::RedisSettings;
use sha2::{Digest, Sha256};

use super::ConfigError;
use super::schema::{
    AliasConfig, ApiConfig, ApiKeyConfig, BudgetsConfig, ChannelConfig, ChannelModelConfig,
    CircuitConfig, ConfigFile, FailClosedConfig, LimitsConfig, PricesConfig, ProviderKindConfig,
    RoleConfig, RuleConfig, StateConfig, TenantConfig, UnsupportedConfig,
};
use super::snapshot::{
    AwsSettings, Channel, ChannelTimeouts, MockSettings, Route, RoutingSettings, Rule, Secret,
    ServerSettings, Snapshot,
};
use crate::accounting::prices::{Price, PriceTable};
use crate::canonical::UnsupportedPolicy;
use crate::policy::limits::BudgetSettings;
use crate::policy::{Limits, ModelPattern, Principal, Role, Tenant};
use crate::providers::{self, ProviderKind, UpstreamApi};
use crate::state::LimitKind;
use crate::telemetry::metrics::RouteMetrics;

/// Looks up environment variables for `${VAR}` and `*_env` references.
pub trait EnvLookup {
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment.
pub struct ProcessEnv;

impl EnvLookup for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

struct Compiler<'a> {
    file: &'a str,
    env: &'a dyn EnvLookup,
}

impl Compiler<'_> {
    fn invalid(&self, field: impl Into<String>, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            file: self.file.to_owned(),
            field: field.into(),
            message: message.into(),
        }
    }

    /// Expands every `${VAR}` in `value`.
    fn expand(&self, field: &str, value: &str) -> Result<String, ConfigError> {
        let mut out = String::with_capacity(value.len());
        let mut rest = value;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| self.invalid(field, "unterminated `${` reference"))?;
            let name = &after[..end];
            let resolved = self.env.var(name).ok_or_else(|| {
                self.invalid(field, format!("environment variable `{name}` is not set"))
            })?;
            out.push_str(&resolved);
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// Resolves a secret given inline (with `${VAR}`) or by the name of an environment variable.
    fn secret(
        &self,
        field: &str,
        inline: Option<&str>,
        env_field: &str,
        env_name: Option<&str>,
    ) -> Result<Option<String>, ConfigError> {
        match (inline, env_name) {
            (Some(_), Some(_)) => Err(self.invalid(
                field,
                format!("set either `{field}` or `{env_field}`, not both"),
            )),
            (Some(value), None) => self.expand(field, value).map(Some),
            (None, Some(name)) => self.env.var(name).map(Some).ok_or_else(|| {
                self.invalid(
                    env_field,
                    format!("environment variable `{name}` is not set"),
                )
            }),
            (None, None) => Ok(None),
        }
    }
}

/// Validates `config` and builds the runtime snapshot.
pub fn compile(
    config: &ConfigFile,
    file: &str,
    env: &dyn EnvLookup,
) -> Result<Snapshot, ConfigError> {
    let compiler = Compiler { file, env };
    let server = server_settings(&compiler, config)?;
    if config.channels.is_empty() {
        return Err(compiler.invalid("channels", "at least one channel is required"));
    }

    let prices = price_table(&compiler, &config.prices)?;
    let mut channels = Vec::with_capacity(config.channels.len());
    let mut routes: HashMap<String, Vec<Arc<Route>>> = HashMap::new();
    let mut names = HashSet::new();
    for (index, raw) in config.channels.iter().enumerate() {
        let channel = Arc::new(channel(&compiler, index, raw, config.unsupported)?);
        if !names.insert(channel.name.clone()) {
            return Err(compiler.invalid(
                format!("channels[{index}].name"),
                format!("duplicate channel name `{}`", channel.name),
            ));
        }
        for model in &raw.models {
            let (name, upstream) = match model {
                ChannelModelConfig::Name(name) => (name, name),
                ChannelModelConfig::Mapped { name, upstream } => (name, upstream),
            };
            let parse = |url: String| {
                reqwest::Url::parse(&url).map_err(|error| {
                    compiler.invalid(
                        format!("channels[{index}].base_url"),
                        format!("`{url}` is not a URL: {error}"),
                    )
                })
            };
            let (endpoint, stream_endpoint, embeddings_endpoint) =
                match providers::http_provider(channel.kind, channel.api) {
                    Some(provider) => (
                        Some(parse(provider.endpoint(&channel, upstream))?),
                        Some(parse(provider.stream_endpoint(&channel, upstream))?),
                        provider
                            .embeddings_endpoint(&channel, upstream)
                            .map(parse)
                            .transpose()?,
                    ),
                    None => (None, None, None),
                };
            routes
                .entry(name.clone())
                .or_default()
                .push(Arc::new(Route {
                    channel: channel.clone(),
                    upstream_model: Arc::from(upstream.as_str()),
                    endpoint,
                    stream_endpoint,
                    embeddings_endpoint,
                    metrics: Arc::new(RouteMetrics::new(name, &channel.name)),
                    price: prices.lookup(upstream).or_else(|| prices.lookup(name)),
                }));
        }
        channels.push(channel);
    }

    let mut aliases = HashMap::new();
    for (alias, target) in &config.aliases {
        let field = format!("aliases.{alias}");
        let targets: Vec<(String, u32)> = match target {
            AliasConfig::Model(model) => vec![(model.clone(), 1)],
            AliasConfig::Split { targets } => targets
                .iter()
                .map(|target| (target.model.clone(), target.weight))
                .collect(),
        };
        if targets.is_empty() || targets.iter().all(|(_, weight)| *weight == 0) {
            return Err(compiler.invalid(
                &field,
                "a split needs at least one target with a weight above 0",
            ));
        }
        for (model, _) in &targets {
            if !routes.contains_key(model) {
                return Err(compiler.invalid(
                    &field,
                    format!("target model `{model}` is not served by any channel"),
                ));
            }
        }
        if routes.contains_key(alias) {
            return Err(compiler.invalid(&field, "an alias cannot have the name of a served model"));
        }
        aliases.insert(alias.clone(), targets);
    }
    let rules = rules(&compiler, &config.rules, &routes, &aliases)?;
    let routing = routing_settings(&compiler, config, &routes)?;
    let roles = roles(&compiler, &config.roles)?;
    let tenants = tenants(&compiler, &config.tenants)?;
    let principals = principals(&compiler, &config.api_keys, &roles, &tenants)?;
    let mut model_limits = HashMap::new();
    for (model, raw) in &config.model_limits {
        let field = format!("model_limits.{model}");
        if !routes.contains_key(model) {
            return Err(compiler.invalid(
                &field,
                format!("`{model}` is not served by any channel (aliases resolve to served models; limit those)"),
            ));
        }
        model_limits.insert(model.clone(), limits(&compiler, &field, raw)?);
    }

    let budgeted = |limits: &Limits| {
        limits.daily_budget_micros.is_some() || limits.monthly_budget_micros.is_some()
    };
    if roles
        .values()
        .any(|role| budgeted(&role.limits) || budgeted(&role.shared_limits))
        || tenants.values().any(|tenant| budgeted(&tenant.limits))
        || principals.values().any(|key| budgeted(&key.limits))
        || model_limits.values().any(budgeted)
    {
        let unpriced: BTreeSet<&str> = routes
            .iter()
            .filter(|(_, served)| served.iter().any(|route| route.price.is_none()))
            .map(|(model, _)| model.as_str())
            .collect();
        if !unpriced.is_empty() {
            tracing::warn!(
                models = ?unpriced,
                "budgets are configured but these models have no price (add them under prices.models): their requests are not charged"
            );
        }
    }
    let model_names: BTreeSet<String> = routes.keys().chain(aliases.keys()).cloned().collect();
    Ok(Snapshot {
        server,
        channels,
        routes,
        aliases,
        rules,
        principals,
        model_names: model_names.into_iter().collect(),
        routing,
        redis: redis_settings(&compiler, &config.state)?,
        budgets: budget_settings(&compiler, &config.budgets)?,
        model_limits,
        access_log: config.log.access,
    })
}

/// The bundled table, or the configured file, with per-model overrides on top.
fn price_table(compiler: &Compiler<'_>, raw: &PricesConfig) -> Result<PriceTable, ConfigError> {
    let mut table = match &raw.file {
        None => PriceTable::bundled(),
        Some(file) => {
            let path = compiler.expand("prices.file", file)?;
            let path = std::path::Path::new(compiler.file)
                .parent()
                .unwrap_or(std::path::Path::new("."))
                .join(path);
            let text = std::fs::read_to_string(&path).map_err(|error| {
                compiler.invalid(
                    "prices.file",
                    format!("cannot read `{}`: {error}", path.display()),
                )
            })?;
            PriceTable::from_litellm_json(&text).map_err(|error| {
                compiler.invalid(
                    "prices.file",
                    format!(
                        "`{}` is not a LiteLLM-format price file: {error}",
                        path.display()
                    ),
                )
            })?
        }
    };
    for (model, price) in &raw.models {
        let field = format!("prices.models.{model}");
        let per_token = |value: f64, what: &str| {
            if value.is_finite() && value >= 0.0 {
                Ok(value / 1e6)
            } else {
                Err(compiler.invalid(&field, format!("{what} must be a price of 0 or more")))
            }
        };
        let input = per_token(price.input_per_million, "input_per_million")?;
        table.insert(
            model.clone(),
            Price {
                input,
                output: per_token(price.output_per_million, "output_per_million")?,
                cache_read: match price.cache_read_per_million {
                    Some(value) => per_token(value, "cache_read_per_million")?,
                    None => input,
                },
                cache_write: match price.cache_write_per_million {
                    Some(value) => per_token(value, "cache_write_per_million")?,
                    None => input,
                },
            },
        );
    }
    Ok(table)
}

fn budget_settings(
    compiler: &Compiler<'_>,
    raw: &BudgetsConfig,
) -> Result<BudgetSettings, ConfigError> {
    if let Some(percent) = raw
        .alert_thresholds_percent
        .iter()
        .find(|percent| **percent == 0 || **percent > 100)
    {
        return Err(compiler.invalid(
            "budgets.alert_thresholds_percent",
            format!("{percent} is not a percentage between 1 and 100"),
        ));
    }
    Ok(BudgetSettings {
        default_output_tokens: raw.default_output_tokens,
        alert_thresholds: raw.alert_thresholds_percent.iter().copied().collect(),
    })
}

/// Validates a `limits:` block; `field` is where it sits (`roles[0].limits`).
fn limits(compiler: &Compiler<'_>, field: &str, raw: &LimitsConfig) -> Result<Limits, ConfigError> {
    let at_least_one = |name: &str, value: Option<u64>| match value {
        Some(0) => Err(compiler.invalid(
            format!("{field}.{name}"),
            "must be at least 1 (leave it out for no limit)",
        )),
        _ => Ok(()),
    };
    at_least_one(
        "requests_per_minute",
        raw.requests_per_minute.map(u64::from),
    )?;
    at_least_one("tokens_per_minute", raw.tokens_per_minute)?;
    at_least_one(
        "max_concurrent_requests",
        raw.max_concurrent_requests.map(u64::from),
    )?;
    let budget = |name: &str, value: Option<f64>| match value {
        Some(usd) if !(usd.is_finite() && (0.0..=1e12).contains(&usd)) => Err(compiler.invalid(
            format!("{field}.{name}"),
            "must be an amount in USD of 0 or more",
        )),
        Some(usd) => Ok(Some((usd * 1e6).round() as u64)),
        None => Ok(None),
    };
    Ok(Limits {
        requests_per_minute: raw.requests_per_minute,
        tokens_per_minute: raw.tokens_per_minute,
        max_concurrent_requests: raw.max_concurrent_requests,
        daily_budget_micros: budget("daily_budget_usd", raw.daily_budget_usd)?,
        monthly_budget_micros: budget("monthly_budget_usd", raw.monthly_budget_usd)?,
    })
}

fn fail_closed(
    compiler: &Compiler<'_>,
    raw: &FailClosedConfig,
) -> Result<Vec<LimitKind>, ConfigError> {
    const ALL: [LimitKind; 4] = [
        LimitKind::Requests,
        LimitKind::Tokens,
        LimitKind::Concurrency,
        LimitKind::Budget,
    ];
    match raw {
        FailClosedConfig::All(true) => Ok(ALL.to_vec()),
        FailClosedConfig::All(false) => Ok(Vec::new()),
        FailClosedConfig::Kinds(kinds) => kinds
            .iter()
            .map(|kind| match kind.as_str() {
                "requests" => Ok(LimitKind::Requests),
                "tokens" => Ok(LimitKind::Tokens),
                "concurrency" => Ok(LimitKind::Concurrency),
                "budgets" => Ok(LimitKind::Budget),
                other => Err(compiler.invalid(
                    "state.fail_closed",
                    format!(
                        "unknown limit kind `{other}`: use requests, tokens, concurrency or budgets"
                    ),
                )),
            })
            .collect(),
    }
}

fn redis_settings(
    compiler: &Compiler<'_>,
    raw: &StateConfig,
) -> Result<Option<RedisSettings>, ConfigError> {
    let Some(url) = &raw.redis_url else {
        return Ok(None);
    };
    let url = compiler.expand("state.redis_url", url)?;
    let scheme_ok = |url: &str| {
        let url = url.trim();
        url.starts_with("redis://") || url.starts_with("rediss://") || url.starts_with("unix://")
    };
    let several_allowed = raw.cluster || raw.sentinel_master.is_some();
    if !url.split(',').all(scheme_ok) || (!several_allowed && url.contains(',')) {
        return Err(compiler.invalid(
            "state.redis_url",
            "must be a redis:// (or rediss://, unix://) URL; several, comma-separated, only with `cluster: true` or `sentinel_master`",
        ));
    }
    if raw.cluster && raw.sentinel_master.is_some() {
        return Err(compiler.invalid(
            "state.sentinel_master",
            "a Redis Cluster has no Sentinel: set either `cluster: true` or `sentinel_master`",
        ));
    }
    if raw.timeout_ms == 0 {
        return Err(compiler.invalid("state.timeout_ms", "must be greater than 0"));
    }
    Ok(Some(RedisSettings {
        url,
        prefix: raw.key_prefix.clone(),
        timeout: Duration::from_millis(raw.timeout_ms),
        fail_closed: fail_closed(compiler, &raw.fail_closed)?,
        cluster: raw.cluster,
        sentinel_master: raw.sentinel_master.clone(),
    }))
}

fn rules(
    compiler: &Compiler<'_>,
    raw: &[RuleConfig],
    routes: &HashMap<String, Vec<Arc<Route>>>,
    aliases: &HashMap<String, Vec<(String, u32)>>,
) -> Result<Vec<Rule>, ConfigError> {
    raw.iter()
        .enumerate()
        .map(|(index, rule)| {
            let field = |name: &str| format!("rules[{index}].{name}");
            let then = &rule.then;
            if then.model.is_none() && then.require_tags.is_empty() && then.region.is_none() {
                return Err(compiler.invalid(
                    field("then"),
                    "say what the rule does: model, require_tags or region",
                ));
            }
            if let Some(model) = &then.model
                && !routes.contains_key(model)
                && !aliases.contains_key(model)
            {
                return Err(compiler.invalid(
                    field("then.model"),
                    format!("`{model}` is not served by any channel"),
                ));
            }
            if let (Some(min), Some(max)) = (rule.when.min_input_tokens, rule.when.max_input_tokens)
                && min >= max
            {
                return Err(compiler.invalid(
                    field("when"),
                    "min_input_tokens must be below max_input_tokens",
                ));
            }
            Ok(Rule {
                name: rule.name.clone().unwrap_or_else(|| format!("rule {index}")),
                model: rule.when.model.as_deref().map(ModelPattern::new),
                min_input_tokens: rule.when.min_input_tokens,
                max_input_tokens: rule.when.max_input_tokens,
                metadata: rule.when.metadata.clone(),
                redirect: then.model.clone(),
                require_tags: then.require_tags.clone(),
                region: then.region.clone(),
            })
        })
        .collect()
}

/// Routing settings from the file, overridden by the AxonFlow-compatible environment variables.
fn routing_settings(
    compiler: &Compiler<'_>,
    config: &ConfigFile,
    routes: &HashMap<String, Vec<Arc<Route>>>,
) -> Result<RoutingSettings, ConfigError> {
    let raw = &config.routing;
    let default_strategy = match compiler.env.var("LLM_ROUTING_STRATEGY") {
        Some(name) => Strategy::parse(&name).ok_or_else(|| {
            compiler.invalid(
                "LLM_ROUTING_STRATEGY",
                format!("`{name}` is not a strategy (weighted, round_robin, failover, cost_optimized, least_busy, latency, sticky)"),
            )
        })?,
        None => raw.strategy,
    };
    for model in raw.models.keys() {
        if !routes.contains_key(model) && !config.aliases.contains_key(model) {
            return Err(compiler.invalid(
                format!("routing.models.{model}"),
                "no channel serves this model",
            ));
        }
    }
    let session_header = HeaderName::from_bytes(raw.session_header.to_ascii_lowercase().as_bytes())
        .map_err(|_| compiler.invalid("routing.session_header", "not a valid header name"))?;
    let strict_provider_default = match compiler.env.var("LLM_STRICT_PROVIDER_DEFAULT") {
        Some(value) => matches!(
            value.trim().to_ascii_lowercase().as_str(),
            "1" | "true" | "yes"
        ),
        None => raw.strict_provider_default,
    };
    Ok(RoutingSettings {
        default_strategy,
        strategies: raw
            .models
            .iter()
            .map(|(model, strategy)| (model.clone(), *strategy))
            .collect(),
        cursors: routes
            .keys()
            .map(|model| (model.clone(), AtomicUsize::new(0)))
            .collect(),
        session_header,
        strict_provider_default,
        default_provider: compiler
            .env
            .var("DEFAULT_LLM_PROVIDER")
            .or_else(|| raw.default_provider.clone()),
        circuit: circuit_settings(compiler, &raw.circuit)?,
    })
}

fn circuit_settings(
    compiler: &Compiler<'_>,
    raw: &CircuitConfig,
) -> Result<CircuitSettings, ConfigError> {
    if raw.failure_threshold == 0 {
        return Err(compiler.invalid("routing.circuit.failure_threshold", "must be at least 1"));
    }
    if !(raw.error_rate_threshold > 0.0 && raw.error_rate_threshold <= 1.0) {
        return Err(compiler.invalid("routing.circuit.error_rate_threshold", "must be in (0, 1]"));
    }
    if raw.window == 0 {
        return Err(compiler.invalid("routing.circuit.window", "must be at least 1"));
    }
    Ok(CircuitSettings {
        failure_threshold: raw.failure_threshold,
        cooldown: Duration::from_millis(raw.cooldown_ms),
        error_rate_threshold: raw.error_rate_threshold,
        window: raw.window,
    })
}

/// AxonFlow's routing variables, so its users' environments keep working: provider names mean
/// channels of that provider kind (or, failing that, the channel of that name).
mod axonflow {
    use super::EnvLookup;
    use crate::providers::ProviderKind;

    /// `name:value,name:value` → the value for this channel, if listed.
    fn lookup(
        env: &dyn EnvLookup,
        variable: &str,
        channel: &str,
        kind: ProviderKind,
    ) -> Option<f64> {
        let list = env.var(variable)?;
        list.split(',').find_map(|pair| {
            let (name, value) = pair.split_once(':')?;
            let name = name.trim().to_ascii_lowercase();
            (name == kind.as_str() || name == channel.to_ascii_lowercase())
                .then(|| value.trim().parse().ok())?
        })
    }

    /// `PROVIDER_WEIGHTS=openai:50,anthropic:30`.
    pub fn weight(env: &dyn EnvLookup, channel: &str, kind: ProviderKind) -> Option<u32> {
        lookup(env, "PROVIDER_WEIGHTS", channel, kind)
            .filter(|weight| *weight >= 1.0)
            .map(|weight| weight as u32)
    }

    /// `PROVIDER_COSTS=ollama:0,openai:0.03` (USD per 1K tokens), else AxonFlow's default table.
    pub fn price(env: &dyn EnvLookup, channel: &str, kind: ProviderKind) -> Option<f64> {
        lookup(env, "PROVIDER_COSTS", channel, kind)
            .or(match kind {
                ProviderKind::Bedrock => Some(0.02),
                ProviderKind::Gemini | ProviderKind::Anthropic => Some(0.025),
                ProviderKind::OpenAi | ProviderKind::Azure => Some(0.03),
                ProviderKind::Mock => None,
            })
            .or_else(|| {
                channel
                    .to_ascii_lowercase()
                    .contains("ollama")
                    .then_some(0.0)
            })
    }
}

fn server_settings(
    compiler: &Compiler<'_>,
    config: &ConfigFile,
) -> Result<ServerSettings, ConfigError> {
    let server = &config.server;
    if server.listen.parse::<std::net::SocketAddr>().is_err() {
        return Err(compiler.invalid(
            "server.listen",
            format!("`{}` is not an address like 0.0.0.0:8080", server.listen),
        ));
    }
    if server.max_body_bytes == 0 {
        return Err(compiler.invalid("server.max_body_bytes", "must be greater than 0"));
    }
    if server.max_header_bytes < 1024 {
        return Err(compiler.invalid(
            "server.max_header_bytes",
            "must be at least 1024: every client sends a few hundred bytes of headers",
        ));
    }
    for (field, value) in [
        (
            "server.header_read_timeout_ms",
            server.header_read_timeout_ms,
        ),
        ("server.body_read_timeout_ms", server.body_read_timeout_ms),
        ("server.request_timeout_ms", server.request_timeout_ms),
    ] {
        if value == 0 {
            return Err(compiler.invalid(field, "must be greater than 0"));
        }
    }
    Ok(ServerSettings {
        listen: server.listen.clone(),
        max_body_bytes: server.max_body_bytes,
        max_header_bytes: server.max_header_bytes,
        header_read_timeout: Duration::from_millis(server.header_read_timeout_ms),
        body_read_timeout: Duration::from_millis(server.body_read_timeout_ms),
        shutdown_grace_period: Duration::from_millis(server.shutdown_grace_period_ms),
        request_timeout: Duration::from_millis(server.request_timeout_ms),
    })
}

fn policy(config: UnsupportedConfig) -> UnsupportedPolicy {
    match config {
        UnsupportedConfig::Drop => UnsupportedPolicy::Drop,
        UnsupportedConfig::Refuse => UnsupportedPolicy::Refuse,
    }
}

fn channel(
    compiler: &Compiler<'_>,
    index: usize,
    raw: &ChannelConfig,
    unsupported: UnsupportedConfig,
) -> Result<Channel, ConfigError> {
    let field = |name: &str| format!("channels[{index}].{name}");
    if raw.name.trim().is_empty() {
        return Err(compiler.invalid(field("name"), "must not be empty"));
    }
    if raw.models.is_empty() {
        return Err(compiler.invalid(field("models"), "a channel must serve at least one model"));
    }
    if raw.weight == 0 {
        return Err(compiler.invalid(field("weight"), "must be at least 1"));
    }
    let kind = match raw.provider {
        ProviderKindConfig::Openai | ProviderKindConfig::OpenaiCompatible => ProviderKind::OpenAi,
        ProviderKindConfig::Azure => ProviderKind::Azure,
        ProviderKindConfig::Anthropic => ProviderKind::Anthropic,
        ProviderKindConfig::Gemini => ProviderKind::Gemini,
        ProviderKindConfig::Bedrock => ProviderKind::Bedrock,
        ProviderKindConfig::Mock => ProviderKind::Mock,
    };
    let credential = compiler.secret(
        &field("api_key"),
        raw.api_key.as_deref(),
        &field("api_key_env"),
        raw.api_key_env.as_deref(),
    )?;
    let aws = aws_settings(compiler, &field, raw, kind)?;
    let base_url = match (&raw.base_url, kind) {
        (Some(url), _) => compiler.expand(&field("base_url"), url)?,
        (None, ProviderKind::OpenAi) => "https://api.openai.com/v1".to_owned(),
        (None, ProviderKind::Anthropic) => "https://api.anthropic.com".to_owned(),
        (None, ProviderKind::Gemini) => "https://generativelanguage.googleapis.com".to_owned(),
        (None, ProviderKind::Bedrock) => {
            let region = aws
                .as_ref()
                .map(|aws| aws.region.as_str())
                .unwrap_or_default();
            format!("https://bedrock-runtime.{region}.amazonaws.com")
        }
        (None, ProviderKind::Mock) => String::new(),
        (None, ProviderKind::Azure) => {
            return Err(compiler.invalid(
                field("base_url"),
                "Azure channels need base_url, e.g. https://NAME.openai.azure.com",
            ));
        }
    };
    if kind != ProviderKind::Mock {
        let parsed = reqwest::Url::parse(&base_url).map_err(|error| {
            compiler.invalid(
                field("base_url"),
                format!("`{base_url}` is not a URL: {error}"),
            )
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(compiler.invalid(field("base_url"), "must be an http:// or https:// URL"));
        }
    }
    if kind == ProviderKind::Azure && raw.api_version.is_none() {
        return Err(compiler.invalid(
            field("api_version"),
            "Azure channels need api_version, e.g. 2024-10-21",
        ));
    }
    if raw.mock.is_some() && kind != ProviderKind::Mock {
        return Err(compiler.invalid(
            field("mock"),
            "only `provider: mock` channels take mock settings",
        ));
    }

    let api = match (raw.api, kind) {
        (ApiConfig::ChatCompletions, _) => UpstreamApi::ChatCompletions,
        (ApiConfig::Responses, ProviderKind::OpenAi) => UpstreamApi::Responses,
        (ApiConfig::Responses, _) => {
            return Err(compiler.invalid(
                field("api"),
                "only `provider: openai` channels speak the Responses API (api: responses)",
            ));
        }
    };
    let mut headers = match providers::http_provider(kind, api) {
        Some(provider) => provider
            .static_headers(credential.as_deref())
            .map_err(|message| compiler.invalid(field("api_key"), message))?,
        None => HeaderMap::new(),
    };
    for (name, value) in &raw.headers {
        let header_field = field(&format!("headers.{name}"));
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| compiler.invalid(&header_field, "not a valid header name"))?;
        let value = compiler.expand(&header_field, value)?;
        let mut value = HeaderValue::from_str(&value)
            .map_err(|_| compiler.invalid(&header_field, "not a valid header value"))?;
        value.set_sensitive(true);
        headers.insert(name, value);
    }

    let timeouts = ChannelTimeouts {
        connect: Duration::from_millis(raw.timeouts.connect_ms),
        first_byte: Duration::from_millis(raw.timeouts.first_byte_ms),
        idle: Duration::from_millis(raw.timeouts.idle_ms),
        total: Duration::from_millis(raw.timeouts.total_ms),
    };
    let http = reqwest::Client::builder()
        .connect_timeout(timeouts.connect)
        .pool_idle_timeout(Duration::from_secs(90))
        .pool_max_idle_per_host(1024)
        .tcp_nodelay(true)
        .tcp_keepalive(Duration::from_secs(30))
        .build()
        .map_err(|error| compiler.invalid(field("name"), format!("HTTP client: {error}")))?;
    let mock = raw.mock.clone().unwrap_or_default();

    Ok(Channel {
        index,
        name: raw.name.clone(),
        kind,
        base_url: base_url.trim_end_matches('/').to_owned(),
        credential: credential.map(Secret::new),
        api_version: raw.api_version.clone(),
        weight: axonflow::weight(compiler.env, &raw.name, kind).unwrap_or(raw.weight),
        priority: raw.priority,
        max_concurrent: raw.max_concurrent,
        health_check: raw
            .health_check
            .as_ref()
            .filter(|_| kind != ProviderKind::Mock)
            .map(|check| {
                (
                    Duration::from_millis(check.interval_ms.max(100)),
                    Duration::from_millis(check.timeout_ms.max(1)),
                )
            }),
        price_per_1k_tokens: raw
            .price_per_1k_tokens
            .or_else(|| axonflow::price(compiler.env, &raw.name, kind)),
        region: raw.region.clone(),
        tags: raw.tags.clone(),
        headers,
        timeouts,
        stream_usage: raw.stream_usage,
        default_max_tokens: raw.default_max_tokens,
        aws,
        mock: MockSettings {
            reply: mock.reply,
            chunk_delay: Duration::from_millis(mock.chunk_delay_ms),
            latency: Duration::from_millis(mock.latency_ms),
        },
        http,
        api,
        unsupported: policy(raw.unsupported.unwrap_or(unsupported)),
    })
}

/// The region and credentials of a Bedrock channel (explicit, `${VAR}`, or the standard AWS
/// environment variables).
fn aws_settings(
    compiler: &Compiler<'_>,
    field: &dyn Fn(&str) -> String,
    raw: &ChannelConfig,
    kind: ProviderKind,
) -> Result<Option<AwsSettings>, ConfigError> {
    let Some(aws) = &raw.aws else {
        if kind == ProviderKind::Bedrock {
            return Err(
                compiler.invalid(field("aws"), "Bedrock channels need `aws: {region: ...}`")
            );
        }
        return Ok(None);
    };
    if kind != ProviderKind::Bedrock {
        return Err(compiler.invalid(
            field("aws"),
            "only `provider: bedrock` channels take aws settings",
        ));
    }
    let value = |name: &str,
                 configured: &Option<String>,
                 variable: &str|
     -> Result<Option<String>, ConfigError> {
        match configured {
            Some(value) => compiler
                .expand(&field(&format!("aws.{name}")), value)
                .map(Some),
            None => Ok(compiler.env.var(variable)),
        }
    };
    let region = compiler.expand(&field("aws.region"), &aws.region)?;
    let access_key_id = value("access_key_id", &aws.access_key_id, "AWS_ACCESS_KEY_ID")?
        .ok_or_else(|| {
            compiler.invalid(field("aws.access_key_id"), "set it, or AWS_ACCESS_KEY_ID")
        })?;
    let secret_access_key = value(
        "secret_access_key",
        &aws.secret_access_key,
        "AWS_SECRET_ACCESS_KEY",
    )?
    .ok_or_else(|| {
        compiler.invalid(
            field("aws.secret_access_key"),
            "set it, or AWS_SECRET_ACCESS_KEY",
        )
    })?;
    let session_token = value("session_token", &aws.session_token, "AWS_SESSION_TOKEN")?;
    Ok(Some(AwsSettings {
        region,
        access_key_id,
        secret_access_key: Secret::new(secret_access_key),
        session_token: session_token.map(Secret::new),
    }))
}

fn roles(
    compiler: &Compiler<'_>,
    raw: &[RoleConfig],
) -> Result<HashMap<String, Arc<Role>>, ConfigError> {
    let mut roles = HashMap::new();
    for (index, role) in raw.iter().enumerate() {
        if role.models.is_empty() {
            return Err(compiler.invalid(
                format!("roles[{index}].models"),
                "list the model globs this role may use (`*` for all)",
            ));
        }
        let compiled = Role {
            name: role.name.clone(),
            models: role
                .models
                .iter()
                .map(|glob| ModelPattern::new(glob))
                .collect(),
            limits: limits(compiler, &format!("roles[{index}].limits"), &role.limits)?,
            shared_limits: limits(
                compiler,
                &format!("roles[{index}].shared_limits"),
                &role.shared_limits,
            )?,
        };
        if roles
            .insert(role.name.clone(), Arc::new(compiled))
            .is_some()
        {
            return Err(compiler.invalid(
                format!("roles[{index}].name"),
                format!("duplicate role `{}`", role.name),
            ));
        }
    }
    Ok(roles)
}

fn tenants(
    compiler: &Compiler<'_>,
    raw: &[TenantConfig],
) -> Result<HashMap<String, Arc<Tenant>>, ConfigError> {
    let mut tenants = HashMap::new();
    for (index, tenant) in raw.iter().enumerate() {
        let compiled = Tenant {
            name: tenant.name.clone(),
            limits: limits(
                compiler,
                &format!("tenants[{index}].limits"),
                &tenant.limits,
            )?,
        };
        if tenants
            .insert(tenant.name.clone(), Arc::new(compiled))
            .is_some()
        {
            return Err(compiler.invalid(
                format!("tenants[{index}].name"),
                format!("duplicate tenant `{}`", tenant.name),
            ));
        }
    }
    Ok(tenants)
}

fn principals(
    compiler: &Compiler<'_>,
    raw: &[ApiKeyConfig],
    roles: &HashMap<String, Arc<Role>>,
    tenants: &HashMap<String, Arc<Tenant>>,
) -> Result<HashMap<[u8; 32], Arc<Principal>>, ConfigError> {
    let mut principals = HashMap::new();
    for (index, key) in raw.iter().enumerate() {
        let field = |name: &str| format!("api_keys[{index}].{name}");
        let role = roles.get(&key.role).ok_or_else(|| {
            compiler.invalid(
                field("role"),
                format!("role `{}` is not defined under roles", key.role),
            )
        })?;
        let clear = compiler.secret(
            &field("key"),
            key.key.as_deref(),
            &field("key_env"),
            key.key_env.as_deref(),
        )?;
        let hash = match (clear, &key.key_sha256) {
            (Some(_), Some(_)) => {
                return Err(compiler.invalid(
                    field("key_sha256"),
                    "set either the key or its hash, not both",
                ));
            }
            (Some(clear), None) => {
                if clear.len() < 8 {
                    return Err(
                        compiler.invalid(field("key"), "API keys must be at least 8 characters")
                    );
                }
                hash_key(&clear)
            }
            (None, Some(hex_hash)) => parse_hash(hex_hash)
                .ok_or_else(|| compiler.invalid(field("key_sha256"), "must be 64 hex digits"))?,
            (None, None) => {
                return Err(compiler.invalid(field("key"), "set `key`, `key_env` or `key_sha256`"));
            }
        };
        let tenant = key
            .metadata
            .get("tenant")
            .and_then(|name| tenants.get(name))
            .cloned();
        let own = limits(compiler, &field("limits"), &key.limits)?;
        let principal = Principal {
            key_name: key.name.clone(),
            role: role.clone(),
            metadata: key.metadata.clone(),
            limits: own.tighter(role.limits),
            tenant,
            revoked: key.revoked,
        };
        if principals.insert(hash, Arc::new(principal)).is_some() {
            return Err(compiler.invalid(field("key"), "the same key is listed twice"));
        }
    }
    Ok(principals)
}

/// SHA-256 of an API key: the only form in which keys are kept.
pub fn hash_key(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

fn parse_hash(hex_hash: &str) -> Option<[u8; 32]> {
    let bytes = hex::decode(hex_hash.trim()).ok()?;
    bytes.try_into().ok()
}
