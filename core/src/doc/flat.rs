//! A read-only view of a document for hydrating a whole record: the entries of each map are read in one pass over
//! its ops and kept, so that autosurgeon's field-by-field `get` is a hash look-up instead of a seek through
//! Automerge's op columns (hydrating a visit field by field was a quarter of the server's ingest). Everything else
//! is the document's own answer.

use automerge::iter::{ListRange, MapRange};
use automerge::{AutoCommit, AutomergeError, ChangeHash, ObjId, ObjType, Prop, Value};
use autosurgeon::ReadDoc;
use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::RangeBounds;
use std::rc::Rc;

/// A map's visible entries: key → (winning value, its op id).
type Entries = HashMap<String, (Value<'static>, ObjId)>;

/// `doc` with the entries of its maps kept as they are first asked for.
pub(crate) struct Flat<'a> {
    doc: &'a AutoCommit,
    /// `None` for an object that is not a map.
    maps: RefCell<HashMap<ObjId, Option<Rc<Entries>>>>,
}

impl<'a> Flat<'a> {
    pub(crate) fn new(doc: &'a AutoCommit) -> Self {
        Self { doc, maps: RefCell::new(HashMap::new()) }
    }

    /// The entries of `obj`, read in one pass the first time; `None` when it is not a map.
    fn entries(&self, obj: &ObjId) -> Option<Rc<Entries>> {
        if let Some(e) = self.maps.borrow().get(obj) {
            return e.clone();
        }
        let entries = matches!(self.doc.object_type(obj), Some(ObjType::Map | ObjType::Table)).then(|| {
            let read = automerge::ReadDoc::map_range(self.doc, obj, ..).map(|item| {
                let id = item.id();
                (item.key.into_owned(), (item.value.into_value(), id))
            });
            Rc::new(read.collect::<Entries>())
        });
        self.maps.borrow_mut().insert(obj.clone(), entries.clone());
        entries
    }
}

impl ReadDoc for Flat<'_> {
    type Parents<'b>
        = automerge::Parents<'b>
    where
        Self: 'b;

    fn get_heads(&self) -> Vec<ChangeHash> {
        self.doc.get_heads()
    }

    fn get<P: Into<Prop>>(&self, obj: &ObjId, prop: P) -> Result<Option<(Value<'_>, ObjId)>, AutomergeError> {
        match (prop.into(), self.entries(obj)) {
            (Prop::Map(key), Some(entries)) => Ok(entries.get(&key).cloned()),
            (prop, _) => self.doc.get(obj, prop),
        }
    }

    fn object_type<O: AsRef<ObjId>>(&self, obj: O) -> Option<ObjType> {
        self.doc.object_type(obj)
    }

    fn map_range<'b, O, R>(&'b self, obj: O, range: R) -> MapRange<'b>
    where
        R: RangeBounds<String> + 'b,
        O: AsRef<ObjId>,
        R: RangeBounds<String>,
    {
        self.doc.map_range(obj, range)
    }

    fn list_range<O: AsRef<ObjId>, R: RangeBounds<usize>>(&self, obj: O, range: R) -> ListRange<'_> {
        self.doc.list_range(obj, range)
    }

    fn length<O: AsRef<ObjId>>(&self, obj: O) -> usize {
        self.doc.length(obj)
    }

    fn text<O: AsRef<ObjId>>(&self, obj: O) -> Result<String, AutomergeError> {
        self.doc.text(obj)
    }

    fn parents<O: AsRef<ObjId>>(&self, obj: O) -> Result<Self::Parents<'_>, AutomergeError> {
        self.doc.parents(obj)
    }

    fn is_empty(&self) -> bool {
        self.doc.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::{Author, Document};
    use crate::model::{samples, Household, Visit};

    /// The whole record read through the kept entries is the record read field by field: nested maps, lists,
    /// edited members, concurrent values of one field (the same winner).
    #[test]
    fn a_record_reads_the_same_through_kept_entries() {
        let author = Author { user: "u".into(), device: "d".into() };
        let mut h = samples::household();
        let (mut doc, _) = Document::create(&h, &automerge::ActorId::random(), &author, 1).unwrap();
        let mut other = Document::load(&doc.save(), &automerge::ActorId::random()).unwrap();
        h.phone = "13800000001".into();
        h.members.values_mut().for_each(|m| m.name.push_str(" (edited)"));
        doc.update(&h, &author, 2).unwrap();
        let mut h2 = samples::household();
        h2.phone = "13900000002".into();
        other.update(&h2, &author, 3).unwrap();
        doc.merge(&mut other).unwrap();
        assert!(doc.conflict_count() > 0, "the phone holds two values");
        let plain: Household = autosurgeon::hydrate(&doc.doc).unwrap();
        let flat: Household = autosurgeon::hydrate(&Flat::new(&doc.doc)).unwrap();
        assert_eq!(flat, plain);
        assert_eq!(flat.phone, plain.phone, "the same one of the two phones wins");

        let v = samples::visit();
        let (visit, _) = Document::create(&v, &automerge::ActorId::random(), &author, 1).unwrap();
        let flat: Visit = autosurgeon::hydrate(&Flat::new(&visit.doc)).unwrap();
        assert_eq!(flat, v);
    }

    /// A map asked for a key it lacks answers none, and a list asked by index answers as the document does.
    #[test]
    fn missing_keys_and_list_items_answer_as_the_document() {
        let author = Author { user: "u".into(), device: "d".into() };
        let (doc, _) = Document::create(&samples::household(), &automerge::ActorId::random(), &author, 1).unwrap();
        let flat = Flat::new(&doc.doc);
        assert!(ReadDoc::get(&flat, &automerge::ROOT, "no_such_field").unwrap().is_none());
        let (_, helpers) = ReadDoc::get(&flat, &automerge::ROOT, "helper_ids").unwrap().expect("helpers");
        let first = ReadDoc::get(&flat, &helpers, 0usize).unwrap();
        assert!(first.is_some(), "the sample has a helper");
        assert_eq!(first, ReadDoc::get(&doc.doc, &helpers, 0usize).unwrap());
    }
}
