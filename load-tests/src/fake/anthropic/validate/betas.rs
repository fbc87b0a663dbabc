//! The `anthropic-beta` request header and what the betas it names let a request carry. Without
//! its beta, each of these is refused exactly like any other unknown field or value:
//!
//! - `mid-conversation-tool-changes-2026-07-01`: messages with `role: "system"` (their placement
//!   and content are `blocks.rs`'s to check);
//! - `context-management-2025-06-27`: the top-level `context_management` (checked here);
//! - `advanced-tool-use-2025-11-20`: `defer_loading` and `input_examples` on custom tools
//!   (`params.rs`), `tool_reference` blocks in tool results (`blocks.rs`);
//! - `per-turn-control-2026-07-01`: an `output_config` (effort only) on a mid-conversation
//!   `system` message, which may then have empty content (`blocks.rs`).
//!
//! Other betas (`interleaved-thinking-…`, `effort-…`, `claude-code-…`) are accepted and change
//! nothing here.

use hyper::header::HeaderMap;
use serde_json::Value;

use super::checks::{Invalid, fail, integer, list, literal, object, only, optional, required};
use crate::fake::validate::Path;

const MID_CONVERSATION_SYSTEM: &str = "mid-conversation-tool-changes-2026-07-01";
const CONTEXT_MANAGEMENT: &str = "context-management-2025-06-27";
const ADVANCED_TOOL_USE: &str = "advanced-tool-use-2025-11-20";
const PER_TURN_CONTROL: &str = "per-turn-control-2026-07-01";

/// The betas a request turned on that change what the fake accepts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Betas {
    /// Messages may have `role: "system"`.
    pub mid_conversation_system: bool,
    /// `context_management` is a known top-level field.
    pub context_management: bool,
    /// Custom tools may carry `defer_loading` and `input_examples`; tool results may hold
    /// `tool_reference` blocks.
    pub advanced_tool_use: bool,
    /// A mid-conversation `system` message may carry its own `output_config` (effort).
    pub per_turn_control: bool,
}

impl Betas {
    /// Reads every `anthropic-beta` header (each a comma-separated list of names).
    pub(crate) fn from_headers(headers: &HeaderMap) -> Self {
        let mut betas = Betas::default();
        let names = headers
            .get_all("anthropic-beta")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(str::trim);
        for name in names {
            match name {
                MID_CONVERSATION_SYSTEM => betas.mid_conversation_system = true,
                CONTEXT_MANAGEMENT => betas.context_management = true,
                ADVANCED_TOOL_USE => betas.advanced_tool_use = true,
                PER_TURN_CONTROL => betas.per_turn_control = true,
                _ => {}
            }
        }
        betas
    }
}

/// `context_management`: `{"edits": [edit, …]}`, each edit one of Anthropic's edit types with
/// only that type's fields. The fake applies none of them.
pub(super) fn context_management(value: &Value) -> Result<(), Invalid> {
    let at = Path::Root("context_management");
    let fields = object(at, value)?;
    only(at, fields, &["edits"])?;
    let Some(edits) = optional(fields, "edits") else {
        return Ok(());
    };
    let edits_at = at.key("edits");
    for (index, edit) in list(edits_at, edits)?.iter().enumerate() {
        self::edit(edits_at.index(index), edit)?;
    }
    Ok(())
}

fn edit(at: Path<'_>, value: &Value) -> Result<(), Invalid> {
    let fields = object(at, value)?;
    let kind = literal(
        at.key("type"),
        required(at, fields, "type")?,
        &[
            "clear_tool_uses_20250919",
            "clear_thinking_20251015",
            "compact_20260112",
        ],
    )?;
    let allowed: &[&str] = match kind {
        "clear_tool_uses_20250919" => &[
            "type",
            "trigger",
            "keep",
            "clear_at_least",
            "clear_tool_inputs",
            "exclude_tools",
        ],
        "clear_thinking_20251015" => &["type", "keep"],
        _ => &["type", "trigger", "instructions", "pause_after_compaction"],
    };
    only(at, fields, allowed)?;
    if kind == "clear_thinking_20251015"
        && let Some(keep) = optional(fields, "keep")
    {
        return thinking_keep(at.key("keep"), keep);
    }
    for key in ["trigger", "keep", "clear_at_least"] {
        if let Some(setting) = optional(fields, key) {
            object(at.key(key), setting)?;
        }
    }
    Ok(())
}

/// `keep` of `clear_thinking_20251015`: `"all"`, a number of turns, or an object such as
/// `{"type":"thinking_turns","value":N}`.
fn thinking_keep(at: Path<'_>, keep: &Value) -> Result<(), Invalid> {
    match keep {
        Value::String(_) => literal(at, keep, &["all"]).map(drop),
        Value::Number(_) => integer(at, keep, 0).map(drop),
        Value::Object(_) => Ok(()),
        _ => Err(fail(
            at,
            "Input should be 'all', a valid integer or a valid dictionary",
        )),
    }
}

#[cfg(test)]
mod tests {
    use hyper::header::HeaderValue;
    use serde_json::json;

    use super::*;

    #[test]
    fn every_header_and_every_name_counts() {
        let mut headers = HeaderMap::new();
        headers.append(
            "anthropic-beta",
            HeaderValue::from_static("claude-code-20250219, context-management-2025-06-27"),
        );
        headers.append(
            "anthropic-beta",
            HeaderValue::from_static("advanced-tool-use-2025-11-20"),
        );
        assert_eq!(
            Betas::from_headers(&headers),
            Betas {
                mid_conversation_system: false,
                context_management: true,
                advanced_tool_use: true,
                per_turn_control: false,
            }
        );
        assert_eq!(Betas::from_headers(&HeaderMap::new()), Betas::default());
    }

    #[test]
    fn edits_are_checked_by_type() {
        let good = json!({"edits": [
            {"type": "clear_thinking_20251015", "keep": "all"},
            {"type": "clear_thinking_20251015", "keep": {"type": "thinking_turns", "value": 2}},
            {"type": "clear_thinking_20251015", "keep": 1},
            {"type": "clear_tool_uses_20250919", "trigger": {"type": "input_tokens", "value": 1000},
             "keep": {"type": "tool_uses", "value": 3}, "exclude_tools": ["Read"]},
            {"type": "compact_20260112", "instructions": null}
        ]});
        assert_eq!(context_management(&good), Ok(()));
        let refused = |value: Value| context_management(&value).unwrap_err().message;
        assert_eq!(
            refused(json!({"edits": [{"type": "clear_everything"}]})),
            "context_management.edits.0.type: Input should be 'clear_tool_uses_20250919', 'clear_thinking_20251015' or 'compact_20260112'"
        );
        assert_eq!(
            refused(json!({"edits": [{"type": "clear_thinking_20251015", "keep": "some"}]})),
            "context_management.edits.0.keep: Input should be 'all'"
        );
        assert_eq!(
            refused(json!({"edits": [{"type": "clear_thinking_20251015", "trigger": {}}]})),
            "context_management.edits.0.trigger: Extra inputs are not permitted"
        );
        assert_eq!(
            refused(json!({"edit": []})),
            "context_management.edit: Extra inputs are not permitted"
        );
    }
}
