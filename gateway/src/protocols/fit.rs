//! Fitting a canonical request to one target. The upstream encoders map what has an
//! equivalent; what is left — hosted tools, parameters with no equivalent, state that only the
//! client's own protocol carries — is decided here, by one rule, so every target treats it the
//! same way.
//!
//! The rule ([`UnsupportedPolicy`]) is the request's `x-switchboard-unsupported` header, else the
//! channel's `unsupported`, else the gateway's `translation.unsupported`; `drop` by default.
//! What a target cannot take falls in one of four kinds:
//! - **optional**: hosted tools a client offers but the model need not use (`web_search`,
//!   Anthropic server tools) and parameters with no equivalent (penalties, `seed`, `logprobs`,
//!   `n > 1`, …). `drop` leaves them out; `refuse` answers 400 naming the first one.
//! - **left out**: hints that only steer the client's own provider (Anthropic
//!   `context_management`, container and automatic-cache settings) and state no other target can
//!   read (encrypted reasoning items, hosted-tool results in the history). Always left out.
//! - **required**: what the answer depends on and no other target can give (`previous_response_id`
//!   and other server-side state, a `tool_choice` that forces a hosted tool, content parts
//!   with no equivalent). Always refused.
//! - **advisory**: storage, service tiers, cache keys, metadata. Ignored without a word, as the
//!   target has no such notion.
//!
//! Everything dropped or left out is named in the answer's `x-switchboard-dropped` header, so
//! nothing disappears silently.

use serde_json::Value;

use crate::canonical::{ChatRequest, ContentPart, Family, Tool, UnportableKind, UnsupportedPolicy};
use crate::error::GatewayError;

/// Extension fields a target of another family ignores: advisory (storage, service tiers, cache
/// keys, safety identifiers, metadata) or already mapped into canonical fields (Anthropic
/// `thinking`/`output_config`, Gemini `thinkingConfig`/`safetySettings`, Responses
/// `reasoning.summary` and `text.verbosity`).
const ADVISORY: &[&str] = &[
    "store",
    "service_tier",
    "prompt_cache_key",
    "prompt_cache_retention",
    "safety_identifier",
    "metadata",
    "client_metadata",
    "include",
    "truncation",
    "stream_options.include_obfuscation",
    "modalities",
    "thinking",
    "output_config",
    "generationConfig.thinkingConfig",
    "safetySettings",
    "reasoning.summary",
    "text.verbosity",
];

/// Extension fields that only steer the client's own provider's context handling: left out for
/// every other target.
const CONTEXT_HINTS: &[&str] = &["context_management", "container", "cache_control"];

/// Extension fields that name state kept by the client's own provider: no other target can
/// answer without it, so they are always refused, with why.
const SERVER_STATE: &[(&str, &str)] = &[(
    "cachedContent",
    "it names context cached by Google, which only a Gemini channel can read",
)];

/// One attempt's fit: the rule in force and what the upstream request left out.
pub struct Fit {
    policy: UnsupportedPolicy,
    /// The target as a sentence names it: "an Anthropic model".
    target: &'static str,
    /// The client protocol family the target speaks, if any (Bedrock's Converse is none).
    family: Option<Family>,
    dropped: Vec<String>,
    /// The request went up as the client sent it (same protocol): the answer goes back the
    /// same way.
    native: bool,
}

impl Fit {
    pub fn new(policy: UnsupportedPolicy, family: Option<Family>, target: &'static str) -> Self {
        Fit {
            policy,
            target,
            family,
            dropped: Vec::new(),
            native: false,
        }
    }

    /// Marks the request as sent in the client's own protocol, unchanged but for the model.
    pub fn pass_through(&mut self) {
        self.native = true;
    }

    /// Whether the request went up in the client's own protocol.
    pub fn native(&self) -> bool {
        self.native
    }

    pub fn target(&self) -> &'static str {
        self.target
    }

    /// Whether the target speaks the client's protocol family (and takes its extensions).
    pub fn same_family(&self, request: &ChatRequest) -> bool {
        self.family == Some(request.extension_family)
    }

    /// Something the target cannot run: left out under `drop`, refused under `refuse`. `why`
    /// ends the sentence "`field` cannot be sent to <target>: …".
    pub fn optional(&mut self, field: &str, label: &str, why: &str) -> Result<(), GatewayError> {
        match self.policy {
            UnsupportedPolicy::Drop => {
                self.left_out(label);
                Ok(())
            }
            UnsupportedPolicy::Refuse => Err(GatewayError::invalid_param(
                field,
                format!(
                    "`{field}` cannot be sent to {}: {why}. Remove it, or send `x-switchboard-unsupported: drop` to have the gateway leave it out.",
                    self.target
                ),
            )),
        }
    }

    /// Something the target has no use for: always left out, and named.
    pub fn left_out(&mut self, label: &str) {
        if !self.dropped.iter().any(|seen| seen == label) {
            self.dropped.push(label.to_owned());
        }
    }

    /// What no target but the client's own protocol can give: always refused.
    pub fn required(&self, field: &str, why: &str) -> GatewayError {
        GatewayError::invalid_param(
            field,
            format!("`{field}` cannot be sent to {}: {why}", self.target),
        )
    }

    /// The labels of everything left out, in the order met.
    pub fn into_dropped(self) -> Vec<String> {
        self.dropped
    }

    /// The labels of everything left out so far.
    pub fn dropped(&self) -> &[String] {
        &self.dropped
    }

    /// Applies the rule to what the request carries from another family than the target's:
    /// its extension fields and its unportable parts. Fields of the target's own family are the
    /// encoder's to forward.
    pub fn foreign(&mut self, request: &ChatRequest) -> Result<(), GatewayError> {
        if self.same_family(request) {
            return Ok(());
        }
        let family = request.extension_family.name();
        for (key, value) in &request.extensions {
            let key = key.as_str();
            if ADVISORY.contains(&key) {
                continue;
            }
            if CONTEXT_HINTS.contains(&key) {
                self.left_out(key);
                continue;
            }
            if let Some((_, why)) = SERVER_STATE.iter().find(|(field, _)| *field == key) {
                return Err(self.required(key, why));
            }
            if key == "tools" {
                self.hosted_tools(value)?;
                continue;
            }
            let why = format!("it is a {family}-only parameter");
            self.optional(key, key, &why)?;
        }
        for unportable in &request.unportable {
            match &unportable.kind {
                UnportableKind::Optional => {
                    let why = format!("it is a {family}-only feature");
                    self.optional(&unportable.field, &unportable.label, &why)?;
                }
                UnportableKind::LeftOut => self.left_out(&unportable.label),
                UnportableKind::Required(why) => {
                    return Err(self.required(&unportable.field, why));
                }
            }
        }
        Ok(())
    }

    /// Hosted (server-side) tools kept verbatim in `extensions["tools"]`.
    fn hosted_tools(&mut self, tools: &Value) -> Result<(), GatewayError> {
        for tool in tools.as_array().into_iter().flatten() {
            // OpenAI and Anthropic tag hosted tools with a `type`; Gemini's are one key each
            // (`{"googleSearch": {}}`).
            let kind = tool
                .get("type")
                .and_then(Value::as_str)
                .or_else(|| tool.as_object()?.keys().next().map(String::as_str))
                .unwrap_or("unknown");
            let label = format!("tools.{kind}");
            let why = "it is a tool the provider runs itself, which this target cannot run";
            self.optional("tools", &label, why)?;
        }
        Ok(())
    }

    /// A content part of another family: `Some(text)` to send in its place, `None` to leave it
    /// out; refused when it has no equivalent. `field` locates it in the client's request.
    pub fn foreign_part(
        &mut self,
        field: &str,
        family: Family,
        value: &Value,
    ) -> Result<Option<String>, GatewayError> {
        let kind = value
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("unknown");
        match (family, kind) {
            // Anthropic's tool search names the tools it loaded; other models see their
            // definitions in `tools` already, so the reference reads as a plain statement.
            (Family::Anthropic, "tool_reference") => {
                let name = value
                    .get("tool_name")
                    .or_else(|| value.get("name"))
                    .and_then(Value::as_str)
                    .unwrap_or("unknown");
                Ok(Some(format!("Tool `{name}` is loaded and can be called.")))
            }
            // A server tool's call and result from an earlier turn: only Anthropic can read them.
            (Family::Anthropic, kind) if kind == "server_tool_use" || kind.ends_with("_result") => {
                self.left_out(&format!("messages.{kind}"));
                Ok(None)
            }
            _ => Err(self.required(
                field,
                &format!("content parts of type `{kind}` have no equivalent there"),
            )),
        }
    }

    /// The tools to declare to a target of another family than the client's: all but the
    /// deferred ones (Anthropic tool search) that no `tool_reference` in the conversation has
    /// loaded yet; their other family-only fields are left out.
    pub fn tools<'a>(&mut self, request: &'a ChatRequest) -> Vec<&'a Tool> {
        let foreign = !self.same_family(request);
        let mut kept = Vec::with_capacity(request.tools.len());
        for tool in &request.tools {
            if foreign && tool.deferred() && !loaded(request, &tool.name) {
                self.left_out(&format!("tools.{}", tool.name));
                continue;
            }
            if foreign {
                for key in tool.extensions.keys().filter(|key| *key != "defer_loading") {
                    self.left_out(&format!("tools.{key}"));
                }
            }
            kept.push(tool);
        }
        kept
    }

    /// The text of a tool result for a target that takes results as text: its text parts, and
    /// what its parts of another family become (`tool_reference` → a sentence); images are left
    /// out (and named). `field` locates the result in the client's request.
    pub fn result_text(
        &mut self,
        field: &str,
        content: &[ContentPart],
    ) -> Result<String, GatewayError> {
        let mut text = String::new();
        for part in content {
            match part {
                ContentPart::Text(piece) => text.push_str(piece),
                ContentPart::Opaque { family, value } => {
                    if let Some(piece) = self.foreign_part(field, *family, value)? {
                        text.push_str(&piece);
                    }
                }
                ContentPart::Image { .. } => self.left_out("messages.tool_result.image"),
                _ => {}
            }
        }
        Ok(text)
    }

    /// Refuses what only OpenAI and Gemini express: several answers, penalties, a seed.
    pub fn openai_only_sampling(&mut self, request: &ChatRequest) -> Result<(), GatewayError> {
        if request.sampling.n.is_some_and(|n| n > 1) {
            self.optional("n", "n", "it returns one answer per request")?;
        }
        for (field, set) in [
            (
                "presence_penalty",
                request.sampling.presence_penalty.is_some(),
            ),
            (
                "frequency_penalty",
                request.sampling.frequency_penalty.is_some(),
            ),
            ("seed", request.sampling.seed.is_some()),
        ] {
            if set {
                self.optional(field, field, "it has no equivalent parameter")?;
            }
        }
        Ok(())
    }
}

/// Whether a `tool_reference` (Anthropic tool search) anywhere in the conversation names `tool`.
fn loaded(request: &ChatRequest, tool: &str) -> bool {
    fn names(parts: &[ContentPart], tool: &str) -> bool {
        parts.iter().any(|part| match part {
            ContentPart::Opaque {
                family: Family::Anthropic,
                value,
            } => {
                value.get("type").and_then(Value::as_str) == Some("tool_reference")
                    && value.get("tool_name").and_then(Value::as_str) == Some(tool)
            }
            ContentPart::ToolResult { content, .. } => names(content, tool),
            _ => false,
        })
    }
    request
        .messages
        .iter()
        .any(|message| names(&message.content, tool))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::canonical::{Sampling, Unportable};

    fn anthropic_request() -> ChatRequest {
        let mut request = ChatRequest {
            extension_family: Family::Anthropic,
            ..ChatRequest::default()
        };
        request.extensions.insert(
            "context_management".into(),
            json!({"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]}),
        );
        request.extensions.insert(
            "tools".into(),
            json!([{"type": "web_search_20250305", "name": "web_search"}]),
        );
        request
            .extensions
            .insert("service_tier".into(), json!("auto"));
        request
    }

    #[test]
    fn drop_leaves_out_hosted_tools_and_context_hints_and_names_them() {
        let mut fit = Fit::new(
            UnsupportedPolicy::Drop,
            Some(Family::OpenAi),
            "an OpenAI model",
        );
        fit.foreign(&anthropic_request())
            .expect("dropped, not refused");
        assert_eq!(
            fit.into_dropped(),
            ["context_management", "tools.web_search_20250305"]
        );
    }

    #[test]
    fn refuse_refuses_hosted_tools_but_still_leaves_out_context_hints() {
        let mut fit = Fit::new(
            UnsupportedPolicy::Refuse,
            Some(Family::Gemini),
            "a Gemini model",
        );
        let error = fit.foreign(&anthropic_request()).expect_err("refused");
        assert_eq!(error.param.as_deref(), Some("tools"));
        assert!(error.message.contains("cannot be sent to a Gemini model"));
        assert!(error.message.contains("x-switchboard-unsupported: drop"));
    }

    #[test]
    fn the_targets_own_family_is_not_fitted() {
        let mut fit = Fit::new(
            UnsupportedPolicy::Refuse,
            Some(Family::Anthropic),
            "an Anthropic model",
        );
        fit.foreign(&anthropic_request()).expect("forwarded as is");
        assert!(fit.into_dropped().is_empty());
    }

    #[test]
    fn required_state_is_refused_under_either_policy() {
        let request = ChatRequest {
            extension_family: Family::OpenAiResponses,
            unportable: vec![Unportable {
                field: "previous_response_id".into(),
                label: "previous_response_id".into(),
                kind: UnportableKind::Required("it needs the response stored upstream".into()),
            }],
            ..ChatRequest::default()
        };
        let mut fit = Fit::new(
            UnsupportedPolicy::Drop,
            Some(Family::Anthropic),
            "an Anthropic model",
        );
        let error = fit.foreign(&request).expect_err("refused");
        assert_eq!(error.param.as_deref(), Some("previous_response_id"));
    }

    #[test]
    fn sampling_without_equivalent_follows_the_policy() {
        let request = ChatRequest {
            sampling: Sampling {
                n: Some(2),
                seed: Some(7),
                ..Sampling::default()
            },
            ..ChatRequest::default()
        };
        let mut drop = Fit::new(
            UnsupportedPolicy::Drop,
            Some(Family::Anthropic),
            "an Anthropic model",
        );
        drop.openai_only_sampling(&request).expect("dropped");
        assert_eq!(drop.into_dropped(), ["n", "seed"]);
        let mut refuse = Fit::new(
            UnsupportedPolicy::Refuse,
            Some(Family::Anthropic),
            "an Anthropic model",
        );
        let error = refuse.openai_only_sampling(&request).expect_err("refused");
        assert_eq!(error.param.as_deref(), Some("n"));
    }

    #[test]
    fn gemini_hosted_tools_are_named_by_their_key_and_cached_content_is_refused() {
        let mut request = ChatRequest {
            extension_family: Family::Gemini,
            ..ChatRequest::default()
        };
        request
            .extensions
            .insert("tools".into(), json!([{"googleSearch": {}}]));
        let mut fit = Fit::new(
            UnsupportedPolicy::Drop,
            Some(Family::OpenAi),
            "an OpenAI model",
        );
        fit.foreign(&request).expect("dropped");
        assert_eq!(fit.into_dropped(), ["tools.googleSearch"]);
        request
            .extensions
            .insert("cachedContent".into(), json!("cachedContents/abc"));
        let mut fit = Fit::new(
            UnsupportedPolicy::Drop,
            Some(Family::OpenAi),
            "an OpenAI model",
        );
        let error = fit.foreign(&request).expect_err("refused");
        assert_eq!(error.param.as_deref(), Some("cachedContent"));
    }

    #[test]
    fn tool_references_become_text_and_server_tool_results_are_left_out() {
        let mut fit = Fit::new(
            UnsupportedPolicy::Refuse,
            Some(Family::OpenAi),
            "an OpenAI model",
        );
        let reference = json!({"type": "tool_reference", "tool_name": "Grep"});
        let text = fit
            .foreign_part("messages.2.content.0", Family::Anthropic, &reference)
            .expect("mapped");
        assert_eq!(
            text.as_deref(),
            Some("Tool `Grep` is loaded and can be called.")
        );
        let result = json!({"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1"});
        let none = fit
            .foreign_part("messages.1.content.1", Family::Anthropic, &result)
            .expect("left out");
        assert!(none.is_none());
        let document = json!({"type": "document", "source": {}});
        assert!(
            fit.foreign_part("messages.0.content.0", Family::Anthropic, &document)
                .is_err()
        );
        assert_eq!(fit.into_dropped(), ["messages.web_search_tool_result"]);
    }
}
