//! Every error the OpenAI path can return: status, OpenAI error shape, and a message that says
//! what is wrong.

use std::time::Duration;

use serde_json::json;
use switchboard_load_tests::{Behaviour, ErrorReply, FakeProvider};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::{Gateway, KEY, chat_body, client, config, expect_openai_error, post};

async fn gateway_with_fake() -> (FakeProvider, Gateway) {
    let fake = FakeProvider::start().await;
    let gateway = Gateway::start(&config(&fake.base_url(), ""));
    (fake, gateway)
}

async fn post_raw(gateway: &Gateway, body: &'static str) -> reqwest::Response {
    client()
        .post(gateway.url("/v1/chat/completions"))
        .bearer_auth(KEY)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("request")
}

#[tokio::test]
async fn malformed_json_is_a_400() {
    let (fake, gateway) = gateway_with_fake().await;
    let body =
        expect_openai_error(post_raw(&gateway, "{\"model\": \"gpt-test\", ").await, 400).await;
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("JSON"),
        "{body}"
    );
    assert!(fake.requests().is_empty(), "nothing reaches the upstream");
}

#[tokio::test]
async fn schema_errors_name_the_field() {
    let (_fake, gateway) = gateway_with_fake().await;
    let cases = [
        (json!({"model": "gpt-test"}), "messages"),
        (
            json!({"messages": [{"role": "user", "content": "hi"}]}),
            "model",
        ),
        (json!({"model": "gpt-test", "messages": []}), "messages"),
        (
            json!({"model": "gpt-test", "messages": [{"role": "robot", "content": "hi"}]}),
            "messages[0].role",
        ),
        (
            json!({"model": "gpt-test", "messages": [{"role": "user", "content": 5}]}),
            "messages[0].content",
        ),
        (
            json!({"model": "gpt-test", "messages": [{"role": "user", "content": [{"type": "video"}]}]}),
            "messages[0].content[0].type",
        ),
        (
            json!({"model": "gpt-test", "messages": [{"role": "tool", "content": "x"}]}),
            "messages[0].tool_call_id",
        ),
        (
            json!({"model": "gpt-test", "messages": [{"role": "user", "content": "hi"}], "temperature": "hot"}),
            "temperature",
        ),
        (
            json!({"model": "gpt-test", "messages": [{"role": "user", "content": "hi"}], "temperature": 3}),
            "temperature",
        ),
        (
            json!({"model": "gpt-test", "messages": [{"role": "user", "content": "hi"}], "stream_options": {"include_usage": true}}),
            "stream_options",
        ),
    ];
    for (body, param) in cases {
        let response = post(&gateway, "/v1/chat/completions", &body).await;
        let error = expect_openai_error(response, 400).await;
        assert_eq!(error["error"]["param"], param, "for {body}: {error}");
    }
}

#[tokio::test]
async fn a_body_over_the_limit_is_a_413() {
    let (fake, gateway) = gateway_with_fake().await;
    let mut body = chat_body("gpt-test", false);
    body["messages"][1]["content"] = "x".repeat(70_000).into();
    let error = expect_openai_error(post(&gateway, "/v1/chat/completions", &body).await, 413).await;
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("65536"),
        "{error}"
    );

    // Without a Content-Length (chunked), the limit still holds while reading.
    let chunks =
        futures_util::stream::iter((0..20).map(|_| Ok::<_, std::io::Error>(vec![b' '; 8192])));
    let response = client()
        .post(gateway.url("/v1/chat/completions"))
        .bearer_auth(KEY)
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .expect("request");
    expect_openai_error(response, 413).await;
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn missing_and_unknown_keys_are_401() {
    let (_fake, gateway) = gateway_with_fake().await;
    let body = chat_body("gpt-test", false);
    let missing = client()
        .post(gateway.url("/v1/chat/completions"))
        .json(&body)
        .send()
        .await
        .expect("request");
    let error = expect_openai_error(missing, 401).await;
    assert_eq!(error["error"]["code"], "missing_api_key");

    let unknown = client()
        .post(gateway.url("/v1/chat/completions"))
        .bearer_auth("sk-not-a-real-key-123")
        .json(&body)
        .send()
        .await
        .expect("request");
    let error = expect_openai_error(unknown, 401).await;
    assert_eq!(error["error"]["code"], "invalid_api_key");
    let message = error["error"]["message"].as_str().unwrap_or_default();
    assert!(
        !message.contains("sk-not-a-real-key-123"),
        "the key is never echoed whole: {message}"
    );
}

#[tokio::test]
async fn unserved_model_is_404_and_unpermitted_model_is_403() {
    let (_fake, gateway) = gateway_with_fake().await;
    let error = expect_openai_error(
        post(
            &gateway,
            "/v1/chat/completions",
            &chat_body("no-such-model", false),
        )
        .await,
        404,
    )
    .await;
    assert_eq!(error["error"]["code"], "model_not_found");
    assert_eq!(error["error"]["param"], "model");

    let forbidden = client()
        .post(gateway.url("/v1/chat/completions"))
        .bearer_auth("sk-test-bob-00002")
        .json(&chat_body("gpt-test", false))
        .send()
        .await
        .expect("request");
    let error = expect_openai_error(forbidden, 403).await;
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("limited"),
        "{error}"
    );
}

#[tokio::test]
async fn upstream_4xx_is_passed_through_with_its_message_and_not_retried() {
    let (fake, gateway) = gateway_with_fake().await;
    fake.push(Behaviour::error(
        ErrorReply::new(
            400,
            "invalid_request_error",
            "This model's maximum context length is 8192 tokens.",
        )
        .with_code("context_length_exceeded"),
    ));
    let error = expect_openai_error(
        post(
            &gateway,
            "/v1/chat/completions",
            &chat_body("gpt-test", false),
        )
        .await,
        400,
    )
    .await;
    assert_eq!(
        error["error"]["message"],
        "This model's maximum context length is 8192 tokens."
    );
    assert_eq!(error["error"]["code"], "context_length_exceeded");
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn upstream_5xx_is_a_500_server_error_naming_the_channel() {
    let (fake, gateway) = gateway_with_fake().await;
    fake.set_default(Behaviour::error(ErrorReply::new(
        500,
        "server_error",
        "The server had an error while processing your request",
    )));
    let response = post(
        &gateway,
        "/v1/chat/completions",
        &chat_body("gpt-test", false),
    )
    .await;
    assert_eq!(
        response.headers()["x-should-retry"],
        "false",
        "the gateway already tried every channel"
    );
    let error = expect_openai_error(response, 500).await;
    assert_eq!(error["error"]["type"], "server_error");
    let message = error["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("primary") && message.contains("answered 500"),
        "{message}"
    );
}

/// An overloaded upstream (OpenAI's 503, Anthropic's 529) reaches each client as its own
/// protocol's overloaded error, which its SDK retries: OpenAI 503, Anthropic 529
/// `overloaded_error`, Gemini 503 `UNAVAILABLE`.
#[tokio::test]
async fn an_overloaded_upstream_is_each_protocols_own_overloaded_error() {
    let fake = FakeProvider::start().await;
    // Six failures in a row: keep the circuit closed so that each request meets the upstream.
    let yaml = config(&fake.base_url(), "")
        + "routing:\n  circuit: {failure_threshold: 100, window: 100}\n";
    let gateway = Gateway::start(&yaml);
    for (status, kind) in [(503, "server_error"), (529, "overloaded_error")] {
        fake.set_default(Behaviour::error(ErrorReply::new(
            status,
            kind,
            "The engine is currently overloaded",
        )));
        let cases = [
            (
                "/v1/chat/completions",
                chat_body("gpt-test", false),
                503,
                "server_error",
            ),
            (
                "/v1/messages",
                json!({"model": "gpt-test", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}),
                529,
                "overloaded_error",
            ),
            (
                "/v1beta/models/gpt-test:generateContent",
                json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}),
                503,
                "UNAVAILABLE",
            ),
        ];
        for (path, body, expected_status, expected_kind) in cases {
            let response = post(&gateway, path, &body).await;
            assert_eq!(
                response.status().as_u16(),
                expected_status,
                "{path} after {status}"
            );
            assert!(
                response.headers().get("x-should-retry").is_none(),
                "{path}: an overloaded upstream is worth a retry"
            );
            let error: serde_json::Value = response.json().await.expect("json");
            let found = if path.starts_with("/v1beta") {
                &error["error"]["status"]
            } else {
                &error["error"]["type"]
            };
            assert_eq!(found, expected_kind, "{path}: {error}");
            assert!(
                error["error"]["message"]
                    .as_str()
                    .is_some_and(|message| message.contains("overloaded")),
                "{path}: {error}"
            );
        }
    }
}

#[tokio::test]
async fn upstream_429_keeps_its_retry_after() {
    let (fake, gateway) = gateway_with_fake().await;
    fake.set_default(Behaviour::error(
        ErrorReply::new(429, "rate_limit_error", "Slow down").with_retry_after(7),
    ));
    let response = post(
        &gateway,
        "/v1/chat/completions",
        &chat_body("gpt-test", false),
    )
    .await;
    assert_eq!(response.headers()["retry-after"], "7");
    expect_openai_error(response, 429).await;
}

#[tokio::test]
async fn unreachable_upstream_is_a_503() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("port")
        .port();
    let gateway = Gateway::start(&config(&format!("http://127.0.0.1:{port}/v1"), ""));
    let error = expect_openai_error(
        post(
            &gateway,
            "/v1/chat/completions",
            &chat_body("gpt-test", false),
        )
        .await,
        503,
    )
    .await;
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("upstream channel `primary` could not be used: the connection was refused"),
        "{error}"
    );
}

/// OpenAI documents no 504: an upstream that does not answer in time is a 500 `server_error`
/// for OpenAI clients (Anthropic clients get 504 `timeout_error`).
#[tokio::test]
async fn upstream_timeout_is_a_500_for_openai_clients() {
    let (fake, gateway) = gateway_with_fake().await;
    fake.set_default(Behaviour {
        hang: true,
        ..Behaviour::default()
    });
    let started = std::time::Instant::now();
    let error = expect_openai_error(
        post(
            &gateway,
            "/v1/chat/completions",
            &chat_body("gpt-test", false),
        )
        .await,
        500,
    )
    .await;
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("did not answer"),
        "{error}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the first-byte timeout (2s) applies"
    );
}

#[tokio::test]
async fn a_slow_sender_is_cut_off_with_408() {
    let (fake, gateway) = gateway_with_fake().await;
    let mut socket = tokio::net::TcpStream::connect(gateway.addr)
        .await
        .expect("connect");
    let head = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {KEY}\r\ncontent-type: application/json\r\ncontent-length: 500\r\n\r\n{{\"model\":"
    );
    socket.write_all(head.as_bytes()).await.expect("write");
    let mut answer = Vec::new();
    let read_answer = async {
        let mut buffer = [0u8; 4096];
        // Read until the JSON error body is complete; the connection may stay open after it.
        while !String::from_utf8_lossy(&answer).ends_with("}}") {
            let read = socket.read(&mut buffer).await.expect("read");
            assert!(read > 0, "connection closed without an answer");
            answer.extend_from_slice(&buffer[..read]);
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read_answer)
        .await
        .expect("the gateway answers after its body timeout (1s)");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.contains("\"type\":\"invalid_request_error\""),
        "{answer}"
    );
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn unknown_paths_and_methods_answer_in_openai_shape() {
    let (_fake, gateway) = gateway_with_fake().await;
    let response = client()
        .get(gateway.url("/v1/unknown"))
        .send()
        .await
        .expect("request");
    expect_openai_error(response, 404).await;
    let response = client()
        .get(gateway.url("/v1/chat/completions"))
        .send()
        .await
        .expect("request");
    expect_openai_error(response, 405).await;
}

#[tokio::test]
async fn an_upstream_429_reaches_each_client_protocol_as_its_own_rate_limit_error() {
    let (fake, gateway) = gateway_with_fake().await;
    fake.set_default(Behaviour::error(
        ErrorReply::new(429, "rate_limit_error", "Rate limit reached for requests")
            .with_retry_after(2),
    ));
    let cases = [
        (
            "/v1/chat/completions",
            json!({"model": "gpt-test", "messages": [{"role": "user", "content": "hi"}]}),
        ),
        (
            "/v1/messages",
            json!({"model": "gpt-test", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}),
        ),
        (
            "/v1beta/models/gpt-test:generateContent",
            json!({"contents": [{"parts": [{"text": "hi"}]}]}),
        ),
        ("/v1/responses", json!({"model": "gpt-test", "input": "hi"})),
    ];
    for (path, body) in cases {
        let response = client()
            .post(gateway.url(path))
            .bearer_auth(KEY)
            .json(&body)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 429, "{path}");
        assert_eq!(response.headers()["retry-after"], "2", "{path}");
        let error: serde_json::Value = response.json().await.expect("json");
        let (kind, message) = match path {
            "/v1/messages" => (&error["error"]["type"], &error["error"]["message"]),
            p if p.starts_with("/v1beta") => {
                (&error["error"]["status"], &error["error"]["message"])
            }
            _ => (&error["error"]["type"], &error["error"]["message"]),
        };
        let expected = match path {
            "/v1/messages" => "rate_limit_error",
            p if p.starts_with("/v1beta") => "RESOURCE_EXHAUSTED",
            _ => "requests",
        };
        assert_eq!(kind, expected, "{path}: {error}");
        assert!(
            message
                .as_str()
                .unwrap_or_default()
                .contains("Rate limit reached"),
            "{path}: the upstream message is kept: {error}"
        );
    }
}

#[tokio::test]
async fn a_revoked_key_is_401_in_the_callers_protocol_and_other_keys_still_work() {
    let yaml = r#"
channels: [{name: demo, provider: mock, models: [demo-model]}]
roles: [{name: r, models: ["*"]}]
api_keys:
  - {name: live, key: sk-live-key-0001, role: r}
  - {name: leaked, key: sk-leaked-key-0002, role: r, revoked: true}
"#;
    let gateway = Gateway::start(yaml);
    let body = chat_body("demo-model", false);
    let revoked = client()
        .post(gateway.url("/v1/chat/completions"))
        .bearer_auth("sk-leaked-key-0002")
        .json(&body)
        .send()
        .await
        .expect("request");
    let error = expect_openai_error(revoked, 401).await;
    assert_eq!(error["error"]["code"], "api_key_revoked");
    let message = error["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("revoked") && message.contains("leaked"),
        "{message}"
    );
    assert!(!message.contains("sk-leaked-key-0002"), "{message}");

    let anthropic = client()
        .post(gateway.url("/v1/messages"))
        .header("x-api-key", "sk-leaked-key-0002")
        .header("anthropic-version", "2023-06-01")
        .json(&json!({"model": "demo-model", "max_tokens": 16,
            "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .expect("request");
    assert_eq!(anthropic.status(), 401);
    let error: serde_json::Value = anthropic.json().await.expect("json");
    assert_eq!(error["type"], "error");
    assert_eq!(error["error"]["type"], "authentication_error");

    // The other key is untouched.
    let live = client()
        .post(gateway.url("/v1/chat/completions"))
        .bearer_auth("sk-live-key-0001")
        .json(&body)
        .send()
        .await
        .expect("request");
    assert_eq!(live.status(), 200);
}

/// A header block over `server.max_header_bytes` (32 KiB by default) is refused with 431 in the
/// caller's protocol and never served: one 100 KB header, or many small ones (90 of 400 bytes,
/// each far under the limit).
#[tokio::test]
async fn oversized_headers_are_refused_with_431_in_the_callers_shape() {
    let (fake, gateway) = gateway_with_fake().await;
    let big = "a".repeat(100 * 1024);
    let many: Vec<(String, String)> = (0..90)
        .map(|index| (format!("x-filler-{index}"), "0123456789".repeat(40)))
        .collect();
    let cases = [
        ("/v1/chat/completions", "one"),
        ("/v1/messages", "many"),
        ("/v1beta/models/gpt-test:generateContent", "one"),
        ("/v1/responses", "many"),
    ];
    for (path, shape) in cases {
        let mut request = client()
            .post(gateway.url(path))
            .bearer_auth(KEY)
            .header("x-api-key", KEY)
            .json(&chat_body("gpt-test", false));
        if shape == "one" {
            request = request.header("x-big", big.as_str());
        } else {
            for (name, value) in &many {
                request = request.header(name.as_str(), value.as_str());
            }
        }
        let response = request.send().await.expect("request");
        assert_eq!(response.status(), 431, "{path} with {shape} header(s)");
        let error: serde_json::Value = response.json().await.expect("a JSON error body");
        let message = match path {
            "/v1/messages" => {
                assert_eq!(error["type"], "error", "{error}");
                assert_eq!(error["error"]["type"], "invalid_request_error", "{error}");
                &error["error"]["message"]
            }
            p if p.starts_with("/v1beta") => {
                assert_eq!(error["error"]["code"], 431, "{error}");
                assert_eq!(error["error"]["status"], "INVALID_ARGUMENT", "{error}");
                &error["error"]["message"]
            }
            _ => {
                assert_eq!(error["error"]["type"], "invalid_request_error", "{error}");
                assert_eq!(error["error"]["code"], "request_header_fields_too_large");
                &error["error"]["message"]
            }
        };
        assert!(
            message
                .as_str()
                .is_some_and(|message| message.contains("server.max_header_bytes")),
            "{path}: {error}"
        );
    }
    assert!(fake.requests().is_empty(), "nothing was served");
    // Under the limit, the same request goes through.
    let fine = client()
        .post(gateway.url("/v1/chat/completions"))
        .bearer_auth(KEY)
        .header("x-big", "a".repeat(20 * 1024))
        .json(&chat_body("gpt-test", false))
        .send()
        .await
        .expect("request");
    assert_eq!(fine.status(), 200);
}
