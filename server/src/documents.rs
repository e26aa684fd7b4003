//! The document format a deployment writes (`doorstep_core::model::form`) and moving its documents to the current
//! one.
//!
//! Apps that speak only sync protocol version 1 read format 1 alone, so a database that holds documents from
//! before format 2 stays at format 1 while version 1 is served, and tells devices so (the `Doorstep-Document-Format`
//! header of every sync answer): they create documents in format 1 too. When version 1 is no longer served (or an
//! administrator runs `migrate-documents`), every document is moved once, by one server-authored change each, and
//! the deployment is at format 2. From then on, a push that brings format 1 values (a phone that had not yet
//! pulled the move) is followed, in the same transaction, by the server's change moving them (`sync::ingest`).

use crate::accounts::SERVER_DEVICE;
use crate::scope::{self, Scope};
use crate::storage::{now_ms, sql, Result, ScopeFacts, Storage};
use crate::sync;
use automerge::ActorId;
use doorstep_core::doc::{Author, Document};
use doorstep_core::model::{form, Role};
use doorstep_core::sync::protocol::WireChange;

/// Who the server's format changes are attributed to in field history (`system` on the device `server`).
pub fn author() -> Author {
    Document::format_mover()
}

/// The format this deployment writes: format 2 unless its database still holds format 1 documents.
pub fn format(storage: &dyn Storage) -> Result<i64> {
    Ok(storage.meta(sql::DOCUMENT_FORMAT)?.and_then(|v| v.parse().ok()).unwrap_or(form::CURRENT))
}

/// Moves every document to the current format (each by one change, pulled by devices like any other) and records
/// the deployment's format. Safe to run again: moved documents are skipped. Returns how many documents moved.
pub fn migrate(storage: &dyn Storage) -> Result<usize> {
    let admin = Scope::new("system", Role::Admin, ScopeFacts::default(), &scope::today());
    let mut moved = 0;
    let mut after = String::new();
    loop {
        let ids = storage.doc_ids_after(&after, 500)?;
        let Some(last) = ids.last() else { break };
        after = last.clone();
        let mut changes = Vec::new();
        for stored in storage.docs(&ids)? {
            let mut doc = match Document::load(&stored.bytes, &ActorId::random()) {
                Ok(doc) => doc,
                Err(e) => {
                    tracing::warn!("document {} is not readable and keeps its format: {e}", stored.id);
                    continue;
                }
            };
            match doc.normalize(stored.kind, &author(), now_ms()) {
                Ok(Some(change)) => {
                    changes.push(WireChange { doc_id: stored.id, kind: stored.kind.code().into(), bytes: change.bytes })
                }
                Ok(None) => {}
                Err(e) => tracing::warn!("document {} keeps its format: {e}", stored.id),
            }
        }
        moved += changes.len();
        // One transaction per page of documents: a change that cannot be stored (a document whose household is
        // gone) is retried alone so the others still move.
        if sync::push(storage, SERVER_DEVICE, &admin, &changes).is_err() {
            for change in changes {
                if let Err(e) = sync::push(storage, SERVER_DEVICE, &admin, std::slice::from_ref(&change)) {
                    moved -= 1;
                    tracing::warn!("document {} keeps its format: {e}", change.doc_id);
                }
            }
        }
    }
    storage.set_meta(sql::DOCUMENT_FORMAT, &form::CURRENT.to_string())?;
    Ok(moved)
}

/// Whether the deployment should move its documents now: it is at format 1 and no longer serves the apps that
/// read format 1 alone (the last day of protocol version 1 has passed).
pub fn due(storage: &dyn Storage, protocol_v1_until: Option<chrono::NaiveDate>) -> Result<bool> {
    let v1_ended = protocol_v1_until.is_some_and(|last| scope::today() > last.format("%Y-%m-%d").to_string());
    Ok(v1_ended && format(storage)? < form::CURRENT)
}
