//! Attachment bytes on the device: encrypted blob files beside the store, and the table of attachments it knows.
//!
//! The bytes of a photo, signature or scanned form never enter a document or the SQLite file: each blob is a file
//! in `<store path>.blobs/`, encrypted with XChaCha20-Poly1305 under a key derived from the store key (a lost phone
//! leaks no photo), named by an HMAC of its hash (a file name does not tell which known photo it is). A file is
//! `nonce (24 bytes) || ciphertext`, with the blob's hash as associated data, written to a temporary file, fsynced
//! and renamed, so a killed app leaves either the whole blob or none of it.
//!
//! A download in progress is kept in `partial/`, as a sequence of encrypted frames (`length u32 BE || nonce ||
//! ciphertext`, the offset bound in as associated data), so a cut download resumes from the bytes already held
//! without any of them lying on disk in the clear.
//!
//! The `attachments` table says what the device knows of each blob (whether its bytes are here, whether it must
//! still go to the server); `attachment_refs` says which live documents refer to it, kept from the documents
//! themselves on every write and every pulled page. A blob no live document refers to is removed by `sweep_blobs`.

use super::{now_ms, Store};
use crate::attachment::{self, AttachmentKind, AttachmentLimits, AttachmentRef};
use crate::doc::Document;
use crate::error::{Error, Result};
use crate::model::{DocKind, Record, Screening, Visit};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use rusqlite::{params, OptionalExtension, Transaction};
use sha2::Sha256;
use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
/// Largest frame of a partial download; a frame header claiming more is garbage (a torn write).
const MAX_FRAME: usize = 64 * 1024 * 1024;

/// Whether a blob still has to reach the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, uniffi::Enum)]
#[serde(rename_all = "snake_case")]
pub enum UploadState {
    /// Another device added it: this one never uploads it.
    NotNeeded,
    /// Added here; the server does not have all of it yet.
    Pending,
    /// The server holds it, verified.
    Done,
    /// The server refused the bytes as not matching their hash: the local file is damaged. Never retried.
    Broken,
}

impl UploadState {
    fn code(self) -> &'static str {
        match self {
            UploadState::NotNeeded => "none",
            UploadState::Pending => "pending",
            UploadState::Done => "done",
            UploadState::Broken => "broken",
        }
    }

    fn parse(code: &str) -> Self {
        match code {
            "pending" => UploadState::Pending,
            "done" => UploadState::Done,
            "broken" => UploadState::Broken,
            _ => UploadState::NotNeeded,
        }
    }
}

/// One attachment of a document as the app lists it: the document's reference and what the device holds of it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, uniffi::Record)]
pub struct Attachment {
    pub reference: AttachmentRef,
    /// The bytes are on this device (else opening it downloads them).
    pub local: bool,
    pub upload: UploadState,
    /// Bytes of it the server has confirmed receiving.
    pub confirmed: u64,
}

/// A blob the device knows, as the sync client needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobInfo {
    pub hash: String,
    pub media_type: String,
    pub size: u64,
    pub kind: AttachmentKind,
    pub local: bool,
    pub upload: UploadState,
    pub confirmed: u64,
}

/// The two keys derived from the store key: one encrypts blob files, one names them.
#[derive(Clone)]
struct BlobKeys {
    cipher: [u8; 32],
    names: [u8; 32],
}

fn hmac(key: &[u8], data: &[u8]) -> Result<[u8; 32]> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).map_err(|e| Error::Document(format!("HMAC key: {e}")))?;
    mac.update(data);
    Ok(mac.finalize().into_bytes().into())
}

impl BlobKeys {
    /// HMAC-SHA256 of the store key with a fixed label per purpose: the store key is already uniformly random
    /// (from the keystore), so one PRF call per purpose is a sound key derivation, and the two keys are independent.
    fn derive(store_key: &[u8]) -> Result<Self> {
        Ok(Self {
            cipher: hmac(store_key, b"doorstep blob encryption v1")?,
            names: hmac(store_key, b"doorstep blob names v1")?,
        })
    }

    fn file_name(&self, hash: &str) -> Result<String> {
        Ok(hex::encode(hmac(&self.names, hash.as_bytes())?))
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(Key::from_slice(&self.cipher))
    }

    fn seal(&self, plain: &[u8], aad: &[u8]) -> Result<Vec<u8>> {
        let nonce: [u8; NONCE_LEN] = rand::random();
        let sealed = self
            .cipher()
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: plain, aad })
            .map_err(|_| Error::Document("blob encryption failed".into()))?;
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    fn open(&self, sealed: &[u8], aad: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < NONCE_LEN + TAG_LEN {
            return None;
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        self.cipher().decrypt(XNonce::from_slice(nonce), Payload { msg: body, aad }).ok()
    }
}

/// The directory of encrypted blob files of one store.
#[derive(Clone)]
pub struct BlobDir {
    dir: PathBuf,
    keys: BlobKeys,
}

impl BlobDir {
    /// The blob directory of the store at `store_path` (`<store path>.blobs`), with keys derived from `store_key`.
    /// Nothing is created until a blob is written.
    pub fn new(store_path: &Path, store_key: &[u8]) -> Result<Self> {
        let mut dir = store_path.as_os_str().to_owned();
        dir.push(".blobs");
        Ok(Self { dir: PathBuf::from(dir), keys: BlobKeys::derive(store_key)? })
    }

    /// The same directory under another store key (for a rekey).
    fn with_key(&self, store_key: &[u8]) -> Result<Self> {
        Ok(Self { dir: self.dir.clone(), keys: BlobKeys::derive(store_key)? })
    }

    /// The directory itself (`<store path>.blobs`), for tests and support tools.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the blob with this hash is kept.
    pub fn path_of(&self, hash: &str) -> Result<PathBuf> {
        Ok(self.dir.join(self.keys.file_name(hash)?))
    }

    fn partial_path(&self, hash: &str) -> Result<PathBuf> {
        Ok(self.dir.join("partial").join(self.keys.file_name(hash)?))
    }

    /// Whether the blob's file is on this device.
    pub fn contains(&self, hash: &str) -> bool {
        self.path_of(hash).map(|p| p.is_file()).unwrap_or(false)
    }

    /// Stores the bytes of a blob, encrypted, atomically (temporary file, fsync, rename, fsync of the directory).
    /// A blob already present is left as it is: the same bytes are stored once.
    pub fn write(&self, hash: &str, bytes: &[u8]) -> Result<()> {
        let path = self.path_of(hash)?;
        if path.is_file() {
            return Ok(());
        }
        let sealed = self.keys.seal(bytes, hash.as_bytes())?;
        write_atomic(&self.dir, &path, &sealed)
    }

    /// The plaintext of a blob, checked against its hash; `None` when it is not on this device.
    pub fn read(&self, hash: &str) -> Result<Option<Vec<u8>>> {
        let path = self.path_of(hash)?;
        let sealed = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let plain = self.keys.open(&sealed, hash.as_bytes()).ok_or_else(|| Error::BlobCorrupt {
            hash: hash.to_string(),
            reason: "the file does not decrypt with this store's key".into(),
        })?;
        if attachment::hash_hex(&plain) != hash {
            return Err(Error::BlobCorrupt {
                hash: hash.to_string(),
                reason: "the bytes do not match the hash".into(),
            });
        }
        Ok(Some(plain))
    }

    /// Deletes the blob's file, if present.
    pub fn remove(&self, hash: &str) -> Result<()> {
        remove_if_present(&self.path_of(hash)?)
    }

    /// Plaintext bytes held of a download in progress, and the length of the file's whole frames.
    fn partial_state(&self, hash: &str) -> Result<(Vec<u8>, u64)> {
        let raw = match fs::read(self.partial_path(hash)?) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
            Err(e) => return Err(e.into()),
        };
        let mut plain = Vec::new();
        let mut at = 0usize;
        while raw.len() >= at + 4 {
            let len = u32::from_be_bytes([raw[at], raw[at + 1], raw[at + 2], raw[at + 3]]) as usize;
            if len > MAX_FRAME || raw.len() < at + 4 + len {
                break;
            }
            let aad = frame_aad(hash, plain.len() as u64);
            let Some(chunk) = self.keys.open(&raw[at + 4..at + 4 + len], &aad) else { break };
            plain.extend_from_slice(&chunk);
            at += 4 + len;
        }
        Ok((plain, at as u64))
    }

    /// How many leading bytes of a blob a download in progress holds (0 if none).
    pub fn partial_len(&self, hash: &str) -> Result<u64> {
        Ok(self.partial_state(hash)?.0.len() as u64)
    }

    /// Appends received bytes at `offset` to a download in progress, durably. A torn last frame (a killed app) is
    /// cut off first; an offset other than the bytes held is refused.
    pub fn append_partial(&self, hash: &str, offset: u64, bytes: &[u8]) -> Result<()> {
        let (plain, whole) = self.partial_state(hash)?;
        if plain.len() as u64 != offset {
            return Err(Error::invalid(
                "offset",
                &format!("a download of {hash} holds {} bytes, not {offset}", plain.len()),
            ));
        }
        let path = self.partial_path(hash)?;
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
        let mut file = fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path)?;
        file.set_len(whole)?;
        let sealed = self.keys.seal(bytes, &frame_aad(hash, offset))?;
        let mut frame = Vec::with_capacity(4 + sealed.len());
        frame.extend_from_slice(&(sealed.len() as u32).to_be_bytes());
        frame.extend_from_slice(&sealed);
        use std::io::Seek;
        file.seek(std::io::SeekFrom::Start(whole))?;
        file.write_all(&frame)?;
        file.sync_all()?;
        Ok(())
    }

    /// Turns a finished download into a blob once its bytes hash to its name; a mismatch drops the download.
    /// Returns the plaintext.
    pub fn finish_partial(&self, hash: &str) -> Result<Vec<u8>> {
        let (plain, _) = self.partial_state(hash)?;
        let path = self.partial_path(hash)?;
        if attachment::hash_hex(&plain) != hash {
            remove_if_present(&path)?;
            return Err(Error::BlobCorrupt {
                hash: hash.into(),
                reason: "the downloaded bytes do not match the hash".into(),
            });
        }
        self.write(hash, &plain)?;
        remove_if_present(&path)?;
        Ok(plain)
    }

    /// Drops a download in progress (its bytes no longer fit, or the key changed).
    pub fn remove_partial(&self, hash: &str) -> Result<()> {
        remove_if_present(&self.partial_path(hash)?)
    }

    /// Deletes every file that is not the blob (or the partial download) of one of `keep`: files of forgotten
    /// blobs, of an attach the app was killed in, of the other key of a rekey that was cut, stray temporary files.
    fn sweep(&self, keep: &HashSet<String>) -> Result<u64> {
        let mut names = HashSet::new();
        for hash in keep {
            names.insert(self.keys.file_name(hash)?);
        }
        let mut removed = 0;
        for sub in [self.dir.clone(), self.dir.join("partial")] {
            let Ok(entries) = fs::read_dir(&sub) else { continue };
            for entry in entries.flatten() {
                let is_file = entry.file_type().map(|t| t.is_file()).unwrap_or(false);
                let name = entry.file_name().to_string_lossy().into_owned();
                if is_file && !names.contains(&name) {
                    remove_if_present(&entry.path())?;
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }
}

fn frame_aad(hash: &str, offset: u64) -> Vec<u8> {
    let mut aad = hash.as_bytes().to_vec();
    aad.extend_from_slice(&offset.to_be_bytes());
    aad
}

fn remove_if_present(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
        _ => Ok(()),
    }
}

fn write_atomic(dir: &Path, path: &Path, bytes: &[u8]) -> Result<()> {
    fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".tmp-{}", hex::encode(rand::random::<[u8; 8]>())));
    let written = (|| -> std::io::Result<()> {
        let mut file = fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)?;
        // The rename itself must survive power loss too.
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    Ok(written?)
}

/// The two record kinds that carry attachments.
trait WithAttachments: Record {
    fn attachments_mut(&mut self) -> &mut HashMap<String, AttachmentRef>;
}

impl WithAttachments for Visit {
    fn attachments_mut(&mut self) -> &mut HashMap<String, AttachmentRef> {
        &mut self.attachments
    }
}

impl WithAttachments for Screening {
    fn attachments_mut(&mut self) -> &mut HashMap<String, AttachmentRef> {
        &mut self.attachments
    }
}

/// The references of a document's current state, or none when it is tombstoned or carries no attachments. Reads
/// only the two fields, not the whole record: this runs in the transaction of every write and pulled document.
pub(super) fn live_refs(kind: DocKind, doc: &mut Document) -> Result<Vec<AttachmentRef>> {
    if !matches!(kind, DocKind::Visit | DocKind::Screening) {
        return Ok(Vec::new());
    }
    if doc.read_field::<bool>("deleted")?.unwrap_or(false) {
        return Ok(Vec::new());
    }
    let refs: Option<HashMap<String, AttachmentRef>> = doc.read_field("attachments")?;
    Ok(refs.map(|r| r.into_values().collect()).unwrap_or_default())
}

/// Keeps a document's rows in `attachment_refs` (and the blobs it names in `attachments`) in step with its state;
/// called in the transaction of every write of a document, local or pulled.
pub(super) fn refresh_refs(tx: &Transaction, id: &str, kind: DocKind, doc: &mut Document) -> Result<()> {
    write_refs(tx, id, kind, &live_refs(kind, doc)?)
}

/// `refresh_refs` with the references already read from the document (`live_refs`).
pub(super) fn write_refs(tx: &Transaction, id: &str, kind: DocKind, refs: &[AttachmentRef]) -> Result<()> {
    if !matches!(kind, DocKind::Visit | DocKind::Screening) {
        return Ok(());
    }
    // Cached statements: this runs for every received visit and screening (a whole county on a first sync).
    tx.prepare_cached("DELETE FROM attachment_refs WHERE doc_id = ?1")?.execute([id])?;
    let now = now_ms();
    for r in refs {
        if !attachment::is_valid_hash(&r.hash) {
            continue;
        }
        tx.prepare_cached("INSERT OR IGNORE INTO attachment_refs (doc_id, hash) VALUES (?1, ?2)")?
            .execute(params![id, r.hash])?;
        tx.prepare_cached(
            "INSERT OR IGNORE INTO attachments (hash, media_type, size, kind, local, upload, confirmed, added_ms)
             VALUES (?1, ?2, ?3, ?4, 0, 'none', 0, ?5)",
        )?
        .execute(params![r.hash, r.media_type, r.size as i64, r.kind.code(), now])?;
    }
    Ok(())
}

fn info_from_row(r: &rusqlite::Row) -> rusqlite::Result<BlobInfo> {
    let kind: String = r.get(3)?;
    let upload: String = r.get(5)?;
    Ok(BlobInfo {
        hash: r.get(0)?,
        media_type: r.get(1)?,
        size: r.get::<_, i64>(2)? as u64,
        kind: AttachmentKind::parse(&kind).unwrap_or(AttachmentKind::Document),
        local: r.get(4)?,
        upload: UploadState::parse(&upload),
        confirmed: r.get::<_, i64>(6)? as u64,
    })
}

const INFO_COLUMNS: &str = "hash, media_type, size, kind, local, upload, confirmed";

impl Store {
    /// The size limits and quota attachments are checked against.
    pub fn attachment_limits(&self) -> AttachmentLimits {
        self.limits
    }

    /// Sets the limits (a county may allow larger photos); they apply to later attaches.
    pub fn set_attachment_limits(&mut self, limits: AttachmentLimits) {
        self.limits = limits;
    }

    /// The blob directory, for the sync client and tests.
    pub fn blob_dir(&self) -> &BlobDir {
        &self.blobs
    }

    /// Attaches bytes to a visit or screening: checks them (`attachment::prepare`), the document's count and the
    /// device quota, writes the encrypted blob file, then adds the reference to the document (a change like any
    /// edit) and the attachment row in one transaction. The same bytes attached again, here or to another
    /// document, are stored once. Returns the reference.
    pub fn attach(
        &mut self,
        doc_id: &str,
        bytes: &[u8],
        media_type: &str,
        kind: AttachmentKind,
        caption: &str,
    ) -> Result<AttachmentRef> {
        let reference = attachment::prepare(bytes, media_type, kind, caption, &self.limits)?;
        match self.load_doc(doc_id)?.map(|(k, _)| k) {
            Some(DocKind::Visit) => self.attach_to::<Visit>(doc_id, bytes, reference),
            Some(DocKind::Screening) => self.attach_to::<Screening>(doc_id, bytes, reference),
            Some(other) => {
                Err(Error::invalid("doc_id", &format!("{doc_id} is a {other}: attach to a visit or a screening")))
            }
            None => Err(Error::not_found("document", doc_id)),
        }
    }

    fn attach_to<R: WithAttachments>(
        &mut self,
        doc_id: &str,
        bytes: &[u8],
        reference: AttachmentRef,
    ) -> Result<AttachmentRef> {
        let mut record: R = self.get(doc_id)?;
        if record.is_deleted() {
            return Err(Error::invalid("doc_id", &format!("{doc_id} is deleted")));
        }
        let hash = reference.hash.clone();
        let refs = record.attachments_mut();
        if refs.get(&hash) == Some(&reference) && self.blobs.contains(&hash) {
            return Ok(reference);
        }
        if !refs.contains_key(&hash) && refs.len() >= self.limits.max_per_document as usize {
            return Err(Error::TooManyAttachments { limit: self.limits.max_per_document });
        }
        let known = self.blob_info(&hash)?;
        let already_local = known.as_ref().is_some_and(|b| b.local) && self.blobs.contains(&hash);
        if !already_local {
            let used = self.pending_upload_bytes()?;
            if used + reference.size > self.limits.device_quota {
                return Err(Error::AttachmentQuota { used, size: reference.size, quota: self.limits.device_quota });
            }
            self.blobs.write(&hash, bytes)?;
        }
        refs.insert(hash.clone(), reference.clone());
        let r = reference.clone();
        self.write_with(&record, move |tx| {
            tx.execute(
                "INSERT INTO attachments (hash, media_type, size, kind, local, upload, confirmed, added_ms)
                 VALUES (?1, ?2, ?3, ?4, 1, 'pending', 0, ?5)
                 ON CONFLICT (hash) DO UPDATE SET local = 1,
                    upload = CASE WHEN upload IN ('done', 'broken') THEN upload ELSE 'pending' END",
                params![r.hash, r.media_type, r.size as i64, r.kind.code(), now_ms()],
            )?;
            Ok(())
        })?;
        Ok(reference)
    }

    /// Removes an attachment from a document (a change like any edit); its bytes go once no live document here
    /// refers to them.
    pub fn detach(&mut self, doc_id: &str, hash: &str) -> Result<()> {
        match self.load_doc(doc_id)?.map(|(k, _)| k) {
            Some(DocKind::Visit) => self.detach_from::<Visit>(doc_id, hash)?,
            Some(DocKind::Screening) => self.detach_from::<Screening>(doc_id, hash)?,
            _ => return Err(Error::not_found("document", doc_id)),
        }
        self.sweep_blobs()?;
        Ok(())
    }

    fn detach_from<R: WithAttachments>(&mut self, doc_id: &str, hash: &str) -> Result<()> {
        let mut record: R = self.get(doc_id)?;
        if record.attachments_mut().remove(hash).is_none() {
            return Err(Error::not_found("attachment", hash));
        }
        self.write_with(&record, |_| Ok(()))?;
        Ok(())
    }

    /// The attachments of a document, in the order they were added, with what the device holds of each.
    pub fn attachments(&self, doc_id: &str) -> Result<Vec<Attachment>> {
        let refs = match self.load_doc(doc_id)? {
            Some((DocKind::Visit, doc)) => doc.read::<Visit>()?.attachments,
            Some((DocKind::Screening, doc)) => doc.read::<Screening>()?.attachments,
            Some(_) => HashMap::new(),
            None => return Err(Error::not_found("document", doc_id)),
        };
        let mut out = Vec::with_capacity(refs.len());
        for reference in refs.into_values() {
            let info = self.blob_info(&reference.hash)?;
            let added: i64 = self
                .conn
                .query_row("SELECT added_ms FROM attachments WHERE hash = ?1", [&reference.hash], |r| r.get(0))
                .optional()?
                .unwrap_or(i64::MAX);
            let local = info.as_ref().is_some_and(|i| i.local) && self.blobs.contains(&reference.hash);
            out.push((
                added,
                Attachment {
                    local,
                    upload: info.as_ref().map_or(UploadState::NotNeeded, |i| i.upload),
                    confirmed: info.as_ref().map_or(0, |i| i.confirmed),
                    reference,
                },
            ));
        }
        out.sort_by(|a, b| (a.0, &a.1.reference.hash).cmp(&(b.0, &b.1.reference.hash)));
        Ok(out.into_iter().map(|(_, a)| a).collect())
    }

    /// The bytes of a blob, decrypted and checked against the hash; `None` when they are not on this device.
    pub fn blob(&self, hash: &str) -> Result<Option<Vec<u8>>> {
        if !attachment::is_valid_hash(hash) {
            return Err(attachment::AttachmentError::BadHash.into());
        }
        self.blobs.read(hash)
    }

    /// What the device knows of a blob, if any document here refers to it.
    pub fn blob_info(&self, hash: &str) -> Result<Option<BlobInfo>> {
        Ok(self
            .conn
            .query_row(&format!("SELECT {INFO_COLUMNS} FROM attachments WHERE hash = ?1"), [hash], info_from_row)
            .optional()?)
    }

    /// Bytes of blobs added here that the server does not have yet: what the device quota bounds.
    pub fn pending_upload_bytes(&self) -> Result<u64> {
        Ok(self.conn.query_row(
            "SELECT coalesce(sum(size), 0) FROM attachments WHERE upload = 'pending' AND local = 1",
            [],
            |r| r.get::<_, i64>(0),
        )? as u64)
    }

    /// How many blobs added here wait for upload, and their bytes (for the sync screen).
    pub fn pending_blob_totals(&self) -> Result<(u64, u64)> {
        let (n, bytes) = self.conn.query_row(
            "SELECT count(*), coalesce(sum(size), 0) FROM attachments WHERE upload = 'pending' AND local = 1",
            [],
            |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)),
        )?;
        Ok((n as u64, bytes as u64))
    }

    /// Blobs to upload, oldest first: added here, not yet on the server, and every document that refers to them
    /// acknowledged by the server (the server learns a blob's references from the documents, so blobs go after).
    pub fn pending_uploads(&self) -> Result<Vec<BlobInfo>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {INFO_COLUMNS} FROM attachments a WHERE upload = 'pending' AND local = 1
               AND EXISTS (SELECT 1 FROM attachment_refs r JOIN docs d ON d.id = r.doc_id WHERE r.hash = a.hash)
               AND NOT EXISTS (SELECT 1 FROM attachment_refs r JOIN changes c ON c.doc_id = r.doc_id
                               WHERE r.hash = a.hash AND c.acked = 0)
             ORDER BY added_ms, hash"
        ))?;
        let rows = stmt.query_map([], info_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Blobs referenced by live documents here whose bytes are not on this device; with `helper`, only those of
    /// visits and screenings of households that helper is assigned to (a device's own households).
    pub fn missing_blobs(&self, helper: Option<&str>) -> Result<Vec<BlobInfo>> {
        let own = "AND EXISTS (SELECT 1 FROM attachment_refs r
                     LEFT JOIN ix_visits v ON v.doc_id = r.doc_id
                     LEFT JOIN ix_screenings s ON s.doc_id = r.doc_id
                     JOIN ix_household_helpers h ON h.doc_id = coalesce(v.household_id, s.household_id)
                     WHERE r.hash = a.hash AND h.helper = ?1)";
        let sql = format!(
            "SELECT {INFO_COLUMNS} FROM attachments a WHERE local = 0
               AND EXISTS (SELECT 1 FROM attachment_refs r JOIN docs d ON d.id = r.doc_id WHERE r.hash = a.hash) {}
             ORDER BY added_ms, hash",
            if helper.is_some() { own } else { "" }
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = match helper {
            Some(h) => stmt.query_map([h], info_from_row)?.collect::<rusqlite::Result<Vec<_>>>()?,
            None => stmt.query_map([], info_from_row)?.collect::<rusqlite::Result<Vec<_>>>()?,
        };
        Ok(rows)
    }

    /// Records how many bytes of a blob the server holds (after each chunk), so progress survives a restart.
    pub fn set_blob_confirmed(&self, hash: &str, confirmed: u64) -> Result<()> {
        self.conn.execute("UPDATE attachments SET confirmed = ?2 WHERE hash = ?1", params![hash, confirmed as i64])?;
        Ok(())
    }

    /// Records the end of a blob's upload: `Done` (the server verified it) or `Broken` (it refused the bytes).
    pub fn set_blob_upload(&self, hash: &str, state: UploadState) -> Result<()> {
        let confirmed = if state == UploadState::Done { ", confirmed = size" } else { "" };
        self.conn.execute(
            &format!("UPDATE attachments SET upload = ?2 {confirmed} WHERE hash = ?1"),
            params![hash, state.code()],
        )?;
        Ok(())
    }

    /// Stores a downloaded blob whose bytes were checked against their hash.
    pub fn finish_blob_download(&self, hash: &str) -> Result<Vec<u8>> {
        let plain = self.blobs.finish_partial(hash)?;
        self.conn.execute("UPDATE attachments SET local = 1 WHERE hash = ?1", [hash])?;
        Ok(plain)
    }

    /// Deletes blobs and rows no live document refers to any more (a detached or tombstoned attachment), and
    /// files in the blob directory that belong to no known blob. Returns how many files went.
    pub fn sweep_blobs(&mut self) -> Result<u64> {
        // References of documents no longer on the device (forgotten after leaving its scope) do not count.
        self.conn.execute("DELETE FROM attachment_refs WHERE doc_id NOT IN (SELECT id FROM docs)", [])?;
        // A set-aside record keeps its photos and signatures on the device with it, for the hand-over and for the
        // day it is put back into the queue.
        let set_aside = self.set_aside_blob_hashes()?;
        let gone: Vec<String> = {
            let mut stmt = self.conn.prepare(
                "SELECT hash FROM attachments a WHERE NOT EXISTS (SELECT 1 FROM attachment_refs r WHERE r.hash = a.hash)",
            )?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            rows.filter(|h| h.as_ref().map_or(true, |h: &String| !set_aside.contains(h)))
                .collect::<rusqlite::Result<_>>()?
        };
        for hash in &gone {
            self.conn.execute("DELETE FROM attachments WHERE hash = ?1", [hash])?;
        }
        let keep: HashSet<String> = {
            let mut stmt = self.conn.prepare("SELECT hash FROM attachments")?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        self.blobs.sweep(&keep)
    }

    /// Re-encrypts every local blob under keys derived from `new_key`, before the SQLite key changes; the files
    /// of the old key go after it changed. A rekey cut in between leaves both sets of files: the store opens
    /// with one key, and `sweep_blobs` at open removes the other set.
    pub(super) fn rekey_blobs(&self, new_key: &[u8]) -> Result<BlobDir> {
        let next = self.blobs.with_key(new_key)?;
        let local: Vec<String> = {
            let mut stmt = self.conn.prepare("SELECT hash FROM attachments WHERE local = 1")?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        for hash in &local {
            if let Some(bytes) = self.blobs.read(hash)? {
                next.write(hash, &bytes)?;
            }
            // A download in progress restarts under the new key.
            self.blobs.remove_partial(hash)?;
        }
        Ok(next)
    }

    /// Removes the files of the key a rekey replaced.
    pub(super) fn drop_old_blobs(&self, old: &BlobDir) -> Result<()> {
        let mut stmt = self.conn.prepare("SELECT hash FROM attachments WHERE local = 1")?;
        let hashes = stmt.query_map([], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
        for hash in hashes {
            old.remove(&hash)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
