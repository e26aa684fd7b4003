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
use doorstep_core::model::{DocKind, Role};
pub use r2d2_postgres::postgres as pg;
use r2d2_postgres::postgres::types::ToSql;
use r2d2_postgres::{r2d2, PostgresConnectionManager};
use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

pub(crate) mod index;
mod pending;
pub mod reports;
mod rows;
pub mod schema;
mod tx;

use rows::*;
use tx::*;

/// Connections per server process; more concurrent storage calls wait for a free one.
pub(super) const POOL_SIZE: u32 = 8;
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

/// A read-only REPEATABLE READ transaction: every statement in it reads the same snapshot of the database.
fn snapshot(conn: &mut pg::Client) -> Result<pg::Transaction<'_>> {
    conn.build_transaction().isolation_level(pg::IsolationLevel::RepeatableRead).read_only(true).start().pg()
}

/// The PostgreSQL implementation of [`Storage`].
pub struct PostgresStorage {
    pool: Pool,
    /// This process's writers take turns here before they take a connection: only one can hold the database's
    /// writer lock at a time, and one waiting for it inside the database holds a connection pages and pulls need
    /// (at month end, every connection of the pool sat waiting and pushes were answered 503 after the pool's
    /// timeout). Other processes are still ordered by the lock in the database.
    writer: std::sync::Mutex<()>,
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
        let this = Self { pool: Pool(Some(pool)), writer: std::sync::Mutex::new(()) };
        schema::migrate(&mut *this.conn()?)?;
        crate::storage::records::repack(&this)?;
        Ok(this)
    }

    /// The reads the supervisors' pages are computed from, over the same database (and connection pool).
    pub fn report_source(&self) -> reports::PostgresReportSource {
        reports::PostgresReportSource::new(self.pool.clone())
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
        let _turn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
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
        self.update_user(name, "UPDATE users SET disabled = $2 WHERE name = $1", &[&name, &disabled])
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
            for sql in sql::rename_sql(kind) {
                let args: &[&(dyn ToSql + Sync)] = if sql.contains("?2") { &[&old, &new] } else { &[&old] };
                tx.execute(&sql::to_pg(sql), args).pg()?;
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

    fn scope_facts(&self, user: &str) -> Result<ScopeFacts> {
        let mut conn = self.conn()?;
        // One snapshot, so the facts agree with each other.
        let mut tx = snapshot(&mut conn)?;
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
        let _turn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let mut conn = self.conn()?;
        let mut tx = conn.transaction().pg()?;
        let last_seq = lock_writers(&mut tx)?;
        let mut unit = PgTx::new(tx, last_seq);
        // On `Err` the transaction is dropped, which rolls it back (and releases the writer lock).
        work(&mut unit)?;
        unit.commit()
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
        let mut tx = snapshot(&mut conn)?;
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

    fn records(&self, ids: &[String]) -> Result<Vec<(String, Vec<u8>)>> {
        self.read(|c| records_of(c, ids))
    }

    fn set_records(&self, records: &[(String, Vec<u8>)]) -> Result<()> {
        let (ids, packed): (Vec<&str>, Vec<&[u8]>) = records.iter().map(|(i, r)| (i.as_str(), r.as_slice())).unzip();
        self.tx(|tx| {
            tx.execute(
                "UPDATE docs SET record = r.record FROM unnest($1::text[], $2::bytea[]) AS r(id, record) WHERE docs.id = r.id",
                &[&ids, &packed],
            )
            .pg()?;
            Ok(())
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

    fn doc_ids_after(&self, after: &str, limit: u32) -> Result<Vec<String>> {
        self.read(|c| {
            let rows =
                c.query("SELECT id FROM docs WHERE id > $1 ORDER BY id LIMIT $2", &[&after, &(limit as i64)]).pg()?;
            Ok(rows.iter().map(|r| r.get(0)).collect())
        })
    }

    fn meta(&self, key: &str) -> Result<Option<String>> {
        self.read(|c| Ok(c.query_opt("SELECT value FROM meta WHERE key = $1", &[&key]).pg()?.map(|r| r.get(0))))
    }

    fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        self.read(|c| {
            c.execute(
                "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                &[&key, &value],
            )
            .pg()?;
            Ok(())
        })
    }
}
