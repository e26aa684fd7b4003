//! Typed records ⇄ Automerge documents: creation, minimal edits, merging, conflicts and per-field history.
//!
//! autosurgeon's `reconcile` writes only the fields that differ from the document, so an edit of one field makes a
//! change that touches that field alone and concurrent edits of different fields merge. Every change carries the
//! author's user and device in its message and the device time as its timestamp (seconds, Automerge's convention;
//! changes written before format 2 hold milliseconds, see `model::form`), so history can say who changed what, where
//! and when, without any side table. What each document holds is a contract with other clients (`model::schema`,
//! `docs/documents.md`).

use crate::error::{Error, Result};
use crate::model::{form, schema, DocKind, Record};
use automerge::{
    transaction::{CommitOptions, Transactable},
    ActorId, AutoCommit, Change, ChangeHash, ObjId, ObjType, Prop, ReadDoc, ScalarValue, Value, ROOT,
};
use serde::{Deserialize, Serialize};

mod flat;
mod keep;

/// Who makes a change: written into every change so that its history is attributable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Author {
    pub user: String,
    pub device: String,
}

/// One change as the store and the wire keep it: content-addressed by its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeRecord {
    pub hash: String,
    pub actor: String,
    pub seq: u64,
    pub bytes: Vec<u8>,
}

impl ChangeRecord {
    /// Takes what the store keeps from an Automerge change.
    pub fn from_change(change: &Change) -> Self {
        Self {
            hash: change.hash().to_string(),
            actor: change.actor_id().to_hex_string(),
            seq: change.seq(),
            bytes: change.raw_bytes().to_vec(),
        }
    }
}

/// One of several values concurrently written to the same field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, uniffi::Record)]
pub struct ConflictValue {
    /// The value as JSON text (a string, number, boolean, null, or an object for a nested record).
    pub value_json: String,
    pub actor: String,
    pub user: String,
    pub device: String,
    /// Device time of the change that wrote it, milliseconds since the epoch (advisory: device clocks drift).
    pub device_time_ms: i64,
}

/// A field with more than one current value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, uniffi::Record)]
pub struct Conflict {
    pub doc_id: String,
    /// Dotted path of the field (`phone`, `members.<id>.name`, `assurances.water.status`).
    pub field: String,
    pub values: Vec<ConflictValue>,
}

/// One value a field has held, and who wrote it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, uniffi::Record)]
pub struct FieldVersion {
    pub value_json: String,
    pub change_hash: String,
    pub actor: String,
    pub user: String,
    pub device: String,
    pub device_time_ms: i64,
}

/// A record's Automerge document, with the device's actor set so that edits are attributed to it.
pub struct Document {
    doc: AutoCommit,
    /// The record last read, until the document changes: a write or a pushed document is read several times
    /// (placement and scope, attachments, index rows), and hydrating a record is the costliest read there is.
    read_cache: std::sync::Mutex<Option<Box<dyn std::any::Any + Send>>>,
}

impl Document {
    /// A new document holding `record`, and the change that created it.
    pub fn create<R: Record>(
        record: &R,
        actor: &ActorId,
        author: &Author,
        time_ms: i64,
    ) -> Result<(Self, ChangeRecord)> {
        let mut doc = AutoCommit::new().with_actor(actor.clone());
        autosurgeon::reconcile(&mut doc, record).map_err(|e| Error::Document(e.to_string()))?;
        if form::writing() >= form::CURRENT {
            doc.put(ROOT, form::FIELD, form::writing()).map_err(doc_err)?;
        }
        let mut this = Self::wrap(doc);
        let change = this.commit(author, time_ms).ok_or_else(|| Error::Document("empty record".into()))?;
        this.remember(record);
        Ok((this, change))
    }

    /// Loads a saved document (or a compacted snapshot from the server) and sets this device's actor.
    pub fn load(bytes: &[u8], actor: &ActorId) -> Result<Self> {
        let doc = guard(|| AutoCommit::load(bytes).map_err(|e| Error::Document(e.to_string())))?;
        // Bytes that are a run of loose changes load too; one whose dependencies are absent would be queued, and
        // reading such a document's history later fails inside Automerge. Refuse it here.
        let mut this = Self::wrap(doc.with_actor(actor.clone()));
        this.check_complete()?;
        Ok(this)
    }

    /// An empty document, into which received changes are applied.
    pub fn empty(actor: &ActorId) -> Self {
        Self::wrap(AutoCommit::new().with_actor(actor.clone()))
    }

    fn wrap(doc: AutoCommit) -> Self {
        Self { doc, read_cache: std::sync::Mutex::new(None) }
    }

    /// Forgets the record read last; every method that changes the document calls it first.
    fn changing(&mut self) -> &mut AutoCommit {
        if let Ok(cache) = self.read_cache.get_mut() {
            *cache = None;
        }
        &mut self.doc
    }

    /// The typed record the document holds now.
    pub fn read<R: Record>(&self) -> Result<R> {
        if let Some(r) = self.read_cache.lock().ok().and_then(|c| c.as_ref()?.downcast_ref::<R>().cloned()) {
            return Ok(r);
        }
        let r: R = autosurgeon::hydrate(&flat::Flat::new(&self.doc)).map_err(|e| self.unreadable::<R>(e))?;
        if let Ok(mut cache) = self.read_cache.lock() {
            *cache = Some(Box::new(r.clone()));
        }
        Ok(r)
    }

    /// Why the document does not read as an `R`, naming the first field that is wrong when the schema finds it.
    fn unreadable<R: Record>(&self, e: autosurgeon::HydrateError) -> Error {
        match schema::check(&self.doc, R::KIND).into_iter().next() {
            Some(m) => Error::Document(format!("field {m}")),
            None => Error::Document(e.to_string()),
        }
    }

    /// The document format it is written in (`model::form`): 1 for documents without a `format` field.
    pub fn format(&self) -> i64 {
        match self.doc.get(ROOT, form::FIELD) {
            Ok(Some((Value::Scalar(s), _))) => match s.as_ref() {
                ScalarValue::Int(i) => *i,
                ScalarValue::Uint(u) => i64::try_from(*u).unwrap_or(i64::MAX),
                _ => form::LEGACY,
            },
            _ => form::LEGACY,
        }
    }

    /// The Automerge document, for readers that walk it field by field (`model::schema`).
    pub fn raw(&self) -> &AutoCommit {
        &self.doc
    }

    #[cfg(test)]
    pub(crate) fn raw_mut(&mut self) -> &mut AutoCommit {
        self.changing()
    }

    /// Who a format move is attributed to in field history: the server's `system` account.
    pub fn format_mover() -> Author {
        Author { user: "system".into(), device: "server".into() }
    }

    /// [`Document::normalize`] after new changes were applied to a document the server had already moved, told
    /// whether any of them may hold a value in a format 1 form (`schema::may_hold_old_forms`): the
    /// walk of the whole document is skipped when it is at the current format, holds no concurrent values, and the
    /// new changes hold no value in a format 1 form, since then nothing can move.
    pub fn normalize_after(
        &mut self,
        new_old_forms: bool,
        kind: DocKind,
        author: &Author,
        time_ms: i64,
    ) -> Result<Option<ChangeRecord>> {
        if self.format() >= form::CURRENT && self.conflict_count() == 0 && !new_old_forms {
            return Ok(None);
        }
        self.normalize(kind, author, time_ms)
    }

    /// Moves a format 1 document to the current format: one change, written with this document's actor and
    /// attributed to `author` (`format_mover` on the server), that puts every enumeration as its code and every whole
    /// number as an `int`, and records the format. A field holding concurrent values keeps them, except where one of
    /// them was written by a format move and one other by somebody: that person's edit (made on a copy that had not
    /// seen the move) is the value, in the current form. `None` when nothing is to move.
    pub fn normalize(&mut self, kind: DocKind, author: &Author, time_ms: i64) -> Result<Option<ChangeRecord>> {
        let (mut rewrites, concurrent) = schema::normalize(&self.doc, kind);
        if !concurrent.is_empty() {
            let authors = self.change_index();
            let mover = Self::format_mover();
            for c in concurrent {
                let (moved, others): (Vec<_>, Vec<_>) = c.values.iter().partition(|(_, id)| {
                    let (user, device, ..) = authors.author_of(id);
                    user == mover.user && device == mover.device
                });
                if moved.is_empty() || others.len() > 1 {
                    continue;
                }
                let (value, _) = others.first().copied().unwrap_or(moved[0]);
                rewrites.push(schema::Rewrite {
                    obj: c.obj.clone(),
                    prop: c.prop.clone(),
                    value: c.current_form(value),
                });
            }
        }
        if rewrites.is_empty() && self.format() >= form::CURRENT {
            return Ok(None);
        }
        let doc = self.changing();
        for r in rewrites {
            doc.put(&r.obj, r.prop, r.value).map_err(doc_err)?;
        }
        if self.format() < form::CURRENT {
            self.changing().put(ROOT, form::FIELD, form::CURRENT).map_err(doc_err)?;
        }
        Ok(self.commit(author, time_ms))
    }

    /// One top-level field of the record, `None` when absent, without reading the rest (for checks that run on
    /// every write, such as the attachment references of a visit).
    pub fn read_field<T: autosurgeon::Hydrate>(&self, field: &str) -> Result<Option<T>> {
        autosurgeon::hydrate_prop(&self.doc, ROOT, field).map_err(|e| Error::Document(e.to_string()))
    }

    /// Which kind of record the document holds, read from its fields; used by code that receives documents blind.
    pub fn kind(&self) -> Option<DocKind> {
        // The telling fields in order of precedence; the top-level keys are read in one pass (a look-up each was
        // four seeks through the op columns on every pushed document).
        const TELLING: [(&str, DocKind); 4] = [
            ("rules", DocKind::Rules),
            ("members", DocKind::Household),
            ("systolic", DocKind::Screening),
            ("visitor", DocKind::Visit),
        ];
        let mut found = [false; TELLING.len()];
        for key in self.doc.keys(ROOT) {
            if let Some(i) = TELLING.iter().position(|(k, _)| *k == key) {
                found[i] = true;
            }
        }
        TELLING.iter().zip(found).find(|(_, f)| *f).map(|((_, kind), _)| *kind)
    }

    /// Writes the fields of `record` that differ from the document; `None` when nothing changed.
    /// Values are written in the document's own format, so an edit never rewrites a field it did not change, and a
    /// field holding concurrent values keeps them unless the record changes it (`keep`).
    pub fn update<R: Record>(&mut self, record: &R, author: &Author, time_ms: i64) -> Result<Option<ChangeRecord>> {
        let format = self.format();
        let doc = self.changing();
        form::writing_in(format, || autosurgeon::reconcile(&mut keep::KeepConflicts(doc), record))
            .map_err(|e| Error::Document(e.to_string()))?;
        let change = self.commit(author, time_ms);
        self.remember(record);
        Ok(change)
    }

    /// Takes the record just written as the one the document holds now (reading it back gives the same record:
    /// every field was written, and a conflicted field shows the value written), so the index rows and checks that
    /// follow a write do not hydrate it again.
    fn remember<R: Record>(&mut self, record: &R) {
        if let Ok(cache) = self.read_cache.get_mut() {
            *cache = Some(Box::new(record.clone()));
        }
    }

    fn commit(&mut self, author: &Author, time_ms: i64) -> Option<ChangeRecord> {
        let message = serde_json::to_string(author).unwrap_or_default();
        // Format 2 keeps Automerge's convention (seconds); a format 1 document keeps the milliseconds it always had.
        let time = if self.format() >= form::CURRENT { form::change_time(time_ms) } else { time_ms };
        self.changing().commit_with(CommitOptions::default().with_message(message).with_time(time))?;
        self.doc.get_last_local_change().map(|c| ChangeRecord::from_change(&c))
    }

    /// The compacted document, as the store keeps it and as a snapshot is sent to a fresh device.
    pub fn save(&mut self) -> Vec<u8> {
        self.doc.save()
    }

    /// The current heads, as hex hashes.
    pub fn heads(&mut self) -> Vec<String> {
        self.doc.get_heads().iter().map(ToString::to_string).collect()
    }

    /// Applies changes received from elsewhere; ones already present are ignored. A change whose dependencies are
    /// neither in the document nor in the same batch is refused: Automerge would hold it back in a queue, and reading
    /// the history of a document with a queued change fails deep inside Automerge.
    pub fn apply(&mut self, changes: &[Vec<u8>]) -> Result<()> {
        let parsed = changes
            .iter()
            .map(|b| Change::from_bytes(b.clone()).map_err(|e| Error::Document(format!("bad change: {e}"))))
            .collect::<Result<Vec<_>>>()?;
        self.apply_parsed(parsed)
    }

    /// [`Document::apply`] of changes already parsed (the server parses each pushed change once, on arrival).
    pub fn apply_parsed(&mut self, parsed: Vec<Change>) -> Result<()> {
        let in_batch: std::collections::HashSet<ChangeHash> = parsed.iter().map(Change::hash).collect();
        for change in &parsed {
            for dep in change.deps() {
                if !in_batch.contains(dep) && !self.holds(dep) {
                    return Err(Error::Document(format!(
                        "change {} depends on {dep}, which is missing",
                        change.hash()
                    )));
                }
            }
        }
        // Automerge panics on some malformed changes (found by fuzzing, `fuzz/regressions/apply_changes/`), or
        // accepts them into a change graph whose history then panics when read: apply and read the history here,
        // an error instead of a panic; after an error the document is dropped and reloaded, as every caller does.
        let doc = self.changing();
        guard(move || {
            doc.apply_changes(parsed).map_err(|e| Error::Document(e.to_string()))?;
            doc.get_changes(&[]);
            Ok(())
        })?;
        // The history was read back just above, under the guard: only the queue of held-back changes is left to
        // check (`check_complete` would read the whole history a second time).
        self.check_no_missing_deps()
    }

    fn check_no_missing_deps(&mut self) -> Result<()> {
        match self.doc.get_missing_deps(&[]).first() {
            Some(dep) => Err(Error::Document(format!("a change depends on {dep}, which is missing"))),
            None => Ok(()),
        }
    }

    /// Refuses a document holding a change whose dependencies are absent: Automerge keeps such a change in a queue,
    /// and reading the history of that document later fails inside Automerge. Callers drop the document on error.
    fn check_complete(&mut self) -> Result<()> {
        self.check_no_missing_deps()?;
        // Malformed input can also leave a change graph whose history cannot be read back (Automerge panics
        // there): read it once now, under the guard, so such data is refused at the door.
        let doc = &mut self.doc;
        guard(move || Ok(doc.get_changes(&[]).len())).map(|_| ())
    }

    /// Merges another copy of the same document.
    pub fn merge(&mut self, other: &mut Document) -> Result<()> {
        let (doc, other) = (self.changing(), &mut other.doc);
        guard(move || {
            doc.merge(other).map_err(|e| Error::Document(e.to_string()))?;
            doc.get_changes(&[]);
            Ok(())
        })?;
        self.check_complete()
    }

    /// Every change of the document, oldest first.
    pub fn changes(&mut self) -> Vec<ChangeRecord> {
        self.doc.get_changes(&[]).iter().map(ChangeRecord::from_change).collect()
    }

    /// Whether the document already holds a change.
    pub fn has_change(&mut self, hash: &str) -> bool {
        hash.parse::<ChangeHash>().is_ok_and(|h| self.holds(&h))
    }

    /// Whether the change graph holds this change: asked of the graph alone (`get_change_by_hash` would build the
    /// whole change from the op columns, a sixteenth of a server's ingest).
    fn holds(&mut self, hash: &ChangeHash) -> bool {
        self.doc.get_missing_deps(std::slice::from_ref(hash)).is_empty()
    }

    /// A read-only copy of the document as it was at the given heads (for "as of" views).
    pub fn at(&mut self, heads: &[String]) -> Result<Document> {
        let heads = parse_heads(heads)?;
        let doc = self.doc.fork_at(&heads).map_err(|e| Error::Document(e.to_string()))?;
        Ok(Self::wrap(doc))
    }

    /// Every field that holds more than one value after a merge, with who wrote each.
    pub fn conflicts(&mut self, doc_id: &str) -> Vec<Conflict> {
        let authors = self.change_index();
        let mut out = Vec::new();
        self.walk_conflicts(&ROOT, String::new(), doc_id, &authors, &mut out);
        out
    }

    /// How many fields hold more than one value: what the index keeps. Cheaper than `conflicts().len()`, which
    /// also reads the whole history to name each value's author; every write and every pushed document counts.
    pub fn conflict_count(&mut self) -> usize {
        if self.linear_history() {
            return 0;
        }
        self.count_conflicts(&ROOT)
    }

    /// Whether the changes form one line (one head, each change with at most one dependency): such a document
    /// cannot hold concurrent values. Reads change metadata only; a long line is walked up to a bound.
    fn linear_history(&mut self) -> bool {
        let heads = self.doc.get_heads();
        let mut next = match heads.as_slice() {
            [] => return true,
            [head] => Some(*head),
            _ => return false,
        };
        for _ in 0..256 {
            let Some(hash) = next else { return true };
            next = match self.doc.get_change_meta_by_hash(&hash).map(|m| m.deps) {
                Some(deps) if deps.is_empty() => None,
                Some(deps) if deps.len() == 1 => Some(deps[0]),
                _ => return false,
            };
        }
        next.is_none()
    }

    fn count_conflicts(&self, obj: &ObjId) -> usize {
        let mut n = 0;
        for (prop, _) in self.props(obj, "") {
            let values = self.doc.get_all(obj, prop.clone()).unwrap_or_default();
            // One value is the winner itself; with several, ask which one wins, as `walk_conflicts` does.
            let winner = match values.len() {
                0 => None,
                1 => values.into_iter().next(),
                _ => {
                    n += 1;
                    self.doc.get(obj, prop).ok().flatten()
                }
            };
            if let Some((Value::Object(_), id)) = winner {
                n += self.count_conflicts(&id);
            }
        }
        n
    }

    fn walk_conflicts(&self, obj: &ObjId, path: String, doc_id: &str, authors: &ChangeIndex, out: &mut Vec<Conflict>) {
        for (prop, child_path) in self.props(obj, &path) {
            let values = self.doc.get_all(obj, prop.clone()).unwrap_or_default();
            if values.len() > 1 {
                let values = values
                    .iter()
                    .map(|(v, id)| {
                        let (user, device, time, actor) = authors.author_of(id);
                        ConflictValue {
                            value_json: self.json_of(v, id).to_string(),
                            actor,
                            user,
                            device,
                            device_time_ms: time,
                        }
                    })
                    .collect();
                out.push(Conflict { doc_id: doc_id.to_string(), field: child_path.clone(), values });
            }
            if let Some((Value::Object(_), id)) = self.doc.get(obj, prop).ok().flatten() {
                self.walk_conflicts(&id, child_path, doc_id, authors, out);
            }
        }
    }

    /// The properties of a map or list with their dotted paths.
    fn props(&self, obj: &ObjId, path: &str) -> Vec<(Prop, String)> {
        let join = |k: &str| if path.is_empty() { k.to_string() } else { format!("{path}.{k}") };
        match self.doc.object_type(obj) {
            Ok(ObjType::Map | ObjType::Table) => self.doc.keys(obj).map(|k| (Prop::Map(k.clone()), join(&k))).collect(),
            Ok(ObjType::List) => (0..self.doc.length(obj)).map(|i| (Prop::Seq(i), join(&i.to_string()))).collect(),
            _ => vec![],
        }
    }

    /// Settles a conflict: writes `value_json` to the field, superseding every concurrent value.
    pub fn resolve(&mut self, field: &str, value_json: &str, author: &Author, time_ms: i64) -> Result<ChangeRecord> {
        let value: serde_json::Value =
            serde_json::from_str(value_json).map_err(|e| Error::invalid("value_json", &format!("not JSON: {e}")))?;
        let (obj, prop) = self.resolve_path(field)?;
        self.changing();
        let existing = self.doc.get_all(&obj, prop.clone()).unwrap_or_default();
        // Only a field the record has can be settled; anything else would add junk that syncs everywhere.
        if existing.is_empty() {
            return Err(Error::invalid("field", &format!("no field {field}")));
        }
        let template = existing.iter().find_map(|(v, _)| match v {
            Value::Scalar(s) => Some(s.as_ref().clone()),
            _ => None,
        });
        self.write_json(&obj, prop, &value, template.as_ref())?;
        self.commit(author, time_ms).ok_or_else(|| Error::Document("resolve wrote nothing".into()))
    }

    fn write_json(
        &mut self,
        obj: &ObjId,
        prop: Prop,
        value: &serde_json::Value,
        template: Option<&ScalarValue>,
    ) -> Result<()> {
        match container_type(value) {
            Some(t) => {
                let child = self.doc.put_object(obj, prop, t).map_err(doc_err)?;
                self.fill(&child, value)
            }
            None => self.doc.put(obj, prop, scalar_of(value, template)).map_err(doc_err),
        }
    }

    /// Writes the contents of a JSON object or array into a new, empty Automerge map or list.
    fn fill(&mut self, obj: &ObjId, value: &serde_json::Value) -> Result<()> {
        use serde_json::Value as J;
        match value {
            J::Object(map) => map.iter().try_for_each(|(k, v)| self.write_json(obj, Prop::Map(k.clone()), v, None)),
            J::Array(items) => items.iter().enumerate().try_for_each(|(i, v)| match container_type(v) {
                Some(t) => {
                    let inner = self.doc.insert_object(obj, i, t).map_err(doc_err)?;
                    self.fill(&inner, v)
                }
                None => self.doc.insert(obj, i, scalar_of(v, None)).map_err(doc_err),
            }),
            _ => Ok(()),
        }
    }

    /// Finds the object and property a dotted path names, at the current heads.
    fn resolve_path(&self, field: &str) -> Result<(ObjId, Prop)> {
        let mut obj = ROOT;
        let parts: Vec<&str> = field.split('.').collect();
        let not_found = || Error::invalid("field", &format!("no field {field}"));
        for (i, part) in parts.iter().enumerate() {
            let prop = match self.doc.object_type(&obj) {
                Ok(ObjType::List) => Prop::Seq(part.parse().map_err(|_| not_found())?),
                _ => Prop::Map(part.to_string()),
            };
            if i == parts.len() - 1 {
                return Ok((obj, prop));
            }
            match self.doc.get(&obj, prop).ok().flatten() {
                Some((Value::Object(_), id)) => obj = id,
                _ => return Err(not_found()),
            }
        }
        Err(not_found())
    }

    /// Every value the field has held, oldest first, with the change, user, device and device time that wrote it.
    pub fn field_history(&mut self, field: &str) -> Result<Vec<FieldVersion>> {
        let (obj, prop) = self.resolve_path(field)?;
        let index = self.change_index();
        let mut out = Vec::new();
        for entry in &index.entries {
            let heads = [entry.hash];
            for (value, id) in self.doc.get_all_at(&obj, prop.clone(), &heads).unwrap_or_default() {
                if entry.wrote(&id) {
                    out.push(FieldVersion {
                        value_json: self.json_at(&value, &id, &heads).to_string(),
                        change_hash: entry.hash.to_string(),
                        actor: entry.actor.clone(),
                        user: entry.author.user.clone(),
                        device: entry.author.device.clone(),
                        device_time_ms: entry.time,
                    });
                }
            }
        }
        Ok(out)
    }

    fn change_index(&mut self) -> ChangeIndex {
        let entries = self
            .doc
            .get_changes(&[])
            .iter()
            .map(|c| ChangeEntry {
                hash: c.hash(),
                actor: c.actor_id().to_hex_string(),
                start: c.start_op().get(),
                end: c.max_op(),
                time: form::change_time_ms(c.timestamp()),
                author: c
                    .message()
                    .and_then(|m| serde_json::from_str(m).ok())
                    .unwrap_or(Author { user: String::new(), device: String::new() }),
            })
            .collect();
        ChangeIndex { entries }
    }

    fn json_of(&self, value: &Value, id: &ObjId) -> serde_json::Value {
        self.to_json(value, id, None)
    }

    fn json_at(&self, value: &Value, id: &ObjId, heads: &[ChangeHash]) -> serde_json::Value {
        self.to_json(value, id, Some(heads))
    }

    fn to_json(&self, value: &Value, id: &ObjId, heads: Option<&[ChangeHash]>) -> serde_json::Value {
        use serde_json::Value as J;
        match value {
            Value::Scalar(s) => scalar_json(s),
            Value::Object(ObjType::Map | ObjType::Table) => {
                let keys: Vec<String> = match heads {
                    Some(h) => self.doc.keys_at(id, h).collect(),
                    None => self.doc.keys(id).collect(),
                };
                let mut map = serde_json::Map::new();
                for k in keys {
                    let got = match heads {
                        Some(h) => self.doc.get_at(id, k.as_str(), h),
                        None => self.doc.get(id, k.as_str()),
                    };
                    if let Ok(Some((v, child))) = got {
                        map.insert(k, self.to_json(&v, &child, heads));
                    }
                }
                J::Object(map)
            }
            Value::Object(ObjType::List) => {
                let len = match heads {
                    Some(h) => self.doc.length_at(id, h),
                    None => self.doc.length(id),
                };
                J::Array(
                    (0..len)
                        .filter_map(|i| {
                            let got = match heads {
                                Some(h) => self.doc.get_at(id, i, h),
                                None => self.doc.get(id, i),
                            };
                            got.ok().flatten().map(|(v, child)| self.to_json(&v, &child, heads))
                        })
                        .collect(),
                )
            }
            Value::Object(ObjType::Text) => J::String(self.doc.text(id).unwrap_or_default()),
        }
    }
}

fn doc_err(e: automerge::AutomergeError) -> Error {
    Error::Document(e.to_string())
}

fn container_type(v: &serde_json::Value) -> Option<ObjType> {
    match v {
        serde_json::Value::Object(_) => Some(ObjType::Map),
        serde_json::Value::Array(_) => Some(ObjType::List),
        _ => None,
    }
}

fn parse_heads(heads: &[String]) -> Result<Vec<ChangeHash>> {
    heads.iter().map(|h| h.parse::<ChangeHash>().map_err(|_| Error::invalid("heads", "not a change hash"))).collect()
}

fn scalar_json(s: &ScalarValue) -> serde_json::Value {
    use serde_json::Value as J;
    match s {
        ScalarValue::Str(s) => J::String(s.to_string()),
        ScalarValue::Int(i) => J::from(*i),
        ScalarValue::Uint(u) => J::from(*u),
        ScalarValue::F64(f) => serde_json::Number::from_f64(*f).map(J::Number).unwrap_or(J::Null),
        ScalarValue::Boolean(b) => J::Bool(*b),
        ScalarValue::Timestamp(t) => J::from(*t),
        ScalarValue::Counter(c) => J::from(i64::from(c)),
        ScalarValue::Null => J::Null,
        other => J::String(other.to_string()),
    }
}

/// A JSON scalar as an Automerge scalar, typed like the value it replaces so that hydration still reads it.
fn scalar_of(v: &serde_json::Value, template: Option<&ScalarValue>) -> ScalarValue {
    use serde_json::Value as J;
    match (v, template) {
        (J::Number(n), Some(ScalarValue::Uint(_))) if n.as_u64().is_some() => {
            ScalarValue::Uint(n.as_u64().unwrap_or_default())
        }
        (J::Number(n), Some(ScalarValue::Int(_))) if n.as_i64().is_some() => {
            ScalarValue::Int(n.as_i64().unwrap_or_default())
        }
        (J::Number(n), _) => ScalarValue::F64(n.as_f64().unwrap_or_default()),
        (J::String(s), _) => ScalarValue::Str(s.as_str().into()),
        (J::Bool(b), _) => ScalarValue::Boolean(*b),
        _ => ScalarValue::Null,
    }
}

struct ChangeEntry {
    hash: ChangeHash,
    actor: String,
    start: u64,
    end: u64,
    time: i64,
    author: Author,
}

impl ChangeEntry {
    /// Whether the operation `id` belongs to this change.
    fn wrote(&self, id: &ObjId) -> bool {
        match id {
            ObjId::Id(counter, actor, _) => {
                actor.to_hex_string() == self.actor && (self.start..=self.end).contains(counter)
            }
            ObjId::Root => false,
        }
    }
}

struct ChangeIndex {
    entries: Vec<ChangeEntry>,
}

impl ChangeIndex {
    fn author_of(&self, id: &ObjId) -> (String, String, i64, String) {
        match self.entries.iter().find(|e| e.wrote(id)) {
            Some(e) => (e.author.user.clone(), e.author.device.clone(), e.time, e.actor.clone()),
            None => Default::default(),
        }
    }
}

/// Runs Automerge on bytes from elsewhere, turning a panic inside it into `Error::Document`.
fn guard<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        let what = panic.downcast_ref::<String>().map(String::as_str).or(panic.downcast_ref::<&str>().copied());
        Err(Error::Document(format!("malformed document data: {}", what.unwrap_or("rejected"))))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{samples, Household, PovertyStatus, Visit};

    fn author(d: &str) -> Author {
        Author { user: format!("user-{d}"), device: d.to_string() }
    }

    fn two_copies() -> (Household, Document, Document) {
        let h = samples::household();
        let (mut a, _) = Document::create(&h, &ActorId::random(), &author("a"), 1).unwrap();
        let b = Document::load(&a.save(), &ActorId::random()).unwrap();
        (h, a, b)
    }

    #[test]
    fn round_trip_through_a_document() {
        let h = samples::household();
        let (mut d, change) = Document::create(&h, &ActorId::random(), &author("a"), 1).unwrap();
        assert_eq!(d.read::<Household>().unwrap(), h);
        assert_eq!(d.kind(), Some(DocKind::Household));
        let loaded = Document::load(&d.save(), &ActorId::random()).unwrap();
        assert_eq!(loaded.read::<Household>().unwrap(), h);
        assert_eq!(change.seq, 1);
    }

    #[test]
    fn editing_one_field_touches_that_field_alone() {
        let (mut h, mut a, _) = two_copies();
        h.phone = "13900000000".into();
        let change = a.update(&h, &author("a"), 2).unwrap().expect("a change");
        let decoded = Change::from_bytes(change.bytes).unwrap();
        assert_eq!(decoded.len(), 1, "one operation for one edited field");
        assert!(a.update(&h, &author("a"), 3).unwrap().is_none(), "no change when nothing differs");
    }

    #[test]
    fn concurrent_edits_of_different_fields_both_survive() {
        let (h, mut a, mut b) = two_copies();
        let mut ha = h.clone();
        ha.phone = "111".into();
        a.update(&ha, &author("a"), 2).unwrap();
        let mut hb = h.clone();
        hb.poverty_status = PovertyStatus::Lifted;
        b.update(&hb, &author("b"), 2).unwrap();
        a.merge(&mut b).unwrap();
        let merged: Household = a.read().unwrap();
        assert_eq!(merged.phone, "111");
        assert_eq!(merged.poverty_status, PovertyStatus::Lifted);
        assert!(a.conflicts("x").is_empty());
    }

    #[test]
    fn same_field_conflict_is_listed_and_resolved() {
        let (h, mut a, mut b) = two_copies();
        let key = h.members.keys().next().unwrap().clone();
        let mut ha = h.clone();
        ha.members.get_mut(&key).unwrap().name = "张甲".into();
        a.update(&ha, &author("a"), 2).unwrap();
        let mut hb = h.clone();
        hb.members.get_mut(&key).unwrap().name = "张乙".into();
        b.update(&hb, &author("b"), 3).unwrap();
        a.merge(&mut b).unwrap();
        let conflicts = a.conflicts("doc");
        assert_eq!(conflicts.len(), 1, "{conflicts:?}");
        assert_eq!(a.conflict_count(), 1, "the index's count agrees with the list");
        let c = &conflicts[0];
        assert_eq!(c.field, format!("members.{key}.name"));
        let mut values: Vec<(&str, &str)> =
            c.values.iter().map(|v| (v.value_json.as_str(), v.device.as_str())).collect();
        values.sort();
        assert_eq!(values, vec![("\"张乙\"", "b"), ("\"张甲\"", "a")]);
        a.resolve(&c.field, "\"张丙\"", &author("a"), 4).unwrap();
        assert!(a.conflicts("doc").is_empty());
        assert_eq!(a.conflict_count(), 0);
        assert_eq!(a.read::<Household>().unwrap().members[&key].name, "张丙");
        // The resolution travels: b receives it and its conflict is gone too.
        b.merge(&mut a).unwrap();
        assert!(b.conflicts("doc").is_empty());
    }

    #[test]
    fn a_read_after_any_change_sees_the_change() {
        let v = samples::visit();
        let (mut a, _) = Document::create(&v, &ActorId::random(), &author("a"), 1).unwrap();
        let mut b = Document::load(&a.save(), &ActorId::random()).unwrap();
        assert_eq!(a.read::<Visit>().unwrap().note, v.note);
        let mut edited = v.clone();
        edited.note = "更新".into();
        a.update(&edited, &author("a"), 2).unwrap();
        assert_eq!(a.read::<Visit>().unwrap().note, "更新", "after update");
        assert_eq!(b.read::<Visit>().unwrap().note, v.note);
        let changes: Vec<Vec<u8>> = a.changes().into_iter().map(|c| c.bytes).collect();
        b.apply(&changes).unwrap();
        assert_eq!(b.read::<Visit>().unwrap().note, "更新", "after apply");
        edited.time = "17:00".into();
        a.update(&edited, &author("a"), 3).unwrap();
        b.merge(&mut a).unwrap();
        assert_eq!(b.read::<Visit>().unwrap().time, "17:00", "after merge");
        b.resolve("note", "\"定\"", &author("b"), 4).unwrap();
        assert_eq!(b.read::<Visit>().unwrap().note, "定", "after resolve");
    }

    #[test]
    fn conflict_count_agrees_with_the_list_on_a_line_of_edits_and_after_a_merge() {
        let v = samples::visit();
        let (mut a, _) = Document::create(&v, &ActorId::random(), &author("a"), 1).unwrap();
        let mut edited = v.clone();
        for (i, note) in ["一", "二", "三"].iter().enumerate() {
            edited.note = (*note).into();
            a.update(&edited, &author("a"), 2 + i as i64).unwrap();
        }
        assert_eq!((a.conflict_count(), a.conflicts("v").len()), (0, 0));
        let mut b = Document::load(&a.save(), &ActorId::random()).unwrap();
        let mut vb = edited.clone();
        vb.time = "15:00".into();
        b.update(&vb, &author("b"), 9).unwrap();
        edited.note = "四".into();
        a.update(&edited, &author("a"), 9).unwrap();
        a.merge(&mut b).unwrap();
        // Concurrent edits of different fields: two heads, still no conflicting field.
        assert_eq!((a.conflict_count(), a.conflicts("v").len()), (0, 0));
    }

    #[test]
    fn numeric_resolution_keeps_the_type_hydration_expects() {
        let v = samples::visit();
        let (mut a, _) = Document::create(&v, &ActorId::random(), &author("a"), 1).unwrap();
        let mut b = Document::load(&a.save(), &ActorId::random()).unwrap();
        let mut va = v.clone();
        va.note = "a".into();
        a.update(&va, &author("a"), 2).unwrap();
        let mut vb = v.clone();
        vb.note = "b".into();
        b.update(&vb, &author("b"), 2).unwrap();
        a.merge(&mut b).unwrap();
        assert_eq!(a.conflicts("v").len(), 1);
        a.resolve("note", "\"ab\"", &author("a"), 3).unwrap();
        assert_eq!(a.read::<Visit>().unwrap().note, "ab");
        assert!(matches!(a.resolve("nope.deeper", "1", &author("a"), 3), Err(Error::Validation(_))));
        assert!(matches!(a.resolve("note", "{not json", &author("a"), 3), Err(Error::Validation(_))));
    }

    #[test]
    fn field_history_names_device_and_time() {
        // Changes carry whole seconds (Automerge's convention); history reads them as milliseconds.
        let (mut h, mut a, _) = two_copies();
        h.phone = "1".into();
        a.update(&h, &author("a"), 1_780_000_020_123).unwrap();
        let mut b = Document::load(&a.save(), &ActorId::random()).unwrap();
        h.phone = "2".into();
        b.update(&h, &author("b"), 1_780_000_030_999).unwrap();
        let history = b.field_history("phone").unwrap();
        let seen: Vec<(String, String, i64)> =
            history.iter().map(|v| (v.value_json.clone(), v.device.clone(), v.device_time_ms)).collect();
        assert_eq!(
            seen,
            vec![
                ("\"13800001234\"".into(), "a".into(), 0),
                ("\"1\"".into(), "a".into(), 1_780_000_020_000),
                ("\"2\"".into(), "b".into(), 1_780_000_030_000)
            ]
        );
    }

    #[test]
    fn a_change_with_a_missing_dependency_is_refused_and_history_stays_readable() {
        let (mut h, mut a, _) = two_copies();
        h.phone = "1".into();
        a.update(&h, &author("a"), 2).unwrap();
        h.phone = "2".into();
        let second = a.update(&h, &author("a"), 3).unwrap().unwrap();
        // Loose change bytes load as a document too; the same refusal applies there.
        assert!(matches!(Document::load(&second.bytes, &ActorId::random()), Err(Error::Document(_))));
        let mut fresh = Document::empty(&ActorId::random());
        assert!(matches!(fresh.apply(&[second.bytes]), Err(Error::Document(_))));
        assert!(fresh.changes().is_empty(), "nothing was queued");
        let all: Vec<Vec<u8>> = a.changes().into_iter().map(|c| c.bytes).collect();
        fresh.apply(&all).unwrap();
        assert_eq!(fresh.read::<Household>().unwrap().phone, "2");
    }

    #[test]
    fn as_of_heads_shows_the_old_value() {
        let (mut h, mut a, _) = two_copies();
        let before = a.heads();
        h.phone = "999".into();
        a.update(&h, &author("a"), 2).unwrap();
        let old: Household = a.at(&before).unwrap().read().unwrap();
        assert_eq!(old.phone, "13800001234");
    }
}

#[cfg(test)]
mod format_tests {
    use super::*;
    use crate::model::{samples, Household, PovertyStatus, RulesDoc, Sex};

    fn author(d: &str) -> Author {
        Author { user: format!("user-{d}"), device: d.to_string() }
    }

    fn scalar(doc: &Document, obj: &ObjId, key: &str) -> ScalarValue {
        match doc.raw().get(obj, key).unwrap() {
            Some((Value::Scalar(s), _)) => s.into_owned(),
            other => panic!("{key}: {other:?}"),
        }
    }

    fn member_obj(doc: &Document, id: &str) -> ObjId {
        let (_, members) = doc.raw().get(ROOT, "members").unwrap().unwrap();
        doc.raw().get(&members, id).unwrap().unwrap().1
    }

    fn legacy(h: &Household) -> Document {
        form::writing_in(form::LEGACY, || Document::create(h, &ActorId::random(), &author("old"), 1)).unwrap().0
    }

    #[test]
    fn a_new_document_holds_codes_whole_numbers_as_int_and_its_format() {
        let h = samples::full_household();
        let (doc, _) = Document::create(&h, &ActorId::random(), &author("a"), 1_780_000_000_000).unwrap();
        assert_eq!(doc.format(), form::CURRENT);
        assert_eq!(scalar(&doc, &ROOT, "poverty_status"), ScalarValue::Str("registered_poor".into()));
        let (id, m) = h.members.iter().next().unwrap();
        let (_, disability) = doc.raw().get(member_obj(&doc, id), "disability").unwrap().unwrap();
        assert_eq!(scalar(&doc, &disability, "grade"), ScalarValue::Int(2));
        assert_eq!(m.disability.as_ref().unwrap().grade, 2);
        assert_eq!(doc.read::<Household>().unwrap(), h);
        let (mut rules, _) =
            Document::create(&RulesDoc::default(), &ActorId::random(), &author("a"), 1_780_000_000_000).unwrap();
        let (_, r) = rules.raw().get(ROOT, "rules").unwrap().unwrap();
        assert_eq!(scalar(&rules, &r, "monthly_visits"), ScalarValue::Int(1));
        // Automerge's convention: a change's time is in seconds.
        let change = rules.raw_mut().get_changes(&[]).pop().unwrap();
        assert_eq!(change.timestamp(), 1_780_000_000);
    }

    #[test]
    fn a_format_1_document_reads_and_is_edited_in_its_own_form() {
        let h = samples::full_household();
        let mut doc = legacy(&h);
        assert_eq!(doc.format(), form::LEGACY);
        assert_eq!(scalar(&doc, &ROOT, "poverty_status"), ScalarValue::Str("RegisteredPoor".into()));
        assert_eq!(doc.read::<Household>().unwrap(), h);
        let mut edited = h.clone();
        edited.phone = "13900000000".into();
        let change = doc.update(&edited, &author("b"), 2_000).unwrap().unwrap();
        // The edit wrote the phone alone: nothing else was rewritten into the new form.
        assert_eq!(Change::from_bytes(change.bytes).unwrap().len(), 1);
        assert_eq!(scalar(&doc, &ROOT, "poverty_status"), ScalarValue::Str("RegisteredPoor".into()));
        assert_eq!(doc.read::<Household>().unwrap(), edited);
    }

    #[test]
    fn normalizing_moves_every_old_value_once_and_keeps_conflicts_and_history() {
        let h = samples::full_household();
        let member = h.members.keys().next().unwrap().clone();
        let mut a = legacy(&h);
        let mut b = Document::load(&a.save(), &ActorId::random()).unwrap();
        // Two devices set the same member's sex concurrently: a conflict between two format 1 values.
        let mut ha = h.clone();
        let original = h.members[&member].sex;
        ha.members.get_mut(&member).unwrap().sex = Sex::Unknown;
        a.update(&ha, &author("a"), 2_000).unwrap();
        let mut hb = h.clone();
        hb.members.get_mut(&member).unwrap().sex = if original == Sex::Male { Sex::Female } else { Sex::Male };
        b.update(&hb, &author("b"), 3_000).unwrap();
        a.merge(&mut b).unwrap();
        let before = a.read::<Household>().unwrap();
        let history_before = a.field_history("poverty_status").unwrap().len();

        let change = a.normalize(DocKind::Household, &author("server"), 4_000).unwrap().expect("a change");
        assert!(Change::from_bytes(change.bytes).unwrap().len() > 10);
        assert_eq!(a.format(), form::CURRENT);
        assert_eq!(a.read::<Household>().unwrap(), before);
        assert_eq!(scalar(&a, &ROOT, "poverty_status"), ScalarValue::Str("registered_poor".into()));
        let conflicts = a.conflicts(&h.id);
        assert_eq!(conflicts.len(), 1, "{conflicts:?}");
        assert_eq!(conflicts[0].field, format!("members.{member}.sex"));
        assert_eq!(a.field_history("poverty_status").unwrap().len(), history_before + 1);
        assert!(schema::normalize(a.raw(), DocKind::Household).0.is_empty());
        assert!(schema::check(a.raw(), DocKind::Household).is_empty());
        // Once is enough.
        assert!(a.normalize(DocKind::Household, &author("server"), 5_000).unwrap().is_none());
    }

    #[test]
    fn a_push_of_current_values_to_a_moved_document_is_not_walked_and_one_of_old_values_is() {
        let h = samples::household();
        let mut server = legacy(&h);
        server.normalize(DocKind::Household, &Document::format_mover(), 2_000).unwrap().unwrap();
        // A phone at format 2 edits the moved document: codes only.
        let mut phone = Document::load(&server.save(), &ActorId::random()).unwrap();
        let mut edited = h.clone();
        edited.poverty_status = PovertyStatus::Monitored;
        let new = phone.update(&edited, &author("phone"), 3_000).unwrap().unwrap();
        let parsed = Change::from_bytes(new.bytes.clone()).unwrap();
        assert!(!schema::may_hold_old_forms([&parsed]), "a code is no old form");
        server.apply(&[new.bytes.clone()]).unwrap();
        assert!(server
            .normalize_after(schema::may_hold_old_forms([&parsed]), DocKind::Household, &author("server"), 4_000)
            .unwrap()
            .is_none());
        assert_eq!(scalar(&server, &ROOT, "poverty_status"), ScalarValue::Str("monitored".into()));
        // A phone still at format 1 writes a variant name: the document is walked and the value moved.
        let mut old = legacy(&h);
        let mut stale = Document::load(&old.save(), &ActorId::random()).unwrap();
        edited.poverty_status = PovertyStatus::Lifted;
        let named = stale.update(&edited, &author("stale"), 5_000).unwrap().unwrap();
        let parsed = Change::from_bytes(named.bytes.clone()).unwrap();
        assert!(schema::may_hold_old_forms([&parsed]), "\"Lifted\" is a format 1 name");
        old.normalize(DocKind::Household, &Document::format_mover(), 5_500).unwrap().unwrap();
        old.apply(&[named.bytes.clone()]).unwrap();
        let moved = old
            .normalize_after(schema::may_hold_old_forms([&parsed]), DocKind::Household, &author("server"), 6_000)
            .unwrap();
        assert!(moved.is_some(), "the old value is moved");
        assert_eq!(scalar(&old, &ROOT, "poverty_status"), ScalarValue::Str("lifted".into()));
    }

    #[test]
    fn an_edit_made_before_the_move_was_seen_wins_over_the_move() {
        let h = samples::household();
        let mut server = legacy(&h);
        let mut phone = Document::load(&server.save(), &ActorId::random()).unwrap();
        server.normalize(DocKind::Household, &Document::format_mover(), 2_000).unwrap().unwrap();
        // The phone, not yet synced, changes the status in its document's form (format 1).
        let mut edited = h.clone();
        edited.poverty_status = PovertyStatus::Lifted;
        edited.status_history.push(crate::model::StatusTransition {
            date: "2026-11-01".into(),
            event: crate::model::TransitionEvent::Exited,
            to_status: PovertyStatus::Lifted,
            reason: String::new(),
        });
        phone.update(&edited, &author("phone"), 3_000).unwrap().unwrap();
        assert_eq!(scalar(&phone, &ROOT, "poverty_status"), ScalarValue::Str("Lifted".into()));
        server.merge(&mut phone).unwrap();
        assert_eq!(server.conflicts(&h.id).len(), 1, "the move and the edit are concurrent");
        // Moving what arrived settles it for the person's edit, in the current form.
        server.normalize(DocKind::Household, &Document::format_mover(), 4_000).unwrap().unwrap();
        assert!(server.conflicts(&h.id).is_empty());
        assert_eq!(scalar(&server, &ROOT, "poverty_status"), ScalarValue::Str("lifted".into()));
        assert_eq!(server.read::<Household>().unwrap(), edited);
        // Two people's concurrent values stay a conflict: they are the users' to settle.
        let mut a = Document::load(&server.save(), &ActorId::random()).unwrap();
        let mut b = Document::load(&server.save(), &ActorId::random()).unwrap();
        let mut ea = edited.clone();
        ea.poverty_status = PovertyStatus::Monitored;
        a.update(&ea, &author("a"), 5_000).unwrap();
        let mut eb = edited.clone();
        eb.poverty_status = PovertyStatus::Edge;
        b.update(&eb, &author("b"), 5_000).unwrap();
        a.merge(&mut b).unwrap();
        assert!(a.normalize(DocKind::Household, &Document::format_mover(), 6_000).unwrap().is_none());
        assert_eq!(a.conflicts(&h.id).len(), 1);
    }

    #[test]
    fn numbers_read_from_either_integer_type_and_out_of_range_is_refused() {
        let h = samples::full_household();
        let (id, _) = h.members.iter().next().unwrap();
        let (mut doc, _) = Document::create(&h, &ActorId::random(), &author("a"), 1).unwrap();
        let (_, disability) = doc.raw().get(member_obj(&doc, id), "disability").unwrap().unwrap();
        // A decimal field written as an int (as JavaScript writes 6200) reads as that number.
        doc.raw_mut().put(ROOT, "income_per_person", 6200).unwrap();
        assert_eq!(doc.read::<Household>().unwrap().income_per_person, Some(6200.0));
        // A count written as a uint (format 1) reads; a negative one names its field; one too large is refused.
        doc.raw_mut().put(&disability, "grade", ScalarValue::Uint(3)).unwrap();
        assert_eq!(doc.read::<Household>().unwrap().members[id].disability.as_ref().unwrap().grade, 3);
        doc.raw_mut().put(&disability, "grade", -1).unwrap();
        let err = doc.read::<Household>().unwrap_err().to_string();
        assert!(err.contains(&format!("members.{id}.disability.grade: expected int (≥ 0), found int -1")), "{err}");
        doc.raw_mut().put(&disability, "grade", ScalarValue::Uint(300)).unwrap();
        let err = doc.read::<Household>().unwrap_err().to_string();
        assert!(err.contains("a whole number in range (int)") && err.contains("uint 300"), "{err}");
    }

    #[test]
    fn a_record_that_does_not_read_names_the_field() {
        let h = samples::household();
        let (mut doc, _) = Document::create(&h, &ActorId::random(), &author("a"), 1).unwrap();
        doc.raw_mut().put(ROOT, "poverty_status", 3).unwrap();
        let err = doc.read::<Household>().unwrap_err().to_string();
        assert!(err.contains("poverty_status: expected str, a PovertyStatus code (ordinary,"), "{err}");
        assert!(err.contains("found int 3"), "{err}");
    }
}

#[cfg(test)]
mod conflicts_kept {
    use super::*;
    use crate::model::{samples, Household};

    #[test]
    fn an_edit_of_another_field_keeps_a_conflict_and_an_edit_of_the_field_settles_it() {
        let h = samples::household();
        let au = Author { user: "u".into(), device: "d".into() };
        let (mut a, _) = Document::create(&h, &ActorId::random(), &au, 1).unwrap();
        let mut b = Document::load(&a.save(), &ActorId::random()).unwrap();
        let mut ha = h.clone();
        ha.phone = "1".into();
        a.update(&ha, &au, 2).unwrap();
        let mut hb = h.clone();
        hb.phone = "2".into();
        b.update(&hb, &au, 3).unwrap();
        a.merge(&mut b).unwrap();
        assert_eq!(a.conflicts("x").len(), 1);
        let mut r: Household = a.read().unwrap();
        r.address = "elsewhere".into();
        a.update(&r, &au, 4).unwrap();
        assert_eq!(a.conflicts("x").len(), 1, "an edit of another field settled the conflict");
        assert_eq!(a.read::<Household>().unwrap().address, "elsewhere");
        // Writing the field itself (the user chose a value in the form) is a decision: it settles the conflict.
        let mut r: Household = a.read().unwrap();
        r.phone = "3".into();
        a.update(&r, &au, 5).unwrap();
        assert!(a.conflicts("x").is_empty());
        assert_eq!(a.read::<Household>().unwrap().phone, "3");
    }
}

#[cfg(test)]
mod remembered {
    use super::*;
    use crate::model::{samples, Household, Visit};

    /// What a write remembers is what reading the document gives.
    #[test]
    fn the_record_remembered_after_a_write_is_the_one_read_back() {
        let au = Author { user: "u".into(), device: "d".into() };
        let h = samples::full_household();
        let (mut doc, _) = Document::create(&h, &ActorId::random(), &au, 1).unwrap();
        let fresh = Document::load(&doc.save(), &ActorId::random()).unwrap();
        assert_eq!(doc.read::<Household>().unwrap(), fresh.read::<Household>().unwrap());
        let mut edited = h.clone();
        edited.members.clear();
        edited.risk_causes.clear();
        edited.gps = None;
        doc.update(&edited, &au, 2).unwrap();
        let fresh = Document::load(&doc.save(), &ActorId::random()).unwrap();
        assert_eq!(doc.read::<Household>().unwrap(), fresh.read::<Household>().unwrap());
        let v = samples::full_visit();
        let (doc, _) = Document::create(&v, &ActorId::random(), &au, 1).unwrap();
        assert_eq!(
            doc.read::<Visit>().unwrap(),
            Document::load(&doc.raw().clone().save(), &ActorId::random()).unwrap().read::<Visit>().unwrap()
        );
    }
}
