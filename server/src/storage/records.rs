//! Keeps the records packed beside documents readable by this build: a database opened by a server whose model has
//! another shape (`model::packed::layout`), or one saved while records were JSON (before schema 15), has every
//! record packed again once, when it is opened, so the pages never fall back to parsing a province's documents.
//!
//! Each record is packed from the JSON it was kept as when that still reads as the document's kind (far cheaper
//! than the document), otherwise from the document itself. Both stores run the same walk over `Storage`.

use super::{sql, Result, Storage, StoredDoc};
use doorstep_core::model::{packed, DocKind, Household, Record, Screening, Visit};
use std::collections::HashMap;

/// Documents read and written back per transaction.
const PAGE: u32 = 500;

/// Packs again every record not packed under this build's layout, unless the database says they all are. Returns
/// how many records were written.
pub fn repack(storage: &dyn Storage) -> Result<usize> {
    let layout = hex::encode(packed::layout());
    if storage.meta(sql::RECORD_LAYOUT)?.as_deref() == Some(layout.as_str()) {
        return Ok(0);
    }
    let started = std::time::Instant::now();
    let mut written = 0;
    let mut after = String::new();
    loop {
        let ids = storage.doc_ids_after(&after, PAGE)?;
        let Some(last) = ids.last() else { break };
        after = last.clone();
        let mut held: HashMap<String, Vec<u8>> = storage.records(&ids)?.into_iter().collect();
        let fresh: Vec<(String, Vec<u8>)> = storage
            .docs(&ids)?
            .into_iter()
            .filter_map(|doc| {
                let old = held.remove(&doc.id);
                let packed = match doc.kind {
                    DocKind::Household => again::<Household>(&doc, old.as_deref()),
                    DocKind::Visit => again::<Visit>(&doc, old.as_deref()),
                    DocKind::Screening => again::<Screening>(&doc, old.as_deref()),
                    DocKind::Rules => None,
                };
                packed.map(|p| (doc.id, p))
            })
            .collect();
        if !fresh.is_empty() {
            storage.set_records(&fresh)?;
            written += fresh.len();
        }
    }
    storage.set_meta(sql::RECORD_LAYOUT, &layout)?;
    if written > 0 {
        tracing::info!(records = written, ms = started.elapsed().as_millis() as u64, "records packed again");
    }
    Ok(written)
}

/// The record of `doc` packed under this layout, or none when `old` already is (or the document does not read as
/// its kind: it then keeps no record, and the pages read the document).
fn again<R: Record + serde::Serialize + serde::de::DeserializeOwned>(
    doc: &StoredDoc,
    old: Option<&[u8]>,
) -> Option<Vec<u8>> {
    if old.is_some_and(|o| packed::unpack::<R>(o).is_some()) {
        return None;
    }
    let record: R = match old.and_then(|o| serde_json::from_slice(o).ok()) {
        Some(r) => r,
        None => match doc.document().and_then(|d| d.read::<R>()) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!("document {} keeps no record: {e}", doc.id);
                return None;
            }
        },
    };
    packed::pack(&record).ok()
}
