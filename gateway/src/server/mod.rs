//! The HTTP server: accepts connections, serves the router, shuts down gracefully.
//!
//! Our own accept loop over hyper-util rather than `axum::serve`, for four things the request
//! path needs: `TCP_NODELAY` on every accepted socket (without it keep-alive responses can wait
//! ~40 ms on a delayed ACK), a header read timeout against slow clients, header blocks over
//! `server.max_header_bytes` refused with 431 in the caller's protocol (the parser lets them
//! through to the router up to eight times the limit or ~400 KiB, whichever is more, and up to
//! 100 header fields), and a graceful shutdown that lets in-flight requests and streams finish
//! within a grace period.

mod body;
mod chat;
mod gemini;
mod routes;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;

use crate::app::AppState;

pub use routes::router;

/// The smallest header block the HTTP parser accepts before the router's own 431 (hyper's
/// default read buffer).
const PARSE_CAP_FLOOR: usize = 8192 + 4096 * 100;

/// Serves until `shutdown` resolves, then drains in-flight requests for up to the configured
/// grace period.
pub async fn serve(
    listener: TcpListener,
    app: Arc<AppState>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let settings = app.snapshot.load().server.clone();
    let router = router(app.clone());
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // The parser takes header blocks well past `max_header_bytes`, so that the router can refuse
    // them with a 431 in the caller's protocol; beyond this cap (or beyond 100 header fields,
    // which hyper parses on the stack) the parser refuses them itself: a bare 431, never served.
    let parse_cap = (8 * settings.max_header_bytes).max(PARSE_CAP_FLOOR);
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(settings.header_read_timeout)
        .max_buf_size(parse_cap)
        .keep_alive(true);
    builder
        .http2()
        .max_header_list_size(u32::try_from(parse_cap).unwrap_or(u32::MAX));
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        // Out of file descriptors and similar: keep serving the others.
                        tracing::warn!(%error, "accept failed");
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let service = TowerToHyperService::new(router.clone());
                let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
                let connection = graceful.watch(connection.into_owned());
                tokio::spawn(async move {
                    // Client resets and timeouts end connections; they are not server errors.
                    let _ = connection.await;
                });
            }
            () = &mut shutdown => break,
        }
    }
    app.shutting_down.store(true, Ordering::Relaxed);
    drop(listener);
    tracing::info!(
        grace_ms = settings.shutdown_grace_period.as_millis() as u64,
        "shutting down: draining in-flight requests"
    );
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("all connections closed"),
        () = tokio::time::sleep(settings.shutdown_grace_period) => {
            tracing::warn!("grace period over: closing the remaining connections");
        }
    }
    Ok(())
}
