//! Convergence as a property: three replicas edit the same household (same-field conflicts and tombstones
//! included), exchange changes in random order with interrupted transfers, and must end identical — and equal to
//! merging every change in one place.

use doorstep_core::doc::Document;
use doorstep_core::model::{samples, DocKind, Household};
use doorstep_core::store::{Incoming, Store};
use proptest::prelude::*;

const TODAY: &str = "2026-11-29";

#[derive(Debug, Clone)]
enum Op {
    /// Replica `r` sets field `f` to value number `v`.
    Edit { r: usize, f: usize, v: u8 },
    /// Replica `r` tombstones the household.
    Delete { r: usize },
    /// Replica `from` sends its changes to `to`; the transfer is cut after `keep` percent of them.
    Sync { from: usize, to: usize, keep: u8 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..3usize, 0..5usize, 0..4u8).prop_map(|(r, f, v)| Op::Edit { r, f, v }),
        1 => (0..3usize).prop_map(|r| Op::Delete { r }),
        4 => (0..3usize, 0..3usize, 0..=100u8).prop_map(|(from, to, keep)| Op::Sync { from, to, keep }),
    ]
}

fn edit(h: &mut Household, f: usize, v: u8) {
    match f {
        0 => h.phone = format!("1380000000{v}"),
        1 => h.address = format!("地址{v}"),
        2 => h.hamlet = format!("屯{v}"),
        3 => h.income_per_person = Some(1000.0 * f64::from(v)),
        _ => {
            let key = h.members.keys().min().cloned().unwrap_or_default();
            if let Some(m) = h.members.get_mut(&key) {
                m.name = format!("成员{v}");
            }
        }
    }
}

/// Every change of the document on a replica, in causal order.
fn changes_of(store: &Store, id: &str) -> Vec<Vec<u8>> {
    match store.load_doc(id).unwrap() {
        Some((_, mut doc)) => doc.changes().into_iter().map(|c| c.bytes).collect(),
        None => vec![],
    }
}

fn transfer(from: &Store, to: &mut Store, id: &str, keep: u8) {
    let all = changes_of(from, id);
    // A causal prefix: what a cut connection may have delivered in whole pages before it broke.
    let n = all.len() * usize::from(keep) / 100;
    if n == 0 {
        return;
    }
    let item =
        Incoming { doc_id: id.to_string(), kind: DocKind::Household, snapshot: None, changes: all[..n].to_vec() };
    to.apply_incoming(&[item], "cursor", "0").unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    #[test]
    fn replicas_converge_to_the_merge_of_every_change(ops in proptest::collection::vec(op(), 1..30)) {
        let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
        let mut stores: Vec<Store> = dirs
            .iter()
            .enumerate()
            .map(|(i, d)| Store::open(&d.path().join("s.db"), &[i as u8 + 1; 32], &format!("phone-{i}")).unwrap())
            .collect();
        let h = samples::household();
        stores[0].put(&h, TODAY).unwrap();
        for i in 1..3 {
            let (left, right) = stores.split_at_mut(i);
            transfer(&left[0], &mut right[0], &h.id, 100);
        }
        for op in &ops {
            match *op {
                Op::Edit { r, f, v } => {
                    let mut cur: Household = stores[r].get(&h.id).unwrap();
                    edit(&mut cur, f, v);
                    stores[r].put(&cur, TODAY).unwrap();
                }
                Op::Delete { r } => stores[r].delete::<Household>(&h.id).unwrap(),
                Op::Sync { from, to, keep } if from != to => {
                    let src = changes_of(&stores[from], &h.id);
                    let n = src.len() * usize::from(keep) / 100;
                    if n > 0 {
                        let item = Incoming { doc_id: h.id.clone(), kind: DocKind::Household, snapshot: None, changes: src[..n].to_vec() };
                        stores[to].apply_incoming(&[item], "cursor", "0").unwrap();
                    }
                }
                Op::Sync { .. } => {}
            }
        }
        // Everyone talks to everyone until nothing is missing.
        for _ in 0..2 {
            for from in 0..3 {
                for to in 0..3 {
                    if from != to {
                        let src = changes_of(&stores[from], &h.id);
                        let item = Incoming { doc_id: h.id.clone(), kind: DocKind::Household, snapshot: None, changes: src };
                        stores[to].apply_incoming(&[item], "cursor", "0").unwrap();
                    }
                }
            }
        }
        // The reference: every change of every replica merged in one fresh document.
        let mut reference = Document::empty(&automerge::ActorId::random());
        for s in &stores {
            reference.apply(&changes_of(s, &h.id)).unwrap();
        }
        let expected: Household = reference.read().unwrap();
        let mut expected_conflicts = reference.conflicts(&h.id);
        expected_conflicts.sort_by(|a, b| a.field.cmp(&b.field));
        let expected_heads = { let mut hd = reference.heads(); hd.sort(); hd };
        for s in &stores {
            let (_, mut doc) = s.load_doc(&h.id).unwrap().unwrap();
            let mut heads = doc.heads();
            heads.sort();
            prop_assert_eq!(&heads, &expected_heads);
            prop_assert_eq!(&s.get::<Household>(&h.id).unwrap(), &expected);
            let mut conflicts = s.conflicts(&h.id).unwrap();
            conflicts.sort_by(|a, b| a.field.cmp(&b.field));
            let fields = |c: &[doorstep_core::doc::Conflict]| c.iter().map(|x| x.field.clone()).collect::<Vec<_>>();
            prop_assert_eq!(fields(&conflicts), fields(&expected_conflicts));
            let listed = !doorstep_core::query::households(s, &Default::default()).unwrap().is_empty();
            prop_assert_eq!(listed, !expected.deleted, "lists follow the merged tombstone");
        }
    }
}
