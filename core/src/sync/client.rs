//! The device's side of the HTTP API: log in once, then sync in bounded round trips.
//!
//! One round trip pushes a batch of unacknowledged changes (up to `SyncConfig::push_max_bytes`) and pulls one page
//! (up to `SyncConfig::pull_max_bytes`). The store lock is taken only to read what to send and to apply what came
//! back, never across the network, so the app keeps working during a sync. A pulled page is applied together with
//! its cursor in one transaction: a cut connection or a killed app resumes from the last whole page.
//!
//! Leaving the scope: documents a page lists as removed are wiped after the acknowledgements are recorded and
//! before the page is applied (each step idempotent); a push refused as out of scope has its document set aside
//! (kept for hand-over, out of the sync queue) so that the next sync carries the rest (see `store::scope_exit`).

use super::error::SyncError;
use super::protocol::{self, DecodeError, ErrorCode, SyncRequest, SyncResponse, WireChange};
use super::trust::{self, LoginOptions, ServerTrust};
use crate::error::{Error, Result};
use crate::model::DocKind;
use crate::store::scope_exit::reason;
use crate::store::{now_ms, Incoming, Store};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::sync::atomic::{AtomicI64, AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// Keys of the store's metadata that the client owns.
pub mod meta {
    pub const SERVER: &str = "sync.server";
    pub const TOKEN: &str = "sync.token";
    pub const USER: &str = "sync.user";
    pub const ROLE: &str = "sync.role";
    pub const DEVICE_ID: &str = "sync.device_id";
    /// The server sequence up to which pulled pages are applied.
    pub const CURSOR: &str = "sync.cursor";
    /// Device time (ms) of the last sync that finished.
    pub const LAST_SYNC_MS: &str = "sync.last_ms";
    /// The deployment's CA certificate (PEM) given at sign-in; empty or absent: not used (see `sync::trust`).
    pub const TLS_CA_PEM: &str = "sync.tls_ca_pem";
    /// The pinned SHA-256 of the server's certificate (hex) given at sign-in; empty or absent: no pin.
    pub const TLS_PIN_SHA256: &str = "sync.tls_pin_sha256";
    /// "1" when the developer option allowed a plain `http://` server off this machine at sign-in.
    pub const ALLOW_INSECURE_HTTP: &str = "sync.allow_insecure_http";
    /// The document format the server's deployment writes, as its last sync answer said (`model::form`); new
    /// documents are created in it (`Store::creating_format`).
    pub const DOCUMENT_FORMAT: &str = "documents.format";
}

/// Sizes and limits of a sync. The defaults carry about 6,000 visit changes up in one request (a few hundred KB
/// once compressed) and keep a pulled page small enough for a cheap phone's memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncConfig {
    /// Most bytes of raw changes pushed in one request (before compression). A server answering 413 gets the
    /// backlog in halves, down to one change a request.
    pub push_max_bytes: usize,
    /// Most bytes of documents asked for in one pulled page.
    pub pull_max_bytes: u32,
    /// Most round trips of one `sync_once`; a longer backlog continues at the next sync.
    pub max_round_trips: u32,
    /// Time allowed for one HTTP request, connection included.
    pub timeout: Duration,
    /// Bytes of one blob upload or download request (see `sync::blobs`).
    pub blob_chunk_bytes: usize,
    /// Most blob chunks one sync (or one download) sends or fetches; `None` is no limit. Tests cut a transfer
    /// in the middle with it.
    pub blob_chunk_limit: Option<u32>,
    /// Fetch the attachments of the device's own households after each sync, instead of when they are opened.
    pub prefetch_own_households: bool,
    /// The sync protocol version tried first (`protocol::CURRENT`); a server that does not speak it yet answers
    /// `update_required`, and the client then speaks version 1 to it. Tests pin version 1 to play an old app.
    pub protocol_version: u16,
}

impl Default for SyncConfig {
    fn default() -> Self {
        Self {
            push_max_bytes: 4 * 1024 * 1024,
            pull_max_bytes: 4 * 1024 * 1024,
            max_round_trips: 1000,
            timeout: Duration::from_secs(60),
            blob_chunk_bytes: 256 * 1024,
            blob_chunk_limit: None,
            prefetch_own_households: false,
            protocol_version: protocol::CURRENT,
        }
    }
}

/// What a sync did: changes the server acknowledged, documents received, HTTP round trips made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, uniffi::Record)]
pub struct SyncResult {
    pub sent: u64,
    pub received: u64,
    pub round_trips: u32,
    /// True when the round-trip limit stopped the sync before the server said it was done.
    pub incomplete: bool,
    /// The blob phase after the documents.
    #[serde(default)]
    pub blobs: super::blobs::BlobResult,
    /// Documents wiped because they left this account's scope (after their changes went up).
    #[serde(default)]
    pub removed: u64,
    /// Documents set aside for hand-over during this sync (refused as out of scope, or left the scope with changes
    /// still pending); listed by `Doorstep::set_aside_docs`.
    #[serde(default)]
    pub set_aside: u64,
    /// Documents kept in the queue for a later sync because the server does not hold their household yet (a visit
    /// recorded for a household another device created and has not synced).
    #[serde(default)]
    pub held_back: u64,
    /// Set-aside documents put back into the queue because their household changed since (see
    /// `Store::retry_set_aside`); those the server accepted are synced now.
    #[serde(default)]
    pub retried: u64,
}

/// Who the device is signed in as, from the login answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, uniffi::Record)]
pub struct LoginInfo {
    pub server: String,
    pub user: String,
    pub role: String,
    pub device_id: String,
}

/// The credentials a sync needs, read from the store's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub server: String,
    pub token: String,
    /// How the server's certificate is checked, as chosen at sign-in.
    pub trust: ServerTrust,
}

impl Session {
    /// The signed-in session of this store, or `SyncError::NotSignedIn`. A plain `http://` server off this machine
    /// is refused here too unless the developer option was given at sign-in.
    pub fn load(store: &Store) -> Result<Self> {
        match (store.meta(meta::SERVER)?, store.meta(meta::TOKEN)?) {
            (Some(server), Some(token)) if !server.is_empty() && !token.is_empty() => {
                trust::check_transport(&server, store.meta(meta::ALLOW_INSECURE_HTTP)?.as_deref() == Some("1"))?;
                Ok(Self { server, token, trust: load_trust(store)? })
            }
            _ => Err(SyncError::NotSignedIn.into()),
        }
    }
}

/// The trust chosen at sign-in, from the store's metadata.
fn load_trust(store: &Store) -> Result<ServerTrust> {
    let text = |key| -> Result<Option<String>> { Ok(store.meta(key)?.filter(|v| !v.trim().is_empty())) };
    Ok(match (text(meta::TLS_PIN_SHA256)?, text(meta::TLS_CA_PEM)?) {
        (Some(pin), _) => ServerTrust::Pin { sha256: trust::parse_pin(&pin)? },
        (None, Some(pem)) => ServerTrust::Ca { pem },
        (None, None) => ServerTrust::Platform,
    })
}

/// Keeps the trust of a successful sign-in in the (encrypted) store for every later sync and blob transfer.
fn store_trust(store: &Store, chosen: &ServerTrust, allow_insecure_http: bool) -> Result<()> {
    let (pem, pin) = match chosen {
        ServerTrust::Platform => (String::new(), String::new()),
        ServerTrust::Ca { pem } => (pem.clone(), String::new()),
        ServerTrust::Pin { sha256 } => (String::new(), hex::encode(sha256)),
    };
    store.set_meta(meta::TLS_CA_PEM, &pem)?;
    store.set_meta(meta::TLS_PIN_SHA256, &pin)?;
    store.set_meta(meta::ALLOW_INSECURE_HTTP, if allow_insecure_http { "1" } else { "" })
}

#[derive(Serialize)]
struct LoginRequest<'a> {
    user: &'a str,
    password: &'a str,
    device_name: &'a str,
    /// The token this store held for the same account on the same server: the server retires that device and
    /// hands its Automerge actors to the new one, so work written before signing in again still syncs.
    #[serde(skip_serializing_if = "Option::is_none")]
    previous_token: Option<&'a str>,
}

#[derive(Deserialize)]
struct LoginAnswer {
    token: String,
    user: String,
    #[serde(default)]
    role: serde_json::Value,
    device_id: serde_json::Value,
}

fn json_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The HTTP client of one device. Cheap to clone; holds no store.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    config: SyncConfig,
    /// The push size this server accepts: `config.push_max_bytes` until a 413 teaches a smaller one, which later
    /// syncs of this client keep using instead of being refused again.
    push_budget: Arc<AtomicUsize>,
    /// The document named by the last refusal that names one (`out_of_scope`, `household_unknown`), for
    /// `sync_once` to set aside or hold back.
    last_refused_doc: Arc<Mutex<Option<String>>>,
    /// The protocol version this server is spoken to in: `config.protocol_version` until the server shows it
    /// speaks only version 1.
    version: Arc<AtomicU16>,
    /// The document format the server's last answer named (0 before any): a server speaking only protocol
    /// version 1 reads format 1 alone, and so does a deployment that still serves apps that do.
    document_format: Arc<AtomicI64>,
    /// The client made for a deployment's CA or pin, with the trust it was made for.
    trusted: Arc<Mutex<Option<(ServerTrust, reqwest::Client)>>>,
}

/// Timeouts and the user agent, the same for every trust.
fn http_builder(config: &SyncConfig) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .timeout(config.timeout)
        .connect_timeout(config.timeout.min(Duration::from_secs(15)))
        .user_agent(concat!("doorstep/", env!("CARGO_PKG_VERSION")))
}

fn lock(store: &Mutex<Store>) -> Result<MutexGuard<'_, Store>> {
    store.lock().map_err(|_| Error::Document("store lock poisoned".into()))
}

/// `http://host:port` without a trailing slash; anything else is a validation error naming `server`.
pub fn normalize_server_url(url: &str) -> Result<String> {
    let url = url.trim().trim_end_matches('/');
    let ok = (url.starts_with("http://") || url.starts_with("https://"))
        && url.split("://").nth(1).is_some_and(|h| !h.is_empty());
    if !ok {
        return Err(Error::invalid(
            "server",
            "must be an http:// or https:// address, e.g. https://doorstep.example.cn",
        ));
    }
    Ok(url.to_string())
}

impl Client {
    pub fn new(config: SyncConfig) -> Result<Self> {
        let http = trust::http_client(http_builder(&config), &ServerTrust::Platform)?;
        let push_budget = Arc::new(AtomicUsize::new(config.push_max_bytes));
        let trusted = Arc::new(Mutex::new(None));
        let version = Arc::new(AtomicU16::new(config.protocol_version));
        Ok(Self {
            http,
            trusted,
            config,
            push_budget,
            last_refused_doc: Arc::new(Mutex::new(None)),
            version,
            document_format: Arc::new(AtomicI64::new(0)),
        })
    }

    pub fn config(&self) -> &SyncConfig {
        &self.config
    }

    /// The HTTP client of a session (sync round trips and the blob transfers of `sync::blobs`).
    pub(super) fn http_for(&self, session: &Session) -> Result<reqwest::Client> {
        self.http_with(&session.trust)
    }

    /// The HTTP client that checks certificates as `chosen` says: the phone's trust store, or a client made for
    /// the deployment's CA or pin (kept, so its connections are reused until the trust changes).
    fn http_with(&self, chosen: &ServerTrust) -> Result<reqwest::Client> {
        if *chosen == ServerTrust::Platform {
            return Ok(self.http.clone());
        }
        let mut slot = self.trusted.lock().map_err(|_| Error::Document("HTTP client lock poisoned".into()))?;
        if let Some((_, http)) = slot.as_ref().filter(|(t, _)| t == chosen) {
            return Ok(http.clone());
        }
        let http = trust::http_client(http_builder(&self.config), chosen)?;
        *slot = Some((chosen.clone(), http.clone()));
        Ok(http)
    }

    /// Signs in with the phone's trust store and no developer options; see `login_with`.
    pub async fn login(&self, store: &Mutex<Store>, server_url: &str, user: &str, password: &str) -> Result<LoginInfo> {
        self.login_with(store, server_url, user, password, &LoginOptions::default()).await
    }

    /// Signs in with a password and keeps the issued device token, user, role, device id and server in the store.
    /// Signing in as another user or to another server restarts pulling from the beginning (the scope differs).
    /// `options` choose how the server's certificate is checked (the deployment's CA, a pin) and whether a plain
    /// `http://` server off this machine is allowed; a successful sign-in keeps them for every later sync.
    pub async fn login_with(
        &self,
        store: &Mutex<Store>,
        server_url: &str,
        user: &str,
        password: &str,
        options: &LoginOptions,
    ) -> Result<LoginInfo> {
        let server = normalize_server_url(server_url)?;
        trust::check_transport(&server, options.allow_insecure_http)?;
        let chosen = options.trust()?;
        if user.trim().is_empty() {
            return Err(Error::invalid("user", "must not be empty"));
        }
        let (device_name, previous_token) = {
            let store = lock(store)?;
            let same_account = store.meta(meta::SERVER)?.as_deref() == Some(&server)
                && store.meta(meta::USER)?.as_deref() == Some(user.trim());
            let token = if same_account { store.meta(meta::TOKEN)?.filter(|t| !t.is_empty()) } else { None };
            (store.author().device.clone(), token)
        };
        let request = LoginRequest {
            user: user.trim(),
            password,
            device_name: &device_name,
            previous_token: previous_token.as_deref(),
        };
        let resp = self
            .http_with(&chosen)?
            .post(format!("{server}/api/v1/login"))
            .json(&request)
            .send()
            .await
            .map_err(|e| SyncError::from_transport(&e))?;
        let status = resp.status().as_u16();
        let body = resp.bytes().await.map_err(|e| SyncError::from_transport(&e))?;
        if status != 200 {
            return Err(SyncError::from_response(status, &body).into());
        }
        let answer: LoginAnswer = serde_json::from_slice(&body)
            .map_err(|e| SyncError::Protocol(format!("login answer is not the expected JSON: {e}")))?;
        let info = LoginInfo {
            server,
            user: answer.user,
            role: json_text(&answer.role),
            device_id: json_text(&answer.device_id),
        };
        let mut store = lock(store)?;
        let previous_user = store.meta(meta::USER)?.filter(|u| !u.is_empty());
        let same_scope = store.meta(meta::SERVER)?.as_deref() == Some(&info.server)
            && previous_user.as_deref() == Some(info.user.as_str());
        if !same_scope {
            store.set_meta(meta::CURSOR, "0")?;
            if previous_user.is_some() {
                // Another account (or server): what the previous one held must not show to this one, and this
                // one's changes get an actor of their own (the server binds each actor to one device). The
                // engine made sure nothing unsynced is left; anything that is goes to the set-aside table.
                store.forget_documents()?;
                store.rotate_actor()?;
            }
        }
        store.set_meta(meta::SERVER, &info.server)?;
        store.set_meta(meta::TOKEN, &answer.token)?;
        store.set_meta(meta::USER, &info.user)?;
        store.set_meta(meta::ROLE, &info.role)?;
        store.set_meta(meta::DEVICE_ID, &info.device_id)?;
        store_trust(&store, &chosen, options.allow_insecure_http)?;
        store.set_user(&info.user)?;
        Ok(info)
    }

    /// Pushes every unacknowledged change and pulls every page the server has, in at most
    /// `max_round_trips` round trips; `progress` sees the running totals after each one.
    pub async fn sync_once(
        &self,
        store: &Mutex<Store>,
        progress: &mut (dyn FnMut(&SyncResult) + Send),
    ) -> Result<SyncResult> {
        let session = Session::load(&*lock(store)?)?;
        let mut result = SyncResult::default();
        let mut push_budget = self.push_budget.load(Ordering::Relaxed);
        // Documents whose household the server does not hold yet: they stay queued, and this sync sends the rest.
        let mut held_back: HashSet<String> = HashSet::new();
        // Set-aside documents put back into the queue by this sync: a refusal of one of them sets it aside again
        // quietly (the user was told the first time), instead of failing the sync.
        let mut retried: HashSet<String> = lock(store)?.retry_set_aside()?.into_iter().collect();
        let mut retried_after_pull = false;
        // The next page, asked for while this one is being applied (see `prefetch`).
        let mut prefetched: Option<tokio::task::JoinHandle<Result<SyncResponse>>> = None;
        loop {
            if result.round_trips >= self.config.max_round_trips {
                result.incomplete = true;
                break;
            }
            let (request, pushed, pushed_bytes, hashes) = if prefetched.is_some() {
                (SyncRequest { cursor: 0, max_bytes: 0, changes: Vec::new() }, 0, 0, Vec::new())
            } else {
                let store = lock(store)?;
                let cursor = cursor(&store)?;
                let pending = store.pending_changes_except(push_budget, &held_back)?;
                let pushed = pending.len();
                let pushed_bytes: usize = pending.iter().map(|p| p.change.bytes.len()).sum();
                let hashes = pending.iter().map(|p| hash_bytes(&p.change.hash)).collect::<Result<Vec<_>>>()?;
                let changes = pending
                    .into_iter()
                    .map(|p| WireChange { doc_id: p.doc_id, kind: p.kind.code().to_string(), bytes: p.change.bytes })
                    .collect();
                (SyncRequest { cursor, max_bytes: self.config.pull_max_bytes, changes }, pushed, pushed_bytes, hashes)
            };
            let answer = match prefetched.take() {
                Some(next) => next.await.unwrap_or_else(|e| {
                    Err(SyncError::Network { message: format!("the page request failed: {e}"), retryable: true }.into())
                }),
                None => self.round_trip(&session, &request, &hashes).await,
            };
            let response = match answer {
                // A server with a smaller body limit than this push: send the backlog in halves instead.
                Err(Error::Sync(e)) if e.code() == Some(ErrorCode::TooLarge) && pushed > 1 => {
                    result.round_trips += 1;
                    push_budget = (pushed_bytes / 2).max(1);
                    self.push_budget.store(push_budget, Ordering::Relaxed);
                    continue;
                }
                // A document the account may not write (any more): keep it aside for hand-over, so that it no
                // longer blocks the rest, and report the refusal.
                Err(Error::Sync(e)) if e.code() == Some(ErrorCode::OutOfScope) => {
                    let refused = self.last_refused_doc.lock().ok().and_then(|mut d| d.take());
                    if let Some(doc_id) = &refused {
                        lock(store)?.set_aside(doc_id, reason::REFUSED)?;
                    }
                    if refused.is_some_and(|id| retried.remove(&id)) {
                        result.round_trips += 1;
                        continue;
                    }
                    return Err(Error::Sync(e));
                }
                // A record of a household the server has not received yet: not a scope loss. Keep it queued for a
                // later sync and send the rest now; if its household is set aside here, it can never go up from
                // this device, so it joins its household.
                Err(Error::Sync(e)) if e.code() == Some(ErrorCode::HouseholdUnknown) => {
                    let Some(doc_id) = self.last_refused_doc.lock().ok().and_then(|mut d| d.take()) else {
                        return Err(Error::Sync(e));
                    };
                    result.round_trips += 1;
                    let mut store = lock(store)?;
                    if store.household_set_aside(&doc_id)? {
                        store.set_aside(&doc_id, reason::REFUSED)?;
                        result.set_aside += 1;
                    } else {
                        // Every queued record of that household waits with it: one refused round trip, not one each.
                        let siblings = store.records_of_same_household(&doc_id)?;
                        if !held_back.insert(doc_id) {
                            return Err(Error::Sync(e));
                        }
                        held_back.extend(siblings);
                    }
                    result.held_back = held_back.len() as u64;
                    continue;
                }
                other => other?,
            };
            result.round_trips += 1;
            let incoming = response
                .docs
                .into_iter()
                .map(|d| {
                    let kind = DocKind::parse(&d.kind).ok_or_else(|| {
                        SyncError::Protocol(format!("document {} has unknown kind {:?}", d.doc_id, d.kind))
                    })?;
                    Ok(Incoming { doc_id: d.doc_id, kind, snapshot: d.snapshot, changes: d.changes })
                })
                .collect::<Result<Vec<_>>>()?;
            let acked: Vec<String> = response.acked.iter().map(hex).collect();
            let unsynced_leaving = {
                let mut store = lock(store)?;
                store.mark_acked(&acked)?;
                // Kept at once: a sync cut after this answer must not leave the store creating documents in a
                // format the server would have to move.
                let format = self.document_format.load(Ordering::Relaxed);
                if format > 0 && store.meta(meta::DOCUMENT_FORMAT)?.as_deref() != Some(&format.to_string()) {
                    store.set_meta(meta::DOCUMENT_FORMAT, &format.to_string())?;
                }
                store.unsynced_count(&response.removed)?
            };
            if unsynced_leaving > 0 && pushed > 0 {
                // Work on documents leaving the scope is still waiting beyond this push: upload it first, keeping
                // the cursor (the server accepts it while the cursor is before the loss), then take the page again.
                result.sent += acked.len() as u64;
                progress(&result);
                continue;
            }
            if response.more && pushed == 0 && response.removed.is_empty() {
                prefetched = Some(self.prefetch(&session, response.cursor));
            }
            let pending_left = {
                let mut store = lock(store)?;
                let wiped = store.wipe_docs(&response.removed)?;
                result.removed += wiped.wiped;
                result.set_aside += wiped.set_aside;
                store.apply_incoming(&incoming, meta::CURSOR, &response.cursor.to_string())?;
                store.pending_count_except(&held_back)?
            };
            result.sent += acked.len() as u64;
            result.received += incoming.len() as u64;
            progress(&result);
            if response.more {
                continue;
            }
            if pending_left == 0 {
                // The pages may have brought the household of a set-aside record: put those back and push once more.
                if !retried_after_pull {
                    retried_after_pull = true;
                    let again = lock(store)?.retry_set_aside()?;
                    if !again.is_empty() {
                        retried.extend(again);
                        continue;
                    }
                }
                break;
            }
            if pushed > 0 && acked.is_empty() {
                return Err(SyncError::Protocol("the server acknowledged none of the pushed changes".into()).into());
            }
        }
        result.retried = retried.difference(&held_back).count() as u64;
        lock(store)?.set_meta(meta::LAST_SYNC_MS, &now_ms().to_string())?;
        Ok(result)
    }

    /// Asks for the page after `cursor` while the device applies the one before it, so the server's work on a page
    /// and the device's on the previous one overlap (a supervisor's first sync is twenty pages). Only a pull is asked
    /// ahead: a page that pushed nothing and removed nothing, with more to come. If the app stops before applying
    /// the page it came after, the answer is dropped and the next sync asks again from the stored cursor.
    fn prefetch(&self, session: &Session, cursor: u64) -> tokio::task::JoinHandle<Result<SyncResponse>> {
        let (client, session) = (self.clone(), session.clone());
        let request = SyncRequest { cursor, max_bytes: self.config.pull_max_bytes, changes: Vec::new() };
        tokio::spawn(async move { client.round_trip(&session, &request, &[]).await })
    }

    /// One `POST /api/v1/sync` in the protocol version this server speaks: a server that refuses version 2 as
    /// `update_required` is older than this app, and gets the same request in version 1 (and every later one).
    async fn round_trip(&self, session: &Session, request: &SyncRequest, pushed: &[[u8; 32]]) -> Result<SyncResponse> {
        let version = self.version.load(Ordering::Relaxed);
        match self.round_trip_in(version, session, request, pushed).await {
            Err(Error::Sync(SyncError::UpdateRequired { .. })) if version > protocol::V1 => {
                self.version.store(protocol::V1, Ordering::Relaxed);
                self.round_trip_in(protocol::V1, session, request, pushed).await
            }
            other => other,
        }
    }

    async fn round_trip_in(
        &self,
        version: u16,
        session: &Session,
        request: &SyncRequest,
        pushed: &[[u8; 32]],
    ) -> Result<SyncResponse> {
        let body = protocol::encode_request(version, request);
        let resp = self
            .http_for(session)?
            .post(format!("{}/api/v1/sync", session.server))
            .bearer_auth(&session.token)
            .header(reqwest::header::CONTENT_TYPE, protocol::CONTENT_TYPE)
            .body(body)
            .send()
            .await
            .map_err(|e| SyncError::from_transport(&e))?;
        let status = resp.status().as_u16();
        let format = match version {
            protocol::V1 => crate::model::form::LEGACY,
            _ => resp
                .headers()
                .get(protocol::DOCUMENT_FORMAT_HEADER)
                .and_then(|v| v.to_str().ok()?.parse().ok())
                .unwrap_or(crate::model::form::LEGACY),
        };
        let bytes = resp.bytes().await.map_err(|e| SyncError::from_transport(&e))?;
        if status != 200 {
            if let Ok(body) = serde_json::from_slice::<protocol::ErrorBody>(&bytes) {
                if let Ok(mut slot) = self.last_refused_doc.lock() {
                    *slot = body
                        .doc_id
                        .filter(|_| matches!(body.code, ErrorCode::OutOfScope | ErrorCode::HouseholdUnknown));
                }
            }
            return Err(SyncError::from_response(status, &bytes).into());
        }
        match protocol::decode_response(&bytes, pushed) {
            Ok((answered, response)) if answered == version => {
                self.document_format.store(format, Ordering::Relaxed);
                Ok(response)
            }
            Ok((answered, _)) | Err(DecodeError::Version(answered)) => Err(SyncError::UpdateRequired {
                message_en: format!("the server answered in protocol version {answered}: update the app"),
                message_zh: "服务器协议版本不同，请更新应用".into(),
            }
            .into()),
            Err(other) => Err(SyncError::Protocol(other.to_string()).into()),
        }
    }
}

/// The cursor of the last applied page (0 before the first sync).
pub fn cursor(store: &Store) -> Result<u64> {
    Ok(store.meta(meta::CURSOR)?.and_then(|c| c.parse().ok()).unwrap_or(0))
}

fn hex(bytes: &[u8; 32]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A change hash as the store keeps it (64 hex digits) in its 32 bytes.
fn hash_bytes(text: &str) -> Result<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(text, &mut out)
        .map_err(|e| Error::Document(format!("a pending change's hash {text:?} is not 64 hex digits: {e}")))?;
    Ok(out)
}

#[cfg(test)]
mod tests;
