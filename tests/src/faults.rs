//! Fault injection for the reliability tests: a seeded random source, a device's store and change hashes read
//! directly, the server's database read (and write-locked) from the test, a CLI sync process that can be killed,
//! and a chaos proxy that cuts, truncates, delays, drops or replays HTTP exchanges between device and server.
//!
//! Everything stays on 127.0.0.1 and every loop and wait is bounded.

use crate::{binary, Device};
use doorstep_core::store::Store;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How many runs a fault test makes: `DOORSTEP_FAULT_RUNS`, else `default` (the fast suite's number).
pub fn fault_runs(default: usize) -> usize {
    std::env::var("DOORSTEP_FAULT_RUNS").ok().and_then(|v| v.parse().ok()).filter(|n| *n > 0).unwrap_or(default)
}

/// A small deterministic random source (splitmix64), so a failing run can be repeated with its seed.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// Seeded from `DOORSTEP_FAULT_SEED` when set, else from the clock; the seed is printed for reproduction.
    pub fn from_env(test: &str) -> Rng {
        let seed = std::env::var("DOORSTEP_FAULT_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or_else(|| {
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(1)
        });
        eprintln!("{test}: DOORSTEP_FAULT_SEED={seed}");
        Rng(seed)
    }

    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `lo..hi` (`lo` when the range is empty).
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            lo
        } else {
            lo + self.next_u64() % (hi - lo)
        }
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.range(0, 100) < percent
    }
}

/// Opens a device's encrypted store in-process with the key from its home (the CLI must not be running on it).
pub fn device_store(d: &Device) -> Store {
    let hex = std::fs::read_to_string(d.home.join("key")).expect("key file");
    let hex = hex.trim();
    let key: Vec<u8> =
        (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex key")).collect();
    Store::open(&d.home.join("store.db"), &key, &d.name).expect("open the device store")
}

/// Hashes of the changes this device made itself (`acked_only`: only those the server acknowledged).
pub fn local_hashes(d: &Device, acked_only: bool) -> BTreeSet<String> {
    let store = device_store(d);
    let sql = if acked_only {
        "SELECT hash FROM changes WHERE local = 1 AND acked = 1"
    } else {
        "SELECT hash FROM changes WHERE local = 1"
    };
    let mut stmt = store.conn().prepare(sql).expect("prepare");
    let rows = stmt.query_map([], |r| r.get::<_, String>(0)).expect("query");
    rows.collect::<Result<_, _>>().expect("hashes")
}

/// Every document on a device with its heads (the Automerge state it holds), for convergence checks.
pub fn device_heads(d: &Device) -> BTreeMap<String, String> {
    let store = device_store(d);
    let mut stmt = store.conn().prepare("SELECT id, bytes FROM docs").expect("prepare");
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))).expect("query");
    rows.map(|row| {
        let (id, bytes) = row.expect("a document row");
        let mut doc =
            doorstep_core::doc::Document::load(&bytes, &automerge::ActorId::random()).expect("a readable document");
        (id, doc.heads().join(","))
    })
    .collect()
}

/// The server-side id of a signed-in device.
pub fn device_id(d: &Device) -> String {
    d.meta("sync.device_id").expect("the device is signed in")
}

/// The server's SQLite database, opened from the test through the core's SQLite (SQLCipher): a throwaway
/// encrypted scratch store with the server's plain file attached as `srv` (`KEY ''` means not encrypted).
pub struct ServerDb {
    store: Store,
    _scratch: tempfile::TempDir,
}

impl ServerDb {
    pub fn open(data: &Path) -> ServerDb {
        let scratch = tempfile::tempdir().expect("scratch dir");
        let store = Store::open(&scratch.path().join("scratch.db"), &[9u8; 32], "test").expect("scratch store");
        let path = data.join("doorstep.db");
        assert!(path.exists(), "{} is missing", path.display());
        store
            .conn()
            .execute("ATTACH DATABASE ?1 AS srv KEY ''", [path.to_string_lossy().to_string()])
            .expect("attach the server's database");
        ServerDb { store, _scratch: scratch }
    }

    /// One integer from a query over the `srv` schema.
    pub fn count(&self, sql: &str) -> i64 {
        self.store.conn().query_row(sql, [], |r| r.get(0)).unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// Every change hash the server stored, with the device that pushed it.
    pub fn change_devices(&self) -> BTreeMap<String, String> {
        let mut stmt = self.store.conn().prepare("SELECT hash, device_id FROM srv.changes").expect("prepare");
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))).expect("query");
        rows.collect::<Result<_, _>>().expect("changes")
    }

    /// Every document the server holds: id, kind code and saved bytes.
    pub fn docs(&self) -> Vec<(String, String, Vec<u8>)> {
        let mut stmt = self.store.conn().prepare("SELECT id, kind, bytes FROM srv.docs ORDER BY id").expect("prepare");
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).expect("query");
        rows.collect::<Result<_, _>>().expect("docs")
    }

    /// Rows of the server's `changes` table (a hash stored twice would show here: more rows than hashes).
    pub fn change_rows(&self) -> i64 {
        self.count("SELECT count(*) FROM srv.changes")
    }

    /// Takes SQLite's write lock on the server's database (`BEGIN EXCLUSIVE`) until `unlock`.
    pub fn lock(&self) {
        self.store.conn().execute_batch("BEGIN EXCLUSIVE").expect("lock the server's database");
    }

    pub fn unlock(&self) {
        self.store.conn().execute_batch("ROLLBACK").expect("unlock the server's database");
    }

    /// Every text value of every table of the server's database, for searching a secret that must not be there.
    pub fn all_text(&self) -> String {
        let conn = self.store.conn();
        let mut stmt = conn.prepare("SELECT name FROM srv.sqlite_master WHERE type = 'table'").expect("prepare");
        let tables: Vec<String> =
            stmt.query_map([], |r| r.get(0)).expect("tables").collect::<Result<_, _>>().expect("tables");
        let mut out = String::new();
        for t in tables {
            let mut stmt = conn.prepare(&format!("SELECT * FROM srv.\"{t}\"")).expect("select");
            let n = stmt.column_count();
            let mut rows = stmt.query([]).expect("rows");
            while let Some(row) = rows.next().expect("row") {
                for i in 0..n {
                    if let Ok(s) = row.get::<_, String>(i) {
                        out.push_str(&s);
                        out.push('\n');
                    }
                }
            }
        }
        out
    }
}

/// Checks that every change each device made is on the server exactly once and pushed by that device, and that
/// the server holds nothing else; returns the number of changes checked.
pub fn assert_each_write_on_server_once(data: &Path, devices: &[&Device]) -> usize {
    let db = ServerDb::open(data);
    let on_server = db.change_devices();
    assert_eq!(db.change_rows() as usize, on_server.len(), "one row per change hash");
    let mut total = 0;
    for d in devices {
        let mine = local_hashes(d, false);
        let id = device_id(d);
        let theirs: BTreeSet<String> =
            on_server.iter().filter(|(_, dev)| **dev == id).map(|(h, _)| h.clone()).collect();
        let missing: Vec<_> = mine.difference(&theirs).collect();
        assert!(missing.is_empty(), "{}: {} changes never reached the server: {missing:?}", d.name, missing.len());
        assert_eq!(theirs, mine, "{}: the server holds changes under this device that it never made", d.name);
        assert_eq!(d.status()["pending"], 0, "{}: changes still pending", d.name);
        total += mine.len();
    }
    assert_eq!(on_server.len(), total, "the server holds exactly the devices' changes");
    total
}

/// A `doorstep sync --json` process on a device home that the test may kill at any moment.
pub fn spawn_sync(d: &Device, extra: &[&str]) -> Child {
    Command::new(binary("doorstep"))
        .arg("--home")
        .arg(&d.home)
        .args(["sync", "--json"])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn doorstep sync")
}

/// SIGKILL, unless the process already ended; true if the kill interrupted it. The process is reaped.
pub fn kill_now(child: &mut Child) -> bool {
    let running = matches!(child.try_wait(), Ok(None));
    if running {
        let _ = child.kill();
    }
    let _ = child.wait();
    running
}

/// Waits (bounded: at most `limit`) for a child to end by itself; kills it if it does not.
pub fn wait_bounded(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let steps = (limit.as_millis() / 20).max(1);
    for _ in 0..steps {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// What the chaos proxy does to one HTTP exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fault {
    /// Forwarded untouched.
    Pass,
    /// The request is cut after a part of it went to the server; the device gets no answer.
    CutRequest,
    /// The server answers in full, but the device gets the connection closed without an answer (the server
    /// stored the push; the device does not know).
    DropResponse,
    /// The device gets only the first part of the answer.
    TruncateResponse,
    /// The answer is held back a little (at most 300 ms) before it is sent.
    Delay,
    /// The request reaches the server twice (a retransmission); the device gets the second answer.
    Replay,
}

impl Fault {
    pub const ALL: [Fault; 6] =
        [Fault::Pass, Fault::CutRequest, Fault::DropResponse, Fault::TruncateResponse, Fault::Delay, Fault::Replay];
}

struct ChaosState {
    upstream: Mutex<SocketAddr>,
    rng: Mutex<Rng>,
    /// Percent of exchanges that get a fault (the others pass).
    rate: AtomicU64,
    injected: Mutex<BTreeMap<Fault, u64>>,
    stop: AtomicBool,
}

/// A loopback HTTP/1.1 proxy that applies a random `Fault` to each exchange (one request a connection: the
/// request is forwarded with `Connection: close`, so an answer ends where the server closes).
pub struct ChaosProxy {
    pub addr: SocketAddr,
    state: Arc<ChaosState>,
}

impl ChaosProxy {
    pub fn start(upstream: SocketAddr, seed: u64, rate_percent: u64) -> ChaosProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind chaos proxy");
        let addr = listener.local_addr().expect("address");
        let state = Arc::new(ChaosState {
            upstream: Mutex::new(upstream),
            rng: Mutex::new(Rng::new(seed)),
            rate: AtomicU64::new(rate_percent),
            injected: Mutex::new(BTreeMap::new()),
            stop: AtomicBool::new(false),
        });
        let st = state.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if st.stop.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(client) = conn {
                    let st = st.clone();
                    std::thread::spawn(move || exchange(client, &st));
                }
            }
        });
        ChaosProxy { addr, state }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Percent of exchanges that get a fault from now on (0: a clean network).
    pub fn set_rate(&self, percent: u64) {
        self.state.rate.store(percent, Ordering::SeqCst);
    }

    /// How many exchanges got each fault so far.
    pub fn injected(&self) -> BTreeMap<Fault, u64> {
        self.state.injected.lock().unwrap().clone()
    }
}

impl Drop for ChaosProxy {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
    }
}

/// Reads one HTTP request (head and `Content-Length` body); None if the client sent something else or closed.
fn read_request(s: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > 256 * 1024 {
            return None;
        }
        let n = s.read(&mut chunk).ok().filter(|n| *n > 0)?;
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let len: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case("content-length").then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    // Bounded by the declared length (the server's own limit refuses more anyway).
    while body.len() < len {
        let n = s.read(&mut chunk).ok().filter(|n| *n > 0)?;
        body.extend_from_slice(&chunk[..n]);
    }
    // The head without its keep-alive header, asking the server to close after answering.
    let mut lines: Vec<&str> = head.trim_end_matches("\r\n").split("\r\n").collect();
    lines.retain(|l| !l.to_ascii_lowercase().starts_with("connection:"));
    let head = format!("{}\r\nConnection: close\r\n\r\n", lines.join("\r\n"));
    Some((head, body))
}

/// Sends a request to the server and reads its whole answer (until the server closes).
fn round_trip(upstream: SocketAddr, head: &str, body: &[u8], cut_at: Option<usize>) -> Option<Vec<u8>> {
    let mut s = TcpStream::connect_timeout(&upstream, Duration::from_secs(5)).ok()?;
    let _ = s.set_read_timeout(Some(Duration::from_secs(60)));
    let mut request = head.as_bytes().to_vec();
    request.extend_from_slice(body);
    if let Some(cut) = cut_at {
        let _ = s.write_all(&request[..cut.min(request.len())]);
        let _ = s.shutdown(Shutdown::Both);
        return None;
    }
    s.write_all(&request).ok()?;
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).ok()?;
    Some(answer)
}

fn exchange(mut client: TcpStream, st: &ChaosState) {
    let _ = client.set_read_timeout(Some(Duration::from_secs(60)));
    let Some((head, body)) = read_request(&mut client) else {
        let _ = client.shutdown(Shutdown::Both);
        return;
    };
    let upstream = *st.upstream.lock().unwrap();
    let (fault, r1, r2) = {
        let mut rng = st.rng.lock().unwrap();
        let fault = if rng.chance(st.rate.load(Ordering::SeqCst)) {
            Fault::ALL[rng.range(1, Fault::ALL.len() as u64) as usize]
        } else {
            Fault::Pass
        };
        (fault, rng.next_u64(), rng.next_u64())
    };
    *st.injected.lock().unwrap().entry(fault).or_default() += 1;
    let total = head.len() + body.len();
    let answer = match fault {
        Fault::CutRequest => round_trip(upstream, &head, &body, Some(1 + (r1 as usize) % total.max(1))),
        Fault::Replay => {
            round_trip(upstream, &head, &body, None).and_then(|_| round_trip(upstream, &head, &body, None))
        }
        _ => round_trip(upstream, &head, &body, None),
    };
    match (fault, answer) {
        (Fault::CutRequest | Fault::DropResponse, _) | (_, None) => {}
        (Fault::TruncateResponse, Some(a)) => {
            let _ = client.write_all(&a[..(r2 as usize) % a.len().max(1)]);
        }
        (Fault::Delay, Some(a)) => {
            std::thread::sleep(Duration::from_millis(r2 % 300));
            let _ = client.write_all(&a);
        }
        (_, Some(a)) => {
            let _ = client.write_all(&a);
        }
    }
    let _ = client.flush();
    let _ = client.shutdown(Shutdown::Both);
}
