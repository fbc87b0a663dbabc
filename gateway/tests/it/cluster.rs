//! Several gateway nodes on one Redis behave as one: a limit of N requests per minute admits
//! exactly N across the nodes under a concurrent flood. And when Redis is unreachable the
//! gateway keeps serving on node-local limits and says it is degraded.
//!
//! These tests need a Redis at `SWITCHBOARD_TEST_REDIS_URL` (default `redis://127.0.0.1:6379`);
//! they fail loudly, not skip, when there is none. Each test uses its own key prefix.

use futures_util::future::join_all;

use crate::common::{Gateway, KEY, chat_body, client, get_json, post};

fn redis_url() -> String {
    let url = std::env::var("SWITCHBOARD_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let address = url
        .trim_start_matches("redis://")
        .split('/')
        .next()
        .unwrap_or("127.0.0.1:6379")
        .to_owned();
    if std::net::TcpStream::connect(&address).is_err() {
        panic!(
            "these tests need Redis at {url}: start one with `redis-server --port 6379 --save ''` or `docker compose up -d redis`"
        );
    }
    url
}

fn node_config(redis_url: &str, prefix: &str, requests_per_minute: u32) -> String {
    format!(
        "channels: [{{name: local, provider: mock, models: [m]}}]\nroles: [{{name: limited, models: [\"*\"], limits: {{requests_per_minute: {requests_per_minute}}}}}]\napi_keys: [{{name: team, key: {KEY}, role: limited, metadata: {{tenant: acme}}}}]\nstate: {{redis_url: \"{redis_url}\", key_prefix: \"{prefix}\"}}\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_admit_exactly_the_limit_under_a_concurrent_flood() {
    let url = redis_url();
    let prefix = format!("sbtest{:x}", fastrand::u64(..));
    let yaml = node_config(&url, &prefix, 20);
    let nodes = [
        Gateway::start(&yaml),
        Gateway::start(&yaml),
        Gateway::start(&yaml),
    ];
    let http = client();
    let requests = (0..60).map(|index| {
        let url = nodes[index % 3].url("/v1/chat/completions");
        let http = http.clone();
        async move {
            http.post(url)
                .bearer_auth(KEY)
                .json(&chat_body("m", false))
                .send()
                .await
                .expect("request")
                .status()
                .as_u16()
        }
    });
    let statuses = join_all(requests).await;
    let admitted = statuses.iter().filter(|status| **status == 200).count();
    let limited = statuses.iter().filter(|status| **status == 429).count();
    assert_eq!((admitted, limited), (20, 40), "{statuses:?}");
    for node in &nodes {
        let ready: serde_json::Value = get_json(node, "/ready").await;
        assert_eq!(ready["shared_state"], "redis");
    }
}

#[tokio::test]
async fn an_unreachable_redis_falls_back_to_local_limits_and_says_so() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("port")
        .port();
    let yaml = node_config(&format!("redis://127.0.0.1:{port}"), "sbdown", 3);
    let gateway = Gateway::start(&yaml);
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let response = post(&gateway, "/v1/chat/completions", &chat_body("m", false)).await;
        statuses.push(response.status().as_u16());
    }
    assert_eq!(
        statuses,
        [200, 200, 200, 429],
        "node-local limits still hold"
    );
    let ready = client()
        .get(gateway.url("/ready"))
        .send()
        .await
        .expect("ready");
    assert_eq!(ready.status(), 200, "degraded still serves");
    let ready: serde_json::Value = ready.json().await.expect("json");
    assert_eq!(ready["shared_state"], "degraded");
    let metrics = client()
        .get(gateway.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains("switchboard_shared_state_degraded 1"),
        "{metrics}"
    );
}

/// A Redis of the test's own on a free port, so stopping it never touches a shared one.
struct OwnRedis {
    port: u16,
    child: std::process::Child,
    _dir: tempfile::TempDir,
}

impl OwnRedis {
    fn start_on(port: u16) -> OwnRedis {
        Self::start_with(port, &[])
    }

    fn start_with(port: u16, extra: &[&str]) -> OwnRedis {
        let dir = tempfile::tempdir().expect("dir");
        let child = std::process::Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(extra)
            .current_dir(dir.path())
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server must be installed for the cluster tests (apt-get install redis-server)");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "redis-server did not start on {port}"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        OwnRedis {
            port,
            child,
            _dir: dir,
        }
    }

    fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn shared_state(gateway: &Gateway) -> String {
    let ready: serde_json::Value = get_json(gateway, "/ready").await;
    ready["shared_state"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_redis_mid_traffic_fails_no_request_and_the_nodes_come_back_to_it() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("port")
        .port();
    let redis = OwnRedis::start_on(port);
    let yaml = node_config(
        &format!("redis://127.0.0.1:{}", redis.port),
        "sbstop",
        100_000,
    );
    let nodes = [Gateway::start(&yaml), Gateway::start(&yaml)];
    let send = |node: &Gateway| {
        let url = node.url("/v1/chat/completions");
        async move {
            client()
                .post(url)
                .bearer_auth(KEY)
                .json(&chat_body("m", false))
                .send()
                .await
                .expect("request")
                .status()
                .as_u16()
        }
    };
    for node in &nodes {
        assert_eq!(send(node).await, 200);
        assert_eq!(shared_state(node).await, "redis");
    }

    redis.stop();
    for round in 0..10 {
        for node in &nodes {
            assert_eq!(
                send(node).await,
                200,
                "round {round}: no client request fails because Redis went away"
            );
        }
    }
    for node in &nodes {
        assert_eq!(shared_state(node).await, "degraded");
    }

    let _redis = OwnRedis::start_on(port);
    for node in &nodes {
        // The connection comes back by itself; within a few requests the node is back on Redis.
        let mut state = String::new();
        for _ in 0..20 {
            assert_eq!(send(node).await, 200);
            state = shared_state(node).await;
            if state == "redis" {
                break;
            }
        }
        assert_eq!(state, "redis", "the node uses Redis again once it is back");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenant_and_key_limits_hold_across_nodes_and_tenants_stay_apart() {
    let url = redis_url();
    let prefix = format!("sbtest{:x}", fastrand::u64(..));
    let yaml = format!(
        "channels: [{{name: local, provider: mock, models: [m]}}]\nroles: [{{name: open, models: [\"*\"]}}]\ntenants: [{{name: acme, limits: {{requests_per_minute: 10}}}}, {{name: beta, limits: {{requests_per_minute: 10}}}}]\napi_keys:\n  - {{name: acme-one, key: sk-acme-one-0001, role: open, metadata: {{tenant: acme}}}}\n  - {{name: acme-two, key: sk-acme-two-0002, role: open, metadata: {{tenant: acme}}}}\n  - {{name: beta-one, key: sk-beta-one-0001, role: open, metadata: {{tenant: beta}}, limits: {{requests_per_minute: 3}}}}\nstate: {{redis_url: \"{url}\", key_prefix: \"{prefix}\"}}\n"
    );
    let nodes = [Gateway::start(&yaml), Gateway::start(&yaml)];
    let http = client();
    let flood = |keys: &'static [&'static str], count: usize| {
        let http = http.clone();
        let urls: Vec<String> = nodes
            .iter()
            .map(|node| node.url("/v1/chat/completions"))
            .collect();
        async move {
            let requests = (0..count).map(|index| {
                let request = http
                    .post(urls[index % urls.len()].clone())
                    .bearer_auth(keys[index % keys.len()])
                    .json(&chat_body("m", false));
                async move { request.send().await.expect("request").status().as_u16() }
            });
            join_all(requests)
                .await
                .into_iter()
                .filter(|status| *status == 200)
                .count()
        }
    };
    // Two keys of one tenant share its 10 per minute, across both nodes.
    assert_eq!(
        flood(&["sk-acme-one-0001", "sk-acme-two-0002"], 30).await,
        10
    );
    // Another tenant is untouched by acme's exhaustion; its key's own limit (3) is the lower one.
    assert_eq!(flood(&["sk-beta-one-0001"], 10).await, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_budget_is_never_exceeded_across_nodes_and_concurrency_is_shared() {
    let url = redis_url();
    let prefix = format!("sbtest{:x}", fastrand::u64(..));
    // Each request costs exactly $0.009 and is estimated at exactly that (a one-word prompt,
    // `max_tokens: 5`, a longer reply cut to 5 tokens, $1,000 per million tokens): a budget of
    // $0.09 pays for ten, whichever nodes serve them and however many arrive at once.
    let yaml = format!(
        "channels: [{{name: local, provider: mock, models: [m], mock: {{reply: \"one two three four five six\", latency_ms: 200}}}}]\n\
         roles: [{{name: open, models: [\"*\"]}}]\n\
         tenants: [{{name: acme, limits: {{daily_budget_usd: 0.09}}}}, {{name: busy, limits: {{max_concurrent_requests: 3}}}}]\n\
         api_keys:\n  - {{name: acme-key, key: sk-acme-key-0001, role: open, metadata: {{tenant: acme}}}}\n  - {{name: busy-key, key: sk-busy-key-0001, role: open, metadata: {{tenant: busy}}}}\n\
         prices: {{models: {{m: {{input_per_million: 1000, output_per_million: 1000}}}}}}\n\
         state: {{redis_url: \"{url}\", key_prefix: \"{prefix}\"}}\n"
    );
    let nodes = [
        Gateway::start(&yaml),
        Gateway::start(&yaml),
        Gateway::start(&yaml),
    ];
    let http = client();
    let body = serde_json::json!({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]});
    let flood = |key: &'static str, count: usize| {
        let requests = (0..count).map(|index| {
            let request = http
                .post(nodes[index % 3].url("/v1/chat/completions"))
                .bearer_auth(key)
                .json(&body);
            async move { request.send().await.expect("request").status().as_u16() }
        });
        join_all(requests)
    };
    let statuses = flood("sk-acme-key-0001", 40).await;
    let paid = statuses.iter().filter(|status| **status == 200).count();
    // A spent budget is OpenAI's 429 insufficient_quota.
    let refused = statuses.iter().filter(|status| **status == 429).count();
    assert_eq!((paid, refused), (10, 30), "{statuses:?}");
    // The budget stays spent for every node.
    for node in &nodes {
        let response = http
            .post(node.url("/v1/chat/completions"))
            .bearer_auth("sk-acme-key-0001")
            .json(&body)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 429);
        let body: serde_json::Value = response.json().await.expect("json");
        assert_eq!(body["error"]["type"], "insufficient_quota");
    }

    // Three at once for the busy tenant, across the three nodes.
    let statuses = flood("sk-busy-key-0001", 9).await;
    let served = statuses.iter().filter(|status| **status == 200).count();
    let refused = statuses.iter().filter(|status| **status == 429).count();
    assert_eq!((served, refused), (3, 6), "{statuses:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_circuit_opened_by_one_node_moves_the_others() {
    let url = redis_url();
    let prefix = format!("sbtest{:x}", fastrand::u64(..));
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("port")
        .port();
    // `dead` refuses connections: every attempt on it fails over to `backup`.
    let yaml = format!(
        "channels:\n  - {{name: dead, provider: openai, base_url: \"http://127.0.0.1:{closed}/v1\", api_key: sk-unused, models: [m], priority: 0}}\n  - {{name: backup, provider: mock, models: [m], priority: 1}}\n\
         routing: {{strategy: failover, circuit: {{failure_threshold: 3, cooldown_ms: 60000}}}}\n\
         roles: [{{name: open, models: [\"*\"]}}]\n\
         api_keys: [{{name: team, key: {KEY}, role: open}}]\n\
         state: {{redis_url: \"{url}\", key_prefix: \"{prefix}\"}}\n"
    );
    let nodes = [
        Gateway::start(&yaml),
        Gateway::start(&yaml),
        Gateway::start(&yaml),
    ];
    let dead_is_healthy = |node: &Gateway| {
        let node_url = node.url("/health/channels");
        async move {
            let health: serde_json::Value = client()
                .get(node_url)
                .send()
                .await
                .expect("request")
                .json()
                .await
                .expect("json");
            health["channels"][0]["healthy"]
                .as_bool()
                .expect("a healthy flag")
        }
    };
    for node in &nodes {
        assert!(
            dead_is_healthy(node).await,
            "no node has seen a failure yet"
        );
    }
    // The first node meets the dead channel three times and opens its circuit.
    for _ in 0..3 {
        let response = post(&nodes[0], "/v1/chat/completions", &chat_body("m", false)).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["x-switchboard-attempts"], "2");
    }
    assert!(!dead_is_healthy(&nodes[0]).await);
    // The others learn it from Redis on their next tick and never try `dead` themselves.
    for node in &nodes[1..] {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while dead_is_healthy(node).await {
            assert!(
                std::time::Instant::now() < deadline,
                "the open circuit reached every node"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let response = post(node, "/v1/chat/completions", &chat_body("m", false)).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["x-switchboard-channel"], "backup");
        assert_eq!(response.headers()["x-switchboard-attempts"], "1");
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("port")
        .port()
}

fn redis_cli(port: u16, args: &[&str]) -> String {
    let output = std::process::Command::new("redis-cli")
        .args(["-p", &port.to_string()])
        .args(args)
        .output()
        .expect("redis-cli (installed with redis-server) runs");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_are_exact_on_a_three_primary_redis_cluster() {
    let ports = [free_port(), free_port(), free_port()];
    let _servers: Vec<OwnRedis> = ports
        .iter()
        .map(|port| {
            OwnRedis::start_with(
                *port,
                &["--cluster-enabled", "yes", "--cluster-node-timeout", "2000"],
            )
        })
        .collect();
    let addresses: Vec<String> = ports
        .iter()
        .map(|port| format!("127.0.0.1:{port}"))
        .collect();
    let mut create = vec!["--cluster", "create"];
    create.extend(addresses.iter().map(String::as_str));
    create.extend(["--cluster-replicas", "0", "--cluster-yes"]);
    redis_cli(ports[0], &create);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !ports
        .iter()
        .all(|port| redis_cli(*port, &["cluster", "info"]).contains("cluster_state:ok"))
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the three-primary cluster did not form"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    // Six tenants, whose hash tags spread over the three primaries; each may send 5 a minute.
    let tenants: Vec<String> = (0..6).map(|index| format!("tenant{index}")).collect();
    let mut yaml = "channels: [{name: local, provider: mock, models: [m]}]\nroles: [{name: open, models: [\"*\"]}]\ntenants:\n".to_owned();
    for tenant in &tenants {
        yaml += &format!("  - {{name: {tenant}, limits: {{requests_per_minute: 5}}}}\n");
    }
    yaml += "api_keys:\n";
    for tenant in &tenants {
        yaml += &format!(
            "  - {{name: {tenant}-key, key: sk-{tenant}-key-0001, role: open, metadata: {{tenant: {tenant}}}}}\n"
        );
    }
    yaml += &format!(
        "state: {{cluster: true, redis_url: \"redis://{},redis://{}\"}}\n",
        addresses[0], addresses[1]
    );
    let nodes = [
        Gateway::start(&yaml),
        Gateway::start(&yaml),
        Gateway::start(&yaml),
    ];
    let http = client();
    let requests = tenants.iter().flat_map(|tenant| {
        let key = format!("sk-{tenant}-key-0001");
        let nodes = &nodes;
        let http = &http;
        (0..12).map(move |index| {
            let request = http
                .post(nodes[index % 3].url("/v1/chat/completions"))
                .bearer_auth(&key)
                .json(&chat_body("m", false));
            let tenant = tenant.clone();
            async move {
                (
                    tenant,
                    request.send().await.expect("request").status().as_u16(),
                )
            }
        })
    });
    let outcomes = join_all(requests).await;
    for tenant in &tenants {
        let admitted = outcomes
            .iter()
            .filter(|(name, status)| name == tenant && *status == 200)
            .count();
        assert_eq!(admitted, 5, "{tenant}: {outcomes:?}");
    }
    for node in &nodes {
        assert_eq!(shared_state(node).await, "redis");
    }
    // The buckets really are spread: more than one primary holds some.
    let holding = ports
        .iter()
        .filter(|port| redis_cli(**port, &["dbsize"]).trim() != "0")
        .count();
    assert!(holding >= 2, "only {holding} primary holds keys");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_limit_spans_tenants_and_refusals_elsewhere_give_it_back() {
    let url = redis_url();
    let prefix = format!("sbtest{:x}", fastrand::u64(..));
    let yaml = format!(
        "channels: [{{name: local, provider: mock, models: [m]}}]\n\
         roles: [{{name: open, models: [\"*\"]}}]\n\
         tenants: [{{name: small, limits: {{requests_per_minute: 3}}}}, {{name: large}}]\n\
         model_limits: {{m: {{requests_per_minute: 8}}}}\n\
         api_keys:\n  - {{name: small-key, key: sk-small-key-0001, role: open, metadata: {{tenant: small}}}}\n  - {{name: large-key, key: sk-large-key-0001, role: open, metadata: {{tenant: large}}}}\n\
         state: {{redis_url: \"{url}\", key_prefix: \"{prefix}\"}}\n"
    );
    let nodes = [
        Gateway::start(&yaml),
        Gateway::start(&yaml),
        Gateway::start(&yaml),
    ];
    let http = client();
    let flood = |key: &'static str| {
        let requests = (0..10).map(|index| {
            let request = http
                .post(nodes[index % 3].url("/v1/chat/completions"))
                .bearer_auth(key)
                .json(&chat_body("m", false));
            async move { request.send().await.expect("request") }
        });
        join_all(requests)
    };
    // `small` gets its 3; its 7 refused requests give back what they took from the model's 8.
    let responses = flood("sk-small-key-0001").await;
    assert_eq!(responses.iter().filter(|r| r.status() == 200).count(), 3);
    // `large` has no limit of its own: the model's remaining 5 are its.
    let mut served = 0;
    let mut refusal = None;
    for response in flood("sk-large-key-0001").await {
        if response.status() == 200 {
            served += 1;
        } else {
            refusal = Some(response);
        }
    }
    assert_eq!(served, 5);
    let body = crate::common::expect_openai_error(refusal.expect("a refusal"), 429).await;
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("model `m` allows 8 requests per minute"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_limits_in_redis_reserve_the_estimate_and_give_back_the_rest() {
    let url = redis_url();
    let prefix = format!("sbtest{:x}", fastrand::u64(..));
    let yaml = format!(
        "channels: [{{name: local, provider: mock, models: [m], mock: {{reply: \"a b\"}}}}]\n\
         roles: [{{name: open, models: [\"*\"]}}]\n\
         api_keys: [{{name: tpm, key: {KEY}, role: open, limits: {{tokens_per_minute: 30}}}}]\n\
         state: {{redis_url: \"{url}\", key_prefix: \"{prefix}\"}}\n"
    );
    let nodes = [Gateway::start(&yaml), Gateway::start(&yaml)];
    // Estimate 4 + 15 = 19 of 30; the answer uses 4 + 2 = 6, so 13 come back.
    let body = serde_json::json!({"model": "m", "max_tokens": 15, "messages": [{"role": "user", "content": "hi"}]});
    let first = post(&nodes[0], "/v1/chat/completions", &body).await;
    assert_eq!(first.status(), 200);
    assert_eq!(first.headers()["x-ratelimit-remaining-tokens"], "11");
    // The other node sees the corrected bucket (refilling the 8 missing tokens would take 16 s).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    loop {
        let response = post(&nodes[1], "/v1/chat/completions", &body).await;
        if response.status() == 200 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the unused tokens came back in Redis"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_find_the_primary_through_redis_sentinel() {
    let primary_port = free_port();
    let sentinel_port = free_port();
    let primary = OwnRedis::start_on(primary_port);
    let _sentinel = Sentinel::start(sentinel_port, primary_port, "");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !redis_cli(
        sentinel_port,
        &["sentinel", "get-master-addr-by-name", "switchboard"],
    )
    .contains(&primary_port.to_string())
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the Sentinel did not come up"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    let yaml = format!(
        "channels: [{{name: local, provider: mock, models: [m]}}]\nroles: [{{name: limited, models: [\"*\"], limits: {{requests_per_minute: 7}}}}]\napi_keys: [{{name: team, key: {KEY}, role: limited}}]\nstate: {{redis_url: \"redis://127.0.0.1:{sentinel_port}\", sentinel_master: switchboard}}\n"
    );
    let nodes = [Gateway::start(&yaml), Gateway::start(&yaml)];
    let http = client();
    let requests = (0..20).map(|index| {
        let request = http
            .post(nodes[index % 2].url("/v1/chat/completions"))
            .bearer_auth(KEY)
            .json(&chat_body("m", false));
        async move { request.send().await.expect("request").status().as_u16() }
    });
    let statuses = join_all(requests).await;
    assert_eq!(
        statuses.iter().filter(|status| **status == 200).count(),
        7,
        "{statuses:?}"
    );
    for node in &nodes {
        assert_eq!(shared_state(node).await, "redis");
    }
    // The buckets live on the primary the Sentinel named.
    assert_ne!(redis_cli(primary.port, &["dbsize"]).trim(), "0");
}

/// A Redis Sentinel watching the primary on `primary_port` as `switchboard`, stopped when the
/// test ends, however it ends.
struct Sentinel {
    child: std::process::Child,
    _dir: tempfile::TempDir,
}

impl Sentinel {
    fn start(port: u16, primary_port: u16, extra_config: &str) -> Sentinel {
        let dir = tempfile::tempdir().expect("dir");
        let config = dir.path().join("sentinel.conf");
        std::fs::write(
            &config,
            format!(
                "port {port}\nbind 127.0.0.1\nsentinel monitor switchboard 127.0.0.1 {primary_port} 1\n{extra_config}"
            ),
        )
        .expect("sentinel config");
        let child = std::process::Command::new("redis-server")
            .arg(&config)
            .arg("--sentinel")
            .current_dir(dir.path())
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server runs as a Sentinel");
        Sentinel { child, _dir: dir }
    }
}

impl Drop for Sentinel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_sentinel_failover_the_nodes_use_the_new_primary() {
    let (primary_port, replica_port, sentinel_port) = (free_port(), free_port(), free_port());
    let primary = OwnRedis::start_on(primary_port);
    let _replica = OwnRedis::start_with(
        replica_port,
        &["--replicaof", "127.0.0.1", &primary_port.to_string()],
    );
    let _sentinel = Sentinel::start(
        sentinel_port,
        primary_port,
        "sentinel down-after-milliseconds switchboard 500\nsentinel failover-timeout switchboard 3000\n",
    );
    let primary_named = |port: u16| {
        redis_cli(
            sentinel_port,
            &["sentinel", "get-master-addr-by-name", "switchboard"],
        )
        .contains(&port.to_string())
    };
    let wait_for = |what: &'static str, condition: &dyn Fn() -> bool| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while !condition() {
            assert!(std::time::Instant::now() < deadline, "{what}");
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    };
    wait_for("the Sentinel names the primary", &|| {
        primary_named(primary_port)
    });
    wait_for("the replica follows the primary", &|| {
        redis_cli(replica_port, &["info", "replication"]).contains("master_link_status:up")
    });

    // Two keys; `later` is used only after the failover, so its bucket can only be on the
    // new primary if the gateway writes there.
    let yaml = format!(
        "channels: [{{name: local, provider: mock, models: [m]}}]\nroles: [{{name: limited, models: [\"*\"], limits: {{requests_per_minute: 100}}}}]\napi_keys:\n  - {{name: before, key: sk-before-key-0001, role: limited}}\n  - {{name: later, key: sk-later-key-00001, role: limited}}\nstate: {{redis_url: \"redis://127.0.0.1:{sentinel_port}\", sentinel_master: switchboard}}\n"
    );
    let gateway = Gateway::start(&yaml);
    let send = |key: &'static str| {
        let request = client()
            .post(gateway.url("/v1/chat/completions"))
            .bearer_auth(key)
            .json(&chat_body("m", false));
        async move { request.send().await.expect("request").status().as_u16() }
    };
    assert_eq!(send("sk-before-key-0001").await, 200);
    assert_eq!(shared_state(&gateway).await, "redis");

    primary.stop();
    wait_for("the Sentinel promotes the replica", &|| {
        primary_named(replica_port)
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        // No request fails while the gateway finds the new primary.
        assert_eq!(send("sk-later-key-00001").await, 200);
        if shared_state(&gateway).await == "redis" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the gateway never reached the new primary"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(send("sk-later-key-00001").await, 200);
    let keys = redis_cli(replica_port, &["keys", "*"]);
    assert!(
        keys.contains("key:later:rpm"),
        "the new primary holds the bucket written after the failover: {keys}"
    );
}
