//! Browser sessions and CSRF tokens.
//!
//! A session is a random 32-byte token in an HttpOnly, SameSite=Lax cookie (Secure when the request came over
//! HTTPS, as a TLS proxy says with `X-Forwarded-Proto`); the server keeps only the token's SHA-256. Sessions live
//! in memory (a restart signs everyone out) and end after the configured lifetime (`serve --session-hours`, 12 by
//! default: `Config::session_max_age`). Every form carries the session's CSRF token;
//! the login form, made before any session exists, carries a token that must match a cookie set with the form
//! (double submit). The account is read again on every request, so a disabled account's session stops at once.

use axum::http::header::COOKIE;
use axum::http::HeaderMap;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "ds_session";
/// Name of the pre-login CSRF cookie.
pub const LOGIN_CSRF_COOKIE: &str = "ds_login_csrf";
/// Name of the language cookie.
pub const LANG_COOKIE: &str = "ds_lang";
/// Most sessions kept; the oldest go first.
const MAX_SESSIONS: usize = 10_000;

/// One signed-in browser.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: String,
    pub csrf: String,
    created: Instant,
}

/// Every live session, keyed by the SHA-256 of its token.
#[derive(Debug, Default)]
pub struct Sessions {
    map: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    /// Starts a session for `user`; returns the token for the cookie. Sessions older than `max_age` are dropped
    /// first when the table is full.
    pub fn start(&self, user: &str, max_age: Duration) -> String {
        let token = random_hex();
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_SESSIONS {
            map.retain(|_, s| s.created.elapsed() < max_age);
            if map.len() >= MAX_SESSIONS {
                map.clear();
            }
        }
        map.insert(digest(&token), Session { user: user.to_string(), csrf: random_hex(), created: Instant::now() });
        token
    }

    /// The live session of a token: none once it is `max_age` old (and it is forgotten then).
    pub fn get(&self, token: &str, max_age: Duration) -> Option<Session> {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let key = digest(token);
        match map.get(&key) {
            Some(s) if s.created.elapsed() < max_age => Some(s.clone()),
            Some(_) => {
                map.remove(&key);
                None
            }
            None => None,
        }
    }

    /// Ends a session.
    pub fn end(&self, token: &str) {
        self.map.lock().unwrap_or_else(|p| p.into_inner()).remove(&digest(token));
    }

    /// Ends every session of an account (it was disabled).
    pub fn end_user(&self, user: &str) {
        self.map.lock().unwrap_or_else(|p| p.into_inner()).retain(|_, s| s.user != user);
    }
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

    #[test]
    fn sessions_start_find_and_end() {
        let s = Sessions::default();
        let day = Duration::from_secs(86_400);
        let t = s.start("ann", day);
        assert_eq!(s.get(&t, day).unwrap().user, "ann");
        assert!(s.get("nope", day).is_none());
        s.end_user("ann");
        assert!(s.get(&t, day).is_none());
    }

    #[test]
    fn a_session_older_than_its_lifetime_is_refused_and_forgotten() {
        let s = Sessions::default();
        let t = s.start("ann", Duration::from_secs(3600));
        assert!(s.get(&t, Duration::from_secs(3600)).is_some());
        assert!(s.get(&t, Duration::ZERO).is_none(), "expired");
        assert!(s.get(&t, Duration::from_secs(3600)).is_none(), "and gone");
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
