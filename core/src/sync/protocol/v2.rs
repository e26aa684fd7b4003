//! Version 2 of the wire bodies (`docs/protocol.md`): document ids as 16 bytes, a push acknowledged as a whole, and
//! one canonical encoding that the decoder insists on.
//!
//! The same messages as version 1 ([`super::SyncRequest`], [`super::SyncResponse`]) are converted to and from these
//! wire forms, so the rest of the code never sees a version. Decoding is strict: exactly one zstd frame that states
//! its content size, no byte after the body, the body in postcard's canonical form (shortest varints, `00`/`01`
//! for booleans and options), document kinds as their codes, and a UUID id always in its 16-byte form. Anything
//! else is a [`DecodeError::Body`] that says what was wrong, so two implementations cannot drift apart unnoticed.

use super::{DecodeError, SyncRequest, SyncResponse, WireChange, WireDoc, MAX_DECODED, ZSTD_LEVEL};
use crate::model::DocKind;
use serde::{Deserialize, Serialize};

/// Longest text id (`Id::Name`), the same limit the server puts on every id.
pub const MAX_NAME_LEN: usize = 128;

/// A document id: the 16 bytes of a UUID written in its canonical text form (lowercase, hyphenated), or the text of
/// an id that is not one (the schedule rules' `schedule-rules`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Id {
    Uuid([u8; 16]),
    Name(String),
}

impl Id {
    /// The wire form of an id.
    pub fn of(id: &str) -> Self {
        match uuid::Uuid::try_parse(id) {
            Ok(u) if u.hyphenated().to_string() == id => Id::Uuid(*u.as_bytes()),
            _ => Id::Name(id.to_string()),
        }
    }

    /// The id as text, or why this wire form is not the one [`Id::of`] writes.
    fn text(self, field: &str) -> Result<String, DecodeError> {
        match self {
            Id::Uuid(bytes) => Ok(uuid::Uuid::from_bytes(bytes).hyphenated().to_string()),
            Id::Name(name) if name.is_empty() || name.len() > MAX_NAME_LEN => {
                Err(body(format!("{field}: a text id must be 1 to {MAX_NAME_LEN} bytes")))
            }
            Id::Name(name) if matches!(Id::of(&name), Id::Uuid(_)) => {
                Err(body(format!("{field}: the UUID {name} must be sent as its 16 bytes")))
            }
            Id::Name(name) => Ok(name),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Change {
    doc_id: Id,
    kind: String,
    bytes: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Request {
    cursor: u64,
    max_bytes: u32,
    changes: Vec<Change>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Doc {
    doc_id: Id,
    kind: String,
    snapshot: Option<Vec<u8>>,
    changes: Vec<Vec<u8>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Response {
    /// How many pushed changes the server holds durably: every one of the request's, or the answer is an error.
    accepted: u32,
    docs: Vec<Doc>,
    cursor: u64,
    more: bool,
    removed: Vec<Id>,
}

fn body(message: String) -> DecodeError {
    DecodeError::Body(message)
}

/// A kind's code, checked: version 2 takes codes only, never labels.
fn kind(code: String, field: &str) -> Result<String, DecodeError> {
    if DocKind::ALL.iter().any(|k| k.code() == code) {
        Ok(code)
    } else {
        let codes: Vec<&str> = DocKind::ALL.iter().map(|k| k.code()).collect();
        Err(body(format!("{field}: {code:?} is not a document kind code ({})", codes.join(", "))))
    }
}

/// The postcard body compressed as one zstd frame that states its size.
fn compress<T: Serialize>(value: &T) -> Vec<u8> {
    let raw = postcard::to_stdvec(value).unwrap_or_default();
    zstd::bulk::compress(&raw, ZSTD_LEVEL).unwrap_or_default()
}

/// The body of a version 2 envelope (what follows its 7 header bytes), decoded strictly.
fn decompress<T: Serialize + for<'de> Deserialize<'de>>(frame: &[u8]) -> Result<T, DecodeError> {
    use zstd::zstd_safe;
    let size = zstd_safe::get_frame_content_size(frame)
        .map_err(|_| body("not a zstd frame".into()))?
        .ok_or_else(|| body("the zstd frame does not state its content size".into()))?;
    if size > MAX_DECODED as u64 {
        return Err(body(format!("the body is {size} bytes, more than {MAX_DECODED}")));
    }
    let length =
        zstd_safe::find_frame_compressed_size(frame).map_err(|_| body("the zstd frame is cut short".into()))?;
    if length != frame.len() {
        return Err(body(format!("{} bytes follow the zstd frame", frame.len() - length.min(frame.len()))));
    }
    let raw = zstd::bulk::decompress(frame, size as usize).map_err(|e| body(e.to_string()))?;
    if raw.len() as u64 != size {
        return Err(body(format!("the zstd frame holds {} bytes, not the {size} it states", raw.len())));
    }
    let (value, rest) = postcard::take_from_bytes::<T>(&raw).map_err(|e| body(e.to_string()))?;
    if !rest.is_empty() {
        return Err(body(format!("{} bytes follow the body", rest.len())));
    }
    if postcard::to_stdvec(&value).map_err(|e| body(e.to_string()))? != raw {
        return Err(body("the body is not in canonical form (a padded varint or a non-minimal encoding)".into()));
    }
    Ok(value)
}

pub(super) fn encode_request(request: &SyncRequest) -> Vec<u8> {
    compress(&Request {
        cursor: request.cursor,
        max_bytes: request.max_bytes,
        changes: request
            .changes
            .iter()
            .map(|c| Change { doc_id: Id::of(&c.doc_id), kind: c.kind.clone(), bytes: c.bytes.clone() })
            .collect(),
    })
}

pub(super) fn decode_request(frame: &[u8]) -> Result<SyncRequest, DecodeError> {
    let r: Request = decompress(frame)?;
    let changes = r
        .changes
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            Ok(WireChange {
                doc_id: c.doc_id.text(&format!("changes[{i}].doc_id"))?,
                kind: kind(c.kind, &format!("changes[{i}].kind"))?,
                bytes: c.bytes,
            })
        })
        .collect::<Result<_, DecodeError>>()?;
    Ok(SyncRequest { cursor: r.cursor, max_bytes: r.max_bytes, changes })
}

pub(super) fn encode_response(response: &SyncResponse) -> Vec<u8> {
    compress(&Response {
        accepted: response.acked.len() as u32,
        docs: response
            .docs
            .iter()
            .map(|d| Doc {
                doc_id: Id::of(&d.doc_id),
                kind: d.kind.clone(),
                snapshot: d.snapshot.clone(),
                changes: d.changes.clone(),
            })
            .collect(),
        cursor: response.cursor,
        more: response.more,
        removed: response.removed.iter().map(|id| Id::of(id)).collect(),
    })
}

pub(super) fn decode_response(frame: &[u8], pushed: &[[u8; 32]]) -> Result<SyncResponse, DecodeError> {
    let r: Response = decompress(frame)?;
    if r.accepted as usize != pushed.len() {
        return Err(body(format!(
            "accepted: the server holds {} changes of the {} pushed; a push is accepted whole or refused",
            r.accepted,
            pushed.len()
        )));
    }
    let docs = r
        .docs
        .into_iter()
        .enumerate()
        .map(|(i, d)| {
            Ok(WireDoc {
                doc_id: d.doc_id.text(&format!("docs[{i}].doc_id"))?,
                kind: kind(d.kind, &format!("docs[{i}].kind"))?,
                snapshot: d.snapshot,
                changes: d.changes,
            })
        })
        .collect::<Result<_, DecodeError>>()?;
    let removed = r
        .removed
        .into_iter()
        .enumerate()
        .map(|(i, id)| id.text(&format!("removed[{i}]")))
        .collect::<Result<_, DecodeError>>()?;
    Ok(SyncResponse { acked: pushed.to_vec(), docs, cursor: r.cursor, more: r.more, removed })
}

#[cfg(test)]
mod tests {
    use super::super::{decode_request, decode_response, encode_request, encode_response, V1, V2};
    use super::*;

    const VISIT: &str = "0193a1b2-c3d4-7e5f-8a9b-000000000001";

    fn request() -> SyncRequest {
        SyncRequest {
            cursor: 300,
            max_bytes: 1 << 22,
            changes: vec![
                WireChange { doc_id: VISIT.into(), kind: "visit".into(), bytes: vec![1, 2, 3] },
                WireChange { doc_id: "schedule-rules".into(), kind: "rules".into(), bytes: vec![4] },
            ],
        }
    }

    fn response() -> SyncResponse {
        SyncResponse {
            acked: vec![[7; 32], [8; 32]],
            docs: vec![WireDoc {
                doc_id: VISIT.into(),
                kind: "visit".into(),
                snapshot: Some(vec![9]),
                changes: vec![],
            }],
            cursor: 9,
            more: true,
            removed: vec![VISIT.into(), "old-name".into()],
        }
    }

    /// An envelope of version 2 around `frame`.
    fn envelope(kind: u8, frame: &[u8]) -> Vec<u8> {
        let mut out = b"DSTP\x00\x02".to_vec();
        out.push(kind);
        out.extend_from_slice(frame);
        out
    }

    fn raw_request(raw: &[u8]) -> Result<(u16, SyncRequest), DecodeError> {
        decode_request(&envelope(1, &zstd::bulk::compress(raw, 3).unwrap()))
    }

    fn message(r: Result<impl std::fmt::Debug, DecodeError>) -> String {
        match r {
            Err(DecodeError::Body(m)) => m,
            other => panic!("expected a body error, got {other:?}"),
        }
    }

    #[test]
    fn round_trips_in_both_versions() {
        for version in [V1, V2] {
            let bytes = encode_request(version, &request());
            assert_eq!(u16::from_be_bytes([bytes[4], bytes[5]]), version);
            assert_eq!(decode_request(&bytes).unwrap(), (version, request()));
            let bytes = encode_response(version, &response());
            assert_eq!(decode_response(&bytes, &[[7; 32], [8; 32]]).unwrap(), (version, response()));
        }
    }

    #[test]
    fn a_uuid_travels_as_16_bytes_and_a_name_as_text() {
        assert_eq!(Id::of(VISIT), Id::Uuid(*uuid::Uuid::parse_str(VISIT).unwrap().as_bytes()));
        assert_eq!(Id::of("schedule-rules"), Id::Name("schedule-rules".into()));
        // Only the canonical text of a UUID is sent as bytes: any other spelling must come back as it was.
        let upper = VISIT.to_uppercase();
        assert_eq!(Id::of(&upper), Id::Name(upper.clone()));
        let raw = postcard::to_stdvec(&Id::of(VISIT)).unwrap();
        assert_eq!(raw.len(), 17, "a tag byte and 16 bytes: {raw:?}");
        let v1 = postcard::to_stdvec(&request()).unwrap();
        let v2 = postcard::to_stdvec(&Request {
            cursor: 300,
            max_bytes: 1 << 22,
            changes: request()
                .changes
                .into_iter()
                .map(|c| Change { doc_id: Id::of(&c.doc_id), kind: c.kind, bytes: c.bytes })
                .collect(),
        })
        .unwrap();
        assert_eq!(v1.len() - v2.len(), 36 - 17 - 1 + 1, "the UUID shrinks; the name costs one tag byte");
    }

    #[test]
    fn a_push_is_acknowledged_as_a_whole() {
        let bytes = encode_response(V2, &response());
        let (_, decoded) = decode_response(&bytes, &[[1; 32], [2; 32]]).unwrap();
        assert_eq!(decoded.acked, vec![[1; 32], [2; 32]], "the pushed changes, all of them");
        let wrong = message(decode_response(&bytes, &[[1; 32]]));
        assert!(wrong.contains("accepted") && wrong.contains("2 changes of the 1"), "{wrong}");
    }

    #[test]
    fn anything_but_one_canonical_frame_is_refused() {
        let good = encode_request(V2, &request());
        let frame = &good[7..];
        // A byte after the frame.
        let mut trailing = good.clone();
        trailing.push(0);
        assert!(message(decode_request(&trailing)).contains("1 bytes follow the zstd frame"));
        // Two frames.
        let mut two = good.clone();
        two.extend_from_slice(frame);
        assert!(message(decode_request(&two)).contains("follow the zstd frame"));
        // A frame that does not state its size (as a streaming encoder writes it).
        let raw = postcard::to_stdvec(&Request { cursor: 1, max_bytes: 0, changes: vec![] }).unwrap();
        let streamed = zstd::stream::encode_all(&raw[..], 3).unwrap();
        assert!(message(decode_request(&envelope(1, &streamed))).contains("does not state its content size"));
        // A frame cut short.
        assert!(matches!(decode_request(&good[..good.len() - 2]), Err(DecodeError::Body(_))));
        // A frame header that claims more than 64 MiB is refused before anything is decompressed: magic, a
        // descriptor with an 8-byte content size, a window byte, then the size (64 MiB + 1, little-endian).
        let mut huge = vec![0x28, 0xb5, 0x2f, 0xfd, 0xc0, 0x58];
        huge.extend_from_slice(&(MAX_DECODED as u64 + 1).to_le_bytes());
        assert!(message(decode_request(&envelope(1, &huge))).contains(&format!("more than {MAX_DECODED}")));
        // Not zstd at all.
        assert!(message(decode_request(&envelope(1, b"hello"))).contains("not a zstd frame"));
        // A byte after the body, inside the frame.
        assert!(message(raw_request(&[0, 0, 0, 0])).contains("1 bytes follow the body"));
        // A padded varint (cursor 0 as `80 00`).
        assert!(message(raw_request(&[0x80, 0x00, 0, 0])).contains("canonical"));
        // A boolean that is not 00 or 01 (`more` = 02).
        let mut resp =
            postcard::to_stdvec(&Response { accepted: 0, docs: vec![], cursor: 1, more: false, removed: vec![] })
                .unwrap();
        resp[3] = 2;
        let answer = decode_response(&envelope(2, &zstd::bulk::compress(&resp, 3).unwrap()), &[]);
        assert!(matches!(answer, Err(DecodeError::Body(_))), "{answer:?}");
        // The right frame in the wrong message type.
        assert_eq!(decode_response(&good, &[]), Err(DecodeError::MessageType(1)));
    }

    #[test]
    fn kinds_are_codes_and_uuids_are_bytes() {
        let with = |doc_id: Id, kind: &str| {
            postcard::to_stdvec(&Request {
                cursor: 0,
                max_bytes: 0,
                changes: vec![Change { doc_id, kind: kind.into(), bytes: vec![1] }],
            })
            .unwrap()
        };
        let label = message(raw_request(&with(Id::of(VISIT), "Visit")));
        assert!(
            label.contains("changes[0].kind") && label.contains("\"Visit\" is not a document kind code"),
            "{label}"
        );
        let text = message(raw_request(&with(Id::Name(VISIT.into()), "visit")));
        assert!(text.contains("changes[0].doc_id") && text.contains("16 bytes"), "{text}");
        let empty = message(raw_request(&with(Id::Name(String::new()), "visit")));
        assert!(empty.contains("changes[0].doc_id: a text id must be 1 to 128 bytes"), "{empty}");
        assert_eq!(raw_request(&with(Id::Name("schedule-rules".into()), "rules")).unwrap().1.changes[0].kind, "rules");
    }
}
