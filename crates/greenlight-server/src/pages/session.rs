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

/// The sign-in limits (see [`LoginLimiter`]).
#[derive(Debug, Clone, Copy)]
pub struct LoginLimits {
    /// Failed sign-ins from one source address within `window` before that address is
    /// refused (429) without checking the password.
    pub per_source: usize,
    /// Failed sign-ins on one account within `window` before each further attempt on it is
    /// slowed down.
    pub per_account: usize,
    /// The first slow-down; it doubles with every further failure.
    pub base_delay: Duration,
    /// The longest slow-down.
    pub max_delay: Duration,
    /// How long a failure counts.
    pub window: Duration,
}

impl Default for LoginLimits {
    fn default() -> Self {
        LoginLimits {
            per_source: 50,
            per_account: 5,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
            window: Duration::from_secs(15 * 60),
        }
    }
}

/// What the limiter says about a sign-in attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// The source address failed too often: refuse without checking, try again after this.
    Refuse(Duration),
    /// Check the password after waiting this long (zero when the account is not under
    /// attack). A correct password is never refused for failures others caused: it only
    /// waits, and then signs in.
    Check(Duration),
}

/// The sign-in rate limit, per source address and per account, counted in this instance's
/// memory (a deployment of N instances allows up to N times as many; `docs/web.md` says so).
///
/// Failures from one source address beyond `per_source` are refused outright: that address
/// is the one guessing. Failures on one account beyond `per_account` slow every further
/// attempt on that account down (exponential back-off, capped), wherever it comes from, but
/// never refuse it: someone failing on purpose cannot lock the account's owner out.
#[derive(Debug)]
pub struct LoginLimiter {
    limits: LoginLimits,
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl Default for LoginLimiter {
    fn default() -> Self {
        Self::new(LoginLimits::default())
    }
}

/// Entries kept at most; beyond it, entries without a failure in the window are dropped
/// first, so memory stays bounded under a flood of made-up accounts.
const MAX_KEYS: usize = 100_000;

fn account_key(account: &str) -> String {
    format!("a:{}", account.trim().to_lowercase())
}

fn source_key(source: &str) -> String {
    format!("s:{source}")
}

impl LoginLimiter {
    /// A limiter with the given limits.
    pub fn new(limits: LoginLimits) -> Self {
        Self {
            limits,
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

    fn count(
        map: &mut HashMap<String, VecDeque<Instant>>,
        key: &str,
        window: Duration,
        now: Instant,
    ) -> (usize, Option<Instant>) {
        match map.get_mut(key) {
            Some(list) => {
                Self::prune(list, window, now);
                (list.len(), list.front().copied())
            }
            None => (0, None),
        }
    }

    /// Whether and when a sign-in attempt on `account` from `source` may be checked.
    pub fn gate(&self, source: &str, account: &str, now: Instant) -> Gate {
        let l = self.limits;
        let mut map = self
            .failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (from_source, oldest) = Self::count(&mut map, &source_key(source), l.window, now);
        if from_source >= l.per_source {
            let since = oldest.map(|t| now.duration_since(t)).unwrap_or_default();
            return Gate::Refuse(l.window.saturating_sub(since));
        }
        let (on_account, _) = Self::count(&mut map, &account_key(account), l.window, now);
        if on_account < l.per_account {
            return Gate::Check(Duration::ZERO);
        }
        let doublings = (on_account - l.per_account).min(20) as u32;
        Gate::Check(l.base_delay.saturating_mul(1 << doublings).min(l.max_delay))
    }

    /// Records a failed attempt on `account` from `source`.
    pub fn failed(&self, source: &str, account: &str, now: Instant) {
        let window = self.limits.window;
        let mut map = self
            .failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() >= MAX_KEYS {
            map.retain(|_, list| {
                Self::prune(list, window, now);
                !list.is_empty()
            });
            if map.len() >= MAX_KEYS {
                // Still full of fresh failures: forget the picture rather than grow.
                map.clear();
            }
        }
        for key in [source_key(source), account_key(account)] {
            let list = map.entry(key).or_default();
            list.push_back(now);
            // One address or account never holds more than it takes to decide.
            while list.len() > 1_000 {
                list.pop_front();
            }
        }
    }

    /// Forgets the failures of an account after its owner signed in.
    pub fn succeeded(&self, account: &str) {
        let mut map = self
            .failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.remove(&account_key(account));
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

    fn limits() -> LoginLimits {
        LoginLimits {
            per_source: 3,
            per_account: 2,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(8),
            window: Duration::from_secs(60),
        }
    }

    #[test]
    fn a_guessing_address_is_refused_and_others_are_not() {
        let limiter = LoginLimiter::new(limits());
        let t0 = Instant::now();
        for i in 0..3 {
            limiter.failed("10.0.0.1", &format!("fake{i}@x"), t0);
        }
        assert!(matches!(
            limiter.gate("10.0.0.1", "a@x", t0),
            Gate::Refuse(_)
        ));
        assert_eq!(
            limiter.gate("10.0.0.2", "a@x", t0),
            Gate::Check(Duration::ZERO),
            "another address is unaffected by made-up accounts"
        );
        assert_eq!(
            limiter.gate("10.0.0.1", "a@x", t0 + Duration::from_secs(61)),
            Gate::Check(Duration::ZERO),
            "forgiven after the window"
        );
    }

    #[test]
    fn an_attacked_account_is_slowed_down_never_refused() {
        let limiter = LoginLimiter::new(limits());
        let t0 = Instant::now();
        let mut delays = Vec::new();
        for i in 0..8 {
            // Each failure from another address, as a distributed guesser would.
            limiter.failed(&format!("10.0.1.{i}"), "Victim@x ", t0);
            match limiter.gate("192.0.2.1", "victim@x", t0) {
                Gate::Check(d) => delays.push(d.as_secs()),
                Gate::Refuse(_) => panic!("the owner's address is never refused"),
            }
        }
        assert_eq!(delays, [0, 1, 2, 4, 8, 8, 8, 8], "doubling, capped");
        limiter.succeeded("victim@x");
        assert_eq!(
            limiter.gate("192.0.2.1", "victim@x", t0),
            Gate::Check(Duration::ZERO)
        );
    }
}
