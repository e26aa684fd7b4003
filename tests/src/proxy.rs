//! A loopback TCP proxy between devices and the server that can SIGKILL the server at a chosen byte: after a
//! number of request bytes went up (the middle of a push) or of response bytes came down (the middle of a pull).
//! The upstream address can change, so a restarted server on another port sits behind the same device URL.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// When to kill the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// Once this many request bytes (counted from arming) have been forwarded to the server.
    RequestBytes(u64),
    /// Once this many response bytes (counted from arming) have been forwarded to the device.
    ResponseBytes(u64),
}

#[derive(Default)]
struct State {
    upstream: Mutex<Option<SocketAddr>>,
    trigger: Mutex<Option<(Trigger, u32)>>,
    request_bytes: AtomicU64,
    sync_requests: AtomicU64,
    response_bytes: AtomicU64,
    fired: AtomicBool,
    stop: AtomicBool,
}

/// The running proxy; stops when dropped.
pub struct Proxy {
    pub addr: SocketAddr,
    state: Arc<State>,
}

impl Proxy {
    pub fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let state = Arc::new(State::default());
        *state.upstream.lock().unwrap() = Some(upstream);
        let st = state.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if st.stop.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(client) = conn {
                    let st = st.clone();
                    std::thread::spawn(move || serve(client, st));
                }
            }
        });
        Proxy { addr, state }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set_upstream(&self, upstream: SocketAddr) {
        *self.state.upstream.lock().unwrap() = Some(upstream);
    }

    /// Kills process `pid` with SIGKILL when `trigger` is reached; counters restart from zero.
    pub fn arm(&self, trigger: Trigger, pid: u32) {
        self.state.request_bytes.store(0, Ordering::SeqCst);
        self.state.response_bytes.store(0, Ordering::SeqCst);
        self.state.fired.store(false, Ordering::SeqCst);
        *self.state.trigger.lock().unwrap() = Some((trigger, pid));
    }

    /// How many `POST /api/v1/sync` requests went through: the HTTP round trips of sync, counted on the wire.
    pub fn sync_requests(&self) -> u64 {
        self.state.sync_requests.load(Ordering::SeqCst)
    }

    /// Response bytes forwarded to devices since the last `arm` (headers included): what a download cost.
    pub fn response_bytes(&self) -> u64 {
        self.state.response_bytes.load(Ordering::SeqCst)
    }

    /// True once the armed trigger killed the server.
    pub fn fired(&self) -> bool {
        self.state.fired.load(Ordering::SeqCst)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
    }
}

fn serve(client: TcpStream, st: Arc<State>) {
    let Some(upstream) = *st.upstream.lock().unwrap() else { return };
    let Ok(server) = TcpStream::connect_timeout(&upstream, Duration::from_secs(5)) else {
        let _ = client.shutdown(Shutdown::Both);
        return;
    };
    for s in [&client, &server] {
        let _ = s.set_read_timeout(Some(Duration::from_secs(60)));
        let _ = s.set_nodelay(true);
    }
    let (c2, s2) = (client.try_clone().expect("clone"), server.try_clone().expect("clone"));
    let st2 = st.clone();
    let up = std::thread::spawn(move || pump(c2, s2, &st2, true));
    pump(server, client, &st, false);
    let _ = up.join();
}

/// Copies one direction until EOF, an error, or the trigger firing (then both sides are cut).
fn pump(mut from: TcpStream, mut to: TcpStream, st: &State, request: bool) {
    let mut buf = [0u8; 8192];
    // Bounded: at most this many reads per connection direction (far beyond any test's traffic).
    for _ in 0..1_000_000 {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if request {
            // A request line arrives whole at the start of a write; the bodies around it are compressed binary.
            let line = b"POST /api/v1/sync HTTP/1.1\r\n";
            let seen = buf[..n].windows(line.len()).filter(|w| *w == line).count();
            st.sync_requests.fetch_add(seen as u64, Ordering::SeqCst);
        }
        let counter = if request { &st.request_bytes } else { &st.response_bytes };
        let before = counter.fetch_add(n as u64, Ordering::SeqCst);
        let armed = *st.trigger.lock().unwrap();
        if let Some((trigger, pid)) = armed {
            let limit = match (trigger, request) {
                (Trigger::RequestBytes(l), true) | (Trigger::ResponseBytes(l), false) => Some(l),
                _ => None,
            };
            if let Some(limit) = limit.filter(|l| before + n as u64 >= *l) {
                let cut = (limit.saturating_sub(before)) as usize;
                let _ = to.write_all(&buf[..cut.min(n)]);
                let _ = to.flush();
                if !st.fired.swap(true, Ordering::SeqCst) {
                    let _ = std::process::Command::new("kill").args(["-KILL", &pid.to_string()]).status();
                    *st.trigger.lock().unwrap() = None;
                }
                break;
            }
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Both);
    let _ = from.shutdown(Shutdown::Both);
}
