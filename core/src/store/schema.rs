//! The store's schema and its steps, migrated by SQLite's `user_version` one step at a time (`migrate::run`, the
//! runner the server's stores share).

use super::migrate::{self, Step};
use crate::error::{Error, Result};
use rusqlite::Connection;

/// The schema version this build writes.
pub const VERSION: i64 = 4;

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

/// Version 4: the device's derived tables with small rows keep them in their key's B-tree (`WITHOUT ROWID`). A
/// table with a text key and a rowid stores each key twice, in the row and in the key's own index: 40-odd bytes per
/// visit, member and screening, about 3% of a helper's store. The server keeps `INDEX_DDL` as it is (PostgreSQL has
/// no such tables, and its reports read these tables through their other indexes); the rows are the same. Tables
/// whose rows can be long (a household's search text, a problem's description) stay as they are.
const V4_WITHOUT_ROWID: &str = r#"
CREATE TABLE ix_household_helpers_v4 (doc_id TEXT NOT NULL, helper TEXT NOT NULL, PRIMARY KEY (doc_id, helper))
    WITHOUT ROWID;
INSERT INTO ix_household_helpers_v4 (doc_id, helper) SELECT doc_id, helper FROM ix_household_helpers;
DROP TABLE ix_household_helpers;
ALTER TABLE ix_household_helpers_v4 RENAME TO ix_household_helpers;
CREATE INDEX ix_household_helpers_helper ON ix_household_helpers (helper);

CREATE TABLE ix_members_v4 (
    member_id TEXT PRIMARY KEY,
    household_id TEXT NOT NULL,
    name TEXT NOT NULL,
    masked_id TEXT NOT NULL,
    birth_date TEXT NOT NULL,
    conditions TEXT NOT NULL,
    contract_team TEXT,
    contract_signed TEXT
) WITHOUT ROWID;
INSERT INTO ix_members_v4 (member_id, household_id, name, masked_id, birth_date, conditions, contract_team,
    contract_signed)
    SELECT member_id, household_id, name, masked_id, birth_date, conditions, contract_team, contract_signed
    FROM ix_members;
DROP TABLE ix_members;
ALTER TABLE ix_members_v4 RENAME TO ix_members;
CREATE INDEX ix_members_household ON ix_members (household_id);

CREATE TABLE ix_visits_v4 (
    doc_id TEXT PRIMARY KEY,
    household_id TEXT NOT NULL,
    member_id TEXT,
    date TEXT NOT NULL,
    month TEXT NOT NULL,
    kind TEXT NOT NULL,
    visitor TEXT NOT NULL,
    deleted INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO ix_visits_v4 (doc_id, household_id, member_id, date, month, kind, visitor, deleted)
    SELECT doc_id, household_id, member_id, date, month, kind, visitor, deleted FROM ix_visits;
DROP TABLE ix_visits;
ALTER TABLE ix_visits_v4 RENAME TO ix_visits;
CREATE INDEX ix_visits_household ON ix_visits (household_id, date);
CREATE INDEX ix_visits_month ON ix_visits (month, kind);

CREATE TABLE ix_screenings_v4 (
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
) WITHOUT ROWID;
INSERT INTO ix_screenings_v4 (doc_id, household_id, member_id, date, bp_grade, glucose_band, bmi_band, referral,
    abnormal, deleted)
    SELECT doc_id, household_id, member_id, date, bp_grade, glucose_band, bmi_band, referral, abnormal, deleted
    FROM ix_screenings;
DROP TABLE ix_screenings;
ALTER TABLE ix_screenings_v4 RENAME TO ix_screenings;
CREATE INDEX ix_screenings_member ON ix_screenings (member_id, date);
CREATE INDEX ix_screenings_household ON ix_screenings (household_id, date);

CREATE TABLE ix_conflicts_v4 (doc_id TEXT PRIMARY KEY, fields INTEGER NOT NULL) WITHOUT ROWID;
INSERT INTO ix_conflicts_v4 (doc_id, fields) SELECT doc_id, fields FROM ix_conflicts;
DROP TABLE ix_conflicts;
ALTER TABLE ix_conflicts_v4 RENAME TO ix_conflicts;

CREATE TABLE attachment_refs_v4 (doc_id TEXT NOT NULL, hash TEXT NOT NULL, PRIMARY KEY (doc_id, hash)) WITHOUT ROWID;
INSERT INTO attachment_refs_v4 (doc_id, hash) SELECT doc_id, hash FROM attachment_refs;
DROP TABLE attachment_refs;
ALTER TABLE attachment_refs_v4 RENAME TO attachment_refs;
CREATE INDEX attachment_refs_hash ON attachment_refs (hash);
"#;

/// The steps from an empty store to `VERSION`.
const STEPS: &[Step] = &[
    Step { version: 1, sql: &[V1, INDEX_DDL] },
    Step { version: 2, sql: &[V2_ATTACHMENTS] },
    Step { version: 3, sql: &[V3_SMALLER] },
    Step { version: 4, sql: &[V4_WITHOUT_ROWID] },
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
    fn a_version_3_store_keeps_its_derived_rows_in_tables_without_rowids() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate::run(&mut conn, &STEPS[..3], 3).unwrap();
        conn.execute_batch(
            "INSERT INTO ix_household_helpers VALUES ('h1', 'helper1'), ('h1', 'helper2');
             INSERT INTO ix_members VALUES ('m1', 'h1', '张三', '4306********1234', '1950-01-02', 'hypertension',
                 't1', '2026-01-05');
             INSERT INTO ix_visits VALUES ('v1', 'h1', NULL, '2026-03-04', '2026-03', 'routine', 'helper1', 0);
             INSERT INTO ix_screenings VALUES ('s1', 'h1', 'm1', '2026-03-04', 'grade1', NULL, 'normal', 'none', 1, 0);
             INSERT INTO ix_conflicts VALUES ('h1', 2);
             INSERT INTO attachment_refs VALUES ('v1', 'abc');",
        )
        .unwrap();
        let rows = |conn: &Connection| -> Vec<String> {
            ["ix_household_helpers", "ix_members", "ix_visits", "ix_screenings", "ix_conflicts", "attachment_refs"]
                .iter()
                .flat_map(|t| {
                    let mut stmt = conn.prepare(&format!("SELECT * FROM {t} ORDER BY 1, 2")).unwrap();
                    let n = stmt.column_count();
                    stmt.query_map([], |r| {
                        let cells: Vec<String> = (0..n).map(|i| format!("{:?}", r.get_ref(i).ok())).collect();
                        Ok(format!("{t}: {}", cells.join(" | ")))
                    })
                    .unwrap()
                    .collect::<rusqlite::Result<Vec<_>>>()
                    .unwrap()
                })
                .collect()
        };
        let before = rows(&conn);
        assert_eq!(before.len(), 7);
        migrate(&mut conn).unwrap();
        assert_eq!(rows(&conn), before, "every derived row is kept, value for value");
        let without_rowid: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE '%WITHOUT ROWID' ORDER BY name")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(
            without_rowid,
            ["attachment_refs", "ix_conflicts", "ix_household_helpers", "ix_members", "ix_screenings", "ix_visits"]
        );
        let indexes = |conn: &Connection| -> Vec<String> {
            conn.prepare(
                "SELECT tbl_name || '.' || name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY 1",
            )
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
        };
        let mut v3 = Connection::open_in_memory().unwrap();
        migrate::run(&mut v3, &STEPS[..3], 3).unwrap();
        assert_eq!(indexes(&conn), indexes(&v3), "the same indexes as before");
    }

    #[test]
    fn refuses_a_newer_schema() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", VERSION + 1).unwrap();
        assert!(matches!(migrate(&mut conn), Err(Error::NewerSchema { .. })));
    }
}
