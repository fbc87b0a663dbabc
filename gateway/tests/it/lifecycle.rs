//! The gateway as an operator sees it: startup validation, health and readiness, model listing,
//! metrics, rate limits, and graceful shutdown.

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use switchboard_load_tests::{Behaviour, ErrorReply, FakeProvider};
use tokio::sync::Notify;

use crate::common::{
    Gateway, KEY, chat_body, client, config, expect_openai_error, get_json, post, sse_data,
};

#[test]
fn an_invalid_config_exits_non_zero_naming_file_and_field() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("broken.yaml");
    std::fs::write(&path, config("not a url", "")).expect("write");
    let output = Command::new(env!("CARGO_BIN_EXE_switchboard-gateway"))
        .arg("--config")
        .arg(&path)
        .output()
        .expect("run");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("broken.yaml"), "{stderr}");
    assert!(stderr.contains("channels[0].base_url"), "{stderr}");

    let output = Command::new(env!("CARGO_BIN_EXE_switchboard-gateway"))
        .args(["--config", "/nonexistent/switchboard.yaml"])
        .output()
        .expect("run");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("/nonexistent/switchboard.yaml"));
}

#[test]
fn check_config_prints_a_summary_without_secrets_and_env_overrides_apply() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("good.yaml");
    std::fs::write(&path, config("${TEST_UPSTREAM_URL}", "")).expect("write");
    let output = Command::new(env!("CARGO_BIN_EXE_switchboard-gateway"))
        .arg("--config")
        .arg(&path)
        .arg("check-config")
        .env("TEST_UPSTREAM_URL", "http://127.0.0.1:1/v1")
        .env("SWITCHBOARD_CHANNELS__0__NAME", "renamed")
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("1 channels (renamed:openai)"), "{stdout}");
    assert!(stdout.contains("2 API keys"), "{stdout}");
    assert!(
        !stdout.contains("sk-"),
        "no secret in the summary: {stdout}"
    );
}

#[tokio::test]
async fn health_reports_channels_and_turns_503_when_none_can_serve() {
    let fake = FakeProvider::start().await;
    let gateway = Gateway::start(&config(&fake.base_url(), ""));
    let health: serde_json::Value = get_json(&gateway, "/health").await;
    assert_eq!(health["status"], "healthy");
    assert_eq!(health["providers"]["primary"]["healthy"], true);
    let ready = client()
        .get(gateway.url("/ready"))
        .send()
        .await
        .expect("ready");
    assert_eq!(ready.status(), 200);

    fake.set_default(Behaviour::error(ErrorReply::new(
        500,
        "server_error",
        "down",
    )));
    for _ in 0..3 {
        let _ = post(
            &gateway,
            "/v1/chat/completions",
            &chat_body("gpt-test", false),
        )
        .await;
    }
    let response = client()
        .get(gateway.url("/health"))
        .send()
        .await
        .expect("health");
    assert_eq!(response.status(), 503);
    let health: serde_json::Value = response.json().await.expect("json");
    assert_eq!(health["status"], "unhealthy");
    assert_eq!(health["providers"]["primary"]["healthy"], false);
    assert!(
        health["providers"]["primary"]["last_error"]
            .as_str()
            .unwrap_or_default()
            .contains("down")
    );
}

#[tokio::test]
async fn models_lists_what_the_callers_role_may_use() {
    let fake = FakeProvider::start().await;
    let gateway = Gateway::start(&config(&fake.base_url(), ""));
    let list: serde_json::Value = client()
        .get(gateway.url("/v1/models"))
        .bearer_auth(KEY)
        .send()
        .await
        .expect("models")
        .json()
        .await
        .expect("json");
    assert_eq!(list["object"], "list");
    let ids: Vec<&str> = list["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|model| model["id"].as_str())
        .collect();
    assert_eq!(ids, ["fast", "gpt-test"]);
    assert_eq!(list["data"][0]["object"], "model");
    assert_eq!(list["data"][0]["owned_by"], "primary");

    let limited: serde_json::Value = client()
        .get(gateway.url("/v1/models"))
        .bearer_auth("sk-test-bob-00002")
        .send()
        .await
        .expect("models")
        .json()
        .await
        .expect("json");
    assert_eq!(limited["data"], serde_json::json!([]));

    let one = client()
        .get(gateway.url("/v1/models/fast"))
        .bearer_auth(KEY)
        .send()
        .await
        .expect("model");
    assert_eq!(one.status(), 200);
    let missing = client()
        .get(gateway.url("/v1/models/nope"))
        .bearer_auth(KEY)
        .send()
        .await
        .expect("model");
    expect_openai_error(missing, 404).await;
    let anonymous = client()
        .get(gateway.url("/v1/models"))
        .send()
        .await
        .expect("models");
    expect_openai_error(anonymous, 401).await;
}

#[tokio::test]
async fn metrics_count_requests_and_tokens() {
    let fake = FakeProvider::start().await;
    // A dollar a token makes the cost metric easy to check against the token counters.
    let priced = format!(
        "{}prices: {{models: {{gpt-test: {{input_per_million: 1000000, output_per_million: 1000000}}}}}}\n",
        config(&fake.base_url(), "")
    );
    let gateway = Gateway::start(&priced);
    assert_eq!(
        post(&gateway, "/v1/chat/completions", &chat_body("fast", false))
            .await
            .status(),
        200
    );
    let metrics = client()
        .get(gateway.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    let requests = metrics
        .lines()
        .find(|line| {
            line.starts_with("switchboard_requests_total{") && line.contains("model=\"gpt-test\"")
        })
        .unwrap_or_else(|| panic!("no request counter in:\n{metrics}"));
    assert!(
        requests.contains("status=\"200\"") && requests.ends_with(" 1"),
        "{requests}"
    );
    assert!(metrics.contains("switchboard_tokens_total{"), "{metrics}");
    let counter = |prefix: &str| -> u64 {
        metrics
            .lines()
            .filter(|line| line.starts_with(prefix) && line.contains("model=\"gpt-test\""))
            .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
            .sum()
    };
    let tokens = counter("switchboard_tokens_total{");
    assert!(tokens > 0, "{metrics}");
    assert_eq!(
        counter("switchboard_cost_microdollars_total{"),
        tokens * 1_000_000,
        "{metrics}"
    );
    assert!(
        metrics.contains(
            "switchboard_upstream_attempts_total{channel=\"primary\",outcome=\"success\"} 1"
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains("switchboard_request_duration_seconds_bucket"),
        "{metrics}"
    );
}

#[tokio::test]
async fn role_request_limits_answer_429_with_retry_after() {
    let fake = FakeProvider::start().await;
    let yaml = config(&fake.base_url(), "").replace(
        "  - name: full\n    models: [\"*\"]\n",
        "  - name: full\n    models: [\"*\"]\n    limits: {requests_per_minute: 2}\n",
    );
    let gateway = Gateway::start(&yaml);
    for remaining in ["1", "0"] {
        let response = post(
            &gateway,
            "/v1/chat/completions",
            &chat_body("gpt-test", false),
        )
        .await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["x-ratelimit-limit-requests"], "2");
        assert_eq!(
            response.headers()["x-ratelimit-remaining-requests"],
            remaining
        );
    }
    let response = post(
        &gateway,
        "/v1/chat/completions",
        &chat_body("gpt-test", false),
    )
    .await;
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=30).contains(&retry_after), "{retry_after}");
    let error = expect_openai_error(response, 429).await;
    assert_eq!(error["error"]["code"], "rate_limit_exceeded");
    assert_eq!(
        fake.requests().len(),
        2,
        "denied requests never reach the upstream"
    );
}

#[tokio::test]
async fn sigterm_lets_an_in_flight_stream_finish_then_exits() {
    let fake = FakeProvider::start().await;
    let gate = Arc::new(Notify::new());
    fake.push(Behaviour {
        gate: Some(gate.clone()),
        ..Behaviour::text("before after")
    });
    let mut gateway = Gateway::start(&config(&fake.base_url(), ""));

    let response = post(
        &gateway,
        "/v1/chat/completions",
        &chat_body("gpt-test", true),
    )
    .await;
    let mut body = response.bytes_stream();
    let mut seen = String::new();
    while !seen.contains("before") {
        seen.push_str(&String::from_utf8_lossy(
            &body.next().await.expect("open").expect("bytes"),
        ));
    }
    gateway.terminate();
    // Readiness flips as soon as shutdown starts; new connections are refused once the
    // listener is closed, so either outcome shows the node is draining.
    let ready = client().get(gateway.url("/ready")).send().await;
    assert!(
        ready
            .map(|response| response.status() == 503)
            .unwrap_or(true)
    );

    gate.notify_one();
    while let Some(chunk) = body.next().await {
        seen.push_str(&String::from_utf8_lossy(
            &chunk.expect("the stream finishes cleanly"),
        ));
    }
    let payloads = sse_data(&seen);
    assert_eq!(
        payloads.last().map(String::as_str),
        Some("[DONE]"),
        "{seen}"
    );
    assert!(gateway.wait(Duration::from_secs(10)).success());
}

#[tokio::test]
async fn secrets_never_reach_the_logs_even_at_debug_level() {
    let fake = FakeProvider::start().await;
    fake.push(Behaviour::error(ErrorReply::new(
        500,
        "server_error",
        "failing once",
    )));
    let gateway = crate::common::Gateway::start_with_env(
        &config(&fake.base_url(), ""),
        &[("RUST_LOG", "debug")],
    );
    let _ = post(
        &gateway,
        "/v1/chat/completions",
        &chat_body("gpt-test", false),
    )
    .await;
    let _ = client()
        .post(gateway.url("/v1/chat/completions"))
        .bearer_auth("sk-wrong-key-0000001")
        .json(&chat_body("gpt-test", false))
        .send()
        .await;
    assert_eq!(
        post(
            &gateway,
            "/v1/chat/completions",
            &chat_body("gpt-test", false)
        )
        .await
        .status(),
        200
    );

    let logs = gateway.logs();
    assert!(logs.contains("access:"), "access lines are on: {logs}");
    for secret in [crate::common::UPSTREAM_KEY, KEY, "sk-wrong-key-0000001"] {
        assert!(
            !logs.contains(secret),
            "`{secret}` appears in the logs:\n{logs}"
        );
    }
}
