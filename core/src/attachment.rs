//! Attachments: photos, signatures and scanned forms that evidence a visit or a screening.
//!
//! An attachment is an immutable blob addressed by the SHA-256 of its bytes. Documents hold only an
//! [`AttachmentRef`] (hash, media type, size, kind, caption), keyed by hash, so the bytes never bloat a CRDT document
//! and two devices attaching concurrently both keep their attachment after a merge. This module is the one place
//! that knows what a valid attachment is; the device store, the sync client and the server all call it, so that they
//! agree byte for byte. The wire protocol for blobs is in `docs/protocol.md` ("Blobs").

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What an attachment evidences; decides its size limit and whether it waits for Wi-Fi.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, uniffi::Enum)]
#[serde(rename_all = "snake_case")]
pub enum AttachmentKind {
    /// A photo of the house, the water supply, a medicine box (JPEG or WebP, after the app's own downscaling).
    Photo,
    /// The household's signature on the visit record (谁查谁负责…签字), PNG or SVG; small, so it always syncs.
    Signature,
    /// A scanned or photographed paper form (PDF, JPEG, PNG or WebP).
    Document,
}

impl AttachmentKind {
    pub const ALL: [AttachmentKind; 3] = [AttachmentKind::Photo, AttachmentKind::Signature, AttachmentKind::Document];

    /// The stable code used in documents, the CLI and CSV ledgers.
    pub fn code(self) -> &'static str {
        match self {
            AttachmentKind::Photo => "photo",
            AttachmentKind::Signature => "signature",
            AttachmentKind::Document => "document",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            AttachmentKind::Photo => "照片",
            AttachmentKind::Signature => "签字",
            AttachmentKind::Document => "文件",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            AttachmentKind::Photo => "Photo",
            AttachmentKind::Signature => "Signature",
            AttachmentKind::Document => "Document",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }

    /// The media types an attachment of this kind may have.
    pub fn allowed_media_types(self) -> &'static [&'static str] {
        match self {
            AttachmentKind::Photo => &[JPEG, WEBP],
            AttachmentKind::Signature => &[PNG, SVG],
            AttachmentKind::Document => &[PDF, JPEG, PNG, WEBP],
        }
    }
}

impl crate::model::form::Coded for AttachmentKind {
    fn all() -> &'static [Self] {
        &Self::ALL
    }
    fn code(self) -> &'static str {
        AttachmentKind::code(self)
    }
    fn legacy_name(self) -> &'static str {
        match self {
            AttachmentKind::Photo => "Photo",
            AttachmentKind::Signature => "Signature",
            AttachmentKind::Document => "Document",
        }
    }
}
crate::coded_in_documents!(AttachmentKind);

pub const JPEG: &str = "image/jpeg";
pub const WEBP: &str = "image/webp";
pub const PNG: &str = "image/png";
pub const SVG: &str = "image/svg+xml";
pub const PDF: &str = "application/pdf";

/// A document's reference to one attachment. The document's `attachments` map is keyed by `hash`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Reconcile, Hydrate, uniffi::Record)]
pub struct AttachmentRef {
    /// Lowercase hex SHA-256 of the bytes (64 characters): the blob's name on the device, the wire and the server.
    pub hash: String,
    pub media_type: String,
    /// Size of the bytes; the server refuses an upload of another size.
    #[autosurgeon(with = "crate::model::form::count")]
    pub size: u64,
    pub kind: AttachmentKind,
    #[serde(default)]
    pub caption: String,
}

/// Size limits, in bytes. Configuration, not constants: a county may allow larger photos.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, uniffi::Record)]
pub struct AttachmentLimits {
    pub max_photo: u64,
    pub max_signature: u64,
    pub max_document: u64,
    /// Total bytes of blobs a device keeps that it added itself and the server does not have yet.
    pub device_quota: u64,
    /// Longest caption, in characters.
    pub max_caption_chars: u32,
    /// Most attachments on one document.
    pub max_per_document: u32,
}

impl Default for AttachmentLimits {
    fn default() -> Self {
        Self {
            max_photo: 2 * 1024 * 1024,
            max_signature: 256 * 1024,
            max_document: 8 * 1024 * 1024,
            device_quota: 512 * 1024 * 1024,
            max_caption_chars: 200,
            max_per_document: 20,
        }
    }
}

impl AttachmentLimits {
    /// The largest blob of this kind.
    pub fn max_for(&self, kind: AttachmentKind) -> u64 {
        match kind {
            AttachmentKind::Photo => self.max_photo,
            AttachmentKind::Signature => self.max_signature,
            AttachmentKind::Document => self.max_document,
        }
    }

    /// The largest blob of any kind: what a server accepts in one upload.
    pub fn max_any(&self) -> u64 {
        self.max_photo.max(self.max_signature).max(self.max_document)
    }
}

/// Why bytes cannot be attached; each names the field or the limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttachmentError {
    #[error("attachment: {size} bytes is over the {limit}-byte limit for a {kind}")]
    TooLarge { kind: &'static str, size: u64, limit: u64 },
    #[error("attachment: empty file")]
    Empty,
    #[error("attachment: media_type {declared} is not allowed for a {kind} (allowed: {allowed})")]
    MediaTypeNotAllowed { kind: &'static str, declared: String, allowed: String },
    #[error("attachment: the bytes are not {declared} (they look like {found})")]
    ContentMismatch { declared: String, found: String },
    #[error("attachment: caption is longer than {limit} characters")]
    CaptionTooLong { limit: u32 },
    #[error("attachment: hash must be 64 lowercase hex characters")]
    BadHash,
}

/// The blob's name: lowercase hex SHA-256 of its bytes.
pub fn hash_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// True for a well-formed blob name; checked before a hash is used in a path or a query.
pub fn is_valid_hash(hash: &str) -> bool {
    hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The media type the bytes' signature says they are, if one we accept.
pub fn sniff_media_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        Some(JPEG)
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(PNG)
    } else if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some(WEBP)
    } else if bytes.starts_with(b"%PDF-") {
        Some(PDF)
    } else {
        let head = String::from_utf8_lossy(&bytes[..bytes.len().min(512)]).to_ascii_lowercase();
        (head.trim_start().starts_with("<svg") || (head.trim_start().starts_with("<?xml") && head.contains("<svg")))
            .then_some(SVG)
    }
}

/// Checks bytes about to be attached and builds their reference: size within the kind's limit, a media type the
/// kind allows and that the bytes really are, a caption within bounds.
pub fn prepare(
    bytes: &[u8],
    media_type: &str,
    kind: AttachmentKind,
    caption: &str,
    limits: &AttachmentLimits,
) -> Result<AttachmentRef, AttachmentError> {
    let size = bytes.len() as u64;
    if size == 0 {
        return Err(AttachmentError::Empty);
    }
    let limit = limits.max_for(kind);
    if size > limit {
        return Err(AttachmentError::TooLarge { kind: kind.code(), size, limit });
    }
    if !kind.allowed_media_types().contains(&media_type) {
        return Err(AttachmentError::MediaTypeNotAllowed {
            kind: kind.code(),
            declared: media_type.to_string(),
            allowed: kind.allowed_media_types().join(", "),
        });
    }
    match sniff_media_type(bytes) {
        Some(found) if found == media_type => {}
        found => {
            return Err(AttachmentError::ContentMismatch {
                declared: media_type.to_string(),
                found: found.unwrap_or("unknown data").to_string(),
            })
        }
    }
    if caption.chars().count() > limits.max_caption_chars as usize {
        return Err(AttachmentError::CaptionTooLong { limit: limits.max_caption_chars });
    }
    Ok(AttachmentRef { hash: hash_hex(bytes), media_type: media_type.to_string(), size, kind, caption: caption.into() })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TINY_JPEG: &[u8] = &[0xff, 0xd8, 0xff, 0xe0, 0, 16, b'J', b'F', b'I', b'F', 0];

    #[test]
    fn hash_is_sha256_hex() {
        assert_eq!(hash_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert!(is_valid_hash(&hash_hex(b"abc")));
        assert!(!is_valid_hash("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"));
        assert!(!is_valid_hash("../etc/passwd"));
    }

    #[test]
    fn sniffs_each_accepted_type() {
        assert_eq!(sniff_media_type(TINY_JPEG), Some(JPEG));
        assert_eq!(sniff_media_type(b"\x89PNG\r\n\x1a\n...."), Some(PNG));
        assert_eq!(sniff_media_type(b"RIFF\x10\0\0\0WEBPVP8 "), Some(WEBP));
        assert_eq!(sniff_media_type(b"%PDF-1.7\n"), Some(PDF));
        assert_eq!(sniff_media_type(b"<?xml version=\"1.0\"?><svg xmlns=\"\"/>"), Some(SVG));
        assert_eq!(sniff_media_type(b"MZ\x90\0"), None);
    }

    #[test]
    fn prepare_checks_every_limit_and_names_it() {
        let limits = AttachmentLimits { max_photo: 8, ..AttachmentLimits::default() };
        let err = prepare(TINY_JPEG, JPEG, AttachmentKind::Photo, "", &limits).unwrap_err();
        assert_eq!(err, AttachmentError::TooLarge { kind: "photo", size: 11, limit: 8 });
        assert!(err.to_string().contains("8-byte limit"));

        let limits = AttachmentLimits::default();
        let ok = prepare(TINY_JPEG, JPEG, AttachmentKind::Photo, "水窖 water cellar", &limits).unwrap();
        assert_eq!((ok.size, ok.hash.as_str()), (11, hash_hex(TINY_JPEG).as_str()));
        assert!(matches!(
            prepare(TINY_JPEG, PNG, AttachmentKind::Signature, "", &limits),
            Err(AttachmentError::ContentMismatch { .. })
        ));
        assert!(matches!(
            prepare(TINY_JPEG, JPEG, AttachmentKind::Signature, "", &limits),
            Err(AttachmentError::MediaTypeNotAllowed { .. })
        ));
        assert_eq!(prepare(&[], JPEG, AttachmentKind::Photo, "", &limits), Err(AttachmentError::Empty));
        let long = "字".repeat(201);
        assert_eq!(
            prepare(TINY_JPEG, JPEG, AttachmentKind::Photo, &long, &limits),
            Err(AttachmentError::CaptionTooLong { limit: 200 })
        );
    }
}
