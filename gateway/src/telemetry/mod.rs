//! Telemetry: the tracing subscriber and the Prometheus metrics recorder.
//!
//! Spans (at debug level, so that the default `info` costs a request nothing for them): one
//! `request` span per client request, one `attempt` span per upstream attempt.
//! Metrics are recorded through the `metrics` facade (see [`metrics`]); the recorder is installed
//! once per process by the binary and rendered at `GET /metrics`.

pub mod metrics;

use std::io::IsTerminal;

use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

/// Installs the global tracing subscriber: `RUST_LOG`-style filtering (default `info`), JSON
/// lines when `json` is set, human-readable otherwise, with colours only when stderr is a
/// terminal (never escape codes in a file or a log collector). Logs go to stderr; stdout carries
/// only the `listening on` line.
///
/// Lines are written by a background thread, so that a request never waits on stderr (an
/// access line per request would otherwise cost it a write call); when that thread falls 128k
/// lines behind, logging waits rather than dropping lines. Keep the returned guard until the
/// process ends: dropping it flushes what is queued.
pub fn init_tracing(json: bool) -> WorkerGuard {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("switchboard-log")
        // The thread writes what has queued up at once, then flushes: one write call a batch.
        .finish(std::io::BufWriter::with_capacity(
            64 * 1024,
            std::io::stderr(),
        ));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(writer);
    // A second initialisation (tests) keeps the first subscriber.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    guard
}

/// Installs the Prometheus recorder with histogram buckets suited to LLM latencies.
pub fn install_metrics() -> Result<PrometheusHandle, BuildError> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Suffix("_seconds".to_owned()),
            &[
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0,
                300.0,
            ],
        )?
        .install_recorder()?;
    metrics::describe();
    Ok(handle)
}

/// Histograms buffer their samples until upkeep drains them; without it memory grows between
/// scrapes. Runs every five seconds for the life of the process.
pub fn spawn_metrics_upkeep(handle: PrometheusHandle) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(5));
        loop {
            tick.tick().await;
            handle.run_upkeep();
        }
    });
}
