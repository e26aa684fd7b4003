//! The PostgreSQL store: several `doorstep-server` processes share one database (`--database postgres://…`).
//!
//! Client: the blocking `postgres` crate with an `r2d2` pool. The `Storage` trait is synchronous and async code
//! already calls it on tokio's blocking pool, so a blocking client fits without `block_on` or a second runtime.
//!
//! Sequences come from the database: one `counter` row, as in the SQLite store. Every transaction that writes
//! documents or hands out sequence numbers first locks that row (`SELECT … FOR UPDATE`), across all processes. So:
//! - sequence numbers are handed out and committed in the same order, with no gaps (a rolled-back push releases
//!   its numbers with the lock), and a pull that reads the counter and the changes in one snapshot never sees
//!   sequence N+1 committed while N is still in flight — no cursor can skip a committed change;
//! - the read-merge-write of a document inside a push can never lose a concurrent push's change, because two
//!   pushes never interleave (writing transactions run at READ COMMITTED, so each statement after the lock sees
//!   everything committed before it).
//!
//! Pulls, pages and account look-ups take no lock and run in parallel from any process; a pull reads in one
//! REPEATABLE READ snapshot so the head and the candidates agree. `docs/deploy.md` explains the trade-off.

use super::*;
use doorstep_core::doc::Document;
use doorstep_core::model::{DocKind, Role};
pub use r2d2_postgres::postgres as pg;
use r2d2_postgres::postgres::types::ToSql;
use r2d2_postgres::{r2d2, PostgresConnectionManager};
use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

#[path = "postgres/index.rs"]
pub(crate) mod index;
#[path = "postgres/reports.rs"]
pub mod reports;
#[path = "postgres/schema.rs"]
pub mod schema;

/// Connections per server process; more concurrent storage calls wait for a free one.
const POOL_SIZE: u32 = 8;
/// How long a call waits for a connection before answering "unavailable" (503, retryable).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

type Manager = PostgresConnectionManager<pg::NoTls>;
type Conn = r2d2::PooledConnection<Manager>;

/// The connection pool. The blocking client drives each connection with a small runtime of its own, which tokio
/// forbids on a thread that is running async tasks; so when the last handle is dropped there (a server shutting
/// down inside its runtime), the connections are closed on a plain thread instead.
#[derive(Clone)]
struct Pool(Option<r2d2::Pool<Manager>>);

impl std::ops::Deref for Pool {
    type Target = r2d2::Pool<Manager>;

    fn deref(&self) -> &Self::Target {
        self.0.as_ref().expect("the pool is present until dropped")
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        if let Some(pool) = self.0.take() {
            if tokio::runtime::Handle::try_current().is_ok() {
                let _ = std::thread::spawn(move || drop(pool)).join();
            }
        }
    }
}

/// Runs blocking client work off async code: on a plain thread when called from a thread of a tokio runtime (the
/// pages call report queries directly from their handlers), in place otherwise.
fn off_runtime<T: Send>(work: impl FnOnce() -> T + Send) -> T {
    if tokio::runtime::Handle::try_current().is_err() {
        return work();
    }
    std::thread::scope(|s| s.spawn(work).join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
}

/// The PostgreSQL implementation of [`Storage`].
pub struct PostgresStorage {
    pool: Pool,
}

impl PostgresStorage {
    /// One `UPDATE users … WHERE name = $1` in its own transaction; `NotFound` when no account has that name.
    fn update_user(&self, name: &str, sql: &str, values: &[&(dyn pg::types::ToSql + Sync)]) -> Result<()> {
        self.tx(|tx| {
            if tx.execute(sql, values).pg()? == 0 {
                return Err(StorageError::NotFound(format!("user {name}")));
            }
            Ok(())
        })
    }

    /// Connects to the database at `url` (`postgres://user:password@host:port/db`, or key=value form) and migrates
    /// it. Must not be called from async code (the blocking client would start a runtime inside a runtime): call it
    /// from `main` before the runtime starts, or through `spawn_blocking`.
    pub fn open(url: &str) -> Result<Self> {
        let config: pg::Config =
            url.parse().map_err(|e| StorageError::Internal(format!("--database: not a PostgreSQL URL: {e}")))?;
        Self::connect(config)
    }

    /// Connects with a parsed configuration (tests use it to put each run in its own schema).
    pub fn connect(config: pg::Config) -> Result<Self> {
        let manager = PostgresConnectionManager::new(config, pg::NoTls);
        let pool = r2d2::Pool::builder()
            .max_size(POOL_SIZE)
            .min_idle(Some(1))
            .connection_timeout(CONNECT_TIMEOUT)
            .build(manager)
            .map_err(|e| StorageError::Unavailable(format!("cannot connect to PostgreSQL: {e}")))?;
        let this = Self { pool: Pool(Some(pool)) };
        schema::migrate(&mut *this.conn()?)?;
        Ok(this)
    }

    /// The supervisors' pages' report queries over the same database (and connection pool).
    pub fn report_queries(&self) -> reports::PostgresReports {
        reports::PostgresReports::new(self.pool.clone())
    }

    fn conn(&self) -> Result<Conn> {
        self.pool.get().map_err(|e| StorageError::Unavailable(format!("no PostgreSQL connection: {e}")))
    }

    /// Runs `f` in a transaction that takes no writer lock (accounts, devices, audit: no sequence, no document).
    fn tx<T>(&self, f: impl FnOnce(&mut pg::Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction().pg()?;
        let out = f(&mut tx)?;
        tx.commit().pg()?;
        Ok(out)
    }

    /// Runs `f` in a transaction holding the writer lock (see the module comment), committed only on `Ok`.
    fn writing_tx<T>(&self, f: impl FnOnce(&mut pg::Transaction<'_>) -> Result<T>) -> Result<T> {
        self.tx(|tx| {
            lock_writers(tx)?;
            f(tx)
        })
    }

    /// Runs `f` on a connection outside any explicit transaction (single statements).
    fn read<T>(&self, f: impl FnOnce(&mut pg::Client) -> Result<T>) -> Result<T> {
        let mut conn = self.conn()?;
        f(&mut conn)
    }
}

/// How long a writer waits for the writer lock before answering "unavailable" (503, the device retries later).
const LOCK_TIMEOUT: &str = "30s";

/// Takes the writer lock: the counter row, held until commit or rollback (a crashed process's connection closes,
/// which rolls its transaction back and frees the lock).
fn lock_writers(tx: &mut pg::Transaction<'_>) -> Result<()> {
    tx.batch_execute(&format!(
        "SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'; SELECT last_seq FROM counter WHERE id = 1 FOR UPDATE"
    ))
    .pg()?;
    Ok(())
}

/// Maps the driver's errors to what the HTTP layer acts on, as the SQLite store does for its own.
fn storage_error(e: pg::Error) -> StorageError {
    use pg::error::SqlState;
    let Some(code) = e.code() else {
        // No SQLSTATE: the connection broke or could not be made; the database may be back at the next try.
        return StorageError::Unavailable(e.to_string());
    };
    let class = &code.code()[..2];
    if class == "23" {
        // Integrity constraint violations, as SQLite's ConstraintViolation maps.
        StorageError::Exists(e.to_string())
    } else if matches!(class, "08" | "53" | "57" | "40")
        || *code == SqlState::READ_ONLY_SQL_TRANSACTION
        || *code == SqlState::LOCK_NOT_AVAILABLE
    {
        // Connection lost, out of resources, shutting down, serialisation failure or deadlock, read-only standby.
        StorageError::Unavailable(e.to_string())
    } else {
        StorageError::Internal(e.to_string())
    }
}

/// `.pg()?` turns a driver result into a storage result.
trait Pg<T> {
    fn pg(self) -> Result<T>;
}

impl<T> Pg<T> for std::result::Result<T, pg::Error> {
    fn pg(self) -> Result<T> {
        self.map_err(storage_error)
    }
}

fn role_of(code: &str) -> Role {
    Role::parse(code).unwrap_or(Role::Helper)
}

const USER_COLS: &str =
    "name, role, team, password_hash, disabled, created_ms, display_name, unit, must_change_password";
const DEVICE_COLS: &str = "id, user_name, name, revoked, created_ms, last_seen_ms, app_version";
const DOC_COLS: &str = "id, kind, bytes, heads, first_seq, last_seq, household_id, village, township, updated_ms";

/// A user from columns `USER_COLS` starting at `at`.
fn user_row(r: &pg::Row, at: usize) -> User {
    User {
        name: r.get(at),
        role: role_of(r.get(at + 1)),
        team: r.get(at + 2),
        password_hash: r.get(at + 3),
        disabled: r.get(at + 4),
        created_ms: r.get(at + 5),
        display_name: r.get(at + 6),
        unit: r.get(at + 7),
        must_change_password: r.get(at + 8),
    }
}

fn device_row(r: &pg::Row) -> Device {
    Device {
        id: r.get(0),
        user: r.get(1),
        name: r.get(2),
        revoked: r.get(3),
        created_ms: r.get(4),
        last_seen_ms: r.get(5),
        app_version: r.get(6),
    }
}

fn doc_row(r: &pg::Row) -> StoredDoc {
    let kind: &str = r.get(1);
    let heads: &str = r.get(3);
    StoredDoc {
        id: r.get(0),
        kind: DocKind::parse(kind).unwrap_or_default(),
        bytes: r.get(2),
        heads: heads.split(',').filter(|h| !h.is_empty()).map(String::from).collect(),
        first_seq: r.get::<_, i64>(4) as u64,
        last_seq: r.get::<_, i64>(5) as u64,
        placement: Placement { household_id: r.get(6), village: r.get(7), township: r.get(8) },
        updated_ms: r.get(9),
    }
}

/// Reads a document through any client or transaction.
fn load_doc(c: &mut impl pg::GenericClient, id: &str) -> Result<Option<StoredDoc>> {
    Ok(c.query_opt(&format!("SELECT {DOC_COLS} FROM docs WHERE id = $1"), &[&id]).pg()?.as_ref().map(doc_row))
}

fn next_seq(tx: &mut pg::Transaction<'_>) -> Result<u64> {
    let seq: i64 =
        tx.query_one("UPDATE counter SET last_seq = last_seq + 1 WHERE id = 1 RETURNING last_seq", &[]).pg()?.get(0);
    Ok(seq as u64)
}

fn insert_event(tx: &mut pg::Transaction<'_>, event: &ScopeEvent) -> Result<u64> {
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
        "INSERT INTO scope_events (seq, subject_kind, subject, target_kind, target) VALUES ($1, $2, $3, $4, $5)",
        &[&(seq as i64), &sk, &s, &tk, &t],
    )
    .pg()?;
    Ok(seq)
}

fn add_assignment(tx: &mut pg::Transaction<'_>, helper: &str, household_id: &str) -> Result<bool> {
    let n = tx
        .execute(
            "INSERT INTO assignments (helper, household_id, created_ms) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            &[&helper, &household_id, &now_ms()],
        )
        .pg()?;
    Ok(n > 0)
}

/// The villages of an inspector (`$1`) whose grant ended before a day (`$2`) and whose loss is not recorded since
/// the village was last granted.
const ENDED_GRANTS: &str = "SELECT g.village FROM inspector_grants g WHERE g.user_name = $1 AND g.until < $2
      AND NOT EXISTS (SELECT 1 FROM scope_losses l WHERE l.subject_kind = 'user' AND l.subject = g.user_name
          AND l.target_kind = 'village' AND l.target = g.village
          AND l.seq > coalesce((SELECT max(e.seq) FROM scope_events e WHERE e.subject_kind = 'user'
              AND e.subject = g.user_name AND e.target_kind = 'village' AND e.target = g.village), 0))
    ORDER BY g.village";

/// Who saw a household through its village (`$1`) or township (`$2`): teams, areas, inspector grants.
const MOVE_HOLDERS: &str = "SELECT 'team', team FROM team_villages WHERE village = $1
    UNION SELECT 'user', user_name FROM areas
        WHERE (level = 'village' AND name = $1) OR (level = 'township' AND name = $2)
    UNION SELECT 'user', user_name FROM inspector_grants WHERE village = $1";

/// Records a scope loss (`sk` user or team, `tk` household, village or township) at a fresh sequence number.
fn insert_loss_of(tx: &mut pg::Transaction<'_>, sk: &str, subject: &str, tk: &str, target: &str) -> Result<u64> {
    let seq = next_seq(tx)?;
    tx.execute(
        "INSERT INTO scope_losses (seq, subject_kind, subject, target_kind, target) VALUES ($1, $2, $3, $4, $5)",
        &[&(seq as i64), &sk, &subject, &tk, &target],
    )
    .pg()?;
    Ok(seq)
}

/// The SQL condition: a scope loss (alias `e`) of the user `$2` or the team `$3` covers the placement given as
/// `h`, `v`, `t` (household id, village, township).
fn loss_covers(h: &str, v: &str, t: &str) -> String {
    format!(
        "((e.subject_kind = 'user' AND e.subject = $2) OR (e.subject_kind = 'team' AND e.subject = $3))
         AND ((e.target_kind = 'household' AND {h} = e.target) OR (e.target_kind = 'village' AND {v} = e.target)
              OR (e.target_kind = 'township' AND {t} = e.target))"
    )
}

/// Every place with its live households counted, townships first (as the SQLite store orders them).
const PLACES: &str = "SELECT p.kind, p.name, p.township, p.origin, p.created_ms,
        CASE p.kind WHEN 'village' THEN (SELECT count(*) FROM ix_households h WHERE h.village = p.name AND h.deleted = 0)
             ELSE (SELECT count(*) FROM ix_households h WHERE h.township = p.name AND h.deleted = 0) END
     FROM places p
     ORDER BY CASE p.kind WHEN 'township' THEN 0 ELSE 1 END, p.township COLLATE \"C\", p.name COLLATE \"C\"";

/// SQL shared with the SQLite store, its `?N` placeholders written as PostgreSQL's `$N`.
fn pg_sql(sql: &str) -> String {
    sql.replace('?', "$")
}

fn require_user(tx: &mut pg::Transaction<'_>, name: &str) -> Result<()> {
    match tx.query_opt("SELECT 1 FROM users WHERE name = $1", &[&name]).pg()? {
        Some(_) => Ok(()),
        None => Err(StorageError::NotFound(format!("user {name}"))),
    }
}

/// A push's unit of work on PostgreSQL: the writer lock is held for its whole life.
struct PgTx<'a> {
    tx: pg::Transaction<'a>,
}

impl WriteTx for PgTx<'_> {
    fn doc(&mut self, id: &str) -> Result<Option<StoredDoc>> {
        load_doc(&mut self.tx, id)
    }

    fn change_exists(&mut self, hash: &str) -> Result<bool> {
        Ok(self.tx.query_opt("SELECT 1 FROM changes WHERE hash = $1", &[&hash]).pg()?.is_some())
    }

    fn actor_device(&mut self, actor: &str) -> Result<Option<String>> {
        Ok(self.tx.query_opt("SELECT device_id FROM actors WHERE actor = $1", &[&actor]).pg()?.map(|r| r.get(0)))
    }

    fn bind_actor(&mut self, actor: &str, device_id: &str, now_ms: i64) -> Result<()> {
        self.tx
            .execute(
                "INSERT INTO actors (actor, device_id, bound_ms) VALUES ($1, $2, $3)",
                &[&actor, &device_id, &now_ms],
            )
            .pg()?;
        Ok(())
    }

    fn actor_owner(&mut self, actor: &str) -> Result<Option<ActorOwner>> {
        let row = self
            .tx
            .query_opt(
                "SELECT a.device_id, COALESCE(d.user_name, ''), COALESCE(d.revoked, FALSE) FROM actors a
                 LEFT JOIN devices d ON d.id = a.device_id WHERE a.actor = $1",
                &[&actor],
            )
            .pg()?;
        Ok(row.map(|r| ActorOwner { device_id: r.get(0), user: r.get(1), revoked: r.get(2) }))
    }

    fn rebind_actor(&mut self, actor: &str, device_id: &str, now_ms: i64) -> Result<()> {
        self.tx
            .execute("UPDATE actors SET device_id = $2, bound_ms = $3 WHERE actor = $1", &[&actor, &device_id, &now_ms])
            .pg()?;
        Ok(())
    }

    fn next_seq(&mut self) -> Result<u64> {
        next_seq(&mut self.tx)
    }

    fn raise_cursor_floor(&mut self, device_id: &str, cursor: u64) -> Result<u64> {
        let cursor = cursor.min(i64::MAX as u64) as i64;
        self.tx
            .execute(
                "UPDATE devices SET cursor_floor = least($2, (SELECT last_seq FROM counter WHERE id = 1))
                 WHERE id = $1 AND cursor_floor < least($2, (SELECT last_seq FROM counter WHERE id = 1))",
                &[&device_id, &cursor],
            )
            .pg()?;
        let row = self.tx.query_opt("SELECT cursor_floor FROM devices WHERE id = $1", &[&device_id]).pg()?;
        Ok(row.map_or(cursor, |r| r.get::<_, i64>(0).max(0)) as u64)
    }

    fn insert_change(&mut self, c: &NewChange) -> Result<()> {
        self.tx
            .execute(
                "INSERT INTO changes (seq, hash, doc_id, actor, device_id, received_ms, bytes)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[&(c.seq as i64), &c.hash, &c.doc_id, &c.actor, &c.device_id, &c.received_ms, &c.bytes],
            )
            .pg()?;
        Ok(())
    }

    fn save_doc(&mut self, d: &StoredDoc, document: &mut Document) -> Result<()> {
        self.tx.execute(
            "INSERT INTO docs (id, kind, bytes, heads, first_seq, last_seq, household_id, village, township, updated_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (id) DO UPDATE SET bytes = excluded.bytes, heads = excluded.heads, last_seq = excluded.last_seq,
                household_id = excluded.household_id, village = excluded.village, township = excluded.township,
                updated_ms = excluded.updated_ms",
            &[
                &d.id,
                &d.kind.code(),
                &d.bytes,
                &d.heads.join(","),
                &(d.first_seq as i64),
                &(d.last_seq as i64),
                &d.placement.household_id,
                &d.placement.village,
                &d.placement.township,
                &d.updated_ms,
            ],
        ).pg()?;
        index::reindex(&mut self.tx, &d.id, d.kind, document)?;
        if d.kind == DocKind::Household {
            // A household in a place nobody added is kept; its place is listed for the admin to confirm or rename.
            let (p, sql) = (&d.placement, pg_sql(super::sqlite::DEVICE_PLACE));
            if !p.village.is_empty() {
                self.tx.execute(&sql, &[&"village", &p.village, &p.township, &d.updated_ms]).pg()?;
            }
            if !p.township.is_empty() {
                self.tx.execute(&sql, &[&"township", &p.township, &"", &d.updated_ms]).pg()?;
            }
        }
        Ok(())
    }

    fn move_dependents(&mut self, household_id: &str, p: &Placement) -> Result<()> {
        self.tx
            .execute(
                "UPDATE docs SET village = $2, township = $3 WHERE household_id = $1",
                &[&household_id, &p.village, &p.township],
            )
            .pg()?;
        Ok(())
    }

    fn add_assignment(&mut self, helper: &str, household_id: &str) -> Result<bool> {
        add_assignment(&mut self.tx, helper, household_id)
    }

    fn scope_event(&mut self, event: &ScopeEvent) -> Result<u64> {
        insert_event(&mut self.tx, event)
    }

    fn record_move_loss(&mut self, household_id: &str, old: &Placement) -> Result<()> {
        let rows = self.tx.query(MOVE_HOLDERS, &[&old.village, &old.township]).pg()?;
        for r in rows {
            let (kind, subject): (String, String) = (r.get(0), r.get(1));
            insert_loss_of(&mut self.tx, &kind, &subject, "household", household_id)?;
        }
        Ok(())
    }

    fn lost_after(&mut self, user: &str, team: Option<&str>, cursor: u64, p: &Placement) -> Result<bool> {
        let sql =
            format!("SELECT 1 FROM scope_losses e WHERE e.seq > $1 AND {} LIMIT 1", loss_covers("$4", "$5", "$6"));
        let cursor = cursor.min(i64::MAX as u64) as i64;
        let (team, household) = (team.unwrap_or_default(), p.household_id.clone().unwrap_or_default());
        let found = self.tx.query_opt(&sql, &[&cursor, &user, &team, &household, &p.village, &p.township]).pg()?;
        Ok(found.is_some())
    }

    fn set_blob_refs(&mut self, doc_id: &str, refs: &[BlobRef]) -> Result<()> {
        self.tx.execute("DELETE FROM blob_refs WHERE doc_id = $1", &[&doc_id]).pg()?;
        for r in refs {
            let size = r.size as i64;
            self.tx
                .execute(
                    "INSERT INTO blob_refs (hash, doc_id, media_type, size) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (hash, doc_id) DO UPDATE SET media_type = excluded.media_type, size = excluded.size",
                    &[&r.hash, &doc_id, &r.media_type, &size],
                )
                .pg()?;
            self.tx
                .execute(
                    "INSERT INTO blobs (hash, media_type, size, complete) VALUES ($1, $2, $3, FALSE)
                     ON CONFLICT (hash) DO NOTHING",
                    &[&r.hash, &r.media_type, &size],
                )
                .pg()?;
        }
        Ok(())
    }
}

impl Storage for PostgresStorage {
    fn add_user(&self, u: &User) -> Result<()> {
        self.tx(|tx| {
            let n = tx
                .execute(
                    "INSERT INTO users (name, role, team, password_hash, disabled, created_ms, display_name, unit,
                    must_change_password) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                 ON CONFLICT (name) DO NOTHING",
                    &[
                        &u.name,
                        &u.role.code(),
                        &u.team,
                        &u.password_hash,
                        &u.disabled,
                        &u.created_ms,
                        &u.display_name,
                        &u.unit,
                        &u.must_change_password,
                    ],
                )
                .pg()?;
            if n == 0 {
                return Err(StorageError::Exists(format!("user {}", u.name)));
            }
            Ok(())
        })
    }

    fn user(&self, name: &str) -> Result<Option<User>> {
        self.read(|c| {
            let row = c.query_opt(&format!("SELECT {USER_COLS} FROM users WHERE name = $1"), &[&name]).pg()?;
            Ok(row.map(|r| user_row(&r, 0)))
        })
    }

    fn users(&self) -> Result<Vec<User>> {
        self.read(|c| {
            let rows = c.query(&format!("SELECT {USER_COLS} FROM users ORDER BY name COLLATE \"C\""), &[]).pg()?;
            Ok(rows.iter().map(|r| user_row(r, 0)).collect())
        })
    }

    fn set_disabled(&self, name: &str, disabled: bool) -> Result<()> {
        self.tx(|tx| {
            let n = tx.execute("UPDATE users SET disabled = $2 WHERE name = $1", &[&name, &disabled]).pg()?;
            if n == 0 {
                return Err(StorageError::NotFound(format!("user {name}")));
            }
            Ok(())
        })
    }

    fn set_profile(&self, name: &str, display_name: &str, unit: &str) -> Result<()> {
        self.update_user(
            name,
            "UPDATE users SET display_name = $2, unit = $3 WHERE name = $1",
            &[&name, &display_name, &unit],
        )
    }

    fn set_password(&self, name: &str, password_hash: &str, must_change: bool) -> Result<()> {
        let sql = "UPDATE users SET password_hash = $2, must_change_password = $3 WHERE name = $1";
        self.update_user(name, sql, &[&name, &password_hash, &must_change])
    }

    fn add_device(&self, d: &Device, token_sha256: &str) -> Result<()> {
        self.tx(|tx| {
            tx.execute(
                "INSERT INTO devices (id, user_name, name, token_sha256, revoked, created_ms, last_seen_ms, cursor_floor,
                    app_version)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, (SELECT last_seq FROM counter WHERE id = 1), $8)",
                &[&d.id, &d.user, &d.name, &token_sha256, &d.revoked, &d.created_ms, &d.last_seen_ms, &d.app_version],
            )
            .pg()?;
            Ok(())
        })
    }

    fn device_by_token(&self, token_sha256: &str) -> Result<Option<(Device, User)>> {
        self.read(|c| {
            let cols = DEVICE_COLS.split(", ").map(|x| format!("d.{x}")).collect::<Vec<_>>().join(", ");
            let ucols = USER_COLS.split(", ").map(|x| format!("u.{x}")).collect::<Vec<_>>().join(", ");
            let row = c.query_opt(
                &format!(
                    "SELECT {cols}, {ucols} FROM devices d JOIN users u ON u.name = d.user_name WHERE d.token_sha256 = $1"
                ),
                &[&token_sha256],
            ).pg()?;
            Ok(row.map(|r| (device_row(&r), user_row(&r, 7))))
        })
    }

    fn devices(&self) -> Result<Vec<Device>> {
        self.read(|c| {
            let rows = c
                .query(&format!("SELECT {DEVICE_COLS} FROM devices ORDER BY user_name COLLATE \"C\", created_ms"), &[])
                .pg()?;
            Ok(rows.iter().map(device_row).collect())
        })
    }

    fn revoke_device(&self, id: &str) -> Result<()> {
        self.tx(|tx| {
            let n = tx.execute("UPDATE devices SET revoked = TRUE WHERE id = $1", &[&id]).pg()?;
            if n == 0 {
                return Err(StorageError::NotFound(format!("device {id}")));
            }
            Ok(())
        })
    }

    fn touch_device(&self, id: &str, now_ms: i64, app_version: &str) -> Result<()> {
        self.read(|c| {
            c.execute(
                "UPDATE devices SET last_seen_ms = $2, app_version = $3 WHERE id = $1",
                &[&id, &now_ms, &app_version],
            )
            .pg()?;
            Ok(())
        })
    }

    fn unassign_helper(&self, helper: &str, household_ids: &[String]) -> Result<()> {
        self.writing_tx(|tx| {
            require_user(tx, helper)?;
            for h in household_ids {
                let n = tx
                    .execute("DELETE FROM assignments WHERE helper = $1 AND household_id = $2", &[&helper, h])
                    .pg()?;
                if n > 0 {
                    let seq = next_seq(tx)? as i64;
                    tx.execute(
                        "INSERT INTO scope_losses (seq, subject_kind, subject, target_kind, target)
                         VALUES ($1, 'user', $2, 'household', $3)",
                        &[&seq, &helper, h],
                    )
                    .pg()?;
                }
            }
            Ok(())
        })
    }

    fn unassign_team(&self, team: &str, villages: &[String]) -> Result<()> {
        self.writing_tx(|tx| {
            for v in villages {
                let n = tx.execute("DELETE FROM team_villages WHERE team = $1 AND village = $2", &[&team, v]).pg()?;
                if n > 0 {
                    insert_loss_of(tx, "team", team, "village", v)?;
                }
            }
            Ok(())
        })
    }

    fn unassign_area(&self, user: &str, areas: &[Area]) -> Result<()> {
        self.writing_tx(|tx| {
            require_user(tx, user)?;
            for a in areas {
                let (level, name) = super::area_level(a);
                let n = tx
                    .execute(
                        "DELETE FROM areas WHERE user_name = $1 AND level = $2 AND name = $3",
                        &[&user, &level, &name],
                    )
                    .pg()?;
                if n > 0 {
                    insert_loss_of(tx, "user", user, level, name)?;
                }
            }
            Ok(())
        })
    }

    fn record_ended_grants(&self, user: &str, today: &str) -> Result<u64> {
        let sql = ENDED_GRANTS;
        let ended = self.read(|c| Ok(c.query(sql, &[&user, &today]).pg()?.len()))?;
        if ended == 0 {
            return Ok(0);
        }
        self.writing_tx(|tx| {
            let ended: Vec<String> = tx.query(sql, &[&user, &today]).pg()?.iter().map(|r| r.get(0)).collect();
            for v in &ended {
                insert_loss_of(tx, "user", user, "village", v)?;
            }
            Ok(ended.len() as u64)
        })
    }

    fn lost_docs(&self, q: &PullQuery, up_to: u64) -> Result<Vec<(String, Placement)>> {
        let sql = format!(
            "SELECT DISTINCT d.id, d.household_id, d.village, d.township FROM scope_losses e JOIN docs d ON {}
             WHERE e.seq > $1 AND e.seq <= $4 ORDER BY d.id",
            loss_covers("d.household_id", "d.village", "d.township")
        );
        let team = q.team.clone().unwrap_or_default();
        self.read(|c| {
            let rows = c.query(&sql, &[&(q.cursor as i64), &q.user, &team, &(up_to as i64)]).pg()?;
            Ok(rows
                .iter()
                .map(|r| (r.get(0), Placement { household_id: r.get(1), village: r.get(2), township: r.get(3) }))
                .collect())
        })
    }

    fn login_failures(&self, keys: &[String]) -> Result<Vec<(String, u32, i64)>> {
        self.read(|c| {
            let rows = c.query("SELECT key, count, last_ms FROM login_failures WHERE key = ANY($1)", &[&keys]).pg()?;
            Ok(rows.iter().map(|r| (r.get(0), r.get::<_, i32>(1) as u32, r.get(2))).collect())
        })
    }

    fn login_failed(&self, keys: &[String], now_ms: i64, forgive_ms: i64) -> Result<()> {
        // No writer lock: these rows are not part of the change sequence. Concurrent failures from two processes
        // both count (the upsert is atomic per row).
        self.tx(|tx| {
            for k in keys {
                tx.execute(
                    "INSERT INTO login_failures (key, count, last_ms) VALUES ($1, 1, $2)
                     ON CONFLICT (key) DO UPDATE SET
                         count = CASE WHEN $2 - login_failures.last_ms > $3 THEN 1 ELSE login_failures.count + 1 END,
                         last_ms = GREATEST(login_failures.last_ms, $2)",
                    &[k, &now_ms, &forgive_ms],
                )
                .pg()?;
            }
            tx.execute("DELETE FROM login_failures WHERE $1 - last_ms > $2", &[&now_ms, &forgive_ms]).pg()?;
            Ok(())
        })
    }

    fn login_succeeded(&self, key: &str) -> Result<()> {
        self.read(|c| {
            c.execute("DELETE FROM login_failures WHERE key = $1", &[&key]).pg()?;
            Ok(())
        })
    }

    fn session_start(&self, digest: &str, user: &str, csrf: &str, now_ms: i64, expired_before_ms: i64) -> Result<()> {
        self.read(|c| {
            let mut tx = c.transaction().pg()?;
            tx.execute("DELETE FROM sessions WHERE created_ms < $1", &[&expired_before_ms]).pg()?;
            tx.execute(
                "INSERT INTO sessions (digest, user_name, csrf, created_ms) VALUES ($1, $2, $3, $4)",
                &[&digest, &user, &csrf, &now_ms],
            )
            .pg()?;
            tx.commit().pg()
        })
    }

    fn session(&self, digest: &str) -> Result<Option<(String, String, i64)>> {
        self.read(|c| {
            let row =
                c.query_opt("SELECT user_name, csrf, created_ms FROM sessions WHERE digest = $1", &[&digest]).pg()?;
            Ok(row.map(|r| (r.get(0), r.get(1), r.get(2))))
        })
    }

    fn session_end(&self, digest: &str) -> Result<()> {
        self.read(|c| {
            c.execute("DELETE FROM sessions WHERE digest = $1", &[&digest]).pg()?;
            Ok(())
        })
    }

    fn places(&self) -> Result<Vec<Place>> {
        self.read(|c| {
            let rows = c.query(PLACES, &[]).pg()?;
            Ok(rows
                .iter()
                .map(|r| Place {
                    kind: PlaceKind::parse(r.get(0)).unwrap_or(PlaceKind::Village),
                    name: r.get(1),
                    township: r.get(2),
                    origin: PlaceOrigin::parse(r.get(3)),
                    created_ms: r.get(4),
                    households: r.get::<_, i64>(5) as u64,
                })
                .collect())
        })
    }

    fn add_place(&self, p: &Place) -> Result<bool> {
        self.writing_tx(|tx| {
            let found = tx
                .query_opt("SELECT origin FROM places WHERE kind = $1 AND name = $2", &[&p.kind.code(), &p.name])
                .pg()?
                .map(|r| PlaceOrigin::parse(r.get(0)));
            match found {
                Some(PlaceOrigin::Device) => {
                    tx.execute(
                        "UPDATE places SET origin = 'admin', township = CASE WHEN $3 = '' THEN township ELSE $3 END
                         WHERE kind = $1 AND name = $2",
                        &[&p.kind.code(), &p.name, &p.township],
                    )
                    .pg()?;
                    Ok(false)
                }
                Some(_) => Err(StorageError::Exists(format!("{} {}", p.kind.code(), p.name))),
                None => {
                    tx.execute(
                        "INSERT INTO places (kind, name, township, origin, created_ms) VALUES ($1, $2, $3, 'admin', $4)",
                        &[&p.kind.code(), &p.name, &p.township, &p.created_ms],
                    )
                    .pg()?;
                    Ok(true)
                }
            }
        })
    }

    fn rename_place(&self, kind: PlaceKind, old: &str, new: &str) -> Result<()> {
        self.writing_tx(|tx| {
            let origin = |tx: &mut pg::Transaction<'_>, name: &str| -> Result<Option<PlaceOrigin>> {
                let sql = "SELECT origin FROM places WHERE kind = $1 AND name = $2";
                Ok(tx.query_opt(sql, &[&kind.code(), &name]).pg()?.map(|r| PlaceOrigin::parse(r.get(0))))
            };
            let Some(old_origin) = origin(tx, old)? else {
                return Err(StorageError::NotFound(format!("{} {old}", kind.code())));
            };
            match (origin(tx, new)?, old_origin) {
                // A name a device reported, renamed onto a known place: its households and assignments join it.
                (Some(_), PlaceOrigin::Device) => {
                    tx.execute("DELETE FROM places WHERE kind = $1 AND name = $2", &[&kind.code(), &old]).pg()?;
                }
                (Some(_), _) => return Err(StorageError::Exists(format!("{} {new}", kind.code()))),
                (None, _) => {
                    let sql = "UPDATE places SET name = $3 WHERE kind = $1 AND name = $2";
                    tx.execute(sql, &[&kind.code(), &old, &new]).pg()?;
                }
            }
            for sql in super::sqlite::rename_sql(kind) {
                let args: &[&(dyn ToSql + Sync)] = if sql.contains("?2") { &[&old, &new] } else { &[&old] };
                tx.execute(&pg_sql(sql), args).pg()?;
            }
            Ok(())
        })
    }

    fn find_households(&self, f: &HouseholdFilter) -> Result<Vec<HouseholdSummary>> {
        self.read(|c| {
            let text = |o: &Option<String>| o.clone().unwrap_or_default();
            let name = f.name.as_deref().unwrap_or_default().to_lowercase();
            let ids: Vec<String> = if f.ids.is_empty() { vec![String::new()] } else { f.ids.clone() };
            let mut out = Vec::new();
            for id in &ids {
                let rows = c
                    .query(
                        "SELECT doc_id, number, township, village, head_name, status FROM ix_households
                         WHERE deleted = 0 AND ($1 = '' OR doc_id = $1) AND ($2 = '' OR village = $2)
                           AND ($3 = '' OR township = $3) AND ($4 = '' OR left(number, length($4)) = $4)
                           AND ($5 = '' OR strpos(search, $5) > 0)
                         ORDER BY village COLLATE \"C\", number COLLATE \"C\", doc_id COLLATE \"C\" LIMIT $6",
                        &[id, &text(&f.village), &text(&f.township), &text(&f.number), &name, &(f.limit as i64)],
                    )
                    .pg()?;
                out.extend(rows.iter().map(|r| HouseholdSummary {
                    id: r.get(0),
                    number: r.get(1),
                    township: r.get(2),
                    village: r.get(3),
                    head_name: r.get(4),
                    status: r.get(5),
                    helpers: vec![],
                }));
            }
            out.truncate(f.limit as usize);
            for h in &mut out {
                let rows = c
                    .query(
                        "SELECT helper FROM ix_household_helpers WHERE doc_id = $1
                         UNION SELECT helper FROM assignments WHERE household_id = $1 ORDER BY 1",
                        &[&h.id],
                    )
                    .pg()?;
                h.helpers = rows.iter().map(|r| r.get(0)).collect();
                h.helpers.sort();
            }
            Ok(out)
        })
    }

    fn household_visits(&self, household_id: &str, limit: u32) -> Result<Vec<VisitSummary>> {
        self.read(|c| {
            let rows = c
                .query(
                    "SELECT doc_id, date, kind, visitor FROM ix_visits WHERE household_id = $1 AND deleted = 0
                     ORDER BY date DESC, doc_id COLLATE \"C\" LIMIT $2",
                    &[&household_id, &(limit as i64)],
                )
                .pg()?;
            Ok(rows
                .iter()
                .map(|r| VisitSummary { id: r.get(0), date: r.get(1), kind: r.get(2), visitor: r.get(3) })
                .collect())
        })
    }

    fn sessions_end_user(&self, user: &str) -> Result<()> {
        self.read(|c| {
            c.execute("DELETE FROM sessions WHERE user_name = $1", &[&user]).pg()?;
            Ok(())
        })
    }

    fn assign_helper(&self, helper: &str, household_ids: &[String]) -> Result<()> {
        self.writing_tx(|tx| {
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
        self.writing_tx(|tx| {
            for v in villages {
                let n = tx
                    .execute(
                        "INSERT INTO team_villages (team, village) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                        &[&team, v],
                    )
                    .pg()?;
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
        self.writing_tx(|tx| {
            require_user(tx, user)?;
            for a in areas {
                let (level, name, target) = match a {
                    Area::Township(t) => ("township", t, Target::Township(t.clone())),
                    Area::Village(v) => ("village", v, Target::Village(v.clone())),
                };
                let n = tx
                    .execute(
                        "INSERT INTO areas (user_name, level, name) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                        &[&user, &level, name],
                    )
                    .pg()?;
                if n > 0 {
                    insert_event(tx, &ScopeEvent { subject: Subject::User(user.into()), target })?;
                }
            }
            Ok(())
        })
    }

    fn grant_inspector(&self, g: &Grant) -> Result<()> {
        self.writing_tx(|tx| {
            require_user(tx, &g.user)?;
            tx.execute(
                "INSERT INTO inspector_grants (user_name, village, until, created_ms) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (user_name, village) DO UPDATE SET until = excluded.until",
                &[&g.user, &g.village, &g.until, &now_ms()],
            )
            .pg()?;
            // A renewed grant may follow an expired one, during which the device missed changes: resend snapshots.
            insert_event(
                tx,
                &ScopeEvent { subject: Subject::User(g.user.clone()), target: Target::Village(g.village.clone()) },
            )?;
            Ok(())
        })
    }

    fn scope_facts(&self, user: &str) -> Result<ScopeFacts> {
        let mut conn = self.conn()?;
        // One snapshot, so the facts agree with each other.
        let mut tx = conn
            .build_transaction()
            .isolation_level(pg::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .pg()?;
        let strings = |tx: &mut pg::Transaction<'_>, sql: &str, arg: &str| -> Result<BTreeSet<String>> {
            Ok(tx.query(sql, &[&arg]).pg()?.iter().map(|r| r.get(0)).collect())
        };
        let households = strings(&mut tx, "SELECT household_id FROM assignments WHERE helper = $1", user)?;
        let team: Option<String> =
            tx.query_opt("SELECT team FROM users WHERE name = $1", &[&user]).pg()?.and_then(|r| r.get(0));
        let team_villages = match team {
            Some(t) => strings(&mut tx, "SELECT village FROM team_villages WHERE team = $1", &t)?,
            None => BTreeSet::new(),
        };
        let areas = tx
            .query(
                "SELECT level, name FROM areas WHERE user_name = $1 ORDER BY level COLLATE \"C\", name COLLATE \"C\"",
                &[&user],
            )
            .pg()?
            .iter()
            .map(|r| {
                let level: &str = r.get(0);
                let name: String = r.get(1);
                if level == "township" {
                    Area::Township(name)
                } else {
                    Area::Village(name)
                }
            })
            .collect();
        let grants = tx
            .query(
                "SELECT user_name, village, until FROM inspector_grants WHERE user_name = $1 ORDER BY village COLLATE \"C\"",
                &[&user],
            ).pg()?
            .iter()
            .map(|r| Grant { user: r.get(0), village: r.get(1), until: r.get(2) })
            .collect();
        tx.commit().pg()?;
        Ok(ScopeFacts { households, team_villages, areas, grants })
    }

    fn audit(&self, e: &AuditEntry) -> Result<()> {
        self.read(|c| {
            c.execute(
                "INSERT INTO audit_log (at_ms, actor, action, detail) VALUES ($1, $2, $3, $4)",
                &[&e.at_ms, &e.actor, &e.action, &e.detail],
            )
            .pg()?;
            Ok(())
        })
    }

    fn audit_log(&self, limit: u32) -> Result<Vec<AuditEntry>> {
        self.read(|c| {
            let rows = c
                .query(
                    "SELECT at_ms, actor, action, detail FROM audit_log ORDER BY id DESC LIMIT $1",
                    &[&(limit as i64)],
                )
                .pg()?;
            Ok(rows
                .iter()
                .map(|r| AuditEntry { at_ms: r.get(0), actor: r.get(1), action: r.get(2), detail: r.get(3) })
                .collect())
        })
    }

    fn write(&self, work: &mut dyn FnMut(&mut dyn WriteTx) -> Result<()>) -> Result<()> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction().pg()?;
        lock_writers(&mut tx)?;
        let mut unit = PgTx { tx };
        // On `Err` the transaction is dropped, which rolls it back (and releases the writer lock).
        work(&mut unit)?;
        unit.tx.commit().pg()?;
        Ok(())
    }

    fn doc(&self, id: &str) -> Result<Option<StoredDoc>> {
        self.read(|c| load_doc(c, id))
    }

    fn doc_changes(&self, id: &str) -> Result<Vec<ChangeInfo>> {
        self.read(|c| {
            let rows = c
                .query(
                    "SELECT seq, hash, actor, device_id, received_ms FROM changes WHERE doc_id = $1 ORDER BY seq",
                    &[&id],
                )
                .pg()?;
            Ok(rows
                .iter()
                .map(|r| ChangeInfo {
                    seq: r.get::<_, i64>(0) as u64,
                    hash: r.get(1),
                    actor: r.get(2),
                    device_id: r.get(3),
                    received_ms: r.get(4),
                })
                .collect())
        })
    }

    fn pull_candidates(&self, q: &PullQuery) -> Result<(u64, Vec<Candidate>)> {
        self.pull_candidates_limited(q, usize::MAX).map(|(head, candidates, _)| (head, candidates))
    }

    fn pull_candidates_limited(&self, q: &PullQuery, limit: usize) -> Result<(u64, Vec<Candidate>, bool)> {
        let mut conn = self.conn()?;
        // One snapshot: the head and every candidate agree (writers commit in sequence order, see the module
        // comment, so everything up to the head is in this snapshot).
        let mut tx = conn
            .build_transaction()
            .isolation_level(pg::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .pg()?;
        let out = pull_candidates(&mut tx, q, limit)?;
        tx.commit().pg()?;
        Ok(out)
    }

    fn change_bytes(&self, seqs: &[u64]) -> Result<Vec<(u64, Vec<u8>)>> {
        self.read(|c| {
            let wanted: Vec<i64> = seqs.iter().map(|&s| s as i64).collect();
            let mut found: HashMap<u64, Vec<u8>> = c
                .query("SELECT seq, bytes FROM changes WHERE seq = ANY($1)", &[&wanted])
                .pg()?
                .iter()
                .map(|r| (r.get::<_, i64>(0) as u64, r.get(1)))
                .collect();
            Ok(seqs.iter().filter_map(|s| found.remove(s).map(|b| (*s, b))).collect())
        })
    }

    fn docs(&self, ids: &[String]) -> Result<Vec<StoredDoc>> {
        self.read(|c| {
            let mut found: HashMap<String, StoredDoc> = c
                .query(&format!("SELECT {DOC_COLS} FROM docs WHERE id = ANY($1)"), &[&ids])
                .pg()?
                .iter()
                .map(|r| {
                    let d = doc_row(r);
                    (d.id.clone(), d)
                })
                .collect();
            Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
        })
    }

    fn blob(&self, hash: &str) -> Result<Option<BlobInfo>> {
        self.read(|c| {
            let row = c
                .query_opt("SELECT hash, media_type, size, complete, stored_ms FROM blobs WHERE hash = $1", &[&hash])
                .pg()?;
            Ok(row.map(|r| BlobInfo {
                hash: r.get(0),
                media_type: r.get(1),
                size: r.get::<_, i64>(2) as u64,
                complete: r.get(3),
                stored_ms: r.get(4),
            }))
        })
    }

    fn blob_referrers(&self, hash: &str) -> Result<Vec<BlobReferrer>> {
        self.read(|c| {
            let rows = c
                .query(
                    "SELECT d.id, d.household_id, d.village, d.township, r.media_type, r.size FROM blob_refs r
                     JOIN docs d ON d.id = r.doc_id WHERE r.hash = $1 ORDER BY d.id COLLATE \"C\"",
                    &[&hash],
                )
                .pg()?;
            Ok(rows
                .iter()
                .map(|r| BlobReferrer {
                    doc_id: r.get(0),
                    placement: Placement { household_id: r.get(1), village: r.get(2), township: r.get(3) },
                    media_type: r.get(4),
                    size: r.get::<_, i64>(5) as u64,
                })
                .collect())
        })
    }

    fn blob_stored(&self, hash: &str, media_type: &str, size: u64, now_ms: i64) -> Result<()> {
        self.read(|c| {
            c.execute(
                "INSERT INTO blobs (hash, media_type, size, complete, stored_ms) VALUES ($1, $2, $3, TRUE, $4)
                 ON CONFLICT (hash) DO UPDATE SET media_type = excluded.media_type, size = excluded.size,
                    complete = TRUE, stored_ms = COALESCE(blobs.stored_ms, excluded.stored_ms)",
                &[&hash, &media_type, &(size as i64), &now_ms],
            )
            .pg()?;
            Ok(())
        })
    }

    fn blob_refs_of(&self, doc_ids: &[String]) -> Result<Vec<(String, BlobRef)>> {
        self.read(|c| {
            let rows = c
                .query(
                    "SELECT doc_id, hash, media_type, size FROM blob_refs WHERE doc_id = ANY($1)
                     ORDER BY doc_id COLLATE \"C\", hash",
                    &[&doc_ids],
                )
                .pg()?;
            Ok(rows
                .iter()
                .map(|r| {
                    let reference = BlobRef { hash: r.get(1), media_type: r.get(2), size: r.get::<_, i64>(3) as u64 };
                    (r.get(0), reference)
                })
                .collect())
        })
    }

    fn referenced_blobs(&self) -> Result<BTreeSet<String>> {
        self.read(|c| {
            let rows = c.query("SELECT DISTINCT hash FROM blob_refs", &[]).pg()?;
            Ok(rows.iter().map(|r| r.get(0)).collect())
        })
    }

    fn unreferenced_blob_records(&self) -> Result<Vec<String>> {
        self.read(|c| {
            let rows = c
                .query(
                    "SELECT hash FROM blobs b WHERE NOT EXISTS (SELECT 1 FROM blob_refs r WHERE r.hash = b.hash)
                     ORDER BY hash COLLATE \"C\"",
                    &[],
                )
                .pg()?;
            Ok(rows.iter().map(|r| r.get(0)).collect())
        })
    }

    fn forget_blob(&self, hash: &str) -> Result<bool> {
        // Under the writer lock, so no push adds a reference between the check and the delete.
        self.writing_tx(|tx| {
            if tx.query_opt("SELECT 1 FROM blob_refs WHERE hash = $1 LIMIT 1", &[&hash]).pg()?.is_some() {
                return Ok(false);
            }
            tx.execute("DELETE FROM blobs WHERE hash = $1", &[&hash]).pg()?;
            Ok(true)
        })
    }
}

/// The visibility filter over `docs d`, with parameters `$4` (all), `$5` households, `$6` villages, `$7`
/// townships, `$8` the schedule-rules id.
const VISIBLE: &str = "($4 OR d.id = $8 OR d.household_id = ANY($5) OR d.village = ANY($6) OR d.township = ANY($7))";

/// Candidates after the cursor, as the SQLite store reads them. The queries of new documents and of changes each
/// stop after `limit` rows (rows of distinct, growing sequences), and the answer is then complete only up to the
/// last row read: that sequence comes back instead of the head, with `true`.
fn pull_candidates(tx: &mut pg::Transaction<'_>, q: &PullQuery, limit: usize) -> Result<(u64, Vec<Candidate>, bool)> {
    let head: i64 = tx.query_one("SELECT last_seq FROM counter WHERE id = 1", &[]).pg()?.get(0);
    let cursor = q.cursor as i64;
    let v = &q.visible;
    let list = |s: &BTreeSet<String>| s.iter().cloned().collect::<Vec<String>>();
    let (households, villages, townships) = (list(&v.households), list(&v.villages), list(&v.townships));
    let rules = doorstep_core::model::SCHEDULE_RULES_ID;
    let team = q.team.clone().unwrap_or_default();
    // $3 is the device for the first two queries and the user for the third; $9 the team.
    let by_device: Vec<&(dyn ToSql + Sync)> =
        vec![&cursor, &head, &q.device_id, &v.all, &households, &villages, &townships, &rules];
    // One row more than the limit tells whether the query stopped early.
    let fetch = limit.saturating_add(1).min(i64::MAX as usize) as i64;
    let mut limited = by_device.clone();
    limited.push(&fetch);
    let mut by_user = by_device.clone();
    by_user[2] = &q.user;
    by_user.push(&team);
    let mut out = Vec::new();
    let mut complete_to = head;
    // Appends candidates from `rows`, at most `cap`; when rows were left over, the sequence of the last one taken.
    let mut push = |rows: Vec<pg::Row>, how: CandidateKind, cap: usize| -> Option<i64> {
        let mut last = 0;
        for (read, r) in rows.iter().enumerate() {
            if read == cap {
                return Some(last);
            }
            last = r.get(0);
            out.push(Candidate {
                seq: last as u64,
                doc_id: r.get(1),
                kind: DocKind::parse(r.get(2)).unwrap_or_default(),
                how,
                len: r.get::<_, i64>(3) as u64,
            });
        }
        None
    };
    // Documents new to the device: created after its cursor and holding some change of another device.
    let rows = tx
        .query(
            &format!(
                "SELECT d.first_seq, d.id, d.kind, octet_length(d.bytes)::bigint FROM docs d
             WHERE d.first_seq > $1 AND d.first_seq <= $2 AND {VISIBLE}
               AND EXISTS (SELECT 1 FROM changes c WHERE c.doc_id = d.id AND c.device_id <> $3 AND c.seq <= $2)
             ORDER BY d.first_seq LIMIT $9"
            ),
            &limited,
        )
        .pg()?;
    if let Some(last) = push(rows, CandidateKind::NewDoc, limit) {
        complete_to = complete_to.min(last);
    }
    if cursor > 0 {
        // Other devices' changes to documents the device has.
        let rows = tx
            .query(
                &format!(
                "SELECT c.seq, d.id, d.kind, octet_length(c.bytes)::bigint FROM changes c JOIN docs d ON d.id = c.doc_id
                 WHERE c.seq > $1 AND c.seq <= $2 AND c.device_id <> $3 AND d.first_seq <= $1 AND {VISIBLE}
                 ORDER BY c.seq LIMIT $9"
            ),
                &limited,
            )
            .pg()?;
        if let Some(last) = push(rows, CandidateKind::Change, limit) {
            complete_to = complete_to.min(last);
        }
        // Documents that entered the device's scope after its cursor.
        let rows = tx
            .query(
                &format!(
                    "SELECT e.seq, d.id, d.kind, octet_length(d.bytes)::bigint FROM scope_events e JOIN docs d ON
                     (e.target_kind = 'household' AND d.household_id = e.target)
                  OR (e.target_kind = 'village' AND d.village = e.target)
                  OR (e.target_kind = 'township' AND d.township = e.target)
                 WHERE e.seq > $1 AND e.seq <= $2 AND d.first_seq <= $1 AND {VISIBLE}
                   AND ((e.subject_kind = 'user' AND e.subject = $3) OR (e.subject_kind = 'team' AND e.subject = $9)
                        OR e.subject_kind = 'anyone')
                 ORDER BY e.seq"
                ),
                &by_user,
            )
            .pg()?;
        push(rows, CandidateKind::EnteredScope, usize::MAX);
    }
    out.sort_by(|a, b| a.seq.cmp(&b.seq).then_with(|| a.doc_id.cmp(&b.doc_id)));
    Ok((complete_to as u64, out, complete_to < head))
}
