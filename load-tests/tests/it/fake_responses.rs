//! The fake provider's OpenAI Responses API over real sockets: the response object, usage,
//! reasoning, web search, namespaced and custom tool calls, `max_output_tokens` and scripted
//! errors (each with a look at its stream events). The stream transcript and faults are in
//! `fake_responses_stream`; what it refuses, and the state it keeps between requests, in
//! `fake_responses_rules`.

use serde_json::{Value, json};
use switchboard_load_tests::{Behaviour, ErrorReply, FakeProvider, Reply};

use crate::common::{KEY, event_names, json_of, provider, sse_events, status_and_json};

/// A body with the same texts as `chat_body`: default input count 9.
pub fn responses_body() -> Value {
    json!({
        "model": "gpt-test",
        "instructions": "You are terse.",
        "input": "Say hello to me"
    })
}

/// POSTs `body` to `/v1/responses` with the right key.
pub async fn post_responses(provider: &FakeProvider, body: &Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}/responses", provider.base_url()))
        .bearer_auth(KEY)
        .json(body)
        .send()
        .await
        .expect("the fake answers")
}

/// The tools the Codex CLI offers, in small: a function, a namespace of functions, a custom tool
/// and a hosted web search.
pub fn codex_tools() -> Value {
    json!([
        {"type": "function", "name": "exec_command", "description": "Run a command",
         "strict": false, "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}}},
        {"type": "namespace", "name": "multi_agent_v1", "description": "Sub-agents",
         "tools": [{"type": "function", "name": "spawn_agent", "description": "Spawn one",
                    "strict": false, "parameters": {"type": "object"}}]},
        {"type": "custom", "name": "apply_patch", "description": "Apply a patch"},
        {"type": "web_search", "external_web_access": false}
    ])
}

#[tokio::test]
async fn a_text_answer_is_a_whole_response_object() {
    let provider = provider().await;

    let response = post_responses(&provider, &responses_body()).await;

    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert!(response.headers().contains_key("x-request-id"));
    let answer = json_of(response).await;
    assert!(answer["id"].as_str().unwrap().starts_with("resp_"));
    assert_eq!(answer["object"], "response");
    assert_eq!(answer["status"], "completed");
    assert_eq!(answer["model"], "gpt-test");
    assert_eq!(answer["error"], Value::Null);
    assert_eq!(answer["incomplete_details"], Value::Null);
    assert_eq!(answer["instructions"], "You are terse.");
    assert_eq!(answer["tool_choice"], "auto");
    assert_eq!(answer["tools"], json!([]));
    assert_eq!(answer["store"], true);
    assert_eq!(
        answer["text"],
        json!({"format": {"type": "text"}, "verbosity": "medium"})
    );
    let output = answer["output"].as_array().unwrap();
    assert_eq!(output.len(), 1);
    assert!(output[0]["id"].as_str().unwrap().starts_with("msg_"));
    assert_eq!(output[0]["type"], "message");
    assert_eq!(output[0]["status"], "completed");
    assert_eq!(output[0]["role"], "assistant");
    assert_eq!(
        output[0]["content"],
        json!([{"type": "output_text", "text": "Hello from the fake provider.",
                "annotations": [], "logprobs": []}])
    );
    assert_eq!(
        answer["usage"],
        json!({"input_tokens": 9, "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
               "output_tokens": 5, "output_tokens_details": {"reasoning_tokens": 0},
               "total_tokens": 14})
    );
    let recorded = provider.requests();
    assert_eq!(recorded[0].path, "/v1/responses");
    assert_eq!(recorded[0].body, responses_body());
}

#[tokio::test]
async fn reasoning_comes_first_with_its_summary_and_encrypted_content() {
    let provider = provider().await;
    provider.set_default(Behaviour {
        thinking: Some("Greet them back.".into()),
        ..Behaviour::text("Hello!")
    });
    let mut body = responses_body();
    body["reasoning"] = json!({"effort": "low", "summary": "auto"});
    body["include"] = json!(["reasoning.encrypted_content"]);

    let answer = json_of(post_responses(&provider, &body).await).await;

    let reasoning = &answer["output"][0];
    assert_eq!(reasoning["type"], "reasoning");
    assert!(reasoning["id"].as_str().unwrap().starts_with("rs_"));
    assert_eq!(
        reasoning["summary"],
        json!([{"type": "summary_text", "text": "Greet them back."}])
    );
    assert!(reasoning["encrypted_content"].is_string());
    assert_eq!(answer["output"][1]["type"], "message");
    assert_eq!(
        answer["reasoning"],
        json!({"effort": "low", "summary": "auto"})
    );
    assert_eq!(answer["usage"]["output_tokens"], 3 + 1);
    assert_eq!(
        answer["usage"]["output_tokens_details"]["reasoning_tokens"],
        3
    );

    body["reasoning"] = json!({"effort": "medium"});
    body["include"] = json!([]);
    body["stream"] = json!(true);
    let text = post_responses(&provider, &body).await.text().await.unwrap();
    let events = sse_events(&text);
    let done = &events[3].1["item"];
    assert_eq!(events[3].0, "response.output_item.done");
    assert_eq!(done["summary"], json!([]));
    assert!(done.get("encrypted_content").is_none());

    body["reasoning"] = json!({"effort": "none", "summary": "auto"});
    body["stream"] = json!(false);
    let none = json_of(post_responses(&provider, &body).await).await;
    assert_eq!(none["output"][0]["type"], "message");
}

#[tokio::test]
async fn web_search_is_called_only_when_offered() {
    let provider = provider().await;
    provider.set_default(Behaviour {
        web_search: Some("weather in Oslo".into()),
        ..Behaviour::text("Sunny.")
    });
    let mut body = responses_body();
    body["tools"] = codex_tools();

    let answer = json_of(post_responses(&provider, &body).await).await;
    body["tools"] = json!([]);
    let without = json_of(post_responses(&provider, &body).await).await;

    let search = &answer["output"][0];
    assert!(search["id"].as_str().unwrap().starts_with("ws_"));
    assert_eq!(
        (
            search["type"].clone(),
            search["status"].clone(),
            search["action"].clone()
        ),
        (
            json!("web_search_call"),
            json!("completed"),
            json!({"type": "search", "query": "weather in Oslo"})
        )
    );
    assert_eq!(answer["output"][1]["content"][0]["text"], "Sunny.");
    assert_eq!(without["output"].as_array().unwrap().len(), 1);

    body["tools"] = codex_tools();
    body["stream"] = json!(true);
    let text = post_responses(&provider, &body).await.text().await.unwrap();
    let events = sse_events(&text);
    assert_eq!(
        event_names(&events)[2..7],
        [
            "response.output_item.added",
            "response.web_search_call.in_progress",
            "response.web_search_call.searching",
            "response.web_search_call.completed",
            "response.output_item.done",
        ]
    );
    assert_eq!(events[2].1["item"]["status"], "in_progress");
    assert_eq!(events[4].1["item_id"], events[6].1["item"]["id"]);
}

#[tokio::test]
async fn tool_calls_resolve_namespaces_and_custom_tools() {
    let provider = provider().await;
    provider.set_default(Behaviour {
        reply: Reply::ToolCalls(vec![
            ("exec_command".into(), r#"{"cmd":"ls"}"#.into()),
            ("spawn_agent".into(), "{}".into()),
            ("apply_patch".into(), "*** Begin Patch".into()),
        ]),
        ..Behaviour::default()
    });
    let mut body = responses_body();
    body["tools"] = codex_tools();

    let answer = json_of(post_responses(&provider, &body).await).await;

    let output = answer["output"].as_array().unwrap();
    assert_eq!(answer["status"], "completed");
    assert_eq!(output[0]["type"], "function_call");
    assert_eq!(output[0]["name"], "exec_command");
    assert_eq!(output[0]["arguments"], r#"{"cmd":"ls"}"#);
    assert_eq!(output[0]["status"], "completed");
    assert!(output[0]["id"].as_str().unwrap().starts_with("fc_"));
    assert!(output[0].get("namespace").is_none());
    assert_eq!(output[1]["name"], "spawn_agent");
    assert_eq!(output[1]["namespace"], "multi_agent_v1");
    assert_eq!(output[2]["type"], "custom_tool_call");
    assert_eq!(output[2]["input"], "*** Begin Patch");
    let call_ids: Vec<&str> = output
        .iter()
        .map(|item| item["call_id"].as_str().unwrap())
        .collect();
    assert_eq!(call_ids, ["call_0", "call_1", "call_2"]);
    assert_eq!(answer["usage"]["output_tokens"], 1 + 1 + 3);

    body["stream"] = json!(true);
    let text = post_responses(&provider, &body).await.text().await.unwrap();
    let events = sse_events(&text);
    let first_call: Vec<&str> = event_names(&events)[2..]
        .iter()
        .copied()
        .take_while(|name| *name != "response.output_item.done")
        .collect();
    assert_eq!(
        first_call,
        [
            "response.output_item.added",
            "response.function_call_arguments.delta",
            "response.function_call_arguments.delta",
            "response.function_call_arguments.delta",
            "response.function_call_arguments.done",
        ]
    );
    assert_eq!(events[2].1["item"]["arguments"], "");
    let arguments: String = events[3..6]
        .iter()
        .map(|(_, event)| event["delta"].as_str().unwrap())
        .collect();
    assert_eq!(arguments, r#"{"cmd":"ls"}"#);
    assert_eq!(events[6].1["name"], "exec_command");
    let names = event_names(&events);
    assert!(names.contains(&"response.custom_tool_call_input.done"));
    let calls: Vec<&str> = events
        .iter()
        .filter(|(name, _)| name == "response.output_item.done")
        .map(|(_, event)| event["item"]["call_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        calls,
        ["call_3", "call_4", "call_5"],
        "call ids stay unique"
    );
}

#[tokio::test]
async fn a_name_in_two_namespaces_is_a_script_error() {
    let provider = provider().await;
    provider.push(Behaviour {
        reply: Reply::ToolCalls(vec![("spawn_agent".into(), "{}".into())]),
        ..Behaviour::default()
    });
    let mut body = responses_body();
    let mut tools = codex_tools();
    let mut twin = tools[1].clone();
    twin["name"] = json!("multi_agent_v2");
    tools.as_array_mut().unwrap().push(twin);
    body["tools"] = tools;

    let (status, error) = status_and_json(post_responses(&provider, &body).await).await;

    assert_eq!(status, 500);
    assert_eq!(error["error"]["type"], "server_error");
    let message = error["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("multi_agent_v1, multi_agent_v2"),
        "{message}"
    );
}

#[tokio::test]
async fn max_output_tokens_makes_the_response_incomplete() {
    let provider = provider().await;
    let words: Vec<String> = (0..20).map(|i| format!("w{i}")).collect();
    provider.set_default(Behaviour::text(words.join(" ")));
    let mut body = responses_body();
    body["max_output_tokens"] = json!(16);

    let answer = json_of(post_responses(&provider, &body).await).await;

    assert_eq!(answer["status"], "incomplete");
    assert_eq!(
        answer["incomplete_details"],
        json!({"reason": "max_output_tokens"})
    );
    assert_eq!(answer["max_output_tokens"], 16);
    assert_eq!(answer["output"][0]["status"], "incomplete");
    assert_eq!(
        answer["output"][0]["content"][0]["text"],
        words[..16].join(" ")
    );
    assert_eq!(answer["usage"]["output_tokens"], 16);

    body["stream"] = json!(true);
    let text = post_responses(&provider, &body).await.text().await.unwrap();
    let events = sse_events(&text);
    let (name, last) = events.last().unwrap();
    assert_eq!(name, "response.incomplete");
    assert_eq!(last["response"]["status"], "incomplete");
}

#[tokio::test]
async fn scripted_usage_and_errors_speak_openai() {
    let provider = provider().await;
    provider.push(Behaviour::error(
        ErrorReply::new(429, "rate_limit_error", "Slow down")
            .with_code("rate_limit_exceeded")
            .with_retry_after(3),
    ));
    provider.push(Behaviour {
        usage: Some(switchboard_load_tests::FakeUsage {
            prompt_tokens: 100,
            completion_tokens: 20,
            cached_tokens: 60,
            reasoning_tokens: 5,
        }),
        cache_write_tokens: 10,
        ..Behaviour::default()
    });

    let limited = post_responses(&provider, &responses_body()).await;
    assert_eq!(limited.headers()["retry-after"], "3");
    let (status, error) = status_and_json(limited).await;
    let answer = json_of(post_responses(&provider, &responses_body()).await).await;

    assert_eq!(status, 429);
    assert_eq!(
        error,
        json!({"error": {"message": "Slow down", "type": "rate_limit_error", "param": null,
                         "code": "rate_limit_exceeded"}})
    );
    assert_eq!(
        answer["usage"],
        json!({"input_tokens": 100, "input_tokens_details": {"cached_tokens": 60, "cache_write_tokens": 10},
               "output_tokens": 20, "output_tokens_details": {"reasoning_tokens": 5},
               "total_tokens": 120})
    );
}
