//! `switchboard-gateway`: parses arguments, loads the config, installs telemetry, binds the
//! listener and serves. Everything else lives in the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use switchboard_gateway::config::schema::LogFormat;
use switchboard_gateway::{AppState, config, serve, telemetry};
use tokio::net::TcpListener;

/// mimalloc: the request path allocates many small, short-lived buffers; glibc's malloc showed up
/// as ~10% of the gateway's CPU under load.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "switchboard-gateway",
    version,
    about = "Switchboard LLM API gateway (data plane)"
)]
struct Args {
    /// YAML configuration file (standalone mode).
    #[arg(long, short, env = "SWITCHBOARD_CONFIG")]
    config: Option<PathBuf>,
    /// Listen address, overriding `server.listen` (use port 0 for any free port).
    #[arg(long)]
    listen: Option<String>,
    /// Share limits and counters with other gateway nodes through this Redis (cluster mode),
    /// overriding `state.redis_url`.
    #[arg(long, env = "SWITCHBOARD_REDIS_URL")]
    redis_url: Option<String>,
    /// Log as JSON lines (as `log.format: json` does).
    #[arg(long)]
    log_json: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Validate the configuration and print its summary, then exit.
    CheckConfig,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let Some(path) = args.config.clone() else {
        eprintln!(
            "error: no configuration given; pass --config FILE (see gateway/config/example.yaml)"
        );
        return ExitCode::from(2);
    };
    // Installed before the config is compiled, so that per-route metric handles register with it.
    let metrics = match telemetry::install_metrics() {
        Ok(handle) => handle,
        Err(error) => {
            eprintln!("error: cannot install the metrics recorder: {error}");
            return ExitCode::FAILURE;
        }
    };
    let overrides: Vec<(String, String)> = args
        .redis_url
        .iter()
        .map(|url| ("SWITCHBOARD_STATE__REDIS_URL".to_owned(), url.clone()))
        .collect();
    let file = match config::load_file(&path, std::env::vars().chain(overrides)) {
        Ok(file) => file,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    // Logging starts once the file says how, before the checks that may warn.
    let _log_writer = telemetry::init_tracing(args.log_json || file.log.format == LogFormat::Json);
    let snapshot = match config::compile(&file, &path.display().to_string(), &config::ProcessEnv) {
        Ok(snapshot) => snapshot,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    if matches!(args.command, Some(Command::CheckConfig)) {
        println!("{}: OK — {}", path.display(), snapshot.summary());
        return ExitCode::SUCCESS;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args, path, snapshot, metrics)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(
    args: Args,
    path: PathBuf,
    snapshot: config::Snapshot,
    metrics: metrics_exporter_prometheus::PrometheusHandle,
) -> anyhow::Result<()> {
    telemetry::spawn_metrics_upkeep(metrics.clone());
    let listen = args
        .listen
        .unwrap_or_else(|| snapshot.server.listen.clone());
    tracing::info!(config = %path.display(), summary = %snapshot.summary(), "configuration loaded");
    let listener = TcpListener::bind(&listen)
        .await
        .map_err(|error| anyhow::anyhow!("cannot listen on {listen}: {error}"))?;
    let address = listener.local_addr()?;
    // The one line on stdout: tests and scripts wait for it instead of sleeping.
    println!("listening on {address}");
    tracing::info!(%address, "switchboard gateway listening");
    let app = AppState::new(snapshot, Some(metrics)).map_err(|error| anyhow::anyhow!(error))?;
    switchboard_gateway::routing::probe::spawn(&app);
    switchboard_gateway::routing::health::sync::spawn(&app);
    serve(listener, app, shutdown_signal()).await?;
    Ok(())
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let terminate = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut signal) => {
                    signal.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = interrupt => {},
            () = terminate => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
