//! Test harness: the real `doorstep-server` binary on a loopback port over a temporary data directory, accounts
//! made with its CLI, and devices that are real core stores speaking real HTTP.
#![allow(dead_code)]

use doorstep_core::model::{samples, Household, Visit};
use doorstep_core::store::{Incoming, Store};
use doorstep_core::sync::protocol::{self, ErrorBody, ErrorCode, SyncRequest, SyncResponse, WireChange, WireDoc};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub use doorstep_e2e::store_choice;

pub const BIN: &str = env!("CARGO_BIN_EXE_doorstep-server");
pub const PASSWORD: &str = "correct horse 1";
pub const TODAY: &str = "2026-11-29";

/// Runs an administration command; panics with its stderr when it fails.
pub fn cli(data: &Path, args: &[&str]) -> String {
    let mut cmd = Command::new(BIN);
    store_choice::choose_store(&mut cmd, data);
    let out = cmd.arg("--data").arg(data).args(args).output().expect("run doorstep-server");
    assert!(out.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs an administration command expected to fail; returns its stderr.
pub fn cli_fails(data: &Path, args: &[&str]) -> String {
    let mut cmd = Command::new(BIN);
    store_choice::choose_store(&mut cmd, data);
    let out = cmd.arg("--data").arg(data).args(args).output().expect("run doorstep-server");
    assert!(!out.status.success(), "{args:?} should have failed");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn add_user(data: &Path, name: &str, role: &str, team: Option<&str>) {
    let mut args = vec!["user", "add", name, "--role", role, "--password", PASSWORD];
    if let Some(t) = team {
        args.extend(["--team", t]);
    }
    cli(data, &args);
}

/// A running server, killed (SIGKILL) when dropped.
pub struct Server {
    pub child: Child,
    pub url: String,
    pub data: PathBuf,
}

impl Server {
    pub fn start(data: &Path) -> Self {
        Self::start_with(data, &[])
    }

    pub fn start_with(data: &Path, extra: &[&str]) -> Self {
        Self::start_logging(data, extra, Stdio::null())
    }

    /// The same, with the server's log (`RUST_LOG=warn`) written to `log` (a file, for tests of what it says).
    pub fn start_logging(data: &Path, extra: &[&str], log: Stdio) -> Self {
        let mut cmd = Command::new(BIN);
        store_choice::choose_store(&mut cmd, data);
        let mut child = cmd
            .arg("--data")
            .arg(data)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("start doorstep-server");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("first line");
        let url =
            line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("unexpected: {line:?}")).to_string();
        assert!(url.starts_with("http://127.0.0.1:"), "{url}");
        Self { child, url, data: data.to_path_buf() }
    }

    /// SIGKILL: no chance to flush or clean up.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder().timeout(std::time::Duration::from_secs(60)).build().expect("client")
}

/// A login answer.
#[derive(Debug, serde::Deserialize)]
pub struct Login {
    pub token: String,
    pub user: String,
    pub role: String,
    pub device_id: String,
}

/// Posts a login; returns the status and the JSON body.
pub async fn login_raw(url: &str, user: &str, password: &str) -> (u16, serde_json::Value) {
    let res = http()
        .post(format!("{url}/api/v1/login"))
        .json(&serde_json::json!({"user": user, "password": password, "device_name": "test phone"}))
        .send()
        .await
        .expect("login request");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(serde_json::Value::Null))
}

pub async fn login(url: &str, user: &str) -> Login {
    let (status, body) = login_raw(url, user, PASSWORD).await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_value(body).expect("login answer")
}

/// The answer to a sync request: a decoded response or an error body.
#[derive(Debug)]
pub enum Answer {
    Ok(SyncResponse),
    Err(u16, ErrorBody),
}

impl Answer {
    pub fn ok(self) -> SyncResponse {
        match self {
            Answer::Ok(r) => r,
            Answer::Err(s, b) => panic!("sync failed: {s} {b:?}"),
        }
    }

    /// The status and the whole error body (its messages included).
    pub fn refusal(self) -> (u16, ErrorBody) {
        match self {
            Answer::Err(s, b) => (s, b),
            Answer::Ok(r) => panic!("expected an error, got {} docs", r.docs.len()),
        }
    }

    pub fn err(self) -> (u16, ErrorCode) {
        match self {
            Answer::Err(s, b) => (s, b.code),
            Answer::Ok(r) => panic!("expected an error, got {} docs", r.docs.len()),
        }
    }
}

/// Posts a sync body as it is; the answer is decoded in whatever version it comes in.
pub async fn post_sync_bytes(url: &str, token: &str, body: Vec<u8>) -> Answer {
    // What a version 2 answer acknowledges as a whole: the changes of the request, when it is one.
    let pushed: Vec<[u8; 32]> = protocol::decode_request(&body)
        .map(|(_, r)| {
            r.changes
                .iter()
                .filter_map(|c| automerge::Change::from_bytes(c.bytes.clone()).ok())
                .map(|c| c.hash().0)
                .collect()
        })
        .unwrap_or_default();
    let res = http()
        .post(format!("{url}/api/v1/sync"))
        .bearer_auth(token)
        .header("content-type", protocol::CONTENT_TYPE)
        .body(body)
        .send()
        .await
        .expect("sync request");
    let status = res.status().as_u16();
    let bytes = res.bytes().await.expect("body");
    if status == 200 {
        Answer::Ok(protocol::decode_response(&bytes, &pushed).expect("decodable response").1)
    } else {
        let body: ErrorBody =
            serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{status}: not an ErrorBody ({e}): {bytes:?}"));
        assert!(!body.message_en.is_empty() && !body.message_zh.is_empty());
        Answer::Err(status, body)
    }
}

/// One round trip in the protocol version this build speaks.
pub async fn sync(url: &str, token: &str, req: &SyncRequest) -> Answer {
    sync_in(protocol::CURRENT, url, token, req).await
}

/// One round trip in protocol `version`.
pub async fn sync_in(version: u16, url: &str, token: &str, req: &SyncRequest) -> Answer {
    post_sync_bytes(url, token, protocol::encode_request(version, req)).await
}

/// A field device: a real encrypted core store, its token and its cursor.
pub struct Phone {
    pub store: Store,
    pub token: String,
    pub device_id: String,
    pub cursor: u64,
    /// The protocol version it syncs in (`protocol::CURRENT`; version 1 plays an app not yet updated).
    pub version: u16,
    _dir: tempfile::TempDir,
}

impl Phone {
    pub async fn login(url: &str, user: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = Store::open(&dir.path().join("phone.db"), &[7u8; 32], "test phone").expect("store");
        store.set_user(user).expect("user");
        let l = login(url, user).await;
        Self { store, token: l.token, device_id: l.device_id, cursor: 0, version: protocol::CURRENT, _dir: dir }
    }

    /// A household in `village` naming `helpers`, saved on the phone.
    pub fn new_household(&mut self, village: &str, helpers: &[&str]) -> Household {
        let mut h = samples::household();
        h.village = village.into();
        h.helper_ids = helpers.iter().map(|s| s.to_string()).collect();
        self.store.put(&h, TODAY).expect("put household");
        h
    }

    pub fn new_visit(&mut self, household_id: &str) -> Visit {
        let mut v = samples::visit();
        v.household_id = household_id.into();
        self.store.put(&v, TODAY).expect("put visit");
        v
    }

    /// The changes the server has not acknowledged, as they go on the wire.
    pub fn pending(&self) -> Vec<WireChange> {
        self.store
            .pending_changes(usize::MAX)
            .expect("pending")
            .into_iter()
            .map(|p| WireChange { doc_id: p.doc_id, kind: p.kind.code().into(), bytes: p.change.bytes })
            .collect()
    }

    /// One round trip pushing everything pending; applies the page like the app does. Returns the answer.
    pub async fn sync_once(&mut self, url: &str) -> Answer {
        let req = SyncRequest { cursor: self.cursor, max_bytes: 0, changes: self.pending() };
        let answer = sync_in(self.version, url, &self.token, &req).await;
        if let Answer::Ok(resp) = &answer {
            let hashes: Vec<String> = resp.acked.iter().map(hex::encode).collect();
            self.store.mark_acked(&hashes).expect("mark acked");
            self.apply(resp);
        }
        answer
    }

    /// Syncs until no page is left (bounded).
    pub async fn sync_all(&mut self, url: &str) -> Vec<String> {
        let mut received = Vec::new();
        for _ in 0..100 {
            let resp = self.sync_once(url).await.ok();
            received.extend(resp.docs.iter().map(|d| d.doc_id.clone()));
            if !resp.more {
                return received;
            }
        }
        panic!("more than 100 pages");
    }

    pub fn apply(&mut self, resp: &SyncResponse) {
        let items: Vec<Incoming> = resp.docs.iter().map(incoming).collect();
        self.store.apply_incoming(&items, "cursor", &resp.cursor.to_string()).expect("apply page");
        self.cursor = resp.cursor;
    }

    /// Ids of the documents this phone holds.
    pub fn doc_ids(&self) -> Vec<String> {
        let mut stmt = self.store.conn().prepare("SELECT id FROM docs ORDER BY id").expect("prepare");
        stmt.query_map([], |r| r.get(0)).expect("query").collect::<Result<_, _>>().expect("rows")
    }
}

pub fn incoming(d: &WireDoc) -> Incoming {
    Incoming {
        doc_id: d.doc_id.clone(),
        kind: doorstep_core::model::DocKind::parse(&d.kind).expect("known kind"),
        snapshot: d.snapshot.clone(),
        changes: d.changes.clone(),
    }
}

/// A fresh data directory with the usual accounts: two helpers, a doctor of team `T1` (village 石门村), a
/// supervisor of 石门镇 and an admin; townships 石门镇 (villages 石门村, 白沙村) and 东山镇 (village 青山村).
pub fn county() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    add_user(d, "helper1", "helper", None);
    add_user(d, "helper2", "helper", None);
    add_user(d, "doctor1", "doctor", Some("T1"));
    add_user(d, "super1", "supervisor", None);
    add_user(d, "admin", "admin", None);
    for township in ["石门镇", "东山镇"] {
        cli(d, &["place", "add-township", township]);
    }
    for (village, township) in [("石门村", "石门镇"), ("白沙村", "石门镇"), ("青山村", "东山镇")] {
        cli(d, &["place", "add-village", village, "--township", township]);
    }
    cli(d, &["assign", "team", "T1", "石门村"]);
    cli(d, &["assign", "area", "super1", "--township", "石门镇"]);
    dir
}
