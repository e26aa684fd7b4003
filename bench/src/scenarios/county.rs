//! A county on one server: 100 simulated helper devices (100 households each) pushing 100,000 visits at once over
//! loopback HTTP to the real server binary, against the floor of the same pushes decoded and ingested in-process by
//! the server's own code (`sync::push`) with no HTTP, one push after another on one core. Then, on the county the
//! devices built: the supervisors' overview page over those visits, and a fresh supervisor device's first sync of
//! the whole county (10,000 households, 120,000 visits). The ingest runs on SQLite and, when a PostgreSQL server
//! is given, on PostgreSQL too.
//!
//! The simulated devices speak the real protocol (`protocol::encode_request` of a `SyncRequest`, a bearer token from the
//! real login) and push what the core's sync client would: their unacknowledged changes in batches of the client's
//! `push_max_bytes`, carrying the cursor of their last answer. Their changes are made beforehand by the core's
//! `Document::create` with one Automerge actor per device, so the timed part is the server's alone.

use crate::fixture::{api_login, CountingProxy, Db, Device, ServerProc};
use crate::records;
use crate::report::{bytes, ms, Row};
use crate::{Ctx, Res};
use doorstep_core::doc::Author;
use doorstep_core::model::Role;
use doorstep_core::sync::protocol::{self, SyncRequest, SyncResponse, WireChange};
use doorstep_core::sync::SyncConfig;
use doorstep_server::accounts::{self, CONSOLE};
use doorstep_server::scope::{self, Scope};
use std::sync::Arc;
use std::time::{Duration, Instant};

const PASSWORD: &str = "helper-bench-2026";
const SUPERVISOR: (&str, &str) = ("county", "supervise-bench-2026");

/// One simulated helper device's work, as changes ready to push.
pub struct SimDevice {
    pub user: String,
    pub households: Vec<WireChange>,
    /// The visits pushed in the timed ingest.
    pub visits: Vec<WireChange>,
    /// More visits of the year, pushed afterwards so the supervisor's county has its full size.
    pub extra: Vec<WireChange>,
}

/// The county's records, made once per run.
pub struct County {
    pub devices: Vec<SimDevice>,
    pub townships: Vec<String>,
}

impl County {
    pub fn visits(&self) -> usize {
        self.devices.iter().map(|d| d.visits.len()).sum()
    }

    pub fn households(&self) -> usize {
        self.devices.iter().map(|d| d.households.len()).sum()
    }

    pub fn extra(&self) -> usize {
        self.devices.iter().map(|d| d.extra.len()).sum()
    }
}

/// Makes the county on both cores: households from the demo's generator, a year of visits each.
pub fn make_county(ctx: &Ctx) -> Res<County> {
    let s = &ctx.scale;
    let (n, per_h, per_v, per_x) = (s.devices, s.households_per_device, s.visits_per_device, s.extra_per_device);
    let make = |d: usize| -> Res<(SimDevice, Vec<String>)> {
        let user = format!("helper{d:03}");
        let mut rng = records::rng(100 + d as u64);
        let households = records::households(&mut rng, &user, d * per_h.div_ceil(100), per_h);
        let visits = records::visits(&mut rng, &households, &user, per_v + per_x);
        let actor = automerge::ActorId::random();
        let author = Author { user: user.clone(), device: format!("{user}-phone") };
        let townships = households.iter().map(|h| h.township.clone()).collect();
        let hc = records::creation_changes(&households, &actor, &author)?;
        let mut vc = records::creation_changes(&visits, &actor, &author)?;
        let extra = vc.split_off(per_v);
        Ok((SimDevice { user, households: hc, visits: vc, extra }, townships))
    };
    let halves: Vec<Res<Vec<(SimDevice, Vec<String>)>>> = std::thread::scope(|sc| {
        let handles: Vec<_> =
            (0..2).map(|k| sc.spawn(move || (0..n).filter(|d| d % 2 == k).map(make).collect())).collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|_| Err("a generator thread panicked".into()))).collect()
    });
    let mut all = Vec::new();
    for h in halves {
        all.extend(h?);
    }
    all.sort_by(|a, b| a.0.user.cmp(&b.0.user));
    let mut townships: Vec<String> = all.iter().flat_map(|(_, t)| t.iter().cloned()).collect();
    townships.sort();
    townships.dedup();
    Ok(County { devices: all.into_iter().map(|(d, _)| d).collect(), townships })
}

/// A server over `db` with the county's accounts, every device signed in and its households pushed.
struct Setup {
    server: ServerProc,
    /// (token, device id, cursor) of each device.
    sessions: Vec<(String, String, u64)>,
}

async fn setup(ctx: &Ctx, county: &County, db: &Db) -> Res<Setup> {
    crate::fixture::off_runtime(|| -> Res<()> {
        let storage = db.open()?;
        let users: Vec<&str> = county.devices.iter().map(|d| d.user.as_str()).collect();
        // Password hashing (argon2id) is slow on purpose: both cores.
        std::thread::scope(|sc| -> Res<()> {
            let hs: Vec<_> = (0..2)
                .map(|k| {
                    let (storage, users) = (storage.clone(), &users);
                    sc.spawn(move || -> Result<(), String> {
                        for u in users.iter().skip(k).step_by(2) {
                            accounts::add_user(&*storage, CONSOLE, u, Role::Helper, None, PASSWORD)
                                .map_err(|e| e.to_string())?;
                        }
                        Ok(())
                    })
                })
                .collect();
            for h in hs {
                h.join().map_err(|_| "a setup thread panicked")??;
            }
            Ok(())
        })?;
        accounts::add_user(&*storage, CONSOLE, SUPERVISOR.0, Role::Supervisor, None, SUPERVISOR.1)?;
        for t in &county.townships {
            doorstep_server::places::add_township(&*storage, CONSOLE, t)?;
        }
        accounts::assign_area(&*storage, CONSOLE, SUPERVISOR.0, &county.townships, &[])?;
        Ok(())
    })?;
    let server = ServerProc::start(&ctx.server_bin, db)?;
    let http = reqwest::Client::new();
    let mut sessions = Vec::new();
    for d in &county.devices {
        let (token, device) = api_login(&http, &server.url, &d.user, PASSWORD).await?;
        let resp = push(&http, &server.url, &token, 0, d.households.clone()).await?;
        sessions.push((token, device, resp.cursor));
    }
    Ok(Setup { server, sessions })
}

/// Retryable refusals (503 with `Retry-After`) a simulated device takes before it gives up, as a phone's engine
/// backs off and tries again.
const MAX_RETRIES: u32 = 30;

/// Retryable refusals the simulated devices met in this process (shown with the ingest figure).
static RETRIES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// How many retryable refusals the simulated devices have met so far in this process.
pub fn retries() -> u64 {
    RETRIES.load(std::sync::atomic::Ordering::Relaxed)
}

/// One sync request with these changes; the decoded answer. A retryable refusal is retried after its
/// `Retry-After` (at most `MAX_RETRIES` times), anything else is an error.
pub async fn push(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    cursor: u64,
    changes: Vec<WireChange>,
) -> Res<SyncResponse> {
    let n = changes.len();
    let body = protocol::encode_request(protocol::CURRENT, &SyncRequest { cursor, max_bytes: 0, changes });
    for attempt in 0..=MAX_RETRIES {
        let resp = http
            .post(format!("{url}/api/v1/sync"))
            .bearer_auth(token)
            .header(reqwest::header::CONTENT_TYPE, protocol::CONTENT_TYPE)
            .body(body.clone())
            .send()
            .await?;
        let status = resp.status();
        let wait = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
            .unwrap_or(1)
            .clamp(1, 10);
        let bytes = resp.bytes().await?;
        if status.as_u16() == 503 && attempt < MAX_RETRIES {
            RETRIES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            tokio::time::sleep(Duration::from_secs(wait)).await;
            continue;
        }
        if !status.is_success() {
            return Err(format!("push refused: {status} {}", String::from_utf8_lossy(&bytes)).into());
        }
        // A version 2 answer states how many changes it accepted: decoding checks that it is all `n` of them.
        let (_, answer) = protocol::decode_response(&bytes, &vec![[0; 32]; n])?;
        return Ok(answer);
    }
    Err("push refused as unavailable too many times".into())
}

/// The batches the core's sync client would push: consecutive changes up to `push_max_bytes` (at least one).
fn batches(changes: &[WireChange]) -> Vec<Vec<WireChange>> {
    let max = SyncConfig::default().push_max_bytes;
    let mut out: Vec<Vec<WireChange>> = Vec::new();
    let mut size = 0;
    for c in changes {
        if out.is_empty() || (size + c.bytes.len() > max && !out.last().is_some_and(Vec::is_empty)) {
            out.push(Vec::new());
            size = 0;
        }
        size += c.bytes.len();
        if let Some(last) = out.last_mut() {
            last.push(c.clone());
        }
    }
    out
}

/// Every device pushes `pick(device)` at once, each in its client's batches; the elapsed time.
async fn push_all(
    setup: &mut Setup,
    url: &str,
    county: &County,
    pick: impl Fn(&SimDevice) -> &[WireChange],
) -> Res<Duration> {
    let http = reqwest::Client::builder().pool_max_idle_per_host(county.devices.len()).build()?;
    let work: Vec<(String, u64, Vec<Vec<WireChange>>)> = county
        .devices
        .iter()
        .zip(&setup.sessions)
        .map(|(d, (token, _, cursor))| (token.clone(), *cursor, batches(pick(d))))
        .collect();
    let url = Arc::new(url.to_string());
    let t = Instant::now();
    let tasks: Vec<_> = work
        .into_iter()
        .map(|(token, mut cursor, batches)| {
            let (http, url) = (http.clone(), url.clone());
            tokio::spawn(async move {
                for b in batches {
                    cursor = push(&http, &url, &token, cursor, b).await?.cursor;
                }
                Ok::<u64, Box<dyn std::error::Error + Send + Sync>>(cursor)
            })
        })
        .collect();
    let mut cursors = Vec::new();
    for task in tasks {
        cursors.push(task.await??);
    }
    let elapsed = t.elapsed();
    for (s, c) in setup.sessions.iter_mut().zip(cursors) {
        s.2 = c;
    }
    Ok(elapsed)
}

/// The floor: the same pushes decoded and ingested in-process, one after another, no HTTP.
async fn floor(ctx: &Ctx, county: &County, db: &Db) -> Res<Duration> {
    let mut s = setup(ctx, county, db).await?;
    s.server.stop();
    let storage = db.open()?;
    // On a plain thread: the store's blocking clients must not run inside the async runtime.
    crate::fixture::off_runtime(move || -> Res<Duration> {
        let today = scope::today();
        let mut work = Vec::new();
        for (d, (_, device, cursor)) in county.devices.iter().zip(&s.sessions) {
            let scope = Scope::new(&d.user, Role::Helper, storage.scope_facts(&d.user)?, &today);
            for b in batches(&d.visits) {
                let request = SyncRequest { cursor: *cursor, max_bytes: 0, changes: b };
                work.push((device.clone(), scope.clone(), protocol::encode_request(protocol::CURRENT, &request)));
            }
        }
        let t = Instant::now();
        for (device, scope, body) in &work {
            let (_, req) = protocol::decode_request(body)?;
            doorstep_server::sync::push(&*storage, device, scope, &req.changes)?;
        }
        let took = t.elapsed();
        drop(storage);
        Ok(took)
    })
}

/// Ingest over HTTP against its in-process floor, on one store.
async fn ingest(
    ctx: &Ctx,
    county: &County,
    make_db: &dyn Fn(&str) -> Res<(Db, Option<tempfile::TempDir>)>,
) -> Res<(Vec<Row>, Setup, Db, Option<tempfile::TempDir>)> {
    let n = county.visits();
    let (floor_db, _floor_dir) = make_db("floor")?;
    ctx.say(&format!("county: in-process floor ({})", floor_db.label()));
    let floor_time = floor(ctx, county, &floor_db).await?;
    drop(_floor_dir);

    let (db, dir) = make_db("http")?;
    ctx.say(&format!("county: signing in {} devices ({})", county.devices.len(), db.label()));
    let mut s = setup(ctx, county, &db).await?;
    ctx.say(&format!("county: {} devices push {n} visits ({})", county.devices.len(), db.label()));
    let url = s.server.url.clone();
    let retries_before = RETRIES.load(std::sync::atomic::Ordering::Relaxed);
    let elapsed = push_all(&mut s, &url, county, |d| &d.visits).await?;
    let retries = RETRIES.load(std::sync::atomic::Ordering::Relaxed) - retries_before;
    let rate = n as f64 / elapsed.as_secs_f64();
    let floor_rate = n as f64 / floor_time.as_secs_f64();
    let r = rate / floor_rate;
    let rss =
        s.server.peak_rss_kb().map(|k| format!("; server peak RSS {:.0} MiB", k as f64 / 1024.0)).unwrap_or_default();
    let row = Row::new(
        &format!(
            "server ingest, {}: {} devices push {n} visits at once over loopback",
            db.label(),
            county.devices.len()
        ),
        format!("{rate:.0} visits/s ({}; {retries} pushes answered 503 and retried{rss})", ms(elapsed)),
    )
    .baseline(format!("in-process floor {floor_rate:.0} visits/s"), r)
    .target("≥ 8,000 visits/s and ≥ 1/3 of the floor", rate >= 8000.0 && r >= 1.0 / 3.0);
    Ok((vec![row], s, db, dir))
}

/// The supervisor signs in to the pages and opens the overview: the first view and the median of five more.
async fn overview(url: &str, visits: usize, store: &str) -> Res<Vec<Row>> {
    let (http, session) = crate::fixture::web_login(url, SUPERVISOR.0, SUPERVISOR.1).await?;
    let mut times = Vec::new();
    for _ in 0..6 {
        let t = Instant::now();
        let r = http.get(format!("{url}/overview")).header("cookie", &session).send().await?;
        let status = r.status();
        let body = r.text().await?;
        times.push(t.elapsed());
        if !status.is_success() || body.len() < 1000 {
            return Err(format!("overview answered {status} with {} bytes", body.len()).into());
        }
    }
    let first = times[0];
    let mut rest = times[1..].to_vec();
    rest.sort();
    let p50 = rest[rest.len() / 2];
    Ok(vec![Row::new(
        &format!("render the supervisor overview over {visits} visits ({store})"),
        format!("{} (median of 5; first view {})", ms(p50), ms(first)),
    )
    .target("≤ 200 ms", p50.as_secs_f64() <= 0.2)])
}

/// A fresh supervisor phone syncs the whole county.
async fn supervisor(ctx: &Ctx, s: &mut Setup, county: &County) -> Res<Vec<Row>> {
    ctx.say("county: the rest of the year's visits");
    let url = s.server.url.clone();
    push_all(s, &url, county, |d| &d.extra).await?;
    let (nh, nv) = (county.households(), county.visits() + county.extra());
    ctx.say(&format!("county: supervisor bootstrap ({nh} households, {nv} visits)"));
    let proxy = CountingProxy::start(s.server.addr).await?;
    let dev = Device::new("supervisor-phone", false)?;
    dev.login(&proxy.url, SUPERVISOR.0, SUPERVISOR.1).await?;
    proxy.reset();
    let t = Instant::now();
    let r = dev.sync().await?;
    let wall = t.elapsed();
    let (up, down) = proxy.bytes();
    let docs = (nh + nv) as u64;
    if r.received < docs {
        return Err(format!("the supervisor's phone received {} of {docs} documents", r.received).into());
    }
    Ok(vec![Row::new(
        &format!("bootstrap a supervisor phone: {nh} households, {nv} visits"),
        format!("{} wall, {} round trips, {} on the wire", ms(wall), r.round_trips, bytes(up + down)),
    )
    .target("≤ 30 s", wall.as_secs_f64() <= 30.0)])
}

pub async fn run(ctx: &Ctx) -> Res<Vec<Row>> {
    ctx.say("county: making the records");
    let county = make_county(ctx)?;
    let sqlite = |_: &str| -> Res<(Db, Option<tempfile::TempDir>)> {
        let dir = crate::fixture::server_dir()?;
        Ok((Db::Sqlite(dir.path().to_path_buf()), Some(dir)))
    };
    let (mut rows, mut s, _db, dir) = ingest(ctx, &county, &sqlite).await?;
    ctx.say("county: overview page");
    rows.extend(overview(&s.server.url, county.visits(), "SQLite").await?);
    rows.extend(supervisor(ctx, &mut s, &county).await?);
    s.server.stop();
    drop(dir);
    if let Some(pg) = &ctx.pg {
        let pg_db = |tag: &str| -> Res<(Db, Option<tempfile::TempDir>)> { Ok((Db::Postgres(pg.fresh_db(tag)?), None)) };
        // A failure on PostgreSQL keeps the SQLite figures; the run still fails.
        let on_pg = async {
            let (mut pg_rows, mut s, _, _) = ingest(ctx, &county, &pg_db).await?;
            ctx.say("county: overview page (PostgreSQL)");
            pg_rows.extend(overview(&s.server.url, county.visits(), "PostgreSQL").await?);
            s.server.stop();
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(pg_rows)
        };
        let result = on_pg.await;
        pg.drop_all();
        match result {
            Ok(r) => rows.extend(r),
            Err(e) => {
                rows.push(Row::new("server ingest, PostgreSQL", format!("FAILED: {e}")));
                ctx.failed(&format!("county on PostgreSQL: {e}"));
            }
        }
    } else {
        rows.push(Row::new(
            "server ingest, PostgreSQL",
            "not run: give --pg URL or DOORSTEP_BENCH_PG (e.g. through scripts/pg-throwaway.sh)".into(),
        ));
    }
    Ok(rows)
}
