//! The SQLite store's write transaction: what a push or an admin change does inside one `BEGIN IMMEDIATE`.

use super::*;

pub(super) fn next_seq(tx: &Connection) -> Result<u64> {
    let seq: i64 = tx
        .prepare_cached("UPDATE counter SET last_seq = last_seq + 1 WHERE id = 1 RETURNING last_seq")?
        .query_row([], |r| r.get(0))?;
    Ok(seq as u64)
}

pub(super) fn insert_event(tx: &Connection, event: &ScopeEvent) -> Result<u64> {
    let seq = next_seq(tx)?;
    let [sk, s, tk, t] = event.columns();
    tx.prepare_cached(
        "INSERT INTO scope_events (seq, subject_kind, subject, target_kind, target) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![seq as i64, sk, s, tk, t])?;
    Ok(seq)
}

/// Runs a statement shared with PostgreSQL (`storage::sql`); the number of rows it changed.
fn run(tx: &Connection, st: &sql::Statement) -> Result<usize> {
    use rusqlite::types::Value;
    let values = st.params.iter().map(|p| match p {
        sql::Param::Text(s) => Value::Text(s.to_string()),
        sql::Param::Int(n) => Value::Integer(*n),
    });
    Ok(tx.prepare_cached(st.sql)?.execute(rusqlite::params_from_iter(values))?)
}

pub(super) struct SqliteTx<'a> {
    pub(super) tx: &'a Transaction<'a>,
}

impl WriteTx for SqliteTx<'_> {
    fn prefetch(&mut self, _doc_ids: &[&str], _hashes: &[&str]) -> Result<()> {
        // Each look-up is an in-process B-tree read: nothing to gain from reading ahead.
        Ok(())
    }

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

    fn save_derived(&mut self, d: &StoredDoc, rows: IndexRows, record: Option<Vec<u8>>) -> Result<()> {
        self.tx.prepare_cached(sql::SAVE_DOC)?.execute(params![
            d.id,
            d.kind.code(),
            d.bytes,
            d.heads.join(","),
            d.first_seq as i64,
            d.last_seq as i64,
            d.placement.household_id,
            d.placement.village,
            d.placement.township,
            d.updated_ms,
            record
        ])?;
        index::replace(self.tx, &d.id, &rows)?;
        for (kind, name, township) in d.device_places() {
            self.tx.prepare_cached(sql::DEVICE_PLACE)?.execute(params![kind, name, township, d.updated_ms])?;
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

    fn require_user(&mut self, name: &str) -> Result<()> {
        require_user(self.tx, name)
    }

    fn link(&mut self, link: &Link) -> Result<bool> {
        Ok(run(self.tx, &sql::link(link, now_ms()))? > 0)
    }

    fn unlink(&mut self, link: &Link) -> Result<bool> {
        Ok(run(self.tx, &sql::unlink(link))? > 0)
    }

    fn scope_event(&mut self, event: &ScopeEvent) -> Result<u64> {
        insert_event(self.tx, event)
    }

    fn scope_loss(&mut self, loss: &ScopeEvent) -> Result<u64> {
        let [sk, s, tk, t] = loss.columns();
        insert_loss_of(self.tx, sk, s, tk, t)
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

/// The villages of an inspector (`?1`) whose grant ended before a day (`?2`) and whose loss is not recorded since
/// the village was last granted.
pub(super) const ENDED_GRANTS: &str = "SELECT g.village FROM inspector_grants g WHERE g.user_name = ?1 AND g.until < ?2
      AND NOT EXISTS (SELECT 1 FROM scope_losses l WHERE l.subject_kind = 'user' AND l.subject = g.user_name
          AND l.target_kind = 'village' AND l.target = g.village
          AND l.seq > coalesce((SELECT max(e.seq) FROM scope_events e WHERE e.subject_kind = 'user'
              AND e.subject = g.user_name AND e.target_kind = 'village' AND e.target = g.village), 0))
    ORDER BY g.village";

/// Who saw a household through its village (`?1`) or township (`?2`): teams, areas, inspector grants.
pub(super) const MOVE_HOLDERS: &str = "SELECT 'team', team FROM team_villages WHERE village = ?1
    UNION SELECT 'user', user_name FROM areas
        WHERE (level = 'village' AND name = ?1) OR (level = 'township' AND name = ?2)
    UNION SELECT 'user', user_name FROM inspector_grants WHERE village = ?1";

/// Records a scope loss (`subject_kind` user or team, `target_kind` household, village or township).
pub(super) fn insert_loss_of(tx: &Connection, sk: &str, subject: &str, tk: &str, target: &str) -> Result<u64> {
    let seq = next_seq(tx)?;
    tx.execute(
        "INSERT INTO scope_losses (seq, subject_kind, subject, target_kind, target) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![seq as i64, sk, subject, tk, target],
    )?;
    Ok(seq)
}
