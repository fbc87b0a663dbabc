//! Table tests for Responses request validation: one accepted request with everything a coding
//! agent sends, and one refusal per rule with the `param`, `code` and message OpenAI would give.

use serde_json::{Value, json};

use super::{Input, request};
use crate::fake::validate::InvalidRequest;

fn base() -> Value {
    json!({"model": "m", "input": "hi"})
}

fn with(field: &str, value: Value) -> Value {
    let mut body = base();
    body[field] = value;
    body
}

fn rejected(body: &Value) -> InvalidRequest {
    match request(body) {
        Ok(accepted) => panic!("accepted {body}: {accepted:?}"),
        Err(error) => error,
    }
}

/// (param, code, message) of the refusal.
fn refusal(body: &Value) -> (Option<String>, Option<&'static str>, String) {
    let error = rejected(body);
    (error.param, error.code, error.message)
}

fn namespace_tools() -> Value {
    json!([
        {"type": "function", "name": "exec_command", "description": "Run", "strict": false,
         "parameters": {"type": "object", "properties": {}}},
        {"type": "namespace", "name": "multi_agent_v1", "description": "Agents",
         "tools": [{"type": "function", "name": "spawn_agent", "description": "Spawn",
                    "strict": false, "parameters": {"type": "object"}}]},
        {"type": "web_search", "external_web_access": false},
        {"type": "custom", "name": "apply_patch", "description": "Patch",
         "format": {"type": "grammar", "syntax": "lark", "definition": "start: /.+/"}}
    ])
}

#[test]
fn accepts_what_the_codex_cli_sends() {
    let body = json!({
        "model": "m",
        "instructions": "Be a coding agent.",
        "input": [
            {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "rules"}]},
            {"type": "message", "role": "user", "content": [
                {"type": "input_text", "text": "look"},
                {"type": "input_image", "image_url": "data:image/png;base64,AA"}]},
            {"type": "reasoning", "summary": [{"type": "summary_text", "text": "hm"}],
             "encrypted_content": "opaque"},
            {"type": "function_call", "name": "spawn_agent", "namespace": "multi_agent_v1",
             "arguments": "{}", "call_id": "call_1"},
            {"type": "function_call_output", "call_id": "call_1", "output": "ok"},
            {"type": "custom_tool_call", "call_id": "call_2", "name": "apply_patch", "input": "x"},
            {"type": "custom_tool_call_output", "call_id": "call_2", "output": "done"},
            {"type": "web_search_call", "status": "completed", "action": {"type": "search", "query": "q"}},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "ok"}]},
            {"role": "user", "content": "again"}
        ],
        "tools": namespace_tools(),
        "tool_choice": "auto",
        "parallel_tool_calls": true,
        "reasoning": {"summary": "auto"},
        "include": ["reasoning.encrypted_content"],
        "store": false,
        "stream": true,
        "stream_options": {"include_obfuscation": false},
        "prompt_cache_key": "0193a8e0-0000-7000-8000-000000000000",
        "client_metadata": {"originator": "codex_cli_rs"},
        "text": {"format": {"type": "json_schema", "name": "out", "schema": {"type": "object"},
                            "strict": true}, "verbosity": "low"},
        "max_output_tokens": 16, "temperature": 2, "top_p": 0.5, "metadata": {"a": "b"},
        "truncation": "auto", "service_tier": "priority", "safety_identifier": "s",
        "prompt_cache_retention": "24h", "max_tool_calls": 3, "top_logprobs": 0,
        "background": false, "user": null
    });

    let accepted = request(&body).unwrap();

    assert!(accepted.stream && !accepted.store && !accepted.include_obfuscation);
    assert!(accepted.tools.web_search);
    assert_eq!(accepted.reasoning.map(|r| r.summary), Some(true));
    assert!(accepted.includes("reasoning.encrypted_content"));
    assert!(matches!(accepted.input, Input::Items(items) if items.len() == 10));
}

#[test]
fn unknown_parameters_are_named_with_their_path() {
    let cases = [
        (with("foo", json!(1)), "foo"),
        (with("messages", json!([])), "messages"),
        (
            with(
                "input",
                json!([{"role": "user", "content": "hi", "name": "x"}]),
            ),
            "input[0].name",
        ),
        (
            with(
                "tools",
                json!([{"type": "function", "function": {"name": "f"}}]),
            ),
            "tools[0].function",
        ),
        (
            with("reasoning", json!({"effort": "low", "budget": 3})),
            "reasoning.budget",
        ),
    ];
    for (body, param) in cases {
        assert_eq!(
            refusal(&body),
            (
                Some(param.to_owned()),
                Some("unknown_parameter"),
                format!("Unknown parameter: '{param}'.")
            )
        );
    }
}

#[test]
fn required_parameters() {
    let mut no_input = base();
    no_input.as_object_mut().unwrap().remove("input");
    assert_eq!(
        refusal(&no_input),
        (
            Some("input".to_owned()),
            Some("missing_required_parameter"),
            "Missing required parameter: 'input'.".to_owned()
        )
    );
    assert_eq!(
        rejected(&json!({"input": "hi"})).param.as_deref(),
        Some("model")
    );
    let no_call_id = with(
        "input",
        json!([{"type": "function_call_output", "output": "x"}]),
    );
    assert_eq!(
        rejected(&no_call_id).param.as_deref(),
        Some("input[0].call_id")
    );
}

#[test]
fn values_types_and_ranges() {
    let cases = [
        (
            with("max_output_tokens", json!(15)),
            "max_output_tokens",
            "integer_below_min_value",
        ),
        (
            with("temperature", json!(2.5)),
            "temperature",
            "decimal_above_max_value",
        ),
        (
            with("truncation", json!("sometimes")),
            "truncation",
            "invalid_value",
        ),
        (
            with("include", json!(["reasoning.summary"])),
            "include[0]",
            "invalid_value",
        ),
        (
            with("reasoning", json!({"effort": "huge"})),
            "reasoning.effort",
            "invalid_value",
        ),
        (
            with("text", json!({"verbosity": "loud"})),
            "text.verbosity",
            "invalid_value",
        ),
        (with("input", json!(3)), "input", "invalid_type"),
        (with("store", json!("no")), "store", "invalid_type"),
        (
            with(
                "input",
                json!([{"type": "message", "role": "tool", "content": "x"}]),
            ),
            "input[0].role",
            "invalid_value",
        ),
        (
            with(
                "input",
                json!([{"role": "assistant", "content": [{"type": "input_text", "text": "x"}]}]),
            ),
            "input[0].content[0].type",
            "invalid_value",
        ),
        (
            with("input", json!([{"type": "reasoning", "summary": []}])),
            "input[0].id",
            "missing_required_parameter",
        ),
        (
            with("tools", json!([{"type": "file_search"}])),
            "tools[0].vector_store_ids",
            "missing_required_parameter",
        ),
        (
            with("tools", json!([{"type": "function", "name": "a b"}])),
            "tools[0].name",
            "invalid_value",
        ),
        (
            with("tools", json!([{"type": "browser"}])),
            "tools[0].type",
            "invalid_value",
        ),
    ];
    for (body, param, code) in cases {
        let error = rejected(&body);
        assert_eq!(
            (error.param.as_deref(), error.code),
            (Some(param), Some(code)),
            "{body}: {}",
            error.message
        );
    }
    assert_eq!(
        rejected(&with("truncation", json!("sometimes"))).message,
        "Invalid value: 'sometimes'. Supported values are: 'auto', and 'disabled'."
    );
}

#[test]
fn a_namespace_holds_only_function_and_custom_tools() {
    let body = with(
        "tools",
        json!([{"type": "namespace", "name": "ns", "description": "d",
                "tools": [{"type": "function", "name": "f"}, {"type": "web_search"}]}]),
    );

    let error = rejected(&body);

    assert_eq!(error.param.as_deref(), Some("tools[0].tools[1].type"));
    assert_eq!(
        error.message,
        "Invalid value: 'web_search'. Supported values are: 'function', and 'custom'."
    );
}

#[test]
fn a_function_call_namespace_must_declare_the_function() {
    let call = |namespace: &str, name: &str| {
        let mut body = with(
            "input",
            json!([{"type": "function_call", "call_id": "c", "name": name,
                    "namespace": namespace, "arguments": "{}"}]),
        );
        body["tools"] = namespace_tools();
        body
    };

    assert!(request(&call("multi_agent_v1", "spawn_agent")).is_ok());
    let unknown = rejected(&call("agents", "spawn_agent"));
    let elsewhere = rejected(&call("multi_agent_v1", "exec_command"));

    assert_eq!(unknown.param.as_deref(), Some("input[0].namespace"));
    assert_eq!(
        unknown.message,
        "Invalid value: 'agents'. No namespace tool named 'agents' that declares the function 'spawn_agent' was found in 'tools'."
    );
    assert_eq!(elsewhere.param.as_deref(), Some("input[0].namespace"));
}

#[test]
fn a_forced_function_must_be_declared() {
    let mut body = with(
        "tool_choice",
        json!({"type": "function", "name": "spawn_agent"}),
    );
    body["tools"] = namespace_tools();
    assert!(request(&body).is_ok());
    body["tool_choice"]["name"] = json!("nowhere");

    let error = rejected(&body);

    assert_eq!(error.param.as_deref(), Some("tool_choice.name"));
    assert_eq!(
        error.message,
        "Tool choice 'function' with name 'nowhere' not found in 'tools' parameter."
    );
    body["tool_choice"] = json!({"type": "web_search_preview"});
    assert!(request(&body).is_ok());
}

#[test]
fn stream_options_need_stream_and_ids_exclude_each_other() {
    let error = rejected(&with(
        "stream_options",
        json!({"include_obfuscation": true}),
    ));
    assert_eq!(error.param.as_deref(), Some("stream_options"));
    let mut both = with("previous_response_id", json!("resp_1"));
    both["conversation"] = json!("conv_1");
    assert_eq!(rejected(&both).code, Some("mutually_exclusive_parameters"));
}
