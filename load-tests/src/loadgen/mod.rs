//! An HTTP/1.1 keep-alive load generator: `connections` workers, each with one raw hyper
//! connection, sending one prepared request over and over, and a latency histogram per worker.
//!
//! Two modes:
//! - closed loop (default): each worker sends the next request as soon as the previous response
//!   body has been read, so throughput is the target's capacity at that concurrency;
//! - open loop (`rate`): requests are scheduled at `rate` per second in total, spread evenly over
//!   the connections, and latency is measured from the *intended* send time whenever a worker is
//!   behind schedule, so queueing in the target is counted (no coordinated omission). When the
//!   worker was idle and merely woke late (tokio timers tick in milliseconds), latency is measured
//!   from the actual send, so timer slop is not blamed on the target.
//!
//! Only responses completed after the warm-up and before the end of the run count. Non-2xx
//! statuses and transport failures are errors; a failed connection is re-established. A
//! connection the server closed between two requests (keep-alive limit) is re-opened and the
//! request retried without counting an error.
//!
//! It does not speak TLS or HTTP/2, follow redirects, or vary the request.

mod worker;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use bytes::Bytes;
use hdrhistogram::Histogram;
use hyper::header::{CONTENT_TYPE, HOST, HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Uri};
use serde::Serialize;
use tokio::time::Instant;

/// One load run.
#[derive(Clone, Debug)]
pub struct LoadConfig {
    /// `http://host:port/path?query`.
    pub url: String,
    /// Default: POST when there is a body, GET otherwise.
    pub method: Option<Method>,
    pub body: Bytes,
    /// Extra headers; `content-type: application/json` is added when there is a body and no
    /// content type was given.
    pub headers: Vec<(String, String)>,
    pub connections: usize,
    pub duration: Duration,
    pub warmup: Duration,
    /// Open-loop rate in requests per second over all connections; `None` = closed loop.
    pub rate: Option<f64>,
}

impl Default for LoadConfig {
    fn default() -> Self {
        LoadConfig {
            url: String::new(),
            method: None,
            body: Bytes::new(),
            headers: Vec::new(),
            connections: 32,
            duration: Duration::from_secs(10),
            warmup: Duration::from_secs(2),
            rate: None,
        }
    }
}

/// What a run measured; printed as one JSON object.
#[derive(Clone, Debug, Serialize)]
pub struct LoadReport {
    pub url: String,
    /// Completed in the measured window (errors included).
    pub requests: u64,
    pub errors: u64,
    pub non_2xx: u64,
    pub transport_errors: u64,
    pub duration_s: f64,
    pub rps: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub connections: usize,
    pub rate: Option<f64>,
    /// Completed from the start of the warm-up to the end, for per-request CPU accounting.
    pub total_requests: u64,
}

/// The request every worker sends, built once.
pub(crate) struct Template {
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// The clock of a run, shared by all workers.
#[derive(Clone, Copy)]
pub(crate) struct Timeline {
    pub start: Instant,
    pub measure_from: Instant,
    pub end: Instant,
    /// Open loop: per-connection interval between two sends.
    pub interval: Option<Duration>,
}

/// Runs the load and reports. Must be called inside a tokio runtime.
pub async fn run(config: LoadConfig) -> anyhow::Result<LoadReport> {
    if config.connections == 0 {
        bail!("--connections must be at least 1");
    }
    let (addr, template) = prepare(&config).await?;
    let template = Arc::new(template);
    let connections = config.connections;
    let rate = config.rate.filter(|rate| *rate > 0.0);
    // A short lead so every worker can connect before its first scheduled send.
    let start = Instant::now() + Duration::from_millis(200);
    let timeline = Timeline {
        start,
        measure_from: start + config.warmup,
        end: start + config.warmup + config.duration,
        interval: rate.map(|rate| Duration::from_secs_f64(connections as f64 / rate)),
    };
    let workers: Vec<_> = (0..connections)
        .map(|index| {
            let offset = rate.map_or(Duration::ZERO, |rate| {
                Duration::from_secs_f64(index as f64 / rate)
            });
            tokio::spawn(worker::run(addr, Arc::clone(&template), timeline, offset))
        })
        .collect();
    let mut histogram = worker::new_histogram()?;
    let mut totals = worker::Counts::default();
    for handle in workers {
        let (latencies, counts) = handle.await.context("a load worker panicked")??;
        histogram
            .add(&latencies)
            .context("merging latency histograms")?;
        totals.requests += counts.requests;
        totals.non_2xx += counts.non_2xx;
        totals.transport_errors += counts.transport_errors;
        totals.total += counts.total;
    }
    Ok(report(&config, rate, &totals, &histogram))
}

fn report(
    config: &LoadConfig,
    rate: Option<f64>,
    totals: &worker::Counts,
    histogram: &Histogram<u64>,
) -> LoadReport {
    let duration_s = config.duration.as_secs_f64();
    let millis = |micros: u64| micros as f64 / 1000.0;
    let quantile = |q: f64| {
        if histogram.is_empty() {
            0.0
        } else {
            millis(histogram.value_at_quantile(q))
        }
    };
    LoadReport {
        url: config.url.clone(),
        requests: totals.requests,
        errors: totals.non_2xx + totals.transport_errors,
        non_2xx: totals.non_2xx,
        transport_errors: totals.transport_errors,
        duration_s,
        rps: if duration_s > 0.0 {
            totals.requests as f64 / duration_s
        } else {
            0.0
        },
        p50_ms: quantile(0.50),
        p90_ms: quantile(0.90),
        p99_ms: quantile(0.99),
        max_ms: millis(histogram.max()),
        connections: config.connections,
        rate,
        total_requests: totals.total,
    }
}

/// Resolves the target and builds the request template.
async fn prepare(config: &LoadConfig) -> anyhow::Result<(SocketAddr, Template)> {
    let url: Uri = config
        .url
        .parse()
        .with_context(|| format!("invalid --url {}", config.url))?;
    if url.scheme_str() != Some("http") {
        bail!("only http:// URLs are supported, got {}", config.url);
    }
    let authority = url.authority().context("the URL has no host")?.clone();
    let port = authority.port_u16().unwrap_or(80);
    let addr = tokio::net::lookup_host((authority.host(), port))
        .await
        .with_context(|| format!("resolving {authority}"))?
        .next()
        .with_context(|| format!("{authority} resolves to no address"))?;
    let path = url
        .path_and_query()
        .map_or("/", |path| path.as_str())
        .to_owned();
    let uri: Uri = path.parse().context("invalid path")?;
    let mut headers = HeaderMap::new();
    headers.insert(HOST, HeaderValue::from_str(authority.as_str())?);
    for (name, value) in &config.headers {
        let name = HeaderName::from_bytes(name.trim().as_bytes())
            .with_context(|| format!("invalid header name {name}"))?;
        let value = HeaderValue::from_str(value.trim())
            .with_context(|| format!("invalid value for header {name}"))?;
        headers.append(name, value);
    }
    if !config.body.is_empty() && !headers.contains_key(CONTENT_TYPE) {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    let method = config.method.clone().unwrap_or(if config.body.is_empty() {
        Method::GET
    } else {
        Method::POST
    });
    let template = Template {
        method,
        uri,
        headers,
        body: config.body.clone(),
    };
    Ok((addr, template))
}
