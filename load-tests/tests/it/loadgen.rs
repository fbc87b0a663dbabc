//! The load generator against the fake provider: closed and open loop, and errors counted.

use std::time::Duration;

use bytes::Bytes;
use switchboard_load_tests::loadgen::{LoadConfig, run};

use crate::common::{KEY, chat_body, provider};

fn config(url: String) -> LoadConfig {
    LoadConfig {
        url,
        body: Bytes::from(chat_body().to_string()),
        headers: vec![("authorization".into(), format!("Bearer {KEY}"))],
        connections: 4,
        duration: Duration::from_millis(500),
        warmup: Duration::from_millis(100),
        ..LoadConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_loop_counts_successes() {
    let provider = provider().await;
    provider.set_recording(false);

    let report = run(config(format!("{}/chat/completions", provider.base_url())))
        .await
        .unwrap();

    assert!(report.requests > 10, "{report:?}");
    assert_eq!(report.errors, 0, "{report:?}");
    assert!(
        report.p50_ms > 0.0 && report.p50_ms <= report.p99_ms && report.p99_ms <= report.max_ms
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_loop_keeps_the_rate_and_counts_errors() {
    let provider = provider().await;
    let mut config = config(format!("{}/chat/completions", provider.base_url()));
    config.rate = Some(200.0);
    config.headers.clear();

    let report = run(config).await.unwrap();

    // 200 req/s for 0.5 s, give or take the window edges.
    assert!((80..=110).contains(&report.requests), "{report:?}");
    assert_eq!(
        report.errors, report.requests,
        "no key: every request is a 401"
    );
    assert_eq!(report.non_2xx, report.requests);
}
