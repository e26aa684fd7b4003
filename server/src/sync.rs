//! What a sync round trip does, independent of HTTP and of the database: validate and store a push as one unit of
//! work, then cut a page of what the device's scope gained since its cursor.
//!
//! Push, in one transaction: every change is parsed by Automerge (its hash and actor come from the bytes, never
//! from the device), its actor must be bound to this device (or is bound now), it is applied to the server's merged
//! copy of the document (the core's `Document`, same code as the phone), the document's placement is read from the
//! merged record and checked against the scope before and after, and only then do the changes get sequence numbers.
//! Any refusal rolls the whole push back.
//!
//! Pull: candidates come in sequence order (see `Storage::pull_candidates`); a document the device lacks (cursor 0,
//! created after the cursor, or entered the scope after it) travels as one compacted snapshot placed at its earliest
//! candidate, other documents as individual changes. The page takes whole sequence positions while they fit in
//! `max_bytes` (at least one), so the returned cursor means "everything up to here is in this page or earlier".
//!
//! Scope losses (a household reassigned to another helper) sit in the same sequence: a page lists the documents
//! under the losses up to its cursor that the account no longer sees (`Page::removed`), and the device wipes them.
//! A push from a device whose cursor is still before such a loss was written while the document was its own, so
//! it is accepted ([`Grace`]): the device uploads first, then wipes.

use crate::accounts::SERVER_DEVICE;
use crate::scope::Scope;
use crate::storage::{
    assign, now_ms, BlobRef, Candidate, CandidateKind, Link, NewChange, Placement, PullQuery, Refusal, Result,
    ScopeEvent, Storage, StoredDoc, Subject, Target, WriteTx,
};
use automerge::{ActorId, Change};
use doorstep_core::attachment;
use doorstep_core::doc::Document;
use doorstep_core::model::{form, DocKind, Household, RulesDoc, Screening, Visit};
use doorstep_core::store::index::IndexRows;
use doorstep_core::sync::protocol::{WireChange, WireDoc};
use std::collections::{BTreeSet, HashMap, HashSet};

/// Longest document id accepted (ids are UUIDv7 strings or well-known names).
const MAX_ID_LEN: usize = 128;
/// Bounds on the page size a device may ask for.
pub const MIN_PAGE_BYTES: u32 = 16 * 1024;
pub const MAX_PAGE_BYTES: u32 = 32 * 1024 * 1024;
/// The page size used when a device asks for 0.
pub const DEFAULT_PAGE_BYTES: u32 = 4 * 1024 * 1024;

/// One pushed change after parsing.
struct Parsed {
    hash: [u8; 32],
    hash_hex: String,
    actor: String,
    bytes: Vec<u8>,
    /// The change as Automerge parsed it, applied as it is (parsing is a twentieth of ingest). Only the few pushes
    /// let through `AHEAD` hold their changes parsed: a hundred devices pushing a thousand changes each at once
    /// held 130 MiB more when every waiting push kept them.
    change: Change,
    /// Whether it may hold values in format 1's form (`schema::may_hold_old_forms`).
    old_forms: bool,
}

/// The changes of one document in a push.
struct Group {
    doc_id: String,
    kind: DocKind,
    changes: Vec<Parsed>,
}

/// Parses and groups pushed changes by document, households first so that visits pushed with their new household
/// find it.
fn parse(changes: &[WireChange]) -> Result<Vec<Group>> {
    let mut groups: Vec<Group> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for (i, w) in changes.iter().enumerate() {
        if w.doc_id.is_empty() || w.doc_id.len() > MAX_ID_LEN {
            return Err(Refusal::BadChange(format!("changes[{i}].doc_id: must be 1 to {MAX_ID_LEN} bytes")).into());
        }
        let kind = DocKind::parse(&w.kind)
            .ok_or_else(|| Refusal::BadChange(format!("changes[{i}].kind: unknown kind {:?}", w.kind)))?;
        let change = Change::from_bytes(w.bytes.clone())
            .map_err(|e| Refusal::BadChange(format!("changes[{i}].bytes: not an Automerge change: {e}")))?;
        let parsed = Parsed {
            hash: change.hash().0,
            hash_hex: change.hash().to_string(),
            actor: change.actor_id().to_hex_string(),
            bytes: w.bytes.clone(),
            old_forms: doorstep_core::model::schema::may_hold_old_forms([&change]),
            change,
        };
        match index.get(w.doc_id.as_str()) {
            Some(&g) if groups[g].kind != kind => {
                return Err(
                    Refusal::BadChange(format!("changes[{i}].kind: {} differs within {}", w.kind, w.doc_id)).into()
                );
            }
            Some(&g) => groups[g].changes.push(parsed),
            None => {
                index.insert(&w.doc_id, groups.len());
                groups.push(Group { doc_id: w.doc_id.clone(), kind, changes: vec![parsed] });
            }
        }
    }
    groups.sort_by_key(|g| g.kind != DocKind::Household);
    Ok(groups)
}

/// Validates and stores every pushed change in one transaction; returns the hashes now durably stored (including
/// ones the server already had). Nothing is stored when any change is refused.
pub fn push(storage: &dyn Storage, device_id: &str, scope: &Scope, changes: &[WireChange]) -> Result<Vec<[u8; 32]>> {
    push_within(storage, device_id, scope, None, changes)
}

/// What a device's push may still write after its account lost the document: changes from a device that has not
/// yet synced past the loss (its cursor is before it) were made while the document was in its scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grace {
    /// The cursor the device sent; the push judges by the device's floor raised to it (`WriteTx::raise_cursor_floor`).
    pub cursor: u64,
    /// The account's family-doctor team (a team's losses count for its doctors).
    pub team: Option<String>,
}

/// `push`, accepting changes to documents lost after `grace.cursor` (see [`Grace`]).
pub fn push_within(
    storage: &dyn Storage,
    device_id: &str,
    scope: &Scope,
    grace: Option<&Grace>,
    changes: &[WireChange],
) -> Result<Vec<[u8; 32]>> {
    push_meanwhile(storage, device_id, scope, grace, changes, &mut || {})
}

/// `push_within` with `meanwhile` run after the documents are worked out and before the writer lock is taken: what
/// another push may do in between (the tests of a stale worked-out document).
pub(crate) fn push_meanwhile(
    storage: &dyn Storage,
    device_id: &str,
    scope: &Scope,
    grace: Option<&Grace>,
    changes: &[WireChange],
    meanwhile: &mut dyn FnMut(),
) -> Result<Vec<[u8; 32]>> {
    if changes.is_empty() {
        return Ok(vec![]);
    }
    let _ahead = AHEAD.enter();
    let groups = parse(changes)?;
    let format = crate::documents::format(storage)?;
    let mut worked = work_ahead(storage, &groups, format)?;
    meanwhile();
    let mut acked = Vec::new();
    storage.write(&mut |tx| {
        acked.clear();
        let floor = match grace {
            Some(g) => Some(Grace { cursor: tx.raise_cursor_floor(device_id, g.cursor)?, team: g.team.clone() }),
            None => None,
        };
        // The documents, and the households whose place the worked-out visits and screenings took.
        let mut ids: Vec<&str> = groups.iter().map(|g| g.doc_id.as_str()).collect();
        ids.extend(worked.iter().flatten().filter_map(|w| w.placement.household_id.as_deref()));
        ids.sort_unstable();
        ids.dedup();
        let hashes: Vec<&str> = groups.iter().flat_map(|g| &g.changes).map(|c| c.hash_hex.as_str()).collect();
        tx.prefetch(&ids, &hashes)?;
        let mut scope = scope.clone();
        let mut seen = Seen::default();
        for (group, worked) in groups.iter().zip(worked.iter_mut()) {
            // A retried transaction works out again what the first attempt took.
            let ahead = worked.take();
            ingest(tx, device_id, &mut scope, floor.as_ref(), &mut seen, group, ahead, format, &mut acked)?;
        }
        Ok(())
    })?;
    Ok(acked)
}

/// A document of a push worked out from its stored state and its pushed changes: everything `ingest` writes but
/// the sequence numbers and the scope's rows. Worked out before the writer lock (`work_ahead`, on every core at
/// once), it is written as it is when the stored document and its household are still the ones it was worked out
/// from, and worked out again under the lock otherwise.
struct Worked {
    kind: DocKind,
    /// Heads of the stored document it started from (empty: there was none).
    base_heads: Vec<String>,
    /// The pushed changes it applied: those the stored document lacked, in push order.
    fresh: Vec<[u8; 32]>,
    placement: Placement,
    /// A household's helpers.
    helpers: Vec<String>,
    /// The change that moved format 1 values of the document (`Document::normalize_after`).
    moved: Option<doorstep_core::doc::ChangeRecord>,
    bytes: Vec<u8>,
    heads: Vec<String>,
    rows: IndexRows,
    record: Option<Vec<u8>>,
    blob_refs: Vec<BlobRef>,
}

impl Worked {
    /// Whether it still holds under the writer lock: the stored document is the one it started from, the same
    /// changes are new to it, and a visit's or screening's household is still where it was.
    fn holds(
        &self,
        tx: &mut dyn WriteTx,
        seen: &mut Seen,
        existing: Option<&StoredDoc>,
        fresh: &[&Parsed],
    ) -> Result<bool> {
        let base: &[String] = existing.map_or(&[], |e| &e.heads);
        if base != self.base_heads.as_slice() || !fresh.iter().map(|c| c.hash).eq(self.fresh.iter().copied()) {
            return Ok(false);
        }
        let Some(household) = self.placement.household_id.as_deref().filter(|_| self.kind != DocKind::Household) else {
            return Ok(true);
        };
        Ok(seen
            .place(tx, household)?
            .is_some_and(|p| p.village == self.placement.village && p.township == self.placement.township))
    }
}

/// How many pushes may parse their changes and work out their documents ahead of the writer lock at once: enough
/// to keep every core busy while one push writes, few enough that the pushes waiting do not each hold their changes
/// parsed and their documents worked out (a hundred devices pushing a thousand visits each would hold them all).
static AHEAD: Gate = Gate::new();

/// A counting gate (`AHEAD`): at most twice the cores pass at once.
struct Gate {
    inside: std::sync::Mutex<usize>,
    left: std::sync::Condvar,
}

impl Gate {
    const fn new() -> Self {
        Self { inside: std::sync::Mutex::new(0), left: std::sync::Condvar::new() }
    }

    fn enter(&self) -> GatePass<'_> {
        let most = std::thread::available_parallelism().map_or(2, |n| n.get()) * 2;
        let mut inside = self.inside.lock().unwrap_or_else(|p| p.into_inner());
        while *inside >= most {
            inside = self.left.wait(inside).unwrap_or_else(|p| p.into_inner());
        }
        *inside += 1;
        GatePass(self)
    }
}

/// Leaves the gate when dropped.
struct GatePass<'a>(&'a Gate);

impl Drop for GatePass<'_> {
    fn drop(&mut self) {
        *self.0.inside.lock().unwrap_or_else(|p| p.into_inner()) -= 1;
        self.0.left.notify_one();
    }
}

/// Works out every document of a push from what is stored now, outside the writer lock. A document that cannot be
/// worked out here (a change the server lacks the dependencies of, a household not yet stored, a bad record) is
/// left to `ingest`, which works it out again under the lock and refuses it there in the order it checks.
fn work_ahead(storage: &dyn Storage, groups: &[Group], format: i64) -> Result<Vec<Option<Worked>>> {
    let ids: Vec<String> = groups.iter().map(|g| g.doc_id.clone()).collect();
    let mut stored: HashMap<String, StoredDoc> = storage.docs(&ids)?.into_iter().map(|d| (d.id.clone(), d)).collect();
    let now = now_ms();
    let in_push: HashSet<&str> = ids.iter().map(String::as_str).collect();
    // Households' places as this push leaves them (households come first), else as stored.
    let mut places: HashMap<String, Option<Placement>> = HashMap::new();
    let mut out = Vec::with_capacity(groups.len());
    // A few documents merged at a time, so that the households they name are read from the store together (one
    // query instead of one each), while only that many merged documents are held at once.
    for chunk in groups.chunks(MERGE_AT_ONCE) {
        let merged: Vec<Option<Merged>> = chunk
            .iter()
            .map(|group| {
                let existing = stored.remove(&group.doc_id).filter(|e| e.kind == group.kind);
                let mut document = match &existing {
                    Some(e) => e.document().ok()?,
                    None => Document::empty(&ActorId::random()),
                };
                let mut seen = HashSet::new();
                let fresh: Vec<&Parsed> =
                    group.changes.iter().filter(|c| seen.insert(c.hash) && !document.has_change(&c.hash_hex)).collect();
                let document = merge(&group.doc_id, group.kind, document, &fresh).ok()?;
                Some((existing, document, fresh))
            })
            .collect();
        let named: BTreeSet<String> = merged
            .iter()
            .zip(chunk)
            .filter_map(|(m, g)| household_named(g.kind, &m.as_ref()?.1))
            .filter(|h| !in_push.contains(h.as_str()) && !places.contains_key(h))
            .collect();
        places.extend(named.iter().map(|h| (h.clone(), None)));
        for h in storage.docs(&named.into_iter().collect::<Vec<_>>())? {
            places.insert(h.id.clone(), Some(h.placement));
        }
        for (group, merged) in chunk.iter().zip(merged) {
            let mut household = |id: &str| -> Result<Option<Placement>> {
                if let Some(p) = places.get(id) {
                    return Ok(p.clone());
                }
                let p = storage.doc(id)?.map(|h| h.placement);
                places.insert(id.to_string(), p.clone());
                Ok(p)
            };
            let worked = merged.and_then(|(existing, document, fresh)| {
                let (id, kind) = (&group.doc_id, group.kind);
                work_out(id, kind, existing.as_ref(), document, &fresh, format, now, &mut household).ok()
            });
            if let Some(w) = worked.as_ref().filter(|w| w.kind == DocKind::Household) {
                places.insert(group.doc_id.clone(), Some(w.placement.clone()));
            }
            out.push(worked);
        }
    }
    Ok(out)
}

/// A document merged ahead (`work_ahead`): the stored one it started from, the merge and the changes new to it.
type Merged<'a> = (Option<StoredDoc>, Document, Vec<&'a Parsed>);

/// Documents of a push merged before the households they name are read (`work_ahead`).
const MERGE_AT_ONCE: usize = 64;

/// The household a merged visit or screening names (its record is kept by the document for what follows).
fn household_named(kind: DocKind, document: &Document) -> Option<String> {
    match kind {
        DocKind::Visit => document.read::<Visit>().ok().map(|v| v.household_id),
        DocKind::Screening => document.read::<Screening>().ok().map(|s| s.household_id),
        DocKind::Household | DocKind::Rules => None,
    }
}

/// Applies a document's new changes to it and checks that it then holds every one of them and a record of `kind`.
fn merge(id: &str, kind: DocKind, mut document: Document, fresh: &[&Parsed]) -> Result<Document> {
    document.apply_parsed(fresh.iter().map(|c| c.change.clone()).collect())?;
    if let Some(c) = fresh.iter().find(|c| !document.has_change(&c.hash_hex)) {
        return Err(Refusal::BadChange(format!(
            "change {} of {id} depends on changes the server does not have; push older changes first",
            c.hash_hex
        ))
        .into());
    }
    if document.kind() != Some(kind) {
        return Err(Refusal::BadChange(format!("document {id} does not hold a {kind} record")).into());
    }
    Ok(document)
}

/// Derives everything that is written of a merged document (`merge`): its placement (a visit's or screening's from
/// its household, looked up with `household`), the move of format 1 values, its saved bytes, heads, index rows,
/// packed record and attachment references.
#[allow(clippy::too_many_arguments)]
fn work_out(
    id: &str,
    kind: DocKind,
    existing: Option<&StoredDoc>,
    mut document: Document,
    fresh: &[&Parsed],
    format: i64,
    now: i64,
    household: &mut dyn FnMut(&str) -> Result<Option<Placement>>,
) -> Result<Worked> {
    let (placement, helpers) = placement_of(household, id, kind, &document)?;
    let mut moved = None;
    if format >= form::CURRENT {
        // Format 1 values in a deployment at format 2 (a phone that had not pulled the move yet): the server moves
        // them at once, so every reader sees codes (see `crate::documents`).
        moved = document
            .normalize_after(fresh.iter().any(|c| c.old_forms), kind, &crate::documents::author(), now)
            .map_err(|e| Refusal::BadChange(format!("document {id}: {e}")))?;
    }
    let bytes = match fresh {
        // A document made by one change is that change: Automerge loads it as it loads a saved document.
        [only] if existing.is_none() && moved.is_none() => only.bytes.clone(),
        _ => document.save(),
    };
    let (rows, record) = doorstep_core::store::index::derive_with_record(id, kind, &mut document)?;
    Ok(Worked {
        kind,
        base_heads: existing.map(|e| e.heads.clone()).unwrap_or_default(),
        fresh: fresh.iter().map(|c| c.hash).collect(),
        placement,
        helpers,
        moved,
        bytes,
        heads: document.heads(),
        rows,
        record,
        blob_refs: blob_refs(id, kind, &document)?,
    })
}

/// What a push's unit of work has looked up already: the actors it checked, and the households' places.
#[derive(Default)]
struct Seen {
    actors: HashSet<String>,
    places: HashMap<String, Option<Placement>>,
}

impl Seen {
    /// A household's place as the unit of work holds it, read once per push: a push's visits name few households,
    /// and each read loaded the whole household document under the writer. A household the push writes is placed
    /// anew (`ingest`).
    fn place(&mut self, tx: &mut dyn WriteTx, id: &str) -> Result<Option<Placement>> {
        if let Some(p) = self.places.get(id) {
            return Ok(p.clone());
        }
        let p = tx.doc(id)?.map(|d| d.placement);
        self.places.insert(id.to_string(), p.clone());
        Ok(p)
    }
}

#[allow(clippy::too_many_arguments)]
fn ingest(
    tx: &mut dyn WriteTx,
    device_id: &str,
    scope: &mut Scope,
    grace: Option<&Grace>,
    looked_up: &mut Seen,
    group: &Group,
    ahead: Option<Worked>,
    format: i64,
    acked: &mut Vec<[u8; 32]>,
) -> Result<()> {
    let id = &group.doc_id;
    let existing = tx.doc(id)?;
    if let Some(e) = &existing {
        if e.kind != group.kind {
            return Err(Refusal::BadChange(format!("document {id} is a {}, not a {}", e.kind, group.kind)).into());
        }
    }
    let mut seen = HashSet::new();
    let mut fresh = Vec::new();
    for c in &group.changes {
        acked.push(c.hash);
        if seen.insert(c.hash) && !tx.change_exists(&c.hash_hex)? {
            fresh.push(c);
        }
    }
    if fresh.is_empty() {
        return Ok(());
    }
    let now = now_ms();
    for c in &fresh {
        // A push holds many changes by the same actor: check each actor once per push.
        if !looked_up.actors.insert(c.actor.clone()) {
            continue;
        }
        match tx.actor_owner(&c.actor)? {
            None => tx.bind_actor(&c.actor, device_id, now)?,
            Some(owner) if owner.device_id == device_id => {}
            // The same account signed in again from the same store after its device was revoked: the store's
            // unsynced work may still go up (attributed to the same person), and the actor moves to the new device.
            Some(owner) if owner.revoked && !owner.user.is_empty() && owner.user == scope.user => {
                tx.rebind_actor(&c.actor, device_id, now)?
            }
            Some(_) => return Err(Refusal::ForgedActor(c.actor.clone()).into()),
        }
    }
    let worked = match ahead {
        Some(w) if w.holds(tx, looked_up, existing.as_ref(), &fresh)? => w,
        _ => {
            let document = match &existing {
                Some(e) => e.document()?,
                None => Document::empty(&ActorId::random()),
            };
            let document = merge(id, group.kind, document, &fresh)?;
            let mut household = |h: &str| looked_up.place(tx, h);
            work_out(id, group.kind, existing.as_ref(), document, &fresh, format, now, &mut household)?
        }
    };
    let placement = worked.placement;
    let helpers = worked.helpers;
    let before = existing.as_ref().map(|e| &e.placement);
    if !scope.may_write(id, group.kind, before, &placement, &helpers)
        && !written_before_loss(tx, scope, grace, group.kind, before, &placement)?
    {
        return Err(Refusal::OutOfScope(id.clone()).into());
    }
    let mut stored_changes: Vec<(&str, String, String, Vec<u8>)> =
        fresh.iter().map(|c| (device_id, c.hash_hex.clone(), c.actor.clone(), c.bytes.clone())).collect();
    if let Some(change) = worked.moved {
        tx.bind_actor(&change.actor, SERVER_DEVICE, now)?;
        stored_changes.push((SERVER_DEVICE, change.hash, change.actor, change.bytes));
    }
    let mut first = 0;
    let mut last = 0;
    for (writer, hash, actor, bytes) in stored_changes {
        let seq = tx.next_seq()?;
        first = if first == 0 { seq } else { first };
        last = seq;
        tx.insert_change(&NewChange {
            seq,
            hash,
            doc_id: id.clone(),
            actor,
            device_id: writer.to_string(),
            received_ms: now,
            bytes,
        })?;
    }
    let stored = StoredDoc {
        id: id.clone(),
        kind: group.kind,
        bytes: worked.bytes,
        heads: worked.heads,
        first_seq: existing.as_ref().map_or(first, |e| e.first_seq),
        last_seq: last,
        placement: placement.clone(),
        updated_ms: now,
    };
    tx.save_derived(&stored, worked.rows, worked.record)?;
    if matches!(group.kind, DocKind::Visit | DocKind::Screening) {
        tx.set_blob_refs(id, &worked.blob_refs)?;
    }
    if group.kind == DocKind::Household {
        if helpers.iter().any(|h| h == &scope.user) {
            scope.add_household(id);
        }
        for helper in &helpers {
            assign::add(tx, [Link::Helper { helper: helper.clone(), household: id.clone() }])?;
        }
        tx.move_dependents(id, &placement)?;
        looked_up.places.insert(id.clone(), Some(placement.clone()));
        if let Some(e) = existing.as_ref().filter(|e| e.placement != placement) {
            // Whoever saw it only through its old village or township loses it (see `Storage::lost_docs`).
            tx.record_move_loss(id, &e.placement)?;
            tx.scope_event(&ScopeEvent { subject: Subject::Anyone, target: Target::Household(id.clone()) })?;
        }
    }
    Ok(())
}

/// Whether a push outside the scope comes from a device that has not yet synced past the loss of the document (at
/// its placement before and after the push; the schedule rules are never lost).
fn written_before_loss(
    tx: &mut dyn WriteTx,
    scope: &Scope,
    grace: Option<&Grace>,
    kind: DocKind,
    before: Option<&Placement>,
    after: &Placement,
) -> Result<bool> {
    let Some(g) = grace else { return Ok(false) };
    if kind == DocKind::Rules || after.household_id.is_none() {
        return Ok(false);
    }
    let mut lost = |p: &Placement| tx.lost_after(&scope.user, g.team.as_deref(), g.cursor, p);
    let after_ok = lost(after)?;
    let before_ok = match before {
        Some(b) if b != after => scope.visible.sees("", b) || lost(b)?,
        _ => true,
    };
    Ok(after_ok && before_ok)
}

/// Where a merged document belongs, read from its record: a household's own village, a visit's or screening's
/// household's village. Also returns a household's helpers.
fn placement_of(
    household: &mut dyn FnMut(&str) -> Result<Option<Placement>>,
    id: &str,
    kind: DocKind,
    doc: &Document,
) -> Result<(Placement, Vec<String>)> {
    let bad = |e: doorstep_core::Error| Refusal::BadChange(format!("document {id}: {e}"));
    let mut of_household = |household_id: String| -> Result<Placement> {
        match household(&household_id)? {
            Some(p) => Ok(Placement { household_id: Some(household_id), ..p }),
            // Whose it is cannot be judged before the household arrives: refuse this push as "not yet", never as
            // out of scope, so that the device keeps the record in its queue instead of setting it aside.
            None => Err(Refusal::HouseholdUnknown { doc: id.to_string(), household: household_id }.into()),
        }
    };
    match kind {
        DocKind::Household => {
            let h: Household = doc.read().map_err(bad)?;
            same_id(id, &h.id)?;
            Ok((Placement { household_id: Some(h.id), village: h.village, township: h.township }, h.helper_ids))
        }
        DocKind::Visit => {
            let v: Visit = doc.read().map_err(bad)?;
            same_id(id, &v.id)?;
            Ok((of_household(v.household_id)?, vec![]))
        }
        DocKind::Screening => {
            let s: Screening = doc.read().map_err(bad)?;
            same_id(id, &s.id)?;
            Ok((of_household(s.household_id)?, vec![]))
        }
        DocKind::Rules => {
            let r: RulesDoc = doc.read().map_err(bad)?;
            same_id(id, &r.id)?;
            Ok((Placement::default(), vec![]))
        }
    }
}

/// The blobs a merged visit or screening refers to (none once it is tombstoned), read with the core's model.
/// References whose hash is not a well-formed blob name are ignored: they can never be uploaded or served.
pub fn blob_refs(id: &str, kind: DocKind, doc: &Document) -> Result<Vec<BlobRef>> {
    let bad = |e: doorstep_core::Error| Refusal::BadChange(format!("document {id}: {e}"));
    // The record was read, and checked, for its placement just before: the document keeps it.
    let (deleted, attachments) = match kind {
        DocKind::Visit => doc.read::<Visit>().map(|v| (v.deleted, v.attachments)).map_err(bad)?,
        DocKind::Screening => doc.read::<Screening>().map(|s| (s.deleted, s.attachments)).map_err(bad)?,
        DocKind::Household | DocKind::Rules => return Ok(vec![]),
    };
    if deleted {
        return Ok(vec![]);
    }
    let mut refs: Vec<BlobRef> = attachments
        .into_values()
        .filter(|a| attachment::is_valid_hash(&a.hash))
        .map(|a| BlobRef { hash: a.hash, media_type: a.media_type, size: a.size })
        .collect();
    refs.sort();
    refs.dedup_by(|a, b| a.hash == b.hash);
    Ok(refs)
}

/// A record's own id must be the id it is pushed under, so a copy cannot pose as another document.
fn same_id(doc_id: &str, record_id: &str) -> Result<()> {
    if doc_id != record_id {
        return Err(Refusal::BadChange(format!("document {doc_id} holds a record with id {record_id}")).into());
    }
    Ok(())
}

/// A page of a pull.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub docs: Vec<WireDoc>,
    pub cursor: u64,
    pub more: bool,
    /// Documents that left the account's scope after the request's cursor and up to this page's: the device wipes
    /// them (after uploading or setting aside what it has not synced).
    pub removed: Vec<String>,
}

/// Clamps the page size a device asked for.
pub fn page_bytes(asked: u32) -> u32 {
    if asked == 0 {
        DEFAULT_PAGE_BYTES
    } else {
        asked.clamp(MIN_PAGE_BYTES, MAX_PAGE_BYTES)
    }
}

/// Candidates read at most per pull, so a first sync over a whole county does not hold them all in memory.
pub const CANDIDATE_LIMIT: usize = 50_000;

/// Cuts the page after `query.cursor`, at most about `max_bytes` of documents (at least one position).
pub fn pull(storage: &dyn Storage, query: PullQuery, max_bytes: u32) -> Result<Page> {
    pull_limited(storage, query, max_bytes, CANDIDATE_LIMIT)
}

/// `pull` with a chosen candidate limit (small in tests).
pub fn pull_limited(storage: &dyn Storage, mut query: PullQuery, max_bytes: u32, limit: usize) -> Result<Page> {
    let (mut head, mut candidates, mut truncated) = storage.pull_candidates_limited(&query, limit)?;
    if query.cursor > head {
        // The device's cursor comes from another history (a restored or replaced server): bootstrap it again.
        query.cursor = 0;
        (head, candidates, truncated) = storage.pull_candidates_limited(&query, limit)?;
    }
    let plan = plan_page(candidates, head, max_bytes as u64, truncated);
    let snapshot_ids: Vec<String> = plan.items.iter().filter(|i| i.snapshot).map(|i| i.doc_id.clone()).collect();
    let change_seqs: Vec<u64> = plan.items.iter().filter(|i| !i.snapshot).map(|i| i.seq).collect();
    let mut snapshots: HashMap<String, Vec<u8>> =
        storage.docs(&snapshot_ids)?.into_iter().map(|d| (d.id, d.bytes)).collect();
    let mut changes: HashMap<u64, Vec<u8>> = storage.change_bytes(&change_seqs)?.into_iter().collect();
    let mut docs: Vec<WireDoc> = Vec::new();
    let mut at: HashMap<String, usize> = HashMap::new();
    for item in plan.items {
        let slot = *at.entry(item.doc_id.clone()).or_insert_with(|| {
            docs.push(WireDoc {
                doc_id: item.doc_id.clone(),
                kind: item.kind.code().into(),
                snapshot: None,
                changes: vec![],
            });
            docs.len() - 1
        });
        if item.snapshot {
            docs[slot].snapshot = snapshots.remove(&item.doc_id);
        } else if let Some(bytes) = changes.remove(&item.seq) {
            docs[slot].changes.push(bytes);
        }
    }
    // A device at cursor 0 holds nothing to wipe.
    let removed = if query.cursor == 0 {
        vec![]
    } else {
        let lost = storage.lost_docs(&query, plan.cursor)?;
        lost.into_iter().filter(|(id, p)| !query.visible.sees(id, p)).map(|(id, _)| id).collect()
    };
    Ok(Page { docs, cursor: plan.cursor, more: plan.more, removed })
}

/// One thing a page sends.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Item {
    seq: u64,
    doc_id: String,
    kind: DocKind,
    snapshot: bool,
    len: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Plan {
    items: Vec<Item>,
    cursor: u64,
    more: bool,
}

/// Decides what goes into a page, from candidates in sequence order, complete up to `head` (and possibly beyond it
/// when `truncated`: the store stopped early and more follows). Pure, so it is tested on its own.
fn plan_page(candidates: Vec<Candidate>, head: u64, max_bytes: u64, truncated: bool) -> Plan {
    // A document sent whole travels once, at its earliest candidate; its snapshot covers its other candidates.
    let mut whole: HashMap<String, u64> = HashMap::new();
    for c in &candidates {
        if c.how != CandidateKind::Change {
            whole.entry(c.doc_id.clone()).or_insert(c.seq);
        }
    }
    for c in &candidates {
        if let Some(first) = whole.get_mut(&c.doc_id) {
            *first = (*first).min(c.seq);
        }
    }
    let mut items: Vec<Item> = Vec::new();
    let mut placed: HashMap<String, usize> = HashMap::new();
    for c in candidates {
        match whole.get(&c.doc_id) {
            Some(&first) => {
                let len = if c.how == CandidateKind::Change { 0 } else { c.len };
                match placed.get(&c.doc_id) {
                    Some(&at) => items[at].len = items[at].len.max(len),
                    None => {
                        placed.insert(c.doc_id.clone(), items.len());
                        items.push(Item { seq: first, doc_id: c.doc_id, kind: c.kind, snapshot: true, len });
                    }
                }
            }
            None => items.push(Item { seq: c.seq, doc_id: c.doc_id, kind: c.kind, snapshot: false, len: c.len }),
        }
    }
    items.sort_by(|a, b| a.seq.cmp(&b.seq).then_with(|| a.doc_id.cmp(&b.doc_id)));
    if truncated {
        // A document travelling whole sits at its earliest candidate, so dropping positions beyond `head` never
        // drops the snapshot a kept change would need.
        items.retain(|i| i.seq <= head);
    }
    let mut total = 0u64;
    let mut taken = 0usize;
    let mut cursor = head;
    let mut more = false;
    while taken < items.len() {
        let seq = items[taken].seq;
        let end = taken + items[taken..].iter().take_while(|i| i.seq == seq).count();
        let size: u64 = items[taken..end].iter().map(|i| i.len).sum();
        if taken > 0 && total + size > max_bytes {
            // Nothing this device needs lies between the last position taken and the next one.
            cursor = seq - 1;
            more = true;
            break;
        }
        total += size;
        taken = end;
    }
    items.truncate(taken);
    Plan { items, cursor, more: more || truncated }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(seq: u64, doc: &str, how: CandidateKind, len: u64) -> Candidate {
        Candidate { seq, doc_id: doc.into(), kind: DocKind::Visit, how, len }
    }

    #[test]
    fn a_page_takes_whole_positions_while_they_fit() {
        let c = vec![
            cand(1, "a", CandidateKind::NewDoc, 40),
            cand(2, "b", CandidateKind::Change, 40),
            cand(3, "c", CandidateKind::Change, 40),
        ];
        let plan = plan_page(c.clone(), 9, 100, false);
        assert_eq!(plan.items.len(), 2);
        assert_eq!((plan.cursor, plan.more), (2, true));
        let gap = plan_page(
            vec![cand(1, "a", CandidateKind::NewDoc, 90), cand(6, "b", CandidateKind::Change, 90)],
            9,
            100,
            false,
        );
        assert_eq!((gap.cursor, gap.more), (5, true));
        let all = plan_page(c, 9, 1000, false);
        assert_eq!((all.cursor, all.more, all.items.len()), (9, false, 3));
    }

    #[test]
    fn at_least_one_position_even_when_too_big() {
        let plan = plan_page(vec![cand(5, "a", CandidateKind::NewDoc, 5000)], 5, 10, false);
        assert_eq!((plan.items.len(), plan.cursor, plan.more), (1, 5, false));
    }

    #[test]
    fn a_document_entering_scope_goes_whole_at_its_earliest_position() {
        let c = vec![
            cand(3, "a", CandidateKind::Change, 10),
            cand(4, "b", CandidateKind::Change, 10),
            cand(7, "a", CandidateKind::EnteredScope, 50),
        ];
        let plan = plan_page(c, 8, 1000, false);
        let got: Vec<(u64, &str, bool, u64)> =
            plan.items.iter().map(|i| (i.seq, i.doc_id.as_str(), i.snapshot, i.len)).collect();
        assert_eq!(got, vec![(3, "a", true, 50), (4, "b", false, 10)]);
        assert_eq!(plan.cursor, 8);
    }

    #[test]
    fn an_empty_pull_moves_the_cursor_to_the_head() {
        let plan = plan_page(vec![], 12, 10, false);
        assert_eq!((plan.items.len(), plan.cursor, plan.more), (0, 12, false));
    }
}
