//! The fuzz targets' bodies (`tests/fuzz-bodies`, a crate of its own) run in the normal test suite on the stable
//! toolchain: over the committed seed corpus (`fuzz/corpus/<target>/`), every input that once made a target fail
//! (`fuzz/regressions/<target>/`), the committed sample messages (`server/tests/data/`), and bounded random
//! mutations of all of them. A panic anywhere fails the test. `write_seed_corpus` (ignored; run it with
//! `--ignored`) writes the seeds from real documents and messages.

use doorstep_fuzz_bodies as bodies;

use doorstep_core::model::{samples, DocKind};
use doorstep_core::store::Store;
use doorstep_core::sync::protocol::{self, MessageType, SyncRequest, SyncResponse, WireChange, WireDoc};
use doorstep_e2e::faults::Rng;
use std::path::{Path, PathBuf};

const TARGETS: &[&str] = &["decode_sync_request", "decode_sync_response", "apply_changes"];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("repository root").to_path_buf()
}

/// Runs one input; a panic is saved under `target/test-out/fuzz-failures/<target>/` (to keep as a regression in
/// `fuzz/regressions/<target>/` once fixed) and fails the test naming the file.
fn run(target: &str, data: &[u8]) {
    let result = std::panic::catch_unwind(|| run_body(target, data));
    if let Err(panic) = result {
        let dir = root().join("target/test-out/fuzz-failures").join(target);
        std::fs::create_dir_all(&dir).expect("failure dir");
        let name = format!("input-{:016x}", {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            data.hash(&mut h);
            h.finish()
        });
        std::fs::write(dir.join(&name), data).expect("save the failing input");
        std::panic::resume_unwind(Box::new(format!(
            "{target} panicked on target/test-out/fuzz-failures/{target}/{name}: {:?}",
            panic.downcast_ref::<String>().map(String::as_str).or(panic.downcast_ref::<&str>().copied())
        )));
    }
}

fn run_body(target: &str, data: &[u8]) {
    match target {
        "decode_sync_request" => bodies::decode_sync_request(data),
        "decode_sync_response" => bodies::decode_sync_response(data),
        "apply_changes" => bodies::apply_changes(data),
        other => panic!("unknown target {other}"),
    }
}

/// Every file of a directory (none if it does not exist), sorted.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_file()).collect())
        .unwrap_or_default();
    out.sort();
    out
}

/// What each target starts from: its seeds, its regressions, and for the decoders the committed samples.
fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let mut paths = files(&root().join("fuzz/corpus").join(target));
    paths.extend(files(&root().join("fuzz/regressions").join(target)));
    if target.starts_with("decode") {
        paths.extend(files(&root().join("server/tests/data")));
    }
    paths.into_iter().map(|p| (p.clone(), std::fs::read(&p).expect("read input"))).collect()
}

/// One random mutation: flip bits, cut, insert random bytes, repeat a slice, or splice another input.
fn mutate(rng: &mut Rng, data: &[u8], other: &[u8]) -> Vec<u8> {
    let mut d = data.to_vec();
    let len = d.len().max(1) as u64;
    match rng.range(0, 6) {
        0 => {
            for _ in 0..rng.range(1, 8) {
                if !d.is_empty() {
                    let i = rng.range(0, len) as usize % d.len();
                    d[i] ^= 1 << rng.range(0, 8);
                }
            }
        }
        1 => d.truncate(rng.range(0, len) as usize),
        2 => {
            let at = rng.range(0, len) as usize % (d.len() + 1);
            let junk: Vec<u8> = (0..rng.range(1, 64)).map(|_| rng.next_u64() as u8).collect();
            d.splice(at..at, junk);
        }
        3 => {
            let a = rng.range(0, len) as usize % (d.len() + 1);
            let b = (a + rng.range(0, 256) as usize).min(d.len());
            let piece = d[a..b].to_vec();
            d.splice(a..a, piece);
        }
        4 => {
            let cut = rng.range(0, len) as usize % (d.len() + 1);
            let from = rng.range(0, other.len() as u64 + 1) as usize;
            d.truncate(cut);
            d.extend_from_slice(&other[from.min(other.len())..]);
        }
        _ => d = (0..rng.range(0, 512)).map(|_| rng.next_u64() as u8).collect(),
    }
    d
}

#[test]
fn the_raw_envelope_reaches_the_message_decoder() {
    // postcard of SyncRequest { cursor: 5, max_bytes: 7, changes: [] } is three varints: 5, 7, 0.
    let decoded: SyncRequest =
        protocol::decode(MessageType::SyncRequest, &bodies::envelope_raw(MessageType::SyncRequest, &[5, 7, 0]))
            .expect("a raw zstd frame decodes");
    assert_eq!(decoded, SyncRequest { cursor: 5, max_bytes: 7, changes: vec![] });
    let big = postcard_request(&request_with(vec![WireChange {
        doc_id: "d".into(),
        kind: "visit".into(),
        bytes: vec![7; 300_000],
    }]));
    let decoded: SyncRequest =
        protocol::decode(MessageType::SyncRequest, &bodies::envelope_raw(MessageType::SyncRequest, &big)).unwrap();
    assert_eq!(decoded.changes[0].bytes.len(), 300_000, "several raw blocks");
}

#[test]
fn every_committed_input_and_its_mutations_run_through_every_target_without_a_panic() {
    let mut rng = Rng::from_env("corpus");
    let mutations: usize = std::env::var("DOORSTEP_FUZZ_MUTATIONS").ok().and_then(|v| v.parse().ok()).unwrap_or(40);
    let mut total = 0;
    for target in TARGETS {
        let inputs = inputs(target);
        let seeds = inputs.iter().filter(|(p, _)| p.to_string_lossy().contains("fuzz/corpus")).count();
        assert!(seeds >= 3, "{target}: the committed seed corpus is missing ({seeds} seeds)");
        for (path, data) in &inputs {
            run(target, data);
            total += 1;
            for _ in 0..mutations {
                let other = &inputs[rng.range(0, inputs.len() as u64) as usize].1;
                run(target, &mutate(&mut rng, data, other));
                total += 1;
            }
            let _ = path;
        }
    }
    println!("FIGURES corpus-replay: inputs_run={total}");
}

// ---- seeds ---------------------------------------------------------------------------------------------------

fn request_with(changes: Vec<WireChange>) -> SyncRequest {
    SyncRequest { cursor: 42, max_bytes: 1 << 20, changes }
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let b = (v & 0x7F) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

fn bytes(out: &mut Vec<u8>, b: &[u8]) {
    varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

/// postcard of a request, written by hand from the layout in docs/protocol.md.
fn postcard_request(r: &SyncRequest) -> Vec<u8> {
    let mut out = Vec::new();
    varint(&mut out, r.cursor);
    varint(&mut out, r.max_bytes as u64);
    varint(&mut out, r.changes.len() as u64);
    for c in &r.changes {
        bytes(&mut out, c.doc_id.as_bytes());
        bytes(&mut out, c.kind.as_bytes());
        bytes(&mut out, &c.bytes);
    }
    out
}

fn postcard_response(r: &SyncResponse) -> Vec<u8> {
    let mut out = Vec::new();
    varint(&mut out, r.acked.len() as u64);
    for h in &r.acked {
        out.extend_from_slice(h);
    }
    varint(&mut out, r.docs.len() as u64);
    for d in &r.docs {
        bytes(&mut out, d.doc_id.as_bytes());
        bytes(&mut out, d.kind.as_bytes());
        match &d.snapshot {
            None => out.push(0),
            Some(s) => {
                out.push(1);
                bytes(&mut out, s);
            }
        }
        varint(&mut out, d.changes.len() as u64);
        for c in &d.changes {
            bytes(&mut out, c);
        }
    }
    varint(&mut out, r.cursor);
    out.push(r.more as u8);
    varint(&mut out, r.removed.len() as u64);
    for id in &r.removed {
        bytes(&mut out, id.as_bytes());
    }
    out
}

#[test]
#[ignore = "writes fuzz/corpus; run with --ignored when the seeds need renewing"]
fn write_seed_corpus() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("seed.db"), &[1u8; 32], "seed").unwrap();
    let h = samples::household();
    store.put(&h, "2026-11-20").unwrap();
    let mut v = samples::visit();
    v.household_id = h.id.clone();
    store.put(&v, "2026-11-20").unwrap();
    let mut s = samples::screening();
    s.household_id = h.id.clone();
    store.put(&s, "2026-11-20").unwrap();
    let mut edited = h.clone();
    edited.phone = "13900000009".into();
    store.put(&edited, "2026-11-21").unwrap();
    let pending = store.pending_changes(1 << 24).unwrap();
    let changes: Vec<WireChange> = pending
        .iter()
        .map(|p| WireChange {
            doc_id: p.doc_id.clone(),
            kind: p.kind.code().to_string(),
            bytes: p.change.bytes.clone(),
        })
        .collect();
    let snapshot = |id: &str| store.load_doc(id).unwrap().unwrap().1.save();
    let docs = vec![
        WireDoc { doc_id: h.id.clone(), kind: "household".into(), snapshot: Some(snapshot(&h.id)), changes: vec![] },
        WireDoc {
            doc_id: v.id.clone(),
            kind: "visit".into(),
            snapshot: None,
            changes: changes.iter().filter(|c| c.doc_id == v.id).map(|c| c.bytes.clone()).collect(),
        },
        WireDoc { doc_id: s.id.clone(), kind: "screening".into(), snapshot: Some(snapshot(&s.id)), changes: vec![] },
    ];
    let requests = [request_with(vec![]), request_with(changes.clone()), request_with(changes[..1].to_vec())];
    let responses = [
        SyncResponse { acked: vec![], docs: vec![], cursor: 0, more: false, removed: vec![] },
        SyncResponse { acked: vec![[7u8; 32], [9u8; 32]], docs: docs.clone(), cursor: 17, more: true, removed: vec![] },
        SyncResponse { acked: vec![], docs: docs[..1].to_vec(), cursor: 3, more: false, removed: vec![s.id.clone()] },
    ];
    let write = |target: &str, name: &str, data: &[u8]| {
        let d = root().join("fuzz/corpus").join(target);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join(name), data).unwrap();
    };
    for (i, r) in requests.iter().enumerate() {
        let raw = postcard_request(r);
        let check: SyncRequest =
            protocol::decode(MessageType::SyncRequest, &bodies::envelope_raw(MessageType::SyncRequest, &raw)).unwrap();
        assert_eq!(&check, r, "the hand-written postcard matches the real one");
        write("decode_sync_request", &format!("seed-envelope-{i}"), &protocol::encode(MessageType::SyncRequest, r));
        write("decode_sync_request", &format!("seed-body-{i}"), &raw);
    }
    for (i, r) in responses.iter().enumerate() {
        let raw = postcard_response(r);
        let check: SyncResponse =
            protocol::decode(MessageType::SyncResponse, &bodies::envelope_raw(MessageType::SyncResponse, &raw))
                .unwrap();
        assert_eq!(&check, r, "the hand-written postcard matches the real one");
        write("decode_sync_response", &format!("seed-envelope-{i}"), &protocol::encode(MessageType::SyncResponse, r));
        write("decode_sync_response", &format!("seed-body-{i}"), &raw);
    }
    let kind_bits = |k: DocKind| DocKind::ALL.iter().position(|x| *x == k).unwrap() as u8;
    let household_changes: Vec<Vec<u8>> =
        changes.iter().filter(|c| c.doc_id == h.id).map(|c| c.bytes.clone()).collect();
    let visit_changes: Vec<Vec<u8>> = changes.iter().filter(|c| c.doc_id == v.id).map(|c| c.bytes.clone()).collect();
    let seeds = [
        ("household-changes", kind_bits(DocKind::Household), household_changes.clone()),
        ("household-snapshot", kind_bits(DocKind::Household) | 0x40, vec![snapshot(&h.id)]),
        ("household-snapshot-and-edit", kind_bits(DocKind::Household) | 0x40, {
            let mut p = vec![snapshot(&h.id)];
            p.extend(household_changes.clone());
            p
        }),
        ("existing-household-edit", kind_bits(DocKind::Household) | 0x80, household_changes[1..].to_vec()),
        ("visit-changes", kind_bits(DocKind::Visit), visit_changes),
        ("screening-snapshot", kind_bits(DocKind::Screening) | 0x40, vec![snapshot(&s.id)]),
        ("visit-as-household", kind_bits(DocKind::Household) | 0x40, vec![snapshot(&v.id)]),
    ];
    for (name, mode, parts) in seeds {
        let data = bodies::join_parts(mode, &parts);
        assert_eq!(bodies::split_parts(&data), Some((mode, parts)));
        write("apply_changes", &format!("seed-{name}"), &data);
    }
}
