//! The sync part of the uniffi surface: sign in, sync now, online state, events and background sync. Each method
//! converts, calls the sync engine (`sync::engine`) and converts back; the network work runs on the core's runtime
//! and never holds the store lock.

use crate::error::DoorstepError;
use crate::ffi::Doorstep;
use crate::sync::client::{self, meta};
use crate::sync::runtime::block_on;
use crate::sync::{
    BackgroundOptions, LoginInfo, LoginOptions, SyncConfig, SyncEngine, SyncListener, SyncResult, SyncTaskHandle,
};
use std::sync::Arc;

type FfiResult<T> = Result<T, DoorstepError>;

/// What the sync screen shows.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, uniffi::Record)]
pub struct SyncStatus {
    /// Changes recorded on this device that the server has not acknowledged yet.
    pub pending: u64,
    /// Device time (ms since the epoch) of the last sync that finished, if any.
    pub last_sync_ms: Option<i64>,
    pub server: Option<String>,
    pub user: Option<String>,
    pub role: Option<String>,
    pub device_id: Option<String>,
    /// The server sequence up to which this device has pulled.
    pub cursor: u64,
    pub online: bool,
    /// Documents set aside for hand-over (refused as out of scope, or left the scope with unsynced changes).
    pub set_aside: u64,
    /// Attachments added on this device that the server does not have yet, and their bytes.
    #[serde(default)]
    pub pending_blobs: u64,
    #[serde(default)]
    pub pending_blob_bytes: u64,
}

impl Doorstep {
    /// The sync engine, made with `config` if it does not exist yet (Rust callers such as the CLI and tests set
    /// page sizes this way before the first sync).
    pub fn sync_engine_with(&self, config: SyncConfig) -> FfiResult<Arc<SyncEngine>> {
        if let Some(engine) = self.sync.get() {
            return Ok(Arc::clone(engine));
        }
        let engine = SyncEngine::new(Arc::clone(&self.store), config)?;
        Ok(Arc::clone(self.sync.get_or_init(|| engine)))
    }

    fn engine(&self) -> FfiResult<Arc<SyncEngine>> {
        self.sync_engine_with(SyncConfig::default())
    }

    /// Signs in with the phone's trust store (the form Rust callers and tests use; the app's `login` takes the
    /// trust options too).
    pub fn login(&self, server_url: String, user: String, password: String) -> FfiResult<LoginInfo> {
        self.login_with(&server_url, &user, &password, &LoginOptions::default())
    }

    /// Signs in with the deployment's CA, a pin, or the developer option for plain HTTP (see `sync::trust`).
    pub fn login_with(
        &self,
        server_url: &str,
        user: &str,
        password: &str,
        options: &LoginOptions,
    ) -> FfiResult<LoginInfo> {
        let engine = self.engine()?;
        Ok(block_on(engine.login_with(server_url, user, password, options))??)
    }
}

#[uniffi::export]
impl Doorstep {
    /// Signs in to `server_url` with a password; the device token is kept in the encrypted store.
    ///
    /// `ca_cert_pem`: the deployment's own CA certificate (PEM text), trusted instead of the phone's CAs.
    /// `pin_sha256`: the SHA-256 of the server certificate (hex), accepted whoever issued it; one or the other.
    /// `allow_insecure_http`: developer option, allows a plain `http://` server off this machine. The choice is kept
    /// in the encrypted store for every later sync; a refused certificate fails with `DoorstepError::Untrusted`.
    #[uniffi::method(name = "login", default(ca_cert_pem = None, pin_sha256 = None, allow_insecure_http = false))]
    pub fn login_trusting(
        &self,
        server_url: String,
        user: String,
        password: String,
        ca_cert_pem: Option<String>,
        pin_sha256: Option<String>,
        allow_insecure_http: bool,
    ) -> FfiResult<LoginInfo> {
        self.login_with(&server_url, &user, &password, &LoginOptions { ca_cert_pem, pin_sha256, allow_insecure_http })
    }

    /// Pushes everything unsent and pulls everything new, now; blocks until done (call it off the UI thread).
    pub fn sync_now(&self) -> FfiResult<SyncResult> {
        let engine = self.engine()?;
        Ok(block_on(engine.sync())??)
    }

    /// Tells the core whether the phone has a network; going online wakes the background sync.
    pub fn set_online(&self, online: bool) -> FfiResult<()> {
        self.engine()?.set_online(online);
        Ok(())
    }

    /// Receives sync events (started, progress, done, failed) from now on, replacing any earlier listener.
    pub fn set_sync_listener(&self, listener: Arc<dyn SyncListener>) -> FfiResult<()> {
        self.engine()?.set_listener(Some(listener));
        Ok(())
    }

    pub fn clear_sync_listener(&self) -> FfiResult<()> {
        self.engine()?.set_listener(None);
        Ok(())
    }

    /// Starts syncing in the background whenever online and something changed; keep the handle to stop it.
    pub fn start_background_sync(&self) -> FfiResult<Arc<SyncTaskHandle>> {
        Ok(self.engine()?.start(BackgroundOptions::default())?)
    }

    /// Pending changes, last sync, server and user, for the sync screen.
    pub fn sync_status(&self) -> FfiResult<SyncStatus> {
        let online = self.sync.get().is_none_or(|e| e.is_online());
        let store = self.store.lock().map_err(|_| DoorstepError::Internal { message: "store lock poisoned".into() })?;
        let text = |key: &str| -> FfiResult<Option<String>> { Ok(store.meta(key)?.filter(|v| !v.is_empty())) };
        let (pending_blobs, pending_blob_bytes) = store.pending_blob_totals()?;
        Ok(SyncStatus {
            pending: store.pending_count()?,
            last_sync_ms: text(meta::LAST_SYNC_MS)?.and_then(|v| v.parse().ok()),
            server: text(meta::SERVER)?,
            user: text(meta::USER)?,
            role: text(meta::ROLE)?,
            device_id: text(meta::DEVICE_ID)?,
            cursor: client::cursor(&store)?,
            online,
            set_aside: store.set_aside_count()?,
            pending_blobs,
            pending_blob_bytes,
        })
    }

    /// The documents set aside on this device, with their records as JSON: shown to the user and exported for
    /// hand-over (nothing the server refused is dropped silently).
    pub fn set_aside_docs(&self) -> FfiResult<Vec<crate::store::scope_exit::SetAsideDoc>> {
        let store = self.store.lock().map_err(|_| DoorstepError::Internal { message: "store lock poisoned".into() })?;
        Ok(store.set_aside_docs()?)
    }

    /// Hands over this account's unsynced work before another account signs in on the device: every document
    /// with changes the server has not received is set aside (kept in the encrypted store, listed by
    /// `set_aside_docs`, exportable). Returns how many. Signing in as another account refuses with
    /// `unsynced_work` until this is done or the work is synced.
    pub fn set_aside_unsynced(&self) -> FfiResult<u64> {
        let mut store =
            self.store.lock().map_err(|_| DoorstepError::Internal { message: "store lock poisoned".into() })?;
        Ok(store.set_aside_unsynced(crate::store::scope_exit::reason::HANDED_OVER)?)
    }
}
