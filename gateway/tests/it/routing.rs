//! Routing strategies and request hints, measured over many requests through the real gateway
//! (mock channels answer locally, so distributions are cheap to sample).

use std::collections::HashMap;
use std::sync::Arc;

use futures_util::StreamExt;
use switchboard_load_tests::{Behaviour, ErrorReply, FakeProvider};
use tokio::sync::Notify;

use crate::common::{Gateway, KEY, chat_body, client, get_json, post};

/// A config whose `m` model is served by mock channels `(name, extra YAML)`, with `routing`.
fn mocks(channels: &[(&str, &str)], routing: &str) -> String {
    let mut yaml = String::from("channels:\n");
    for (name, extra) in channels {
        yaml.push_str(&format!(
            "  - name: {name}\n    provider: mock\n    models: [m]\n"
        ));
        for line in extra.lines().filter(|line| !line.trim().is_empty()) {
            yaml.push_str(&format!("    {}\n", line.trim()));
        }
    }
    yaml.push_str(routing);
    yaml.push_str(&format!("\nroles: [{{name: all, models: [\"*\"]}}]\napi_keys: [{{name: t, key: {KEY}, role: all}}]\n"));
    yaml
}

async fn served_by(gateway: &Gateway, headers: &[(&str, &str)]) -> String {
    let mut request = client()
        .post(gateway.url("/v1/chat/completions"))
        .bearer_auth(KEY)
        .json(&chat_body("m", false));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("request");
    assert_eq!(response.status(), 200);
    response.headers()["x-switchboard-channel"]
        .to_str()
        .expect("ascii")
        .to_owned()
}

async fn distribution(
    gateway: &Gateway,
    requests: usize,
    headers: &[(&str, &str)],
) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for _ in 0..requests {
        *counts.entry(served_by(gateway, headers).await).or_default() += 1;
    }
    counts
}

#[tokio::test]
async fn weighted_spreads_traffic_by_weight() {
    let gateway = Gateway::start(&mocks(
        &[("light", "weight: 1"), ("heavy", "weight: 3")],
        "",
    ));
    let counts = distribution(&gateway, 400, &[]).await;
    let heavy = counts.get("heavy").copied().unwrap_or_default() as f64 / 400.0;
    // Expected 0.75; four standard deviations of a binomial(400, 0.75) are ±0.087.
    assert!((0.66..=0.84).contains(&heavy), "{counts:?}");
}

#[tokio::test]
async fn round_robin_takes_turns() {
    let gateway = Gateway::start(&mocks(
        &[("a", ""), ("b", ""), ("c", "")],
        "routing: {strategy: round_robin}",
    ));
    let mut order = Vec::new();
    for _ in 0..9 {
        order.push(served_by(&gateway, &[]).await);
    }
    for window in order.windows(3) {
        let mut names = window.to_vec();
        names.sort();
        names.dedup();
        assert_eq!(
            names.len(),
            3,
            "every three consecutive requests visit every channel: {order:?}"
        );
    }
}

#[tokio::test]
async fn failover_sends_everything_to_the_primary_while_it_is_healthy() {
    let gateway = Gateway::start(&mocks(
        &[("backup", "priority: 1"), ("primary", "priority: 0")],
        "routing: {strategy: failover}",
    ));
    let counts = distribution(&gateway, 30, &[]).await;
    assert_eq!(counts.get("primary"), Some(&30), "{counts:?}");
}

#[tokio::test]
async fn cost_optimized_prefers_the_cheapest_priced_channel() {
    let yaml = mocks(
        &[
            ("dear", "price_per_1k_tokens: 0.03"),
            ("unpriced", ""),
            ("cheap", "price_per_1k_tokens: 0.001"),
        ],
        "routing: {strategy: cost_optimized}",
    );
    let gateway = Gateway::start(&yaml);
    assert_eq!(
        distribution(&gateway, 20, &[]).await.get("cheap"),
        Some(&20)
    );
}

#[tokio::test]
async fn axonflow_environment_variables_drive_the_same_engine() {
    let yaml = mocks(&[("dear", ""), ("cheap", "")], "");
    let gateway = Gateway::start_with_env(
        &yaml,
        &[
            ("LLM_ROUTING_STRATEGY", "cost_optimized"),
            ("PROVIDER_COSTS", "dear:0.9,cheap:0.1"),
        ],
    );
    assert_eq!(
        distribution(&gateway, 20, &[]).await.get("cheap"),
        Some(&20)
    );

    let gateway = Gateway::start_with_env(
        &yaml,
        &[
            ("DEFAULT_LLM_PROVIDER", "dear"),
            ("LLM_STRICT_PROVIDER_DEFAULT", "true"),
        ],
    );
    assert_eq!(distribution(&gateway, 20, &[]).await.get("dear"), Some(&20));
}

#[tokio::test]
async fn latency_prefers_the_faster_channel() {
    let gateway = Gateway::start(&mocks(
        &[("slow", "mock: {latency_ms: 40}"), ("fast", "")],
        "routing: {strategy: latency}",
    ));
    let counts = distribution(&gateway, 60, &[]).await;
    let fast = counts.get("fast").copied().unwrap_or_default();
    // Power of two choices still sends the slow channel a share (both picks land on it a quarter
    // of the time), but most traffic goes to the faster one.
    assert!(fast >= 36, "{counts:?}");
}

#[tokio::test]
async fn least_busy_avoids_a_channel_with_a_stream_in_flight() {
    let fake = FakeProvider::start().await;
    let gate = Arc::new(Notify::new());
    fake.push(Behaviour {
        gate: Some(gate.clone()),
        ..Behaviour::text("held open for a while")
    });
    let yaml = format!(
        "channels:\n  - name: busy\n    provider: openai\n    base_url: {}\n    api_key: k\n    models: [m]\n  - name: idle\n    provider: mock\n    models: [m]\nrouting: {{strategy: least_busy}}\nroles: [{{name: all, models: [\"*\"]}}]\napi_keys: [{{name: t, key: {KEY}, role: all}}]\n",
        fake.base_url()
    );
    let gateway = Gateway::start(&yaml);
    let mut body = chat_body("m", true);
    body["stream"] = true.into();
    let stream = client()
        .post(gateway.url("/v1/chat/completions"))
        .bearer_auth(KEY)
        .header("x-switchboard-provider", "busy")
        .json(&body)
        .send()
        .await
        .expect("request");
    assert_eq!(stream.headers()["x-switchboard-channel"], "busy");
    let mut bytes = stream.bytes_stream();
    let _first = bytes.next().await;

    assert_eq!(distribution(&gateway, 10, &[]).await.get("idle"), Some(&10));
    gate.notify_one();
    while bytes.next().await.is_some() {}
}

#[tokio::test]
async fn sticky_keeps_a_session_on_one_channel() {
    let gateway = Gateway::start(&mocks(
        &[("a", ""), ("b", ""), ("c", "")],
        "routing: {strategy: sticky, session_header: x-conversation}",
    ));
    let mut seen = std::collections::HashSet::new();
    for session in 0..12 {
        let session = format!("conversation-{session}");
        let first = served_by(&gateway, &[("x-conversation", &session)]).await;
        for _ in 0..4 {
            assert_eq!(
                served_by(&gateway, &[("x-conversation", &session)]).await,
                first,
                "{session}"
            );
        }
        seen.insert(first);
    }
    assert!(seen.len() >= 2, "sessions spread over channels: {seen:?}");
}

#[tokio::test]
async fn provider_hints_prefer_or_pin() {
    let broken = FakeProvider::start().await;
    broken.set_default(Behaviour::error(ErrorReply::new(
        500,
        "server_error",
        "boom",
    )));
    let yaml = format!(
        "channels:\n  - name: remote\n    provider: openai\n    base_url: {}\n    api_key: k\n    models: [m]\n  - name: local\n    provider: mock\n    models: [m]\nrouting: {{strategy: failover}}\nroles: [{{name: all, models: [\"*\"]}}]\napi_keys: [{{name: t, key: {KEY}, role: all}}]\n",
        broken.base_url()
    );
    let gateway = Gateway::start(&yaml);
    // Preferred but failing: the request falls back to the next channel.
    assert_eq!(
        served_by(&gateway, &[("x-switchboard-provider", "remote")]).await,
        "local"
    );
    // Preferring a provider kind works like preferring a channel.
    assert_eq!(
        served_by(&gateway, &[("x-switchboard-provider", "mock")]).await,
        "local"
    );

    // Pinned: no fallback, the upstream's failure is the answer.
    let pinned = client()
        .post(gateway.url("/v1/chat/completions"))
        .bearer_auth(KEY)
        .header("x-switchboard-provider", "remote")
        .header("x-switchboard-strict-provider", "true")
        .json(&chat_body("m", false))
        .send()
        .await
        .expect("request");
    assert_eq!(pinned.status(), 500);
    assert_eq!(pinned.headers()["x-switchboard-attempts"], "1");

    let nowhere = client()
        .post(gateway.url("/v1/chat/completions"))
        .bearer_auth(KEY)
        .header("x-switchboard-provider", "bedrock")
        .header("x-switchboard-strict-provider", "true")
        .json(&chat_body("m", false))
        .send()
        .await
        .expect("request");
    assert_eq!(nowhere.status(), 404);
    let error: serde_json::Value = nowhere.json().await.expect("json");
    assert_eq!(error["error"]["code"], "provider_not_available");
}

#[tokio::test]
async fn health_channels_explains_each_channel() {
    let gateway = Gateway::start(&mocks(&[("a", "price_per_1k_tokens: 0.5"), ("b", "")], ""));
    let _ = served_by(&gateway, &[]).await;
    let body: serde_json::Value = get_json(&gateway, "/health/channels").await;
    let channels = body["channels"].as_array().expect("channels");
    assert_eq!(channels.len(), 2);
    assert_eq!(channels[0]["name"], "a");
    assert_eq!(channels[0]["healthy"], true);
    assert_eq!(channels[0]["price_per_1k_tokens"], 0.5);
    assert!(
        channels
            .iter()
            .any(|channel| channel["latency_ewma_ms"].is_number()),
        "{body}"
    );
}

fn fake_channel(name: &str, fake: &FakeProvider, extra: &str) -> String {
    format!(
        "  - name: {name}\n    provider: openai\n    base_url: {}\n    api_key: k\n    models: [m]\n{extra}",
        fake.base_url()
    )
}

fn with_channels(channels: &[String], routing: &str) -> String {
    format!(
        "channels:\n{}{routing}\nroles: [{{name: all, models: [\"*\"]}}]\napi_keys: [{{name: t, key: {KEY}, role: all}}]\n",
        channels.concat()
    )
}

#[tokio::test]
async fn a_retry_after_keeps_the_channel_out_until_then() {
    let limited = FakeProvider::start().await;
    limited.push(Behaviour::error(
        ErrorReply::new(429, "rate_limit_error", "slow down").with_retry_after(30),
    ));
    let backup = FakeProvider::start().await;
    let yaml = with_channels(
        &[
            fake_channel("limited", &limited, "    priority: 0\n"),
            fake_channel("backup", &backup, "    priority: 1\n"),
        ],
        "routing: {strategy: failover}",
    );
    let gateway = Gateway::start(&yaml);
    let first = post(&gateway, "/v1/chat/completions", &chat_body("m", false)).await;
    assert_eq!(first.headers()["x-switchboard-channel"], "backup");
    assert_eq!(first.headers()["x-switchboard-attempts"], "2");
    // The primary said "retry after 30 s": the next request does not bother it.
    let second = post(&gateway, "/v1/chat/completions", &chat_body("m", false)).await;
    assert_eq!(second.headers()["x-switchboard-channel"], "backup");
    assert_eq!(second.headers()["x-switchboard-attempts"], "1");
    assert_eq!(limited.requests().len(), 1);
}

#[tokio::test]
async fn when_every_channel_cools_down_the_request_waits_for_the_earliest_recovery() {
    let only = FakeProvider::start().await;
    only.push(Behaviour::error(
        ErrorReply::new(429, "rate_limit_error", "slow down").with_retry_after(1),
    ));
    let gateway = Gateway::start(&with_channels(&[fake_channel("only", &only, "")], ""));
    let limited = post(&gateway, "/v1/chat/completions", &chat_body("m", false)).await;
    assert_eq!(limited.status(), 429);

    let started = std::time::Instant::now();
    let recovered = post(&gateway, "/v1/chat/completions", &chat_body("m", false)).await;
    assert_eq!(recovered.status(), 200);
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(800),
        "it waited for the retry-after instead of hammering the upstream"
    );
    assert_eq!(only.requests().len(), 2);
}

#[tokio::test]
async fn a_channel_at_its_concurrency_cap_is_passed_over() {
    let capped = FakeProvider::start().await;
    let gate = Arc::new(Notify::new());
    capped.push(Behaviour {
        gate: Some(gate.clone()),
        ..Behaviour::text("occupying the only slot")
    });
    let yaml = with_channels(
        &[
            fake_channel(
                "capped",
                &capped,
                "    priority: 0\n    max_concurrent: 1\n",
            ),
            "  - name: spare\n    provider: mock\n    models: [m]\n    priority: 1\n".to_owned(),
        ],
        "routing: {strategy: failover}",
    );
    let gateway = Gateway::start(&yaml);
    let held = post(&gateway, "/v1/chat/completions", &chat_body("m", true)).await;
    assert_eq!(held.headers()["x-switchboard-channel"], "capped");
    let mut bytes = held.bytes_stream();
    let _first = bytes.next().await;

    assert_eq!(served_by(&gateway, &[]).await, "spare");
    gate.notify_one();
    while bytes.next().await.is_some() {}
    assert_eq!(
        served_by(&gateway, &[]).await,
        "capped",
        "the slot is free again"
    );
}

#[tokio::test]
async fn a_stream_longer_than_its_total_limit_is_cut_with_an_error_event() {
    let slow = FakeProvider::start().await;
    slow.set_default(Behaviour {
        chunk_delay: std::time::Duration::from_millis(150),
        ..Behaviour::text("one two three four five six seven eight")
    });
    let yaml = with_channels(
        &[fake_channel(
            "slow",
            &slow,
            "    timeouts: {total_ms: 500, idle_ms: 5000}\n",
        )],
        "",
    );
    let gateway = Gateway::start(&yaml);
    let text = post(&gateway, "/v1/chat/completions", &chat_body("m", true))
        .await
        .text()
        .await
        .expect("body");
    assert!(!text.contains("[DONE]"), "{text}");
    assert!(text.contains("total time limit"), "{text}");
}

#[tokio::test]
async fn api_request_answers_with_text_and_where_it_went() {
    let gateway = Gateway::start(&mocks(&[("a", ""), ("b", "")], ""));
    let body = serde_json::json!({"query": "What is a gateway?", "request_type": "chat", "context": {"model": "m", "provider": "b", "strict_provider": true, "system": "Be brief."}});
    let response = post(&gateway, "/api/request", &body).await;
    assert_eq!(response.status(), 200);
    let answer: serde_json::Value = response.json().await.expect("json");
    assert!(
        answer["response"]
            .as_str()
            .unwrap_or_default()
            .ends_with("You said: What is a gateway?"),
        "{answer}"
    );
    assert_eq!(answer["metadata"]["channel"], "b");
    assert_eq!(answer["metadata"]["provider"], "mock");
    assert_eq!(answer["metadata"]["attempts"], 1);
    assert!(
        answer["metadata"]["usage"]["output_tokens"]
            .as_u64()
            .unwrap_or_default()
            > 0
    );
    assert!(answer["metadata"]["latency_ms"].is_u64());

    let missing = post(
        &gateway,
        "/api/request",
        &serde_json::json!({"query": "hi"}),
    )
    .await;
    assert_eq!(missing.status(), 400);
    let error: serde_json::Value = missing.json().await.expect("json");
    assert_eq!(error["error"]["param"], "context.model");
}

#[tokio::test]
async fn openrouter_style_models_and_provider_preferences_steer_routing() {
    let broken = FakeProvider::start().await;
    broken.set_default(Behaviour::error(ErrorReply::new(
        503,
        "server_error",
        "down",
    )));
    let remote = format!(
        "  - name: remote\n    provider: openai\n    base_url: {}\n    api_key: k\n    models: [primary-model]\n",
        broken.base_url()
    );
    let yaml = format!(
        "channels:\n{remote}  - name: local\n    provider: mock\n    models: [backup-model]\n  - name: a\n    provider: mock\n    models: [m]\n  - name: b\n    provider: mock\n    models: [m]\nroles: [{{name: all, models: [\"*\"]}}]\napi_keys: [{{name: t, key: {KEY}, role: all}}]\n"
    );
    let gateway = Gateway::start(&yaml);

    // `models`: once every channel of the first model failed, the next model serves.
    let mut body = chat_body("primary-model", false);
    body["models"] = serde_json::json!(["backup-model"]);
    let response = post(&gateway, "/v1/chat/completions", &body).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-switchboard-channel"], "local");
    assert_eq!(response.headers()["x-switchboard-attempts"], "2");
    assert!(
        broken
            .requests()
            .iter()
            .all(|request| request.body.get("models").is_none()),
        "routing fields never reach upstreams"
    );

    // `provider.ignore` / `provider.only` / `provider.order` with `allow_fallbacks: false`.
    for (provider, expected) in [
        (serde_json::json!({"ignore": ["a"]}), "b"),
        (serde_json::json!({"only": ["a"]}), "a"),
        (
            serde_json::json!({"order": ["b"], "allow_fallbacks": false}),
            "b",
        ),
    ] {
        for _ in 0..5 {
            let mut body = chat_body("m", false);
            body["provider"] = provider.clone();
            let response = post(&gateway, "/v1/chat/completions", &body).await;
            assert_eq!(
                response.headers()["x-switchboard-channel"],
                expected,
                "{provider}"
            );
        }
    }
}

#[tokio::test]
async fn a_failing_channel_opens_its_circuit_and_recovers_by_itself() {
    let flaky = FakeProvider::start().await;
    flaky.push(Behaviour {
        times: Some(3),
        ..Behaviour::error(ErrorReply::new(500, "server_error", "melting"))
    });
    let yaml = with_channels(
        &[
            fake_channel("flaky", &flaky, "    priority: 0\n"),
            "  - name: backup\n    provider: mock\n    models: [m]\n    priority: 1\n".to_owned(),
        ],
        "routing: {strategy: failover, circuit: {failure_threshold: 3, cooldown_ms: 400}}",
    );
    let gateway = Gateway::start(&yaml);
    for _ in 0..3 {
        assert_eq!(served_by(&gateway, &[]).await, "backup");
    }
    // Open: the next request does not touch the broken channel at all.
    assert_eq!(served_by(&gateway, &[]).await, "backup");
    assert_eq!(flaky.requests().len(), 3);
    let status: serde_json::Value = get_json(&gateway, "/health/channels").await;
    assert_eq!(status["channels"][0]["healthy"], false);
    assert_eq!(status["channels"][0]["error_rate"], 1.0);
    assert!(
        status["channels"][0]["last_error"]
            .as_str()
            .unwrap_or_default()
            .contains("melting")
    );

    // After the cool-down the next request probes it; the fake has recovered, so it closes.
    tokio::time::sleep(std::time::Duration::from_millis(450)).await;
    assert_eq!(served_by(&gateway, &[]).await, "flaky");
    assert_eq!(served_by(&gateway, &[]).await, "flaky");
}

#[tokio::test]
async fn active_health_checks_take_a_dead_channel_out_without_traffic() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("port")
        .port();
    let alive = FakeProvider::start().await;
    let dead = format!(
        "  - name: dead\n    provider: openai\n    base_url: http://127.0.0.1:{port}/v1\n    api_key: k\n    models: [m]\n    health_check: {{interval_ms: 100, timeout_ms: 500}}\n"
    );
    let yaml = with_channels(
        &[
            dead,
            fake_channel(
                "alive",
                &alive,
                "    health_check: {interval_ms: 100, timeout_ms: 500}\n",
            ),
        ],
        "",
    );
    let gateway = Gateway::start(&yaml);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let status: serde_json::Value = get_json(&gateway, "/health/channels").await;
        if status["channels"][0]["healthy"] == false {
            assert!(
                status["channels"][0]["last_error"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("health check"),
                "{status}"
            );
            assert_eq!(status["channels"][1]["healthy"], true, "{status}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the probes never took the dead channel out: {status}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        alive
            .requests()
            .iter()
            .any(|request| request.method == "GET" && request.path == "/v1/models"),
        "probes list models, they never spend tokens"
    );
    assert!(
        alive
            .requests()
            .iter()
            .all(|request| request.path != "/v1/chat/completions")
    );
}

#[tokio::test]
async fn every_retryable_failure_of_the_primary_fails_over_to_the_backup() {
    let refused_port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("port")
        .port();
    for (case, behaviour) in [
        (
            "429",
            Some(Behaviour::error(ErrorReply::new(
                429,
                "rate_limit_error",
                "busy",
            ))),
        ),
        (
            "timeout",
            Some(Behaviour {
                hang: true,
                ..Behaviour::default()
            }),
        ),
        ("refused", None),
    ] {
        let primary = FakeProvider::start().await;
        let base_url = match &behaviour {
            Some(behaviour) => {
                primary.set_default(behaviour.clone());
                primary.base_url()
            }
            None => format!("http://127.0.0.1:{refused_port}/v1"),
        };
        let yaml = with_channels(
            &[
                format!(
                    "  - name: primary\n    provider: openai\n    base_url: {base_url}\n    api_key: k\n    models: [m]\n    priority: 0\n    timeouts: {{first_byte_ms: 300}}\n"
                ),
                "  - name: backup\n    provider: mock\n    models: [m]\n    priority: 1\n"
                    .to_owned(),
            ],
            "routing: {strategy: failover}",
        );
        let gateway = Gateway::start(&yaml);
        let response = post(&gateway, "/v1/chat/completions", &chat_body("m", false)).await;
        assert_eq!(response.status(), 200, "{case}");
        assert_eq!(
            response.headers()["x-switchboard-channel"],
            "backup",
            "{case}"
        );
        assert_eq!(response.headers()["x-switchboard-attempts"], "2", "{case}");
    }
}

#[tokio::test]
async fn a_split_alias_divides_traffic_by_percentage() {
    let yaml = "channels:\n  - {name: big, provider: mock, models: [big-model]}\n  - {name: small, provider: mock, models: [small-model]}\naliases:\n  assistant: {targets: [{model: big-model, weight: 80}, {model: small-model, weight: 20}]}\nroles: [{name: all, models: [\"*\"]}]\napi_keys: [{name: t, key: sk-test-alice-0001, role: all}]\n";
    let gateway = Gateway::start(yaml);
    let mut big = 0;
    for _ in 0..300 {
        let response = post(
            &gateway,
            "/v1/chat/completions",
            &chat_body("assistant", false),
        )
        .await;
        if response.headers()["x-switchboard-channel"] == "big" {
            big += 1;
        }
    }
    // Expected 240 of 300; four standard deviations are ±28.
    assert!(
        (212..=268).contains(&big),
        "{big} of 300 went to the 80% target"
    );
}

#[tokio::test]
async fn rules_redirect_small_requests_and_restrict_by_key_metadata() {
    let yaml = format!(
        "channels:\n  - {{name: cloud, provider: mock, models: [gpt-big], tags: [us]}}\n  - {{name: cloud-eu, provider: mock, models: [gpt-big], tags: [eu], region: eu}}\n  - {{name: local, provider: mock, models: [local-model]}}\n\
rules:\n  - {{name: small-goes-local, when: {{model: \"gpt-*\", max_input_tokens: 50}}, then: {{model: local-model}}}}\n  - {{name: eu-stays-in-eu, when: {{metadata: {{region: eu}}}}, then: {{require_tags: [eu]}}}}\n\
roles: [{{name: all, models: [\"*\"]}}]\napi_keys:\n  - {{name: us-key, key: {KEY}, role: all, metadata: {{region: us}}}}\n  - {{name: eu-key, key: sk-test-eu-000001, role: all, metadata: {{region: eu}}}}\n"
    );
    let gateway = Gateway::start(&yaml);
    let ask = |key: &'static str, text: String| {
        let gateway = &gateway;
        async move {
            let mut body = chat_body("gpt-big", false);
            body["messages"][1]["content"] = text.into();
            let response = client()
                .post(gateway.url("/v1/chat/completions"))
                .bearer_auth(key)
                .json(&body)
                .send()
                .await
                .expect("request");
            assert_eq!(response.status(), 200);
            response.headers()["x-switchboard-channel"]
                .to_str()
                .expect("ascii")
                .to_owned()
        }
    };
    let long = "word ".repeat(400);
    assert_eq!(
        ask(KEY, "short question".to_owned()).await,
        "local",
        "estimated tokens < 50 → the local model"
    );
    for _ in 0..10 {
        assert_eq!(
            ask("sk-test-eu-000001", long.clone()).await,
            "cloud-eu",
            "region eu → only channels tagged eu"
        );
    }
    let mut us = std::collections::HashSet::new();
    for _ in 0..20 {
        us.insert(ask(KEY, long.clone()).await);
    }
    assert!(
        us.contains("cloud"),
        "other keys may use any channel: {us:?}"
    );
}

#[test]
fn a_rule_that_points_nowhere_is_a_config_error() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("rules.yaml");
    std::fs::write(&path, "channels: [{name: a, provider: mock, models: [m]}]\nrules: [{when: {model: \"*\"}, then: {model: nowhere}}]\n").expect("write");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard-gateway"))
        .arg("--config")
        .arg(&path)
        .arg("check-config")
        .output()
        .expect("run");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("rules[0].then.model"), "{stderr}");
}

#[tokio::test]
async fn non_retryable_errors_return_at_once_without_trying_the_backup() {
    for (status, kind) in [
        (400, "invalid_request_error"),
        (401, "invalid_request_error"),
        (403, "permission_error"),
        (404, "invalid_request_error"),
        (422, "invalid_request_error"),
    ] {
        let primary = FakeProvider::start().await;
        primary.set_default(Behaviour::error(ErrorReply::new(
            status,
            kind,
            "the caller must fix this",
        )));
        let backup = FakeProvider::start().await;
        let yaml = with_channels(
            &[
                fake_channel("primary", &primary, "    priority: 0\n"),
                fake_channel("backup", &backup, "    priority: 1\n"),
            ],
            "routing: {strategy: failover}",
        );
        let gateway = Gateway::start(&yaml);
        let response = post(&gateway, "/v1/chat/completions", &chat_body("m", false)).await;
        assert_eq!(response.status().as_u16(), status);
        assert_eq!(
            response.headers()["x-switchboard-attempts"],
            "1",
            "{status}"
        );
        assert!(
            backup.requests().is_empty(),
            "{status}: a caller's error is not retried elsewhere"
        );
    }
}

#[tokio::test]
async fn provider_weights_from_the_environment_set_channel_weights() {
    let gateway = Gateway::start_with_env(
        &mocks(&[("a", ""), ("b", "")], ""),
        &[("PROVIDER_WEIGHTS", "a:1,b:9")],
    );
    let counts = distribution(&gateway, 300, &[]).await;
    let b = counts.get("b").copied().unwrap_or_default();
    // Expected 270 of 300; four standard deviations are ±21.
    assert!((249..=291).contains(&b), "{counts:?}");
}
