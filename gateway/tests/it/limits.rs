//! Token, concurrency and budget limits on one standalone gateway: what passes, what is refused
//! and how the refusal reads in each client protocol. (The same limits across several nodes on
//! Redis are in `cluster.rs`.)

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::common::{Gateway, client, expect_openai_error};

/// The mock model `m` at $1,000 per million tokens in and out (a thousand micro-dollars a token), so a one-word prompt (4 tokens with framing) answered with 5 tokens
/// costs exactly $0.009 — and the gateway's estimate for it (`max_tokens: 5`) is the same.
const PRICED: &str = "prices: {models: {m: {input_per_million: 1000, output_per_million: 1000}}}\n";

fn chat(max_tokens: u64) -> Value {
    json!({"model": "m", "max_tokens": max_tokens, "messages": [{"role": "user", "content": "hi"}]})
}

async fn send(gateway: &Gateway, key: &str, body: &Value) -> reqwest::Response {
    client()
        .post(gateway.url("/v1/chat/completions"))
        .bearer_auth(key)
        .json(body)
        .send()
        .await
        .expect("request")
}

/// Retries until the gateway admits the request or `within` passes: for effects that land just
/// after a response (settlement runs off the response path).
async fn admitted_within(gateway: &Gateway, key: &str, body: &Value, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if send(gateway, key, body).await.status() == 200 {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        tokio::task::yield_now().await;
    }
}

fn tomorrow() -> String {
    let today = time::OffsetDateTime::now_utc().date();
    format!("{}T00:00:00Z", today.next_day().expect("a next day"))
}

#[tokio::test]
async fn a_budget_stops_at_its_limit_names_itself_and_leaves_other_tenants_alone() {
    let gateway = Gateway::start(&format!(
        "channels: [{{name: local, provider: mock, models: [m], mock: {{reply: \"one two three four five six\"}}}}]\n\
         roles: [{{name: open, models: [\"*\"]}}]\n\
         tenants:\n  - {{name: acme, limits: {{daily_budget_usd: 0.09}}}}\n  - {{name: beta, limits: {{monthly_budget_usd: 0.018}}}}\n\
         api_keys:\n  - {{name: acme-key, key: sk-acme-key-0001, role: open, metadata: {{tenant: acme}}}}\n  - {{name: beta-key, key: sk-beta-key-0001, role: open, metadata: {{tenant: beta}}}}\n\
         {PRICED}"
    ));
    // Ten requests of $0.009 spend the $0.09 exactly; a streamed one is charged from the usage
    // at the end of its stream like the others.
    let mut streamed = chat(5);
    streamed["stream"] = true.into();
    let response = send(&gateway, "sk-acme-key-0001", &streamed).await;
    assert_eq!(response.status(), 200);
    assert!(response.text().await.expect("stream").contains("[DONE]"));
    // Each answer says what the tightest budget has left after its reservation.
    let second = send(&gateway, "sk-acme-key-0001", &chat(5)).await;
    assert_eq!(second.status(), 200);
    assert_eq!(
        second.headers()["x-switchboard-budget-remaining-usd"],
        "0.072000"
    );
    for _ in 0..8 {
        assert_eq!(
            send(&gateway, "sk-acme-key-0001", &chat(5)).await.status(),
            200
        );
    }
    // The stream's settlement may land just after its response; once it has, acme is spent.
    let mut last = send(&gateway, "sk-acme-key-0001", &chat(5)).await;
    let deadline = Instant::now() + Duration::from_secs(3);
    while last.status() == 200 && Instant::now() < deadline {
        last = send(&gateway, "sk-acme-key-0001", &chat(5)).await;
    }
    // OpenAI's own words for a spent quota: 429 insufficient_quota, not worth a retry.
    assert_eq!(last.headers()["x-should-retry"], "false");
    let body = expect_openai_error(last, 429).await;
    assert_eq!(body["error"]["type"], "insufficient_quota");
    assert_eq!(body["error"]["code"], "budget_exceeded");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("the daily budget of tenant `acme` ($0.09) is spent ($0.09 used)"),
        "{message}"
    );
    assert!(
        message.contains(&format!("resets at {}", tomorrow())),
        "{message}"
    );

    // Anthropic and Gemini clients hear it in their own shapes.
    let anthropic = client()
        .post(gateway.url("/v1/messages"))
        .header("x-api-key", "sk-acme-key-0001")
        .header("anthropic-version", "2023-06-01")
        .json(&chat(5))
        .send()
        .await
        .expect("request");
    assert_eq!(anthropic.status(), 402);
    let body: Value = anthropic.json().await.expect("json");
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "billing_error");
    let gemini = client()
        .post(gateway.url("/v1beta/models/m:generateContent"))
        .header("x-goog-api-key", "sk-acme-key-0001")
        .json(&json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}], "generationConfig": {"maxOutputTokens": 5}}))
        .send()
        .await
        .expect("request");
    assert_eq!(gemini.status(), 429);
    let body: Value = gemini.json().await.expect("json");
    assert_eq!(body["error"]["status"], "RESOURCE_EXHAUSTED");

    // Beta's budget is its own: acme's exhaustion takes nothing from it, and its refusal names
    // beta's monthly budget, not acme's.
    for _ in 0..2 {
        assert_eq!(
            send(&gateway, "sk-beta-key-0001", &chat(5)).await.status(),
            200
        );
    }
    let body = expect_openai_error(send(&gateway, "sk-beta-key-0001", &chat(5)).await, 429).await;
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("monthly budget of tenant `beta` ($0.018)"),
        "{message}"
    );
    assert!(!message.contains("acme"), "{message}");
}

#[tokio::test]
async fn a_request_is_refused_when_its_estimate_does_not_fit_the_budget_left() {
    let gateway = Gateway::start(&format!(
        "channels: [{{name: local, provider: mock, models: [m], mock: {{reply: \"a b\"}}}}]\n\
         roles: [{{name: open, models: [\"*\"], limits: {{daily_budget_usd: 0.05}}}}]\n\
         api_keys: [{{name: solo, key: sk-solo-key-0001, role: open}}]\n{PRICED}"
    ));
    // max_tokens 100: an estimate of 104 tokens ($0.104) cannot be reserved from $0.05 ...
    let body = expect_openai_error(send(&gateway, "sk-solo-key-0001", &chat(100)).await, 429).await;
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("the daily budget of API key `solo` ($0.05) has $0.05 left, less than this request's estimated $0.104"),
        "{message}"
    );
    // ... while requests that fit are served and charged what they used ($0.006: 4 tokens in,
    // 2 out), not their estimate ($0.014): seven fit in $0.05, not three.
    for request in 0..7 {
        assert!(
            admitted_within(
                &gateway,
                "sk-solo-key-0001",
                &chat(10),
                Duration::from_secs(3)
            )
            .await,
            "request {request} fits once the earlier ones are settled"
        );
    }
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let body =
            expect_openai_error(send(&gateway, "sk-solo-key-0001", &chat(10)).await, 429).await;
        let message = body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if message.contains("has $0.008 left, less than this request's estimated $0.014") {
            break;
        }
        assert!(Instant::now() < deadline, "{message}");
    }
}

#[tokio::test]
async fn token_limits_reserve_the_estimate_and_give_back_what_was_not_used() {
    let gateway = Gateway::start(
        "channels: [{name: local, provider: mock, models: [m], mock: {reply: \"a b\"}}]\n\
         roles: [{name: open, models: [\"*\"]}]\n\
         api_keys: [{name: tpm, key: sk-tpm-key-0001, role: open, limits: {tokens_per_minute: 30}}]\n",
    );
    // Estimate: 4 input + 15 (max_tokens) = 19 of the 30; the answer uses 4 + 2 = 6.
    let first = send(&gateway, "sk-tpm-key-0001", &chat(15)).await;
    assert_eq!(first.status(), 200);
    assert_eq!(first.headers()["x-ratelimit-limit-tokens"], "30");
    assert_eq!(first.headers()["x-ratelimit-remaining-tokens"], "11");
    // Without the correction, 19 more tokens would take 16 s to refill at 30 a minute; with
    // it, the 13 unused tokens are back at once.
    assert!(
        admitted_within(
            &gateway,
            "sk-tpm-key-0001",
            &chat(15),
            Duration::from_secs(3)
        )
        .await,
        "the unused part of the estimate was given back"
    );
    // A request that needs more than is left is refused, in OpenAI's shape, with retry-after.
    let denied = send(&gateway, "sk-tpm-key-0001", &chat(25)).await;
    assert!(denied.headers().contains_key("retry-after"));
    let body = expect_openai_error(denied, 429).await;
    assert_eq!(body["error"]["code"], "rate_limit_exceeded");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message
            .contains("API key `tpm` allows 30 tokens per minute and this request needs about 29"),
        "{message}"
    );
}

#[tokio::test]
async fn concurrent_requests_beyond_the_limit_are_refused_until_one_finishes() {
    let gateway = Gateway::start(
        "channels: [{name: local, provider: mock, models: [m], mock: {latency_ms: 500}}]\n\
         roles: [{name: open, models: [\"*\"], limits: {max_concurrent_requests: 2}}]\n\
         api_keys: [{name: busy, key: sk-busy-key-0001, role: open}]\n",
    );
    let body = chat(5);
    let responses = join_all((0..6).map(|_| send(&gateway, "sk-busy-key-0001", &body))).await;
    let mut ok = 0;
    for response in responses {
        if response.status() == 200 {
            ok += 1;
            continue;
        }
        assert_eq!(response.headers()["retry-after"], "1");
        let body = expect_openai_error(response, 429).await;
        assert_eq!(body["error"]["code"], "concurrency_limit_exceeded");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("API key `busy` allows 2 at once"),
            "{message}"
        );
    }
    assert_eq!(ok, 2, "exactly the limit is in flight at once");
    // Finished requests release their leases.
    assert!(
        admitted_within(
            &gateway,
            "sk-busy-key-0001",
            &chat(5),
            Duration::from_secs(3)
        )
        .await
    );
}

#[tokio::test]
async fn a_roles_shared_limit_counts_all_its_keys_across_tenants() {
    let gateway = Gateway::start(
        "channels: [{name: local, provider: mock, models: [m]}]\n\
         roles: [{name: interns, models: [\"*\"], limits: {requests_per_minute: 3}, shared_limits: {requests_per_minute: 4}}]\n\
         tenants: [{name: acme}, {name: beta}]\n\
         api_keys:\n  - {name: acme-intern, key: sk-acme-intern-01, role: interns, metadata: {tenant: acme}}\n  - {name: beta-intern, key: sk-beta-intern-01, role: interns, metadata: {tenant: beta}}\n",
    );
    // Each key may send 3 a minute, but the role's 4 are shared by both tenants' keys.
    let mut served = 0;
    for _ in 0..3 {
        for key in ["sk-acme-intern-01", "sk-beta-intern-01"] {
            if send(&gateway, key, &chat(5)).await.status() == 200 {
                served += 1;
            }
        }
    }
    assert_eq!(served, 4);
    let body = expect_openai_error(send(&gateway, "sk-beta-intern-01", &chat(5)).await, 429).await;
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("role `interns` (all its keys together) allows 4 requests per minute"),
        "{message}"
    );
}

#[tokio::test]
async fn fail_closed_refuses_only_the_limit_kinds_it_names_while_redis_is_away() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("port")
        .port();
    let gateway = Gateway::start(&format!(
        "channels: [{{name: local, provider: mock, models: [m]}}]\n\
         roles: [{{name: open, models: [\"*\"]}}]\n\
         api_keys:\n  - {{name: counted, key: sk-counted-key-01, role: open, limits: {{requests_per_minute: 100}}}}\n  - {{name: paying, key: sk-paying-key-01, role: open, limits: {{daily_budget_usd: 5}}}}\n\
         {PRICED}state: {{redis_url: \"redis://127.0.0.1:{port}\", fail_closed: [budgets]}}\n"
    ));
    // Request limits fall back to node-local ones; budgets are refused rather than guessed.
    assert_eq!(
        send(&gateway, "sk-counted-key-01", &chat(5)).await.status(),
        200
    );
    let body = expect_openai_error(send(&gateway, "sk-paying-key-01", &chat(5)).await, 503).await;
    assert_eq!(body["error"]["code"], "shared_state_unavailable");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("Budgets cannot be checked right now"),
        "{body}"
    );
}
