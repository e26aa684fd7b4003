//! Month end: every helper phone of a large county syncs its month's visits within the same minute. 2,000
//! simulated phones (each its own helper account, device token and Automerge actor, 10 households) push 30 new
//! visits each, starting at moments spread at random over 60 seconds, against the real server binary over loopback
//! HTTP; each phone's sync is timed from its first request to the answer that says nothing more is waiting (a 503
//! is retried after its `Retry-After`, as the app's engine does, and counted). Afterwards the server's store is
//! counted: every visit's document must be there (and, on a sample, hold its one change).
//!
//! The baseline is the same sync on an idle server: 100 more phones of the same shape, one after another, before the
//! storm. The ratio is the storm's 99th percentile over the idle median. Accounts, tokens and households are set up
//! in-process (the setup is not what is measured: 2,000 sign-ins would be 2,000 password hashes); the phones'
//! changes are made beforehand by the core's `Document::create`, so the timed part is the server's.

use super::county::push;
use crate::fixture::{Db, ServerProc};
use crate::records;
use crate::report::{ms, Row};
use crate::{Ctx, Res};
use doorstep_core::doc::Author;
use doorstep_core::model::Role;
use doorstep_core::sync::protocol::WireChange;
use doorstep_server::scope::{self, Scope};
use doorstep_server::storage::{Device, SharedStorage, User};
use rand::Rng;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One simulated phone.
#[derive(Clone)]
struct Phone {
    user: String,
    token: String,
    /// Where its last sync left it: the server's head after the setup.
    cursor: u64,
    visits: Vec<WireChange>,
}

/// Phones in the storm, phones timed one by one for the baseline, households and visits per phone, the window.
fn sizes(quick: bool) -> (usize, usize, usize, usize, Duration) {
    if quick {
        (40, 10, 4, 6, Duration::from_secs(3))
    } else {
        (2000, 100, 10, 30, Duration::from_secs(60))
    }
}

pub async fn run(ctx: &Ctx) -> Res<Vec<Row>> {
    let mut rows = Vec::new();
    let dir = crate::fixture::server_dir()?;
    rows.extend(storm(ctx, &Db::Sqlite(dir.path().to_path_buf())).await?);
    match &ctx.pg {
        Some(pg) => {
            let db = Db::Postgres(pg.fresh_db("storm")?);
            let result = storm(ctx, &db).await;
            pg.drop_all();
            rows.extend(result?);
        }
        None => rows.push(Row::new(
            "month-end storm on PostgreSQL",
            "not run: give --pg URL or DOORSTEP_BENCH_PG (e.g. through scripts/pg-throwaway.sh)".into(),
        )),
    }
    Ok(rows)
}

async fn storm(ctx: &Ctx, db: &Db) -> Res<Vec<Row>> {
    let (n, idle_n, per_h, per_v, window) = sizes(ctx.scale.quick);
    let store = db.label();
    ctx.say(&format!("storm: {} phones with their households ({store})", n + idle_n));
    let storage = db.open()?;
    let mut phones = crate::fixture::off_runtime(|| setup(&storage, n + idle_n, per_h, per_v))?;
    drop(storage);
    let db2 = db.clone();
    let head = crate::fixture::off_runtime(move || head(&db2))?;
    for p in &mut phones {
        p.cursor = head;
    }
    let (idle, phones) = phones.split_at(idle_n);
    let mut server = ServerProc::start(&ctx.server_bin, db)?;
    let url = Arc::new(server.url.clone());
    let http = reqwest::Client::builder().pool_max_idle_per_host(64).build()?;

    ctx.say(&format!("storm: {idle_n} phones sync one after another ({store})"));
    let mut idle_times = Vec::new();
    for p in idle {
        idle_times.push(sync(&http, &url, p).await?);
    }
    idle_times.sort();
    let idle_p50 = idle_times[idle_times.len() / 2];

    ctx.say(&format!("storm: {n} phones push {per_v} visits each within {window:?} ({store})"));
    let retries_before = super::county::retries();
    let mut rng = records::rng(77);
    let start = tokio::time::Instant::now() + Duration::from_millis(200);
    let tasks: Vec<_> = phones
        .iter()
        .map(|p| {
            let at = start + window.mul_f64(rng.random_range(0.0..1.0));
            let (http, url) = (http.clone(), url.clone());
            let phone = p.clone();
            tokio::spawn(async move {
                tokio::time::sleep_until(at).await;
                sync(&http, &url, &phone).await
            })
        })
        .collect();
    let mut times = Vec::new();
    let mut refused = Vec::new();
    for t in tasks {
        match t.await? {
            Ok(d) => times.push(d),
            Err(e) => refused.push(e.to_string()),
        }
    }
    let took = start.elapsed();
    let retries = super::county::retries() - retries_before;
    let rss =
        server.peak_rss_kb().map(|k| format!("; server peak RSS {:.0} MiB", k as f64 / 1024.0)).unwrap_or_default();
    server.stop();

    // Counted on the server: every visit's document, and (on a sample of 200) its one change, no more.
    let storage = db.open()?;
    let expected: Vec<String> =
        idle.iter().chain(phones).flat_map(|p| p.visits.iter().map(|c| c.doc_id.clone())).collect();
    let found = crate::fixture::off_runtime(|| -> Res<usize> {
        let mut found = 0;
        for chunk in expected.chunks(1000) {
            found += storage.docs(chunk)?.len();
        }
        Ok(found)
    })?;
    let changes = crate::fixture::off_runtime(|| -> Res<usize> {
        let mut n = 0;
        for id in expected.iter().take(200) {
            n += storage.doc_changes(id)?.len();
        }
        Ok(n)
    })?;
    drop(storage);

    times.sort();
    let pct = |q: f64| times.get(((times.len() as f64 * q).ceil() as usize).saturating_sub(1)).copied();
    let (p50, p99, max) = (pct(0.5).unwrap_or_default(), pct(0.99).unwrap_or_default(), times.last().copied());
    let pushed = n * per_v;
    let all_in = refused.is_empty() && found == expected.len() && changes == expected.len().min(200);
    let met = all_in && retries == 0 && p99 <= Duration::from_secs(2);
    let mut figure = format!(
        "p99 {} (p50 {}, slowest {}); {} of {n} phones' syncs accepted, {retries} answered 503 and retried; \
         {found} of {} visits on the server{rss}; the minute took {}",
        ms(p99),
        ms(p50),
        ms(max.unwrap_or_default()),
        times.len(),
        expected.len(),
        ms(took)
    );
    if let Some(first) = refused.first() {
        figure.push_str(&format!("; refused: {first}"));
    }
    Ok(vec![Row::new(
        &format!("month-end storm, {store}: {n} phones push {per_v} visits each ({pushed}) within {}", ms(window)),
        figure,
    )
    .baseline(format!("one phone's sync on an idle server, median of {idle_n}: {}", ms(idle_p50)), {
        p99.as_secs_f64() / idle_p50.as_secs_f64().max(1e-9)
    })
    .target("every push accepted at once, p99 ≤ 2 s, nothing lost", met)])
}

/// One phone's sync: its visits in one push (they fit the client's batch), then pulls while more is waiting; the
/// time from the first request to the last answer.
async fn sync(http: &reqwest::Client, url: &str, p: &Phone) -> Res<Duration> {
    let t = Instant::now();
    let mut answer = push(http, url, &p.token, p.cursor, p.visits.clone()).await?;
    let mut pages = 1;
    while answer.more {
        answer = push(http, url, &p.token, answer.cursor, vec![]).await?;
        pages += 1;
        if pages > 1000 {
            return Err(format!("{}: the pull did not end", p.user).into());
        }
    }
    Ok(t.elapsed())
}

/// The server's last sequence number, read from its database.
fn head(db: &Db) -> Res<u64> {
    let sql = "SELECT last_seq FROM counter WHERE id = 1";
    let seq: i64 = match db {
        Db::Sqlite(dir) => rusqlite::Connection::open(dir.join("doorstep.db"))?.query_row(sql, [], |r| r.get(0))?,
        Db::Postgres(url) => {
            use r2d2_postgres::postgres as pg;
            pg::Client::connect(url, pg::NoTls)?.query_one(sql, &[])?.get(0)
        }
    };
    Ok(seq as u64)
}

/// `phones` helper accounts, each with a device token and `per_h` households already on the server (pushed in
/// process from its own device), and `per_v` new visits ready to push.
fn setup(storage: &SharedStorage, phones: usize, per_h: usize, per_v: usize) -> Res<Vec<Phone>> {
    let hash = doorstep_server::auth::hash_password("storm-bench-2026")?;
    let today = scope::today();
    let now = doorstep_core::store::now_ms();
    // Households pushed as the phone would, made on one core while the other ingests them.
    let (tx, rx) = std::sync::mpsc::sync_channel::<(String, String, Vec<WireChange>)>(8);
    std::thread::scope(|sc| -> Res<Vec<Phone>> {
        let maker = sc.spawn(move || -> Result<Vec<Phone>, String> {
            let mut out = Vec::new();
            for i in 0..phones {
                let user = format!("storm{i:05}");
                let device = format!("{user}-phone");
                let mut rng = records::rng(5_000_000 + i as u64);
                let households = records::households(&mut rng, &user, i / (100 / per_h).max(1), per_h);
                let visits = records::visits(&mut rng, &households, &user, per_v);
                let actor = automerge::ActorId::random();
                let author = Author { user: user.clone(), device: device.clone() };
                let made = records::creation_changes(&households, &actor, &author)
                    .and_then(|h| Ok((h, records::creation_changes(&visits, &actor, &author)?)));
                let (hc, vc) = made.map_err(|e| e.to_string())?;
                let (token, _) = doorstep_server::auth::new_token();
                if tx.send((user.clone(), token.clone(), hc)).is_err() {
                    break;
                }
                out.push(Phone { user, token, cursor: 0, visits: vc });
            }
            Ok(out)
        });
        for (user, token, households) in rx {
            let device = format!("{user}-phone");
            storage.add_user(&User {
                name: user.clone(),
                role: Role::Helper,
                team: None,
                password_hash: hash.clone(),
                disabled: false,
                created_ms: now,
                display_name: String::new(),
                unit: String::new(),
                must_change_password: false,
            })?;
            let d = Device {
                id: device.clone(),
                user: user.clone(),
                name: "storm".into(),
                revoked: false,
                created_ms: now,
                last_seen_ms: None,
                app_version: String::new(),
            };
            storage.add_device(&d, &doorstep_server::auth::token_sha256(&token))?;
            let scope = Scope::new(&user, Role::Helper, storage.scope_facts(&user)?, &today);
            doorstep_server::sync::push(&**storage, &device, &scope, &households)?;
        }
        Ok(maker.join().map_err(|_| "the record maker panicked")??)
    })
}
