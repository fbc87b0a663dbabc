//! Switchboard's gateway: the data plane of an LLM API gateway.
//!
//! The modules follow the request path of DESIGN.md: [`server`] accepts the request,
//! [`protocols`] parses it into the [`canonical`] model, [`policy`] identifies the caller and
//! applies limits through [`state`], [`routing`] orders the channels and runs the attempts
//! against [`providers`], and [`accounting`] and [`telemetry`] record what happened.
//! [`config`] loads the file and compiles the snapshot all of them read.

pub mod accounting;
pub mod app;
pub mod canonical;
pub mod config;
pub mod error;
pub mod policy;
pub mod protocols;
pub mod providers;
pub mod routing;
pub mod server;
pub mod state;
pub mod telemetry;

pub use app::AppState;
pub use server::serve;
