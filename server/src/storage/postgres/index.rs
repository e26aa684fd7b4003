//! The PostgreSQL writer of the derived `ix_*` rows. The rows themselves come from the core's pure
//! `index::derive`, the same function the SQLite writer uses, so both stores hold the same rows by construction.
//!
//! Each table's rows go in with one statement: the rows as a JSON array, mapped onto the table's columns by name
//! (`json_populate_recordset`). `ix_members` is keyed by member id across households (SQLite writes it with
//! `INSERT OR REPLACE`), so a member's old row is replaced wherever it was.

use super::{pg, Pg};
use crate::storage::{Result, StorageError};
use doorstep_core::store::index::IndexRows;
use serde::Serialize;

/// Inserts derived rows (the documents' old rows already deleted: `pending` clears them).
pub(super) fn write(tx: &mut pg::Transaction<'_>, rows: &IndexRows) -> Result<()> {
    insert(tx, "ix_households", &rows.households)?;
    insert(tx, "ix_household_helpers", &rows.helpers)?;
    if !rows.members.is_empty() {
        tx.execute(
            "DELETE FROM ix_members m USING json_populate_recordset(NULL::ix_members, $1::text::json) j
             WHERE m.member_id = j.member_id",
            &[&json(&rows.members)?],
        )
        .pg()?;
    }
    insert(tx, "ix_members", &rows.members)?;
    insert(tx, "ix_visits", &rows.visits)?;
    insert(tx, "ix_problems", &rows.problems)?;
    insert(tx, "ix_screenings", &rows.screenings)?;
    insert(tx, "ix_conflicts", &rows.conflicts)
}

/// One table's rows in one statement; `table` is one of the fixed names above, never input.
fn insert<T: Serialize>(tx: &mut pg::Transaction<'_>, table: &str, rows: &[T]) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    tx.execute(
        &format!("INSERT INTO {table} SELECT * FROM json_populate_recordset(NULL::{table}, $1::text::json)"),
        &[&json(rows)?],
    )
    .pg()?;
    Ok(())
}

fn json<T: Serialize>(rows: &[T]) -> Result<String> {
    serde_json::to_string(rows).map_err(|e| StorageError::Internal(format!("index rows as JSON: {e}")))
}
