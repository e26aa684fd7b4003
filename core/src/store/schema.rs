//! The store's schema and its steps, migrated by SQLite's `user_version` one step at a time (`migrate::run`, the
//! runner the server's stores share).

use super::migrate::{self, Step};
use crate::error::{Error, Result};
use rusqlite::Connection;

/// The schema version this build writes.
pub const VERSION: i64 = 3;

/// Version 1: documents, the change log and device metadata (the derived index tables follow in `INDEX_DDL`).
const V1: &str = r#"
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE docs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    bytes BLOB NOT NULL,
    heads TEXT NOT NULL,
    updated_ms INTEGER NOT NULL
);
-- The changes this device made, content-addressed. Bytes are kept until the server acknowledges the change; after
-- that the saved document holds it and the row keeps only what identifies it (which device wrote what). Received
-- changes live in their documents alone (since version 3).
CREATE TABLE changes (
    hash TEXT PRIMARY KEY,
    doc_id TEXT NOT NULL,
    actor TEXT NOT NULL,
    seq INTEGER NOT NULL,
    bytes BLOB,
    local INTEGER NOT NULL,
    acked INTEGER NOT NULL DEFAULT 0,
    created_ms INTEGER NOT NULL
);
CREATE INDEX changes_pending ON changes (created_ms) WHERE acked = 0;
CREATE INDEX changes_doc ON changes (doc_id);
"#;

/// Version 2: the attachments the device knows (their bytes are files beside the store, see `blobs`) and which live
/// documents refer to each. Device-only: the server keeps its own blob tables.
const V2_ATTACHMENTS: &str = r#"
CREATE TABLE attachments (
    hash TEXT PRIMARY KEY,
    media_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    kind TEXT NOT NULL,
    -- 1 when the encrypted bytes are in the blob directory.
    local INTEGER NOT NULL DEFAULT 0,
    -- none (another device's), pending, done, broken (the server refused the bytes).
    upload TEXT NOT NULL DEFAULT 'none',
    -- Bytes the server has confirmed receiving.
    confirmed INTEGER NOT NULL DEFAULT 0,
    added_ms INTEGER NOT NULL
);
CREATE INDEX attachments_upload ON attachments (upload, added_ms);
CREATE TABLE attachment_refs (doc_id TEXT NOT NULL, hash TEXT NOT NULL, PRIMARY KEY (doc_id, hash));
CREATE INDEX attachment_refs_hash ON attachment_refs (hash);
"#;

/// The derived index tables (`ix_*`), part of version 1. Public so the server keeps the same rows with the same
/// `index::reindex` for its reports, instead of a second copy of them.
pub const INDEX_DDL: &str = r#"
-- Derived index rows: rebuilt from the documents at any time.
CREATE TABLE ix_households (
    doc_id TEXT PRIMARY KEY,
    number TEXT NOT NULL,
    township TEXT NOT NULL,
    village TEXT NOT NULL,
    hamlet TEXT NOT NULL,
    head_name TEXT NOT NULL,
    status TEXT NOT NULL,
    alert TEXT,
    doctor_team TEXT NOT NULL,
    search TEXT NOT NULL,
    deleted INTEGER NOT NULL
);
CREATE INDEX ix_households_village ON ix_households (village, status, alert);
CREATE TABLE ix_household_helpers (doc_id TEXT NOT NULL, helper TEXT NOT NULL, PRIMARY KEY (doc_id, helper));
CREATE INDEX ix_household_helpers_helper ON ix_household_helpers (helper);
CREATE TABLE ix_members (
    member_id TEXT PRIMARY KEY,
    household_id TEXT NOT NULL,
    name TEXT NOT NULL,
    masked_id TEXT NOT NULL,
    birth_date TEXT NOT NULL,
    conditions TEXT NOT NULL,
    contract_team TEXT,
    contract_signed TEXT
);
CREATE INDEX ix_members_household ON ix_members (household_id);
CREATE TABLE ix_visits (
    doc_id TEXT PRIMARY KEY,
    household_id TEXT NOT NULL,
    member_id TEXT,
    date TEXT NOT NULL,
    month TEXT NOT NULL,
    kind TEXT NOT NULL,
    visitor TEXT NOT NULL,
    deleted INTEGER NOT NULL
);
CREATE INDEX ix_visits_household ON ix_visits (household_id, date);
CREATE INDEX ix_visits_month ON ix_visits (month, kind);
CREATE TABLE ix_screenings (
    doc_id TEXT PRIMARY KEY,
    household_id TEXT NOT NULL,
    member_id TEXT NOT NULL,
    date TEXT NOT NULL,
    bp_grade TEXT,
    glucose_band TEXT,
    bmi_band TEXT,
    referral TEXT NOT NULL,
    abnormal INTEGER NOT NULL,
    deleted INTEGER NOT NULL
);
CREATE INDEX ix_screenings_member ON ix_screenings (member_id, date);
CREATE INDEX ix_screenings_household ON ix_screenings (household_id, date);
CREATE TABLE ix_problems (
    visit_id TEXT NOT NULL,
    problem_id TEXT NOT NULL,
    household_id TEXT NOT NULL,
    date TEXT NOT NULL,
    description TEXT NOT NULL,
    status TEXT NOT NULL,
    PRIMARY KEY (visit_id, problem_id)
);
CREATE INDEX ix_problems_household ON ix_problems (household_id, status);
CREATE TABLE ix_conflicts (doc_id TEXT PRIMARY KEY, fields INTEGER NOT NULL);
"#;

/// Version 3: received changes are no longer logged (their documents hold them, and nothing read the rows), and a
/// document's heads are no longer kept beside it (the saved document holds them; nothing read the column): the
/// store of a supervisor's phone shrinks by a change row, two index entries and 65 bytes per document.
const V3_SMALLER: &str = "DELETE FROM changes WHERE local = 0; ALTER TABLE docs DROP COLUMN heads;";

/// The steps from an empty store to `VERSION`.
const STEPS: &[Step] = &[
    Step { version: 1, sql: &[V1, INDEX_DDL] },
    Step { version: 2, sql: &[V2_ATTACHMENTS] },
    Step { version: 3, sql: &[V3_SMALLER] },
];

/// Brings a connection's schema to `VERSION`, refusing a store written by a newer app.
pub fn migrate(conn: &mut Connection) -> Result<()> {
    migrate::run(conn, STEPS, VERSION)
        .map_err(|e| e.into_error(|n| Error::NewerSchema { found: n.found, supported: n.supported }))
}

/// The derived tables, cleared before a full rebuild.
pub const INDEX_TABLES: &[&str] = &[
    "ix_households",
    "ix_household_helpers",
    "ix_members",
    "ix_visits",
    "ix_screenings",
    "ix_problems",
    "ix_conflicts",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_an_empty_database_and_is_idempotent() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        migrate(&mut conn).unwrap();
        let v: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(v, VERSION);
        for t in INDEX_TABLES {
            conn.query_row(&format!("SELECT count(*) FROM {t}"), [], |r| r.get::<_, i64>(0)).unwrap();
        }
    }

    #[test]
    fn a_version_1_store_gains_the_attachment_tables_and_keeps_its_documents() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(V1).unwrap();
        conn.execute_batch(INDEX_DDL).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.execute("INSERT INTO docs (id, kind, bytes, heads, updated_ms) VALUES ('v1', 'visit', x'00', '', 1)", [])
            .unwrap();
        migrate(&mut conn).unwrap();
        let v: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert!(v >= 2);
        let docs: i64 = conn.query_row("SELECT count(*) FROM docs", [], |r| r.get(0)).unwrap();
        assert_eq!(docs, 1);
        for t in ["attachments", "attachment_refs"] {
            conn.query_row(&format!("SELECT count(*) FROM {t}"), [], |r| r.get::<_, i64>(0)).unwrap();
        }
    }

    #[test]
    fn refuses_a_newer_schema() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", VERSION + 1).unwrap();
        assert!(matches!(migrate(&mut conn), Err(Error::NewerSchema { .. })));
    }
}
