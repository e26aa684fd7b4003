//! The sync wire protocol, shared by device and server (see `docs/protocol.md`).
//!
//! One HTTP round trip (`POST /api/v1/sync`) pushes the device's unacknowledged changes and pulls a page of what the
//! device's scope gained since its cursor. Every message is an envelope:
//!
//! ```text
//! magic "DSTP" (4 bytes) | version u16 big-endian | message type u8 | zstd frame of the postcard-encoded body
//! ```
//!
//! postcard is a stable, documented encoding (varints, length-prefixed bytes and strings); zstd makes the many
//! similar changes of a page cost little on a metered connection.
//!
//! Two versions exist. Version 2 ([`v2`]) is what this build speaks: ids as 16 bytes, a push acknowledged as a
//! whole, strict decoding. Version 1 (ids as text, acknowledgements as 32-byte hashes, lenient decoding) is still
//! served to devices not yet updated, for a deprecation window the server is given. The messages below are the same
//! in both; only their wire form differs, so nothing outside this module sees a version.

use serde::{Deserialize, Serialize};

pub mod v2;

/// Version 1: text ids, acknowledgements as hashes, lenient decoding. Served only for a deprecation window.
pub const V1: u16 = 1;
/// Version 2: ids as bytes, a push acknowledged as a whole, strict decoding.
pub const V2: u16 = 2;
/// The version this build speaks; it falls back to [`V1`] only for a server that does not speak it yet.
pub const CURRENT: u16 = V2;
/// The versions this build reads and writes, oldest first.
pub const VERSIONS: [u16; 2] = [V1, V2];
/// Version 1's number: the envelope [`encode`] and [`decode`] write and read.
pub const PROTOCOL_VERSION: u16 = V1;
/// First bytes of every message.
pub const MAGIC: [u8; 4] = *b"DSTP";
/// Media type of sync messages over HTTP.
pub const CONTENT_TYPE: &str = "application/x-doorstep-sync";
/// The header of a sync answer naming the document format the deployment writes (`model::form`): devices create
/// new documents in it.
pub const DOCUMENT_FORMAT_HEADER: &str = "doorstep-document-format";
/// zstd level: a good ratio at phone speed.
pub(crate) const ZSTD_LEVEL: i32 = 9;
/// Largest decoded body accepted, so a small compressed message cannot expand without bound.
pub const MAX_DECODED: usize = 64 * 1024 * 1024;

/// Message types, the byte after the version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum MessageType {
    SyncRequest = 1,
    SyncResponse = 2,
}

/// One change as sent: the document it belongs to, that document's kind, and Automerge's raw change bytes. The hash
/// and actor are inside the bytes, so the receiver computes them instead of trusting the sender.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireChange {
    pub doc_id: String,
    pub kind: String,
    pub bytes: Vec<u8>,
}

/// Device → server: push these changes, then send what my scope gained after `cursor`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncRequest {
    /// The server-assigned sequence up to which this device has applied pulled data; 0 for a fresh device.
    pub cursor: u64,
    /// The most bytes of documents the device wants in the response page.
    pub max_bytes: u32,
    pub changes: Vec<WireChange>,
}

/// One document in a pulled page: a compacted snapshot (bootstrap, or a document newly in scope) and/or changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireDoc {
    pub doc_id: String,
    pub kind: String,
    pub snapshot: Option<Vec<u8>>,
    pub changes: Vec<Vec<u8>>,
}

/// Server → device: which pushed changes are now durable, a page of documents, and the cursor after that page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncResponse {
    /// Hashes (32 bytes each) of the pushed changes the server has committed durably.
    pub acked: Vec<[u8; 32]>,
    pub docs: Vec<WireDoc>,
    /// Store this cursor with the page, in the same transaction.
    pub cursor: u64,
    /// More pages are waiting: sync again at once.
    pub more: bool,
    /// Documents that left the device's scope up to `cursor` (a household reassigned to another helper, with its
    /// visits and screenings): the device wipes them, in the same step as it applies the page, after its pending
    /// changes to them went up (or were set aside).
    pub removed: Vec<String>,
}

/// Why a request was refused; the JSON error body of every non-2xx answer carries one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The app is older (or newer) than the server's protocol: ask the user to update.
    UpdateRequired,
    BadRequest,
    Unauthorized,
    WrongPassword,
    TokenRevoked,
    AccountDisabled,
    Forbidden,
    OutOfScope,
    ForgedActor,
    TooLarge,
    TooManyAttempts,
    NotFound,
    /// An uploaded blob's bytes do not hash to its name, or its size is not the size its documents give.
    HashMismatch,
    /// A blob upload chunk does not start where the server's copy ends: ask the upload status and resume there.
    UploadOffset,
    /// The blob is referenced but its bytes have not reached the server yet: try again later.
    BlobMissing,
    /// The server could not store the data now (disk full, database busy): retry later, nothing is lost.
    Unavailable,
    /// A pushed visit or screening belongs to a household the server does not hold yet (`doc_id` names the
    /// record): not a scope decision. The device keeps the record queued, syncs the rest, and sends it again later.
    HouseholdUnknown,
    /// An admin reset the account's password: the person chooses a new one on the web page `/password` (signed in
    /// with the reset one), then signs in on the phone with it.
    PasswordChangeRequired,
}

/// The JSON body of every error answer: a code for programs and a message in both languages for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub code: ErrorCode,
    pub message_en: String,
    pub message_zh: String,
    /// True when the same request may succeed later unchanged.
    pub retryable: bool,
    /// The document a refusal is about (`out_of_scope`, `household_unknown`), so the device can set that document's
    /// changes aside (or hold them back for a later sync) and sync the rest; absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc_id: Option<String>,
}

/// Why a message could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("not a Doorstep sync message")]
    BadMagic,
    #[error("protocol version {0} is not supported (this side speaks {V1} and {V2})")]
    Version(u16),
    #[error("unexpected message type {0}")]
    MessageType(u8),
    #[error("message body is corrupt: {0}")]
    Body(String),
}

/// The 7 header bytes of an envelope.
fn header(version: u16, kind: MessageType, capacity: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(7 + capacity);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&version.to_be_bytes());
    out.push(kind as u8);
    out
}

/// The frame of an envelope of `version` and `kind`, after its header.
fn frame(bytes: &[u8], version: u16, kind: MessageType) -> Result<&[u8], DecodeError> {
    let found = peek_version(bytes)?;
    if found != version {
        return Err(DecodeError::Version(found));
    }
    if bytes[6] != kind as u8 {
        return Err(DecodeError::MessageType(bytes[6]));
    }
    Ok(&bytes[7..])
}

/// A version 2 envelope around a compressed body.
fn sealed(kind: MessageType, frame: &[u8]) -> Vec<u8> {
    let mut out = header(V2, kind, frame.len());
    out.extend_from_slice(frame);
    out
}

/// A request in the envelope of `version` ([`V1`] or [`V2`]; any other is written as version 2).
pub fn encode_request(version: u16, request: &SyncRequest) -> Vec<u8> {
    if version == V1 {
        return encode(MessageType::SyncRequest, request);
    }
    sealed(MessageType::SyncRequest, &v2::encode_request(request))
}

/// A request of either version, with the version it came in (the answer goes out in the same one).
pub fn decode_request(bytes: &[u8]) -> Result<(u16, SyncRequest), DecodeError> {
    match peek_version(bytes)? {
        V1 => Ok((V1, decode(MessageType::SyncRequest, bytes)?)),
        V2 => Ok((V2, v2::decode_request(frame(bytes, V2, MessageType::SyncRequest)?)?)),
        other => Err(DecodeError::Version(other)),
    }
}

/// A response in the envelope of `version`: version 2 states how many changes were accepted instead of their hashes.
pub fn encode_response(version: u16, response: &SyncResponse) -> Vec<u8> {
    if version == V1 {
        return encode(MessageType::SyncResponse, response);
    }
    sealed(MessageType::SyncResponse, &v2::encode_response(response))
}

/// A response of either version. `pushed` are the hashes of the changes the request pushed: a version 2 answer
/// acknowledges them all at once, and `acked` lists them as version 1 would.
pub fn decode_response(bytes: &[u8], pushed: &[[u8; 32]]) -> Result<(u16, SyncResponse), DecodeError> {
    match peek_version(bytes)? {
        V1 => Ok((V1, decode(MessageType::SyncResponse, bytes)?)),
        V2 => Ok((V2, v2::decode_response(frame(bytes, V2, MessageType::SyncResponse)?, pushed)?)),
        other => Err(DecodeError::Version(other)),
    }
}

/// Encodes a message body into a version 1 envelope.
pub fn encode<T: Serialize>(kind: MessageType, body: &T) -> Vec<u8> {
    let raw = postcard::to_stdvec(body).unwrap_or_default();
    let compressed = zstd::bulk::compress(&raw, ZSTD_LEVEL).unwrap_or_default();
    let mut out = header(V1, kind, compressed.len());
    out.extend_from_slice(&compressed);
    out
}

/// Reads only the version of an envelope, so a server can answer "update required" before decoding anything.
pub fn peek_version(bytes: &[u8]) -> Result<u16, DecodeError> {
    if bytes.len() < 7 || bytes[..4] != MAGIC {
        return Err(DecodeError::BadMagic);
    }
    Ok(u16::from_be_bytes([bytes[4], bytes[5]]))
}

/// Decodes a version 1 envelope of the expected type (as leniently as version 1 always did).
pub fn decode<T: for<'de> Deserialize<'de>>(kind: MessageType, bytes: &[u8]) -> Result<T, DecodeError> {
    let frame = frame(bytes, V1, kind)?;
    let raw = zstd::bulk::decompress(frame, MAX_DECODED).map_err(|e| DecodeError::Body(e.to_string()))?;
    postcard::from_bytes(&raw).map_err(|e| DecodeError::Body(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> SyncRequest {
        SyncRequest {
            cursor: 42,
            max_bytes: 1 << 20,
            changes: vec![WireChange { doc_id: "d1".into(), kind: "visit".into(), bytes: vec![1, 2, 3] }],
        }
    }

    #[test]
    fn round_trips() {
        let bytes = encode(MessageType::SyncRequest, &request());
        assert_eq!(&bytes[..4], b"DSTP");
        assert_eq!(decode::<SyncRequest>(MessageType::SyncRequest, &bytes).unwrap(), request());
        let resp = SyncResponse {
            acked: vec![[7; 32]],
            docs: vec![WireDoc {
                doc_id: "d".into(),
                kind: "household".into(),
                snapshot: Some(vec![9]),
                changes: vec![],
            }],
            cursor: 9,
            more: false,
            removed: vec!["gone".into()],
        };
        let bytes = encode(MessageType::SyncResponse, &resp);
        assert_eq!(decode::<SyncResponse>(MessageType::SyncResponse, &bytes).unwrap(), resp);
    }

    #[test]
    fn bad_input_is_a_typed_error() {
        let mut bytes = encode(MessageType::SyncRequest, &request());
        assert_eq!(decode::<SyncResponse>(MessageType::SyncResponse, &bytes), Err(DecodeError::MessageType(1)));
        bytes[5] = 99;
        assert_eq!(peek_version(&bytes), Ok(99));
        assert_eq!(decode::<SyncRequest>(MessageType::SyncRequest, &bytes), Err(DecodeError::Version(99)));
        assert_eq!(decode::<SyncRequest>(MessageType::SyncRequest, b"nope"), Err(DecodeError::BadMagic));
        let good = encode(MessageType::SyncRequest, &request());
        let truncated = &good[..good.len() - 3];
        assert!(matches!(decode::<SyncRequest>(MessageType::SyncRequest, truncated), Err(DecodeError::Body(_))));
    }
}
