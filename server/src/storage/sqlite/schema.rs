//! The SQLite store's schema and its steps, migrated by `user_version`; and how each connection is opened.

use super::*;
use doorstep_core::store::migrate::Step;

/// The schema version this build writes.
pub(super) const VERSION: i64 = 16;

pub(super) const V1: &str = r#"
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
-- The last sequence handed out; one row. Changes and scope events share the sequence.
CREATE TABLE counter (id INTEGER PRIMARY KEY CHECK (id = 1), last_seq INTEGER NOT NULL);
INSERT INTO counter (id, last_seq) VALUES (1, 0);
CREATE TABLE users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    team TEXT,
    password_hash TEXT NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0,
    created_ms INTEGER NOT NULL
);
CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    user_name TEXT NOT NULL REFERENCES users (name),
    name TEXT NOT NULL,
    token_sha256 TEXT NOT NULL UNIQUE,
    revoked INTEGER NOT NULL DEFAULT 0,
    created_ms INTEGER NOT NULL,
    last_seen_ms INTEGER
);
CREATE TABLE actors (actor TEXT PRIMARY KEY, device_id TEXT NOT NULL, bound_ms INTEGER NOT NULL);
CREATE TABLE changes (
    seq INTEGER PRIMARY KEY,
    hash TEXT NOT NULL UNIQUE,
    doc_id TEXT NOT NULL,
    actor TEXT NOT NULL,
    device_id TEXT NOT NULL,
    received_ms INTEGER NOT NULL,
    bytes BLOB NOT NULL
);
CREATE INDEX changes_doc ON changes (doc_id, seq);
CREATE TABLE docs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    bytes BLOB NOT NULL,
    heads TEXT NOT NULL,
    first_seq INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    household_id TEXT,
    village TEXT NOT NULL,
    township TEXT NOT NULL,
    updated_ms INTEGER NOT NULL
);
CREATE INDEX docs_household ON docs (household_id);
CREATE INDEX docs_village ON docs (village);
CREATE INDEX docs_township ON docs (township);
CREATE INDEX docs_first_seq ON docs (first_seq);
CREATE TABLE assignments (
    helper TEXT NOT NULL,
    household_id TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    PRIMARY KEY (helper, household_id)
);
CREATE TABLE team_villages (team TEXT NOT NULL, village TEXT NOT NULL, PRIMARY KEY (team, village));
CREATE TABLE areas (
    user_name TEXT NOT NULL,
    level TEXT NOT NULL CHECK (level IN ('township', 'village')),
    name TEXT NOT NULL,
    PRIMARY KEY (user_name, level, name)
);
CREATE TABLE inspector_grants (
    user_name TEXT NOT NULL,
    village TEXT NOT NULL,
    until TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    PRIMARY KEY (user_name, village)
);
CREATE TABLE scope_events (
    seq INTEGER PRIMARY KEY,
    subject_kind TEXT NOT NULL CHECK (subject_kind IN ('user', 'team', 'anyone')),
    subject TEXT NOT NULL,
    target_kind TEXT NOT NULL CHECK (target_kind IN ('household', 'village', 'township')),
    target TEXT NOT NULL
);
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at_ms INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL
);
"#;

/// Attachments: what is recorded of each blob, and which live documents refer to which blob.
pub(super) const V2: &str = r#"
CREATE TABLE blobs (
    hash TEXT PRIMARY KEY,
    media_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    complete INTEGER NOT NULL DEFAULT 0,
    stored_ms INTEGER
);
CREATE TABLE blob_refs (
    hash TEXT NOT NULL,
    doc_id TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    PRIMARY KEY (hash, doc_id)
);
CREATE INDEX blob_refs_doc ON blob_refs (doc_id);
"#;

/// Scope losses: who lost which households, villages or townships, at which sequence (see `Storage::lost_docs`).
pub(super) const V3_SCOPE_LOSSES: &str = r#"
CREATE TABLE scope_losses (
    seq INTEGER PRIMARY KEY,
    subject_kind TEXT NOT NULL CHECK (subject_kind IN ('user', 'team')),
    subject TEXT NOT NULL,
    target_kind TEXT NOT NULL CHECK (target_kind IN ('household', 'village', 'township')),
    target TEXT NOT NULL
);
CREATE INDEX scope_losses_subject ON scope_losses (subject, seq);
"#;

/// Failed sign-ins per account and per address, shared by whoever opens the database (`auth::Limiter`).
pub(super) const V4_LOGIN_FAILURES: &str = r#"
CREATE TABLE login_failures (key TEXT PRIMARY KEY, count INTEGER NOT NULL, last_ms INTEGER NOT NULL);
"#;

/// The highest cursor each device sent (or the head when it signed in): see `Storage::raise_cursor_floor`.
pub(super) const V5_CURSOR_FLOOR: &str = r#"
ALTER TABLE devices ADD COLUMN cursor_floor INTEGER NOT NULL DEFAULT 0;
"#;

/// Browser sessions, shared by every server process on the database (`Storage::session_start`).
pub(super) const V6_SESSIONS: &str = r#"
CREATE TABLE sessions (
    digest TEXT PRIMARY KEY,
    user_name TEXT NOT NULL,
    csrf TEXT NOT NULL,
    created_ms INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_name);
CREATE INDEX sessions_created ON sessions (created_ms);
"#;

/// People as their colleagues know them: a display name and unit per account, a password an admin reset (to be
/// changed at the next sign-in), and the app version each device last reported.
pub(super) const V8_PROFILES: &str = r#"
ALTER TABLE users ADD COLUMN display_name TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN unit TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN app_version TEXT NOT NULL DEFAULT '';
"#;

/// Places as data: the townships and villages the server knows (`Storage::places`). Every place the existing
/// households, team villages, areas and inspector grants name becomes one, so nothing already assigned loses
/// its meaning.
pub(super) const V7_PLACES: &str = r#"
CREATE TABLE places (
    kind TEXT NOT NULL CHECK (kind IN ('township', 'village')),
    name TEXT NOT NULL,
    township TEXT NOT NULL DEFAULT '',
    origin TEXT NOT NULL CHECK (origin IN ('admin', 'migration', 'device')),
    created_ms INTEGER NOT NULL,
    PRIMARY KEY (kind, name)
);
CREATE INDEX places_township ON places (township);
INSERT OR IGNORE INTO places (kind, name, township, origin, created_ms)
    SELECT 'village', village, max(township), 'migration', CAST(strftime('%s', 'now') AS INTEGER) * 1000
    FROM docs WHERE kind = 'household' AND village <> '' GROUP BY village;
INSERT OR IGNORE INTO places (kind, name, township, origin, created_ms)
    SELECT 'township', township, '', 'migration', CAST(strftime('%s', 'now') AS INTEGER) * 1000
    FROM docs WHERE kind = 'household' AND township <> '' GROUP BY township;
INSERT OR IGNORE INTO places (kind, name, township, origin, created_ms)
    SELECT 'village', village, '', 'migration', CAST(strftime('%s', 'now') AS INTEGER) * 1000
    FROM (SELECT village FROM team_villages UNION SELECT village FROM inspector_grants
          UNION SELECT name FROM areas WHERE level = 'village')
    WHERE village <> '';
INSERT OR IGNORE INTO places (kind, name, township, origin, created_ms)
    SELECT 'township', name, '', 'migration', CAST(strftime('%s', 'now') AS INTEGER) * 1000
    FROM areas WHERE level = 'township' AND name <> '';
"#;

pub(super) fn connect(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // FULL: an acknowledged push survives power loss, not only a killed process.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    // Every pushed document runs the same few statements (and the core's index rows): keep them all prepared.
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

/// Schema 12 (see `sql::DOC_TIMES_FROM_CHANGES` and `sql::V12_PLACES_INDEX`). SQLite keeps a row's first
/// bytes on its table page and the rest on overflow pages, chained: a column written after a document's bytes was
/// reached only by reading the whole chain, so every scope check of a page read each document whole. The table is
/// rebuilt with the document's bytes and record last, its small columns first. Its township index carries every
/// column a report's scope check and document list read, so a township's report reads no document row at all.
const V12_DOCS: &str = "
CREATE TABLE docs_v12 (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    heads TEXT NOT NULL,
    first_seq INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    household_id TEXT,
    village TEXT NOT NULL,
    township TEXT NOT NULL,
    updated_ms INTEGER NOT NULL,
    created_ms INTEGER NOT NULL,
    bytes BLOB NOT NULL,
    record TEXT
);
INSERT INTO docs_v12 (id, kind, heads, first_seq, last_seq, household_id, village, township, updated_ms, created_ms,
    bytes, record)
    SELECT id, kind, heads, first_seq, last_seq, household_id, village, township, updated_ms, 0, bytes, record
    FROM docs;
DROP TABLE docs;
ALTER TABLE docs_v12 RENAME TO docs;
CREATE INDEX docs_household ON docs (household_id);
CREATE INDEX docs_village ON docs (village);
CREATE INDEX docs_first_seq ON docs (first_seq);
CREATE INDEX docs_last_seq ON docs (last_seq);
";

/// The steps from an empty database to `VERSION`.
const STEPS: &[Step] = &[
    Step { version: 1, sql: &[V1, INDEX_DDL] },
    Step { version: 2, sql: &[V2] },
    Step { version: 3, sql: &[V3_SCOPE_LOSSES] },
    Step { version: 4, sql: &[V4_LOGIN_FAILURES] },
    Step { version: 5, sql: &[V5_CURSOR_FLOOR] },
    Step { version: 6, sql: &[V6_SESSIONS] },
    Step { version: 7, sql: &[V7_PLACES] },
    Step { version: 8, sql: &[V8_PROFILES] },
    Step { version: 9, sql: &[crate::storage::sql::V9_RECORDS] },
    Step { version: 10, sql: &crate::storage::sql::V10_DOC_ORDER },
    Step { version: 11, sql: &crate::storage::sql::V11_TALLIES },
    Step {
        version: 12,
        sql: &[
            V12_DOCS,
            crate::storage::sql::DOCS_TOWNSHIP_INDEX,
            crate::storage::sql::DOC_TIMES_FROM_CHANGES,
            crate::storage::sql::V12_PLACES_INDEX,
        ],
    },
    Step { version: 13, sql: &crate::storage::sql::V13_ASSIGNMENTS_INDEX },
    Step { version: 14, sql: &crate::storage::sql::V14_DOCUMENT_FORMAT },
    Step { version: 15, sql: &crate::storage::sql::V15_PACKED_RECORDS_SQLITE },
    Step { version: 16, sql: &crate::storage::sql::V16_TOWNSHIP_BY_TIME },
];

/// Brings the database to `VERSION` (the core's runner: one transaction per step with its `user_version`),
/// refusing a database written by a newer server.
pub(super) fn migrate(conn: &mut Connection) -> Result<()> {
    doorstep_core::store::migrate::run(conn, STEPS, VERSION).map_err(|e| {
        e.into_error(|n| {
            StorageError::Internal(format!("database schema {} is newer than this server's {}", n.found, n.supported))
        })
    })
}
