//! The log of what crossed the wire into the fake provider, so tests can assert on what the
//! gateway actually sent upstream.
//!
//! Every request is recorded before it is authenticated or validated. Recording can be switched
//! off (the `fake-provider` binary does) so benchmarks do not grow an unbounded log.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

use hyper::http::request::Parts;

/// One request as the fake provider received it.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    pub method: String,
    /// e.g. `/v1/chat/completions`.
    pub path: String,
    pub query: Option<String>,
    /// Header names are lower-case; values that are not valid UTF-8 are decoded lossily.
    pub headers: Vec<(String, String)>,
    /// The parsed JSON body, or `Value::Null` when the body was empty or not JSON.
    pub body: serde_json::Value,
}

impl RecordedRequest {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

#[derive(Debug)]
pub(crate) struct Recorder {
    enabled: AtomicBool,
    requests: Mutex<Vec<RecordedRequest>>,
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder {
            enabled: AtomicBool::new(true),
            requests: Mutex::new(Vec::new()),
        }
    }
}

impl Recorder {
    pub(crate) fn set_enabled(&self, enabled: bool) {
        self.enabled.store(enabled, Ordering::Relaxed);
    }

    pub(crate) fn enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    pub(crate) fn record(&self, parts: &Parts, body: &serde_json::Value) {
        let request = RecordedRequest {
            method: parts.method.as_str().to_owned(),
            path: parts.uri.path().to_owned(),
            query: parts.uri.query().map(str::to_owned),
            headers: parts
                .headers
                .iter()
                .map(|(name, value)| {
                    let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                    (name.as_str().to_owned(), value)
                })
                .collect(),
            body: body.clone(),
        };
        self.lock().push(request);
    }

    pub(crate) fn snapshot(&self) -> Vec<RecordedRequest> {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<RecordedRequest>> {
        self.requests.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
