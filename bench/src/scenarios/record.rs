//! Recording one visit through the public API (the `Doorstep` object the apps hold: validate → document → store with
//! index rows, committed with `synchronous = FULL`), against a raw rusqlite insert of the same document bytes in its
//! own transaction on a store with the same SQLCipher key and pragmas. The two are measured alternately, so a
//! slower moment of the machine hits both.

use crate::fixture::KEY;
use crate::records;
use crate::report::{ms, Row};
use crate::{Res, Scale};
use doorstep_core::doc::{Author, Document};
use doorstep_core::ffi::Doorstep;
use std::time::{Duration, Instant};

const NAME: &str = "record one visit (public API)";

pub fn run(scale: &Scale) -> Res<Vec<Row>> {
    let dir = tempfile::Builder::new().prefix("doorstep-bench-rec").tempdir()?;
    let app = Doorstep::open(dir.path().join("app.db").display().to_string(), KEY.to_vec(), "bench-phone".into())?;
    let raw = raw_store(&dir.path().join("raw.db"))?;

    let mut rng = records::rng(1);
    let household = records::households(&mut rng, "helper1", 0, 1).remove(0);
    app.save_household(household.clone())?;
    let actor = automerge::ActorId::random();
    let author = Author { user: "helper1".into(), device: "bench-phone".into() };

    let (mut api, mut base) = (Vec::new(), Vec::new());
    let warmup = 20;
    for i in 0..scale.record_samples + warmup {
        let visit = records::visit(&mut rng, &household, "helper1");
        // The bytes the store will hold for this visit: its document saved after the creating change.
        let (mut doc, _) = Document::create(&visit, &actor, &author, doorstep_core::store::now_ms())?;
        let saved = doc.save();

        let t = Instant::now();
        app.save_visit(visit.clone())?;
        let a = t.elapsed();

        let t = Instant::now();
        {
            let mut conn = raw.lock().map_err(|_| "lock")?;
            let tx = conn.transaction()?;
            tx.execute("INSERT INTO docs (id, bytes) VALUES (?1, ?2)", rusqlite::params![visit.id, saved])?;
            tx.commit()?;
        }
        let b = t.elapsed();
        if i >= warmup {
            api.push(a);
            base.push(b);
        }
    }
    api.sort();
    base.sort();
    let (p50, p99) = (pct(&api, 50), pct(&api, 99));
    let (b50, b99) = (pct(&base, 50), pct(&base, 99));
    let r50 = p50.as_secs_f64() / b50.as_secs_f64();
    let r99 = p99.as_secs_f64() / b99.as_secs_f64();
    Ok(vec![
        Row::new(NAME, format!("p50 {} ({} visits)", ms(p50), api.len()))
            .baseline(format!("raw insert p50 {}", ms(b50)), r50)
            .target("p50 ≤ 2×", r50 <= 2.0),
        Row::new(NAME, format!("p99 {}", ms(p99))).baseline(format!("raw insert p99 {}", ms(b99)), r99),
    ])
}

/// `p`-th percentile of sorted durations.
pub fn pct(sorted: &[Duration], p: usize) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[(sorted.len() * p / 100).min(sorted.len() - 1)]
}

/// A bare SQLCipher file keyed and tuned as `Store::open` does, with one table for the document bytes.
fn raw_store(path: &std::path::Path) -> Res<std::sync::Mutex<rusqlite::Connection>> {
    let conn = rusqlite::Connection::open(path)?;
    let hex: String = KEY.iter().map(|b| format!("{b:02x}")).collect();
    conn.execute_batch(&format!("PRAGMA key = \"x'{hex}'\";"))?;
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    conn.execute_batch("CREATE TABLE docs (id TEXT PRIMARY KEY, bytes BLOB NOT NULL)")?;
    Ok(std::sync::Mutex::new(conn))
}
