//! Sync between a device and the server.
//!
//! - `protocol`: the wire format shared by device and server;
//! - `error`: why a login or sync failed, mapped from the server's error answers;
//! - `client`: the device's HTTP client (login, bounded push/pull round trips);
//! - `engine`: one sync at a time, events to the app, the background task with backoff;
//! - `runtime`: the core's one tokio runtime;
//! - `trust`: which server certificates a device accepts (its CA, a pin, or the phone's), and no plain HTTP.

pub mod blobs;
pub mod client;
pub mod engine;
pub mod error;
pub mod protocol;
pub mod runtime;
pub mod trust;

pub use blobs::{BlobResult, NetworkKind, NetworkPolicy};
pub use client::{Client, LoginInfo, SyncConfig, SyncResult};
pub use engine::{BackgroundOptions, SyncEngine, SyncEvent, SyncListener, SyncTaskHandle};
pub use error::SyncError;
pub use trust::{LoginOptions, ServerTrust, TrustFailure};
