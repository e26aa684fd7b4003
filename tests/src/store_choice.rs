//! Which store a test server runs on, so that one test suite runs against both: SQLite in the server's data
//! directory (the default), or — when `DOORSTEP_TEST_PG=postgres://…` is set — PostgreSQL, each data directory
//! getting a fresh schema of its own on that cluster, named after the directory, so that tests running in parallel
//! (and their restarts of a server on the same directory) never share or lose one.
//!
//! Used by the end-to-end harness and, as a dev-dependency, by the server's test harness.
#![allow(dead_code)]

use std::collections::HashSet;
use std::path::Path;
use std::sync::Mutex;

/// The variable naming the PostgreSQL cluster to test against.
pub const PG_ENV: &str = "DOORSTEP_TEST_PG";

/// The cluster's URL when the tests run on PostgreSQL.
pub fn pg_base() -> Option<String> {
    std::env::var(PG_ENV).ok().filter(|u| !u.trim().is_empty())
}

/// Whether test servers run on PostgreSQL.
pub fn on_postgres() -> bool {
    pg_base().is_some()
}

/// The name of the schema of the server whose data directory is `data` (FNV-1a of the path: stable for restarts
/// on the same directory, distinct for distinct temporary directories).
pub fn schema_name(data: &Path) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in data.to_string_lossy().as_bytes() {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("doorstep_t_{h:016x}")
}

static CREATED: Mutex<Option<HashSet<String>>> = Mutex::new(None);

/// The `--database` URL of the server whose data directory is `data`, its schema created on first use; `None` when
/// the tests run on SQLite.
pub fn database_for(data: &Path) -> Option<String> {
    let base = pg_base()?;
    let schema = schema_name(data);
    let mut created = CREATED.lock().unwrap_or_else(|e| e.into_inner());
    let set = created.get_or_insert_with(HashSet::new);
    if !set.contains(&schema) {
        run_sql(&base, &format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
            .unwrap_or_else(|e| panic!("creating schema {schema} on {base}: {e}"));
        set.insert(schema.clone());
    }
    let sep = if base.contains('?') { '&' } else { '?' };
    Some(format!("{base}{sep}options=-c%20search_path%3D{schema}"))
}

/// Runs statements with the blocking client, on a thread of its own (the client starts its own runtime, which must
/// not happen inside a test's).
pub fn run_sql(url: &str, statements: &str) -> Result<(), String> {
    let (url, statements) = (url.to_string(), statements.to_string());
    std::thread::spawn(move || {
        let mut c = r2d2_postgres::postgres::Client::connect(&url, r2d2_postgres::postgres::NoTls)
            .map_err(|e| e.to_string())?;
        c.batch_execute(&statements).map_err(|e| e.to_string())
    })
    .join()
    .map_err(|_| "the database thread panicked".to_string())?
}

/// Sets `--database` (through its environment variable) on a `doorstep-server` command for the data directory.
pub fn choose_store(cmd: &mut std::process::Command, data: &Path) {
    match database_for(data) {
        Some(url) => cmd.env("DOORSTEP_DATABASE", url),
        None => cmd.env_remove("DOORSTEP_DATABASE"),
    };
}

/// True (after printing why) when a test that only makes sense on SQLite runs on PostgreSQL: it returns early.
pub fn sqlite_only(test: &str, reason: &str) -> bool {
    if on_postgres() {
        eprintln!("SKIPPED on PostgreSQL: {test}: {reason}");
        return true;
    }
    false
}
