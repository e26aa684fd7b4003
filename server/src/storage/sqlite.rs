//! The embedded SQLite store: one file `doorstep.db` in the data directory, WAL, `synchronous = FULL`.
//!
//! One writer connection behind a mutex (SQLite has one writer anyway), so sequences are handed out and committed
//! in the same order and a reader never sees sequence N+1 without N. A few reader connections serve pulls and pages
//! concurrently from WAL snapshots.

use super::*;
use doorstep_core::store::{index, schema::INDEX_DDL};
use rusqlite::{params, Connection, ErrorCode, OptionalExtension, Transaction, TransactionBehavior};
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

/// The schema version this build writes.
const VERSION: i64 = 8;

const V1: &str = r#"
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
const V2: &str = r#"
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
const V3_SCOPE_LOSSES: &str = r#"
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
const V4_LOGIN_FAILURES: &str = r#"
CREATE TABLE login_failures (key TEXT PRIMARY KEY, count INTEGER NOT NULL, last_ms INTEGER NOT NULL);
"#;

/// The highest cursor each device sent (or the head when it signed in): see `Storage::raise_cursor_floor`.
const V5_CURSOR_FLOOR: &str = r#"
ALTER TABLE devices ADD COLUMN cursor_floor INTEGER NOT NULL DEFAULT 0;
"#;

/// Browser sessions, shared by every server process on the database (`Storage::session_start`).
const V6_SESSIONS: &str = r#"
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
const V8_PROFILES: &str = r#"
ALTER TABLE users ADD COLUMN display_name TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN unit TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN app_version TEXT NOT NULL DEFAULT '';
"#;

/// Places as data: the townships and villages the server knows (`Storage::places`). Every place the existing
/// households, team villages, areas and inspector grants name becomes one, so nothing already assigned loses
/// its meaning.
const V7_PLACES: &str = r#"
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

/// How many read connections serve pulls and pages next to the writer.
const READERS: usize = 4;

/// The SQLite implementation of [`Storage`].
pub struct SqliteStorage {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
}

impl SqliteStorage {
    /// One `UPDATE users … WHERE name = ?1` in its own transaction; `NotFound` when no account has that name.
    fn update_user(&self, name: &str, sql: &str, values: &[&dyn rusqlite::ToSql]) -> Result<()> {
        self.tx(|tx| {
            if tx.execute(sql, values)? == 0 {
                return Err(StorageError::NotFound(format!("user {name}")));
            }
            Ok(())
        })
    }

    /// Opens (creating and migrating if needed) the store in `dir`.
    pub fn open(dir: &Path) -> Result<Self> {
        if !dir.exists() {
            std::fs::create_dir_all(dir).map_err(|e| StorageError::Unavailable(format!("{}: {e}", dir.display())))?;
            // Password hashes and health records: readable by the server's account only.
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
            }
        }
        let path = dir.join("doorstep.db");
        let mut writer = connect(&path)?;
        migrate(&mut writer)?;
        let readers = (0..READERS).map(|_| connect(&path).map(Mutex::new)).collect::<Result<Vec<_>>>()?;
        Ok(Self { writer: Mutex::new(writer), readers })
    }

    fn with_writer<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        let mut conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut conn)
    }

    fn with_reader<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        for r in &self.readers {
            if let Ok(conn) = r.try_lock() {
                return f(&conn);
            }
        }
        let conn = self.readers[0].lock().unwrap_or_else(|p| p.into_inner());
        f(&conn)
    }

    /// Runs `f` in an immediate transaction on the writer and commits it.
    fn tx<T>(&self, f: impl FnOnce(&Transaction) -> Result<T>) -> Result<T> {
        self.with_writer(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let out = f(&tx)?;
            tx.commit()?;
            Ok(out)
        })
    }
}

fn connect(path: &Path) -> Result<Connection> {
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

fn migrate(conn: &mut Connection) -> Result<()> {
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > VERSION {
        return Err(StorageError::Internal(format!("database schema {found} is newer than this server's {VERSION}")));
    }
    let steps: &[(i64, &[&str])] = &[
        (1, &[V1, INDEX_DDL]),
        (2, &[V2]),
        (3, &[V3_SCOPE_LOSSES]),
        (4, &[V4_LOGIN_FAILURES]),
        (5, &[V5_CURSOR_FLOOR]),
        (6, &[V6_SESSIONS]),
        (7, &[V7_PLACES]),
        (8, &[V8_PROFILES]),
    ];
    for (version, sqls) in steps.iter().filter(|(v, _)| *v > found) {
        let tx = conn.transaction()?;
        for sql in *sqls {
            tx.execute_batch(sql)?;
        }
        tx.pragma_update(None, "user_version", version)?;
        tx.commit()?;
    }
    Ok(())
}

impl From<rusqlite::Error> for StorageError {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(
                ErrorCode::DatabaseBusy
                | ErrorCode::DatabaseLocked
                | ErrorCode::DiskFull
                | ErrorCode::ReadOnly
                | ErrorCode::CannotOpen
                | ErrorCode::SystemIoFailure
                | ErrorCode::OutOfMemory,
            ) => StorageError::Unavailable(e.to_string()),
            Some(ErrorCode::ConstraintViolation) => StorageError::Exists(e.to_string()),
            _ => StorageError::Internal(e.to_string()),
        }
    }
}

impl From<doorstep_core::Error> for StorageError {
    fn from(e: doorstep_core::Error) -> Self {
        match e {
            doorstep_core::Error::Storage(e) => e.into(),
            doorstep_core::Error::Io(e) => StorageError::Unavailable(e.to_string()),
            other => StorageError::Refused(Refusal::BadChange(other.to_string())),
        }
    }
}

fn role_of(code: &str) -> Role {
    Role::parse(code).unwrap_or(Role::Helper)
}

fn user_row(r: &rusqlite::Row) -> rusqlite::Result<User> {
    user_at(r, 0)
}

/// A user from columns `USER_COLS` starting at `at`.
fn user_at(r: &rusqlite::Row, at: usize) -> rusqlite::Result<User> {
    Ok(User {
        name: r.get(at)?,
        role: role_of(&r.get::<_, String>(at + 1)?),
        team: r.get(at + 2)?,
        password_hash: r.get(at + 3)?,
        disabled: r.get(at + 4)?,
        created_ms: r.get(at + 5)?,
        display_name: r.get(at + 6)?,
        unit: r.get(at + 7)?,
        must_change_password: r.get(at + 8)?,
    })
}

const USER_COLS: &str =
    "name, role, team, password_hash, disabled, created_ms, display_name, unit, must_change_password";
const DEVICE_COLS: &str = "id, user_name, name, revoked, created_ms, last_seen_ms, app_version";

fn device_row(r: &rusqlite::Row) -> rusqlite::Result<Device> {
    Ok(Device {
        id: r.get(0)?,
        user: r.get(1)?,
        name: r.get(2)?,
        revoked: r.get(3)?,
        created_ms: r.get(4)?,
        last_seen_ms: r.get(5)?,
        app_version: r.get(6)?,
    })
}

const DOC_COLS: &str = "id, kind, bytes, heads, first_seq, last_seq, household_id, village, township, updated_ms";

fn doc_row(r: &rusqlite::Row) -> rusqlite::Result<StoredDoc> {
    let kind: String = r.get(1)?;
    let heads: String = r.get(3)?;
    Ok(StoredDoc {
        id: r.get(0)?,
        kind: DocKind::parse(&kind).unwrap_or_default(),
        bytes: r.get(2)?,
        heads: heads.split(',').filter(|h| !h.is_empty()).map(String::from).collect(),
        first_seq: r.get::<_, i64>(4)? as u64,
        last_seq: r.get::<_, i64>(5)? as u64,
        placement: Placement { household_id: r.get(6)?, village: r.get(7)?, township: r.get(8)? },
        updated_ms: r.get(9)?,
    })
}

fn load_doc(conn: &Connection, id: &str) -> Result<Option<StoredDoc>> {
    Ok(conn
        .prepare_cached(&format!("SELECT {DOC_COLS} FROM docs WHERE id = ?1"))?
        .query_row([id], doc_row)
        .optional()?)
}

fn next_seq(tx: &Connection) -> Result<u64> {
    let seq: i64 = tx
        .prepare_cached("UPDATE counter SET last_seq = last_seq + 1 WHERE id = 1 RETURNING last_seq")?
        .query_row([], |r| r.get(0))?;
    Ok(seq as u64)
}

fn insert_event(tx: &Connection, event: &ScopeEvent) -> Result<u64> {
    let seq = next_seq(tx)?;
    let (sk, s) = match &event.subject {
        Subject::User(u) => ("user", u.as_str()),
        Subject::Team(t) => ("team", t.as_str()),
        Subject::Anyone => ("anyone", ""),
    };
    let (tk, t) = match &event.target {
        Target::Household(h) => ("household", h.as_str()),
        Target::Village(v) => ("village", v.as_str()),
        Target::Township(t) => ("township", t.as_str()),
    };
    tx.execute(
        "INSERT INTO scope_events (seq, subject_kind, subject, target_kind, target) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![seq as i64, sk, s, tk, t],
    )?;
    Ok(seq)
}

fn add_assignment(tx: &Connection, helper: &str, household_id: &str) -> Result<bool> {
    let n = tx.execute(
        "INSERT OR IGNORE INTO assignments (helper, household_id, created_ms) VALUES (?1, ?2, ?3)",
        params![helper, household_id, now_ms()],
    )?;
    Ok(n > 0)
}

fn require_user(tx: &Connection, name: &str) -> Result<()> {
    let found: Option<String> =
        tx.query_row("SELECT name FROM users WHERE name = ?1", [name], |r| r.get(0)).optional()?;
    found.map(|_| ()).ok_or_else(|| StorageError::NotFound(format!("user {name}")))
}

/// The visibility filter over `docs d`, with its parameters as JSON arrays (`json_each` keeps it one statement).
fn visible_sql(v: &Visibility) -> (String, [String; 3]) {
    let json = |s: &BTreeSet<String>| serde_json::to_string(s).unwrap_or_else(|_| "[]".into());
    let sql = if v.all {
        "1".to_string()
    } else {
        format!(
            "(d.id = '{}' OR d.household_id IN (SELECT value FROM json_each(:households))
              OR d.village IN (SELECT value FROM json_each(:villages))
              OR d.township IN (SELECT value FROM json_each(:townships)))",
            doorstep_core::model::SCHEDULE_RULES_ID
        )
    };
    (sql, [json(&v.households), json(&v.villages), json(&v.townships)])
}

struct SqliteTx<'a> {
    tx: &'a Transaction<'a>,
}

impl WriteTx for SqliteTx<'_> {
    fn doc(&mut self, id: &str) -> Result<Option<StoredDoc>> {
        load_doc(self.tx, id)
    }

    fn change_exists(&mut self, hash: &str) -> Result<bool> {
        let mut stmt = self.tx.prepare_cached("SELECT 1 FROM changes WHERE hash = ?1")?;
        Ok(stmt.query_row([hash], |_| Ok(())).optional()?.is_some())
    }

    fn actor_device(&mut self, actor: &str) -> Result<Option<String>> {
        Ok(self.tx.query_row("SELECT device_id FROM actors WHERE actor = ?1", [actor], |r| r.get(0)).optional()?)
    }

    fn bind_actor(&mut self, actor: &str, device_id: &str, now_ms: i64) -> Result<()> {
        self.tx.execute(
            "INSERT INTO actors (actor, device_id, bound_ms) VALUES (?1, ?2, ?3)",
            params![actor, device_id, now_ms],
        )?;
        Ok(())
    }

    fn actor_owner(&mut self, actor: &str) -> Result<Option<ActorOwner>> {
        Ok(self
            .tx
            .query_row(
                "SELECT a.device_id, COALESCE(d.user_name, ''), COALESCE(d.revoked, 0) FROM actors a
                 LEFT JOIN devices d ON d.id = a.device_id WHERE a.actor = ?1",
                [actor],
                |r| Ok(ActorOwner { device_id: r.get(0)?, user: r.get(1)?, revoked: r.get(2)? }),
            )
            .optional()?)
    }

    fn rebind_actor(&mut self, actor: &str, device_id: &str, now_ms: i64) -> Result<()> {
        self.tx.execute(
            "UPDATE actors SET device_id = ?2, bound_ms = ?3 WHERE actor = ?1",
            params![actor, device_id, now_ms],
        )?;
        Ok(())
    }

    fn next_seq(&mut self) -> Result<u64> {
        next_seq(self.tx)
    }

    fn raise_cursor_floor(&mut self, device_id: &str, cursor: u64) -> Result<u64> {
        let cursor = cursor.min(i64::MAX as u64) as i64;
        self.tx
            .prepare_cached(
                "UPDATE devices SET cursor_floor = min(?2, (SELECT last_seq FROM counter WHERE id = 1))
                 WHERE id = ?1 AND cursor_floor < min(?2, (SELECT last_seq FROM counter WHERE id = 1))",
            )?
            .execute(params![device_id, cursor])?;
        let floor: Option<i64> = self
            .tx
            .prepare_cached("SELECT cursor_floor FROM devices WHERE id = ?1")?
            .query_row([device_id], |r| r.get(0))
            .optional()?;
        Ok(floor.map_or(cursor, |f| f.max(0)) as u64)
    }

    fn insert_change(&mut self, c: &NewChange) -> Result<()> {
        self.tx.prepare_cached(
            "INSERT INTO changes (seq, hash, doc_id, actor, device_id, received_ms, bytes) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?.execute(
            params![c.seq as i64, c.hash, c.doc_id, c.actor, c.device_id, c.received_ms, c.bytes],
        )?;
        Ok(())
    }

    fn save_doc(&mut self, d: &StoredDoc, document: &mut Document) -> Result<()> {
        self.tx.prepare_cached(
            "INSERT INTO docs (id, kind, bytes, heads, first_seq, last_seq, household_id, village, township, updated_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
             ON CONFLICT (id) DO UPDATE SET bytes = excluded.bytes, heads = excluded.heads, last_seq = excluded.last_seq,
                household_id = excluded.household_id, village = excluded.village, township = excluded.township,
                updated_ms = excluded.updated_ms",
        )?.execute(
            params![
                d.id,
                d.kind.code(),
                d.bytes,
                d.heads.join(","),
                d.first_seq as i64,
                d.last_seq as i64,
                d.placement.household_id,
                d.placement.village,
                d.placement.township,
                d.updated_ms
            ],
        )?;
        index::reindex(self.tx, &d.id, d.kind, document)?;
        if d.kind == DocKind::Household {
            // A household in a place nobody added is kept; its place is listed for the admin to confirm or rename.
            let p = &d.placement;
            if !p.village.is_empty() {
                self.tx.prepare_cached(DEVICE_PLACE)?.execute(params![
                    "village",
                    p.village,
                    p.township,
                    d.updated_ms
                ])?;
            }
            if !p.township.is_empty() {
                self.tx.prepare_cached(DEVICE_PLACE)?.execute(params!["township", p.township, "", d.updated_ms])?;
            }
        }
        Ok(())
    }

    fn move_dependents(&mut self, household_id: &str, p: &Placement) -> Result<()> {
        self.tx.execute(
            "UPDATE docs SET village = ?2, township = ?3 WHERE household_id = ?1",
            params![household_id, p.village, p.township],
        )?;
        Ok(())
    }

    fn add_assignment(&mut self, helper: &str, household_id: &str) -> Result<bool> {
        add_assignment(self.tx, helper, household_id)
    }

    fn scope_event(&mut self, event: &ScopeEvent) -> Result<u64> {
        insert_event(self.tx, event)
    }

    fn lost_after(&mut self, user: &str, team: Option<&str>, cursor: u64, p: &Placement) -> Result<bool> {
        lost_after(self.tx, user, team, cursor, p)
    }

    fn record_move_loss(&mut self, household_id: &str, old: &Placement) -> Result<()> {
        let holders: Vec<(String, String)> = {
            let mut stmt = self.tx.prepare(MOVE_HOLDERS)?;
            let rows = stmt.query_map(params![old.village, old.township], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        for (kind, subject) in holders {
            insert_loss_of(self.tx, &kind, &subject, "household", household_id)?;
        }
        Ok(())
    }

    fn set_blob_refs(&mut self, doc_id: &str, refs: &[BlobRef]) -> Result<()> {
        self.tx.prepare_cached("DELETE FROM blob_refs WHERE doc_id = ?1")?.execute([doc_id])?;
        for r in refs {
            self.tx.execute(
                "INSERT OR REPLACE INTO blob_refs (hash, doc_id, media_type, size) VALUES (?1, ?2, ?3, ?4)",
                params![r.hash, doc_id, r.media_type, r.size as i64],
            )?;
            self.tx.execute(
                "INSERT OR IGNORE INTO blobs (hash, media_type, size, complete) VALUES (?1, ?2, ?3, 0)",
                params![r.hash, r.media_type, r.size as i64],
            )?;
        }
        Ok(())
    }
}

impl Storage for SqliteStorage {
    fn add_user(&self, u: &User) -> Result<()> {
        self.tx(|tx| {
            let n = tx.execute(
                "INSERT OR IGNORE INTO users (name, role, team, password_hash, disabled, created_ms, display_name, unit,
                    must_change_password) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    u.name,
                    u.role.code(),
                    u.team,
                    u.password_hash,
                    u.disabled,
                    u.created_ms,
                    u.display_name,
                    u.unit,
                    u.must_change_password
                ],
            )?;
            if n == 0 {
                return Err(StorageError::Exists(format!("user {}", u.name)));
            }
            Ok(())
        })
    }

    fn user(&self, name: &str) -> Result<Option<User>> {
        self.with_reader(|c| {
            Ok(c.query_row(&format!("SELECT {USER_COLS} FROM users WHERE name = ?1"), [name], user_row).optional()?)
        })
    }

    fn users(&self) -> Result<Vec<User>> {
        self.with_reader(|c| {
            let mut stmt = c.prepare(&format!("SELECT {USER_COLS} FROM users ORDER BY name"))?;
            let rows = stmt.query_map([], user_row)?.collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
    }

    fn set_disabled(&self, name: &str, disabled: bool) -> Result<()> {
        self.tx(|tx| {
            let n = tx.execute("UPDATE users SET disabled = ?2 WHERE name = ?1", params![name, disabled])?;
            if n == 0 {
                return Err(StorageError::NotFound(format!("user {name}")));
            }
            Ok(())
        })
    }

    fn set_profile(&self, name: &str, display_name: &str, unit: &str) -> Result<()> {
        self.update_user(
            name,
            "UPDATE users SET display_name = ?2, unit = ?3 WHERE name = ?1",
            params![name, display_name, unit],
        )
    }

    fn set_password(&self, name: &str, password_hash: &str, must_change: bool) -> Result<()> {
        let sql = "UPDATE users SET password_hash = ?2, must_change_password = ?3 WHERE name = ?1";
        self.update_user(name, sql, params![name, password_hash, must_change])
    }

    fn add_device(&self, d: &Device, token_sha256: &str) -> Result<()> {
        self.tx(|tx| {
            tx.execute(
                "INSERT INTO devices (id, user_name, name, token_sha256, revoked, created_ms, last_seen_ms, cursor_floor,
                    app_version)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, (SELECT last_seq FROM counter WHERE id = 1), ?8)",
                params![d.id, d.user, d.name, token_sha256, d.revoked, d.created_ms, d.last_seen_ms, d.app_version],
            )?;
            Ok(())
        })
    }

    fn device_by_token(&self, token_sha256: &str) -> Result<Option<(Device, User)>> {
        self.with_reader(|c| {
            let cols = DEVICE_COLS.split(", ").map(|x| format!("d.{x}")).collect::<Vec<_>>().join(", ");
            let ucols = USER_COLS.split(", ").map(|x| format!("u.{x}")).collect::<Vec<_>>().join(", ");
            Ok(c.query_row(
                &format!(
                    "SELECT {cols}, {ucols} FROM devices d JOIN users u ON u.name = d.user_name WHERE d.token_sha256 = ?1"
                ),
                [token_sha256],
                |r| Ok((device_row(r)?, user_at(r, 7)?)),
            )
            .optional()?)
        })
    }

    fn devices(&self) -> Result<Vec<Device>> {
        self.with_reader(|c| {
            let mut stmt = c.prepare(&format!("SELECT {DEVICE_COLS} FROM devices ORDER BY user_name, created_ms"))?;
            let rows = stmt.query_map([], device_row)?.collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
    }

    fn revoke_device(&self, id: &str) -> Result<()> {
        self.tx(|tx| {
            let n = tx.execute("UPDATE devices SET revoked = 1 WHERE id = ?1", [id])?;
            if n == 0 {
                return Err(StorageError::NotFound(format!("device {id}")));
            }
            Ok(())
        })
    }

    fn touch_device(&self, id: &str, now_ms: i64, app_version: &str) -> Result<()> {
        self.tx(|tx| {
            tx.execute(
                "UPDATE devices SET last_seen_ms = ?2, app_version = ?3 WHERE id = ?1",
                params![id, now_ms, app_version],
            )?;
            Ok(())
        })
    }

    fn unassign_helper(&self, helper: &str, household_ids: &[String]) -> Result<()> {
        self.tx(|tx| {
            require_user(tx, helper)?;
            for h in household_ids {
                let n =
                    tx.execute("DELETE FROM assignments WHERE helper = ?1 AND household_id = ?2", params![helper, h])?;
                if n > 0 {
                    insert_loss(tx, helper, h)?;
                }
            }
            Ok(())
        })
    }

    fn lost_docs(&self, q: &PullQuery, up_to: u64) -> Result<Vec<(String, Placement)>> {
        self.with_reader(|c| lost_docs(c, q, up_to))
    }

    fn unassign_team(&self, team: &str, villages: &[String]) -> Result<()> {
        self.tx(|tx| {
            for v in villages {
                let n = tx.execute("DELETE FROM team_villages WHERE team = ?1 AND village = ?2", params![team, v])?;
                if n > 0 {
                    insert_loss_of(tx, "team", team, "village", v)?;
                }
            }
            Ok(())
        })
    }

    fn unassign_area(&self, user: &str, areas: &[Area]) -> Result<()> {
        self.tx(|tx| {
            require_user(tx, user)?;
            for a in areas {
                let (level, name) = super::area_level(a);
                let n = tx.execute(
                    "DELETE FROM areas WHERE user_name = ?1 AND level = ?2 AND name = ?3",
                    params![user, level, name],
                )?;
                if n > 0 {
                    insert_loss_of(tx, "user", user, level, name)?;
                }
            }
            Ok(())
        })
    }

    fn record_ended_grants(&self, user: &str, today: &str) -> Result<u64> {
        let sql = ENDED_GRANTS;
        let ended: Vec<String> = self.with_reader(|c| {
            let mut stmt = c.prepare(sql)?;
            let rows = stmt.query_map(params![user, today], |r| r.get(0))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })?;
        if ended.is_empty() {
            return Ok(0);
        }
        self.tx(|tx| {
            // Read again under the writer lock: another request may have recorded them meanwhile.
            let mut stmt = tx.prepare(sql)?;
            let ended: Vec<String> =
                stmt.query_map(params![user, today], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
            for v in &ended {
                insert_loss_of(tx, "user", user, "village", v)?;
            }
            Ok(ended.len() as u64)
        })
    }

    fn login_failures(&self, keys: &[String]) -> Result<Vec<(String, u32, i64)>> {
        self.with_reader(|c| {
            let mut stmt = c.prepare("SELECT key, count, last_ms FROM login_failures WHERE key = ?1")?;
            let mut out = Vec::new();
            for k in keys {
                if let Some(row) = stmt.query_row([k], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).optional()? {
                    out.push(row);
                }
            }
            Ok(out)
        })
    }

    fn login_failed(&self, keys: &[String], now_ms: i64, forgive_ms: i64) -> Result<()> {
        self.tx(|tx| {
            for k in keys {
                tx.execute(
                    "INSERT INTO login_failures (key, count, last_ms) VALUES (?1, 1, ?2)
                     ON CONFLICT (key) DO UPDATE SET
                         count = CASE WHEN ?2 - last_ms > ?3 THEN 1 ELSE count + 1 END, last_ms = ?2",
                    params![k, now_ms, forgive_ms],
                )?;
            }
            // Old entries go, so the table stays small.
            tx.execute("DELETE FROM login_failures WHERE ?1 - last_ms > ?2", params![now_ms, forgive_ms])?;
            Ok(())
        })
    }

    fn login_succeeded(&self, key: &str) -> Result<()> {
        self.tx(|tx| {
            tx.execute("DELETE FROM login_failures WHERE key = ?1", [key])?;
            Ok(())
        })
    }

    fn session_start(&self, digest: &str, user: &str, csrf: &str, now_ms: i64, expired_before_ms: i64) -> Result<()> {
        self.tx(|tx| {
            tx.execute("DELETE FROM sessions WHERE created_ms < ?1", [expired_before_ms])?;
            tx.execute(
                "INSERT INTO sessions (digest, user_name, csrf, created_ms) VALUES (?1, ?2, ?3, ?4)",
                params![digest, user, csrf, now_ms],
            )?;
            Ok(())
        })
    }

    fn session(&self, digest: &str) -> Result<Option<(String, String, i64)>> {
        self.with_reader(|c| {
            Ok(c.prepare_cached("SELECT user_name, csrf, created_ms FROM sessions WHERE digest = ?1")?
                .query_row([digest], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .optional()?)
        })
    }

    fn session_end(&self, digest: &str) -> Result<()> {
        self.tx(|tx| {
            tx.execute("DELETE FROM sessions WHERE digest = ?1", [digest])?;
            Ok(())
        })
    }

    fn places(&self) -> Result<Vec<Place>> {
        self.with_reader(|c| {
            let mut stmt = c.prepare(PLACES)?;
            let rows = stmt.query_map([], place_row)?.collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
    }

    fn add_place(&self, p: &Place) -> Result<bool> {
        self.tx(|tx| {
            let found: Option<String> = tx
                .query_row("SELECT origin FROM places WHERE kind = ?1 AND name = ?2", params![p.kind.code(), p.name], |r| {
                    r.get(0)
                })
                .optional()?;
            match found.as_deref().map(PlaceOrigin::parse) {
                Some(PlaceOrigin::Device) => {
                    tx.execute(
                        "UPDATE places SET origin = 'admin', township = CASE WHEN ?3 = '' THEN township ELSE ?3 END
                         WHERE kind = ?1 AND name = ?2",
                        params![p.kind.code(), p.name, p.township],
                    )?;
                    Ok(false)
                }
                Some(_) => Err(StorageError::Exists(format!("{} {}", p.kind.code(), p.name))),
                None => {
                    tx.execute(
                        "INSERT INTO places (kind, name, township, origin, created_ms) VALUES (?1, ?2, ?3, 'admin', ?4)",
                        params![p.kind.code(), p.name, p.township, p.created_ms],
                    )?;
                    Ok(true)
                }
            }
        })
    }

    fn rename_place(&self, kind: PlaceKind, old: &str, new: &str) -> Result<()> {
        self.tx(|tx| {
            let origin = |name: &str| -> Result<Option<PlaceOrigin>> {
                let sql = "SELECT origin FROM places WHERE kind = ?1 AND name = ?2";
                let found: Option<String> = tx.query_row(sql, params![kind.code(), name], |r| r.get(0)).optional()?;
                Ok(found.as_deref().map(PlaceOrigin::parse))
            };
            let Some(old_origin) = origin(old)? else {
                return Err(StorageError::NotFound(format!("{} {old}", kind.code())));
            };
            match (origin(new)?, old_origin) {
                // A name a device reported, renamed onto a known place: its households and assignments join it.
                (Some(_), PlaceOrigin::Device) => {
                    tx.execute("DELETE FROM places WHERE kind = ?1 AND name = ?2", params![kind.code(), old])?;
                }
                (Some(_), _) => return Err(StorageError::Exists(format!("{} {new}", kind.code()))),
                (None, _) => {
                    let sql = "UPDATE places SET name = ?3 WHERE kind = ?1 AND name = ?2";
                    tx.execute(sql, params![kind.code(), old, new])?;
                }
            }
            for sql in rename_sql(kind) {
                match sql.contains("?2") {
                    true => tx.execute(sql, params![old, new])?,
                    false => tx.execute(sql, params![old])?,
                };
            }
            Ok(())
        })
    }

    fn find_households(&self, f: &HouseholdFilter) -> Result<Vec<HouseholdSummary>> {
        self.with_reader(|c| {
            let text = |o: &Option<String>| o.clone().unwrap_or_default();
            let name = f.name.as_deref().unwrap_or_default().to_lowercase();
            let mut stmt = c.prepare_cached(
                "SELECT doc_id, number, township, village, head_name, status FROM ix_households
                 WHERE deleted = 0 AND (?1 = '' OR doc_id = ?1) AND (?2 = '' OR village = ?2)
                   AND (?3 = '' OR township = ?3) AND (?4 = '' OR substr(number, 1, length(?4)) = ?4)
                   AND (?5 = '' OR instr(search, ?5) > 0)
                 ORDER BY village, number, doc_id LIMIT ?6",
            )?;
            let ids: Vec<String> = if f.ids.is_empty() { vec![String::new()] } else { f.ids.clone() };
            let mut out = Vec::new();
            for id in &ids {
                let params = params![id, text(&f.village), text(&f.township), text(&f.number), name, f.limit as i64];
                let rows = stmt.query_map(params, |r| {
                    Ok(HouseholdSummary {
                        id: r.get(0)?,
                        number: r.get(1)?,
                        township: r.get(2)?,
                        village: r.get(3)?,
                        head_name: r.get(4)?,
                        status: r.get(5)?,
                        helpers: vec![],
                    })
                })?;
                out.extend(rows.collect::<rusqlite::Result<Vec<_>>>()?);
            }
            out.truncate(f.limit as usize);
            let mut helpers = c.prepare_cached(HELPERS_OF)?;
            for h in &mut out {
                h.helpers = helpers.query_map([&h.id], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
            }
            Ok(out)
        })
    }

    fn household_visits(&self, household_id: &str, limit: u32) -> Result<Vec<VisitSummary>> {
        self.with_reader(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT doc_id, date, kind, visitor FROM ix_visits WHERE household_id = ?1 AND deleted = 0
                 ORDER BY date DESC, doc_id LIMIT ?2",
            )?;
            let rows = stmt
                .query_map(params![household_id, limit as i64], |r| {
                    Ok(VisitSummary { id: r.get(0)?, date: r.get(1)?, kind: r.get(2)?, visitor: r.get(3)? })
                })?
                .collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
    }

    fn sessions_end_user(&self, user: &str) -> Result<()> {
        self.tx(|tx| {
            tx.execute("DELETE FROM sessions WHERE user_name = ?1", [user])?;
            Ok(())
        })
    }

    fn assign_helper(&self, helper: &str, household_ids: &[String]) -> Result<()> {
        self.tx(|tx| {
            require_user(tx, helper)?;
            for h in household_ids {
                if add_assignment(tx, helper, h)? {
                    insert_event(
                        tx,
                        &ScopeEvent { subject: Subject::User(helper.into()), target: Target::Household(h.clone()) },
                    )?;
                }
            }
            Ok(())
        })
    }

    fn assign_team(&self, team: &str, villages: &[String]) -> Result<()> {
        self.tx(|tx| {
            for v in villages {
                let n = tx
                    .execute("INSERT OR IGNORE INTO team_villages (team, village) VALUES (?1, ?2)", params![team, v])?;
                if n > 0 {
                    insert_event(
                        tx,
                        &ScopeEvent { subject: Subject::Team(team.into()), target: Target::Village(v.clone()) },
                    )?;
                }
            }
            Ok(())
        })
    }

    fn assign_area(&self, user: &str, areas: &[Area]) -> Result<()> {
        self.tx(|tx| {
            require_user(tx, user)?;
            for a in areas {
                let (level, name, target) = match a {
                    Area::Township(t) => ("township", t, Target::Township(t.clone())),
                    Area::Village(v) => ("village", v, Target::Village(v.clone())),
                };
                let n = tx.execute(
                    "INSERT OR IGNORE INTO areas (user_name, level, name) VALUES (?1, ?2, ?3)",
                    params![user, level, name],
                )?;
                if n > 0 {
                    insert_event(tx, &ScopeEvent { subject: Subject::User(user.into()), target })?;
                }
            }
            Ok(())
        })
    }

    fn grant_inspector(&self, g: &Grant) -> Result<()> {
        self.tx(|tx| {
            require_user(tx, &g.user)?;
            tx.execute(
                "INSERT INTO inspector_grants (user_name, village, until, created_ms) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (user_name, village) DO UPDATE SET until = excluded.until",
                params![g.user, g.village, g.until, now_ms()],
            )?;
            // A renewed grant may follow an expired one, during which the device missed changes: resend snapshots.
            insert_event(
                tx,
                &ScopeEvent { subject: Subject::User(g.user.clone()), target: Target::Village(g.village.clone()) },
            )?;
            Ok(())
        })
    }

    fn scope_facts(&self, user: &str) -> Result<ScopeFacts> {
        self.with_reader(|c| {
            let strings = |sql: &str, arg: &str| -> Result<BTreeSet<String>> {
                let mut stmt = c.prepare(sql)?;
                let rows = stmt.query_map([arg], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
                Ok(rows)
            };
            let households = strings("SELECT household_id FROM assignments WHERE helper = ?1", user)?;
            let team: Option<String> =
                c.query_row("SELECT team FROM users WHERE name = ?1", [user], |r| r.get(0)).optional()?.flatten();
            let team_villages = match team {
                Some(t) => strings("SELECT village FROM team_villages WHERE team = ?1", &t)?,
                None => BTreeSet::new(),
            };
            let mut stmt = c.prepare("SELECT level, name FROM areas WHERE user_name = ?1 ORDER BY level, name")?;
            let areas = stmt
                .query_map([user], |r| {
                    let level: String = r.get(0)?;
                    let name: String = r.get(1)?;
                    Ok(if level == "township" { Area::Township(name) } else { Area::Village(name) })
                })?
                .collect::<rusqlite::Result<_>>()?;
            let mut stmt = c.prepare("SELECT user_name, village, until FROM inspector_grants WHERE user_name = ?1")?;
            let grants = stmt
                .query_map([user], |r| Ok(Grant { user: r.get(0)?, village: r.get(1)?, until: r.get(2)? }))?
                .collect::<rusqlite::Result<_>>()?;
            Ok(ScopeFacts { households, team_villages, areas, grants })
        })
    }

    fn audit(&self, e: &AuditEntry) -> Result<()> {
        self.tx(|tx| {
            tx.execute(
                "INSERT INTO audit_log (at_ms, actor, action, detail) VALUES (?1, ?2, ?3, ?4)",
                params![e.at_ms, e.actor, e.action, e.detail],
            )?;
            Ok(())
        })
    }

    fn audit_log(&self, limit: u32) -> Result<Vec<AuditEntry>> {
        self.with_reader(|c| {
            let mut stmt = c.prepare("SELECT at_ms, actor, action, detail FROM audit_log ORDER BY id DESC LIMIT ?1")?;
            let rows = stmt
                .query_map([limit], |r| {
                    Ok(AuditEntry { at_ms: r.get(0)?, actor: r.get(1)?, action: r.get(2)?, detail: r.get(3)? })
                })?
                .collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
    }

    fn write(&self, work: &mut dyn FnMut(&mut dyn WriteTx) -> Result<()>) -> Result<()> {
        self.tx(|tx| work(&mut SqliteTx { tx }))
    }

    fn doc(&self, id: &str) -> Result<Option<StoredDoc>> {
        self.with_reader(|c| load_doc(c, id))
    }

    fn doc_changes(&self, id: &str) -> Result<Vec<ChangeInfo>> {
        self.with_reader(|c| {
            let mut stmt = c.prepare(
                "SELECT seq, hash, actor, device_id, received_ms FROM changes WHERE doc_id = ?1 ORDER BY seq",
            )?;
            let rows = stmt
                .query_map([id], |r| {
                    Ok(ChangeInfo {
                        seq: r.get::<_, i64>(0)? as u64,
                        hash: r.get(1)?,
                        actor: r.get(2)?,
                        device_id: r.get(3)?,
                        received_ms: r.get(4)?,
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
    }

    fn pull_candidates(&self, q: &PullQuery) -> Result<(u64, Vec<Candidate>)> {
        self.pull_candidates_limited(q, usize::MAX).map(|(head, candidates, _)| (head, candidates))
    }

    fn pull_candidates_limited(&self, q: &PullQuery, limit: usize) -> Result<(u64, Vec<Candidate>, bool)> {
        self.with_reader(|c| {
            // One read transaction: the head and every candidate come from the same snapshot of the database.
            c.execute_batch("BEGIN")?;
            let out = pull_candidates(c, q, limit);
            let _ = c.execute_batch("COMMIT");
            out
        })
    }

    fn change_bytes(&self, seqs: &[u64]) -> Result<Vec<(u64, Vec<u8>)>> {
        self.with_reader(|c| {
            let mut stmt = c.prepare("SELECT bytes FROM changes WHERE seq = ?1")?;
            let mut out = Vec::with_capacity(seqs.len());
            for &s in seqs {
                if let Some(b) = stmt.query_row([s as i64], |r| r.get(0)).optional()? {
                    out.push((s, b));
                }
            }
            Ok(out)
        })
    }

    fn docs(&self, ids: &[String]) -> Result<Vec<StoredDoc>> {
        self.with_reader(|c| {
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                if let Some(d) = load_doc(c, id)? {
                    out.push(d);
                }
            }
            Ok(out)
        })
    }

    fn blob(&self, hash: &str) -> Result<Option<BlobInfo>> {
        self.with_reader(|c| {
            Ok(c.query_row(
                "SELECT hash, media_type, size, complete, stored_ms FROM blobs WHERE hash = ?1",
                [hash],
                |r| {
                    Ok(BlobInfo {
                        hash: r.get(0)?,
                        media_type: r.get(1)?,
                        size: r.get::<_, i64>(2)? as u64,
                        complete: r.get(3)?,
                        stored_ms: r.get(4)?,
                    })
                },
            )
            .optional()?)
        })
    }

    fn blob_referrers(&self, hash: &str) -> Result<Vec<BlobReferrer>> {
        self.with_reader(|c| {
            let mut stmt = c.prepare(
                "SELECT d.id, d.household_id, d.village, d.township, r.media_type, r.size FROM blob_refs r
                 JOIN docs d ON d.id = r.doc_id WHERE r.hash = ?1 ORDER BY d.id",
            )?;
            let rows = stmt
                .query_map([hash], |r| {
                    Ok(BlobReferrer {
                        doc_id: r.get(0)?,
                        placement: Placement { household_id: r.get(1)?, village: r.get(2)?, township: r.get(3)? },
                        media_type: r.get(4)?,
                        size: r.get::<_, i64>(5)? as u64,
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
    }

    fn blob_stored(&self, hash: &str, media_type: &str, size: u64, now_ms: i64) -> Result<()> {
        self.tx(|tx| {
            tx.execute(
                "INSERT INTO blobs (hash, media_type, size, complete, stored_ms) VALUES (?1, ?2, ?3, 1, ?4)
                 ON CONFLICT (hash) DO UPDATE SET media_type = excluded.media_type, size = excluded.size,
                    complete = 1, stored_ms = COALESCE(blobs.stored_ms, excluded.stored_ms)",
                params![hash, media_type, size as i64, now_ms],
            )?;
            Ok(())
        })
    }

    fn blob_refs_of(&self, doc_ids: &[String]) -> Result<Vec<(String, BlobRef)>> {
        let ids = serde_json::to_string(doc_ids).unwrap_or_else(|_| "[]".into());
        self.with_reader(|c| {
            let mut stmt = c.prepare(
                "SELECT doc_id, hash, media_type, size FROM blob_refs
                 WHERE doc_id IN (SELECT value FROM json_each(?1)) ORDER BY doc_id, hash",
            )?;
            let rows = stmt
                .query_map([ids], |r| {
                    let hash = r.get(1)?;
                    Ok((r.get(0)?, BlobRef { hash, media_type: r.get(2)?, size: r.get::<_, i64>(3)? as u64 }))
                })?
                .collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
    }

    fn referenced_blobs(&self) -> Result<BTreeSet<String>> {
        self.with_reader(|c| {
            let mut stmt = c.prepare("SELECT DISTINCT hash FROM blob_refs")?;
            let rows = stmt.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
    }

    fn unreferenced_blob_records(&self) -> Result<Vec<String>> {
        self.with_reader(|c| {
            let mut stmt = c.prepare(
                "SELECT hash FROM blobs b WHERE NOT EXISTS (SELECT 1 FROM blob_refs r WHERE r.hash = b.hash) ORDER BY hash",
            )?;
            let rows = stmt.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
    }

    fn forget_blob(&self, hash: &str) -> Result<bool> {
        self.tx(|tx| {
            let referenced = tx.query_row("SELECT 1 FROM blob_refs WHERE hash = ?1 LIMIT 1", [hash], |_| Ok(()));
            if referenced.optional()?.is_some() {
                return Ok(false);
            }
            tx.execute("DELETE FROM blobs WHERE hash = ?1", [hash])?;
            Ok(true)
        })
    }
}

/// Records that a helper lost a household, at a fresh sequence number.
/// Records a place a pushed household names, unless the server knows it already (`?1` kind, `?2` name,
/// `?3` township, `?4` time). Plain upsert syntax that PostgreSQL shares.
pub(crate) const DEVICE_PLACE: &str = "INSERT INTO places (kind, name, township, origin, created_ms)
     VALUES (?1, ?2, ?3, 'device', ?4) ON CONFLICT DO NOTHING";

/// Every place with its live households counted, townships first.
const PLACES: &str = "SELECT p.kind, p.name, p.township, p.origin, p.created_ms,
        CASE p.kind WHEN 'village' THEN (SELECT count(*) FROM ix_households h WHERE h.village = p.name AND h.deleted = 0)
             ELSE (SELECT count(*) FROM ix_households h WHERE h.township = p.name AND h.deleted = 0) END
     FROM places p ORDER BY CASE p.kind WHEN 'township' THEN 0 ELSE 1 END, p.township, p.name";

/// A household's helpers: its own `helper_ids` and the server's assignments.
const HELPERS_OF: &str = "SELECT helper FROM ix_household_helpers WHERE doc_id = ?1
     UNION SELECT helper FROM assignments WHERE household_id = ?1 ORDER BY 1";

fn place_row(r: &rusqlite::Row) -> rusqlite::Result<Place> {
    let kind: String = r.get(0)?;
    let origin: String = r.get(3)?;
    Ok(Place {
        kind: PlaceKind::parse(&kind).unwrap_or(PlaceKind::Village),
        name: r.get(1)?,
        township: r.get(2)?,
        origin: PlaceOrigin::parse(&origin),
        created_ms: r.get(4)?,
        households: r.get::<_, i64>(5)? as u64,
    })
}

/// What else a renamed place's name is written in (`?1` old name, `?2` new), in both stores' SQL: assignments
/// are copied under the new name (merging with any already there) and the old rows removed.
pub(crate) fn rename_sql(kind: PlaceKind) -> &'static [&'static str] {
    match kind {
        PlaceKind::Village => &[
            "INSERT INTO team_villages (team, village) SELECT team, ?2 FROM team_villages WHERE village = ?1
             ON CONFLICT DO NOTHING",
            "DELETE FROM team_villages WHERE village = ?1",
            "INSERT INTO areas (user_name, level, name) SELECT user_name, level, ?2 FROM areas
             WHERE level = 'village' AND name = ?1 ON CONFLICT DO NOTHING",
            "DELETE FROM areas WHERE level = 'village' AND name = ?1",
            "INSERT INTO inspector_grants (user_name, village, until, created_ms)
             SELECT user_name, ?2, until, created_ms FROM inspector_grants WHERE village = ?1 ON CONFLICT DO NOTHING",
            "DELETE FROM inspector_grants WHERE village = ?1",
        ],
        PlaceKind::Township => &[
            "UPDATE places SET township = ?2 WHERE kind = 'village' AND township = ?1",
            "INSERT INTO areas (user_name, level, name) SELECT user_name, level, ?2 FROM areas
             WHERE level = 'township' AND name = ?1 ON CONFLICT DO NOTHING",
            "DELETE FROM areas WHERE level = 'township' AND name = ?1",
        ],
    }
}

fn insert_loss(tx: &Connection, helper: &str, household_id: &str) -> Result<u64> {
    insert_loss_of(tx, "user", helper, "household", household_id)
}

/// The villages of an inspector (`?1`) whose grant ended before a day (`?2`) and whose loss is not recorded since
/// the village was last granted.
const ENDED_GRANTS: &str = "SELECT g.village FROM inspector_grants g WHERE g.user_name = ?1 AND g.until < ?2
      AND NOT EXISTS (SELECT 1 FROM scope_losses l WHERE l.subject_kind = 'user' AND l.subject = g.user_name
          AND l.target_kind = 'village' AND l.target = g.village
          AND l.seq > coalesce((SELECT max(e.seq) FROM scope_events e WHERE e.subject_kind = 'user'
              AND e.subject = g.user_name AND e.target_kind = 'village' AND e.target = g.village), 0))
    ORDER BY g.village";

/// Who saw a household through its village (`?1`) or township (`?2`): teams, areas, inspector grants.
const MOVE_HOLDERS: &str = "SELECT 'team', team FROM team_villages WHERE village = ?1
    UNION SELECT 'user', user_name FROM areas
        WHERE (level = 'village' AND name = ?1) OR (level = 'township' AND name = ?2)
    UNION SELECT 'user', user_name FROM inspector_grants WHERE village = ?1";

/// Records a scope loss (`subject_kind` user or team, `target_kind` household, village or township).
fn insert_loss_of(tx: &Connection, sk: &str, subject: &str, tk: &str, target: &str) -> Result<u64> {
    let seq = next_seq(tx)?;
    tx.execute(
        "INSERT INTO scope_losses (seq, subject_kind, subject, target_kind, target) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![seq as i64, sk, subject, tk, target],
    )?;
    Ok(seq)
}

/// The SQL condition: a scope loss of `:user` or `:team` (alias `e`) covers the placement given as `{h}`, `{v}`,
/// `{t}` (household id, village, township).
fn loss_covers(h: &str, v: &str, t: &str) -> String {
    format!(
        "((e.subject_kind = 'user' AND e.subject = :user) OR (e.subject_kind = 'team' AND e.subject = :team))
         AND ((e.target_kind = 'household' AND {h} = e.target) OR (e.target_kind = 'village' AND {v} = e.target)
              OR (e.target_kind = 'township' AND {t} = e.target))"
    )
}

fn lost_after(c: &Connection, user: &str, team: Option<&str>, cursor: u64, p: &Placement) -> Result<bool> {
    let sql = format!(
        "SELECT 1 FROM scope_losses e WHERE e.seq > :cursor AND {} LIMIT 1",
        loss_covers(":household", ":village", ":township")
    );
    let household = p.household_id.clone().unwrap_or_default();
    let params: &[(&str, &dyn rusqlite::ToSql)] = &[
        (":cursor", &(cursor.min(i64::MAX as u64) as i64)),
        (":user", &user),
        (":team", &team.unwrap_or_default()),
        (":household", &household),
        (":village", &p.village),
        (":township", &p.township),
    ];
    Ok(c.query_row(&sql, params, |_| Ok(())).optional()?.is_some())
}

fn lost_docs(c: &Connection, q: &PullQuery, up_to: u64) -> Result<Vec<(String, Placement)>> {
    let sql = format!(
        "SELECT DISTINCT d.id, d.household_id, d.village, d.township FROM scope_losses e JOIN docs d ON {}
         WHERE e.seq > :cursor AND e.seq <= :up_to ORDER BY d.id",
        loss_covers("d.household_id", "d.village", "d.township")
    );
    let team = q.team.clone().unwrap_or_default();
    let params: &[(&str, &dyn rusqlite::ToSql)] =
        &[(":cursor", &(q.cursor as i64)), (":up_to", &(up_to as i64)), (":user", &q.user), (":team", &team)];
    let mut stmt = c.prepare(&sql)?;
    let rows = stmt.query_map(params, |r| {
        Ok((r.get(0)?, Placement { household_id: r.get(1)?, village: r.get(2)?, township: r.get(3)? }))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn pull_candidates(c: &Connection, q: &PullQuery, limit: usize) -> Result<(u64, Vec<Candidate>, bool)> {
    let head: i64 = c.query_row("SELECT last_seq FROM counter WHERE id = 1", [], |r| r.get(0))?;
    let (visible, [households, villages, townships]) = visible_sql(&q.visible);
    let cursor = q.cursor as i64;
    let mut out = Vec::new();
    // Each query of new documents and changes yields rows of distinct, growing sequences; when one stops early at
    // `limit` rows, everything up to its last row is complete.
    let mut complete_to = head;
    let mut base: Vec<(&str, &dyn rusqlite::ToSql)> =
        vec![(":cursor", &cursor), (":head", &head), (":device", &q.device_id)];
    if !q.visible.all {
        base.push((":households", &households));
        base.push((":villages", &villages));
        base.push((":townships", &townships));
    }
    // Documents new to the device: created after its cursor and holding some change of another device.
    let sql = format!(
        "SELECT d.first_seq, d.id, d.kind, length(d.bytes) FROM docs d
         WHERE d.first_seq > :cursor AND d.first_seq <= :head AND {visible}
           AND EXISTS (SELECT 1 FROM changes c WHERE c.doc_id = d.id AND c.device_id != :device AND c.seq <= :head)
         ORDER BY d.first_seq"
    );
    read_candidates(c, &sql, &base, CandidateKind::NewDoc, Some(limit), &mut complete_to, &mut out)?;
    if cursor > 0 {
        // Other devices' changes to documents the device has.
        let sql = format!(
            "SELECT c.seq, d.id, d.kind, length(c.bytes) FROM changes c JOIN docs d ON d.id = c.doc_id
             WHERE c.seq > :cursor AND c.seq <= :head AND c.device_id != :device AND d.first_seq <= :cursor AND {visible}
             ORDER BY c.seq"
        );
        read_candidates(c, &sql, &base, CandidateKind::Change, Some(limit), &mut complete_to, &mut out)?;
        // Documents that entered the device's scope after its cursor.
        let team = q.team.clone().unwrap_or_default();
        let sql = format!(
            "SELECT e.seq, d.id, d.kind, length(d.bytes) FROM scope_events e JOIN docs d ON
                 (e.target_kind = 'household' AND d.household_id = e.target)
              OR (e.target_kind = 'village' AND d.village = e.target)
              OR (e.target_kind = 'township' AND d.township = e.target)
             WHERE e.seq > :cursor AND e.seq <= :head AND d.first_seq <= :cursor AND {visible}
               AND ((e.subject_kind = 'user' AND e.subject = :user) OR (e.subject_kind = 'team' AND e.subject = :team)
                    OR e.subject_kind = 'anyone')
             ORDER BY e.seq"
        );
        // This query has no :device; SQLite refuses a named parameter the statement lacks.
        let mut params: Vec<(&str, &dyn rusqlite::ToSql)> =
            base.iter().filter(|(n, _)| *n != ":device").cloned().collect();
        params.push((":user", &q.user));
        params.push((":team", &team));
        read_candidates(c, &sql, &params, CandidateKind::EnteredScope, None, &mut complete_to, &mut out)?;
    }
    out.sort_by(|a, b| a.seq.cmp(&b.seq).then_with(|| a.doc_id.cmp(&b.doc_id)));
    Ok((complete_to as u64, out, complete_to < head))
}

/// Reads candidate rows `(seq, doc id, kind, length)` in sequence order, at most `limit` of them; a query cut short
/// lowers `complete_to` to the last sequence it read, up to which the page is still complete.
fn read_candidates(
    c: &Connection,
    sql: &str,
    params: &[(&str, &dyn rusqlite::ToSql)],
    how: CandidateKind,
    limit: Option<usize>,
    complete_to: &mut i64,
    out: &mut Vec<Candidate>,
) -> Result<()> {
    let mut stmt = c.prepare(sql)?;
    let mut rows = stmt.query(params)?;
    let (mut read, mut last) = (0, 0i64);
    while let Some(r) = rows.next()? {
        if Some(read) == limit {
            *complete_to = (*complete_to).min(last);
            break;
        }
        last = r.get(0)?;
        read += 1;
        let kind: String = r.get(2)?;
        out.push(Candidate {
            seq: last as u64,
            doc_id: r.get(1)?,
            kind: DocKind::parse(&kind).unwrap_or_default(),
            how,
            len: r.get::<_, i64>(3)? as u64,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_twice_and_counts_sequences_from_one() {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStorage::open(dir.path()).unwrap();
        let mut seqs = vec![];
        s.write(&mut |tx| {
            seqs.push(tx.next_seq()?);
            seqs.push(tx.next_seq()?);
            Ok(())
        })
        .unwrap();
        assert_eq!(seqs, vec![1, 2]);
        drop(s);
        let s = SqliteStorage::open(dir.path()).unwrap();
        let (head, _) = s
            .pull_candidates(&PullQuery {
                cursor: 0,
                device_id: "d".into(),
                user: "u".into(),
                team: None,
                visible: Visibility { all: true, ..Default::default() },
            })
            .unwrap();
        assert_eq!(head, 2);
    }

    #[test]
    fn a_pull_limited_to_few_candidates_still_delivers_everything_once() {
        use crate::scope::Scope;
        use doorstep_core::doc::Author;
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStorage::open(dir.path()).unwrap();
        let admin = Scope::new("admin", Role::Admin, ScopeFacts::default(), "2026-01-01");
        let author = Author { user: "a".into(), device: "a".into() };
        let actor = automerge::ActorId::random();
        let mut docs = Vec::new();
        for _ in 0..30 {
            let h = doorstep_core::model::samples::household();
            let (doc, c) = Document::create(&h, &actor, &author, 1).unwrap();
            let wire = doorstep_core::sync::protocol::WireChange {
                doc_id: h.id.clone(),
                kind: "household".into(),
                bytes: c.bytes,
            };
            crate::sync::push(&s, "dev-a", &admin, &[wire]).unwrap();
            docs.push((h, doc));
        }
        let pull_all = |cursor: u64| {
            let mut cursor = cursor;
            let mut seen = Vec::new();
            let mut pages = 0;
            for _ in 0..100 {
                let q = PullQuery {
                    cursor,
                    device_id: "dev-b".into(),
                    user: "b".into(),
                    team: None,
                    visible: Visibility { all: true, ..Default::default() },
                };
                let page = crate::sync::pull_limited(&s, q, u32::MAX, 7).unwrap();
                pages += 1;
                seen.extend(page.docs.into_iter().map(|d| (d.doc_id, d.snapshot.is_some(), d.changes.len())));
                assert!(page.cursor > cursor || !page.more, "the cursor moves while pages remain");
                cursor = page.cursor;
                if !page.more {
                    return (seen, pages, cursor);
                }
            }
            panic!("unbounded paging");
        };
        let (seen, pages, cursor) = pull_all(0);
        assert_eq!(seen.len(), 30);
        assert!(seen.iter().all(|(_, snapshot, _)| *snapshot));
        let unique: BTreeSet<&String> = seen.iter().map(|(id, _, _)| id).collect();
        assert_eq!(unique.len(), 30);
        assert!(pages >= 5, "{pages} pages");
        // Later edits arrive as changes, each once, in limited pulls too.
        for (h, doc) in &mut docs {
            let mut edited = h.clone();
            edited.phone = "1".into();
            let c = doc.update(&edited, &author, 2).unwrap().unwrap();
            let wire = doorstep_core::sync::protocol::WireChange {
                doc_id: h.id.clone(),
                kind: "household".into(),
                bytes: c.bytes,
            };
            crate::sync::push(&s, "dev-a", &admin, &[wire]).unwrap();
        }
        let (seen, _, _) = pull_all(cursor);
        assert_eq!(seen.len(), 30);
        assert!(seen.iter().all(|(_, snapshot, changes)| !*snapshot && *changes == 1));
    }

    #[test]
    fn a_failed_unit_of_work_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStorage::open(dir.path()).unwrap();
        let err = s.write(&mut |tx| {
            tx.next_seq()?;
            tx.bind_actor("aa", "dev", 1)?;
            Err(Refusal::OutOfScope("x".into()).into())
        });
        assert!(matches!(err, Err(StorageError::Refused(Refusal::OutOfScope(_)))));
        let mut bound = None;
        s.write(&mut |tx| {
            bound = tx.actor_device("aa")?;
            assert_eq!(tx.next_seq()?, 1);
            Ok(())
        })
        .unwrap();
        assert_eq!(bound, None);
    }
}
