//! Unit tests of the Anthropic validator: one accepted request per feature, and one refusal per
//! rule with the exact message Anthropic would send.

use serde_json::{Value, json};

use super::{Betas, Endpoint, request};
use crate::fake::anthropic::signature::thinking_signature;

fn base() -> Value {
    json!({
        "model": "claude-test",
        "max_tokens": 2048,
        "messages": [{"role": "user", "content": "Hello"}]
    })
}

fn with(changes: Value) -> Value {
    let mut body = base();
    if let (Some(body), Some(changes)) = (body.as_object_mut(), changes.as_object()) {
        for (key, value) in changes {
            body.insert(key.clone(), value.clone());
        }
    }
    body
}

fn refusal(body: &Value) -> String {
    match request(body, Endpoint::Messages, Betas::default()) {
        Ok(_) => panic!("accepted: {body}"),
        Err(invalid) => invalid.message,
    }
}

fn accepted(body: &Value) {
    if let Err(invalid) = request(body, Endpoint::Messages, Betas::default()) {
        panic!("refused with {:?}: {body}", invalid.message);
    }
}

fn weather_tool() -> Value {
    json!([{"name": "get_weather", "description": "Weather",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}])
}

fn tool_loop(thinking: Option<Value>) -> Value {
    let mut assistant = vec![
        json!({"type": "tool_use", "id": "toolu_1", "name": "get_weather",
                                     "input": {"city": "Oslo"}}),
    ];
    if let Some(block) = thinking {
        assistant.insert(0, block);
    }
    with(json!({
        "tools": weather_tool(),
        "messages": [
            {"role": "user", "content": "Weather in Oslo?"},
            {"role": "assistant", "content": assistant},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "Sunny"},
                {"type": "text", "text": "Thanks"}]}
        ]
    }))
}

#[test]
fn a_full_request_is_accepted() {
    accepted(&with(json!({
        "system": [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral", "ttl": "1h"}}],
        "temperature": 0.5, "top_p": 0.9, "top_k": 5, "stop_sequences": ["END"],
        "stream": true, "metadata": {"user_id": "u1"}, "service_tier": "auto",
        "output_config": {"effort": "high"},
        "tools": weather_tool(), "tool_choice": {"type": "auto", "disable_parallel_tool_use": true},
        "messages": [{"role": "user", "content": [
            {"type": "text", "text": "What is this?"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
            {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}},
            {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "doc"}}
        ]}]
    })));
    accepted(&tool_loop(None));
}

#[test]
fn top_level_shape() {
    assert_eq!(
        refusal(&with(json!({"n": 2}))),
        "n: Extra inputs are not permitted"
    );
    let mut body = base();
    body.as_object_mut().map(|b| b.remove("max_tokens"));
    assert_eq!(refusal(&body), "max_tokens: Field required");
    assert_eq!(
        refusal(&with(json!({"max_tokens": 0}))),
        "max_tokens: Input should be greater than or equal to 1"
    );
    assert_eq!(
        refusal(&with(json!({"temperature": 1.5}))),
        "temperature: Input should be less than or equal to 1"
    );
    assert_eq!(
        refusal(&with(json!({"messages": []}))),
        "messages: at least one message is required"
    );
    assert_eq!(
        refusal(&with(
            json!({"messages": [{"role": "system", "content": "x"}]})
        )),
        "messages.0.role: Input should be 'user' or 'assistant'"
    );
    assert_eq!(
        refusal(&with(json!({"tool_choice": {"type": "required"}}))),
        "tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'"
    );
}

#[test]
fn blocks_are_checked_per_role_and_type() {
    let user = |block: Value| with(json!({"messages": [{"role": "user", "content": [block]}]}));
    assert_eq!(
        refusal(&user(json!({"type": "text", "text": ""}))),
        "messages.0.content.0.text: text content blocks must be non-empty"
    );
    assert_eq!(
        refusal(&user(json!({"type": "text", "text": "hi", "extra": 1}))),
        "messages.0.content.0.extra: Extra inputs are not permitted"
    );
    assert!(
        refusal(&user(
            json!({"type": "tool_use", "id": "t", "name": "f", "input": {}})
        ))
        .starts_with("messages.0.content.0: Input tag 'tool_use' found using 'type'")
    );
    assert_eq!(
        refusal(&user(json!({"type": "image", "source": {"type": "base64",
            "media_type": "image/bmp", "data": "AAAA"}}))),
        "messages.0.content.0.source.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'"
    );
    assert_eq!(
        refusal(&user(json!({"type": "image", "source": {"type": "base64",
            "media_type": "image/png", "data": "data:image/png;base64,AAAA"}}))),
        "messages.0.content.0.source.data: invalid base64 data"
    );
    assert_eq!(
        refusal(&user(
            json!({"type": "text", "text": "hi", "cache_control": {"type": "persistent"}})
        )),
        "messages.0.content.0.cache_control.type: Input should be 'ephemeral'"
    );
    assert_eq!(
        refusal(&user(json!({"type": "tool_result", "content": "x"}))),
        "messages.0.content.0.tool_use_id: Field required"
    );
    assert_eq!(
        refusal(&with(
            json!({"messages": [{"role": "user", "content": "hi"}, {"role": "user", "content": ""}]})
        )),
        "messages.1: all messages must have non-empty content except for the optional final assistant message"
    );
}

#[test]
fn tools_and_tool_pairing() {
    let mut no_tools = tool_loop(None);
    no_tools.as_object_mut().map(|b| b.remove("tools"));
    assert_eq!(
        refusal(&no_tools),
        "Requests which include `tool_use` or `tool_result` blocks must define tools."
    );
    let mut missing = tool_loop(None);
    missing["messages"][2]["content"] = json!([{"type": "text", "text": "Thanks"}]);
    assert!(refusal(&missing).starts_with(
        "messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: toolu_1."
    ));
    let mut late = tool_loop(None);
    late["messages"][2]["content"] = json!([
        {"type": "text", "text": "Thanks"},
        {"type": "tool_result", "tool_use_id": "toolu_1", "content": "Sunny"}]);
    assert!(refusal(&late).starts_with("messages.1: `tool_use` ids were found without"));
    let mut stranger = tool_loop(None);
    stranger["messages"][2]["content"] = json!([
        {"type": "tool_result", "tool_use_id": "toolu_1", "content": "Sunny"},
        {"type": "tool_result", "tool_use_id": "toolu_9", "content": "Rain"}]);
    assert!(refusal(&stranger).starts_with(
        "messages.2.content.1: unexpected `tool_use_id` found in `tool_result` blocks: toolu_9."
    ));
    assert_eq!(
        refusal(&with(
            json!({"tools": [{"name": "bad name", "input_schema": {"type": "object"}}]})
        )),
        "tools.0.name: String should match pattern '^[a-zA-Z0-9_-]{1,64}$'"
    );
    assert_eq!(
        refusal(&with(
            json!({"tools": [{"name": "f", "input_schema": {"type": "array"}}]})
        )),
        "tools.0.input_schema.type: Input should be 'object'"
    );
}

#[test]
fn thinking_rules() {
    let thinking = json!({"type": "enabled", "budget_tokens": 1024});
    let signed = |text: &str| json!({"type": "thinking", "thinking": text, "signature": thinking_signature(text)});
    let mut good = tool_loop(Some(signed("Let me check.")));
    good["thinking"] = thinking.clone();
    accepted(&good);

    let mut tampered = tool_loop(Some(signed("Let me check.")));
    tampered["thinking"] = thinking.clone();
    tampered["messages"][1]["content"][0]["thinking"] = json!("Let me check!");
    assert_eq!(
        refusal(&tampered),
        "messages.1.content.0: Invalid `signature` in `thinking` block"
    );

    let mut unthought = tool_loop(None);
    unthought["thinking"] = thinking.clone();
    assert!(refusal(&unthought).starts_with(
        "messages.1.content.0.type: Expected `thinking` or `redacted_thinking`, but found `tool_use`."
    ));

    assert_eq!(
        refusal(&with(
            json!({"thinking": {"type": "enabled", "budget_tokens": 512}})
        )),
        "thinking.budget_tokens: Input should be greater than or equal to 1024"
    );
    assert!(
        refusal(&with(json!({"max_tokens": 1024, "thinking": thinking})))
            .starts_with("`max_tokens` must be greater than `thinking.budget_tokens`.")
    );
    assert!(
        refusal(&with(
            json!({"temperature": 0.2, "thinking": {"type": "adaptive"}})
        ))
        .starts_with("`temperature` may only be set to 1 when thinking is enabled.")
    );
    accepted(&with(json!({"thinking": {"type": "disabled"}})));
}

#[test]
fn count_tokens_takes_no_max_tokens() {
    let mut body = base();
    assert_eq!(
        request(&body, Endpoint::CountTokens, Betas::default()).map(|_| ()),
        Err(super::Invalid::new(
            "max_tokens: Extra inputs are not permitted"
        ))
    );
    body.as_object_mut().map(|b| b.remove("max_tokens"));
    assert!(request(&body, Endpoint::CountTokens, Betas::default()).is_ok());
}

#[test]
fn at_most_four_cache_breakpoints() {
    let marked = json!({"type": "text", "text": "x", "cache_control": {"type": "ephemeral"}});
    let body = with(json!({
        "system": [marked, marked],
        "messages": [{"role": "user", "content": [marked, marked, marked]}]
    }));
    assert_eq!(
        refusal(&body),
        "A maximum of 4 blocks with cache_control may be provided. Found 5."
    );
}
