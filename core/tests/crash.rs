//! Crash safety of the store: a child process records visits (and edits its household now and then) and is killed
//! with SIGKILL at random moments. The child prints a visit's id only after `put` returned, so every printed id is
//! a write the user saw succeed. After each kill the store must open, hold every printed visit, parse every
//! document, and show no half-written write: index rows and the change log match the documents exactly.
//!
//! The child is this test binary itself, re-run with `DOORSTEP_CRASH_CHILD` set (see `crash_child_writer`).
//! `DOORSTEP_CRASH_RUNS` (default 24) sets the number of kills and `DOORSTEP_CRASH_SEED` replays a run.

use doorstep_core::model::{samples, DocKind, Household, Record, RulesDoc, Screening, Visit};
use doorstep_core::store::{schema, Store};
use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

const KEY: [u8; 32] = [0xc4; 32];
const TODAY: &str = "2026-11-29";
const CHILD_ENV: &str = "DOORSTEP_CRASH_CHILD";
const HOUSEHOLD_ENV: &str = "DOORSTEP_CRASH_HOUSEHOLD";
/// The child stops by itself after this many writes if nobody kills it (keeps every loop bounded).
const CHILD_MAX_WRITES: usize = 5_000;

/// A small deterministic generator (xorshift64*), so a failing run can be replayed from its printed seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

/// Child mode: writes visits until killed, printing `WROTE <id> <n>` after each `put` returned (a line cut by the
/// kill carries no visit: the parent ignores it, and the at-most-one unprinted write per kill allows for it). In a normal test
/// run (no `DOORSTEP_CRASH_CHILD`) it returns at once.
#[test]
fn crash_child_writer() {
    let Ok(path) = std::env::var(CHILD_ENV) else { return };
    let household_id = std::env::var(HOUSEHOLD_ENV).unwrap();
    let mut store = Store::open(Path::new(&path), &KEY, "crash-child").unwrap();
    let mut household: Household = store.get(&household_id).unwrap();
    let stdout = std::io::stdout();
    for n in 0..CHILD_MAX_WRITES {
        let mut visit = samples::visit();
        visit.household_id = household_id.clone();
        visit.note = format!("crash visit {n}");
        store.put(&visit, TODAY).unwrap();
        let mut out = stdout.lock();
        writeln!(out, "WROTE {} {n}", visit.id).unwrap();
        out.flush().unwrap();
        drop(out);
        if n % 4 == 3 {
            // An edit of an existing document, so kills also land inside updates, not only inserts.
            household.address = format!("石门村上屯{n}号");
            store.put(&household, TODAY).unwrap();
        }
    }
}

/// Every index row, table by table, sorted: compared before and after a rebuild from the documents.
fn dump_indices(store: &Store) -> Vec<String> {
    let mut out = Vec::new();
    for table in schema::INDEX_TABLES {
        let mut stmt = store.conn().prepare(&format!("SELECT * FROM {table}")).unwrap();
        let n = stmt.column_count();
        let mut rows: Vec<String> = stmt
            .query_map([], |r| {
                Ok((0..n).map(|i| format!("{:?}", r.get::<_, rusqlite::types::Value>(i).unwrap())).collect::<Vec<_>>())
            })
            .unwrap()
            .map(|r| format!("{table}: {}", r.unwrap().join("|")))
            .collect();
        rows.sort();
        out.extend(rows);
    }
    out
}

fn count(store: &Store, sql: &str) -> i64 {
    store.conn().query_row(sql, [], |r| r.get(0)).unwrap()
}

/// Opens the store after a kill and checks that it is whole; returns how many visits it holds.
fn check_store(path: &Path, printed: &BTreeMap<String, usize>, run: usize) -> usize {
    let mut store = Store::open(path, &KEY, "crash-parent").unwrap_or_else(|e| panic!("run {run}: open failed: {e}"));

    // Every write that returned is there, with what was written.
    for (id, n) in printed {
        let visit: Visit = store.get(id).unwrap_or_else(|e| panic!("run {run}: printed visit {id} lost: {e}"));
        assert_eq!(visit.note, format!("crash visit {n}"), "run {run}");
    }

    // Every document parses as its kind, and the change log holds exactly the documents' changes.
    let docs: Vec<(String, String)> = {
        let mut stmt = store.conn().prepare("SELECT id, kind FROM docs").unwrap();
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
        rows.map(Result::unwrap).collect()
    };
    let logged: HashSet<(String, String)> = {
        let mut stmt = store.conn().prepare("SELECT doc_id, hash FROM changes").unwrap();
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
        rows.map(Result::unwrap).collect()
    };
    let mut in_docs = HashSet::new();
    for (id, kind) in &docs {
        let (loaded_kind, mut doc) = store.load_doc(id).unwrap().unwrap();
        assert_eq!(loaded_kind.code(), kind);
        match loaded_kind {
            DocKind::Household => doc.read::<Household>().map(|r| r.id().to_string()),
            DocKind::Visit => doc.read::<Visit>().map(|r| r.id().to_string()),
            DocKind::Screening => doc.read::<Screening>().map(|r| r.id().to_string()),
            DocKind::Rules => doc.read::<RulesDoc>().map(|r| r.id().to_string()),
        }
        .map(|read_id| assert_eq!(&read_id, id, "run {run}"))
        .unwrap_or_else(|e| panic!("run {run}: document {id} does not parse: {e}"));
        for change in doc.changes() {
            in_docs.insert((id.clone(), change.hash));
        }
    }
    assert_eq!(logged, in_docs, "run {run}: change log and documents differ");
    assert_eq!(
        count(&store, "SELECT count(*) FROM changes WHERE acked = 0 AND bytes IS NULL"),
        0,
        "run {run}: a pending change without bytes"
    );

    // Index rows match the documents: one visit row per visit document, and a rebuild changes nothing.
    let visits = count(&store, "SELECT count(*) FROM docs WHERE kind = 'visit'");
    assert_eq!(count(&store, "SELECT count(*) FROM ix_visits"), visits, "run {run}");
    assert_eq!(
        count(&store, "SELECT count(*) FROM ix_visits WHERE doc_id NOT IN (SELECT id FROM docs)"),
        0,
        "run {run}"
    );
    assert_eq!(count(&store, "SELECT count(*) FROM ix_households"), 1, "run {run}");
    let incremental = dump_indices(&store);
    store.rebuild_indices().unwrap();
    assert_eq!(dump_indices(&store), incremental, "run {run}: index rows differ from the documents");
    visits as usize
}

#[test]
fn killed_writers_lose_no_returned_write_and_leave_no_half_write() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    let runs: usize = std::env::var("DOORSTEP_CRASH_RUNS").ok().and_then(|r| r.parse().ok()).unwrap_or(24);
    let seed: u64 = std::env::var("DOORSTEP_CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
        u64::from(nanos) | 1
    });
    eprintln!("crash test: {runs} runs, DOORSTEP_CRASH_SEED={seed}");
    let mut rng = Rng(seed);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crash.db");
    let household = samples::household();
    Store::open(&path, &KEY, "crash-parent").unwrap().put(&household, TODAY).unwrap();

    let exe = std::env::current_exe().unwrap();
    let mut printed: BTreeMap<String, usize> = BTreeMap::new();
    let mut kills_mid_run = 0;
    for run in 0..runs {
        // 0 kills the child before it wrote anything (while it starts and opens the store).
        let kill_after = rng.below(25) as usize;
        let pause_us = rng.below(3_000);
        let mut child = Command::new(&exe)
            .args(["crash_child_writer", "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, &path)
            .env(HOUSEHOLD_ENV, &household.id)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        // The test harness writes "test crash_child_writer ... " without a newline before the first visit's line.
        let mut record = |line: &str| match line.split_once("WROTE ") {
            Some((_, rest)) => match rest.split_once(' ').and_then(|(id, n)| Some((id, n.parse().ok()?))) {
                Some((id, n)) => printed.insert(id.to_string(), n).is_none(),
                None => false,
            },
            None => false,
        };
        let mut seen = 0;
        while seen < kill_after {
            match lines.next() {
                Some(Ok(line)) => seen += usize::from(record(&line)),
                _ => break,
            }
        }
        std::thread::sleep(std::time::Duration::from_micros(pause_us));
        child.kill().unwrap(); // SIGKILL on unix
                               // Lines already in the pipe were printed before the kill: those writes returned too.
        for line in lines.map_while(Result::ok) {
            record(&line);
        }
        let status = child.wait().unwrap();
        if status.code().is_none() {
            kills_mid_run += 1;
        }

        let visits = check_store(&path, &printed, run);
        // At most one write per kill may have committed without being printed; nothing else appears.
        assert!(visits >= printed.len() && visits <= printed.len() + run + 1, "run {run}: {visits} visits");
    }
    eprintln!("crash test: {} visits survived {kills_mid_run} kills of {runs} runs", printed.len());
    assert!(kills_mid_run >= 20.min(runs), "only {kills_mid_run} children were killed while running");
    assert!(!printed.is_empty());
}
