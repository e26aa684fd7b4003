//! Settings of a running server, from the command line.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Largest request body accepted by default; a sync push of a long offline stretch fits well within it.
pub const DEFAULT_MAX_BODY: usize = 32 * 1024 * 1024;

/// What `serve` needs to know.
#[derive(Debug, Clone)]
pub struct Config {
    /// Directory holding the database (and nothing else the server writes).
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    /// Largest request body in bytes; larger ones get 413 too_large.
    pub max_body: usize,
}
