//! The committed sample messages of `docs/protocol.md` (`tests/data/*.bin`) decode with today's code, to the
//! values the document describes. `DOORSTEP_WRITE_SAMPLES=1 cargo test -p doorstep-server --test protocol_samples`
//! writes them again (only when the protocol version changes).

use automerge::{ActorId, Change};
use doorstep_core::doc::{Author, Document};
use doorstep_core::model::{form, samples};
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
fn sample_doc(format: i64) -> (Document, Vec<u8>) {
    let mut v = samples::visit();
    v.id = DOC_ID.into();
    v.household_id = HOUSEHOLD_ID.into();
    let actor = ActorId::from([0x11u8; 16]);
    let author = Author { user: "helper1".into(), device: "phone-a".into() };
    let (doc, change) = form::writing_in(format, || Document::create(&v, &actor, &author, 1_764_400_000_000)).unwrap();
    (doc, change.bytes)
}

/// Version 1 samples carry a format 1 document (what an app of that time wrote), version 2 samples a format 2 one.
fn sample_request(format: i64) -> SyncRequest {
    let (_, change) = sample_doc(format);
    SyncRequest {
        cursor: 0,
        max_bytes: 4 * 1024 * 1024,
        changes: vec![WireChange { doc_id: DOC_ID.into(), kind: "visit".into(), bytes: change }],
    }
}

fn sample_response(format: i64) -> SyncResponse {
    let (mut doc, change) = sample_doc(format);
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
        std::fs::write(
            data("sync_request_v1.bin"),
            protocol::encode(MessageType::SyncRequest, &sample_request(form::LEGACY)),
        )
        .unwrap();
        std::fs::write(
            data("sync_response_v1.bin"),
            protocol::encode(MessageType::SyncResponse, &sample_response(form::LEGACY)),
        )
        .unwrap();
        std::fs::write(
            data("sync_request_v2.bin"),
            protocol::encode_request(protocol::V2, &sample_request(form::CURRENT)),
        )
        .unwrap();
        std::fs::write(
            data("sync_response_v2.bin"),
            protocol::encode_response(protocol::V2, &sample_response(form::CURRENT)),
        )
        .unwrap();
    }
    let request = std::fs::read(data("sync_request_v1.bin")).expect("committed sample request");
    assert_eq!(&request[..4], &MAGIC);
    assert_eq!(u16::from_be_bytes([request[4], request[5]]), PROTOCOL_VERSION);
    assert_eq!(request[6], MessageType::SyncRequest as u8);
    assert_eq!(&request[7..11], &[0x28, 0xb5, 0x2f, 0xfd], "a zstd frame follows the header");
    let decoded: SyncRequest = protocol::decode(MessageType::SyncRequest, &request).unwrap();
    assert_eq!(decoded, sample_request(form::LEGACY));
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

/// The version 2 samples: the same messages, ids as bytes, the push acknowledged as a whole.
#[test]
fn committed_version_2_samples_decode_to_the_same_messages() {
    let request = std::fs::read(data("sync_request_v2.bin")).expect("committed sample request");
    assert_eq!(&request[..7], &[0x44, 0x53, 0x54, 0x50, 0x00, 0x02, 0x01]);
    assert_eq!(protocol::decode_request(&request).unwrap(), (protocol::V2, sample_request(form::CURRENT)));
    let change = Change::from_bytes(sample_request(form::CURRENT).changes[0].bytes.clone()).unwrap();
    let response = std::fs::read(data("sync_response_v2.bin")).expect("committed sample response");
    assert_eq!(&response[..7], &[0x44, 0x53, 0x54, 0x50, 0x00, 0x02, 0x02]);
    let (version, decoded) = protocol::decode_response(&response, &[change.hash().0]).unwrap();
    assert_eq!((version, decoded), (protocol::V2, sample_response(form::CURRENT)));
    // Acknowledged as a whole: the answer holds a count, so it does not decode as an answer to another push size.
    assert!(protocol::decode_response(&response, &[]).is_err());
}

/// The version 2 body of the request, byte by byte as `docs/protocol.md` describes it.
#[test]
fn version_2_body_layout_is_as_documented() {
    let req = SyncRequest {
        cursor: 300,
        max_bytes: 1,
        changes: vec![
            WireChange { doc_id: DOC_ID.into(), kind: "visit".into(), bytes: vec![9, 8] },
            WireChange { doc_id: "schedule-rules".into(), kind: "rules".into(), bytes: vec![7] },
        ],
    };
    let envelope = protocol::encode_request(protocol::V2, &req);
    let frame = &envelope[7..];
    let body = zstd::bulk::decompress(frame, 1 << 20).unwrap();
    assert_eq!(
        zstd::zstd_safe::get_frame_content_size(frame).unwrap(),
        Some(body.len() as u64),
        "the frame states its size"
    );
    let mut want = vec![0xac, 0x02, 0x01, 0x02];
    want.push(0x00); // Id::Uuid
    want.extend_from_slice(uuid::Uuid::parse_str(DOC_ID).unwrap().as_bytes());
    want.extend_from_slice(&[0x05, b'v', b'i', b's', b'i', b't', 0x02, 9, 8]);
    want.extend_from_slice(&[0x01, 14]); // Id::Name, 14 bytes
    want.extend_from_slice(b"schedule-rules");
    want.extend_from_slice(&[0x05, b'r', b'u', b'l', b'e', b's', 0x01, 7]);
    assert_eq!(body, want);
}
