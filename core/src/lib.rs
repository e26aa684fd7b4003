//! doorstep-core: everything a field phone does, in one crate, exposed to Android and iOS through uniffi.
//!
//! Data flows one way through its modules:
//! - `attachment`: what a valid photo, signature or scanned form is, and its content address;
//! - `model`: typed records, validation and classification (what the user entered, and whether it may be saved);
//! - `doc`: typed records ⇄ Automerge documents, conflicts and field history;
//! - `store`: the encrypted SQLite store: documents, the change log and derived index rows, one transaction a write;
//! - `schedule`: what is due and overdue, from rules that are themselves a document;
//! - `query`: the lists and details the app shows, read from the index rows;
//! - `sync`: the device's side of sync with the server (protocol, client, background engine);
//! - `ffi`, `ffi_sync`, `ffi_attachments`: the uniffi surface, which only converts types and errors.

uniffi::setup_scaffolding!();

#[cfg(target_os = "android")]
pub mod android;
pub mod attachment;
pub mod doc;
pub mod error;
pub mod ffi;
pub mod ffi_attachments;
pub mod ffi_sync;
pub mod model;
pub mod query;
pub mod schedule;
pub mod store;
pub mod sync;

pub use error::{Error, Result};
