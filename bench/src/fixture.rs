//! The real parts the scenarios run against: the `doorstep-server` binary on a loopback port (SQLite in a temporary
//! directory, or a PostgreSQL database), a byte-counting TCP proxy in front of it, device stores and logins.
//!
//! Everything listens on and connects to 127.0.0.1 only; every wait is bounded; temporary directories are removed
//! when their owner is dropped, and a server process is killed with it.

use crate::Res;
use doorstep_core::store::Store;
use doorstep_core::sync::{Client, SyncConfig, SyncResult};
use doorstep_server::storage::postgres::PostgresStorage;
use doorstep_server::storage::sqlite::SqliteStorage;
use doorstep_server::storage::SharedStorage;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The key of every benchmark store: a fixed 32-byte raw SQLCipher key, as the app's keystore gives one.
pub const KEY: [u8; 32] = [7u8; 32];

/// Runs blocking database work on a plain thread: PostgreSQL's blocking client starts a runtime of its own, which
/// tokio refuses on a thread that belongs to (or is inside) a runtime.
pub fn off_runtime<T: Send>(work: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| s.spawn(work).join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
}

/// The directory of the running benchmark binary, where cargo also put `doorstep-server`.
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    exe.parent().map(Path::to_path_buf).unwrap_or_default()
}

/// Brings the server binary beside this one up to date, with the same profile (a no-op when it is fresh), unless
/// `DOORSTEP_BENCH_NO_BUILD=1` says the caller just built the workspace.
pub fn ensure_server_binary() -> Res<PathBuf> {
    let path = bin_dir().join("doorstep-server");
    if std::env::var_os("DOORSTEP_BENCH_NO_BUILD").is_none() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        if cfg!(debug_assertions) {
            // A debug build goes through the workspace build, as the test command does, so that dependencies are
            // not rebuilt with other features.
            cmd.args(["build", "-q", "--workspace", "--all-targets"]);
        } else {
            cmd.args(["build", "-q", "--release", "-p", "doorstep-server"]);
        }
        let status = cmd.current_dir(env!("CARGO_MANIFEST_DIR")).status()?;
        if !status.success() {
            return Err("building doorstep-server failed".into());
        }
    }
    if !path.exists() {
        return Err(format!("{} is missing: build the workspace first", path.display()).into());
    }
    Ok(path)
}

/// Where a server keeps its data.
#[derive(Debug, Clone)]
pub enum Db {
    /// The embedded SQLite store in this directory.
    Sqlite(PathBuf),
    /// A PostgreSQL database (a fresh one per server, created by `PgCluster::fresh_db`).
    Postgres(String),
}

impl Db {
    /// The store, opened in this process (for setup through the server's own account functions, and for the
    /// in-process ingest floor).
    pub fn open(&self) -> Res<SharedStorage> {
        off_runtime(|| {
            Ok(match self {
                Db::Sqlite(dir) => Arc::new(SqliteStorage::open(dir)?) as SharedStorage,
                Db::Postgres(url) => Arc::new(PostgresStorage::open(url)?),
            })
        })
    }

    pub fn label(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "SQLite",
            Db::Postgres(_) => "PostgreSQL",
        }
    }
}

/// A running `doorstep-server serve`, killed when dropped.
pub struct ServerProc {
    child: Option<Child>,
    pub url: String,
    pub addr: SocketAddr,
}

impl ServerProc {
    /// Starts the server binary on a free loopback port over `db` (whose directory must exist for SQLite).
    pub fn start(binary: &Path, db: &Db) -> Res<ServerProc> {
        let mut cmd = Command::new(binary);
        match db {
            Db::Sqlite(dir) => cmd.arg("--data").arg(dir),
            Db::Postgres(url) => cmd.arg("--database").arg(url),
        };
        let mut child = cmd
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("RUST_LOG", "error")
            .env_remove("DOORSTEP_DATA")
            .env_remove("DOORSTEP_DATABASE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let Some(url) = doorstep_e2e::listening_url(&mut child) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err("the server did not print `listening on http://127.0.0.1:…`".into());
        };
        let addr = url.trim_start_matches("http://").parse()?;
        Ok(ServerProc { child: Some(child), url, addr })
    }

    /// Peak resident memory of the server process so far (kB), from /proc.
    pub fn peak_rss_kb(&self) -> Option<u64> {
        let pid = self.child.as_ref()?.id();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        vm_hwm_kb(&status)
    }

    /// Stops the server (SIGKILL: the benchmark's data is thrown away) and waits for it.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for ServerProc {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `VmHWM` (peak resident set) in kB from a /proc/…/status text.
pub fn vm_hwm_kb(status: &str) -> Option<u64> {
    status.lines().find(|l| l.starts_with("VmHWM:"))?.split_whitespace().nth(1)?.parse().ok()
}

/// A TCP proxy on a loopback port that forwards to the server and counts the bytes each way: what the devices'
/// requests and the server's answers cost on the wire, HTTP headers included.
pub struct CountingProxy {
    pub url: String,
    up: Arc<AtomicU64>,
    down: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl CountingProxy {
    pub async fn start(upstream: SocketAddr) -> Res<CountingProxy> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let (up, down) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let (u, d) = (up.clone(), down.clone());
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (u, d) = (u.clone(), d.clone());
                tokio::spawn(async move {
                    let Ok(server) = tokio::net::TcpStream::connect(upstream).await else { return };
                    let _ = client.set_nodelay(true);
                    let _ = server.set_nodelay(true);
                    let (cr, cw) = client.into_split();
                    let (sr, sw) = server.into_split();
                    tokio::join!(pump(cr, sw, u), pump(sr, cw, d));
                });
            }
        });
        Ok(CountingProxy { url, up, down, task })
    }

    /// Bytes sent by devices and by the server since the last reset.
    pub fn bytes(&self) -> (u64, u64) {
        (self.up.load(Ordering::Relaxed), self.down.load(Ordering::Relaxed))
    }

    pub fn reset(&self) {
        self.up.store(0, Ordering::Relaxed);
        self.down.store(0, Ordering::Relaxed);
    }
}

impl Drop for CountingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn pump(mut from: tokio::net::tcp::OwnedReadHalf, mut to: tokio::net::tcp::OwnedWriteHalf, n: Arc<AtomicU64>) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(k) => {
                n.fetch_add(k as u64, Ordering::Relaxed);
                if to.write_all(&buf[..k]).await.is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown().await;
}

/// A device: a real encrypted core store in its own temporary directory, and the real sync client.
pub struct Device {
    pub store: Arc<Mutex<Store>>,
    pub path: PathBuf,
    pub client: Client,
    _dir: tempfile::TempDir,
}

impl Device {
    /// A fresh device store with the production settings (`synchronous = FULL`); `fast` turns the fsync off for
    /// stores that only prepare data (a simulated phone that has no power to lose), never for measured writes.
    pub fn new(name: &str, fast: bool) -> Res<Device> {
        let dir = tempfile::Builder::new().prefix("doorstep-bench-dev").tempdir()?;
        let path = dir.path().join(format!("{name}.db"));
        let store = Store::open(&path, &KEY, &format!("{name}-phone"))?;
        if fast {
            store.conn().pragma_update(None, "synchronous", "OFF")?;
        }
        let client = Client::new(SyncConfig { max_round_trips: 10_000, ..SyncConfig::default() })?;
        Ok(Device { store: Arc::new(Mutex::new(store)), path, client, _dir: dir })
    }

    pub async fn login(&self, url: &str, user: &str, password: &str) -> Res<()> {
        self.client.login(&self.store, url, user, password).await?;
        Ok(())
    }

    /// One whole sync (every round trip until the server has nothing more); an unfinished one is an error.
    pub async fn sync(&self) -> Res<SyncResult> {
        let r = self.client.sync_once(&self.store, &mut |_| {}).await?;
        if r.incomplete {
            return Err("a sync did not finish within its round-trip limit".into());
        }
        Ok(r)
    }

    pub fn with<T>(&self, f: impl FnOnce(&mut Store) -> Res<T>) -> Res<T> {
        let mut s = self.store.lock().map_err(|_| "store lock")?;
        f(&mut s)
    }
}

/// Logs a simulated device in with the JSON API; returns its token and device id.
pub async fn api_login(http: &reqwest::Client, url: &str, user: &str, password: &str) -> Res<(String, String)> {
    let body = serde_json::json!({ "user": user, "password": password, "device_name": format!("{user}-sim") });
    let resp = http.post(format!("{url}/api/v1/login")).json(&body).send().await?;
    let status = resp.status();
    let v: serde_json::Value = resp.json().await?;
    if !status.is_success() {
        return Err(format!("login of {user}: {status} {v}").into());
    }
    let text = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or_default().to_string();
    Ok((text("token"), text("device_id")))
}

/// A PostgreSQL server given by URL, in which each benchmark server gets a fresh database, dropped afterwards.
pub struct PgCluster {
    url: String,
    created: Mutex<Vec<String>>,
}

impl PgCluster {
    pub fn new(url: &str) -> PgCluster {
        PgCluster { url: url.to_string(), created: Mutex::new(Vec::new()) }
    }

    fn admin(&self) -> Res<r2d2_postgres::postgres::Client> {
        Ok(r2d2_postgres::postgres::Client::connect(&self.url, r2d2_postgres::postgres::NoTls)?)
    }

    /// A new empty database on the same server; its URL.
    pub fn fresh_db(&self, tag: &str) -> Res<String> {
        off_runtime(|| self.create(tag))
    }

    fn create(&self, tag: &str) -> Res<String> {
        let name = format!("doorstep_bench_{}_{tag}", std::process::id());
        let mut c = self.admin()?;
        // Two statements: CREATE DATABASE cannot run inside the implicit transaction of a multi-statement query.
        for sql in [format!("DROP DATABASE IF EXISTS {name}"), format!("CREATE DATABASE {name}")] {
            c.batch_execute(&sql).map_err(|e| format!("{sql}: {e:?}"))?;
        }
        self.created.lock().map_err(|_| "lock")?.push(name.clone());
        let (base, _) = self.url.rsplit_once('/').ok_or("PostgreSQL URL without a database name")?;
        let query = self.url.split_once('?').map(|(_, q)| format!("?{q}")).unwrap_or_default();
        Ok(format!("{base}/{name}{query}"))
    }

    /// Drops every database this run created (kept, and named, with `DOORSTEP_BENCH_KEEP_PG` set: the province's
    /// build takes many minutes, and its pages are looked into by hand afterwards).
    pub fn drop_all(&self) {
        let names: Vec<String> = self.created.lock().map(|mut v| std::mem::take(&mut *v)).unwrap_or_default();
        if names.is_empty() {
            return;
        }
        if std::env::var_os("DOORSTEP_BENCH_KEEP_PG").is_some() {
            eprintln!("kept PostgreSQL databases: {}", names.join(", "));
            return;
        }
        off_runtime(|| {
            if let Ok(mut c) = self.admin() {
                for n in names {
                    let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {n} WITH (FORCE)"));
                }
            }
        })
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        self.drop_all();
    }
}

/// A temporary directory for a server's SQLite data.
pub fn server_dir() -> Res<tempfile::TempDir> {
    Ok(tempfile::Builder::new().prefix("doorstep-bench-srv").tempdir()?)
}

/// Signs in to the pages through the form (its CSRF cookie and field), as a browser does; the client and the
/// session cookie to send with every page request.
pub async fn web_login(url: &str, user: &str, password: &str) -> Res<(reqwest::Client, String)> {
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
    let form = http.get(format!("{url}/login")).send().await?;
    let login_cookie = cookie_pairs(form.headers());
    let page = form.text().await?;
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .ok_or("no csrf field on the login page")?
        .to_string();
    let resp = http
        .post(format!("{url}/login"))
        .header("cookie", login_cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf={csrf}&user={user}&password={password}"))
        .send()
        .await?;
    if resp.status().as_u16() != 303 {
        return Err(format!("{user}'s sign-in answered {}", resp.status()).into());
    }
    Ok((http, cookie_pairs(resp.headers())))
}

fn cookie_pairs(h: &reqwest::header::HeaderMap) -> String {
    h.get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|c| c.split(';').next())
        .filter(|p| p.split_once('=').is_some_and(|(_, v)| !v.is_empty()))
        .collect::<Vec<_>>()
        .join("; ")
}
