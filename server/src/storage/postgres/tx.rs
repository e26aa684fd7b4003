//! The PostgreSQL store's write transaction: the writer lock, then what a push or an admin change does inside it.

use super::*;

/// How long a writer waits for the writer lock before answering "unavailable" (503, the device retries later).
pub(super) const LOCK_TIMEOUT: &str = "30s";

/// Takes the writer lock: the counter row, held until commit or rollback (a crashed process's connection closes,
/// which rolls its transaction back and frees the lock).
pub(super) fn lock_writers(tx: &mut pg::Transaction<'_>) -> Result<()> {
    tx.batch_execute(&format!(
        "SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'; SELECT last_seq FROM counter WHERE id = 1 FOR UPDATE"
    ))
    .pg()?;
    Ok(())
}

pub(super) fn next_seq(tx: &mut pg::Transaction<'_>) -> Result<u64> {
    let seq: i64 =
        tx.query_one("UPDATE counter SET last_seq = last_seq + 1 WHERE id = 1 RETURNING last_seq", &[]).pg()?.get(0);
    Ok(seq as u64)
}

pub(super) fn insert_event(tx: &mut pg::Transaction<'_>, event: &ScopeEvent) -> Result<u64> {
    let seq = next_seq(tx)?;
    let [sk, s, tk, t] = event.columns();
    tx.execute(
        "INSERT INTO scope_events (seq, subject_kind, subject, target_kind, target) VALUES ($1, $2, $3, $4, $5)",
        &[&(seq as i64), &sk, &s, &tk, &t],
    )
    .pg()?;
    Ok(seq)
}

/// Runs a statement shared with SQLite (`storage::sql`); the number of rows it changed.
fn run(tx: &mut pg::Transaction<'_>, st: &sql::Statement) -> Result<u64> {
    let owned: Vec<Box<dyn ToSql + Sync>> = st
        .params
        .iter()
        .map(|p| -> Box<dyn ToSql + Sync> {
            match p {
                sql::Param::Text(s) => Box::new(s.to_string()),
                sql::Param::Int(n) => Box::new(*n),
            }
        })
        .collect();
    let values: Vec<&(dyn ToSql + Sync)> = owned.iter().map(|b| b.as_ref()).collect();
    tx.execute(&sql::to_pg(st.sql), &values).pg()
}

/// The villages of an inspector (`$1`) whose grant ended before a day (`$2`) and whose loss is not recorded since
/// the village was last granted.
pub(super) const ENDED_GRANTS: &str = "SELECT g.village FROM inspector_grants g WHERE g.user_name = $1 AND g.until < $2
      AND NOT EXISTS (SELECT 1 FROM scope_losses l WHERE l.subject_kind = 'user' AND l.subject = g.user_name
          AND l.target_kind = 'village' AND l.target = g.village
          AND l.seq > coalesce((SELECT max(e.seq) FROM scope_events e WHERE e.subject_kind = 'user'
              AND e.subject = g.user_name AND e.target_kind = 'village' AND e.target = g.village), 0))
    ORDER BY g.village";

/// Who saw a household through its village (`$1`) or township (`$2`): teams, areas, inspector grants.
pub(super) const MOVE_HOLDERS: &str = "SELECT 'team', team FROM team_villages WHERE village = $1
    UNION SELECT 'user', user_name FROM areas
        WHERE (level = 'village' AND name = $1) OR (level = 'township' AND name = $2)
    UNION SELECT 'user', user_name FROM inspector_grants WHERE village = $1";

/// Records a scope loss (`sk` user or team, `tk` household, village or township) at a fresh sequence number.
pub(super) fn insert_loss_of(
    tx: &mut pg::Transaction<'_>,
    sk: &str,
    subject: &str,
    tk: &str,
    target: &str,
) -> Result<u64> {
    let seq = next_seq(tx)?;
    tx.execute(
        "INSERT INTO scope_losses (seq, subject_kind, subject, target_kind, target) VALUES ($1, $2, $3, $4, $5)",
        &[&(seq as i64), &sk, &subject, &tk, &target],
    )
    .pg()?;
    Ok(seq)
}

/// A push's unit of work on PostgreSQL: the writer lock is held for its whole life.
pub(super) struct PgTx<'a> {
    pub(super) tx: pg::Transaction<'a>,
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
        // The record is saved beside its document, so pages read it without parsing the document.
        let (rows, record) = doorstep_core::store::index::derive_with_record(&d.id, d.kind, document)?;
        self.tx
            .execute(
                &sql::to_pg(sql::SAVE_DOC),
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
                    &record,
                ],
            )
            .pg()?;
        index::replace(&mut self.tx, &d.id, &rows)?;
        if d.kind == DocKind::Household {
            // A household in a place nobody added is kept; its place is listed for the admin to confirm or rename.
            let (p, sql) = (&d.placement, sql::to_pg(sql::DEVICE_PLACE));
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

    fn require_user(&mut self, name: &str) -> Result<()> {
        require_user(&mut self.tx, name)
    }

    fn link(&mut self, link: &Link) -> Result<bool> {
        Ok(run(&mut self.tx, &sql::link(link, now_ms()))? > 0)
    }

    fn unlink(&mut self, link: &Link) -> Result<bool> {
        Ok(run(&mut self.tx, &sql::unlink(link))? > 0)
    }

    fn scope_event(&mut self, event: &ScopeEvent) -> Result<u64> {
        insert_event(&mut self.tx, event)
    }

    fn scope_loss(&mut self, loss: &ScopeEvent) -> Result<u64> {
        let [sk, s, tk, t] = loss.columns();
        insert_loss_of(&mut self.tx, sk, s, tk, t)
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
