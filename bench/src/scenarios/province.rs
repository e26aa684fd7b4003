//! The supervisors' pages at scale: a province of 100,000 households and 1,000,000 visits on PostgreSQL, and the
//! same households with their first 200,000 visits (a large county) on SQLite.
//!
//! The data is built in bulk, not through HTTP: households and visits come from the demo's generators
//! (`records`), their documents are made as a helper's phone makes them (one Automerge actor per helper), and
//! they are ingested in-process by the server's own `sync::push` into a SQLite store, in large batches. The times
//! the server received them are then set to the visits' own dates (households a year and a month before), so
//! that "as of a day a year ago" is a real past. The PostgreSQL database is a copy of that store, table by table.
//!
//! On each store the real server binary serves the pages to a supervisor of the whole area, signed in through the
//! form: the overview, a village page, a helper page and a township's visit ledger (first view and median of
//! more), the overview as of a day a year ago (first view: nothing cached), and the server's peak resident memory.

use crate::fixture::{web_login, Db, ServerProc};
use crate::records;
use crate::report::{ms, Row};
use crate::{Ctx, Res};
use doorstep_core::doc::Author;
use doorstep_core::model::{Household, Role};
use doorstep_core::sync::protocol::WireChange;
use doorstep_server::accounts::{self, CONSOLE};
use doorstep_server::scope::{self, Scope};
use doorstep_server::storage::{ScopeFacts, SharedStorage};
use r2d2_postgres::postgres as pg;
use std::time::{Duration, Instant};

const SUPERVISOR: (&str, &str) = ("province", "supervise-bench-2026");
/// Households each simulated helper looks after.
const PER_HELPER: usize = 100;
/// Changes per in-process push (one unit of work).
const BATCH: usize = 2000;

/// Sizes: households, visits in the SQLite stage, visits in all.
fn sizes(quick: bool) -> (usize, usize, usize) {
    if quick {
        (400, 800, 4000)
    } else {
        (100_000, 200_000, 1_000_000)
    }
}

pub async fn run(ctx: &Ctx) -> Res<Vec<Row>> {
    let (households, county_visits, visits) = sizes(ctx.scale.quick);
    let dir = crate::fixture::server_dir()?;
    let db = Db::Sqlite(dir.path().to_path_buf());
    let storage = db.open()?;
    let helpers = households / PER_HELPER;
    ctx.say(&format!("province: {households} households"));
    let t = Instant::now();
    let all: Vec<Vec<Household>> = (0..helpers).map(make_households).collect();
    let mut townships: Vec<String> = all.iter().flatten().map(|h| h.township.clone()).collect();
    townships.sort();
    townships.dedup();
    crate::fixture::off_runtime(|| setup(&storage, &townships))?;
    ingest(&storage, &all, |h, hs| records::creation_changes(hs, &actor(h), &author(&helper_name(h))))?;
    ctx.say(&format!("province: {county_visits} visits"));
    ingest_visits(&storage, &all, 0, county_visits / helpers)?;
    drop(storage);
    backdate(dir.path())?;
    let built = t.elapsed();
    // A copy of the built county for looking into a page by hand (the build takes minutes).
    if let Some(keep) = std::env::var_os("DOORSTEP_BENCH_KEEP_COUNTY") {
        std::fs::copy(dir.path().join("doorstep.db"), keep)?;
    }
    let mut rows = Vec::new();
    ctx.say("province: pages on SQLite");
    rows.extend(pages(ctx, &db, households, county_visits, &townships, built).await?);

    ctx.say(&format!("province: the rest of {visits} visits"));
    let t = Instant::now();
    let storage = db.open()?;
    ingest_visits(&storage, &all, county_visits / helpers, visits / helpers)?;
    drop(all);
    drop(storage);
    backdate(dir.path())?;
    let built = built + t.elapsed();
    let Some(cluster) = &ctx.pg else {
        rows.push(Row::new(
            "pages over a province on PostgreSQL",
            "not run: give --pg URL or DOORSTEP_BENCH_PG (e.g. through scripts/pg-throwaway.sh)".into(),
        ));
        return Ok(rows);
    };
    let result = async {
        let url = cluster.fresh_db("province")?;
        ctx.say("province: copying the store to PostgreSQL");
        let t = Instant::now();
        crate::fixture::off_runtime(|| copy_to_postgres(dir.path(), &url))?;
        let built = built + t.elapsed();
        ctx.say("province: pages on PostgreSQL");
        pages(ctx, &Db::Postgres(url), households, visits, &townships, built).await
    }
    .await;
    cluster.drop_all();
    match result {
        Ok(r) => rows.extend(r),
        Err(e) => {
            rows.push(Row::new("pages over a province on PostgreSQL", format!("FAILED: {e}")));
            ctx.failed(&format!("province on PostgreSQL: {e}"));
        }
    }
    Ok(rows)
}

fn helper_name(h: usize) -> String {
    format!("helper{h:05}")
}

fn author(user: &str) -> Author {
    Author { user: user.to_string(), device: format!("{user}-phone") }
}

/// One actor per helper's phone, the same for its households and its visits.
fn actor(h: usize) -> automerge::ActorId {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&(h as u64 + 1).to_be_bytes());
    automerge::ActorId::from(bytes.to_vec())
}

/// A helper's households (the same places and people for the same helper; new ids every time).
fn make_households(h: usize) -> Vec<Household> {
    let mut rng = records::rng(1_000_000 + h as u64);
    records::households(&mut rng, &helper_name(h), h, PER_HELPER)
}

/// The supervisor of every township, and the townships as places.
fn setup(storage: &SharedStorage, townships: &[String]) -> Res<()> {
    accounts::add_user(&**storage, CONSOLE, SUPERVISOR.0, Role::Supervisor, None, SUPERVISOR.1)?;
    for t in townships {
        doorstep_server::places::add_township(&**storage, CONSOLE, t)?;
    }
    accounts::assign_area(&**storage, CONSOLE, SUPERVISOR.0, townships, &[])?;
    Ok(())
}

/// Makes every helper's changes on one thread while the other ingests them, in batches of [`BATCH`].
fn ingest(
    storage: &SharedStorage,
    all: &[Vec<Household>],
    make: impl Fn(usize, &[Household]) -> Res<Vec<WireChange>> + Send + Sync,
) -> Res<()> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<WireChange>>(4);
    let admin = Scope::new("bench", Role::Admin, ScopeFacts::default(), &scope::today());
    std::thread::scope(|sc| -> Res<()> {
        let producer = sc.spawn(move || -> Result<(), String> {
            let mut pending = Vec::new();
            for (h, hs) in all.iter().enumerate() {
                let changes = make(h, hs).map_err(|e| e.to_string())?;
                pending.extend(changes);
                if pending.len() >= BATCH {
                    if tx.send(std::mem::take(&mut pending)).is_err() {
                        return Ok(());
                    }
                }
            }
            if !pending.is_empty() {
                let _ = tx.send(pending);
            }
            Ok(())
        });
        for batch in rx {
            doorstep_server::sync::push(&**storage, "bench-loader", &admin, &batch)?;
        }
        producer.join().map_err(|_| "the record maker panicked")??;
        Ok(())
    })
}

/// Each helper's visits number `from..to` (round robin over its households), ingested.
fn ingest_visits(storage: &SharedStorage, all: &[Vec<Household>], from: usize, to: usize) -> Res<()> {
    ingest(storage, all, move |h, hs| {
        let user = helper_name(h);
        let mut rng = records::rng(3_000_000 + (h * 10_000 + from) as u64);
        let visits: Vec<_> = (from..to).map(|i| records::visit(&mut rng, &hs[i % hs.len()], &user)).collect();
        records::creation_changes(&visits, &actor(h), &author(&user))
    })
}

/// The server received each visit on its own date (at noon), and the households and assignments a year and a
/// month before today.
fn backdate(dir: &std::path::Path) -> Res<()> {
    let conn = rusqlite::Connection::open(dir.join("doorstep.db"))?;
    let start = (records::today() - chrono::Duration::days(400))
        .and_hms_opt(12, 0, 0)
        .map(|t| t.and_utc().timestamp_millis())
        .ok_or("no start time")?;
    conn.execute_batch("BEGIN")?;
    conn.execute(
        "UPDATE changes SET received_ms = (SELECT (unixepoch(v.date) + 12 * 3600) * 1000 FROM ix_visits v
             WHERE v.doc_id = changes.doc_id)
         WHERE doc_id IN (SELECT doc_id FROM ix_visits)",
        [],
    )?;
    conn.execute("UPDATE changes SET received_ms = ?1 WHERE doc_id NOT IN (SELECT doc_id FROM ix_visits)", [start])?;
    conn.execute("UPDATE assignments SET created_ms = ?1", [start])?;
    conn.execute(doorstep_server::storage::sql::DOC_TIMES_FROM_CHANGES, [])?;
    conn.execute_batch("COMMIT")?;
    Ok(())
}

/// Copies the SQLite store into a fresh PostgreSQL database, migrated by the server's own store first.
fn copy_to_postgres(dir: &std::path::Path, url: &str) -> Res<()> {
    drop(doorstep_server::storage::postgres::PostgresStorage::open(url)?);
    doorstep_e2e::sqlite_json::copy_to_postgres(&dir.join("doorstep.db"), url)
}

/// Waits until the server keeps an overview tally for each of `villages` and each of `townships` merged (the
/// background count has finished).
async fn wait_counted(db: &Db, villages: usize, townships: usize, limit: Duration) -> Res<()> {
    let start = Instant::now();
    let count = |db: &Db| -> Res<(i64, i64)> {
        // A township's merged tally is kept with an empty village, once all its villages are counted.
        let sql = "SELECT count(*) FILTER (WHERE village <> ''), count(*) FILTER (WHERE village = '') FROM tallies";
        Ok(match db {
            Db::Sqlite(dir) => rusqlite::Connection::open(dir.join("doorstep.db"))?
                .query_row(sql, [], |r| Ok((r.get(0)?, r.get(1)?)))?,
            Db::Postgres(url) => {
                let row = pg::Client::connect(url, pg::NoTls)?.query_one(sql, &[])?;
                (row.get(0), row.get(1))
            }
        })
    };
    loop {
        let db2 = db.clone();
        let (v, t) = crate::fixture::off_runtime(move || count(&db2))?;
        if v >= villages as i64 && t >= townships as i64 {
            return Ok(());
        }
        if start.elapsed() > limit {
            return Err(format!(
                "the server had counted {v} of {villages} villages and {t} of {townships} townships after {limit:?}"
            )
            .into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Each page's first view and the median of `n` more; the server's peak memory; one row each.
async fn pages(
    ctx: &Ctx,
    db: &Db,
    households: usize,
    visits: usize,
    townships: &[String],
    built: Duration,
) -> Res<Vec<Row>> {
    let store = db.label();
    let size = format!("{households} households, {visits} visits, {store}");
    // The first start counts every village's overview figures in the background and keeps them in the database
    // (what a server does once after a bulk import, and at the start of each day); the pages are measured on a
    // restart, as supervisors meet them.
    let villages = households.div_ceil(PER_HELPER);
    let mut counting = ServerProc::start(&ctx.server_bin, db)?;
    let t = Instant::now();
    wait_counted(db, villages, townships.len(), Duration::from_secs(3600)).await?;
    let counted = t.elapsed();
    let counting_rss = counting.peak_rss_kb().unwrap_or(0) as f64 / 1024.0;
    counting.stop();
    let mut rows = vec![Row::new(
        &format!("counting every village's overview figures after a bulk import, in the background ({size})"),
        format!("{} ({villages} villages; peak memory {counting_rss:.0} MiB)", ms(counted)),
    )];
    let mut server = ServerProc::start(&ctx.server_bin, db)?;
    let (http, session) = web_login(&server.url, SUPERVISOR.0, SUPERVISOR.1).await?;
    let get = |path: String| {
        let (http, session, url) = (http.clone(), session.clone(), server.url.clone());
        async move {
            let t = Instant::now();
            let r = http.get(format!("{url}{path}")).header("cookie", session).send().await?;
            let status = r.status();
            let body = r.bytes().await?;
            if !status.is_success() || body.len() < 200 {
                return Err(format!("{path} answered {status} with {} bytes", body.len()).into());
            }
            Ok::<Duration, Box<dyn std::error::Error + Send + Sync>>(t.elapsed())
        }
    };
    let today = records::today();
    let month_start = today.format("%Y-%m-01").to_string();
    let township = townships.first().cloned().unwrap_or_default();
    let village = make_households(0).first().map(|h| h.village.clone()).unwrap_or_default();
    let paths = [
        ("overview", "/overview".to_string()),
        ("village page", format!("/village/{}", doorstep_server::web::encode(&village))),
        ("helper page", format!("/helper/{}", helper_name(0))),
        (
            "ledger page (one township's visits this month)",
            format!("/ledger/visits.csv?township={}&from={month_start}", doorstep_server::web::encode(&township)),
        ),
    ];
    let mut first_overview = Duration::ZERO;
    for (what, path) in &paths {
        let first = get(path.clone()).await?;
        if *what == "overview" {
            first_overview = first;
        }
        let mut rest = Vec::new();
        for _ in 0..5 {
            rest.push(get(path.clone()).await?);
        }
        rest.sort();
        let p50 = rest[rest.len() / 2];
        let worst = p50.max(first);
        rows.push(
            Row::new(&format!("{what} ({size})"), format!("{} (median of 5; first view {})", ms(p50), ms(first)))
                .target("≤ 200 ms, first view included", worst.as_secs_f64() <= 0.2),
        );
    }
    let year_ago = (today - chrono::Duration::days(365)).format("%Y-%m-%d").to_string();
    let as_of = get(format!("/overview?asof={year_ago}")).await?;
    rows.push(
        Row::new(&format!("overview as of a day a year ago ({size})"), format!("{} (first view)", ms(as_of)))
            .target("≤ 1 s", as_of.as_secs_f64() <= 1.0),
    );
    let rss = server.peak_rss_kb().unwrap_or(0) as f64 / 1024.0;
    rows.push(
        Row::new(
            &format!("server peak resident memory serving those pages ({size})"),
            format!("{rss:.0} MiB (data built in {}; first overview {})", ms(built), ms(first_overview)),
        )
        .target("≤ 300 MB", rss * 1.048_576 <= 300.0),
    );
    server.stop();
    Ok(rows)
}
