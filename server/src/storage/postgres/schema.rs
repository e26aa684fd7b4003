//! The PostgreSQL schema and its migrations, tracked in a `schema_version` table.
//!
//! Tables and columns mirror the SQLite store's one for one (BYTEA for BLOB, BIGINT for sequences and times,
//! BOOLEAN for flags), so both stores answer the `Storage` trait the same way. The derived `ix_*` tables are the
//! core's own DDL (`INDEX_DDL`), which is plain SQL that PostgreSQL accepts as written.
//!
//! Several server processes may start at once against one database: each migration runs in one transaction under a
//! transaction-scoped advisory lock, so exactly one process migrates and the others then find the work done.

use super::{pg, Pg};
use crate::storage::{Result, StorageError};
use doorstep_core::store::migrate::{self, Database, Step};
use doorstep_core::store::schema::INDEX_DDL;

/// The schema version this build writes.
pub const VERSION: i64 = 16;

/// Advisory lock key serialising migrations ("doorstep" in ASCII).
const MIGRATION_LOCK: i64 = 0x646f_6f72_7374_6570;

const V1: &str = r#"
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
-- The last sequence handed out; one row. Changes and scope events share the sequence. Every writing transaction
-- locks this row first (see `lock_writers`), which serialises sequence assignment with commit order.
CREATE TABLE counter (id INTEGER PRIMARY KEY CHECK (id = 1), last_seq BIGINT NOT NULL);
INSERT INTO counter (id, last_seq) VALUES (1, 0);
CREATE TABLE users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    team TEXT,
    password_hash TEXT NOT NULL,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    created_ms BIGINT NOT NULL
);
CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    user_name TEXT NOT NULL REFERENCES users (name),
    name TEXT NOT NULL,
    token_sha256 TEXT NOT NULL UNIQUE,
    revoked BOOLEAN NOT NULL DEFAULT FALSE,
    created_ms BIGINT NOT NULL,
    last_seen_ms BIGINT
);
CREATE TABLE actors (actor TEXT PRIMARY KEY, device_id TEXT NOT NULL, bound_ms BIGINT NOT NULL);
CREATE TABLE changes (
    seq BIGINT PRIMARY KEY,
    hash TEXT NOT NULL UNIQUE,
    doc_id TEXT NOT NULL,
    actor TEXT NOT NULL,
    device_id TEXT NOT NULL,
    received_ms BIGINT NOT NULL,
    bytes BYTEA NOT NULL
);
CREATE INDEX changes_doc ON changes (doc_id, seq);
CREATE TABLE docs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    bytes BYTEA NOT NULL,
    heads TEXT NOT NULL,
    first_seq BIGINT NOT NULL,
    last_seq BIGINT NOT NULL,
    household_id TEXT,
    village TEXT NOT NULL,
    township TEXT NOT NULL,
    updated_ms BIGINT NOT NULL
);
CREATE INDEX docs_household ON docs (household_id);
CREATE INDEX docs_village ON docs (village);
CREATE INDEX docs_township ON docs (township);
CREATE INDEX docs_first_seq ON docs (first_seq);
CREATE TABLE assignments (
    helper TEXT NOT NULL,
    household_id TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
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
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (user_name, village)
);
CREATE TABLE scope_events (
    seq BIGINT PRIMARY KEY,
    subject_kind TEXT NOT NULL CHECK (subject_kind IN ('user', 'team', 'anyone')),
    subject TEXT NOT NULL,
    target_kind TEXT NOT NULL CHECK (target_kind IN ('household', 'village', 'township')),
    target TEXT NOT NULL
);
CREATE TABLE audit_log (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at_ms BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL
);
"#;

/// Attachments: what is recorded of each blob, and which live documents refer to which blob.
const V2: &str = r#"
CREATE TABLE blobs (
    hash TEXT PRIMARY KEY,
    media_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    complete BOOLEAN NOT NULL DEFAULT FALSE,
    stored_ms BIGINT
);
CREATE TABLE blob_refs (
    hash TEXT NOT NULL,
    doc_id TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    PRIMARY KEY (hash, doc_id)
);
CREATE INDEX blob_refs_doc ON blob_refs (doc_id);
"#;

/// Scope losses: who lost which households, villages or townships, at which sequence (as in the SQLite store).
const V3_SCOPE_LOSSES: &str = r#"
CREATE TABLE scope_losses (
    seq BIGINT PRIMARY KEY,
    subject_kind TEXT NOT NULL CHECK (subject_kind IN ('user', 'team')),
    subject TEXT NOT NULL,
    target_kind TEXT NOT NULL CHECK (target_kind IN ('household', 'village', 'township')),
    target TEXT NOT NULL
);
CREATE INDEX scope_losses_subject ON scope_losses (subject, seq);
"#;

/// Failed sign-ins per account and per address, shared by every server process (`auth::Limiter`).
const V4_LOGIN_FAILURES: &str = r#"
CREATE TABLE login_failures (key TEXT PRIMARY KEY, count INTEGER NOT NULL, last_ms BIGINT NOT NULL);
"#;

/// The highest cursor each device sent (or the head when it signed in): see `Storage::raise_cursor_floor`.
const V5_CURSOR_FLOOR: &str = r#"
ALTER TABLE devices ADD COLUMN cursor_floor BIGINT NOT NULL DEFAULT 0;
"#;

/// Browser sessions, shared by every server process on the database (`Storage::session_start`).
const V6_SESSIONS: &str = r#"
CREATE TABLE sessions (
    digest TEXT PRIMARY KEY,
    user_name TEXT NOT NULL,
    csrf TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_name);
CREATE INDEX sessions_created ON sessions (created_ms);
"#;

/// Places as data: the townships and villages the server knows (as in the SQLite store). Every place the existing
/// households, team villages, areas and inspector grants name becomes one, so nothing already assigned loses its
/// meaning.
const V7_PLACES: &str = r#"
CREATE TABLE places (
    kind TEXT NOT NULL CHECK (kind IN ('township', 'village')),
    name TEXT NOT NULL,
    township TEXT NOT NULL DEFAULT '',
    origin TEXT NOT NULL CHECK (origin IN ('admin', 'migration', 'device')),
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (kind, name)
);
CREATE INDEX places_township ON places (township);
INSERT INTO places (kind, name, township, origin, created_ms)
    SELECT 'village', village, max(township), 'migration', (extract(epoch FROM now()) * 1000)::BIGINT
    FROM docs WHERE kind = 'household' AND village <> '' GROUP BY village
    ON CONFLICT DO NOTHING;
INSERT INTO places (kind, name, township, origin, created_ms)
    SELECT 'township', township, '', 'migration', (extract(epoch FROM now()) * 1000)::BIGINT
    FROM docs WHERE kind = 'household' AND township <> '' GROUP BY township
    ON CONFLICT DO NOTHING;
INSERT INTO places (kind, name, township, origin, created_ms)
    SELECT 'village', village, '', 'migration', (extract(epoch FROM now()) * 1000)::BIGINT
    FROM (SELECT village FROM team_villages UNION SELECT village FROM inspector_grants
          UNION SELECT name FROM areas WHERE level = 'village') named
    WHERE village <> ''
    ON CONFLICT DO NOTHING;
INSERT INTO places (kind, name, township, origin, created_ms)
    SELECT DISTINCT 'township', name, '', 'migration', (extract(epoch FROM now()) * 1000)::BIGINT
    FROM areas WHERE level = 'township' AND name <> ''
    ON CONFLICT DO NOTHING;
"#;

/// People as their colleagues know them (as in the SQLite store).
const V8_PROFILES: &str = r#"
ALTER TABLE users ADD COLUMN display_name TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN unit TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN must_change_password BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE devices ADD COLUMN app_version TEXT NOT NULL DEFAULT '';
"#;

/// The steps from an empty database to [`VERSION`].
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
            "ALTER TABLE docs ADD COLUMN created_ms BIGINT NOT NULL DEFAULT 0",
            crate::storage::sql::DOC_TIMES_FROM_CHANGES,
            "DROP INDEX docs_kind_place",
            crate::storage::sql::V12_PLACES_INDEX,
        ],
    },
    Step {
        version: 13,
        sql: &[
            crate::storage::sql::V13_ASSIGNMENTS_INDEX[0],
            crate::storage::sql::V13_ASSIGNMENTS_INDEX[1],
            "DROP INDEX docs_township",
            crate::storage::sql::DOCS_TOWNSHIP_INDEX,
        ],
    },
    Step { version: 14, sql: &crate::storage::sql::V14_DOCUMENT_FORMAT },
    Step { version: 15, sql: &crate::storage::sql::V15_PACKED_RECORDS_PG },
    Step { version: 16, sql: &crate::storage::sql::V16_TOWNSHIP_BY_TIME },
];

/// The migration transaction as the core's runner sees it: the version lives in the `schema_version` table, and
/// every step joins this one transaction (the default `apply`), so all of them commit together or not at all.
struct SchemaVersion<'a, 'b>(&'a mut pg::Transaction<'b>);

impl Database for SchemaVersion<'_, '_> {
    type Error = StorageError;

    fn version(&mut self) -> Result<i64> {
        let found: i32 = self.0.query_one("SELECT coalesce(max(version), 0) FROM schema_version", &[]).pg()?.get(0);
        Ok(found.into())
    }

    fn run_batch(&mut self, sql: &str) -> Result<()> {
        self.0.batch_execute(sql).pg()
    }

    fn record_version(&mut self, version: i64) -> Result<()> {
        // The column is INTEGER: the driver binds an i32 to it.
        let version = i32::try_from(version)
            .map_err(|_| StorageError::Internal(format!("schema version {version} does not fit the column")))?;
        self.0.execute("DELETE FROM schema_version", &[]).pg()?;
        self.0.execute("INSERT INTO schema_version (version) VALUES ($1)", &[&version]).pg()?;
        Ok(())
    }
}

/// Brings the database (the first schema on the connection's `search_path`) to [`VERSION`], refusing a database
/// written by a newer server. The core's runner applies the steps, all in one transaction under the advisory lock.
pub fn migrate(client: &mut pg::Client) -> Result<()> {
    let mut tx = client.transaction().pg()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).pg()?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)").pg()?;
    migrate::run(&mut SchemaVersion(&mut tx), STEPS, VERSION).map_err(|e| {
        e.into_error(|n| {
            StorageError::Internal(format!("database schema {} is newer than this server's {}", n.found, n.supported))
        })
    })?;
    tx.commit().pg()?;
    Ok(())
}
