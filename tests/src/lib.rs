//! Harness of the end-to-end tests: the real `doorstep-server` binary on a loopback port with a temporary data
//! directory, device homes driven through the real `doorstep` CLI (or opened in-process through the core), and a
//! small TCP proxy that can kill the server at a chosen byte of a request or response.
//!
//! Everything listens on and connects to 127.0.0.1 only. Every wait is bounded.

pub mod faults;
pub mod proxy;
pub mod sqlite_json;
pub mod store_choice;

use doorstep_core::ffi::Doorstep;
use doorstep_core::sync::SyncResult;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Once};
use std::time::Duration;

/// The directory holding the built binaries (`target/debug`), derived from the running test executable
/// (`target/debug/deps/<test>`).
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let deps = exe.parent().expect("deps dir");
    let dir = if deps.ends_with("deps") { deps.parent().expect("target dir") } else { deps };
    dir.to_path_buf()
}

static BUILD: Once = Once::new();

/// Path of a workspace binary. Once per test process the server and the CLI are brought up to date with
/// `cargo build --workspace --all-targets` (a no-op after the test command's identical build; selecting single
/// packages would resolve dependency features differently and rebuild much of the tree), so a test never
/// runs a stale binary; `DOORSTEP_E2E_NO_BUILD=1` skips that when the binaries are known to be fresh.
pub fn binary(name: &str) -> PathBuf {
    let path = bin_dir().join(name);
    BUILD.call_once(|| {
        let missing = ["doorstep-server", "doorstep"].iter().any(|b| !bin_dir().join(b).exists());
        if missing || std::env::var_os("DOORSTEP_E2E_NO_BUILD").is_none() {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let status = Command::new(cargo)
                .args(["build", "-q", "--workspace", "--all-targets"])
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .status()
                .expect("run cargo build");
            assert!(status.success(), "cargo build --workspace --all-targets failed");
        }
    });
    assert!(path.exists(), "{} is missing", path.display());
    path
}

/// A running `doorstep-server` with its own data directory (and, under `DOORSTEP_TEST_PG`, its own PostgreSQL
/// schema: see [`store_choice`]).
pub struct Server {
    child: Option<Child>,
    pub data: PathBuf,
    pub url: String,
    pub addr: std::net::SocketAddr,
}

/// The loopback URL a `doorstep-server serve` child prints as `listening on http://…` (its stdout piped), read
/// within its first lines; stdout is drained from then on so the server never blocks on a full pipe. Shared by
/// these tests and the benchmark, which start the same binary.
pub fn listening_url(child: &mut Child) -> Option<String> {
    let stdout = child.stdout.take()?;
    let mut lines = BufReader::new(stdout).lines();
    let mut url = None;
    for _ in 0..50 {
        match lines.next() {
            Some(Ok(line)) => {
                if let Some(rest) = line.split("listening on ").nth(1) {
                    url = Some(rest.split_whitespace().next().unwrap_or("").trim_end_matches('/').to_string());
                    break;
                }
            }
            _ => break,
        }
    }
    std::thread::spawn(move || for _ in lines.by_ref() {});
    url.filter(|u| u.starts_with("http://127.0.0.1:"))
}

impl Server {
    /// Starts a server on a free loopback port.
    pub fn start(data: &Path) -> Server {
        Self::start_at(data, "127.0.0.1:0")
    }

    /// Starts a server on the given address (used to restart on the same port after a kill).
    pub fn start_at(data: &Path, listen: &str) -> Server {
        Self::start_with(data, listen, &[])
    }

    /// Starts a server with extra `serve` arguments.
    pub fn start_with(data: &Path, listen: &str, extra: &[&str]) -> Server {
        std::fs::create_dir_all(data).expect("data dir");
        let mut cmd = Command::new(binary("doorstep-server"));
        store_choice::choose_store(&mut cmd, data);
        let mut child = cmd
            .args(["serve", "--data"])
            .arg(data)
            .args(["--listen", listen])
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn doorstep-server");
        let url = match listening_url(&mut child) {
            Some(u) if u.starts_with("http://127.0.0.1:") => u,
            other => {
                let _ = child.kill();
                panic!("the server did not print `listening on http://127.0.0.1:…` (got {other:?})");
            }
        };
        let addr = url.trim_start_matches("http://").parse().expect("server address");
        Server { child: Some(child), data: data.to_path_buf(), url, addr }
    }

    /// The server's process id (for the proxy to kill it at a chosen moment).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    /// SIGKILL, and wait for the process to be gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Waits for a process that was killed from elsewhere (the proxy).
    pub fn wait_killed(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Runs the server's admin CLI on this server's data directory; panics with its output on failure.
    pub fn admin(&self, args: &[&str]) -> String {
        admin(&self.data, args)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs `doorstep-server --data DIR <args>`; panics with its output on failure.
pub fn admin(data: &Path, args: &[&str]) -> String {
    let mut cmd = Command::new(binary("doorstep-server"));
    store_choice::choose_store(&mut cmd, data);
    let out = cmd.args(args).arg("--data").arg(data).stdin(Stdio::null()).output().expect("run doorstep-server");
    assert!(
        out.status.success(),
        "doorstep-server {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A failed CLI command: its exit code and what it printed on stderr.
#[derive(Debug)]
pub struct Failure {
    pub code: i32,
    pub stderr: String,
}

impl Failure {
    /// The error kind the CLI prints as `error[<kind>]` (an API refusal code, `network`, `validation`, …).
    pub fn kind(&self) -> &str {
        self.stderr.split("error[").nth(1).and_then(|r| r.split(']').next()).unwrap_or("")
    }
}

/// A field device: a `doorstep` home directory.
pub struct Device {
    pub home: PathBuf,
    pub name: String,
}

impl Device {
    /// `doorstep init` in `root/<name>`.
    pub fn init(root: &Path, name: &str) -> Device {
        let d = Device { home: root.join(name), name: name.to_string() };
        d.ok(&["init", "--device", name]);
        d
    }

    fn command(&self, args: &[&str], stdin: Option<&str>) -> Output {
        use std::io::Write;
        // The tests read the CLI's English words; the language otherwise follows the machine's locale.
        let mut child = Command::new(binary("doorstep"))
            .env("LC_ALL", "en_US.UTF-8")
            .arg("--home")
            .arg(&self.home)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn doorstep");
        if let Some(mut pipe) = child.stdin.take() {
            let _ = pipe.write_all(stdin.unwrap_or("").as_bytes());
        }
        child.wait_with_output().expect("doorstep output")
    }

    /// Runs a command that must succeed; returns its stdout, trimmed.
    pub fn ok(&self, args: &[&str]) -> String {
        self.ok_with_stdin(args, None)
    }

    pub fn ok_with_stdin(&self, args: &[&str], stdin: Option<&str>) -> String {
        let out = self.command(args, stdin);
        assert!(
            out.status.success(),
            "{}: doorstep {args:?} failed ({:?}): {}",
            self.name,
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Runs a command that must fail; returns the failure.
    pub fn fails(&self, args: &[&str], stdin: Option<&str>) -> Failure {
        let out = self.command(args, stdin);
        assert!(!out.status.success(), "{}: doorstep {args:?} should have failed", self.name);
        Failure { code: out.status.code().unwrap_or(-1), stderr: String::from_utf8_lossy(&out.stderr).into_owned() }
    }

    /// Runs a command with `--json` output and parses it.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut args = args.to_vec();
        args.push("--json");
        let out = self.ok(&args);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{}: {args:?} printed no JSON ({e}): {out}", self.name))
    }

    /// `doorstep login`, the password on stdin.
    pub fn login(&self, server: &str, user: &str, password: &str) {
        self.ok_with_stdin(&["login", "--server", server, "--user", user], Some(&format!("{password}\n")));
    }

    /// `doorstep sync --json`.
    pub fn sync(&self) -> SyncResult {
        self.sync_with(&[])
    }

    pub fn sync_with(&self, extra: &[&str]) -> SyncResult {
        let mut args = vec!["sync"];
        args.extend_from_slice(extra);
        serde_json::from_value(self.json(&args)).expect("sync result")
    }

    /// Household ids on the device (tombstoned ones left out), sorted.
    pub fn household_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .json(&["household", "list"])
            .as_array()
            .expect("list")
            .iter()
            .map(|h| h["id"].as_str().unwrap().to_string())
            .collect();
        ids.sort();
        ids
    }

    fn key(&self) -> Vec<u8> {
        let hex = std::fs::read_to_string(self.home.join("key")).expect("key file");
        let hex = hex.trim();
        (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex key")).collect()
    }

    /// Opens the device's store in-process with the core's `Store` (for steps the app API does not offer).
    pub fn store(&self) -> doorstep_core::store::Store {
        doorstep_core::store::Store::open(&self.home.join("store.db"), &self.key(), &self.name).expect("open the store")
    }

    /// Opens the device's store in-process through the core (for bulk recording and direct reads).
    pub fn open(&self) -> Arc<Doorstep> {
        let key = self.key();
        let device = std::fs::read_to_string(self.home.join("device")).expect("device file");
        Doorstep::open(self.home.join("store.db").to_string_lossy().into_owned(), key, device.trim().to_string())
            .expect("open the device store")
    }

    /// Ids of every document of a kind in the device's store, sorted (tombstones included).
    pub fn doc_ids(&self, kind: &str) -> Vec<String> {
        let store = self.store();
        let mut stmt = store.conn().prepare("SELECT id FROM docs WHERE kind = ?1 ORDER BY id").unwrap();
        let ids = stmt.query_map([kind], |r| r.get::<_, String>(0)).unwrap().collect::<Result<Vec<_>, _>>().unwrap();
        ids
    }

    /// A value of the device's sync metadata (token, server, …).
    pub fn meta(&self, key: &str) -> Option<String> {
        self.store().meta(key).expect("meta")
    }
}

/// A bounded wait for a condition that another process brings about.
pub fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..600 {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting for {what}");
}

/// The team and village of the standard doctor.
/// A day `days` from today, `YYYY-MM-DD`: inspector grants end within the server's maximum (90 days by default).
pub fn days_from_today(days: i64) -> String {
    (chrono::Local::now().date_naive() + chrono::Duration::days(days)).format("%Y-%m-%d").to_string()
}

pub const TEAM: &str = "石门村家医团队";
pub const VILLAGE_A: &str = "石门村";
pub const VILLAGE_B: &str = "青山村";
/// The township of both villages, as the server's place list has it.
pub const TOWNSHIP: &str = "石门镇";

/// A server with the standard accounts: `admin`, helpers `helper1` and `helper2`, `doctor1` of `TEAM` serving
/// `VILLAGE_A`. Every password is `pw-<name>`.
pub struct Fixture {
    pub tmp: tempfile::TempDir,
    pub server: Server,
}

impl Fixture {
    pub fn new() -> Fixture {
        Self::with_server_args(&[])
    }

    /// The same, with extra `serve` arguments (e.g. `--max-body`).
    pub fn with_server_args(extra: &[&str]) -> Fixture {
        let tmp = tempfile::tempdir().expect("temp dir");
        let data = tmp.path().join("server");
        std::fs::create_dir_all(&data).unwrap();
        for (name, role) in [("admin", "admin"), ("helper1", "helper"), ("helper2", "helper")] {
            admin(&data, &["user", "add", name, "--role", role, "--password", &format!("pw-{name}")]);
        }
        admin(&data, &["user", "add", "doctor1", "--role", "doctor", "--team", TEAM, "--password", "pw-doctor1"]);
        admin(&data, &["place", "add-township", TOWNSHIP]);
        for village in [VILLAGE_A, VILLAGE_B] {
            admin(&data, &["place", "add-village", village, "--township", TOWNSHIP]);
        }
        admin(&data, &["assign", "team", TEAM, VILLAGE_A]);
        let server = Server::start_with(&data, "127.0.0.1:0", extra);
        Fixture { tmp, server }
    }

    /// A new device home, signed in as `user` to `url` (the server's, or a proxy's).
    pub fn device_at(&self, name: &str, user: &str, url: &str) -> Device {
        let d = Device::init(self.tmp.path(), name);
        d.login(url, user, &format!("pw-{user}"));
        d
    }

    pub fn device(&self, name: &str, user: &str) -> Device {
        self.device_at(name, user, &self.server.url.clone())
    }
}

impl Default for Fixture {
    fn default() -> Self {
        Self::new()
    }
}

impl Device {
    /// Records a household through the CLI; returns its id.
    pub fn add_household(&self, number: &str, village: &str, head: &str, helpers: &[&str]) -> String {
        let mut args = vec![
            "household",
            "add",
            "--number",
            number,
            "--township",
            "石门镇",
            "--village",
            village,
            "--head",
            head,
            "--status",
            "registered_poor",
        ];
        for h in helpers {
            args.extend_from_slice(&["--helper", h]);
        }
        self.ok(&args)
    }

    /// Adds a member through the CLI; returns its id.
    pub fn add_member(&self, household: &str, name: &str, sex: &str, birth: &str, relation: &str) -> String {
        self.ok(&["member", "add", household, "--name", name, "--sex", sex, "--birth", birth, "--relation", relation])
    }

    /// Records a monthly visit through the CLI; returns its id.
    pub fn add_visit(&self, household: &str, note: &str) -> String {
        self.ok(&[
            "visit",
            "add",
            "--household",
            household,
            "--date",
            "2026-11-20",
            "--note",
            note,
            "--assurance",
            "water=ok",
        ])
    }

    /// Records a screening through the CLI; returns its id.
    pub fn add_screening(&self, household: &str, member: &str, systolic: &str, diastolic: &str) -> String {
        self.ok(&[
            "screening",
            "add",
            "--household",
            household,
            "--member",
            member,
            "--date",
            "2026-11-20",
            "--systolic",
            systolic,
            "--diastolic",
            diastolic,
            "--glucose",
            "6.1",
            "--height",
            "160",
            "--weight",
            "58",
        ])
    }

    /// Records `n` visits of a household in-process (the CLI would spend a process per visit); returns their ids.
    pub fn add_visits_in_process(&self, household: &str, visitor: &str, n: usize) -> Vec<String> {
        let app = self.open();
        (0..n)
            .map(|i| {
                let mut v = doorstep_core::model::samples::visit();
                v.id = String::new();
                v.household_id = household.to_string();
                v.visitor = visitor.to_string();
                v.note = format!("离线走访 {i}");
                app.save_visit(v).expect("save visit")
            })
            .collect()
    }

    /// `status --json`.
    pub fn status(&self) -> Value {
        self.json(&["status"])
    }
}

/// Posts raw bytes to `/api/v1/sync` with a device token, for tests of what the client never sends (another
/// protocol version, an oversized body) and of what the server answers a cursor-0 request. Returns status and body.
pub fn raw_sync(url: &str, token: &str, body: Vec<u8>) -> (u16, Vec<u8>) {
    let url = format!("{url}/api/v1/sync");
    let token = token.to_string();
    doorstep_core::sync::runtime::block_on(async move {
        let client = reqwest::Client::builder().timeout(Duration::from_secs(120)).build().expect("client");
        let resp = client
            .post(url)
            .bearer_auth(token)
            .header("content-type", doorstep_core::sync::protocol::CONTENT_TYPE)
            .body(body)
            .send()
            .await
            .expect("send");
        let status = resp.status().as_u16();
        (status, resp.bytes().await.map(|b| b.to_vec()).unwrap_or_default())
    })
    .expect("runtime")
}
