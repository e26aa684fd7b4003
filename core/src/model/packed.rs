//! Records packed for a store to keep beside their documents (`store::index::derive_with_record`): the server's
//! pages read a province's households from these instead of parsing documents.
//!
//! The form is postcard (a third of the record's JSON, parsed in half the time; a household fits in a database page
//! beside its document, and under PostgreSQL's compression threshold) after a four-byte layout tag. Postcard does not
//! name fields or variants, so bytes packed by a model of another shape would read as wrong values, not as an error:
//! the tag is a hash of the shape (the document schema with every enumeration's codes in variant order, and the order
//! of every record's fields as serde writes them), and a record packed under another tag unpacks as nothing, so the
//! reader falls back to the document. A change of the model changes the tag with no step to remember.

use super::{samples, schema};
use serde::de::DeserializeOwned;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// The bytes a store keeps for `record`: the layout tag, then the record.
pub fn pack<R: Serialize>(record: &R) -> Result<Vec<u8>, postcard::Error> {
    let tag = layout();
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(&tag);
    postcard::to_io(record, &mut out)?;
    Ok(out)
}

/// The record in `bytes`, or none when they were packed under another layout (or are not a packed record at all).
pub fn unpack<R: DeserializeOwned>(bytes: &[u8]) -> Option<R> {
    let body = bytes.strip_prefix(&layout())?;
    match postcard::take_from_bytes::<R>(body) {
        Ok((record, rest)) if rest.is_empty() => Some(record),
        _ => None,
    }
}

/// The layout tag of this build's model (computed once).
pub fn layout() -> [u8; 4] {
    static TAG: OnceLock<[u8; 4]> = OnceLock::new();
    *TAG.get_or_init(|| {
        let digest = Sha256::digest(shape().as_bytes());
        [digest[0], digest[1], digest[2], digest[3]]
    })
}

/// What the packed form depends on, as text: the schema's field tables (types, and codes in variant order, which is
/// postcard's index) and the field order of a full record of each kind (map keys left out: they are ids).
fn shape() -> String {
    let mut out = schema::markdown();
    let witness = |json: Result<String, serde_json::Error>| field_order(&json.unwrap_or_default());
    out.push_str(&witness(serde_json::to_string(&samples::full_household())));
    out.push_str(&witness(serde_json::to_string(&samples::full_visit())));
    out.push_str(&witness(serde_json::to_string(&samples::full_screening())));
    out
}

/// The object keys of a JSON text in the order written, those made only of lower-case letters and `_` (field
/// names; the ids and hashes that key maps have digits or dashes).
fn field_order(json: &str) -> String {
    let mut out = String::new();
    let mut rest = json;
    while let Some(start) = rest.find('"') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('"') else { break };
        let word = &after[..end];
        rest = &after[end + 1..];
        if rest.starts_with(':') && !word.is_empty() && word.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
            out.push_str(word);
            out.push(',');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Household, Screening, Visit};

    #[test]
    fn every_kind_unpacks_as_packed() {
        let h = samples::full_household();
        assert_eq!(unpack::<Household>(&pack(&h).unwrap()), Some(h));
        let v = samples::full_visit();
        assert_eq!(unpack::<Visit>(&pack(&v).unwrap()), Some(v));
        let s = samples::full_screening();
        assert_eq!(unpack::<Screening>(&pack(&s).unwrap()), Some(s));
    }

    #[test]
    fn bytes_of_another_layout_or_kind_unpack_as_nothing() {
        let h = samples::full_household();
        let mut packed = pack(&h).unwrap();
        assert!(unpack::<Household>(&packed[..packed.len() - 1]).is_none(), "cut short");
        let mut longer = packed.clone();
        longer.push(0);
        assert!(unpack::<Household>(&longer).is_none(), "trailing bytes");
        packed[0] ^= 1;
        assert!(unpack::<Household>(&packed).is_none(), "another layout's tag");
        assert!(unpack::<Household>(serde_json::to_string(&h).unwrap().as_bytes()).is_none(), "JSON");
        assert!(unpack::<Household>(&pack(&samples::full_visit()).unwrap()).is_none(), "a visit");
    }

    #[test]
    fn the_layout_follows_field_order_and_codes() {
        // Fields in the order serde writes them; map keys (ids) left out.
        assert_eq!(
            field_order(r#"{"id":"x","members":{"0192-ab":{"name":"a:b","sex":"male"}},"n":1}"#),
            "id,members,name,sex,n,"
        );
        let full = shape();
        assert!(
            full.contains("id,number,township,village,"),
            "the household's first fields: {}",
            &full[full.len() - 400..]
        );
        // Codes in variant order: postcard writes a variant as its index.
        assert!(full.contains("(ordinary, registered_poor, lifted, monitored, edge)"));
        assert_eq!(layout(), layout());
    }
}
