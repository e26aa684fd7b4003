//! The derived `ix_*` rows in PostgreSQL, computed by the core's own `index::reindex`.
//!
//! The core's `reindex` writes through a rusqlite transaction. Rather than a second copy of its rules (which rows a
//! household, visit or screening yields, how search text is built, which referral counts), the PostgreSQL store runs
//! that very function against a scratch in-memory SQLite database holding the same `INDEX_DDL` tables, reads the rows
//! it produced, and copies them into PostgreSQL with `json_populate_recordset` (which maps every column by name to the
//! table's own types). So both stores hold byte-for-byte the same derived rows, by construction.
//!
//! The only PostgreSQL-specific knowledge here is which rows belong to a document (the `DELETE`s in
//! [`clear`], mirroring the core's `clear`) and that `ix_members` is keyed by member id across households (the core
//! writes it with `INSERT OR REPLACE`), so a member's old row is replaced wherever it was.

use super::{pg, Pg};
use crate::storage::Result;
use doorstep_core::doc::Document;
use doorstep_core::model::DocKind;
use doorstep_core::store::{index, schema};
use rusqlite::types::ValueRef;
use serde_json::{Map, Value};
use std::cell::RefCell;

thread_local! {
    /// One scratch database per thread (writes are serialised anyway); created on first use, emptied by rollback.
    static SCRATCH: RefCell<Option<rusqlite::Connection>> = const { RefCell::new(None) };
}

/// The rows `index::reindex` derives from `doc`, per table (tables without rows left out), as JSON arrays of
/// objects keyed by column name.
pub fn derived_rows(id: &str, kind: DocKind, doc: &mut Document) -> Result<Vec<(&'static str, Value)>> {
    SCRATCH.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            let conn = rusqlite::Connection::open_in_memory()?;
            conn.execute_batch(schema::INDEX_DDL)?;
            *slot = Some(conn);
        }
        let conn = slot.as_mut().expect("scratch connection was just created");
        // Rolled back when dropped: the scratch tables are empty again for the next document.
        let tx = conn.transaction()?;
        index::reindex(&tx, id, kind, doc)?;
        let mut out = Vec::new();
        for &table in schema::INDEX_TABLES {
            let rows = table_json(&tx, table)?;
            if !rows.is_empty() {
                out.push((table, Value::Array(rows)));
            }
        }
        Ok(out)
    })
}

/// Every row of one scratch table as a JSON object.
pub fn table_json(conn: &rusqlite::Connection, table: &str) -> Result<Vec<Value>> {
    let mut stmt = conn.prepare(&format!("SELECT * FROM {table}"))?;
    let names: Vec<String> = stmt.column_names().iter().map(|s| s.to_string()).collect();
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let mut obj = Map::new();
        for (i, name) in names.iter().enumerate() {
            let v = match r.get_ref(i)? {
                ValueRef::Null => Value::Null,
                ValueRef::Integer(n) => Value::from(n),
                ValueRef::Real(f) => Value::from(f),
                ValueRef::Text(t) => Value::from(String::from_utf8_lossy(t).into_owned()),
                ValueRef::Blob(b) => Value::from(hex::encode(b)),
            };
            obj.insert(name.clone(), v);
        }
        out.push(Value::Object(obj));
    }
    Ok(out)
}

/// Removes the derived rows of one document (the same rows the core's `clear` removes).
fn clear(tx: &mut pg::Transaction<'_>, id: &str) -> Result<()> {
    for sql in [
        "DELETE FROM ix_households WHERE doc_id = $1",
        "DELETE FROM ix_household_helpers WHERE doc_id = $1",
        "DELETE FROM ix_members WHERE household_id = $1",
        "DELETE FROM ix_visits WHERE doc_id = $1",
        "DELETE FROM ix_screenings WHERE doc_id = $1",
        "DELETE FROM ix_problems WHERE visit_id = $1",
        "DELETE FROM ix_conflicts WHERE doc_id = $1",
    ] {
        tx.execute(sql, &[&id]).pg()?;
    }
    Ok(())
}

/// Replaces the derived rows of one document in PostgreSQL with those the core derives from its current state.
pub fn reindex(tx: &mut pg::Transaction<'_>, id: &str, kind: DocKind, doc: &mut Document) -> Result<()> {
    let rows = derived_rows(id, kind, doc)?;
    clear(tx, id)?;
    for (table, json) in rows {
        let json = json.to_string();
        if table == "ix_members" {
            tx.execute(
                "DELETE FROM ix_members m USING json_populate_recordset(NULL::ix_members, $1::text::json) j
                 WHERE m.member_id = j.member_id",
                &[&json],
            )
            .pg()?;
        }
        // `table` comes from the core's fixed list, never from input.
        tx.execute(
            &format!("INSERT INTO {table} SELECT * FROM json_populate_recordset(NULL::{table}, $1::text::json)"),
            &[&json],
        )
        .pg()?;
    }
    Ok(())
}
