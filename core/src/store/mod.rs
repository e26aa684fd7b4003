//! The encrypted on-device store: saved documents, the change log and derived index rows in one SQLite file.
//!
//! Every user write is one transaction holding the new document, its change and its index rows, so a killed app
//! finds either the whole write or none of it. Opening a store reads no document: lists come from index rows and a
//! document is parsed only when it is written or shown in detail.

pub mod blobs;
pub mod index;
pub mod migrate;
pub mod schema;
pub mod scope_exit;

pub use index::effective_referral;

use crate::doc::{Author, ChangeRecord, Document};
use crate::error::{Error, Result};
use crate::model::{form, DocKind, Record};
use automerge::ActorId;
use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};
use std::collections::HashSet;
use std::path::Path;

/// Length of the raw store key the app keeps in Android Keystore or the iOS Keychain.
pub const KEY_LEN: usize = 32;

/// A change the server has not acknowledged yet, ready to push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingChange {
    pub doc_id: String,
    pub kind: DocKind,
    pub change: ChangeRecord,
}

/// What a pull delivers for one document: a compacted snapshot (fresh device) and/or individual changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    pub doc_id: String,
    pub kind: DocKind,
    pub snapshot: Option<Vec<u8>>,
    pub changes: Vec<Vec<u8>>,
}

/// The opened store: one object the app holds for as long as the user is signed in.
pub struct Store {
    conn: Connection,
    actor: ActorId,
    author: Author,
    /// Encrypted attachment bytes beside the SQLite file (`blobs`).
    blobs: blobs::BlobDir,
    limits: crate::attachment::AttachmentLimits,
}

impl Store {
    /// Opens (creating if needed) the store at `path` with a 32-byte key; a wrong key is `Error::WrongKey`.
    pub fn open(path: &Path, key: &[u8], device: &str) -> Result<Self> {
        if key.len() != KEY_LEN {
            return Err(Error::invalid("key", &format!("must be {KEY_LEN} bytes")));
        }
        let mut conn = Connection::open(path)?;
        apply_key(&conn, "key", key)?;
        conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0))
            .map_err(|_| Error::WrongKey)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // FULL: a write that returned survives power loss too, not only a killed process.
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", true)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        schema::migrate(&mut conn)?;
        let actor = match meta_get(&conn, "actor")? {
            Some(hex) => ActorId::from(hex_decode(&hex).ok_or_else(|| Error::Document("bad actor id".into()))?),
            None => {
                let actor = ActorId::random();
                meta_set(&conn, "actor", &actor.to_hex_string())?;
                actor
            }
        };
        meta_set(&conn, "device", device)?;
        let user = meta_get(&conn, "user")?.unwrap_or_default();
        let blobs = blobs::BlobDir::new(path, key)?;
        let author = Author { user, device: device.to_string() };
        let mut store = Self { conn, actor, author, blobs, limits: Default::default() };
        // Files an attach or a rekey was killed in the middle of; a failure here only leaves them for next time.
        let _ = store.sweep_blobs();
        Ok(store)
    }

    /// Changes the store key (after the app rotates it in the keystore); blob files are re-encrypted under it.
    pub fn rekey(&mut self, new_key: &[u8]) -> Result<()> {
        if new_key.len() != KEY_LEN {
            return Err(Error::invalid("key", &format!("must be {KEY_LEN} bytes")));
        }
        let next = self.rekey_blobs(new_key)?;
        apply_key(&self.conn, "rekey", new_key)?;
        let old = std::mem::replace(&mut self.blobs, next);
        self.drop_old_blobs(&old)
    }

    /// The signed-in user, written into every change this device makes.
    pub fn set_user(&mut self, user: &str) -> Result<()> {
        meta_set(&self.conn, "user", user)?;
        self.author.user = user.to_string();
        Ok(())
    }

    pub fn author(&self) -> &Author {
        &self.author
    }

    /// This device's Automerge actor id, hex.
    pub fn actor(&self) -> String {
        self.actor.to_hex_string()
    }

    /// Gives the device a new Automerge actor id for the changes it makes from now on: another account signed in,
    /// and the server binds each actor to one device of one account. Returns the new id, hex.
    pub fn rotate_actor(&mut self) -> Result<String> {
        let actor = ActorId::random();
        meta_set(&self.conn, "actor", &actor.to_hex_string())?;
        self.actor = actor;
        Ok(self.actor())
    }

    /// Direct read access for queries and tests; writes go through the methods below.
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// The document format new documents are created in: the one the server's deployment writes, as its last sync
    /// answer said. A store that has synced before that was said keeps format 1 (its server may read nothing else);
    /// a new store writes the current format.
    pub fn creating_format(&self) -> Result<i64> {
        if let Some(format) = self.meta(crate::sync::client::meta::DOCUMENT_FORMAT)?.and_then(|f| f.parse().ok()) {
            return Ok(format);
        }
        let synced = self.meta(crate::sync::client::meta::CURSOR)?.is_some_and(|c| c != "0");
        Ok(if synced { form::LEGACY } else { form::CURRENT })
    }

    /// Reads a value of the device's metadata (sync cursor, server URL, token, …).
    pub fn meta(&self, key: &str) -> Result<Option<String>> {
        meta_get(&self.conn, key)
    }

    pub fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        meta_set(&self.conn, key, value)
    }

    /// Validates and saves a record: creates its document or writes the fields that changed, in one transaction
    /// with its change and index rows. Returns the change, or `None` when nothing differed. Besides the record's
    /// own rules, a change is checked against the version the store holds (`Record::validate_change`: a household's
    /// new status or alert level needs a new dated history entry), read in the same transaction as the write.
    pub fn put<R: Record>(&mut self, record: &R, today: &str) -> Result<Option<ChangeRecord>> {
        let errors = record.validate(today);
        if !errors.is_empty() {
            return Err(Error::Validation(errors));
        }
        self.write_checked(record, Some(today), |_| Ok(()))
    }

    /// Saves without validation, for tombstones and merges of records that were valid when written.
    fn write<R: Record>(&mut self, record: &R) -> Result<Option<ChangeRecord>> {
        self.write_with(record, |_| Ok(()))
    }

    /// `write`, with more rows written by `also` in the same transaction (an attachment and its reference).
    fn write_with<R: Record>(
        &mut self,
        record: &R,
        also: impl FnOnce(&Transaction) -> Result<()>,
    ) -> Result<Option<ChangeRecord>> {
        self.write_checked(record, None, also)
    }

    /// `write_with`; with `check_change` (today's date), the change from the stored version is validated first.
    fn write_checked<R: Record>(
        &mut self,
        record: &R,
        check_change: Option<&str>,
        also: impl FnOnce(&Transaction) -> Result<()>,
    ) -> Result<Option<ChangeRecord>> {
        let id = record.id().to_string();
        let now = now_ms();
        // The document is read inside the write transaction: another handle on this file (a sync worker) cannot
        // write it between this read and the save below.
        let tx = self.write_tx()?;
        let mut created = false;
        let (mut doc, change) = match self.load_doc(&id)? {
            Some((kind, _)) if kind != R::KIND => {
                return Err(Error::invalid("id", &format!("{id} is a {kind}, not a {}", R::KIND)));
            }
            Some((_, mut doc)) => {
                if let Some(today) = check_change {
                    let previous: R = doc.read()?;
                    let errors = record.validate_change(&previous, today);
                    if !errors.is_empty() {
                        return Err(Error::Validation(errors));
                    }
                }
                let change = doc.update(record, &self.author, now)?;
                (doc, change)
            }
            None => {
                let format = self.creating_format()?;
                let (doc, change) =
                    form::writing_in(format, || Document::create(record, &self.actor, &self.author, now))?;
                created = true;
                (doc, Some(change))
            }
        };
        let Some(change) = change else {
            // The document already says it all (e.g. a reference pulled from another device): only the rows.
            also(&tx)?;
            tx.commit()?;
            return Ok(None);
        };
        if created {
            // A document made by one change is that change: Automerge loads it as it loads a saved document, so
            // the bytes already made are kept instead of encoding the document a second time.
            save_doc_bytes(&tx, &id, R::KIND, &change.bytes, now)?;
        } else {
            save_doc(&tx, &id, R::KIND, &mut doc, now)?;
        }
        insert_change(&tx, &id, &change, true, now)?;
        index::reindex(&tx, &id, R::KIND, &mut doc)?;
        blobs::refresh_refs(&tx, &id, R::KIND, &mut doc)?;
        also(&tx)?;
        tx.commit()?;
        Ok(Some(change))
    }

    /// The record with this id, if the store has it (tombstoned ones included).
    pub fn get<R: Record>(&self, id: &str) -> Result<R> {
        match self.load_doc(id)? {
            Some((kind, doc)) if kind == R::KIND => doc.read(),
            _ => Err(Error::not_found(R::KIND.code(), id)),
        }
    }

    /// Marks a record deleted (a tombstone field, which syncs like any edit).
    pub fn delete<R: Record>(&mut self, id: &str) -> Result<()> {
        let mut record: R = self.get(id)?;
        record.set_deleted(true);
        self.write(&record)?;
        // A tombstone drops the document's references; blobs another live document refers to stay.
        self.sweep_blobs()?;
        Ok(())
    }

    /// A transaction that holds the file's write lock from its start (`BEGIN IMMEDIATE`), for writes that read
    /// a document first. In WAL mode a deferred transaction that read an older snapshot fails at its first write
    /// without waiting when another connection wrote meanwhile; an immediate one waits (the busy timeout) and then
    /// reads the latest state, so two handles on one file (the app and a background sync) never lose a write.
    fn write_tx(&self) -> Result<Transaction<'_>> {
        Ok(Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?)
    }

    /// The document with this id and its kind.
    pub fn load_doc(&self, id: &str) -> Result<Option<(DocKind, Document)>> {
        let row: Option<(String, Vec<u8>)> = self
            .conn
            .query_row("SELECT kind, bytes FROM docs WHERE id = ?1", [id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        match row {
            None => Ok(None),
            Some((kind, bytes)) => {
                let kind = DocKind::parse(&kind).ok_or_else(|| Error::Document(format!("unknown kind {kind}")))?;
                Ok(Some((kind, Document::load(&bytes, &self.actor)?)))
            }
        }
    }

    /// Every field of a document with more than one value.
    pub fn conflicts(&self, id: &str) -> Result<Vec<crate::doc::Conflict>> {
        let (_, mut doc) = self.load_doc(id)?.ok_or_else(|| Error::not_found("document", id))?;
        Ok(doc.conflicts(id))
    }

    /// Ids of the documents that hold conflicts, from the index.
    pub fn conflicted_docs(&self) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare("SELECT doc_id FROM ix_conflicts ORDER BY doc_id")?;
        let ids = stmt.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<Vec<String>>>()?;
        Ok(ids)
    }

    /// Settles a conflicted field with the chosen value, as a change of its own.
    pub fn resolve(&mut self, id: &str, field: &str, value_json: &str) -> Result<ChangeRecord> {
        let tx = self.write_tx()?;
        let (kind, mut doc) = self.load_doc(id)?.ok_or_else(|| Error::not_found("document", id))?;
        let now = now_ms();
        let change = doc.resolve(field, value_json, &self.author, now)?;
        self.check_readable(kind, &mut doc)?;
        save_doc(&tx, id, kind, &mut doc, now)?;
        insert_change(&tx, id, &change, true, now)?;
        index::reindex(&tx, id, kind, &mut doc)?;
        blobs::refresh_refs(&tx, id, kind, &mut doc)?;
        tx.commit()?;
        Ok(change)
    }

    /// A resolution must leave a record the app can read; a value of the wrong shape is refused before saving.
    fn check_readable(&self, kind: DocKind, doc: &mut Document) -> Result<()> {
        let readable = match kind {
            DocKind::Household => doc.read::<crate::model::Household>().map(|_| ()),
            DocKind::Visit => doc.read::<crate::model::Visit>().map(|_| ()),
            DocKind::Screening => doc.read::<crate::model::Screening>().map(|_| ()),
            DocKind::Rules => doc.read::<crate::model::RulesDoc>().map(|_| ()),
        };
        readable.map_err(|e| Error::invalid("value_json", &format!("does not fit the field: {e}")))
    }

    /// Changes not yet acknowledged by the server, oldest first, up to about `max_bytes` (at least one).
    pub fn pending_changes(&self, max_bytes: usize) -> Result<Vec<PendingChange>> {
        self.pending_changes_except(max_bytes, &HashSet::new())
    }

    /// `pending_changes`, leaving out the changes of documents held back for this sync (a visit whose household has
    /// not reached the server yet waits in the queue while the rest goes up).
    pub fn pending_changes_except(&self, max_bytes: usize, held_back: &HashSet<String>) -> Result<Vec<PendingChange>> {
        let mut stmt = self.conn.prepare(
            "SELECT c.doc_id, d.kind, c.hash, c.actor, c.seq, c.bytes FROM changes c JOIN docs d ON d.id = c.doc_id
             WHERE c.acked = 0 ORDER BY c.created_ms, c.rowid",
        )?;
        let mut rows = stmt.query([])?;
        let mut out = Vec::new();
        let mut total = 0;
        while let Some(r) = rows.next()? {
            let doc_id: String = r.get(0)?;
            if held_back.contains(&doc_id) {
                continue;
            }
            let bytes: Vec<u8> = r.get(5)?;
            if !out.is_empty() && total + bytes.len() > max_bytes {
                break;
            }
            total += bytes.len();
            let kind: String = r.get(1)?;
            out.push(PendingChange {
                doc_id,
                kind: DocKind::parse(&kind).unwrap_or_default(),
                change: ChangeRecord { hash: r.get(2)?, actor: r.get(3)?, seq: r.get::<_, i64>(4)? as u64, bytes },
            });
        }
        Ok(out)
    }

    /// How many changes wait for the server.
    pub fn pending_count(&self) -> Result<u64> {
        Ok(self.conn.query_row("SELECT count(*) FROM changes WHERE acked = 0", [], |r| r.get::<_, i64>(0))? as u64)
    }

    /// How many changes wait for the server, not counting those of documents held back for this sync.
    pub fn pending_count_except(&self, held_back: &HashSet<String>) -> Result<u64> {
        let mut held = 0u64;
        let mut stmt = self.conn.prepare_cached("SELECT count(*) FROM changes WHERE doc_id = ?1 AND acked = 0")?;
        for id in held_back {
            held += stmt.query_row([id], |r| r.get::<_, i64>(0))? as u64;
        }
        Ok(self.pending_count()?.saturating_sub(held))
    }

    /// Records that the server holds these changes durably; their bytes are then only in the saved documents.
    pub fn mark_acked(&mut self, hashes: &[String]) -> Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut stmt = tx.prepare("UPDATE changes SET acked = 1, bytes = NULL WHERE hash = ?1")?;
            for h in hashes {
                stmt.execute([h])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Applies one pulled page — snapshots and changes of many documents — together with the new sync cursor, in
    /// one transaction: a cut connection or a killed app resumes from the last whole page.
    ///
    /// The Automerge work (loading, merging, saving, reading the record for its index rows) is done for several
    /// documents at once on the phone's cores (`prepare`); the rows are then written in one transaction here.
    pub fn apply_incoming(&mut self, items: &[Incoming], cursor_key: &str, cursor: &str) -> Result<()> {
        let now = now_ms();
        let tx = self.write_tx()?;
        let mut existing = Vec::with_capacity(items.len());
        {
            let mut stmt = tx.prepare_cached("SELECT bytes FROM docs WHERE id = ?1")?;
            for item in items {
                existing.push(stmt.query_row([&item.doc_id], |r| r.get::<_, Vec<u8>>(0)).optional()?);
            }
        }
        let work: Vec<(&Incoming, Option<Vec<u8>>)> = items.iter().zip(existing).collect();
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 4);
        // Small pages (a helper's daily sync) are not worth a thread.
        let chunk = if work.len() < 16 { work.len().max(1) } else { work.len().div_ceil(threads) };
        let actor = &self.actor;
        let run = |part: &[(&Incoming, Option<Vec<u8>>)]| -> Vec<Result<Prepared>> {
            part.iter().map(|(item, old)| prepare(item, old.as_deref(), actor)).collect()
        };
        let prepared: Vec<Result<Prepared>> = if chunk >= work.len() {
            run(&work)
        } else {
            std::thread::scope(|scope| {
                let handles: Vec<_> = work.chunks(chunk).map(|part| scope.spawn(move || run(part))).collect();
                handles
                    .into_iter()
                    .flat_map(|h| {
                        h.join().unwrap_or_else(|_| vec![Err(Error::Document("applying a page failed".into()))])
                    })
                    .collect()
            })
        };
        for (item, p) in items.iter().zip(prepared) {
            let p = p?;
            save_doc_bytes(&tx, &item.doc_id, item.kind, &p.bytes, now)?;
            index::replace(&tx, &item.doc_id, &p.rows)?;
            blobs::write_refs(&tx, &item.doc_id, item.kind, &p.refs)?;
        }
        tx.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)", params![cursor_key, cursor])?;
        tx.commit()?;
        Ok(())
    }

    /// Rebuilds every index row from the saved documents (after a migration, or to repair).
    pub fn rebuild_indices(&mut self) -> Result<()> {
        let docs: Vec<(String, String, Vec<u8>)> = {
            let mut stmt = self.conn.prepare("SELECT id, kind, bytes FROM docs")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let tx = self.conn.transaction()?;
        for table in schema::INDEX_TABLES {
            tx.execute(&format!("DELETE FROM {table}"), [])?;
        }
        for (id, kind, bytes) in docs {
            let kind = DocKind::parse(&kind).ok_or_else(|| Error::Document(format!("unknown kind {kind}")))?;
            let mut doc = Document::load(&bytes, &self.actor)?;
            index::reindex(&tx, &id, kind, &mut doc)?;
            blobs::refresh_refs(&tx, &id, kind, &mut doc)?;
        }
        tx.commit()?;
        Ok(())
    }
}

/// A pulled document made ready to store: its bytes, index rows and attachment references.
struct Prepared {
    bytes: Vec<u8>,
    rows: index::IndexRows,
    refs: Vec<crate::attachment::AttachmentRef>,
}

/// The Automerge work of storing one pulled document, apart from the database so that several run at once.
fn prepare(item: &Incoming, existing: Option<&[u8]>, actor: &ActorId) -> Result<Prepared> {
    let mut doc = match (existing, &item.snapshot) {
        (Some(old), Some(snapshot)) => {
            let mut doc = Document::load(old, actor)?;
            doc.merge(&mut Document::load(snapshot, actor)?)?;
            doc
        }
        (Some(old), None) => Document::load(old, actor)?,
        // A document new here is its snapshot as it is (merging it into an empty one only costs time: a
        // supervisor's first sync brings a whole county of them). Loading checks it whole.
        (None, Some(snapshot)) => Document::load(snapshot, actor)?,
        (None, None) => Document::empty(actor),
    };
    if !item.changes.is_empty() {
        doc.apply(&item.changes)?;
    }
    // A document new here that arrives as a snapshot alone is kept as those bytes: saving it again would only spend
    // the time a supervisor's first sync of a whole county cannot spare.
    let bytes = match (existing, &item.snapshot, item.changes.is_empty()) {
        (None, Some(snapshot), true) => snapshot.clone(),
        _ => doc.save(),
    };
    let rows = index::derive(&item.doc_id, item.kind, &mut doc)?;
    let refs = blobs::live_refs(item.kind, &mut doc)?;
    Ok(Prepared { bytes, rows, refs })
}

fn save_doc(tx: &Transaction, id: &str, kind: DocKind, doc: &mut Document, now: i64) -> Result<()> {
    save_doc_bytes(tx, id, kind, &doc.save(), now)
}

/// Keeps a document's saved bytes.
fn save_doc_bytes(tx: &Transaction, id: &str, kind: DocKind, bytes: &[u8], now: i64) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO docs (id, kind, bytes, updated_ms) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (id) DO UPDATE SET bytes = excluded.bytes, updated_ms = excluded.updated_ms",
    )?
    .execute(params![id, kind.code(), bytes, now])?;
    Ok(())
}

fn insert_change(tx: &Transaction, doc_id: &str, c: &ChangeRecord, local: bool, now: i64) -> Result<()> {
    tx.prepare_cached(
        "INSERT OR IGNORE INTO changes (hash, doc_id, actor, seq, bytes, local, acked, created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?7)",
    )?
    .execute(params![c.hash, doc_id, c.actor, c.seq as i64, c.bytes, local, now])?;
    Ok(())
}

fn apply_key(conn: &Connection, pragma: &str, key: &[u8]) -> Result<()> {
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    // SQLCipher's raw-key form skips the passphrase KDF: the key is already random bytes from the keystore.
    conn.execute_batch(&format!("PRAGMA {pragma} = \"x'{hex}'\";"))?;
    let _ = conn.execute_batch("PRAGMA cipher_log_level = NONE;");
    Ok(())
}

fn meta_get(conn: &Connection, key: &str) -> Result<Option<String>> {
    Ok(conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0)).optional()?)
}

fn meta_set(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)", params![key, value])?;
    Ok(())
}

fn hex_decode(s: &str) -> Option<Vec<u8>> {
    (0..s.len()).step_by(2).map(|i| s.get(i..i + 2).and_then(|b| u8::from_str_radix(b, 16).ok())).collect()
}

/// Device time in milliseconds; only ever shown, never used for ordering.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// Today's date on the device, for validation of future dates.
pub fn today() -> String {
    chrono::Local::now().date_naive().format("%Y-%m-%d").to_string()
}

#[cfg(test)]
mod concurrency_tests;
#[cfg(test)]
mod tests;
