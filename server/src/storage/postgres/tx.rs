//! The PostgreSQL store's write transaction: the writer lock, then what a push or an admin change does inside it.

use super::pending::Pending;
use super::*;

/// How long a writer waits for the writer lock before answering "unavailable" (503, the device retries later).
pub(super) const LOCK_TIMEOUT: &str = "30s";

/// Takes the writer lock: the counter row, held until commit or rollback (a crashed process's connection closes,
/// which rolls its transaction back and frees the lock). Returns the last sequence handed out.
pub(super) fn lock_writers(tx: &mut pg::Transaction<'_>) -> Result<u64> {
    tx.batch_execute(&format!("SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")).pg()?;
    let seq: i64 = tx.query_one("SELECT last_seq FROM counter WHERE id = 1 FOR UPDATE", &[]).pg()?.get(0);
    Ok(seq as u64)
}

pub(super) fn next_seq(tx: &mut pg::Transaction<'_>) -> Result<u64> {
    let seq: i64 =
        tx.query_one("UPDATE counter SET last_seq = last_seq + 1 WHERE id = 1 RETURNING last_seq", &[]).pg()?.get(0);
    Ok(seq as u64)
}

/// Records a scope event at a sequence number handed out already.
fn insert_event_at(tx: &mut pg::Transaction<'_>, seq: u64, event: &ScopeEvent) -> Result<u64> {
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
    insert_loss_at(tx, seq, sk, subject, tk, target)
}

/// `insert_loss_of` at a sequence number handed out already.
fn insert_loss_at(
    tx: &mut pg::Transaction<'_>,
    seq: u64,
    sk: &str,
    subject: &str,
    tk: &str,
    target: &str,
) -> Result<u64> {
    tx.execute(
        "INSERT INTO scope_losses (seq, subject_kind, subject, target_kind, target) VALUES ($1, $2, $3, $4, $5)",
        &[&(seq as i64), &sk, &subject, &tk, &target],
    )
    .pg()?;
    Ok(seq)
}

/// A push's unit of work on PostgreSQL: the writer lock is held for its whole life, and its writes wait in
/// `pending` until it ends (or until a statement that reads what they change).
pub(super) struct PgTx<'a> {
    pub(super) tx: pg::Transaction<'a>,
    pending: Pending,
    /// Documents read (or known absent) in this unit of work.
    docs: HashMap<String, Option<StoredDoc>>,
    /// Change hashes known to be stored, or known not to be (`prefetch`).
    changes: HashMap<String, bool>,
}

impl<'a> PgTx<'a> {
    /// A unit of work in `tx`, whose writer lock read `last_seq`.
    pub(super) fn new(tx: pg::Transaction<'a>, last_seq: u64) -> Self {
        Self { tx, pending: Pending::after(last_seq), docs: HashMap::new(), changes: HashMap::new() }
    }

    /// Sends what is pending and commits.
    pub(super) fn commit(mut self) -> Result<()> {
        self.pending.flush(&mut self.tx)?;
        self.tx.commit().pg()
    }

    /// Sends what is pending, before a statement that reads it.
    fn flush(&mut self) -> Result<()> {
        self.pending.flush(&mut self.tx)
    }
}

impl WriteTx for PgTx<'_> {
    fn prefetch(&mut self, doc_ids: &[&str], hashes: &[&str]) -> Result<()> {
        let ids: Vec<&str> = doc_ids.iter().copied().filter(|id| !self.docs.contains_key(*id)).collect();
        if !ids.is_empty() {
            let rows = self.tx.query(&format!("SELECT {DOC_COLS} FROM docs WHERE id = ANY($1)"), &[&ids]).pg()?;
            for id in ids {
                self.docs.insert(id.to_string(), None);
            }
            for r in &rows {
                let d = doc_row(r);
                self.docs.insert(d.id.clone(), Some(d));
            }
        }
        if !hashes.is_empty() {
            let rows = self.tx.query("SELECT hash FROM changes WHERE hash = ANY($1)", &[&hashes]).pg()?;
            for h in hashes {
                self.changes.insert(h.to_string(), false);
            }
            for r in &rows {
                self.changes.insert(r.get(0), true);
            }
        }
        Ok(())
    }

    fn doc(&mut self, id: &str) -> Result<Option<StoredDoc>> {
        if let Some(d) = self.pending.doc(id) {
            return Ok(Some(d.clone()));
        }
        if let Some(d) = self.docs.get(id) {
            return Ok(d.clone());
        }
        let d = load_doc(&mut self.tx, id)?;
        self.docs.insert(id.to_string(), d.clone());
        Ok(d)
    }

    fn change_exists(&mut self, hash: &str) -> Result<bool> {
        if self.pending.has_change(hash) {
            return Ok(true);
        }
        if let Some(known) = self.changes.get(hash) {
            return Ok(*known);
        }
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
        Ok(self.pending.next_seq())
    }

    fn raise_cursor_floor(&mut self, device_id: &str, cursor: u64) -> Result<u64> {
        // Reads the counter.
        self.flush()?;
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
        self.pending.insert_change(c);
        Ok(())
    }

    fn save_derived(&mut self, d: &StoredDoc, rows: IndexRows, record: Option<Vec<u8>>) -> Result<()> {
        self.docs.remove(&d.id);
        self.pending.save_doc(d.clone(), record, rows);
        Ok(())
    }

    fn move_dependents(&mut self, household_id: &str, p: &Placement) -> Result<()> {
        // Documents read before keep their place as the database will hold it.
        for d in self.docs.values_mut().flatten() {
            if d.placement.household_id.as_deref() == Some(household_id) {
                d.placement.village = p.village.clone();
                d.placement.township = p.township.clone();
            }
        }
        self.pending.move_dependents(household_id, p);
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
        let seq = self.pending.next_seq();
        insert_event_at(&mut self.tx, seq, event)
    }

    fn scope_loss(&mut self, loss: &ScopeEvent) -> Result<u64> {
        let [sk, s, tk, t] = loss.columns();
        let seq = self.pending.next_seq();
        insert_loss_at(&mut self.tx, seq, sk, s, tk, t)
    }

    fn record_move_loss(&mut self, household_id: &str, old: &Placement) -> Result<()> {
        let rows = self.tx.query(MOVE_HOLDERS, &[&old.village, &old.township]).pg()?;
        for r in rows {
            let (kind, subject): (String, String) = (r.get(0), r.get(1));
            let seq = self.pending.next_seq();
            insert_loss_at(&mut self.tx, seq, &kind, &subject, "household", household_id)?;
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
        self.pending.set_blob_refs(doc_id, refs);
        Ok(())
    }
}
