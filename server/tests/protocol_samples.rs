//! The committed sample messages of `docs/protocol.md` (`tests/data/*.bin`) decode with today's code, to the
//! values the document describes. `DOORSTEP_WRITE_SAMPLES=1 cargo test -p doorstep-server --test protocol_samples`
//! writes them again (only when the protocol version changes).

use automerge::{ActorId, Change};
use doorstep_core::doc::{Author, Document};
use doorstep_core::model::samples;
use doorstep_core::sync::protocol::{
    self, MessageType, SyncRequest, SyncResponse, WireChange, WireDoc, MAGIC, PROTOCOL_VERSION,
};
use std::path::PathBuf;

const DOC_ID: &str = "0193a1b2-0000-7000-8000-000000000001";
const HOUSEHOLD_ID: &str = "0193a1b2-0000-7000-8000-000000000002";

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name)
}

/// The visit document the samples carry: fixed ids, actor and time, so its bytes are reproducible.
fn sample_doc() -> (Document, Vec<u8>) {
    let mut v = samples::visit();
    v.id = DOC_ID.into();
    v.household_id = HOUSEHOLD_ID.into();
    let actor = ActorId::from([0x11u8; 16]);
    let author = Author { user: "helper1".into(), device: "phone-a".into() };
    let (doc, change) = Document::create(&v, &actor, &author, 1_764_400_000_000).unwrap();
    (doc, change.bytes)
}

fn sample_request() -> SyncRequest {
    let (_, change) = sample_doc();
    SyncRequest {
        cursor: 0,
        max_bytes: 4 * 1024 * 1024,
        changes: vec![WireChange { doc_id: DOC_ID.into(), kind: "visit".into(), bytes: change }],
    }
}

fn sample_response() -> SyncResponse {
    let (mut doc, change) = sample_doc();
    let hash = Change::from_bytes(change).unwrap().hash().0;
    SyncResponse {
        acked: vec![hash],
        docs: vec![WireDoc {
            doc_id: DOC_ID.into(),
            kind: "visit".into(),
            snapshot: Some(doc.save()),
            changes: vec![],
        }],
        cursor: 1,
        more: false,
        removed: vec![HOUSEHOLD_ID.into()],
    }
}

#[test]
fn committed_samples_decode() {
    if std::env::var_os("DOORSTEP_WRITE_SAMPLES").is_some() {
        std::fs::create_dir_all(data("")).unwrap();
        std::fs::write(data("sync_request_v1.bin"), protocol::encode(MessageType::SyncRequest, &sample_request()))
            .unwrap();
        std::fs::write(data("sync_response_v1.bin"), protocol::encode(MessageType::SyncResponse, &sample_response()))
            .unwrap();
    }
    let request = std::fs::read(data("sync_request_v1.bin")).expect("committed sample request");
    assert_eq!(&request[..4], &MAGIC);
    assert_eq!(u16::from_be_bytes([request[4], request[5]]), PROTOCOL_VERSION);
    assert_eq!(request[6], MessageType::SyncRequest as u8);
    assert_eq!(&request[7..11], &[0x28, 0xb5, 0x2f, 0xfd], "a zstd frame follows the header");
    let decoded: SyncRequest = protocol::decode(MessageType::SyncRequest, &request).unwrap();
    assert_eq!(decoded, sample_request());
    let change = Change::from_bytes(decoded.changes[0].bytes.clone()).unwrap();
    assert_eq!(change.actor_id().to_hex_string(), "11".repeat(16));

    let response = std::fs::read(data("sync_response_v1.bin")).expect("committed sample response");
    assert_eq!(response[6], MessageType::SyncResponse as u8);
    let decoded: SyncResponse = protocol::decode(MessageType::SyncResponse, &response).unwrap();
    assert_eq!(decoded.acked, vec![change.hash().0]);
    assert_eq!((decoded.cursor, decoded.more), (1, false));
    assert_eq!(decoded.removed, vec![HOUSEHOLD_ID.to_string()]);
    let snapshot = decoded.docs[0].snapshot.as_ref().unwrap();
    let visit: doorstep_core::model::Visit = Document::load(snapshot, &ActorId::random()).unwrap().read().unwrap();
    assert_eq!((visit.id.as_str(), visit.household_id.as_str()), (DOC_ID, HOUSEHOLD_ID));
}

/// The postcard body of the request, field by field as `docs/protocol.md` describes it.
#[test]
fn request_body_layout_is_as_documented() {
    let req = SyncRequest {
        cursor: 300,
        max_bytes: 1,
        changes: vec![WireChange { doc_id: "d".into(), kind: "visit".into(), bytes: vec![9, 8] }],
    };
    let body = postcard::to_stdvec(&req).unwrap();
    // cursor varint(300) = ac 02; max_bytes varint(1) = 01; 1 change; "d"; "visit"; 2 bytes.
    assert_eq!(body, vec![0xac, 0x02, 0x01, 0x01, 0x01, b'd', 0x05, b'v', b'i', b's', b'i', b't', 0x02, 9, 8]);
}
