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
    /// Its unsynced changes were set aside by hand so that another account could sign in on the device.
    pub const HANDED_OVER: &str = "handed_over";
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

    /// Sets aside every document with changes the server has not acknowledged, in one transaction: the previous
    /// account's unsynced work, kept for export, before another account signs in on the device. Returns how many.
    pub fn set_aside_unsynced(&mut self, why: &str) -> Result<u64> {
        self.conn.execute_batch(DDL)?;
        let ids: Vec<String> = {
            let mut stmt = self.conn.prepare("SELECT DISTINCT doc_id FROM changes WHERE acked = 0 ORDER BY doc_id")?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let tx = self.conn.transaction()?;
        let mut n = 0;
        for id in &ids {
            if keep(&tx, id, why)? {
                delete(&tx, id)?;
                n += 1;
            }
        }
        tx.commit()?;
        Ok(n)
    }

    /// Forgets every document on the device (the set-aside table stays): what the previous account held must not
    /// show to the next one. Anything still unsynced is set aside first, as when leaving the scope.
    pub fn forget_documents(&mut self) -> Result<Wiped> {
        let ids: Vec<String> = {
            let mut stmt = self.conn.prepare("SELECT id FROM docs ORDER BY id")?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let wiped = self.wipe_docs(&ids)?;
        self.sweep_blobs()?;
        Ok(wiped)
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

    /// Whether the household of a held visit or screening is itself set aside on this device: then the record
    /// cannot reach the server either and is set aside with it, instead of waiting for a household that never comes.
    pub fn household_set_aside(&self, doc_id: &str) -> Result<bool> {
        self.conn.execute_batch(DDL)?;
        Ok(self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM set_aside WHERE doc_id IN (
                 SELECT household_id FROM ix_visits WHERE doc_id = ?1
                 UNION SELECT household_id FROM ix_screenings WHERE doc_id = ?1))",
            [doc_id],
            |r| r.get(0),
        )?)
    }

    /// The visits and screenings this device holds of the same household as this one (itself included).
    pub fn records_of_same_household(&self, doc_id: &str) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare_cached(
            "WITH h AS (SELECT household_id FROM ix_visits WHERE doc_id = ?1
                        UNION SELECT household_id FROM ix_screenings WHERE doc_id = ?1)
             SELECT doc_id FROM ix_visits WHERE household_id IN (SELECT household_id FROM h)
             UNION SELECT doc_id FROM ix_screenings WHERE household_id IN (SELECT household_id FROM h)",
        )?;
        let ids = stmt.query_map([doc_id], |r| r.get::<_, String>(0))?;
        Ok(ids.collect::<rusqlite::Result<_>>()?)
    }

    /// Puts set-aside documents back into the sync queue when what decided their refusal may have changed: their
    /// household is on this device again and was written (by a pulled page or here) after they were set aside. A
    /// visit set aside because its household was not on the server yet, or a household reassigned back to this
    /// helper, then goes up at the next push; one refused again is set aside again, and waits for the next change of
    /// its household. Returns the ids put back.
    pub fn retry_set_aside(&mut self) -> Result<Vec<String>> {
        self.conn.execute_batch(DDL)?;
        let candidates: Vec<(String, String, Vec<u8>, i64)> = {
            let mut stmt =
                self.conn.prepare("SELECT doc_id, kind, bytes, at_ms FROM set_aside ORDER BY at_ms, doc_id")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let mut due = Vec::new();
        for (id, kind, bytes, at_ms) in candidates {
            let household = match DocKind::parse(&kind) {
                Some(DocKind::Household) => id.clone(),
                Some(DocKind::Visit | DocKind::Screening) => match household_of(&kind, &bytes) {
                    Ok(h) => h,
                    Err(_) => continue,
                },
                _ => continue,
            };
            let changed: bool = self.conn.query_row(
                "SELECT EXISTS (SELECT 1 FROM docs WHERE id = ?1 AND updated_ms > ?2)",
                params![household, at_ms],
                |r| r.get(0),
            )?;
            if changed {
                due.push((id, kind, bytes));
            }
        }
        if due.is_empty() {
            return Ok(vec![]);
        }
        let now = now_ms();
        let mine = self.actor.to_hex_string();
        let tx = self.conn.transaction()?;
        let mut restored = Vec::new();
        for (id, kind, bytes) in due {
            let kind = DocKind::parse(&kind).unwrap_or_default();
            let mut doc = Document::load(&bytes, &self.actor)?;
            let held: Option<Vec<u8>> =
                tx.query_row("SELECT bytes FROM docs WHERE id = ?1", [&id], |r| r.get(0)).optional()?;
            if let Some(held) = held {
                doc.merge(&mut Document::load(&held, &self.actor)?)?;
            }
            super::save_doc(&tx, &id, kind, &mut doc, now)?;
            // Every change the device has no row for goes up again; the server acknowledges the ones it already has
            // without storing them twice.
            for change in doc.changes() {
                let local = change.actor == mine;
                super::insert_change(&tx, &id, &change, local, now)?;
            }
            index::reindex(&tx, &id, kind, &mut doc)?;
            super::blobs::refresh_refs(&tx, &id, kind, &mut doc)?;
            tx.execute("DELETE FROM set_aside WHERE doc_id = ?1", [&id])?;
            restored.push(id);
        }
        tx.commit()?;
        Ok(restored)
    }

    /// The attachments the set-aside documents refer to: their bytes stay on the device with them.
    pub(super) fn set_aside_blob_hashes(&self) -> Result<std::collections::HashSet<String>> {
        self.conn.execute_batch(DDL)?;
        let mut stmt = self.conn.prepare("SELECT kind, bytes FROM set_aside WHERE kind IN ('visit', 'screening')")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?)))?;
        let mut out = std::collections::HashSet::new();
        for row in rows {
            let (kind, bytes) = row?;
            let Some(kind) = DocKind::parse(&kind) else { continue };
            let mut doc = Document::load(&bytes, &automerge::ActorId::random())?;
            out.extend(super::blobs::live_refs(kind, &mut doc)?.into_iter().map(|r| r.hash));
        }
        Ok(out)
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

/// The household a set-aside visit or screening belongs to, read from its saved document.
fn household_of(kind: &str, bytes: &[u8]) -> Result<String> {
    let doc = Document::load(bytes, &automerge::ActorId::random())?;
    match DocKind::parse(kind) {
        Some(DocKind::Visit) => Ok(doc.read::<Visit>()?.household_id),
        Some(DocKind::Screening) => Ok(doc.read::<Screening>()?.household_id),
        _ => Err(Error::Document(format!("{kind} has no household"))),
    }
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
