//! Sign-in sessions, CSRF tokens and the login rate limit of the pages.
//!
//! A session is a long random secret the store issues and keeps hashed, like an API token
//! (`Store::create_session`); the browser holds it in an `HttpOnly`, `SameSite=Lax` cookie and
//! sign-out revokes it in the database, so every instance of a deployment agrees at once.
//! Every form carries a CSRF token derived from that secret (an HMAC keyed by it), so the token
//! is worth nothing without the cookie and the cookie is worth nothing to a cross-site form.
//! Before anyone signs in, the sign-in form's token is tied the same way to a random
//! pre-session cookie.

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

fn mac(key: &str) -> HmacSha256 {
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(key.as_bytes())
        .expect("HMAC accepts a key of any length");
    mac.update(b"greenlight pages csrf v1");
    mac
}

/// The CSRF token of the forms shown to the holder of `secret` (a session secret, or the
/// pre-session nonce on the sign-in page).
pub fn csrf_token(secret: &str) -> String {
    hex::encode(&mac(secret).finalize().into_bytes()[..20])
}

/// Checks a posted CSRF token against the cookie's secret, in constant time.
pub fn csrf_ok(secret: &str, token: &str) -> bool {
    match hex::decode(token) {
        Ok(bytes) if !secret.is_empty() => {
            mac(secret).verify_truncated_left(&bytes).is_ok() && bytes.len() == 20
        }
        _ => false,
    }
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
        .filter(|v| !v.is_empty())
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
    fn csrf_token_is_bound_to_the_cookie_secret() {
        let token = csrf_token("secret-a");
        assert!(csrf_ok("secret-a", &token));
        assert!(!csrf_ok("secret-b", &token));
        assert!(!csrf_ok("secret-a", ""));
        assert!(!csrf_ok("secret-a", &token[..20]));
        assert!(!csrf_ok("", &csrf_token("")));
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
