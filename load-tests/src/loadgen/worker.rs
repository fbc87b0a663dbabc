//! One load worker: one keep-alive HTTP/1.1 connection, one request at a time, its own latency
//! histogram (microseconds) and counters. Reconnects after a transport error.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::{Instant, sleep_until, timeout_at};

use super::{Template, Timeline};

/// Requests still in flight this long after the end of the run are abandoned.
const GRACE: Duration = Duration::from_secs(2);
/// Pause before reconnecting, so a dead target is not hammered with connects.
const RECONNECT_PAUSE: Duration = Duration::from_millis(10);

#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Counts {
    /// Responses and failures in the measured window.
    pub requests: u64,
    pub non_2xx: u64,
    pub transport_errors: u64,
    /// Responses and failures from the start of the warm-up to the end of the run.
    pub total: u64,
}

/// 1 µs to 10 min at 3 significant digits.
pub(crate) fn new_histogram() -> anyhow::Result<Histogram<u64>> {
    Histogram::new_with_bounds(1, 600_000_000, 3).context("creating a latency histogram")
}

type Sender = SendRequest<Full<bytes::Bytes>>;

/// Why an exchange produced no response.
enum Failure {
    /// The connection was already closed (e.g. the server ended keep-alive) before the request
    /// was written: reconnect and retry, this is not the target failing a request.
    Stale,
    Transport,
}

pub(crate) async fn run(
    addr: SocketAddr,
    template: Arc<Template>,
    timeline: Timeline,
    offset: Duration,
) -> anyhow::Result<(Histogram<u64>, Counts)> {
    let mut latencies = new_histogram()?;
    let mut counts = Counts::default();
    let mut sender: Option<Sender> = connect(addr).await.ok();
    let mut sent: u32 = 0;
    let mut previous_done = timeline.start;
    sleep_until(timeline.start + offset).await;
    loop {
        let now = Instant::now();
        let intended = match timeline.interval {
            Some(interval) => timeline.start + offset + interval * sent,
            None => now,
        };
        if intended >= timeline.end || now >= timeline.end {
            break;
        }
        if intended > now {
            sleep_until(intended).await;
        }
        sent = sent.saturating_add(1);
        // Behind schedule: the wait since the intended time is queueing the target caused.
        let measured_from = if previous_done > intended {
            intended
        } else {
            Instant::now()
        };
        let Ok(outcome) =
            timeout_at(timeline.end + GRACE, exchange(addr, &mut sender, &template)).await
        else {
            break;
        };
        let done = Instant::now();
        previous_done = done;
        if done < timeline.end {
            counts.total += 1;
        }
        let counted = done >= timeline.measure_from && done < timeline.end;
        match outcome {
            Ok(status) if counted => {
                counts.requests += 1;
                if !status.is_success() {
                    counts.non_2xx += 1;
                }
                let micros = u64::try_from((done - measured_from).as_micros()).unwrap_or(u64::MAX);
                latencies.saturating_record(micros.max(1));
            }
            Ok(_) => {}
            Err(_) => {
                if counted {
                    counts.requests += 1;
                    counts.transport_errors += 1;
                }
                sleep_until(Instant::now() + RECONNECT_PAUSE).await;
                sender = connect(addr).await.ok();
            }
        }
    }
    Ok((latencies, counts))
}

/// One request on the worker's connection, reconnecting once if the connection had gone stale.
async fn exchange(
    addr: SocketAddr,
    sender: &mut Option<Sender>,
    template: &Template,
) -> Result<hyper::StatusCode, Failure> {
    if let Some(connection) = sender.as_mut() {
        match send(connection, template).await {
            Err(Failure::Stale) => {}
            outcome => return outcome,
        }
    }
    *sender = connect(addr).await.ok();
    match sender.as_mut() {
        Some(connection) => match send(connection, template).await {
            Err(Failure::Stale) => Err(Failure::Transport),
            outcome => outcome,
        },
        None => Err(Failure::Transport),
    }
}

async fn connect(addr: SocketAddr) -> Result<Sender, ()> {
    let tcp = TcpStream::connect(addr).await.map_err(drop)?;
    let _ = tcp.set_nodelay(true);
    let (sender, connection) = http1::handshake(TokioIo::new(tcp)).await.map_err(drop)?;
    tokio::spawn(connection);
    Ok(sender)
}

/// Sends the template and reads the whole response body; `Err` on any transport failure.
async fn send(sender: &mut Sender, template: &Template) -> Result<hyper::StatusCode, Failure> {
    sender.ready().await.map_err(|_| Failure::Stale)?;
    let mut request = Request::new(Full::new(template.body.clone()));
    *request.method_mut() = template.method.clone();
    *request.uri_mut() = template.uri.clone();
    *request.headers_mut() = template.headers.clone();
    // A request hyper hands back was never written: the connection closed under it.
    let response =
        sender
            .try_send_request(request)
            .await
            .map_err(|error| match error.message() {
                Some(_) => Failure::Stale,
                None => Failure::Transport,
            })?;
    let status = response.status();
    let mut body = response.into_body();
    while let Some(frame) = body.frame().await {
        frame.map_err(|_| Failure::Transport)?;
    }
    Ok(status)
}
