//! Accounting: what each request used and where it went, recorded after the response without
//! making the client wait.
//!
//! Here a record becomes metrics (tokens, and cost from the price table) and, unless
//! `log.access` is off, one access log line (target `access`) an operator can read: request id,
//! key, tenant, protocol, model, channel, attempts, status, latency, tokens, cost and, for a
//! failed request, why. Spend counters are settled by the policy layer from the same usage, and
//! the usage stream to the control plane attaches to the same [`UsageRecord`].

pub mod prices;

use std::time::Duration;

use crate::canonical::Usage;
use crate::telemetry::metrics::{self, RouteMetrics};

/// One finished request.
pub struct UsageRecord<'a> {
    pub request_id: &'a str,
    pub protocol: &'static str,
    pub key_name: &'a str,
    pub tenant: Option<&'a str>,
    /// The model name after alias resolution, as configured (bounded label set).
    pub model: &'a str,
    pub channel: Option<&'a str>,
    /// The serving route's metric handles, when a route served the request.
    pub route_metrics: Option<&'a RouteMetrics>,
    pub status: u16,
    pub attempts: u32,
    pub usage: Option<Usage>,
    /// The serving route's price, when the price table knows its model.
    pub price: Option<prices::Price>,
    pub elapsed: Duration,
    pub stream: bool,
    /// Why the request failed, in the words the client got.
    pub error: Option<&'a str>,
    /// Write the access log line.
    pub log: bool,
}

pub fn record(record: &UsageRecord<'_>) {
    let channel = record.channel.unwrap_or("none");
    let cost = record
        .usage
        .as_ref()
        .zip(record.price)
        .map(|(usage, price)| price.cost_micros(usage));
    match record.route_metrics {
        Some(route) if record.status == 200 => {
            route.served(record.protocol, record.usage.as_ref(), cost, record.elapsed)
        }
        _ => metrics::request(
            record.protocol,
            record.model,
            channel,
            record.status,
            record.elapsed,
        ),
    }
    if record.log {
        tracing::info!(
            target: "access",
            request_id = record.request_id,
            key = record.key_name,
            tenant = record.tenant,
            protocol = record.protocol,
            model = record.model,
            channel,
            attempts = record.attempts,
            status = record.status,
            latency_ms = record.elapsed.as_secs_f64() * 1000.0,
            input_tokens = record.usage.map(|usage| usage.total_input()),
            output_tokens = record.usage.map(|usage| usage.output_tokens),
            cost_usd = cost.map(|micros| micros as f64 / 1e6),
            stream = record.stream,
            error = record.error,
        );
    }
}
