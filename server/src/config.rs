//! Settings of a running server, from the command line.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Largest request body accepted by default; a sync push of a long offline stretch fits well within it.
pub const DEFAULT_MAX_BODY: usize = 32 * 1024 * 1024;

/// How long a web session lasts after sign-in unless `serve --session-hours` says otherwise: a working day.
pub const DEFAULT_SESSION_MAX_AGE: Duration = Duration::from_secs(12 * 3600);

/// What `serve` needs to know.
#[derive(Debug, Clone)]
pub struct Config {
    /// Directory holding the database (and nothing else the server writes).
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    /// Largest request body in bytes; larger ones get 413 too_large.
    pub max_body: usize,
    /// How long a supervisors' page session lasts after sign-in; afterwards it is refused and the browser signs
    /// in again.
    pub session_max_age: Duration,
    /// Directory of attachment bytes (`<data>/blobs` unless `serve --blobs DIR`); shared storage when several
    /// server processes share one PostgreSQL database.
    pub blobs_dir: PathBuf,
    /// Largest blob accepted in an upload (`serve --max-blob`), by default the largest attachment kind's limit.
    pub max_blob: u64,
    /// The longest inspector grant (互查) the grants page accepts, in days (`--max-grant-days`).
    pub max_grant_days: u32,
    /// The last day sync protocol version 1 is served (`serve --protocol-v1-until`); `None`: no end. After it, a
    /// device that has not been updated is answered `426 update_required` with the date in the message.
    pub protocol_v1_until: Option<chrono::NaiveDate>,
}

impl Config {
    /// The default blob directory for a data directory.
    pub fn default_blobs_dir(data_dir: &std::path::Path) -> PathBuf {
        data_dir.join("blobs")
    }
}

/// The last day sync protocol version 1 is served unless `serve --protocol-v1-until` says otherwise: time for
/// every phone in a county to be updated after version 2 reached the app stores.
pub const DEFAULT_PROTOCOL_V1_UNTIL: &str = "2027-06-30";

/// [`DEFAULT_PROTOCOL_V1_UNTIL`] as a date.
pub fn default_protocol_v1_until() -> Option<chrono::NaiveDate> {
    chrono::NaiveDate::parse_from_str(DEFAULT_PROTOCOL_V1_UNTIL, "%Y-%m-%d").ok()
}

/// The largest blob a server accepts unless `serve --max-blob` says otherwise.
pub fn default_max_blob() -> u64 {
    doorstep_core::attachment::AttachmentLimits::default().max_any()
}
