//! The server's blob store on the filesystem: attachment bytes, named by their SHA-256.
//!
//! Layout under the blob directory (`<data>/blobs` unless `serve --blobs DIR`):
//! - `ab/abcdef…` — a complete blob, verified and immutable, in a subdirectory named by the hash's first two
//!   characters so no directory grows too large;
//! - `ab/abcdef….thumb.jpg` — its thumbnail, made on first request (see [`thumbnail`]);
//! - `partial/abcdef…` — an upload in progress: chunks are appended at the offset the server reports and made
//!   durable (fsync) before they are acknowledged, so an upload cut anywhere resumes where it stopped.
//!
//! When the last chunk arrives the whole file's SHA-256 is checked against its name; a mismatch deletes it, a match
//! renames it into place (atomic on one filesystem). Each upload holds an exclusive lock on its partial file while
//! it appends, so two requests — even from two server processes sharing the directory — never interleave bytes.
//! Every hash reaching this module has passed `attachment::is_valid_hash`, so it is safe as a file name.

use crate::storage::{now_ms, AuditEntry, Storage, StorageError};
use doorstep_core::attachment::{self, JPEG, PNG, WEBP};
use sha2::{Digest, Sha256};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Longest side of a thumbnail, in pixels.
pub const THUMB_EDGE: u32 = 240;

/// Why a blob operation did not do what was asked; the HTTP layer maps each to a typed error.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// The chunk does not start where the server's copy ends (or another request is appending right now).
    #[error("upload must continue at byte {received}")]
    Offset { received: u64 },
    /// The complete bytes do not hash to the blob's name; the partial upload was deleted.
    #[error("the uploaded bytes do not match hash {0}")]
    HashMismatch(String),
    /// The chunk would go past the blob's declared size.
    #[error("chunk ends past the blob's size {0}")]
    PastEnd(u64),
    /// The disk failed or is full: retry later.
    #[error("blob store: {0}")]
    Io(#[from] io::Error),
    /// The bytes are not an image this server can make a thumbnail of.
    #[error("cannot make a thumbnail: {0}")]
    Image(String),
}

/// Where an upload stands after a chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    /// More bytes are expected; the server holds this many leading bytes.
    Partial(u64),
    /// This chunk completed the blob; it is verified and stored.
    Stored,
    /// The blob was complete before this request; nothing was written.
    AlreadyComplete,
}

/// A blob file on disk, as garbage collection sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobFile {
    pub hash: String,
    /// Bytes on disk (the blob, or what arrived of a partial upload, plus a thumbnail if any).
    pub bytes: u64,
    pub partial: bool,
}

/// The blob directory.
#[derive(Debug, Clone)]
pub struct BlobStore {
    root: PathBuf,
}

impl BlobStore {
    /// A store rooted at `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn complete_path(&self, hash: &str) -> PathBuf {
        self.root.join(&hash[..2]).join(hash)
    }

    fn partial_dir(&self) -> PathBuf {
        self.root.join("partial")
    }

    fn partial_path(&self, hash: &str) -> PathBuf {
        self.partial_dir().join(hash)
    }

    fn thumb_path(&self, hash: &str) -> PathBuf {
        self.root.join(&hash[..2]).join(format!("{hash}.thumb.jpg"))
    }

    /// Size of the complete blob, if it is stored.
    pub fn complete_size(&self, hash: &str) -> io::Result<Option<u64>> {
        debug_assert!(attachment::is_valid_hash(hash));
        match fs::metadata(self.complete_path(hash)) {
            Ok(m) => Ok(Some(m.len())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// How many leading bytes of the blob the server holds: all of them once complete, else what arrived.
    pub fn received(&self, hash: &str) -> io::Result<u64> {
        if let Some(size) = self.complete_size(hash)? {
            return Ok(size);
        }
        match fs::metadata(self.partial_path(hash)) {
            Ok(m) => Ok(m.len()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(e),
        }
    }

    /// Appends bytes `start..start + chunk.len()` of a blob of `total` bytes; on the last chunk verifies the hash
    /// and stores the blob. Blocking: call it on the blocking pool.
    pub fn append(&self, hash: &str, start: u64, chunk: &[u8], total: u64) -> Result<Appended, BlobError> {
        debug_assert!(attachment::is_valid_hash(hash));
        if self.complete_size(hash)?.is_some() {
            return Ok(Appended::AlreadyComplete);
        }
        let end = start + chunk.len() as u64;
        if end > total {
            return Err(BlobError::PastEnd(total));
        }
        fs::create_dir_all(self.partial_dir())?;
        let path = self.partial_path(hash);
        let mut file = OpenOptions::new().create(true).append(true).read(true).open(&path)?;
        if file.try_lock().is_err() {
            // Another request is appending to this blob now; the device asks where to continue and retries.
            let received = file.metadata()?.len();
            return Err(BlobError::Offset { received });
        }
        // Between opening and locking, a finishing upload may have moved the file into place.
        if self.complete_size(hash)?.is_some() {
            return Ok(Appended::AlreadyComplete);
        }
        let received = file.metadata()?.len();
        if start != received {
            return Err(BlobError::Offset { received });
        }
        if received == 0 {
            // A new file: make its directory entry durable too.
            sync_dir(&self.partial_dir())?;
        }
        file.write_all(chunk)?;
        file.sync_data()?;
        if end < total {
            return Ok(Appended::Partial(end));
        }
        self.store_verified(hash, &path, &mut file, total)
    }

    /// Finishes an upload whose every byte arrived but which was never moved into place: the server stopped between
    /// the last chunk's fsync and the rename, or the rename failed (a full disk). No chunk can finish it — each
    /// would start at `total`, past the last byte — so the upload status request settles it. `None` when there is
    /// nothing to settle (no such partial upload, bytes still missing, or another request holds it).
    pub fn settle(&self, hash: &str, total: u64) -> Result<Option<Appended>, BlobError> {
        debug_assert!(attachment::is_valid_hash(hash));
        if self.complete_size(hash)?.is_some() {
            return Ok(Some(Appended::AlreadyComplete));
        }
        let path = self.partial_path(hash);
        let mut file = match OpenOptions::new().read(true).write(true).open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        if file.try_lock().is_err() {
            return Ok(None);
        }
        if self.complete_size(hash)?.is_some() {
            return Ok(Some(Appended::AlreadyComplete));
        }
        if file.metadata()?.len() != total {
            return Ok(None);
        }
        self.store_verified(hash, &path, &mut file, total).map(Some)
    }

    /// Checks the whole partial file against its hash (a mismatch deletes it) and renames it into place, durably.
    /// The caller holds the file's lock.
    fn store_verified(&self, hash: &str, path: &Path, file: &mut File, total: u64) -> Result<Appended, BlobError> {
        file.seek(SeekFrom::Start(0))?;
        let mut hasher = Sha256::new();
        io::copy(file, &mut hasher)?;
        if hex::encode(hasher.finalize()) != hash {
            fs::remove_file(path)?;
            return Err(BlobError::HashMismatch(hash.to_string()));
        }
        let dest = self.complete_path(hash);
        let dir = dest.parent().unwrap_or(&self.root).to_path_buf();
        fs::create_dir_all(&dir)?;
        fs::rename(path, &dest)?;
        sync_dir(&dir)?;
        sync_dir(&self.partial_dir())?;
        tracing::info!(hash, bytes = total, "blob stored");
        Ok(Appended::Stored)
    }

    /// Bytes `start..=end` of a complete blob.
    pub fn read_range(&self, hash: &str, start: u64, end: u64) -> io::Result<Vec<u8>> {
        let mut file = File::open(self.complete_path(hash))?;
        file.seek(SeekFrom::Start(start))?;
        let mut out = Vec::with_capacity((end + 1 - start) as usize);
        file.take(end + 1 - start).read_to_end(&mut out)?;
        Ok(out)
    }

    /// Every blob file (complete and partial), for garbage collection.
    pub fn list(&self) -> io::Result<Vec<BlobFile>> {
        let mut out = Vec::new();
        let entries = match fs::read_dir(&self.root) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(e),
        };
        for dir in entries {
            let dir = dir?;
            if !dir.file_type()?.is_dir() {
                continue;
            }
            let partial = dir.file_name() == "partial";
            for f in fs::read_dir(dir.path())? {
                let f = f?;
                let name = f.file_name().to_string_lossy().to_string();
                if attachment::is_valid_hash(&name) {
                    let mut bytes = f.metadata()?.len();
                    if !partial {
                        bytes += fs::metadata(self.thumb_path(&name)).map(|m| m.len()).unwrap_or(0);
                    }
                    out.push(BlobFile { hash: name, bytes, partial });
                }
            }
        }
        out.sort_by(|a, b| a.hash.cmp(&b.hash).then(a.partial.cmp(&b.partial)));
        Ok(out)
    }

    /// Deletes a blob's files (complete or partial, and its thumbnail).
    pub fn remove(&self, file: &BlobFile) -> io::Result<()> {
        let remove = |p: PathBuf| match fs::remove_file(p) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        };
        if file.partial {
            remove(self.partial_path(&file.hash))
        } else {
            remove(self.thumb_path(&file.hash))?;
            remove(self.complete_path(&file.hash))
        }
    }

    /// The JPEG thumbnail of a complete JPEG, PNG or WebP blob, made and cached on first request.
    pub fn thumbnail(&self, hash: &str, media_type: &str) -> Result<Vec<u8>, BlobError> {
        let path = self.thumb_path(hash);
        match fs::read(&path) {
            Ok(bytes) => return Ok(bytes),
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e.into()),
            Err(_) => {}
        }
        let bytes = fs::read(self.complete_path(hash))?;
        let thumb = thumbnail(&bytes, media_type)?;
        // A name of its own, so two requests making the same thumbnail never write one file.
        let tmp = path.with_extension(format!("tmp{}-{:016x}", std::process::id(), rand::random::<u64>()));
        fs::write(&tmp, &thumb)?;
        fs::rename(&tmp, &path)?;
        Ok(thumb)
    }
}

/// What a garbage collection found (and, unless a dry run, deleted).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GcReport {
    pub complete: u64,
    pub partial: u64,
    pub bytes: u64,
    /// Blob files kept because a live document refers to them.
    pub kept: u64,
    /// Records of blobs that never arrived and that nothing refers to any more, forgotten.
    pub records: u64,
}

/// Deletes the complete and partial blobs no live document refers to (a tombstoned document's references do not
/// count), logging each, and writes one audit-log entry with the counts. Explicit only: never run by the server
/// on its own. A blob a push references while the collection runs is kept (`Storage::forget_blob` re-checks).
pub fn gc(storage: &dyn Storage, store: &BlobStore, dry_run: bool, by: &str) -> Result<GcReport, GcError> {
    let referenced = storage.referenced_blobs()?;
    let mut report = GcReport::default();
    for file in store.list()? {
        if referenced.contains(&file.hash) {
            report.kept += 1;
            continue;
        }
        if !dry_run {
            if !storage.forget_blob(&file.hash)? {
                report.kept += 1;
                continue;
            }
            store.remove(&file)?;
            tracing::info!(hash = file.hash, bytes = file.bytes, partial = file.partial, "blob deleted");
        }
        if file.partial {
            report.partial += 1;
        } else {
            report.complete += 1;
        }
        report.bytes += file.bytes;
    }
    // Records without bytes: a document dropped an attachment before its upload finished.
    let files: std::collections::HashSet<String> = store.list()?.into_iter().map(|f| f.hash).collect();
    for hash in storage.unreferenced_blob_records()? {
        if files.contains(&hash) || (!dry_run && !storage.forget_blob(&hash)?) {
            continue;
        }
        report.records += 1;
    }
    if !dry_run {
        let detail = format!(
            "deleted {} complete and {} partial blobs, {} bytes; kept {}; forgot {} records without bytes",
            report.complete, report.partial, report.bytes, report.kept, report.records
        );
        storage.audit(&AuditEntry { at_ms: now_ms(), actor: by.into(), action: "blobs.gc".into(), detail })?;
    }
    Ok(report)
}

/// Why a garbage collection stopped (what it deleted before stays deleted and logged).
#[derive(Debug, thiserror::Error)]
pub enum GcError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("blob store: {0}")]
    Io(#[from] io::Error),
}

/// Makes a directory's entries durable (a new or renamed file survives power loss).
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Whether the server makes a real thumbnail of this media type (SVG and PDF get a generic icon instead).
pub fn has_thumbnail(media_type: &str) -> bool {
    [JPEG, PNG, WEBP].contains(&media_type)
}

/// A JPEG at most [`THUMB_EDGE`] pixels on its long side. Decoding is bounded (dimensions and memory), so a
/// hostile image cannot exhaust the server.
pub fn thumbnail(bytes: &[u8], media_type: &str) -> Result<Vec<u8>, BlobError> {
    use image::{ImageFormat, ImageReader, Limits};
    let format = match media_type {
        JPEG => ImageFormat::Jpeg,
        PNG => ImageFormat::Png,
        WEBP => ImageFormat::WebP,
        other => return Err(BlobError::Image(format!("no thumbnail for {other}"))),
    };
    let mut reader = ImageReader::with_format(io::Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(12_000);
    limits.max_image_height = Some(12_000);
    limits.max_alloc = Some(256 * 1024 * 1024);
    reader.limits(limits);
    let image = reader.decode().map_err(|e| BlobError::Image(e.to_string()))?;
    let image = if image.width() > THUMB_EDGE || image.height() > THUMB_EDGE {
        image.thumbnail(THUMB_EDGE, THUMB_EDGE)
    } else {
        image
    };
    // JPEG has no transparency: a signature drawn on a transparent PNG goes onto white paper, not black.
    let rgba = image.into_rgba8();
    let small = image::RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let [r, g, b, a] = rgba.get_pixel(x, y).0;
        let over_white = |c: u8| ((u16::from(c) * u16::from(a) + 255 * (255 - u16::from(a))) / 255) as u8;
        image::Rgb([over_white(r), over_white(g), over_white(b)])
    });
    let mut out = Vec::new();
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80);
    small.write_with_encoder(encoder).map_err(|e| BlobError::Image(e.to_string()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, BlobStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::new(dir.path().join("blobs"));
        (dir, store)
    }

    #[test]
    fn chunks_append_at_the_reported_offset_and_complete_after_the_hash_check() {
        let (_dir, s) = store();
        let bytes: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
        let hash = attachment::hash_hex(&bytes);
        assert_eq!(s.received(&hash).unwrap(), 0);
        assert_eq!(s.append(&hash, 0, &bytes[..400], 1000).unwrap(), Appended::Partial(400));
        assert!(matches!(s.append(&hash, 0, &bytes[..400], 1000), Err(BlobError::Offset { received: 400 })));
        assert_eq!(s.received(&hash).unwrap(), 400);
        assert_eq!(s.append(&hash, 400, &bytes[400..], 1000).unwrap(), Appended::Stored);
        assert_eq!(s.complete_size(&hash).unwrap(), Some(1000));
        assert_eq!(s.append(&hash, 0, &bytes, 1000).unwrap(), Appended::AlreadyComplete);
        assert_eq!(s.read_range(&hash, 10, 19).unwrap(), bytes[10..20]);
        let files = s.list().unwrap();
        assert_eq!(files, vec![BlobFile { hash: hash.clone(), bytes: 1000, partial: false }]);
        s.remove(&files[0]).unwrap();
        assert_eq!(s.received(&hash).unwrap(), 0);
    }

    #[test]
    fn settle_finishes_only_a_partial_upload_holding_every_byte() {
        let (_dir, s) = store();
        let bytes = b"every byte arrived".to_vec();
        let hash = attachment::hash_hex(&bytes);
        assert_eq!(s.settle(&hash, bytes.len() as u64).unwrap(), None, "nothing to settle");
        assert_eq!(s.append(&hash, 0, &bytes[..5], bytes.len() as u64).unwrap(), Appended::Partial(5));
        assert_eq!(s.settle(&hash, bytes.len() as u64).unwrap(), None, "bytes still missing");
        fs::write(s.partial_path(&hash), &bytes).unwrap();
        assert_eq!(s.settle(&hash, bytes.len() as u64).unwrap(), Some(Appended::Stored));
        assert_eq!(s.complete_size(&hash).unwrap(), Some(bytes.len() as u64));
        assert_eq!(s.settle(&hash, bytes.len() as u64).unwrap(), Some(Appended::AlreadyComplete));
        let other = attachment::hash_hex(b"other");
        fs::write(s.partial_path(&other), b"OTHER").unwrap();
        assert!(matches!(s.settle(&other, 5), Err(BlobError::HashMismatch(_))));
        assert_eq!(s.received(&other).unwrap(), 0);
    }

    #[test]
    fn a_mismatching_upload_is_deleted() {
        let (_dir, s) = store();
        let hash = attachment::hash_hex(b"the real bytes");
        assert!(matches!(s.append(&hash, 0, b"other bytes", 11), Err(BlobError::HashMismatch(_))));
        assert_eq!(s.received(&hash).unwrap(), 0);
        assert!(s.list().unwrap().is_empty());
        assert!(matches!(s.append(&hash, 0, b"too long", 3), Err(BlobError::PastEnd(3))));
    }

    #[test]
    fn gc_deletes_only_unreferenced_blobs_and_writes_one_audit_entry() {
        use crate::storage::sqlite::SqliteStorage;
        let (dir, s) = store();
        let storage = SqliteStorage::open(&dir.path().join("db")).unwrap();
        let stray = b"nobody refers to these bytes";
        let hash = attachment::hash_hex(stray);
        s.append(&hash, 0, stray, stray.len() as u64).unwrap();
        let partial = attachment::hash_hex(b"half");
        s.append(&partial, 0, b"ha", 4).unwrap();
        let dry = gc(&storage, &s, true, "test").unwrap();
        assert_eq!(dry, GcReport { complete: 1, partial: 1, bytes: stray.len() as u64 + 2, kept: 0, records: 0 });
        assert_eq!(s.list().unwrap().len(), 2, "a dry run deletes nothing");
        assert!(storage.audit_log(10).unwrap().is_empty());
        let done = gc(&storage, &s, false, "test").unwrap();
        assert_eq!(done, dry);
        assert!(s.list().unwrap().is_empty());
        let log = storage.audit_log(10).unwrap();
        assert_eq!(log.len(), 1);
        assert_eq!((log[0].action.as_str(), log[0].actor.as_str()), ("blobs.gc", "test"));
        assert!(log[0].detail.contains("deleted 1 complete and 1 partial"), "{}", log[0].detail);
    }

    #[test]
    fn thumbnails_are_small_jpegs_and_refuse_what_is_not_an_image() {
        let img = image::RgbImage::from_fn(800, 400, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 90]));
        let mut png = Vec::new();
        img.write_to(&mut io::Cursor::new(&mut png), image::ImageFormat::Png).unwrap();
        let thumb = thumbnail(&png, PNG).unwrap();
        assert_eq!(attachment::sniff_media_type(&thumb), Some(JPEG));
        let decoded = image::load_from_memory(&thumb).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (240, 120));
        assert!(matches!(thumbnail(b"\xff\xd8\xff garbage", JPEG), Err(BlobError::Image(_))));
        // A small transparent signature keeps its size and lands on white.
        let sig = image::RgbaImage::from_fn(100, 40, |x, _| image::Rgba([0, 0, 0, if x == 50 { 255 } else { 0 }]));
        let mut png = Vec::new();
        sig.write_to(&mut io::Cursor::new(&mut png), image::ImageFormat::Png).unwrap();
        let decoded = image::load_from_memory(&thumbnail(&png, PNG).unwrap()).unwrap().into_rgb8();
        assert_eq!(decoded.dimensions(), (100, 40));
        assert!(decoded.get_pixel(10, 10).0.iter().all(|&c| c > 240), "white paper");
        assert!(decoded.get_pixel(50, 10).0.iter().all(|&c| c < 60), "black ink");
        assert!(matches!(thumbnail(b"<svg/>", attachment::SVG), Err(BlobError::Image(_))));
    }
}
