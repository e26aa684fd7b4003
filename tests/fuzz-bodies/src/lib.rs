//! What each fuzz target does with its input. Shared by the cargo-fuzz targets (`fuzz/fuzz_targets/`, through the
//! fuzz crate's dependency on this one) and by the regression tests of the normal suite
//! (`tests/tests/hostile_decoder.rs`, `hostile_ingest.rs`), so the committed corpus and every input that once failed
//! are replayed on every test run, on the stable toolchain.
//!
//! Each body must return for any input: a panic, an abort or a hang is the finding.

use doorstep_core::model::{samples, DocKind, Household, Screening, Visit};
use doorstep_core::store::{Incoming, Store};
use doorstep_core::sync::protocol::{self, MessageType, SyncRequest, SyncResponse, MAGIC, PROTOCOL_VERSION};
use std::hash::{Hash, Hasher};
use std::sync::{Mutex, OnceLock};

/// The wire decoder on a request: the bytes as a whole envelope, then as the body inside a valid envelope (past
/// the magic and compression, so the postcard decoder sees them), in both protocol versions. Whatever decodes must
/// re-encode to the same.
pub fn decode_sync_request(data: &[u8]) {
    decode_both::<SyncRequest>(MessageType::SyncRequest, data);
    for bytes in [data.to_vec(), envelope_v2(MessageType::SyncRequest, data)] {
        if let Ok((version, msg)) = protocol::decode_request(&bytes) {
            let again = protocol::decode_request(&protocol::encode_request(version, &msg)).expect("re-encodes");
            assert_eq!(again, (version, msg), "decode(encode(m)) == m");
        }
    }
}

/// The same on a response (what a device decodes from a server, or from anything pretending to be one).
pub fn decode_sync_response(data: &[u8]) {
    decode_both::<SyncResponse>(MessageType::SyncResponse, data);
    for bytes in [data.to_vec(), envelope_v2(MessageType::SyncResponse, data)] {
        for pushed in [&[][..], &[[1u8; 32]][..]] {
            if let Ok((version, msg)) = protocol::decode_response(&bytes, pushed) {
                let again =
                    protocol::decode_response(&protocol::encode_response(version, &msg), pushed).expect("re-encodes");
                assert_eq!(again, (version, msg), "decode(encode(m)) == m");
            }
        }
    }
}

/// A version 2 envelope around `body`: one zstd frame stating its size, as version 2 requires.
pub fn envelope_v2(kind: MessageType, body: &[u8]) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&protocol::V2.to_be_bytes());
    out.push(kind as u8);
    out.extend_from_slice(&zstd::bulk::compress(body, 1).unwrap_or_default());
    out
}

fn decode_both<T>(kind: MessageType, data: &[u8])
where
    T: serde::Serialize + for<'de> serde::Deserialize<'de> + PartialEq + std::fmt::Debug,
{
    let _ = protocol::peek_version(data);
    for bytes in [data.to_vec(), envelope_raw(kind, data)] {
        if let Ok(msg) = protocol::decode::<T>(kind, &bytes) {
            let again: T = protocol::decode(kind, &protocol::encode(kind, &msg)).expect("a decoded message re-encodes");
            assert_eq!(again, msg, "decode(encode(m)) == m");
        }
    }
}

/// An envelope around `body` as it is, in a zstd frame of raw (stored, uncompressed) blocks: a valid frame made
/// without a compressor, so a fuzzer's bytes reach the message decoder directly.
pub fn envelope_raw(kind: MessageType, body: &[u8]) -> Vec<u8> {
    const BLOCK: usize = 128 * 1024;
    let mut out = Vec::with_capacity(body.len() + 32);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&PROTOCOL_VERSION.to_be_bytes());
    out.push(kind as u8);
    // zstd frame: magic, descriptor (no content size, no checksum, not single-segment), window of 2^21 bytes.
    out.extend_from_slice(&[0x28, 0xB5, 0x2F, 0xFD, 0x00, 0x58]);
    let chunks: Vec<&[u8]> = if body.is_empty() { vec![&[][..]] } else { body.chunks(BLOCK).collect() };
    for (i, chunk) in chunks.iter().enumerate() {
        let last = (i + 1 == chunks.len()) as u32;
        // Block header, 3 bytes little-endian: last flag, type 0 (raw), size.
        let header = last | ((chunk.len() as u32) << 3);
        out.extend_from_slice(&header.to_le_bytes()[..3]);
        out.extend_from_slice(chunk);
    }
    out
}

/// The store every ingestion input goes into, with one real household already in it (inputs may target it).
fn store() -> &'static Mutex<(tempfile::TempDir, Store, String)> {
    static STORE: OnceLock<Mutex<(tempfile::TempDir, Store, String)>> = OnceLock::new();
    STORE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut store = Store::open(&dir.path().join("fuzz.db"), &[3u8; 32], "fuzz").expect("store");
        let h = samples::household();
        store.put(&h, "2026-11-20").expect("put household");
        Mutex::new((dir, store, h.id))
    })
}

/// Splits an ingestion input: byte 0 chooses the document kind, whether the first part is a snapshot, and
/// whether the existing household is the target; the rest is parts, each a 2-byte big-endian length and bytes.
pub fn split_parts(data: &[u8]) -> Option<(u8, Vec<Vec<u8>>)> {
    let (&mode, mut rest) = data.split_first()?;
    let mut parts = Vec::new();
    while rest.len() >= 2 && parts.len() < 64 {
        let len = u16::from_be_bytes([rest[0], rest[1]]) as usize;
        let take = len.min(rest.len() - 2);
        parts.push(rest[2..2 + take].to_vec());
        rest = &rest[2 + take..];
    }
    Some((mode, parts))
}

/// The inverse of `split_parts`, for writing seeds.
pub fn join_parts(mode: u8, parts: &[Vec<u8>]) -> Vec<u8> {
    let mut out = vec![mode];
    for p in parts {
        out.extend_from_slice(&(p.len() as u16).to_be_bytes());
        out.extend_from_slice(p);
    }
    out
}

/// Change ingestion on a device: arbitrary snapshots and changes applied through `Store::apply_incoming` (which
/// loads, merges and applies through `Document`, saves, and rebuilds the index rows). A refusal is fine; what was
/// accepted must read back.
pub fn apply_changes(data: &[u8]) {
    let Some((mode, parts)) = split_parts(data) else { return };
    let kind = DocKind::ALL[(mode & 0x0F) as usize % DocKind::ALL.len()];
    let mut guard = store().lock().unwrap_or_else(|p| p.into_inner());
    let (_, store, existing) = &mut *guard;
    let doc_id = if mode & 0x80 != 0 {
        existing.clone()
    } else {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        data.hash(&mut h);
        format!("fuzz-{:016x}", h.finish())
    };
    let (snapshot, changes) = match (mode & 0x40 != 0, parts.split_first()) {
        (true, Some((first, rest))) => (Some(first.clone()), rest.to_vec()),
        _ => (None, parts),
    };
    let item = Incoming { doc_id: doc_id.clone(), kind, snapshot, changes };
    if store.apply_incoming(&[item], "fuzz.cursor", "1").is_err() {
        return;
    }
    if let Ok(Some((_, mut doc))) = store.load_doc(&doc_id) {
        let _ = doc.heads();
        let _ = doc.kind();
        let _ = doc.conflicts(&doc_id);
        let _ = doc.read::<Household>();
        let _ = doc.read::<Visit>();
        let _ = doc.read::<Screening>();
        let _ = doc.save();
    }
    let _ = store.conflicts(&doc_id);
}
