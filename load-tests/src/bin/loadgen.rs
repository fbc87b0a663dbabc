//! `loadgen`: HTTP/1.1 keep-alive load generator; prints one JSON report on stdout.
//! See `switchboard_load_tests::loadgen` for the measurement rules.

use std::time::Duration;

use anyhow::{Context, bail};
use bytes::Bytes;
use clap::Parser;
use hyper::Method;
use switchboard_load_tests::loadgen::{self, LoadConfig};

#[derive(Parser, Debug)]
#[command(about = "HTTP/1.1 keep-alive load generator")]
struct Args {
    /// Target URL (http:// only).
    #[arg(long)]
    url: String,
    /// HTTP method (default: POST with a body, GET without).
    #[arg(long)]
    method: Option<String>,
    /// Request body.
    #[arg(long, conflicts_with = "body_file")]
    body: Option<String>,
    /// Read the request body from a file.
    #[arg(long)]
    body_file: Option<std::path::PathBuf>,
    /// Extra header "Name: value" (repeatable).
    #[arg(long = "header", short = 'H')]
    headers: Vec<String>,
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Measured seconds.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Seconds of load before measuring starts.
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// Open-loop rate in requests per second (all connections together); closed loop if absent.
    #[arg(long)]
    rate: Option<f64>,
    /// Tokio worker threads.
    #[arg(long, default_value_t = 1)]
    threads: usize,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let config = config(&args)?;
    let report = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads.max(1))
        .enable_all()
        .build()
        .context("building the tokio runtime")?
        .block_on(loadgen::run(config))?;
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}

fn config(args: &Args) -> anyhow::Result<LoadConfig> {
    let body = match (&args.body, &args.body_file) {
        (Some(body), _) => Bytes::from(body.clone()),
        (None, Some(path)) => {
            Bytes::from(std::fs::read(path).with_context(|| format!("reading {}", path.display()))?)
        }
        (None, None) => Bytes::new(),
    };
    let mut headers = Vec::new();
    for header in &args.headers {
        let Some((name, value)) = header.split_once(':') else {
            bail!("--header must look like \"Name: value\", got {header:?}");
        };
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    let method = args
        .method
        .as_deref()
        .map(|m| Method::from_bytes(m.to_ascii_uppercase().as_bytes()))
        .transpose()
        .context("invalid --method")?;
    let seconds = |value: f64, name: &str| {
        Duration::try_from_secs_f64(value).with_context(|| format!("invalid --{name} {value}"))
    };
    Ok(LoadConfig {
        url: args.url.clone(),
        method,
        body,
        headers,
        connections: args.connections,
        duration: seconds(args.duration, "duration")?,
        warmup: seconds(args.warmup, "warmup")?,
        rate: args.rate,
    })
}
