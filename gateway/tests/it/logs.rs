//! Logs an operator can read: no colour codes off a terminal, `log.format: json`, one access
//! line per request (that can be turned off), circuit openings and closings at warn.

use std::time::{Duration, Instant};

use serde_json::Value;
use switchboard_load_tests::{Behaviour, ErrorReply, FakeProvider};

use crate::common::{Gateway, chat_body, client, config, post};

fn start(fake: &FakeProvider, log: &str) -> Gateway {
    let yaml = config(&fake.base_url(), "") + log;
    Gateway::start_with_env(&yaml, &[("RUST_LOG", "info")])
}

/// The gateway's lines that contain `needle`, once there are `count` of them.
async fn lines(gateway: &Gateway, needle: &str, count: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let found: Vec<String> = gateway
            .logs()
            .lines()
            .filter(|line| line.contains(needle))
            .map(str::to_owned)
            .collect();
        if found.len() >= count || Instant::now() > deadline {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn text_logs_have_no_colour_codes_and_one_access_line_per_request() {
    let fake = FakeProvider::start().await;
    let gateway = start(&fake, "");
    let ok = post(
        &gateway,
        "/v1/chat/completions",
        &chat_body("gpt-test", false),
    )
    .await;
    assert_eq!(ok.status(), 200);
    let request_id = ok.headers()["x-request-id"]
        .to_str()
        .expect("id")
        .to_owned();
    let refused = client()
        .post(gateway.url("/v1/chat/completions"))
        .bearer_auth("sk-nobody-00000001")
        .json(&chat_body("gpt-test", false))
        .send()
        .await
        .expect("request");
    assert_eq!(refused.status(), 401);

    let access = lines(&gateway, "access:", 2).await;
    assert_eq!(access.len(), 2, "one line per request: {access:?}");
    let served = &access[0];
    for field in [
        format!("request_id=\"{request_id}\""),
        "key=\"alice\"".to_owned(),
        "protocol=\"openai\"".to_owned(),
        "model=\"gpt-test\"".to_owned(),
        "channel=\"primary\"".to_owned(),
        "attempts=1".to_owned(),
        "status=200".to_owned(),
        "latency_ms=".to_owned(),
        "input_tokens=".to_owned(),
        "output_tokens=".to_owned(),
    ] {
        assert!(served.contains(&field), "`{field}` in {served}");
    }
    assert!(access[1].contains("status=401"), "{}", access[1]);
    assert!(access[1].contains("error="), "{}", access[1]);
    // Other endpoints get a line of their own, but for what load balancers poll.
    for path in ["/v1/nowhere", "/health", "/ready"] {
        let _ = client()
            .get(gateway.url(path))
            .send()
            .await
            .expect("request");
    }
    let unknown = lines(&gateway, "path=\"/v1/nowhere\"", 1).await;
    assert!(unknown[0].contains("status=404"), "{unknown:?}");
    assert!(
        !gateway.logs().contains("path=\"/health\""),
        "{}",
        gateway.logs()
    );
    let logs = gateway.logs();
    assert!(
        !logs.contains('\u{1b}'),
        "no escape codes off a terminal:\n{logs}"
    );
}

#[tokio::test]
async fn json_logs_are_one_object_a_line_with_the_access_fields() {
    let fake = FakeProvider::start().await;
    let gateway = start(&fake, "log: {format: json}\n");
    let ok = post(
        &gateway,
        "/v1/chat/completions",
        &chat_body("gpt-test", false),
    )
    .await;
    assert_eq!(ok.status(), 200);
    let access = lines(&gateway, "\"target\":\"access\"", 1).await;
    assert_eq!(access.len(), 1, "{}", gateway.logs());
    for line in gateway.logs().lines() {
        let parsed: Result<Value, _> = serde_json::from_str(line);
        assert!(parsed.is_ok(), "not JSON: {line}");
    }
    let line: Value = serde_json::from_str(&access[0]).expect("json");
    let fields = &line["fields"];
    assert_eq!(fields["key"], "alice", "{line}");
    assert_eq!(fields["channel"], "primary", "{line}");
    assert_eq!(fields["status"], 200, "{line}");
    assert!(fields["output_tokens"].as_u64().is_some(), "{line}");
}

#[tokio::test]
async fn access_lines_can_be_turned_off() {
    let fake = FakeProvider::start().await;
    let gateway = start(&fake, "log: {access: false}\n");
    for _ in 0..3 {
        let response = post(
            &gateway,
            "/v1/chat/completions",
            &chat_body("gpt-test", false),
        )
        .await;
        assert_eq!(response.status(), 200);
    }
    let logs = gateway.logs();
    assert!(logs.contains("listening"), "{logs}");
    assert!(!logs.contains("access:"), "{logs}");
}

#[tokio::test]
async fn circuit_openings_and_closings_are_warnings_naming_the_channel() {
    let fake = FakeProvider::start().await;
    let gateway = start(
        &fake,
        "routing:\n  circuit: {failure_threshold: 2, cooldown_ms: 300}\n",
    );
    fake.push(Behaviour {
        times: Some(2),
        ..Behaviour::error(ErrorReply::new(500, "server_error", "melting"))
    });
    for _ in 0..2 {
        let response = post(
            &gateway,
            "/v1/chat/completions",
            &chat_body("gpt-test", false),
        )
        .await;
        assert_eq!(response.status(), 500);
    }
    let opened = lines(&gateway, "circuit opened", 1).await;
    assert_eq!(opened.len(), 1, "{}", gateway.logs());
    assert!(opened[0].contains("WARN"), "{}", opened[0]);
    assert!(opened[0].contains("channel=primary"), "{}", opened[0]);
    assert!(opened[0].contains("melting"), "says why: {}", opened[0]);
    // The cool-down passes; the next request probes the channel, which answers.
    tokio::time::sleep(Duration::from_millis(350)).await;
    let response = post(
        &gateway,
        "/v1/chat/completions",
        &chat_body("gpt-test", false),
    )
    .await;
    assert_eq!(response.status(), 200);
    let closed = lines(&gateway, "circuit closed", 1).await;
    assert_eq!(closed.len(), 1, "{}", gateway.logs());
    assert!(closed[0].contains("WARN") && closed[0].contains("channel=primary"));
}
