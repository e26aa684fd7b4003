//! Leaving the scope on the device, with nothing lost silently.
//!
//! - A sync answer lists documents that left the account's scope (a household reassigned to another helper, with its
//!   visits and screenings): [`Store::wipe_docs`] deletes them — saved document, change-log rows, index rows — in
//!   one transaction. Its pending changes went up in the same request before; one still unacknowledged is set aside
//!   first.
//! - A push refused as out of scope names the refused document: [`Store::set_aside`] moves it out of the sync queue
//!   into the `set_aside` table (in the same encrypted file), so the rest of the device's work syncs, and the app
//!   lists it ([`Store::set_aside_docs`]) and exports it for hand-over.
//!
//! The `set_aside` table is created on first use (`CREATE TABLE IF NOT EXISTS`), device-only and never synced.

use super::{index, now_ms, Store};
use crate::doc::Document;
use crate::error::{Error, Result};
use crate::model::{DocKind, Household, RulesDoc, Screening, Visit};
use rusqlite::{params, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};

const DDL: &str = "CREATE TABLE IF NOT EXISTS set_aside (
    doc_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    -- The saved Automerge document as the device held it: every change, synced or not.
    bytes BLOB NOT NULL,
    -- How many of its changes the server never acknowledged.
    unsynced INTEGER NOT NULL,
    reason TEXT NOT NULL,
    at_ms INTEGER NOT NULL
)";

/// Why a document was set aside.
pub mod reason {
    /// The server refused a push of it as out of the account's scope.
    pub const REFUSED: &str = "out_of_scope";
    /// It left the scope while changes to it were still waiting to go up.
    pub const LEFT_SCOPE: &str = "left_scope";
}

/// A document kept on the device for hand-over because it can no longer be synced from here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, uniffi::Record)]
pub struct SetAsideDoc {
    pub doc_id: String,
    pub kind: String,
    /// Changes of it the server never acknowledged.
    pub unsynced: u64,
    /// `out_of_scope` (a push was refused) or `left_scope` (it left the scope with changes still pending).
    pub reason: String,
    pub at_ms: i64,
    /// The record as JSON, for people and for entering it again elsewhere.
    pub record_json: String,
    /// The saved Automerge document (hex), which another device or the server can merge without losing history.
    pub automerge_hex: String,
}

/// What [`Store::wipe_docs`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Wiped {
    /// Documents deleted from the device.
    pub wiped: u64,
    /// Of those, documents that still had unacknowledged changes and were set aside first.
    pub set_aside: u64,
}

impl Store {
    /// Deletes documents this device may no longer hold, in one transaction. A document with changes the server has
    /// not acknowledged is set aside first (kept for hand-over), never dropped. Unknown ids are ignored, so a page
    /// applied twice wipes nothing twice.
    pub fn wipe_docs(&mut self, ids: &[String]) -> Result<Wiped> {
        let mut out = Wiped::default();
        if ids.is_empty() {
            return Ok(out);
        }
        self.conn.execute_batch(DDL)?;
        let ids = with_dependents(&self.conn, ids)?;
        let tx = self.conn.transaction()?;
        for id in &ids {
            let pending: i64 =
                tx.query_row("SELECT count(*) FROM changes WHERE doc_id = ?1 AND acked = 0", [id], |r| r.get(0))?;
            if pending > 0 && keep(&tx, id, reason::LEFT_SCOPE)? {
                out.set_aside += 1;
            }
            if delete(&tx, id)? {
                out.wiped += 1;
            }
        }
        tx.commit()?;
        Ok(out)
    }

    /// Moves a document out of the sync queue into the set-aside table and off the device's lists, in one
    /// transaction; true when the device held it.
    pub fn set_aside(&mut self, doc_id: &str, why: &str) -> Result<bool> {
        self.conn.execute_batch(DDL)?;
        let tx = self.conn.transaction()?;
        let kept = keep(&tx, doc_id, why)?;
        if kept {
            delete(&tx, doc_id)?;
        }
        tx.commit()?;
        Ok(kept)
    }

    /// Every document set aside, oldest first, with its record as JSON: what the app shows and hands over.
    pub fn set_aside_docs(&self) -> Result<Vec<SetAsideDoc>> {
        self.conn.execute_batch(DDL)?;
        let mut stmt = self
            .conn
            .prepare("SELECT doc_id, kind, bytes, unsynced, reason, at_ms FROM set_aside ORDER BY at_ms, doc_id")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Vec<u8>>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, i64>(5)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (doc_id, kind, bytes, unsynced, reason, at_ms) = row?;
            let record_json =
                record_json(&kind, &bytes).unwrap_or_else(|e| format!("{{\"error\": {:?}}}", e.to_string()));
            let automerge_hex = bytes.iter().map(|b| format!("{b:02x}")).collect();
            out.push(SetAsideDoc {
                doc_id,
                kind,
                unsynced: unsynced as u64,
                reason,
                at_ms,
                record_json,
                automerge_hex,
            });
        }
        Ok(out)
    }

    /// How many changes the server has not acknowledged to these documents and to the visits and screenings of
    /// those that are households (a visit recorded here may be unknown to the server, so not listed by it).
    pub fn unsynced_count(&self, ids: &[String]) -> Result<u64> {
        let mut stmt = self.conn.prepare_cached("SELECT count(*) FROM changes WHERE doc_id = ?1 AND acked = 0")?;
        let mut n = 0u64;
        for id in with_dependents(&self.conn, ids)? {
            n += stmt.query_row([&id], |r| r.get::<_, i64>(0))? as u64;
        }
        Ok(n)
    }

    /// How many documents are set aside.
    pub fn set_aside_count(&self) -> Result<u64> {
        self.conn.execute_batch(DDL)?;
        Ok(self.conn.query_row("SELECT count(*) FROM set_aside", [], |r| r.get::<_, i64>(0))? as u64)
    }
}

/// The ids, plus the visits and screenings this device holds of those that are households.
fn with_dependents(conn: &rusqlite::Connection, ids: &[String]) -> Result<Vec<String>> {
    let mut out: Vec<String> = ids.to_vec();
    let mut seen: std::collections::HashSet<String> = ids.iter().cloned().collect();
    let mut stmt = conn.prepare_cached(
        "SELECT doc_id FROM ix_visits WHERE household_id = ?1 UNION SELECT doc_id FROM ix_screenings WHERE household_id = ?1",
    )?;
    for id in ids {
        for dep in stmt.query_map([id], |r| r.get::<_, String>(0))? {
            let dep = dep?;
            if seen.insert(dep.clone()) {
                out.push(dep);
            }
        }
    }
    Ok(out)
}

/// Copies a held document into `set_aside` (merging with an earlier copy of it); false when the device lacks it.
fn keep(tx: &Transaction, id: &str, why: &str) -> Result<bool> {
    let Some((kind, bytes)) = tx
        .query_row("SELECT kind, bytes FROM docs WHERE id = ?1", [id], |r| Ok((r.get::<_, String>(0)?, r.get(1)?)))
        .optional()?
    else {
        return Ok(false);
    };
    let bytes: Vec<u8> = bytes;
    let unsynced: i64 =
        tx.query_row("SELECT count(*) FROM changes WHERE doc_id = ?1 AND acked = 0", [id], |r| r.get(0))?;
    let earlier: Option<(Vec<u8>, i64)> = tx
        .query_row("SELECT bytes, unsynced FROM set_aside WHERE doc_id = ?1", [id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let (bytes, unsynced) = match earlier {
        Some((old, n)) => {
            let actor = automerge::ActorId::random();
            let mut doc = Document::load(&bytes, &actor)?;
            doc.merge(&mut Document::load(&old, &actor)?)?;
            (doc.save(), unsynced + n)
        }
        None => (bytes, unsynced),
    };
    tx.execute(
        "INSERT OR REPLACE INTO set_aside (doc_id, kind, bytes, unsynced, reason, at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![id, kind, bytes, unsynced, why, now_ms()],
    )?;
    Ok(true)
}

/// Deletes a document with its change-log rows, index rows and attachment references; true when it was there.
fn delete(tx: &Transaction, id: &str) -> Result<bool> {
    let n = tx.execute("DELETE FROM docs WHERE id = ?1", [id])?;
    tx.execute("DELETE FROM changes WHERE doc_id = ?1", [id])?;
    index::clear(tx, id)?;
    tx.execute("DELETE FROM attachment_refs WHERE doc_id = ?1", [id])?;
    Ok(n > 0)
}

fn record_json(kind: &str, bytes: &[u8]) -> Result<String> {
    let doc = Document::load(bytes, &automerge::ActorId::random())?;
    let value = match DocKind::parse(kind) {
        Some(DocKind::Household) => serde_json::to_value(doc.read::<Household>()?),
        Some(DocKind::Visit) => serde_json::to_value(doc.read::<Visit>()?),
        Some(DocKind::Screening) => serde_json::to_value(doc.read::<Screening>()?),
        Some(DocKind::Rules) => serde_json::to_value(doc.read::<RulesDoc>()?),
        None => return Err(Error::Document(format!("unknown kind {kind}"))),
    };
    value.map(|v| v.to_string()).map_err(|e| Error::Document(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::samples;

    fn count(store: &Store, sql: &str, id: &str) -> i64 {
        store.conn().query_row(sql, [id], |r| r.get(0)).unwrap()
    }

    #[test]
    fn wiping_deletes_documents_with_their_rows_and_sets_aside_what_is_unsynced() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db"), &[3u8; 32], "phone").unwrap();
        let h = samples::household();
        store.put(&h, "2026-11-20").unwrap();
        let mut v = samples::visit();
        v.household_id = h.id.clone();
        store.put(&v, "2026-11-20").unwrap();
        // The household went up; the visit did not.
        let acked: Vec<String> = store
            .pending_changes(usize::MAX)
            .unwrap()
            .into_iter()
            .filter(|p| p.doc_id == h.id)
            .map(|p| p.change.hash)
            .collect();
        store.mark_acked(&acked).unwrap();

        let wiped = store.wipe_docs(&[h.id.clone(), v.id.clone(), "unknown".into()]).unwrap();
        assert_eq!(wiped, Wiped { wiped: 2, set_aside: 1 });
        for id in [&h.id, &v.id] {
            assert_eq!(count(&store, "SELECT count(*) FROM docs WHERE id = ?1", id), 0);
            assert_eq!(count(&store, "SELECT count(*) FROM changes WHERE doc_id = ?1", id), 0);
        }
        assert_eq!(count(&store, "SELECT count(*) FROM ix_households WHERE doc_id = ?1", &h.id), 0);
        assert_eq!(count(&store, "SELECT count(*) FROM ix_members WHERE household_id = ?1", &h.id), 0);
        assert_eq!(count(&store, "SELECT count(*) FROM ix_visits WHERE doc_id = ?1", &v.id), 0);
        assert_eq!(store.pending_count().unwrap(), 0);
        let kept = store.set_aside_docs().unwrap();
        assert_eq!(kept.len(), 1, "only the visit had unsynced changes");
        assert_eq!(
            (kept[0].doc_id.as_str(), kept[0].reason.as_str(), kept[0].unsynced),
            (v.id.as_str(), reason::LEFT_SCOPE, 1)
        );
        let record: Visit = serde_json::from_str(&kept[0].record_json).unwrap();
        assert_eq!(record, v, "the record is kept whole");
        assert_eq!(store.wipe_docs(&[h.id.clone()]).unwrap(), Wiped::default(), "wiping again does nothing");
    }

    #[test]
    fn a_refused_document_is_set_aside_out_of_the_sync_queue() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db"), &[3u8; 32], "phone").unwrap();
        let h = samples::household();
        store.put(&h, "2026-11-20").unwrap();
        let mut edited = h.clone();
        edited.phone = "13900000001".into();
        store.put(&edited, "2026-11-21").unwrap();
        assert!(store.set_aside(&h.id, reason::REFUSED).unwrap());
        assert!(!store.set_aside("unknown", reason::REFUSED).unwrap());
        assert_eq!(store.pending_count().unwrap(), 0, "no longer blocks the sync");
        assert_eq!(store.set_aside_count().unwrap(), 1);
        let kept = &store.set_aside_docs().unwrap()[0];
        assert_eq!((kept.unsynced, kept.reason.as_str()), (2, reason::REFUSED));
        let bytes: Vec<u8> = (0..kept.automerge_hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&kept.automerge_hex[i..i + 2], 16).unwrap())
            .collect();
        let back: Household = Document::load(&bytes, &automerge::ActorId::random()).unwrap().read().unwrap();
        assert_eq!(back, edited, "the whole history is exportable");
    }
}
