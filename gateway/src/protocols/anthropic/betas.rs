//! Anthropic's `anthropic-beta` flags: read from Anthropic clients, passed to Anthropic
//! upstreams, and — for every other upstream — decided one by one here, so that a coding agent
//! such as Claude Code works unchanged whichever provider serves it.
//!
//! An Anthropic upstream gets every flag the client sent (together with any the channel's
//! `headers` set): the flags are Anthropic's to judge, and the request's fields that need them
//! are forwarded verbatim. For other upstreams a flag itself means nothing; what matters is what
//! the fields it enables become. [`DECISIONS`] lists the flags Claude Code sends (December 2026)
//! and what the gateway does with each; the integration tests replay each one.

use axum::http::{HeaderMap, HeaderName, HeaderValue};

/// The request header, on the way in and on the way up.
pub const HEADER: &str = "anthropic-beta";

/// A beta flag and what its fields become for upstreams other than Anthropic.
pub struct Decision {
    pub beta: &'static str,
    pub elsewhere: &'static str,
}

/// The flags Claude Code sends, and the decision for each.
pub const DECISIONS: &[Decision] = &[
    Decision {
        beta: "claude-code-20250219",
        elsewhere: "nothing to map: it only marks the client as Claude Code",
    },
    Decision {
        beta: "interleaved-thinking-2025-05-14",
        elsewhere: "nothing to map: reasoning between tool calls is kept in order as usual",
    },
    Decision {
        beta: "context-management-2025-06-27",
        elsewhere: "`context_management` only steers Anthropic's own context editing: left out \
                    and named in x-switchboard-dropped",
    },
    Decision {
        beta: "per-turn-control-2026-07-01",
        elsewhere: "a system message's own `output_config.effort` becomes the reasoning effort \
                    from that point; the message's text stays an instruction",
    },
    Decision {
        beta: "mid-conversation-tool-changes-2026-07-01",
        elsewhere: "a `system` message between turns becomes a system message at that point \
                    (OpenAI) or joins the system instruction (Gemini, Bedrock)",
    },
    Decision {
        beta: "thinking-token-count-2026-05-13",
        elsewhere: "nothing to map: the estimate it adds to thinking deltas is optional",
    },
    Decision {
        beta: "effort-2025-11-24",
        elsewhere: "`output_config.effort` becomes the reasoning effort (OpenAI) or thinking \
                    budget (Gemini, Bedrock Claude)",
    },
    Decision {
        beta: "advanced-tool-use-2025-11-20",
        elsewhere: "tools with `defer_loading: true` are left out (the model is not to see them \
                    until a tool search loads them); `tool_reference` results become text",
    },
];

/// The flags of a request's `anthropic-beta` headers, in order, without duplicates.
pub fn parse(headers: &HeaderMap) -> Vec<String> {
    let mut betas: Vec<String> = Vec::new();
    for value in headers.get_all(HEADER) {
        let Ok(value) = value.to_str() else {
            continue;
        };
        for beta in value
            .split(',')
            .map(str::trim)
            .filter(|beta| !beta.is_empty())
        {
            if !betas.iter().any(|seen| seen == beta) {
                betas.push(beta.to_owned());
            }
        }
    }
    betas
}

/// Adds the client's flags to an Anthropic upstream request, after any the channel sets.
pub fn forward(betas: &[String], headers: &mut HeaderMap) {
    if betas.is_empty() {
        return;
    }
    let name = HeaderName::from_static(HEADER);
    let mut joined = headers
        .get(&name)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
        .unwrap_or_default();
    for beta in betas {
        if joined.split(',').any(|present| present.trim() == beta) {
            continue;
        }
        if !joined.is_empty() {
            joined.push(',');
        }
        joined.push_str(beta);
    }
    if let Ok(value) = HeaderValue::from_str(&joined) {
        headers.insert(name, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_split_trimmed_and_deduplicated_across_headers() {
        let mut headers = HeaderMap::new();
        headers.append(HEADER, HeaderValue::from_static("a-1, b-2,,a-1"));
        headers.append(HEADER, HeaderValue::from_static("c-3"));
        assert_eq!(parse(&headers), ["a-1", "b-2", "c-3"]);
    }

    #[test]
    fn forwarded_flags_join_the_channels_own() {
        let mut headers = HeaderMap::new();
        headers.insert(HEADER, HeaderValue::from_static("files-api-2025-04-14"));
        forward(
            &[
                "context-management-2025-06-27".into(),
                "files-api-2025-04-14".into(),
            ],
            &mut headers,
        );
        assert_eq!(
            headers.get(HEADER).and_then(|value| value.to_str().ok()),
            Some("files-api-2025-04-14,context-management-2025-06-27")
        );
    }

    #[test]
    fn every_flag_claude_code_sends_has_a_decision() {
        for beta in [
            "claude-code-20250219",
            "interleaved-thinking-2025-05-14",
            "context-management-2025-06-27",
            "per-turn-control-2026-07-01",
            "mid-conversation-tool-changes-2026-07-01",
            "thinking-token-count-2026-05-13",
            "effort-2025-11-24",
            "advanced-tool-use-2025-11-20",
        ] {
            assert!(
                DECISIONS.iter().any(|decision| decision.beta == beta),
                "{beta} has no decision"
            );
        }
    }
}
