//! Property tests of the converters.
//!
//! 1. Round trips: an arbitrary valid canonical request, encoded for a protocol, serialized,
//!    parsed back and decoded, says the same thing — same conversation (roles, text, tool calls
//!    with their arguments, tool results answering the same calls), same tools, same sampling.
//!    Protocols may regroup messages (Anthropic and Gemini put tool results in user turns and
//!    merge consecutive turns), so conversations compare as flat sequences of (side, item).
//! 2. Robustness: arbitrary bytes and arbitrary JSON never panic a request parser or a stream
//!    decoder; they produce a value or an error.

use std::collections::HashMap;

use proptest::prelude::*;
use serde_json::{Value, json};

use super::fit::Fit;
use super::{anthropic, gemini, openai_chat, openai_responses};
use crate::canonical::{
    ChatRequest, ContentPart, Family, Message, Role, Sampling, Tool, UnsupportedPolicy,
};

fn word() -> impl Strategy<Value = String> {
    "[a-z]{1,8}"
}

fn sentence() -> impl Strategy<Value = String> {
    prop::collection::vec(word(), 1..6).prop_map(|words| words.join(" "))
}

fn arguments() -> impl Strategy<Value = Value> {
    prop::collection::btree_map(
        "[a-z]{1,6}",
        prop_oneof![
            sentence().prop_map(Value::from),
            (0u32..1000).prop_map(Value::from)
        ],
        0..3,
    )
    .prop_map(|map| Value::Object(map.into_iter().collect()))
}

#[derive(Debug, Clone)]
enum Step {
    Exchange {
        user: String,
        assistant: String,
    },
    Tools {
        user: String,
        calls: Vec<(String, Value)>,
        results: Vec<String>,
    },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (sentence(), sentence()).prop_map(|(user, assistant)| Step::Exchange { user, assistant }),
        (
            sentence(),
            prop::collection::vec(("[a-z_]{1,12}", arguments(), sentence()), 1..3)
        )
            .prop_map(|(user, calls)| {
                let results = calls.iter().map(|(_, _, result)| result.clone()).collect();
                Step::Tools {
                    user,
                    calls: calls
                        .into_iter()
                        .map(|(name, args, _)| (name, args))
                        .collect(),
                    results,
                }
            }),
    ]
}

fn text_message(role: Role, text: String) -> Message {
    Message {
        role,
        name: None,
        content: vec![ContentPart::Text(text)],
        plain_text: true,
        extensions: Default::default(),
    }
}

fn request() -> impl Strategy<Value = ChatRequest> {
    (
        prop::option::of(sentence()),
        prop::collection::vec(step(), 1..4),
        sentence(),
        prop::collection::vec(("[a-z_]{1,12}", prop::option::of(sentence())), 0..3),
        (
            prop::option::of(0u32..=100),
            prop::option::of(0u32..=100),
            prop::option::of(1u64..4096),
        ),
        prop::collection::vec(word(), 0..3),
    )
        .prop_map(
            |(system, steps, last, tools, (temperature, top_p, max_tokens), stop)| {
                let mut messages = Vec::new();
                if let Some(system) = system {
                    messages.push(text_message(Role::System, system));
                }
                let mut call_number = 0;
                for step in steps {
                    match step {
                        Step::Exchange { user, assistant } => {
                            messages.push(text_message(Role::User, user));
                            messages.push(text_message(Role::Assistant, assistant));
                        }
                        Step::Tools {
                            user,
                            calls,
                            results,
                        } => {
                            messages.push(text_message(Role::User, user));
                            let mut ids = Vec::new();
                            let content = calls
                                .into_iter()
                                .map(|(name, args)| {
                                    let id = format!("call_{call_number}");
                                    call_number += 1;
                                    ids.push(id.clone());
                                    ContentPart::ToolCall {
                                        id,
                                        name,
                                        arguments: args.to_string(),
                                    }
                                })
                                .collect();
                            messages.push(Message {
                                role: Role::Assistant,
                                name: None,
                                content,
                                plain_text: false,
                                extensions: Default::default(),
                            });
                            for (id, result) in ids.into_iter().zip(results) {
                                let content = vec![ContentPart::ToolResult {
                                    call_id: id,
                                    content: vec![ContentPart::Text(result)],
                                    is_error: false,
                                }];
                                messages.push(Message {
                                    role: Role::Tool,
                                    name: None,
                                    content,
                                    plain_text: false,
                                    extensions: Default::default(),
                                });
                            }
                        }
                    }
                }
                messages.push(text_message(Role::User, last));
                let tools = tools
                    .into_iter()
                    .map(|(name, description)| Tool {
                        name,
                        description,
                        parameters: Some(
                            json!({"type": "object", "properties": {"q": {"type": "string"}}}),
                        ),
                        strict: None,
                        cache: None,
                        extensions: Default::default(),
                    })
                    .collect();
                ChatRequest {
                    model: "m".to_owned(),
                    messages,
                    tools,
                    sampling: Sampling {
                        temperature: temperature.map(|value| f64::from(value) / 100.0),
                        top_p: top_p.map(|value| f64::from(value) / 100.0),
                        ..Sampling::default()
                    },
                    max_output_tokens: max_tokens,
                    stop,
                    extension_family: Family::OpenAi,
                    ..ChatRequest::default()
                }
            },
        )
}

/// What a conversation says, independent of how a protocol groups it.
#[derive(Debug, PartialEq)]
enum Item {
    Text(&'static str, String),
    Call(String, Value),
    /// A result for the n-th call of the conversation.
    Result(usize, String),
}

fn conversation(request: &ChatRequest) -> Vec<Item> {
    let mut calls: HashMap<&str, usize> = HashMap::new();
    let mut items = Vec::new();
    for message in &request.messages {
        let side = match message.role {
            Role::System | Role::Developer => "system",
            Role::User | Role::Tool => "user",
            Role::Assistant => "assistant",
        };
        for part in &message.content {
            match part {
                ContentPart::Text(text) => items.push(Item::Text(side, text.clone())),
                ContentPart::ToolCall {
                    id,
                    name,
                    arguments,
                } => {
                    calls.insert(id, calls.len());
                    items.push(Item::Call(
                        name.clone(),
                        serde_json::from_str(arguments).unwrap_or(Value::Null),
                    ));
                }
                ContentPart::ToolResult {
                    call_id, content, ..
                } => {
                    let text = content
                        .iter()
                        .map(|part| {
                            if let ContentPart::Text(text) = part {
                                text.as_str()
                            } else {
                                ""
                            }
                        })
                        .collect();
                    items.push(Item::Result(
                        calls.get(call_id.as_str()).copied().unwrap_or(usize::MAX),
                        text,
                    ));
                }
                _ => {}
            }
        }
    }
    items
}

fn tools(request: &ChatRequest) -> Vec<(String, Option<String>, Option<Value>)> {
    request
        .tools
        .iter()
        .map(|tool| {
            (
                tool.name.clone(),
                tool.description.clone(),
                tool.parameters.clone(),
            )
        })
        .collect()
}

fn assert_same(original: &ChatRequest, back: &ChatRequest) {
    assert_eq!(conversation(back), conversation(original));
    assert_eq!(tools(back), tools(original));
    assert_eq!(back.sampling.temperature, original.sampling.temperature);
    assert_eq!(back.sampling.top_p, original.sampling.top_p);
    assert_eq!(
        back.max_output_tokens.or(Some(4096)),
        original.max_output_tokens.or(Some(4096))
    );
    assert_eq!(back.stop, original.stop);
}

/// A fit that refuses: the generated requests hold nothing any target lacks.
fn fit(family: Family) -> Fit {
    Fit::new(UnsupportedPolicy::Refuse, Some(family), "the target")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn openai_chat_round_trip(original in request()) {
        let wire = openai_chat::upstream::encode(&original, "m", false, &mut fit(Family::OpenAi)).expect("encodes");
        let bytes = serde_json::to_vec(&wire).expect("serializes");
        let back = openai_chat::request::decode(openai_chat::request::parse_body(&bytes).expect("parses")).expect("decodes");
        assert_same(&original, &back);
    }

    #[test]
    fn anthropic_round_trip(original in request()) {
        let wire = anthropic::upstream::encode(&original, "m", 4096, &mut fit(Family::Anthropic)).expect("encodes");
        let bytes = serde_json::to_vec(&wire).expect("serializes");
        let back = anthropic::request::decode(anthropic::request::parse_body(&bytes).expect("parses"), false).expect("decodes");
        assert_same(&original, &back);
    }

    #[test]
    fn gemini_round_trip(original in request()) {
        let wire = gemini::upstream::encode(&original, &mut fit(Family::Gemini)).expect("encodes");
        let bytes = serde_json::to_vec(&wire).expect("serializes");
        let back = gemini::request::decode(gemini::request::parse_body(&bytes).expect("parses"), "m", false).expect("decodes");
        assert_same(&original, &back);
    }

    #[test]
    fn arbitrary_bytes_never_panic_a_parser(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        parse_everything(&bytes);
    }

    #[test]
    fn arbitrary_json_never_panics_a_parser(value in json_value()) {
        parse_everything(value.to_string().as_bytes());
        // The same value in the places where parsers look deepest.
        let wrapped = json!({"model": "m", "max_tokens": 5, "messages": [value.clone()], "input": [value.clone()], "contents": [value]});
        parse_everything(wrapped.to_string().as_bytes());
    }
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        "[a-z_]{0,10}".prop_map(Value::from),
        prop_oneof![
            Just("text"),
            Just("tool_use"),
            Just("function_call"),
            Just("image_url"),
            Just("user"),
            Just("model")
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("type".to_owned()),
                    Just("role".to_owned()),
                    Just("content".to_owned()),
                    Just("text".to_owned()),
                    Just("parts".to_owned()),
                    "[a-z]{1,6}"
                ],
                inner,
                0..4
            )
            .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

fn parse_everything(bytes: &[u8]) {
    if let Ok(wire) = openai_chat::request::parse_body(bytes) {
        let _ = openai_chat::request::decode(wire);
    }
    if let Ok(wire) = openai_responses::request::parse_body(bytes) {
        let _ = openai_responses::request::decode(wire);
    }
    if let Ok(wire) = anthropic::request::parse_body(bytes) {
        let _ = anthropic::request::decode(wire, false);
    }
    if let Ok(wire) = gemini::request::parse_body(bytes) {
        let _ = gemini::request::decode(wire, "m", true);
    }
    let text = String::from_utf8_lossy(bytes);
    let _ = openai_chat::stream::ChunkDecoder::default().decode(&text);
    let _ = gemini::stream::ChunkDecoder::default().decode(&text);
    for event in [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "message_delta",
        "error",
    ] {
        let _ = anthropic::stream::EventDecoder::default().decode(event, &text);
    }
    let _ = openai_chat::response::decode(bytes);
    let _ = anthropic::response::decode(bytes);
    let _ = gemini::response::decode(bytes);
}
