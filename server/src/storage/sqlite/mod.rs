//! The embedded SQLite store: one file `doorstep.db` in the data directory, WAL, `synchronous = FULL`.
//!
//! One writer connection behind a mutex (SQLite has one writer anyway), so sequences are handed out and committed
//! in the same order and a reader never sees sequence N+1 without N. A few reader connections serve pulls and pages
//! concurrently from WAL snapshots.

pub mod reports;
mod rows;
mod schema;
mod tx;

use super::*;
use doorstep_core::store::{index, schema::INDEX_DDL};
use rows::*;
use rusqlite::{params, Connection, ErrorCode, OptionalExtension, Transaction, TransactionBehavior};
use schema::*;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;
use tx::*;

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
        let this = Self { writer: Mutex::new(writer), readers };
        crate::storage::records::repack(&this)?;
        Ok(this)
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
        self.update_user(name, "UPDATE users SET disabled = ?2 WHERE name = ?1", params![name, disabled])
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

    fn lost_docs(&self, q: &PullQuery, up_to: u64) -> Result<Vec<(String, Placement)>> {
        self.with_reader(|c| lost_docs(c, q, up_to))
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
            for sql in sql::rename_sql(kind) {
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

    fn records(&self, ids: &[String]) -> Result<Vec<(String, Vec<u8>)>> {
        self.with_reader(|c| records_of(c, ids))
    }

    fn set_records(&self, records: &[(String, Vec<u8>)]) -> Result<()> {
        self.tx(|tx| {
            let mut set = tx.prepare_cached("UPDATE docs SET record = ?2 WHERE id = ?1")?;
            for (id, record) in records {
                set.execute(params![id, record])?;
            }
            Ok(())
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

    fn doc_ids_after(&self, after: &str, limit: u32) -> Result<Vec<String>> {
        self.with_reader(|c| {
            let mut stmt = c.prepare("SELECT id FROM docs WHERE id > ?1 ORDER BY id LIMIT ?2")?;
            let ids =
                stmt.query_map(rusqlite::params![after, limit], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
            Ok(ids)
        })
    }

    fn meta(&self, key: &str) -> Result<Option<String>> {
        self.with_reader(|c| {
            Ok(c.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0)).optional()?)
        })
    }

    fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        self.tx(|tx| {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [key, value],
            )?;
            Ok(())
        })
    }
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
