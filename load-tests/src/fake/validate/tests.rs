//! Table tests for request validation: each case is a body and the `param`/`code` (or message
//! fragment) OpenAI would answer with.

use serde_json::{Value, json};

use super::chat_request;

fn base() -> Value {
    json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]})
}

fn with(field: &str, value: Value) -> Value {
    let mut body = base();
    body[field] = value;
    body
}

fn rejected(body: &Value) -> super::InvalidRequest {
    match chat_request(body, true) {
        Ok(request) => panic!("accepted {body}: {request:?}"),
        Err(error) => error,
    }
}

#[test]
fn accepts_a_full_featured_request() {
    let body = json!({
        "model": "m",
        "messages": [
            {"role": "developer", "content": "be brief"},
            {"role": "system", "content": [{"type": "text", "text": "sys"}]},
            {"role": "user", "name": "ann", "content": [
                {"type": "text", "text": "look"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA", "detail": "low"}},
                {"type": "input_audio", "input_audio": {"data": "AA", "format": "wav"}},
                {"type": "file", "file": {"file_id": "file-1"}}
            ]},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}},
                {"id": "call_2", "type": "function", "function": {"name": "g", "arguments": "{}"}}
            ]},
            {"role": "tool", "tool_call_id": "call_2", "content": "2"},
            {"role": "tool", "tool_call_id": "call_1", "content": [{"type": "text", "text": "1"}]},
            {"role": "assistant", "content": [{"type": "text", "text": "ok"}, {"type": "refusal", "refusal": "no"}]},
            {"role": "user", "content": "again"}
        ],
        "stream": true,
        "stream_options": {"include_usage": true},
        "max_completion_tokens": 100, "max_tokens": null, "temperature": 0.5, "top_p": 1, "n": 2,
        "stop": ["a", "b"], "seed": 7, "user": "u", "safety_identifier": "s", "prompt_cache_key": "k",
        "parallel_tool_calls": false, "reasoning_effort": "low",
        "tools": [{"type": "function", "function": {"name": "f", "description": "d",
                   "parameters": {"type": "object"}, "strict": true}}],
        "tool_choice": {"type": "function", "function": {"name": "f"}},
        "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {}, "strict": true}},
        "frequency_penalty": -1, "presence_penalty": 2, "logprobs": true, "top_logprobs": 3,
        "logit_bias": {"50256": -100}, "metadata": {"a": "b"}, "store": false, "service_tier": "auto",
        "verbosity": "low", "modalities": ["text"], "audio": null, "prediction": {"type": "content", "content": "x"},
        "web_search_options": {}
    });
    let request = chat_request(&body, true).expect("valid");
    assert!(request.stream && request.include_usage && request.include_obfuscation);
    assert_eq!((request.model, request.n), (Some("m"), 2));
}

#[test]
fn rejects_unknown_top_level_field() {
    let error = rejected(&with("cache_control", json!({"type": "ephemeral"})));
    assert_eq!(
        error.message,
        "Unrecognized request argument supplied: cache_control"
    );
    assert_eq!((error.param, error.code), (None, None));
}

#[test]
fn rejects_missing_model_and_messages() {
    let error = rejected(&json!({"messages": [{"role": "user", "content": "hi"}]}));
    assert_eq!(error.message, "you must provide a model parameter");
    assert!(
        chat_request(
            &json!({"messages": [{"role": "user", "content": "hi"}]}),
            false
        )
        .is_ok()
    );
    let error = rejected(&json!({"model": "m"}));
    assert_eq!(error.code, Some("missing_required_parameter"));
    let error = rejected(&with("messages", json!([])));
    assert_eq!(error.code, Some("empty_array"));
}

#[test]
fn rejects_bad_types_and_ranges() {
    let cases = [
        ("stream", json!("yes"), "stream", "invalid_type"),
        (
            "temperature",
            json!(2.5),
            "temperature",
            "decimal_above_max_value",
        ),
        (
            "temperature",
            json!(-0.1),
            "temperature",
            "decimal_below_min_value",
        ),
        ("top_p", json!(1.5), "top_p", "decimal_above_max_value"),
        ("n", json!(0), "n", "integer_below_min_value"),
        ("n", json!(129), "n", "integer_above_max_value"),
        ("n", json!(1.5), "n", "invalid_type"),
        (
            "reasoning_effort",
            json!("huge"),
            "reasoning_effort",
            "invalid_value",
        ),
        (
            "stop",
            json!(["a", "b", "c", "d", "e"]),
            "stop",
            "array_above_max_length",
        ),
        (
            "tool_choice",
            json!("sometimes"),
            "tool_choice",
            "invalid_value",
        ),
    ];
    for (field, value, param, code) in cases {
        let error = rejected(&with(field, value));
        assert_eq!(error.param.as_deref(), Some(param), "{field}");
        assert_eq!(error.code, Some(code), "{field}");
    }
}

#[test]
fn stream_options_need_stream() {
    let error = rejected(&with("stream_options", json!({"include_usage": true})));
    assert_eq!(
        error.message,
        "The 'stream_options' parameter is only allowed when 'stream' is enabled."
    );
}

#[test]
fn tool_choice_needs_tools() {
    let error = rejected(&with("tool_choice", json!("auto")));
    assert_eq!(error.param.as_deref(), Some("tool_choice"));
}

#[test]
fn rejects_bad_messages() {
    let cases = [
        (
            json!({"role": "robot", "content": "x"}),
            "messages[0].role",
            Some("invalid_value"),
        ),
        (
            json!({"role": "user"}),
            "messages[0].content",
            Some("missing_required_parameter"),
        ),
        (
            json!({"role": "user", "content": 3}),
            "messages[0].content",
            Some("invalid_type"),
        ),
        (
            json!({"role": "assistant"}),
            "messages[0].content",
            Some("missing_required_parameter"),
        ),
        (
            json!({"role": "system", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}),
            "messages[0].content[0].type",
            Some("invalid_value"),
        ),
        (
            json!({"role": "user", "content": [{"type": "text", "text": "x", "cache_control": {}}]}),
            "messages.0.content.0",
            None,
        ),
        (
            json!({"role": "user", "content": "x", "thinking": "y"}),
            "messages.0",
            None,
        ),
        (
            json!({"role": "assistant", "tool_calls": [{"id": "c", "type": "function",
                   "function": {"name": "f", "arguments": {"a": 1}}}]}),
            "messages[0].tool_calls[0].function.arguments",
            Some("invalid_type"),
        ),
    ];
    for (message, param, code) in cases {
        let error = rejected(&with("messages", json!([message])));
        assert_eq!(error.param.as_deref(), Some(param), "{message}");
        assert_eq!(error.code, code, "{message}");
    }
}

#[test]
fn tool_results_must_answer_a_preceding_call() {
    let error = rejected(&with(
        "messages",
        json!([{"role": "user", "content": "x"}, {"role": "tool", "tool_call_id": "c", "content": "r"}]),
    ));
    assert_eq!(
        error.message,
        "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'."
    );
    assert_eq!(error.param.as_deref(), Some("messages.[1].role"));

    let call = json!({"role": "assistant", "content": null, "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]});
    let error = rejected(&with(
        "messages",
        json!([call, {"role": "tool", "tool_call_id": "other", "content": "r"}]),
    ));
    assert_eq!(error.param.as_deref(), Some("messages.[1].role"));

    let error = rejected(&with(
        "messages",
        json!([call, {"role": "user", "content": "x"}]),
    ));
    assert!(
        error
            .message
            .ends_with("did not have response messages: c1"),
        "{}",
        error.message
    );
}

#[test]
fn rejects_bad_tools() {
    let cases = [
        (
            json!([{"type": "function", "function": {"name": "bad name"}}]),
            "tools[0].function.name",
        ),
        (json!([{"type": "function"}]), "tools[0].function"),
        (json!([{"type": "retrieval"}]), "tools[0].type"),
        (
            json!([{"type": "function", "function": {"name": "f", "parameters": "x"}}]),
            "tools[0].function.parameters",
        ),
        (json!([{"name": "f", "input_schema": {}}]), "tools[0].type"),
    ];
    for (tools, param) in cases {
        let error = rejected(&with("tools", tools.clone()));
        assert_eq!(error.param.as_deref(), Some(param), "{tools}");
    }
}
