//! `fake-provider`: the fake OpenAI (and Anthropic, Gemini and Bedrock) provider as a standalone
//! server, the baseline for benchmarks. Bedrock requests must be signed with the default
//! `BedrockCredentials`.
//!
//! Prints exactly one line, `listening on ADDR`, once it accepts connections, and runs until
//! SIGINT or SIGTERM. Requests are not recorded and nothing is logged per request, so the binary
//! measures the HTTP stack rather than the fake's bookkeeping.

use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use std::sync::Arc;

use switchboard_load_tests::{Behaviour, ErrorReply, FakeOptions, FakeProvider};
use tokio::signal::unix::{SignalKind, signal};

#[derive(Parser, Debug)]
#[command(
    about = "A fake OpenAI Chat Completions, Anthropic Messages, Gemini and Bedrock Converse provider"
)]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Required API key; any non-empty key is accepted when absent.
    #[arg(long)]
    api_key: Option<String>,
    /// A model to list and accept (repeatable); any model is accepted when none is given.
    #[arg(long = "model")]
    models: Vec<String>,
    /// Wait before answering every chat request.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Pause between streamed chunks.
    #[arg(long, default_value_t = 0)]
    chunk_delay_ms: u64,
    /// Do not record requests. Always in effect: the binary has no way to read recordings, and
    /// recording would grow without bound under load. Accepted so scripts can say it.
    #[arg(long)]
    no_record: bool,
    /// Answer every chat request with this HTTP error status (OpenAI's error body) — after
    /// `--fail-after-ms`, if given, so a benchmark can break a channel mid-run.
    #[arg(long)]
    fail_status: Option<u16>,
    /// With `--fail-status`: answer normally for this long first.
    #[arg(long, default_value_t = 0)]
    fail_after_ms: u64,
    /// Tokio worker threads (default: one per CPU).
    #[arg(long)]
    threads: Option<usize>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(threads) = args.threads {
        runtime.worker_threads(threads.max(1));
    }
    runtime
        .enable_all()
        .build()
        .context("building the tokio runtime")?
        .block_on(serve(args))
}

async fn serve(args: Args) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let options = FakeOptions {
        api_key: args.api_key,
        models: args.models,
    };
    let provider = Arc::new(FakeProvider::start_on(listener, options).await);
    provider.set_recording(false);
    let normal = Behaviour {
        latency: Duration::from_millis(args.latency_ms),
        chunk_delay: Duration::from_millis(args.chunk_delay_ms),
        ..Behaviour::default()
    };
    provider.set_default(normal.clone());
    if let Some(status) = args.fail_status {
        let failing = Behaviour {
            error: Some(ErrorReply::new(
                status,
                "server_error",
                "the fake provider was told to fail",
            )),
            ..normal
        };
        let provider = Arc::clone(&provider);
        let after = Duration::from_millis(args.fail_after_ms);
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            provider.set_default(failing);
        });
    }
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "listening on {}", provider.addr())?;
    stdout.flush()?;
    drop(stdout);

    let mut terminate = signal(SignalKind::terminate()).context("installing SIGTERM handler")?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
    if let Ok(provider) = Arc::try_unwrap(provider) {
        provider.shutdown().await;
    }
    Ok(())
}
