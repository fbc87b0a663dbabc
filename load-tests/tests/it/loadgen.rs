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
    assert!((60..=110).contains(&report.requests), "{report:?}");
    assert_eq!(
        report.errors, report.requests,
        "no key: every request is a 401"
    );
    assert_eq!(report.non_2xx, report.requests);
}

/// A server that closes every connection after one response: loadgen reconnects without
/// counting errors.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_closed_by_the_server_are_not_errors() {
    use http_body_util::Full;
    use hyper::server::conn::http1;
    use hyper::service::service_fn;
    use hyper_util::rt::TokioIo;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let service = service_fn(|_request| async {
                    Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(
                        Bytes::from_static(b"ok"),
                    )))
                });
                let _ = http1::Builder::new()
                    .keep_alive(false)
                    .serve_connection(TokioIo::new(tcp), service)
                    .await;
            });
        }
    });
    let mut config = config(format!("http://{addr}/"));
    config.connections = 2;

    let report = run(config).await.unwrap();

    assert!(report.requests > 10, "{report:?}");
    assert_eq!(report.errors, 0, "{report:?}");
}
