//! A SQLite table's rows as JSON objects keyed by column name: what the storage contract compares with
//! PostgreSQL's `row_to_json`, and what the province benchmark copies into PostgreSQL (`json_populate_recordset`).
//! Blobs are written in bytea's hex input form (`\x…`).

use serde_json::{Map, Value};

/// Every row of `table`, in the order SQLite returns them, each passed to `each` (so a large table is never held
/// whole).
pub fn each_row(
    conn: &rusqlite::Connection,
    table: &str,
    mut each: impl FnMut(Value) -> Result<(), Box<dyn std::error::Error + Send + Sync>>,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    use rusqlite::types::ValueRef;
    let mut stmt = conn.prepare(&format!("SELECT * FROM {table}"))?;
    let names: Vec<String> = stmt.column_names().iter().map(|s| s.to_string()).collect();
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let mut obj = Map::new();
        for (i, name) in names.iter().enumerate() {
            let v = match r.get_ref(i)? {
                ValueRef::Null => Value::Null,
                ValueRef::Integer(n) => n.into(),
                ValueRef::Real(f) => f.into(),
                ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned().into(),
                ValueRef::Blob(b) => format!("\\x{}", hex::encode(b)).into(),
            };
            obj.insert(name.clone(), v);
        }
        each(Value::Object(obj))?;
    }
    Ok(())
}

/// Every row of `table` as JSON objects.
pub fn rows(conn: &rusqlite::Connection, table: &str) -> Result<Vec<Value>, Box<dyn std::error::Error + Send + Sync>> {
    let mut out = Vec::new();
    each_row(conn, table, |v| {
        out.push(v);
        Ok(())
    })?;
    Ok(out)
}

/// The server store's tables a copy carries, parents first (sessions, login failures and kept overview figures are
/// left behind: a server makes its own). The core's index tables follow them.
pub const STORE_TABLES: &[&str] = &[
    "users",
    "devices",
    "actors",
    "counter",
    "docs",
    "changes",
    "assignments",
    "team_villages",
    "areas",
    "inspector_grants",
    "scope_events",
    "scope_losses",
    "places",
    "blobs",
    "blob_refs",
    "audit_log",
];

/// Copies a server's SQLite store into a PostgreSQL database the server's own store has migrated (what the
/// province benchmark and the pages' tests on PostgreSQL serve): each table's rows as JSON objects, mapped onto the
/// same columns by name (`json_populate_recordset`), a few thousand rows per statement, in one transaction. Runs
/// the blocking client on a thread of its own.
pub fn copy_to_postgres(
    sqlite_db: &std::path::Path,
    url: &str,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    use r2d2_postgres::postgres as pg;
    let (sqlite_db, url) = (sqlite_db.to_path_buf(), url.to_string());
    std::thread::spawn(move || -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let lite = rusqlite::Connection::open(&sqlite_db)?;
        let mut client = pg::Client::connect(&url, pg::NoTls)?;
        let mut tx = client.transaction()?;
        for table in STORE_TABLES.iter().chain(doorstep_core::store::schema::INDEX_TABLES) {
            tx.batch_execute(&format!("DELETE FROM {table}"))?;
            // The audit log's ids are PostgreSQL's own (an identity column): the entries get new ones, in order.
            let (into, columns) = if *table == "audit_log" {
                (" (at_ms, actor, action, detail)", "at_ms, actor, action, detail")
            } else {
                ("", "*")
            };
            let insert = format!(
                "INSERT INTO {table}{into} SELECT {columns} FROM json_populate_recordset(NULL::{table}, $1::text::json)"
            );
            let mut batch: Vec<Value> = Vec::new();
            let mut flush = |batch: &mut Vec<Value>| -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
                if !batch.is_empty() {
                    tx.execute(&insert, &[&Value::Array(std::mem::take(batch)).to_string()])?;
                }
                Ok(())
            };
            each_row(&lite, table, |row| {
                batch.push(row);
                if batch.len() >= 2000 {
                    flush(&mut batch)?;
                }
                Ok(())
            })?;
            flush(&mut batch)?;
        }
        tx.commit()?;
        // As after any bulk load: statistics for the planner, and the visibility map that lets an index-only scan
        // skip the table (autovacuum would set both within minutes; a benchmark measures before it has).
        client.batch_execute("VACUUM ANALYZE")?;
        Ok(())
    })
    .join()
    .map_err(|_| "the copying thread panicked")?
}
