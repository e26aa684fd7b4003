//! The one tokio runtime of the core, made on first use: the background sync runs on it and blocking FFI calls
//! (`login`, `sync_now`) wait on it. One place, so the app never has to know that the core uses tokio.

use super::error::SyncError;
use crate::error::Result;
use std::future::Future;
use std::sync::OnceLock;
use tokio::runtime::Runtime;

static RUNTIME: OnceLock<std::result::Result<Runtime, String>> = OnceLock::new();

/// The core's runtime: two small worker threads are plenty for one device's network work.
pub fn runtime() -> Result<&'static Runtime> {
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("doorstep-sync")
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| {
            SyncError::Network { message: format!("could not start the network runtime: {e}"), retryable: false }.into()
        })
}

/// Runs a future to completion from a plain thread (the app's worker thread, the CLI's main thread). Called from
/// inside the runtime (for instance from a sync listener) it is refused instead of deadlocking or panicking.
pub fn block_on<F: Future>(future: F) -> Result<F::Output> {
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(crate::Error::Document("a blocking sync call was made from inside the sync runtime".into()));
    }
    Ok(runtime()?.block_on(future))
}
