//! The canonical chat request.

use serde_json::{Map, Value};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChatRequest {
    /// The model as the client named it (alias resolution happens in routing).
    pub model: String,
    pub messages: Vec<Message>,
    pub tools: Vec<Tool>,
    pub tool_choice: Option<ToolChoice>,
    pub parallel_tool_calls: Option<bool>,
    pub sampling: Sampling,
    pub max_output_tokens: Option<u64>,
    /// The client used OpenAI's deprecated `max_tokens` rather than `max_completion_tokens`;
    /// OpenAI-compatible upstreams get the same field back, since many only know that one.
    pub legacy_max_tokens: bool,
    pub stop: Vec<String>,
    pub response_format: Option<ResponseFormat>,
    /// `none`, `minimal`, `low`, `medium`, `high`, … (OpenAI's scale).
    pub reasoning_effort: Option<String>,
    /// An explicit thinking budget in tokens (Anthropic's `thinking.budget_tokens`).
    pub reasoning_budget: Option<u64>,
    /// End-user identifier for abuse monitoring.
    pub user: Option<String>,
    pub metadata: Option<Map<String, Value>>,
    pub stream: bool,
    /// A streaming client asked for the usage summary at the end of the stream.
    pub include_usage: bool,
    /// Fields of the client's protocol with no (or no exact) canonical meaning — OpenAI's
    /// `logprobs`, Anthropic's `thinking` object or server tools — forwarded verbatim to
    /// upstreams of the same family. Other families ignore the ones that are also mapped into
    /// canonical fields or are purely advisory, and refuse the rest with a 400.
    pub extensions: Map<String, Value>,
    /// The protocol family `extensions` came from.
    pub extension_family: Family,
    /// Where the client wants the request to go (OpenRouter-style fields, `/api/request`'s
    /// context); headers add to it in the request path.
    pub routing: RoutingPreferences,
    /// What only the client's own protocol can carry (hosted tools, server-side state, opaque
    /// reasoning items): an upstream that speaks that protocol gets it with the client's own
    /// request; any other drops or refuses it as each entry says.
    pub unportable: Vec<Unportable>,
    /// The client's request body as sent, kept when an upstream may speak the client's
    /// protocol (OpenAI Responses): such an upstream gets it with only the model replaced.
    pub native: Option<bytes::Bytes>,
    /// Functions the client grouped in namespaces (Responses `namespace` tools), flattened into
    /// plain tools under `flat` names; answers name the calls the way the client declared them.
    pub tool_namespaces: Vec<NamespacedTool>,
    /// Anthropic's `anthropic-beta` flags from the client, passed to Anthropic upstreams.
    pub betas: Vec<String>,
    /// The client's own rule for what a target cannot run (`x-switchboard-unsupported`),
    /// overriding the channel's and the gateway's.
    pub unsupported: Option<UnsupportedPolicy>,
}

/// What to do with hosted tools and parameters a target cannot run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UnsupportedPolicy {
    /// Leave them out, name them in the answer's `x-switchboard-dropped` header.
    #[default]
    Drop,
    /// Refuse the request with a 400 naming the first one.
    Refuse,
}

impl UnsupportedPolicy {
    pub fn parse(value: &str) -> Option<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "drop" => Some(UnsupportedPolicy::Drop),
            "refuse" => Some(UnsupportedPolicy::Refuse),
            _ => None,
        }
    }
}

/// Something in a request that only its own protocol can carry.
#[derive(Debug, Clone, PartialEq)]
pub struct Unportable {
    /// Where it is in the client's request, as the client wrote it (`tools[8]`,
    /// `previous_response_id`), for errors.
    pub field: String,
    /// The short name the `x-switchboard-dropped` header gives it (`tools.web_search`).
    pub label: String,
    pub kind: UnportableKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnportableKind {
    /// A hosted tool or parameter another target cannot run: dropped or refused by policy.
    Optional,
    /// State another target has no use for (encrypted reasoning, hosted-tool results): always
    /// left out, and named.
    LeftOut,
    /// The answer depends on it and no other target can give it: always refused, with this
    /// explanation.
    Required(String),
}

/// A function declared inside a namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespacedTool {
    /// The plain tool name upstreams see.
    pub flat: String,
    pub namespace: String,
    pub name: String,
}

/// A client's routing wishes. Provider names are channel names or provider kinds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RoutingPreferences {
    /// Try these providers first, in this order.
    pub order: Vec<String>,
    /// Use only these providers.
    pub only: Vec<String>,
    /// Never use these providers.
    pub ignore: Vec<String>,
    /// `Some(false)`: only the providers in `order` (a hard pin); `None`: the configured default.
    pub allow_fallbacks: Option<bool>,
    /// Models to fall back to, in order, once every channel of the requested model has failed.
    pub fallback_models: Vec<String>,
}

/// A protocol family: one wire format spoken by clients and upstreams alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Family {
    #[default]
    OpenAi,
    /// OpenAI's Responses API: its own wire format, whose extensions Chat Completions does not
    /// take.
    OpenAiResponses,
    Anthropic,
    Gemini,
}

impl Family {
    pub fn name(self) -> &'static str {
        match self {
            Family::OpenAi => "OpenAI",
            Family::OpenAiResponses => "OpenAI Responses",
            Family::Anthropic => "Anthropic",
            Family::Gemini => "Gemini",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sampling {
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub presence_penalty: Option<f64>,
    pub frequency_penalty: Option<f64>,
    pub seed: Option<i64>,
    /// Sample only from the k most likely tokens (Anthropic, Gemini).
    pub top_k: Option<u32>,
    /// Number of alternative answers.
    pub n: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    System,
    /// OpenAI's newer name for system instructions on reasoning models.
    Developer,
    User,
    Assistant,
    /// Carries tool results.
    Tool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub role: Role,
    pub name: Option<String>,
    pub content: Vec<ContentPart>,
    /// The client sent the content as a bare string rather than a list of parts; kept so the
    /// request can be re-encoded in the same shape for servers that only accept strings.
    pub plain_text: bool,
    /// Fields of the client's family on this message with no canonical meaning (Anthropic's
    /// per-turn `output_config` on a system message), forwarded to upstreams of that family.
    pub extensions: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ContentPart {
    Text(String),
    /// An image by URL, or inline as a `data:` URL.
    Image {
        url: String,
        detail: Option<String>,
    },
    ToolCall {
        id: String,
        name: String,
        /// JSON-encoded arguments, exactly as the model produced them (possibly invalid JSON).
        arguments: String,
    },
    ToolResult {
        call_id: String,
        content: Vec<ContentPart>,
        /// The tool failed; the content describes the error.
        is_error: bool,
    },
    Reasoning {
        text: String,
        /// Provider signature that must be sent back verbatim in a tool loop.
        signature: Option<String>,
    },
    /// Reasoning the provider returned encrypted; only sendable back to the same provider.
    RedactedReasoning {
        data: String,
    },
    /// The end of a cacheable prefix: the part before it should be cached (Anthropic's
    /// `cache_control`). Protocols without explicit cache markers ignore it.
    CachePoint(CacheControl),
    Refusal(String),
    /// A part only one protocol family can express (OpenAI's `input_audio`, `file`,
    /// Anthropic's `tool_reference` or server-tool blocks), kept verbatim for upstreams of that
    /// family.
    Opaque {
        family: Family,
        value: Value,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Tool {
    pub name: String,
    pub description: Option<String>,
    /// JSON Schema of the arguments.
    pub parameters: Option<Value>,
    pub strict: Option<bool>,
    /// Cache the prompt up to and including this tool definition.
    pub cache: Option<CacheControl>,
    /// Fields of the client's family with no canonical meaning (Anthropic's `defer_loading`,
    /// `input_examples`, `allowed_callers`), forwarded to upstreams of that family only.
    pub extensions: Map<String, Value>,
}

impl Tool {
    /// Anthropic's `defer_loading`: the model is not to see the tool until a tool search loads
    /// it, so targets without tool search leave it out.
    pub fn deferred(&self) -> bool {
        self.extensions
            .get("defer_loading")
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }
}

/// A prompt-cache marker. `ttl` is the provider's spelling (`5m`, `1h`); `None` is its default.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CacheControl {
    pub ttl: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ToolChoice {
    None,
    Auto,
    Required,
    Function(String),
    /// A choice only OpenAI Chat expresses (`allowed_tools`, `custom`), kept verbatim.
    Opaque(Value),
}

#[derive(Debug, Clone, PartialEq)]
pub enum ResponseFormat {
    Text,
    JsonObject,
    JsonSchema {
        name: String,
        description: Option<String>,
        schema: Option<Value>,
        strict: Option<bool>,
    },
}

impl Message {
    /// All text parts joined, for token estimates and the mock provider.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for part in &self.content {
            match part {
                ContentPart::Text(text) | ContentPart::Refusal(text) => out.push_str(text),
                ContentPart::ToolResult { content, .. } => {
                    for inner in content {
                        if let ContentPart::Text(text) = inner {
                            out.push_str(text);
                        }
                    }
                }
                ContentPart::ToolCall { arguments, .. } => out.push_str(arguments),
                _ => {}
            }
        }
        out
    }
}

impl ChatRequest {
    /// How the client declared a tool it named `flat` upstream: `(namespace, name)` for a
    /// function in a namespace.
    pub fn namespaced(&self, flat: &str) -> Option<(&str, &str)> {
        self.tool_namespaces
            .iter()
            .find(|tool| tool.flat == flat)
            .map(|tool| (tool.namespace.as_str(), tool.name.as_str()))
    }

    /// A quick input-token estimate (about four characters a token, plus framing per message),
    /// for `count_tokens` and routing rules. Not a tokenizer: within tens of percent for prose.
    pub fn estimate_input_tokens(&self) -> u64 {
        let mut characters = 0usize;
        let mut images = 0u64;
        for message in &self.messages {
            characters += message.text().len();
            images += message
                .content
                .iter()
                .filter(|part| matches!(part, ContentPart::Image { .. }))
                .count() as u64;
        }
        for tool in &self.tools {
            characters += tool.name.len() + tool.description.as_ref().map_or(0, String::len);
            characters += tool
                .parameters
                .as_ref()
                .map_or(0, |schema| schema.to_string().len());
        }
        (characters as u64).div_ceil(4) + 3 * self.messages.len() as u64 + 85 * images
    }
}
