//! The device home: a directory holding the encrypted store, its key and the device name.
//!
//! On a phone the 32-byte store key lives in Android Keystore or the iOS Keychain. On a desktop the CLI keeps it
//! in the file `key` (mode 0600, readable by its owner only) — the stand-in for the keystore: whoever can read that
//! file can read the store, exactly as whoever can unlock the phone's keystore can.

use crate::fail::{CliError, CliResult};
use doorstep_core::ffi::Doorstep;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const KEY_FILE: &str = "key";
const DEVICE_FILE: &str = "device";
const STORE_FILE: &str = "store.db";

/// A device home directory.
pub struct Home {
    pub dir: PathBuf,
}

impl Home {
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    /// Creates the home, a random key (0600) and the store. Refuses to overwrite an existing key.
    pub fn init(&self, device: Option<&str>) -> CliResult<String> {
        fs::create_dir_all(&self.dir).map_err(|e| CliError::io(&self.dir, e))?;
        let key_path = self.dir.join(KEY_FILE);
        if key_path.exists() {
            return Err(CliError::usage(format!(
                "{} is already initialised (its key exists); use another --home / 该目录已初始化",
                self.dir.display()
            )));
        }
        let key: [u8; 32] = rand::random();
        write_private(&key_path, hex(&key).as_bytes())?;
        let device = match device {
            Some(d) if !d.trim().is_empty() => d.trim().to_string(),
            _ => format!("cli-{}", &hex(&rand::random::<[u8; 4]>())),
        };
        fs::write(self.dir.join(DEVICE_FILE), &device).map_err(|e| CliError::io(&self.dir.join(DEVICE_FILE), e))?;
        self.open()?;
        Ok(device)
    }

    /// Opens the store with the key kept in the home.
    pub fn open(&self) -> CliResult<Arc<Doorstep>> {
        let key_path = self.dir.join(KEY_FILE);
        let key_hex = fs::read_to_string(&key_path).map_err(|_| {
            CliError::usage(format!(
                "{} is not a Doorstep home (no key file): run `doorstep --home {} init` first / 请先运行 init",
                self.dir.display(),
                self.dir.display()
            ))
        })?;
        let key = unhex(key_hex.trim()).filter(|k| k.len() == 32).ok_or_else(|| {
            CliError::usage(format!("{} must hold 64 hex digits / 密钥文件格式错误", key_path.display()))
        })?;
        let device = fs::read_to_string(self.dir.join(DEVICE_FILE)).unwrap_or_else(|_| "cli".into());
        let store = self.dir.join(STORE_FILE);
        Ok(Doorstep::open(store.to_string_lossy().into_owned(), key, device.trim().to_string())?)
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> CliResult<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| CliError::io(path, e))?;
    file.write_all(bytes).and_then(|_| file.sync_all()).map_err(|e| CliError::io(path, e))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| s.get(i..i + 2).and_then(|b| u8::from_str_radix(b, 16).ok())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_makes_a_private_key_and_refuses_a_second_time() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::new(dir.path().join("h"));
        assert_eq!(home.init(Some("phone-1")).unwrap(), "phone-1");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(home.dir.join(KEY_FILE)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(home.init(None).is_err());
        home.open().unwrap();
        assert!(Home::new(dir.path().join("nothing")).open().is_err());
    }
}
