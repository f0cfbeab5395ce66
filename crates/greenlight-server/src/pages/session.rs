//! Sign-in sessions, CSRF tokens and the login rate limit of the pages.
//!
//! A session is a cookie the server signs (HMAC-SHA-256) with a key every instance of a
//! deployment derives from the same secret, so any instance accepts it and the server keeps no
//! session state of its own (see `docs/decisions/0300-page-sessions.md`). The cookie is
//! `HttpOnly`, `SameSite=Lax` and `Path=/`; it carries the user id, when it was issued and a
//! random nonce. Every form carries a CSRF token derived from that nonce, so a token is worth
//! nothing without the cookie and the cookie is worth nothing to a cross-site form post.
//!
//! Passwords are hashed with argon2 (`argon2id`, the crate's default parameters).

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "gl_session";
/// The cookie that ties the sign-in form's CSRF token to a browser before anyone signs in.
pub const PRESESSION_COOKIE: &str = "gl_pre";
/// How long a session lasts from sign-in.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 3600);

type HmacSha256 = Hmac<Sha256>;

/// The key that signs session cookies and CSRF tokens.
#[derive(Clone)]
pub struct SessionKey([u8; 32]);

impl std::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKey(..)")
    }
}

impl SessionKey {
    /// Derives the key from a deployment secret (every instance given the same secret accepts
    /// the same sessions). The derivation is domain-separated, so the secret's other uses never
    /// produce a valid session MAC.
    pub fn derive(secret: &[u8]) -> Self {
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(secret)
            .expect("HMAC accepts a key of any length");
        mac.update(b"greenlight pages session key v1");
        Self(mac.finalize().into_bytes().into())
    }

    fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(&self.0)
            .expect("HMAC accepts a key of any length");
        for part in parts {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }

    /// Issues a session cookie value for a user at `now` (seconds since the epoch).
    pub fn issue(&self, user_id: &str, now: i64) -> String {
        let nonce: [u8; 16] = rand::random();
        let nonce = hex::encode(nonce);
        let body = format!("{}.{now}.{nonce}", hex::encode(user_id.as_bytes()));
        let mac = hex::encode(self.mac(&[b"session", body.as_bytes()]));
        format!("{body}.{mac}")
    }

    /// Checks a session cookie value: the signature and the age. Returns the session.
    pub fn open(&self, value: &str, now: i64) -> Option<Session> {
        let (body, mac) = value.rsplit_once('.')?;
        let given = hex::decode(mac).ok()?;
        let mut check = <HmacSha256 as KeyInit>::new_from_slice(&self.0)
            .expect("HMAC accepts a key of any length");
        for part in [b"session".as_slice(), body.as_bytes()] {
            check.update(&(part.len() as u64).to_be_bytes());
            check.update(part);
        }
        // verify_slice compares in constant time.
        check.verify_slice(&given).ok()?;
        let mut parts = body.split('.');
        let user = String::from_utf8(hex::decode(parts.next()?).ok()?).ok()?;
        let issued: i64 = parts.next()?.parse().ok()?;
        let nonce = parts.next()?.to_owned();
        let age = now - issued;
        if !(0..=SESSION_LIFETIME.as_secs() as i64).contains(&age) {
            return None;
        }
        Some(Session {
            user_id: user,
            issued,
            nonce,
        })
    }

    /// The CSRF token for forms shown within a session (or before one, for the pre-session
    /// nonce of the sign-in form).
    pub fn csrf_token(&self, nonce: &str) -> String {
        hex::encode(&self.mac(&[b"csrf", nonce.as_bytes()])[..20])
    }

    /// Checks a posted CSRF token against the nonce, in constant time.
    pub fn csrf_ok(&self, nonce: &str, token: &str) -> bool {
        let expected = self.csrf_token(nonce);
        expected.len() == token.len()
            && expected
                .bytes()
                .zip(token.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }
}

/// A signed-in session, as read from its cookie.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub user_id: String,
    pub issued: i64,
    pub nonce: String,
}

/// A fresh random nonce for the pre-session cookie.
pub fn new_nonce() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

/// The `Set-Cookie` value of a cookie the pages set: HttpOnly, SameSite=Lax, Path=/.
/// `Secure` is added when the deployment is served over HTTPS (`secure`).
pub fn cookie(name: &str, value: &str, max_age: Option<Duration>, secure: bool) -> String {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={}", age.as_secs()));
    }
    if secure {
        c.push_str("; Secure");
    }
    c
}

/// The `Set-Cookie` value that removes a cookie.
pub fn expired_cookie(name: &str) -> String {
    format!("{name}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0")
}

/// Reads one cookie from the request's `Cookie` headers.
pub fn read_cookie(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// Hashes a password with argon2id and a random salt (PHC string format).
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    use argon2::password_hash::PasswordHasher;
    let salt: [u8; 16] = rand::random();
    let hash: argon2::password_hash::phc::PasswordHash =
        argon2::Argon2::default().hash_password_with_salt(password.as_bytes(), &salt)?;
    Ok(hash.to_string())
}

/// Checks a password against a PHC string; false for a malformed hash too.
pub fn verify_password(password: &str, phc: &str) -> bool {
    use argon2::password_hash::PasswordVerifier;
    match argon2::password_hash::phc::PasswordHash::new(phc) {
        Ok(hash) => argon2::Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok(),
        Err(_) => false,
    }
}

/// The sign-in rate limit: at most `per_account` failed attempts per account name and
/// `overall` failed attempts in all within `window`, counted in this instance's memory (so a
/// deployment of N instances allows up to N times as many; `docs/web.md` says so).
#[derive(Debug)]
pub struct LoginLimiter {
    per_account: usize,
    overall: usize,
    window: Duration,
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl Default for LoginLimiter {
    fn default() -> Self {
        Self::new(5, 200, Duration::from_secs(15 * 60))
    }
}

const ALL: &str = "\u{0}all";

impl LoginLimiter {
    /// A limiter with the given budgets.
    pub fn new(per_account: usize, overall: usize, window: Duration) -> Self {
        Self {
            per_account,
            overall,
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn prune(list: &mut VecDeque<Instant>, window: Duration, now: Instant) {
        while list
            .front()
            .is_some_and(|t| now.duration_since(*t) > window)
        {
            list.pop_front();
        }
    }

    /// Whether a sign-in attempt for `account` may be checked now; when not, how long to wait.
    pub fn check(&self, account: &str, now: Instant) -> Result<(), Duration> {
        let mut map = self
            .failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let key = account.trim().to_lowercase();
        for (k, budget) in [(key.as_str(), self.per_account), (ALL, self.overall)] {
            if let Some(list) = map.get_mut(k) {
                Self::prune(list, self.window, now);
                if list.len() >= budget {
                    let oldest = *list.front().expect("a full list has a first entry");
                    return Err(self.window.saturating_sub(now.duration_since(oldest)));
                }
            }
        }
        Ok(())
    }

    /// Records a failed attempt.
    pub fn failed(&self, account: &str, now: Instant) {
        let mut map = self
            .failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() > 100_000 {
            // Bounded memory: forget the oldest picture rather than grow without end.
            map.clear();
        }
        let key = account.trim().to_lowercase();
        map.entry(key).or_default().push_back(now);
        map.entry(ALL.to_owned()).or_default().push_back(now);
    }

    /// Forgets the failures of an account after a successful sign-in.
    pub fn succeeded(&self, account: &str) {
        let mut map = self
            .failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.remove(&account.trim().to_lowercase());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_cookie_opens_only_with_its_key_and_unaltered() {
        let key = SessionKey::derive(b"secret");
        let value = key.issue("user-1", 1_000);
        let session = key.open(&value, 1_100).expect("fresh cookie opens");
        assert_eq!(session.user_id, "user-1");
        assert!(SessionKey::derive(b"other").open(&value, 1_100).is_none());
        let forged = value.replacen(&hex::encode("user-1"), &hex::encode("user-2"), 1);
        assert!(key.open(&forged, 1_100).is_none());
        assert!(key.open("garbage", 1_100).is_none());
    }

    #[test]
    fn a_session_expires() {
        let key = SessionKey::derive(b"secret");
        let value = key.issue("u", 0);
        assert!(
            key.open(&value, SESSION_LIFETIME.as_secs() as i64 + 1)
                .is_none()
        );
    }

    #[test]
    fn csrf_token_is_bound_to_the_session_nonce() {
        let key = SessionKey::derive(b"secret");
        let token = key.csrf_token("nonce-a");
        assert!(key.csrf_ok("nonce-a", &token));
        assert!(!key.csrf_ok("nonce-b", &token));
        assert!(!key.csrf_ok("nonce-a", ""));
    }

    #[test]
    fn passwords_verify_against_their_hash_only() {
        let hash = hash_password("correct horse").expect("hashing works");
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong", &hash));
        assert!(!verify_password("correct horse", "not a hash"));
    }

    #[test]
    fn the_limiter_refuses_after_the_budget_and_forgives_after_the_window() {
        let limiter = LoginLimiter::new(2, 100, Duration::from_secs(60));
        let t0 = Instant::now();
        assert!(limiter.check("A@x", t0).is_ok());
        limiter.failed("a@x", t0);
        limiter.failed("a@x ", t0);
        assert!(limiter.check("a@x", t0).is_err());
        assert!(
            limiter.check("b@x", t0).is_ok(),
            "other accounts unaffected"
        );
        assert!(limiter.check("a@x", t0 + Duration::from_secs(61)).is_ok());
    }
}
