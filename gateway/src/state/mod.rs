//! Shared state: the counters and buckets that several gateway nodes must agree on.
//!
//! The interface is one small type with two implementations in mind: in-process (standalone,
//! here) and Redis (cluster, where every node shares the same buckets). Callers never know which
//! one they talk to.

mod local;

use std::time::Duration;

pub use local::LocalState;

/// The outcome of taking from a bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed { remaining: u32, reset: Duration },
    Denied { retry_after: Duration },
}

/// The shared-state handle the request path uses.
pub enum SharedState {
    Local(LocalState),
}

impl SharedState {
    pub fn local() -> Self {
        SharedState::Local(LocalState::default())
    }

    /// Takes one unit from the bucket `key`, which admits `limit` units per `period`.
    pub fn take(&self, key: &str, limit: u32, period: Duration) -> Decision {
        match self {
            SharedState::Local(local) => local.take(key, limit, period),
        }
    }
}
