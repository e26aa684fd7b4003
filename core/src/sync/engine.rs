//! The device's sync engine: one sync at a time, events to the app's listener, and a background task that syncs
//! when the device is online and something changed, backing off with jitter after retryable failures.

use super::client::{Client, LoginInfo, SyncConfig, SyncResult};
use super::runtime::runtime;
use super::trust::LoginOptions;
use crate::error::Result;
use crate::store::Store;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// What the app hears about syncs, to show a spinner, counts, or why it failed.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum SyncEvent {
    Started,
    /// Running totals after each round trip.
    Progress {
        sent: u64,
        received: u64,
    },
    Done {
        sent: u64,
        received: u64,
        round_trips: u32,
    },
    /// Running totals of the blob upload phase (after the documents): blobs and their bytes.
    Blobs {
        done: u64,
        total: u64,
        bytes_done: u64,
        bytes_total: u64,
    },
    /// `retryable`: the engine tries again by itself; otherwise the user must act (sign in, update the app).
    Failed {
        reason: String,
        retryable: bool,
    },
}

/// Implemented by the app (Kotlin, Swift, Python or Rust) to receive sync events; called on a core thread.
#[uniffi::export(with_foreign)]
pub trait SyncListener: Send + Sync {
    fn on_event(&self, event: SyncEvent);
}

/// Timing of the background task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackgroundOptions {
    /// How often an idle, online device looks for local changes to push.
    pub check_every: Duration,
    /// How often an online device pulls even when it has nothing to push.
    pub pull_every: Duration,
    /// First wait after a retryable failure; doubles up to `backoff_max`.
    pub backoff_base: Duration,
    pub backoff_max: Duration,
}

impl Default for BackgroundOptions {
    fn default() -> Self {
        Self {
            check_every: Duration::from_secs(5),
            pull_every: Duration::from_secs(300),
            backoff_base: Duration::from_secs(2),
            backoff_max: Duration::from_secs(600),
        }
    }
}

/// Exponential backoff with jitter: each wait is drawn between half and all of `base · 2^attempt` (capped), so
/// many phones reaching the township at once do not retry in step.
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    max: Duration,
    attempt: u32,
}

impl Backoff {
    pub fn new(base: Duration, max: Duration) -> Self {
        Self { base, max, attempt: 0 }
    }

    /// The next wait.
    pub fn next_delay(&mut self) -> Duration {
        let ceiling = self.base.saturating_mul(1u32 << self.attempt.min(20)).min(self.max);
        self.attempt = self.attempt.saturating_add(1);
        ceiling.mul_f64(rand::random_range(0.5..=1.0))
    }

    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

/// The sync state of one opened store, shared by the FFI object and the background task.
pub struct SyncEngine {
    store: Arc<Mutex<Store>>,
    client: Client,
    online: AtomicBool,
    requested: AtomicBool,
    listener: Mutex<Option<Arc<dyn SyncListener>>>,
    wake: Notify,
    one_at_a_time: tokio::sync::Mutex<()>,
    /// Which attachments may upload on the current network.
    network: Mutex<super::blobs::NetworkPolicy>,
}

impl SyncEngine {
    /// An engine for this store; the device counts as online until the app says otherwise.
    pub fn new(store: Arc<Mutex<Store>>, config: SyncConfig) -> Result<Arc<Self>> {
        Ok(Arc::new(Self {
            store,
            client: Client::new(config)?,
            online: AtomicBool::new(true),
            requested: AtomicBool::new(false),
            listener: Mutex::new(None),
            wake: Notify::new(),
            one_at_a_time: tokio::sync::Mutex::new(()),
            network: Mutex::new(Default::default()),
        }))
    }

    /// Signs in with the phone's trust store; see `login_with`.
    pub async fn login(&self, server_url: &str, user: &str, password: &str) -> Result<LoginInfo> {
        self.login_with(server_url, user, password, &LoginOptions::default()).await
    }

    /// Signs in and wakes the background task, which then syncs. `options`: the deployment's CA certificate or a
    /// pinned certificate, and the developer option for plain HTTP (see `sync::trust`).
    ///
    /// Signing in again as the same account keeps everything (the server hands the old device's actors to the new
    /// one). Signing in as another account, or to another server, first sends the previous account's unsynced work
    /// with its own session (documents and attachments); what still cannot go up refuses the sign-in with
    /// `SyncError::UnsyncedWork`, unless the user handed it over (`Store::set_aside_unsynced`). Then the previous
    /// account's documents are forgotten on this device.
    pub async fn login_with(
        &self,
        server_url: &str,
        user: &str,
        password: &str,
        options: &LoginOptions,
    ) -> Result<LoginInfo> {
        let _one = self.one_at_a_time.lock().await;
        if let Some(previous) = self.previous_account(server_url, user)? {
            if self.unsynced()? > 0 && super::client::Session::load(&*self.lock_store()?).is_ok() {
                // Best effort: a revoked sign-in or an unreachable server leaves the work where it is, and the
                // check below says so.
                let mut quiet = |_: &SyncResult| {};
                if let Ok(r) = self.client.sync_once(&self.store, &mut quiet).await {
                    let _ = super::blobs::sync_blobs(&self.client, &self.store, self.network(), &|_| {}, r).await;
                }
            }
            let pending = self.unsynced()?;
            if pending > 0 {
                return Err(super::SyncError::UnsyncedWork { user: previous.0, server: previous.1, pending }.into());
            }
        }
        let info = self.client.login_with(&self.store, server_url, user, password, options).await?;
        self.request_sync();
        Ok(info)
    }

    /// The account this store was signed in as (user, server), when signing in as `user` at `server_url` is a
    /// change of account or of server.
    fn previous_account(&self, server_url: &str, user: &str) -> Result<Option<(String, String)>> {
        let server = super::client::normalize_server_url(server_url)?;
        let store = self.lock_store()?;
        let prev_user = store.meta(super::client::meta::USER)?.filter(|u| !u.is_empty());
        let prev_server = store.meta(super::client::meta::SERVER)?.unwrap_or_default();
        Ok(match prev_user {
            Some(u) if u != user.trim() || prev_server != server => Some((u, prev_server)),
            _ => None,
        })
    }

    /// Changes and attachments on this device that no server has acknowledged.
    fn unsynced(&self) -> Result<u64> {
        let store = self.lock_store()?;
        Ok(store.pending_count()? + store.pending_uploads()?.len() as u64)
    }

    fn lock_store(&self) -> Result<std::sync::MutexGuard<'_, Store>> {
        self.store.lock().map_err(|_| crate::error::Error::Document("store lock poisoned".into()))
    }

    /// One full sync (waiting for a running one to finish first), reported to the listener.
    pub async fn sync(&self) -> Result<SyncResult> {
        let _one = self.one_at_a_time.lock().await;
        self.emit(SyncEvent::Started);
        let mut progress = |r: &SyncResult| self.emit(SyncEvent::Progress { sent: r.sent, received: r.received });
        let outcome = match self.client.sync_once(&self.store, &mut progress).await {
            Ok(r) => super::blobs::sync_blobs(&self.client, &self.store, self.network(), &|e| self.emit(e), r).await,
            Err(e) => Err(e),
        };
        match &outcome {
            Ok(r) => self.emit(SyncEvent::Done { sent: r.sent, received: r.received, round_trips: r.round_trips }),
            Err(e) => self.emit(SyncEvent::Failed { reason: e.to_string(), retryable: e.retryable() }),
        }
        outcome
    }

    /// The app reports the network coming and going; coming back wakes the background task.
    pub fn set_online(&self, online: bool) {
        self.online.store(online, Ordering::SeqCst);
        if online {
            self.request_sync();
        }
    }

    pub fn is_online(&self) -> bool {
        self.online.load(Ordering::SeqCst)
    }

    /// The app reports the kind of network (and the user's choice about metered data); a change wakes the
    /// background task, which then uploads what the new policy allows.
    pub fn set_network(&self, policy: super::blobs::NetworkPolicy) {
        if let Ok(mut p) = self.network.lock() {
            *p = policy;
        }
        self.request_sync();
    }

    pub fn network(&self) -> super::blobs::NetworkPolicy {
        self.network.lock().map(|p| *p).unwrap_or_default()
    }

    /// The bytes of an attachment, downloaded first when they are not on this device.
    pub async fn open_attachment(&self, hash: &str) -> Result<Vec<u8>> {
        super::blobs::open_attachment(&self.client, &self.store, hash).await
    }

    /// Asks the background task to sync soon, even after a failure that needed the user.
    pub fn request_sync(&self) {
        self.requested.store(true, Ordering::SeqCst);
        self.wake.notify_one();
    }

    /// Replaces the listener (`None` removes it).
    pub fn set_listener(&self, listener: Option<Arc<dyn SyncListener>>) {
        if let Ok(mut l) = self.listener.lock() {
            *l = listener;
        }
    }

    fn emit(&self, event: SyncEvent) {
        let listener = self.listener.lock().ok().and_then(|l| l.clone());
        if let Some(listener) = listener {
            listener.on_event(event);
        }
    }

    fn pending(&self) -> u64 {
        self.store.lock().ok().and_then(|s| s.pending_count().ok()).unwrap_or(0)
    }

    /// Starts the background task on the core's runtime; it runs until the handle is cancelled or dropped.
    pub fn start(self: &Arc<Self>, options: BackgroundOptions) -> Result<Arc<SyncTaskHandle>> {
        let engine = Arc::clone(self);
        let task = runtime()?.spawn(background(engine, options));
        Ok(Arc::new(SyncTaskHandle { task: Mutex::new(Some(task)) }))
    }
}

/// The background loop. It sleeps until woken or until `check_every` passes, and syncs when online and there is
/// a reason: local changes, a request, a pending retry, or the periodic pull. A non-retryable failure (signed out,
/// update required, refused) waits for a request instead of hammering the server. It ends when cancelled, or by
/// itself once the app has dropped the store object.
async fn background(engine: Arc<SyncEngine>, options: BackgroundOptions) {
    let mut backoff = Backoff::new(options.backoff_base, options.backoff_max);
    let mut last_pull: Option<Instant> = None;
    let mut retry_at: Option<Instant> = None;
    let mut blocked = false;
    loop {
        // Only this task still holds the engine: the app dropped its store object, so there is nothing to sync for.
        if Arc::strong_count(&engine) <= 1 {
            break;
        }
        let woken = engine.wake.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        if engine.requested.swap(false, Ordering::SeqCst) {
            blocked = false;
            retry_at = None;
            last_pull = None;
        }
        let now = Instant::now();
        let waiting_retry = retry_at.is_some_and(|t| now < t);
        let reason = retry_at.is_some()
            || last_pull.is_none_or(|t| now.duration_since(t) >= options.pull_every)
            || engine.pending() > 0;
        if engine.is_online() && !blocked && !waiting_retry && reason {
            match engine.sync().await {
                Ok(r) => {
                    backoff.reset();
                    retry_at = None;
                    last_pull = Some(Instant::now());
                    if r.incomplete || r.blobs.incomplete {
                        engine.requested.store(true, Ordering::SeqCst);
                    }
                }
                Err(e) if e.retryable() => retry_at = Some(Instant::now() + backoff.next_delay()),
                Err(_) => {
                    blocked = true;
                    retry_at = None;
                }
            }
            continue;
        }
        let nap = retry_at.map_or(options.check_every, |t| t.saturating_duration_since(now).min(options.check_every));
        tokio::select! {
            _ = &mut woken => {}
            _ = tokio::time::sleep(nap) => {}
        }
    }
}

/// The app's handle on the background sync: `cancel()` stops it; dropping the handle stops it too.
#[derive(uniffi::Object)]
pub struct SyncTaskHandle {
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

#[uniffi::export]
impl SyncTaskHandle {
    /// Stops the background sync; a sync in flight is abandoned between its transactions, losing nothing.
    pub fn cancel(&self) {
        if let Some(task) = self.task.lock().ok().and_then(|mut t| t.take()) {
            task.abort();
        }
    }

    pub fn is_finished(&self) -> bool {
        self.task.lock().map(|t| t.as_ref().is_none_or(|t| t.is_finished())).unwrap_or(true)
    }
}

impl Drop for SyncTaskHandle {
    fn drop(&mut self) {
        self.cancel();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter() {
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(10));
        let waits: Vec<Duration> = (0..8).map(|_| b.next_delay()).collect();
        for (i, w) in waits.iter().enumerate() {
            let ceiling = Duration::from_secs((1u64 << i).min(10));
            assert!(*w >= ceiling / 2 && *w <= ceiling, "attempt {i}: {w:?}");
        }
        b.reset();
        assert!(b.next_delay() <= Duration::from_secs(1));
    }
}
