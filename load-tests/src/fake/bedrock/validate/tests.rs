//! Unit tests of the Bedrock validator: accepted requests for each feature, and one refusal per
//! rule with the message Bedrock would send.

use serde_json::{Value, json};

use super::request;
use crate::fake::anthropic::signature::thinking_signature;

fn base() -> Value {
    json!({"messages": [{"role": "user", "content": [{"text": "Hello"}]}]})
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

fn none(_: &str) -> Option<String> {
    None
}

fn refusal(body: &Value) -> String {
    match request(body, &none) {
        Ok(_) => panic!("accepted: {body}"),
        Err(failure) => {
            assert_eq!(failure.name, "ValidationException", "{}", failure.message);
            failure.message
        }
    }
}

fn accepted(body: &Value) {
    if let Err(failure) = request(body, &none) {
        panic!("refused with {:?}: {body}", failure.message);
    }
}

fn tool_config() -> Value {
    json!({"tools": [{"toolSpec": {"name": "get_weather", "description": "Weather",
        "inputSchema": {"json": {"type": "object", "properties": {"city": {"type": "string"}}}}}}]})
}

fn tool_loop(assistant: Vec<Value>, results: Vec<Value>) -> Value {
    with(json!({
        "toolConfig": tool_config(),
        "messages": [
            {"role": "user", "content": [{"text": "Weather in Oslo?"}]},
            {"role": "assistant", "content": assistant},
            {"role": "user", "content": results}
        ]
    }))
}

fn call(id: &str) -> Value {
    json!({"toolUse": {"toolUseId": id, "name": "get_weather", "input": {"city": "Oslo"}}})
}

fn result(id: &str) -> Value {
    json!({"toolResult": {"toolUseId": id, "content": [{"text": "Sunny"}, {"json": {"c": 21}}],
                          "status": "success"}})
}

#[test]
fn accepts_every_feature() {
    accepted(&with(json!({
        "system": [{"text": "Be brief."}, {"cachePoint": {"type": "default"}}],
        "inferenceConfig": {"maxTokens": 512, "temperature": 0.5, "topP": 1, "stopSequences": ["END"]},
        "additionalModelRequestFields": {"top_k": 40},
        "additionalModelResponseFieldPaths": ["/stop_sequence"],
        "requestMetadata": {"tenant": "t1"},
        "performanceConfig": {"latency": "optimized"},
        "promptVariables": {"x": {"text": "y"}},
        "guardrailConfig": {"guardrailIdentifier": "abc", "guardrailVersion": "1"},
        "messages": [{"role": "user", "content": [
            {"text": "Look"},
            {"image": {"format": "png", "source": {"bytes": "aGVsbG8="}}},
            {"document": {"format": "txt", "name": "notes", "source": {"text": "hi"}}},
            {"cachePoint": {"type": "default", "ttl": "1h"}}
        ]}]
    })));
    accepted(&tool_loop(
        vec![json!({"text": "Let me check."}), call("tooluse_0")],
        vec![result("tooluse_0")],
    ));
    let mut choice = tool_loop(vec![call("a")], vec![result("a")]);
    choice["toolConfig"]["toolChoice"] = json!({"tool": {"name": "get_weather"}});
    accepted(&choice);
}

#[test]
fn refuses_unknown_fields_everywhere() {
    assert_eq!(
        refusal(&with(json!({"modelId": "x"}))),
        "Malformed input request: #: extraneous key [modelId] is not permitted, please reformat your input and try again."
    );
    assert!(
        refusal(&with(json!({"inferenceConfig": {"max_tokens": 5}})))
            .contains("extraneous key [max_tokens]")
    );
    let block =
        with(json!({"messages": [{"role": "user", "content": [{"type": "text", "text": "a"}]}]}));
    assert!(refusal(&block).contains("messages.0.content.0: extraneous key [type]"));
}

#[test]
fn refuses_bad_messages() {
    assert!(refusal(&json!({})).contains("required key [messages] not found"));
    assert!(
        refusal(&with(json!({"messages": []}))).contains("have length greater than or equal to 1")
    );
    let system = with(json!({"messages": [{"role": "system", "content": [{"text": "a"}]}]}));
    assert!(refusal(&system).contains("satisfy enum value set: [user, assistant]"));
    let assistant_first =
        with(json!({"messages": [{"role": "assistant", "content": [{"text": "a"}]}]}));
    assert!(
        refusal(&assistant_first).starts_with("A conversation must start with a user message.")
    );
    let twice = with(json!({"messages": [
        {"role": "user", "content": [{"text": "a"}]}, {"role": "user", "content": [{"text": "b"}]}]}));
    assert!(
        refusal(&twice)
            .starts_with("A conversation must alternate between user and assistant roles.")
    );
    let blank = with(json!({"messages": [{"role": "user", "content": [{"text": " "}]}]}));
    assert_eq!(
        refusal(&blank),
        "The text field in the ContentBlock object at messages.0.content.0 is blank. Add text to the text field, and try again."
    );
    let empty = with(json!({"messages": [{"role": "user", "content": []}]}));
    assert!(
        refusal(&empty)
            .starts_with("The content field in the Message object at messages.0 is empty.")
    );
    let string = with(json!({"messages": [{"role": "user", "content": "hi"}]}));
    assert!(refusal(&string).contains("expected type: JSONArray, found: String"));
    let two = with(
        json!({"messages": [{"role": "user", "content": [{"text": "a", "cachePoint": {"type": "default"}}]}]}),
    );
    assert!(refusal(&two).contains("exactly one of [text, image"));
    let gif = with(json!({"messages": [{"role": "user", "content": [
        {"image": {"format": "bmp", "source": {"bytes": "aGk="}}}]}]}));
    assert!(refusal(&gif).contains("satisfy enum value set: [png, jpeg, gif, webp]"));
    let url = with(json!({"messages": [{"role": "user", "content": [
        {"image": {"format": "png", "source": {"url": "https://x"}}}]}]}));
    assert!(refusal(&url).contains("extraneous key [url]"));
    let reasoning = with(json!({"messages": [{"role": "user", "content": [
        {"reasoningContent": {"reasoningText": {"text": "x"}}}]}]}));
    assert!(
        refusal(&reasoning)
            .contains("a reasoningContent block is not allowed in a message with role user")
    );
}

#[test]
fn refuses_bad_parameters() {
    let hot = with(json!({"inferenceConfig": {"temperature": 1.5}}));
    assert_eq!(
        refusal(&hot),
        "1 validation error detected: Value '1.5' at 'inferenceConfig.temperature' failed to satisfy constraint: Member must have value less than or equal to 1"
    );
    assert!(
        refusal(&with(json!({"inferenceConfig": {"maxTokens": 0}})))
            .contains("greater than or equal to 1")
    );
    assert!(
        refusal(&with(json!({"inferenceConfig": {"topP": -0.1}}))).contains("inferenceConfig.topP")
    );
    let stops = with(json!({"inferenceConfig": {"stopSequences": ["a", "b", "c", "d", "e"]}}));
    assert!(refusal(&stops).contains("have length less than or equal to 4"));
    assert!(refusal(&with(json!({"system": [{"text": ""}]}))).contains("system.0.text"));
    assert!(refusal(&with(json!({"system": "be brief"}))).contains("expected type: JSONArray"));
    let none_choice =
        with(json!({"toolConfig": {"tools": tool_config()["tools"], "toolChoice": {"none": {}}}}));
    assert!(refusal(&none_choice).contains("extraneous key [none]"));
    let unknown_tool = with(
        json!({"toolConfig": {"tools": tool_config()["tools"], "toolChoice": {"tool": {"name": "nope"}}}}),
    );
    assert!(refusal(&unknown_tool).contains("nope is not the name of a tool"));
    let bad_name = with(
        json!({"toolConfig": {"tools": [{"toolSpec": {"name": "get.weather", "inputSchema": {"json": {}}}}]}}),
    );
    assert!(refusal(&bad_name).contains("pattern: [a-zA-Z0-9_-]+"));
    let schema = with(
        json!({"toolConfig": {"tools": [{"toolSpec": {"name": "f", "inputSchema": {"json": "{}"}}}]}}),
    );
    assert!(
        refusal(&schema)
            .contains("toolConfig.tools.0.toolSpec.inputSchema.json: expected type: JSONObject")
    );
    assert!(refusal(&with(json!({"toolConfig": {"tools": []}}))).contains("toolConfig.tools"));
    assert!(
        refusal(&with(json!({"additionalModelRequestFields": "x"})))
            .contains("additionalModelRequestFields")
    );
    assert!(refusal(&with(json!({"serviceTier": {"type": "gold"}}))).contains("serviceTier.type"));
}

#[test]
fn refuses_broken_tool_loops() {
    let unanswered = tool_loop(vec![call("a"), call("b")], vec![result("a")]);
    assert_eq!(
        refusal(&unanswered),
        "Expected toolResult blocks at messages.2.content for the following Ids: b"
    );
    let dangling = with(json!({"toolConfig": tool_config(), "messages": [
        {"role": "user", "content": [{"text": "hi"}]},
        {"role": "assistant", "content": [call("a")]}]}));
    assert!(refusal(&dangling).starts_with("Expected toolResult blocks at messages.2.content"));
    let orphan = tool_loop(vec![call("a")], vec![result("a"), result("z")]);
    assert_eq!(
        refusal(&orphan),
        "The number of toolResult blocks at messages.2.content exceeds the number of toolUse blocks of previous turn."
    );
    let mut no_config = tool_loop(vec![call("a")], vec![result("a")]);
    no_config
        .as_object_mut()
        .map(|body| body.remove("toolConfig"));
    assert_eq!(
        refusal(&no_config),
        "The toolConfig field must be defined when using toolUse and toolResult content blocks."
    );
    let bad_id = tool_loop(vec![call("a b")], vec![result("a b")]);
    assert!(refusal(&bad_id).contains("pattern: [a-zA-Z0-9_.:-]+"));
    let text_input = tool_loop(
        vec![json!({"toolUse": {"toolUseId": "a", "name": "get_weather", "input": "{}"}})],
        vec![result("a")],
    );
    assert!(refusal(&text_input).contains("toolUse.input: expected type: JSONObject"));
    let mut twice = tool_loop(vec![call("a")], vec![result("a")]);
    twice["messages"].as_array_mut().unwrap().extend([
        json!({"role": "assistant", "content": [call("a")]}),
        json!({"role": "user", "content": [result("a")]}),
    ]);
    assert!(refusal(&twice).contains("toolUse ids must be unique. Found duplicate id: a"));
}

#[test]
fn reasoning_must_come_back_as_it_was_sent() {
    let thinking = "I should call the tool.";
    let signature = thinking_signature(thinking);
    let minted_for = signature.clone();
    let minted = move |id: &str| (id == "tooluse_0").then(|| minted_for.clone());
    let reasoning = |text: &str, signature: &str| json!({"reasoningContent": {"reasoningText": {"text": text, "signature": signature}}});
    let body = |assistant: Vec<Value>| {
        let mut body = tool_loop(assistant, vec![result("tooluse_0")]);
        body["additionalModelRequestFields"] =
            json!({"thinking": {"type": "enabled", "budget_tokens": 1024}});
        body
    };
    let refused = |body: &Value| request(body, &minted).unwrap_err().message;

    assert!(
        request(
            &body(vec![reasoning(thinking, &signature), call("tooluse_0")]),
            &minted
        )
        .is_ok()
    );
    assert!(refused(&body(vec![call("tooluse_0")])).starts_with(
        "messages.1.content.0.type: Expected `thinking` or `redacted_thinking`, but found `tool_use`."
    ));
    let edited = body(vec![
        reasoning("I should call it.", &signature),
        call("tooluse_0"),
    ]);
    assert_eq!(
        refused(&edited),
        "messages.1.content.0: Invalid `signature` in `thinking` block"
    );
    let other = thinking_signature("Something else.");
    let swapped = body(vec![
        reasoning("Something else.", &other),
        call("tooluse_0"),
    ]);
    assert_eq!(
        refused(&swapped),
        "messages.1.content.0: Invalid `signature` in `thinking` block"
    );

    let mut off = body(vec![call("tooluse_0")]);
    off.as_object_mut()
        .map(|body| body.remove("additionalModelRequestFields"));
    assert!(
        request(&off, &minted).is_ok(),
        "without reasoning the history may drop it"
    );
}
