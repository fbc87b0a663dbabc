//! Unit tests of the Gemini validator: accepted requests in both spellings, and one refusal per
//! rule with the message Gemini (or, where Gemini has none, the fake) sends.

use serde_json::{Value, json};

use super::{Invalid, count_tokens, generate};
use crate::fake::gemini::signature::{Issued, PLACEHOLDER, gemini_thought_signature};

fn base() -> Value {
    json!({"contents": [{"role": "user", "parts": [{"text": "Hello"}]}]})
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

fn message(invalid: Invalid) -> String {
    match invalid {
        Invalid::Payload { message, .. } | Invalid::Request { message } => message,
        Invalid::Field { field, problem } => format!("{field}: {problem}"),
    }
}

fn refusal_with(body: &Value, issued: &Issued) -> String {
    match generate(body, issued) {
        Ok(_) => panic!("accepted: {body}"),
        Err(invalid) => message(invalid),
    }
}

fn refusal(body: &Value) -> String {
    refusal_with(body, &Issued::default())
}

fn accepted(body: &Value) {
    if let Err(invalid) = generate(body, &Issued::default()) {
        panic!("refused with {invalid:?}: {body}");
    }
}

fn weather_tools() -> Value {
    json!([{"functionDeclarations": [{"name": "get_weather", "description": "Weather",
        "parametersJsonSchema": {"type": "object", "properties": {"city": {"type": "string"}},
                                 "additionalProperties": false}}]}])
}

/// user → model (calls get_weather) → user (answers it).
fn tool_loop(call_part: Value) -> Value {
    with(json!({
        "tools": weather_tools(),
        "contents": [
            {"role": "user", "parts": [{"text": "Weather in Oslo?"}]},
            {"role": "model", "parts": [call_part]},
            {"role": "user", "parts": [{"functionResponse": {"name": "get_weather",
                                                               "response": {"output": "Sunny"}}}]}
        ]
    }))
}

fn oslo_call() -> Value {
    json!({"functionCall": {"name": "get_weather", "args": {"city": "Oslo"}}})
}

#[test]
fn a_full_request_is_accepted_in_both_spellings() {
    accepted(&with(json!({
        "systemInstruction": {"parts": [{"text": "Be brief."}]},
        "generationConfig": {"temperature": 0.2, "topP": 0.9, "topK": 40, "maxOutputTokens": 1024,
            "stopSequences": ["END"], "candidateCount": 1, "seed": 7, "presencePenalty": 0,
            "frequencyPenalty": 0, "responseMimeType": "application/json",
            "responseJsonSchema": {"type": "object"},
            "thinkingConfig": {"thinkingBudget": 1024, "includeThoughts": true}},
        "safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_ONLY_HIGH"}],
        "toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}},
        "tools": weather_tools(),
        "cachedContent": "cachedContents/abc",
        "contents": [{"role": "user", "parts": [
            {"text": "What is this?"},
            {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
            {"fileData": {"fileUri": "https://generativelanguage.googleapis.com/v1beta/files/f"}}]}]
    })));
    accepted(&json!({
        "system_instruction": {"parts": [{"text": "Be brief."}]},
        "generation_config": {"max_output_tokens": "64", "response_mime_type": "application/json",
            "response_schema": {"type": "OBJECT", "properties": {"a": {"type": "string"}},
                                "property_ordering": ["a"]},
            "thinking_config": {"thinking_level": "low"}},
        "tools": [{"function_declarations": [{"name": "f", "parameters": {"type": "OBJECT",
            "properties": {"x": {"type": "INTEGER", "nullable": true}}, "required": ["x"]}}]}],
        "tool_config": {"function_calling_config": {"mode": "AUTO"}},
        "contents": [{"parts": [{"text": "hi"}, {"inline_data": {"mime_type": "image/png", "data": "AAAA"}}]}]
    }));
    accepted(&tool_loop(oslo_call()));
}

#[test]
fn unknown_fields_and_types_are_refused_where_they_are() {
    assert_eq!(
        refusal(&with(json!({"temperature": 0.5}))),
        "Invalid JSON payload received. Unknown name \"temperature\": Cannot find field."
    );
    assert_eq!(
        refusal(&with(
            json!({"contents": [{"role": "user", "parts": [{"text": "x", "foo": 1}]}]})
        )),
        "Invalid JSON payload received. Unknown name \"foo\" at 'contents[0].parts[0]': Cannot find field."
    );
    assert_eq!(
        refusal(&with(json!({"generationConfig": {"temperature": "hot"}}))),
        "Invalid value at 'generation_config.temperature' (TYPE_FLOAT), \"hot\""
    );
    assert_eq!(
        refusal(&with(json!({"systemInstruction": "be brief"}))),
        "Invalid value at 'system_instruction' (type.googleapis.com/google.ai.generativelanguage.v1beta.Content), \"be brief\""
    );
    assert_eq!(
        refusal(&with(
            json!({"tools": [{"functionDeclarations": [{"name": "f",
            "parameters": {"type": "object", "additionalProperties": false}}]}]})
        )),
        "Invalid JSON payload received. Unknown name \"additionalProperties\" at 'tools[0].function_declarations[0].parameters': Cannot find field."
    );
    assert!(refusal(&json!([1])).ends_with("Root element must be a message."));
}

#[test]
fn contents_and_parts() {
    assert_eq!(refusal(&json!({})), "contents: contents is not specified");
    assert_eq!(
        refusal(&with(json!({"contents": [{"role": "user", "parts": []}]}))),
        "contents[0].parts: contents.parts must not be empty."
    );
    assert_eq!(
        refusal(&with(
            json!({"contents": [{"role": "assistant", "parts": [{"text": "x"}]}]})
        )),
        "Please use a valid role: user, model."
    );
    let two_without_role =
        json!({"contents": [{"parts": [{"text": "a"}]}, {"parts": [{"text": "b"}]}]});
    assert_eq!(
        refusal(&two_without_role),
        "Please use a valid role: user, model."
    );
    assert_eq!(
        refusal(&with(
            json!({"contents": [{"role": "user", "parts": [{}]}]})
        )),
        "contents[0].parts[0].data: required oneof field 'data' must have one initialized field"
    );
    assert!(
        refusal(&with(json!({"contents": [{"role": "user", "parts": [
            {"text": "x", "inlineData": {"mimeType": "image/png", "data": "AAAA"}}]}]})))
        .starts_with("Invalid JSON payload received. Oneof field 'data' is already set.")
    );
    assert_eq!(
        refusal(&with(json!({"contents": [{"role": "user", "parts": [
            {"inlineData": {"mimeType": "image/png", "data": "data:image/png;base64,AAAA"}}]}]}))),
        "Invalid value at 'contents[0].parts[0].inline_data.data' (TYPE_BYTES), Base64 decoding failed for \"data:image/png;base64,AAAA\""
    );
    assert_eq!(
        refusal(&with(
            json!({"contents": [{"role": "user", "parts": [oslo_call()]}]})
        )),
        "contents[0].parts[0].function_call: function_call parts may only appear in a content with role 'model'."
    );
}

#[test]
fn generation_config_ranges() {
    let config = |config: Value| with(json!({"generationConfig": config}));
    assert_eq!(
        refusal(&config(json!({"temperature": 2.5}))),
        "generation_config.temperature: temperature must be between 0 and 2, got 2.5."
    );
    assert_eq!(
        refusal(&config(
            json!({"stopSequences": ["a", "b", "c", "d", "e", "f"]})
        )),
        "generation_config.stop_sequences: stop_sequences must have at most 5 elements."
    );
    assert_eq!(
        refusal(&config(json!({"maxOutputTokens": 0}))),
        "generation_config.max_output_tokens: max_output_tokens must be between 1 and 2147483647, got 0."
    );
    assert!(
        refusal(&config(json!({"responseMimeType": "text/html"})))
            .starts_with("generation_config.response_mime_type: allowed mimetypes are")
    );
    assert_eq!(
        refusal(&config(
            json!({"thinkingConfig": {"thinkingBudget": 128, "thinkingLevel": "HIGH"}})
        )),
        "generation_config.thinking_config: thinking_budget and thinking_level cannot both be set."
    );
    let thinking = |thinking: Value| {
        let body = config(json!({"thinkingConfig": thinking}));
        let request = generate(&body, &Issued::default()).map(|request| request.settings);
        request.map(|settings| (settings.thinking, settings.include_thoughts))
    };
    assert_eq!(thinking(json!({"thinkingBudget": 0})), Ok((false, false)));
    assert_eq!(thinking(json!({"thinkingBudget": -1})), Ok((true, false)));
    assert_eq!(thinking(json!({"includeThoughts": true})), Ok((true, true)));
}

#[test]
fn tools_and_tool_config() {
    assert!(
        refusal(&with(
            json!({"tools": [{"functionDeclarations": [{"name": "9lives"}]}]})
        ))
        .starts_with("tools[0].function_declarations[0].name: Invalid function name.")
    );
    assert_eq!(
        refusal(&with(
            json!({"tools": [{"functionDeclarations": [{"name": "f",
            "parameters": {"type": "OBJECT"}, "parametersJsonSchema": {"type": "object"}}]}]})
        )),
        "tools[0].function_declarations[0]: parameters and parameters_json_schema cannot both be set."
    );
    assert_eq!(
        refusal(&with(
            json!({"toolConfig": {"functionCallingConfig": {"mode": "ANY"}}})
        )),
        "Function calling config is set without function_declarations."
    );
    assert!(
        refusal(&with(json!({"tools": weather_tools(),
            "toolConfig": {"functionCallingConfig": {"mode": "REQUIRED"}}})))
        .starts_with("Invalid value at 'tool_config.function_calling_config.mode'")
    );
    accepted(&with(json!({"tools": [{"googleSearch": {}}]})));
}

#[test]
fn function_calls_need_their_responses() {
    let mut unanswered = tool_loop(oslo_call());
    unanswered["contents"][2]["parts"] = json!([{"text": "What now?"}]);
    assert_eq!(
        refusal(&unanswered),
        "Please ensure that the number of function response parts is equal to the number of function call parts of the function call turn."
    );
    let mut wrong_name = tool_loop(oslo_call());
    wrong_name["contents"][2]["parts"][0]["functionResponse"]["name"] = json!("get_time");
    assert!(refusal(&wrong_name).contains("no function response with name `get_weather`"));
    let mut with_id =
        tool_loop(json!({"functionCall": {"id": "c1", "name": "get_weather", "args": {}}}));
    assert!(refusal(&with_id).contains("`get_weather` and id `c1`"));
    with_id["contents"][2]["parts"][0]["functionResponse"]["id"] = json!("c1");
    accepted(&with_id);
    let mut orphan = tool_loop(oslo_call());
    orphan["contents"][1]["parts"] = json!([{"text": "Let me check."}]);
    assert_eq!(
        refusal(&orphan),
        "Please ensure that function response turn comes immediately after a function call turn."
    );
    let mut first = tool_loop(oslo_call());
    first["contents"][0] = first["contents"][1].clone();
    assert_eq!(
        refusal(&first),
        "Please ensure that function call turn comes immediately after a user turn or after a function response turn."
    );
}

#[test]
fn thought_signatures_must_come_back_as_issued() {
    let issued = Issued::default();
    let signature = gemini_thought_signature("get_weather", &json!({"city": "Oslo"}));
    let signed = |signature: Value| {
        let mut part = oslo_call();
        part["thoughtSignature"] = signature;
        tool_loop(part)
    };
    assert!(
        generate(&tool_loop(oslo_call()), &issued).is_ok(),
        "never issued"
    );
    issued.insert(signature.clone());
    assert!(generate(&signed(json!(signature)), &issued).is_ok());
    assert_eq!(
        refusal_with(&tool_loop(oslo_call()), &issued),
        "Function call is missing a thought_signature in functionCall parts. This is required for tools to work correctly, and missing thought_signature may lead to degraded model performance. Additional data, function call `default_api:get_weather` , position 2. Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more details."
    );
    let other = gemini_thought_signature("get_weather", &json!({"city": "Bergen"}));
    assert_eq!(
        refusal_with(&signed(json!(other)), &issued),
        "Invalid thought signature."
    );
    assert_eq!(
        refusal_with(&signed(json!(PLACEHOLDER)), &issued),
        "Invalid thought signature."
    );
    assert_eq!(
        refusal_with(&signed(json!("c2lnbmF0dXJl")), &issued),
        "Corrupted thought signature."
    );
    assert!(refusal_with(&signed(json!("not base64!")), &issued).contains("(TYPE_BYTES)"));
}

#[test]
fn count_tokens_takes_contents_or_a_whole_request() {
    assert!(count_tokens(&base()).is_ok());
    let nested = json!({"generateContentRequest": {"model": "models/gemini-test", "contents": base()["contents"]}});
    assert!(count_tokens(&nested).is_ok());
    let unnamed = json!({"generateContentRequest": base()});
    assert_eq!(
        count_tokens(&unnamed).map(|_| ()).map_err(message),
        Err("generate_content_request.model: model is required.".to_owned())
    );
    assert!(count_tokens(&json!({"contents": [], "extra": 1})).is_err());
}
