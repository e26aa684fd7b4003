//! Browser sessions and CSRF tokens.
//!
//! A session is a random 32-byte token in an HttpOnly, SameSite=Lax cookie (Secure when the request came over
//! HTTPS, as a TLS proxy says with `X-Forwarded-Proto`); the server keeps only the token's SHA-256. Sessions live
//! in the database (`Storage::session_start`), so every server process on it honours them and a restart signs
//! nobody out; they end after the configured lifetime (`serve --session-hours`, 12 by
//! default: `Config::session_max_age`). Every form carries the session's CSRF token;
//! the login form, made before any session exists, carries a token that must match a cookie set with the form
//! (double submit). The account is read again on every request, so a disabled account's session stops at once.

use crate::storage::{self, now_ms, SharedStorage, StorageError};
use axum::http::header::COOKIE;
use axum::http::HeaderMap;
use std::time::Duration;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "ds_session";
/// Name of the pre-login CSRF cookie.
pub const LOGIN_CSRF_COOKIE: &str = "ds_login_csrf";
/// Name of the language cookie.
pub const LANG_COOKIE: &str = "ds_lang";
/// One signed-in browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub user: String,
    pub csrf: String,
}

/// Starts a session for `user`; returns the token for the cookie. Only the token's SHA-256 is stored; sessions
/// older than `max_age` are dropped on the way.
pub async fn start(storage: &SharedStorage, user: &str, max_age: Duration) -> Result<String, StorageError> {
    let token = random_hex();
    let (key, user, csrf, now) = (digest(&token), user.to_string(), random_hex(), now_ms());
    let expired_before = now.saturating_sub(max_age_ms(max_age));
    storage::run(storage, move |s| s.session_start(&key, &user, &csrf, now, expired_before)).await?;
    Ok(token)
}

/// The live session of a token: none once it is `max_age` old (and it is forgotten then).
pub async fn get(storage: &SharedStorage, token: &str, max_age: Duration) -> Result<Option<Session>, StorageError> {
    let key = digest(token);
    storage::run(storage, move |s| {
        Ok(match s.session(&key)? {
            Some((user, csrf, created)) if now_ms().saturating_sub(created) < max_age_ms(max_age) => {
                Some(Session { user, csrf })
            }
            Some(_) => {
                s.session_end(&key)?;
                None
            }
            None => None,
        })
    })
    .await
}

/// Ends a session.
pub async fn end(storage: &SharedStorage, token: &str) -> Result<(), StorageError> {
    let key = digest(token);
    storage::run(storage, move |s| s.session_end(&key)).await
}

/// Ends every session of an account (it was disabled).
pub async fn end_user(storage: &SharedStorage, user: &str) -> Result<(), StorageError> {
    let user = user.to_string();
    storage::run(storage, move |s| s.sessions_end_user(&user)).await
}

fn max_age_ms(max_age: Duration) -> i64 {
    i64::try_from(max_age.as_millis()).unwrap_or(i64::MAX)
}

/// 32 random bytes, hex.
pub fn random_hex() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

fn digest(token: &str) -> String {
    crate::auth::token_sha256(token)
}

/// A cookie's value from the request headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get_all(COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        (k == name).then(|| v.to_string())
    })
}

/// Whether the browser reached us over HTTPS (directly or through a TLS proxy).
pub fn is_https(headers: &HeaderMap) -> bool {
    headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()).is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, path `/`, Secure over HTTPS; `max_age` None = browser session.
pub fn set_cookie(name: &str, value: &str, max_age: Option<Duration>, secure: bool) -> String {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={}", age.as_secs()));
    }
    if secure {
        c.push_str("; Secure");
    }
    c
}

/// Compares two secrets in time independent of where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, SharedStorage) {
        let dir = tempfile::tempdir().unwrap();
        let s = crate::storage::sqlite::SqliteStorage::open(dir.path()).unwrap();
        (dir, std::sync::Arc::new(s))
    }

    #[tokio::test]
    async fn sessions_start_find_and_end() {
        let (_d, st) = store();
        let day = Duration::from_secs(86_400);
        let t = start(&st, "ann", day).await.unwrap();
        let u = start(&st, "bob", day).await.unwrap();
        let found = get(&st, &t, day).await.unwrap().unwrap();
        assert_eq!(found.user, "ann");
        assert_eq!(found.csrf.len(), 64);
        assert!(get(&st, "nope", day).await.unwrap().is_none());
        end_user(&st, "ann").await.unwrap();
        assert!(get(&st, &t, day).await.unwrap().is_none());
        assert_eq!(get(&st, &u, day).await.unwrap().unwrap().user, "bob", "other accounts keep theirs");
        end(&st, &u).await.unwrap();
        assert!(get(&st, &u, day).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_session_older_than_its_lifetime_is_refused_and_forgotten() {
        let (_d, st) = store();
        let hour = Duration::from_secs(3600);
        let t = start(&st, "ann", hour).await.unwrap();
        assert!(get(&st, &t, hour).await.unwrap().is_some());
        assert!(get(&st, &t, Duration::ZERO).await.unwrap().is_none(), "expired");
        assert!(get(&st, &t, hour).await.unwrap().is_none(), "and gone");
    }

    #[test]
    fn only_the_tokens_digest_is_stored() {
        let (_d, st) = store();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let t = rt.block_on(start(&st, "ann", Duration::from_secs(60))).unwrap();
        assert!(st.session(&t).unwrap().is_none(), "the token itself is no key");
        assert_eq!(st.session(&digest(&t)).unwrap().unwrap().0, "ann");
    }

    #[test]
    fn cookies_are_read_and_written() {
        let mut h = HeaderMap::new();
        h.insert(COOKIE, "a=1; ds_session=abc; b=2".parse().unwrap());
        assert_eq!(cookie(&h, SESSION_COOKIE).as_deref(), Some("abc"));
        assert_eq!(cookie(&h, "c"), None);
        let c = set_cookie("x", "y", None, true);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Lax") && c.ends_with("Secure"));
        assert!(same_secret("abc", "abc") && !same_secret("abc", "abd") && !same_secret("a", "ab"));
    }
}
