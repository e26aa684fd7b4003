//! A unit of work's writes on PostgreSQL, held until it ends and then sent as one statement per table.
//!
//! A push of a thousand visits written row by row was some fifteen statements per visit, each a round trip to the
//! database under the writer lock: 400 visits a second, and pushes queued past the pool's timeout at month end. Here
//! the unit of work keeps the changes, documents, derived rows, places, moves and blob references it writes, and
//! [`Pending::flush`] sends them together: arrays bound as parameters and spread with `UNNEST` (the derived rows as
//! one JSON array per table, as `index` writes them). Sequence numbers are handed out from the value the writer
//! lock read, and the counter is written once.
//!
//! Reads inside the unit of work see its own writes: the documents it saved and the changes it inserted are looked
//! up here first ([`Pending::doc`], [`Pending::has_change`]).

use super::{pg, Pg};
use crate::storage::{sql, BlobRef, NewChange, Placement, Result, StoredDoc};
use doorstep_core::store::index::{IndexRows, CLEAR_SQL};
use std::collections::{HashMap, HashSet};

/// One saved document with what goes beside it.
struct SavedDoc {
    doc: StoredDoc,
    record: Option<Vec<u8>>,
    rows: IndexRows,
}

/// The writes of one unit of work not yet sent.
pub(super) struct Pending {
    /// The counter as the writer lock read it, and the last sequence handed out since.
    committed_seq: u64,
    last_seq: u64,
    changes: Vec<NewChange>,
    hashes: HashSet<String>,
    /// Saved documents in the order saved; a document saved twice keeps its place and its latest state.
    docs: Vec<SavedDoc>,
    at: HashMap<String, usize>,
    /// Places met in households' records: `(kind, name, township, ms)`.
    places: Vec<(&'static str, String, String, i64)>,
    /// Households that moved, with where to: their visits and screenings follow.
    moves: Vec<(String, Placement)>,
    /// Documents whose blob references are replaced, with the new ones.
    blob_refs: HashMap<String, Vec<BlobRef>>,
}

impl Pending {
    /// Nothing pending; sequence numbers continue after `last_seq` (the counter the writer lock holds).
    pub(super) fn after(last_seq: u64) -> Self {
        Self {
            committed_seq: last_seq,
            last_seq,
            changes: Vec::new(),
            hashes: HashSet::new(),
            docs: Vec::new(),
            at: HashMap::new(),
            places: Vec::new(),
            moves: Vec::new(),
            blob_refs: HashMap::new(),
        }
    }

    pub(super) fn next_seq(&mut self) -> u64 {
        self.last_seq += 1;
        self.last_seq
    }

    pub(super) fn insert_change(&mut self, c: &NewChange) {
        self.hashes.insert(c.hash.clone());
        self.changes.push(c.clone());
    }

    pub(super) fn has_change(&self, hash: &str) -> bool {
        self.hashes.contains(hash)
    }

    /// A document this unit of work saved, as saved.
    pub(super) fn doc(&self, id: &str) -> Option<&StoredDoc> {
        self.at.get(id).map(|&i| &self.docs[i].doc)
    }

    pub(super) fn save_doc(&mut self, doc: StoredDoc, record: Option<Vec<u8>>, rows: IndexRows) {
        for (kind, name, township) in doc.device_places() {
            self.places.push((kind, name.to_string(), township.to_string(), doc.updated_ms));
        }
        let saved = SavedDoc { doc, record, rows };
        match self.at.get(&saved.doc.id) {
            Some(&i) => self.docs[i] = saved,
            None => {
                self.at.insert(saved.doc.id.clone(), self.docs.len());
                self.docs.push(saved);
            }
        }
    }

    /// A household's dependents move with it; the documents saved here already carry their new place.
    pub(super) fn move_dependents(&mut self, household_id: &str, p: &Placement) {
        for saved in &mut self.docs {
            if saved.doc.placement.household_id.as_deref() == Some(household_id) {
                saved.doc.placement.village = p.village.clone();
                saved.doc.placement.township = p.township.clone();
            }
        }
        self.moves.push((household_id.to_string(), p.clone()));
    }

    pub(super) fn set_blob_refs(&mut self, doc_id: &str, refs: &[BlobRef]) {
        // One row per blob and document, the last given standing (as an upsert row by row would leave it).
        let mut kept: Vec<BlobRef> = Vec::new();
        for r in refs.iter().rev() {
            if !kept.iter().any(|k| k.hash == r.hash) {
                kept.push(r.clone());
            }
        }
        self.blob_refs.insert(doc_id.to_string(), kept);
    }

    /// Sends everything pending, in the order the rows depend on each other; nothing is pending afterwards.
    pub(super) fn flush(&mut self, tx: &mut pg::Transaction<'_>) -> Result<()> {
        if self.last_seq > self.committed_seq {
            tx.execute("UPDATE counter SET last_seq = $1 WHERE id = 1", &[&(self.last_seq as i64)]).pg()?;
            self.committed_seq = self.last_seq;
        }
        self.flush_changes(tx)?;
        self.flush_docs(tx)?;
        self.flush_moves(tx)?;
        self.flush_blob_refs(tx)
    }

    fn flush_changes(&mut self, tx: &mut pg::Transaction<'_>) -> Result<()> {
        if self.changes.is_empty() {
            return Ok(());
        }
        let changes = std::mem::take(&mut self.changes);
        let seqs: Vec<i64> = changes.iter().map(|c| c.seq as i64).collect();
        let hashes: Vec<&str> = changes.iter().map(|c| c.hash.as_str()).collect();
        let docs: Vec<&str> = changes.iter().map(|c| c.doc_id.as_str()).collect();
        let actors: Vec<&str> = changes.iter().map(|c| c.actor.as_str()).collect();
        let devices: Vec<&str> = changes.iter().map(|c| c.device_id.as_str()).collect();
        let received: Vec<i64> = changes.iter().map(|c| c.received_ms).collect();
        let bytes: Vec<&[u8]> = changes.iter().map(|c| c.bytes.as_slice()).collect();
        tx.execute(
            "INSERT INTO changes (seq, hash, doc_id, actor, device_id, received_ms, bytes)
             SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[],
                 $7::bytea[])",
            &[&seqs, &hashes, &docs, &actors, &devices, &received, &bytes],
        )
        .pg()?;
        Ok(())
    }

    fn flush_docs(&mut self, tx: &mut pg::Transaction<'_>) -> Result<()> {
        if self.docs.is_empty() {
            return Ok(());
        }
        let saved = std::mem::take(&mut self.docs);
        self.at.clear();
        let docs: Vec<&StoredDoc> = saved.iter().map(|s| &s.doc).collect();
        let ids: Vec<&str> = docs.iter().map(|d| d.id.as_str()).collect();
        let kinds: Vec<&str> = docs.iter().map(|d| d.kind.code()).collect();
        let bytes: Vec<&[u8]> = docs.iter().map(|d| d.bytes.as_slice()).collect();
        let heads: Vec<String> = docs.iter().map(|d| d.heads.join(",")).collect();
        let first: Vec<i64> = docs.iter().map(|d| d.first_seq as i64).collect();
        let last: Vec<i64> = docs.iter().map(|d| d.last_seq as i64).collect();
        let households: Vec<Option<&str>> = docs.iter().map(|d| d.placement.household_id.as_deref()).collect();
        let villages: Vec<&str> = docs.iter().map(|d| d.placement.village.as_str()).collect();
        let townships: Vec<&str> = docs.iter().map(|d| d.placement.township.as_str()).collect();
        let updated: Vec<i64> = docs.iter().map(|d| d.updated_ms).collect();
        let records: Vec<Option<&[u8]>> = saved.iter().map(|s| s.record.as_deref()).collect();
        // `sql::SAVE_DOC` for many rows: the same columns, the same update on conflict.
        tx.execute(
            "INSERT INTO docs (id, kind, bytes, heads, first_seq, last_seq, household_id, village, township,
                 updated_ms, record, created_ms)
             SELECT u.*, u.updated_ms FROM UNNEST($1::text[], $2::text[], $3::bytea[], $4::text[], $5::bigint[],
                 $6::bigint[], $7::text[], $8::text[], $9::text[], $10::bigint[], $11::bytea[])
                 AS u (id, kind, bytes, heads, first_seq, last_seq, household_id, village, township, updated_ms,
                     record)
             ON CONFLICT (id) DO UPDATE SET bytes = excluded.bytes, heads = excluded.heads,
                 last_seq = excluded.last_seq, household_id = excluded.household_id, village = excluded.village,
                 township = excluded.township, updated_ms = excluded.updated_ms, record = excluded.record",
            &[&ids, &kinds, &bytes, &heads, &first, &last, &households, &villages, &townships, &updated, &records],
        )
        .pg()?;
        for statement in CLEAR_SQL {
            // Each clears one document's rows (`… = ?1`); here every saved document's at once.
            tx.execute(&sql::to_pg(statement).replace("= $1", "= ANY($1)"), &[&ids]).pg()?;
        }
        let mut rows = IndexRows::default();
        for s in saved {
            let r = s.rows;
            rows.households.extend(r.households);
            rows.helpers.extend(r.helpers);
            rows.members.extend(r.members);
            rows.visits.extend(r.visits);
            rows.problems.extend(r.problems);
            rows.screenings.extend(r.screenings);
            rows.conflicts.extend(r.conflicts);
        }
        // A member is keyed by id across households: the one saved last stands, as row by row.
        let mut seen = HashSet::new();
        rows.members.reverse();
        rows.members.retain(|m| seen.insert(m.member_id.clone()));
        rows.members.reverse();
        super::index::write(tx, &rows)?;
        if !self.places.is_empty() {
            let places = std::mem::take(&mut self.places);
            let kinds: Vec<&str> = places.iter().map(|p| p.0).collect();
            let names: Vec<&str> = places.iter().map(|p| p.1.as_str()).collect();
            let townships: Vec<&str> = places.iter().map(|p| p.2.as_str()).collect();
            let ms: Vec<i64> = places.iter().map(|p| p.3).collect();
            // `sql::DEVICE_PLACE` for many rows.
            tx.execute(
                "INSERT INTO places (kind, name, township, origin, created_ms)
                 SELECT k, n, t, 'device', m FROM UNNEST($1::text[], $2::text[], $3::text[], $4::bigint[]) AS u (k, n, t, m)
                 ON CONFLICT DO NOTHING",
                &[&kinds, &names, &townships, &ms],
            )
            .pg()?;
        }
        Ok(())
    }

    fn flush_moves(&mut self, tx: &mut pg::Transaction<'_>) -> Result<()> {
        if self.moves.is_empty() {
            return Ok(());
        }
        // The last move of each household stands; rows already in place are not written again.
        let moves: HashMap<String, Placement> = std::mem::take(&mut self.moves).into_iter().collect();
        let households: Vec<&str> = moves.keys().map(String::as_str).collect();
        let villages: Vec<&str> = moves.values().map(|p| p.village.as_str()).collect();
        let townships: Vec<&str> = moves.values().map(|p| p.township.as_str()).collect();
        tx.execute(
            "UPDATE docs d SET village = u.v, township = u.t
             FROM UNNEST($1::text[], $2::text[], $3::text[]) AS u (h, v, t)
             WHERE d.household_id = u.h AND (d.village IS DISTINCT FROM u.v OR d.township IS DISTINCT FROM u.t)",
            &[&households, &villages, &townships],
        )
        .pg()?;
        Ok(())
    }

    fn flush_blob_refs(&mut self, tx: &mut pg::Transaction<'_>) -> Result<()> {
        if self.blob_refs.is_empty() {
            return Ok(());
        }
        let all = std::mem::take(&mut self.blob_refs);
        let ids: Vec<&str> = all.keys().map(String::as_str).collect();
        tx.execute("DELETE FROM blob_refs WHERE doc_id = ANY($1)", &[&ids]).pg()?;
        let refs: Vec<(&str, &BlobRef)> =
            all.iter().flat_map(|(id, refs)| refs.iter().map(|r| (id.as_str(), r))).collect();
        if refs.is_empty() {
            return Ok(());
        }
        let hashes: Vec<&str> = refs.iter().map(|(_, r)| r.hash.as_str()).collect();
        let docs: Vec<&str> = refs.iter().map(|(id, _)| *id).collect();
        let types: Vec<&str> = refs.iter().map(|(_, r)| r.media_type.as_str()).collect();
        let sizes: Vec<i64> = refs.iter().map(|(_, r)| r.size as i64).collect();
        tx.execute(
            "INSERT INTO blob_refs (hash, doc_id, media_type, size)
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::bigint[])",
            &[&hashes, &docs, &types, &sizes],
        )
        .pg()?;
        // A blob not seen before is recorded as not yet uploaded.
        tx.execute(
            "INSERT INTO blobs (hash, media_type, size, complete)
             SELECT DISTINCT ON (h) h, m, s, FALSE FROM UNNEST($1::text[], $2::text[], $3::bigint[]) AS u (h, m, s)
             ON CONFLICT (hash) DO NOTHING",
            &[&hashes, &types, &sizes],
        )
        .pg()?;
        Ok(())
    }
}
