//! What the fake's Responses API refuses, and the state it keeps between requests: unknown
//! parameters, bad tools and items, keys and models; `previous_response_id` chaining (and its
//! absence with `store: false`), item references, reasoning's encrypted content round trip, and
//! tool outputs that answer no call.

use serde_json::{Value, json};
use switchboard_load_tests::{Behaviour, Reply, responses_encrypted_content};

use crate::common::{json_of, provider, status_and_json};
use crate::fake_responses::{codex_tools, post_responses, responses_body};

/// The refusal's status and `error` object.
async fn refusal(response: reqwest::Response) -> (u16, Value) {
    let (status, body) = status_and_json(response).await;
    (status, body["error"].clone())
}

#[tokio::test]
async fn unknown_parameters_bad_tools_and_bad_items_are_400s() {
    let provider = provider().await;
    let mut unknown = responses_body();
    unknown["messages"] = json!([]);
    let mut bad_tool = responses_body();
    bad_tool["tools"] = json!([{"type": "function", "function": {"name": "f"}}]);
    let mut bad_namespace = responses_body();
    bad_namespace["tools"] = json!([{"type": "namespace", "name": "ns", "description": "d",
                                     "tools": [{"type": "web_search"}]}]);
    let mut undeclared = responses_body();
    undeclared["tools"] = codex_tools();
    undeclared["input"] = json!([
        {"type": "function_call", "call_id": "call_9", "name": "spawn_agent",
         "namespace": "agents", "arguments": "{}"}
    ]);

    let cases = [
        (unknown, "messages", "Unknown parameter: 'messages'."),
        (
            bad_tool,
            "tools[0].function",
            "Unknown parameter: 'tools[0].function'.",
        ),
        (
            bad_namespace,
            "tools[0].tools[0].type",
            "Invalid value: 'web_search'. Supported values are: 'function', and 'custom'.",
        ),
        (
            undeclared,
            "input[0].namespace",
            "Invalid value: 'agents'. No namespace tool named 'agents' that declares the function 'spawn_agent' was found in 'tools'.",
        ),
    ];
    for (body, param, message) in cases {
        let (status, error) = refusal(post_responses(&provider, &body).await).await;
        assert_eq!(status, 400, "{error}");
        assert_eq!(error["type"], "invalid_request_error");
        assert_eq!(error["param"], param);
        assert_eq!(error["message"], message);
    }
    assert_eq!(
        json_of(post_responses(&provider, &responses_body()).await).await["status"],
        "completed",
        "refused requests consumed no behaviour"
    );
}

#[tokio::test]
async fn keys_and_models_are_checked_like_chat() {
    let provider = provider().await;
    let mut unknown_model = responses_body();
    unknown_model["model"] = json!("gpt-nope");

    let (status, error) = refusal(post_responses(&provider, &unknown_model).await).await;
    let unauthorized = reqwest::Client::new()
        .post(format!("{}/responses", provider.base_url()))
        .bearer_auth("sk-wrong")
        .json(&responses_body())
        .send()
        .await
        .unwrap();

    assert_eq!(status, 404);
    assert_eq!(error["code"], "model_not_found");
    assert_eq!(unauthorized.status(), 401);
    assert_eq!(provider.requests().len(), 2, "every request is recorded");
}

#[tokio::test]
async fn previous_response_id_continues_a_stored_conversation() {
    let provider = provider().await;
    provider.push(Behaviour {
        reply: Reply::ToolCalls(vec![("exec_command".into(), r#"{"cmd":"ls"}"#.into())]),
        ..Behaviour::default()
    });
    let mut body = responses_body();
    body["tools"] = codex_tools();

    let first = json_of(post_responses(&provider, &body).await).await;
    let call_id = first["output"][0]["call_id"].as_str().unwrap();
    let next = json!({
        "model": "gpt-test",
        "previous_response_id": first["id"],
        "tools": codex_tools(),
        "input": [{"type": "function_call_output", "call_id": call_id, "output": "a.txt b.txt"}]
    });
    let second = json_of(post_responses(&provider, &next).await).await;

    assert_eq!(second["status"], "completed");
    assert_eq!(second["previous_response_id"], first["id"]);
    // Stored: the user message (1 + 4) and the call (1 + 1); new: the output (1 + 2).
    // Instructions are not carried over.
    assert_eq!(second["usage"]["input_tokens"], 5 + 2 + 3);
    let mut unanswered = next.clone();
    unanswered["input"][0]["call_id"] = json!("call_99");
    let (status, error) = refusal(post_responses(&provider, &unanswered).await).await;
    assert_eq!(status, 400);
    assert_eq!(
        error["message"],
        "No tool call found for function call output with call_id call_99."
    );
    let mut fresh = next.clone();
    fresh
        .as_object_mut()
        .unwrap()
        .remove("previous_response_id");
    let (status, _) = refusal(post_responses(&provider, &fresh).await).await;
    assert_eq!(
        status, 400,
        "without the previous response the call is unknown"
    );
}

#[tokio::test]
async fn unstored_and_unknown_previous_responses_are_not_found() {
    let provider = provider().await;
    let mut unstored = responses_body();
    unstored["store"] = json!(false);
    let first = json_of(post_responses(&provider, &unstored).await).await;
    assert_eq!(first["store"], false);

    for id in [first["id"].clone(), json!("resp_made_up")] {
        let mut next = responses_body();
        next["previous_response_id"] = id.clone();
        let (status, error) = refusal(post_responses(&provider, &next).await).await;
        assert_eq!(status, 400);
        assert_eq!(
            error,
            json!({"message": format!("Previous response with id '{}' not found.", id.as_str().unwrap()),
                   "type": "invalid_request_error", "param": "previous_response_id",
                   "code": "previous_response_not_found"})
        );
    }
}

#[tokio::test]
async fn item_references_need_a_stored_item() {
    let provider = provider().await;
    let first = json_of(post_responses(&provider, &responses_body()).await).await;
    let message_id = first["output"][0]["id"].clone();

    let mut reference = responses_body();
    reference["input"] = json!([{"type": "item_reference", "id": message_id},
                                {"role": "user", "content": "And again"}]);
    let referenced = json_of(post_responses(&provider, &reference).await).await;
    reference["input"][0] = json!({"id": "msg_unknown"});
    let (status, error) = refusal(post_responses(&provider, &reference).await).await;

    // instructions (1 + 3), the referenced answer (1 + 5), the new message (1 + 2).
    assert_eq!(referenced["usage"]["input_tokens"], 4 + 6 + 3);
    assert_eq!(status, 404);
    assert_eq!(error["message"], "Item with id 'msg_unknown' not found.");
    assert_eq!(error["param"], "input");
}

#[tokio::test]
async fn encrypted_reasoning_round_trips_without_storage() {
    let provider = provider().await;
    provider.push(Behaviour {
        reply: Reply::ToolCalls(vec![("exec_command".into(), "{}".into())]),
        thinking: Some("List the files first.".into()),
        ..Behaviour::default()
    });
    let mut body = responses_body();
    body["tools"] = codex_tools();
    body["store"] = json!(false);
    body["reasoning"] = json!({"summary": "auto"});
    body["include"] = json!(["reasoning.encrypted_content"]);

    let first = json_of(post_responses(&provider, &body).await).await;
    let reasoning = first["output"][0].clone();
    let call = first["output"][1].clone();
    let item_id = reasoning["id"].as_str().unwrap();
    assert_eq!(
        reasoning["encrypted_content"],
        responses_encrypted_content(item_id, "List the files first.")
    );
    let mut sent_back = reasoning.clone();
    sent_back.as_object_mut().unwrap().remove("id");
    let mut next = body.clone();
    next["input"] = json!([
        {"role": "user", "content": "Say hello to me"},
        sent_back,
        {"type": "function_call", "call_id": call["call_id"], "name": "exec_command",
         "arguments": "{}"},
        {"type": "function_call_output", "call_id": call["call_id"], "output": "a.txt"}
    ]);

    let second = post_responses(&provider, &next).await;
    assert_eq!(second.status(), 200);

    let token = reasoning["encrypted_content"].as_str().unwrap();
    // A character inside the reasoning text, near the end.
    let middle = token.len() - 8;
    let flipped = if &token[middle..=middle] == "A" {
        "B"
    } else {
        "A"
    };
    let tampered = format!("{}{flipped}{}", &token[..middle], &token[middle + 1..]);
    next["input"][1]["encrypted_content"] = json!(tampered);
    let (status, error) = refusal(post_responses(&provider, &next).await).await;
    assert_eq!(status, 400);
    assert_eq!(
        error["message"],
        format!("The encrypted content for item {item_id} could not be verified.")
    );
    assert_eq!(error["code"], "invalid_encrypted_content");
    assert_eq!(error["param"], "input[1].encrypted_content");

    next["input"][1] = reasoning.clone();
    next["input"][1]["id"] = json!("rs_another");
    let (status, _) = refusal(post_responses(&provider, &next).await).await;
    assert_eq!(
        status, 400,
        "content minted for one item does not verify on another"
    );

    next["input"][1] = json!({"type": "reasoning", "id": item_id, "summary": []});
    let (status, error) = refusal(post_responses(&provider, &next).await).await;
    assert_eq!(
        status, 404,
        "store: false kept nothing to look the item up by"
    );
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("Items are not persisted when `store` is set to false."),
        "{error}"
    );
}
