//! Passwords (argon2id), device tokens (random, only their SHA-256 stored) and the login attempt limiter.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Hashes a password with argon2id and a random salt, as a PHC string.
pub fn hash_password(password: &str) -> Result<String, String> {
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>()).map_err(|e| e.to_string())?;
    Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(|e| e.to_string())
}

/// Whether `password` matches the stored hash; a malformed hash never matches.
pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// Spends the same work as a real verification, for unknown accounts, so timing does not tell which names exist.
pub fn verify_nobody(password: &str) {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let hash = DUMMY.get_or_init(|| hash_password("no such account").unwrap_or_default());
    let _ = verify_password(hash, password);
}

/// A new device token (32 random bytes, hex) and its SHA-256 (hex), which is all the server keeps.
pub fn new_token() -> (String, String) {
    let bytes: [u8; 32] = rand::random();
    let token = hex::encode(bytes);
    let digest = token_sha256(&token);
    (token, digest)
}

/// SHA-256 of a token as sent, hex.
pub fn token_sha256(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Failed attempts allowed before a key is slowed down.
const FREE_FAILURES: u32 = 5;
/// Failed attempts allowed from one address (many users may share a township's connection) before slowing down.
const FREE_FAILURES_PER_ADDRESS: u32 = 30;
/// The first wait after the free failures; it doubles with each further failure, up to `MAX_WAIT`.
const FIRST_WAIT: Duration = Duration::from_secs(30);
const MAX_WAIT: Duration = Duration::from_secs(15 * 60);
/// Entries kept at most; the oldest are forgotten first when full.
const MAX_ENTRIES: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
}

/// Slows password guessing per account and per address: after a few failures, each further attempt must wait a
/// growing time since the last failure, or it is refused with 429 before the password is even checked.
///
/// Made with [`Limiter::shared`], the failures live in the database, so every server process on it (several behind
/// a load balancer over PostgreSQL) counts the same failures; should the database not answer, the process's own
/// memory keeps counting. `Limiter::default()` counts in memory only.
#[derive(Default)]
pub struct Limiter {
    entries: Mutex<HashMap<String, Failures>>,
    store: Option<crate::storage::SharedStorage>,
}

impl Limiter {
    /// A limiter whose counts live in `storage` (see the type's comment).
    pub fn shared(storage: crate::storage::SharedStorage) -> Self {
        Self { entries: Mutex::default(), store: Some(storage) }
    }

    /// How long the caller must still wait before trying this account from this address, if at all.
    pub async fn check(&self, user: &str, address: &str) -> Option<Duration> {
        if let Some(store) = &self.store {
            let keys = vec![account_key(user), address_key(address)];
            match crate::storage::run(store, move |s| s.login_failures(&keys)).await {
                Ok(rows) => {
                    let now = wall_ms();
                    return rows
                        .iter()
                        .filter_map(|(key, count, last_ms)| {
                            let free = if key.starts_with("a:") { FREE_FAILURES_PER_ADDRESS } else { FREE_FAILURES };
                            let elapsed = Duration::from_millis(now.saturating_sub(*last_ms).max(0) as u64);
                            remaining_after(*count, elapsed, free)
                        })
                        .max();
                }
                Err(e) => tracing::warn!("login failures unreadable, counting in memory: {e}"),
            }
        }
        self.wait(user, address)
    }

    /// Records a failed attempt.
    pub async fn record_failure(&self, user: &str, address: &str) {
        self.failed(user, address);
        if let Some(store) = &self.store {
            let keys = vec![account_key(user), address_key(address)];
            let forgive = MAX_WAIT.as_millis() as i64;
            if let Err(e) = crate::storage::run(store, move |s| s.login_failed(&keys, wall_ms(), forgive)).await {
                tracing::warn!("could not record a failed login in the database: {e}");
            }
        }
    }

    /// Forgets the account's failures after a successful login.
    pub async fn record_success(&self, user: &str) {
        self.succeeded(user);
        if let Some(store) = &self.store {
            let key = account_key(user);
            if let Err(e) = crate::storage::run(store, move |s| s.login_succeeded(&key)).await {
                tracing::warn!("could not clear failed logins in the database: {e}");
            }
        }
    }

    /// How long the caller must still wait before trying this account from this address, if at all.
    pub fn wait(&self, user: &str, address: &str) -> Option<Duration> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        [(account_key(user), FREE_FAILURES), (address_key(address), FREE_FAILURES_PER_ADDRESS)]
            .iter()
            .filter_map(|(k, free)| entries.get(k).and_then(|f| remaining(f, *free, now)))
            .max()
    }

    /// Records a failed attempt.
    pub fn failed(&self, user: &str, address: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, f| now.duration_since(f.last) < MAX_WAIT);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        for key in [account_key(user), address_key(address)] {
            let f = entries.entry(key).or_insert(Failures { count: 0, last: now });
            // A quiet period longer than the longest wait forgives old failures.
            if now.duration_since(f.last) > MAX_WAIT {
                f.count = 0;
            }
            f.count += 1;
            f.last = now;
        }
    }

    /// Forgets the account's failures after a successful login.
    pub fn succeeded(&self, user: &str) {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).remove(&account_key(user));
    }
}

fn account_key(user: &str) -> String {
    format!("u:{user}")
}

fn address_key(address: &str) -> String {
    format!("a:{address}")
}

fn remaining(f: &Failures, free: u32, now: Instant) -> Option<Duration> {
    remaining_after(f.count, now.duration_since(f.last), free)
}

/// The wait left after `count` failures, the last `elapsed` ago.
fn remaining_after(count: u32, elapsed: Duration, free: u32) -> Option<Duration> {
    if count < free {
        return None;
    }
    let doublings = (count - free).min(10);
    let wait = FIRST_WAIT.saturating_mul(1 << doublings).min(MAX_WAIT);
    (elapsed < wait).then(|| wait - elapsed)
}

/// The wall clock in ms: shared failures are compared across processes, which share no `Instant`.
fn wall_ms() -> i64 {
    crate::storage::now_ms()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_and_tokens_hash() {
        let h = hash_password("secret").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password(&h, "secret"));
        assert!(!verify_password(&h, "Secret"));
        assert!(!verify_password("garbage", "secret"));
        let (token, digest) = new_token();
        assert_eq!(token.len(), 64);
        assert_eq!(token_sha256(&token), digest);
        assert_ne!(new_token().0, token);
    }

    #[test]
    fn the_limiter_slows_an_account_after_a_few_failures() {
        let l = Limiter::default();
        for _ in 0..FREE_FAILURES {
            assert!(l.wait("ann", "1.2.3.4").is_none());
            l.failed("ann", "1.2.3.4");
        }
        assert!(l.wait("ann", "5.6.7.8").is_some(), "per account, from any address");
        assert!(l.wait("bob", "5.6.7.8").is_none());
        l.succeeded("ann");
        assert!(l.wait("ann", "5.6.7.8").is_none());
    }

    #[test]
    fn the_limiter_slows_an_address_guessing_many_accounts() {
        let l = Limiter::default();
        for i in 0..FREE_FAILURES_PER_ADDRESS {
            l.failed(&format!("user{i}"), "9.9.9.9");
        }
        assert!(l.wait("someone-else", "9.9.9.9").is_some());
        assert!(l.wait("someone-else", "8.8.8.8").is_none());
    }
}
