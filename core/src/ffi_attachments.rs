//! The attachments part of the uniffi surface: attach a file or bytes to a visit or screening, list, open (fetching
//! when needed), detach, limits, and the network policy of uploads. Each method converts and calls the store
//! (`store::blobs`) or the sync engine (`sync::blobs`); the logic and its tests live there.

use crate::attachment::{self, AttachmentError, AttachmentKind, AttachmentLimits, AttachmentRef};
use crate::error::{DoorstepError, Error};
use crate::ffi::Doorstep;
use crate::store::blobs::Attachment;
use crate::sync::runtime::block_on;
use crate::sync::{NetworkKind, NetworkPolicy, SyncConfig};

type FfiResult<T> = Result<T, DoorstepError>;

impl Doorstep {
    fn lock_store(&self) -> FfiResult<std::sync::MutexGuard<'_, crate::store::Store>> {
        self.store.lock().map_err(|_| DoorstepError::Internal { message: "store lock poisoned".into() })
    }
}

/// The declared media type, or the one the bytes' signature gives when none is declared.
fn media_type_of(bytes: &[u8], declared: Option<String>) -> Result<String, Error> {
    match declared.filter(|m| !m.trim().is_empty()) {
        Some(m) => Ok(m.trim().to_string()),
        None => attachment::sniff_media_type(bytes).map(str::to_string).ok_or_else(|| {
            AttachmentError::ContentMismatch { declared: "(not given)".into(), found: "unknown data".into() }.into()
        }),
    }
}

#[uniffi::export]
impl Doorstep {
    /// Attaches the file at `path` to a visit or screening. `media_type` is sniffed from the bytes when `None`.
    /// A file over the kind's limit is refused before it is read.
    pub fn attach_file(
        &self,
        doc_id: String,
        path: String,
        kind: AttachmentKind,
        caption: String,
        media_type: Option<String>,
    ) -> FfiResult<AttachmentRef> {
        let limit = self.lock_store()?.attachment_limits().max_for(kind);
        let size = std::fs::metadata(&path).map_err(Error::from)?.len();
        if size > limit {
            return Err(Error::from(AttachmentError::TooLarge { kind: kind.code(), size, limit }).into());
        }
        let bytes = std::fs::read(&path).map_err(Error::from)?;
        self.attach_bytes(doc_id, bytes, kind, caption, media_type)
    }

    /// Attaches bytes (a photo the app took and downscaled, a drawn signature) to a visit or screening.
    pub fn attach_bytes(
        &self,
        doc_id: String,
        bytes: Vec<u8>,
        kind: AttachmentKind,
        caption: String,
        media_type: Option<String>,
    ) -> FfiResult<AttachmentRef> {
        let media_type = media_type_of(&bytes, media_type)?;
        Ok(self.lock_store()?.attach(&doc_id, &bytes, &media_type, kind, &caption)?)
    }

    /// The attachments of a visit or screening, with whether each is on the device and uploaded.
    pub fn list_attachments(&self, doc_id: String) -> FfiResult<Vec<Attachment>> {
        Ok(self.lock_store()?.attachments(&doc_id)?)
    }

    /// The bytes of an attachment, downloaded first when they are not on this device (blocks: call it off the UI
    /// thread).
    pub fn open_attachment(&self, hash: String) -> FfiResult<Vec<u8>> {
        if let Some(bytes) = self.lock_store()?.blob(&hash)? {
            return Ok(bytes);
        }
        let engine = self.sync_engine_with(SyncConfig::default())?;
        Ok(block_on(engine.open_attachment(&hash))??)
    }

    /// Removes an attachment from a visit or screening.
    pub fn detach(&self, doc_id: String, hash: String) -> FfiResult<()> {
        Ok(self.lock_store()?.detach(&doc_id, &hash)?)
    }

    /// The size limits and the device quota attachments are checked against.
    pub fn attachment_limits(&self) -> FfiResult<AttachmentLimits> {
        Ok(self.lock_store()?.attachment_limits())
    }

    /// Sets the size limits and the device quota (a county may allow larger photos).
    pub fn set_attachment_limits(&self, limits: AttachmentLimits) -> FfiResult<()> {
        self.lock_store()?.set_attachment_limits(limits);
        Ok(())
    }

    /// Tells the core what network the phone is on and whether the user allows photos over metered data;
    /// signatures upload on any network.
    pub fn set_network(&self, kind: NetworkKind, allow_metered: bool) -> FfiResult<()> {
        self.sync_engine_with(SyncConfig::default())?.set_network(NetworkPolicy { kind, allow_metered });
        Ok(())
    }
}
