//! Mailing links: invitations (`/join/SECRET`) and password resets (`/reset/SECRET`).
//!
//! A link is a credential, so its mail goes straight to SMTP from the request that issued
//! it, after the store's write committed, and never through the events outbox (whose
//! payloads are stored in clear). When mail is not configured, or cannot be sent now, the
//! admin who invited is shown the link once instead ([`Delivery`]). Every mail is counted by
//! [`MailLimiter`], per recipient and per source address, so these forms cannot be used to
//! flood a mailbox.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use greenlight_notify::mail::{LinkMessage, Mail};
use greenlight_store::{IssuedLink, LinkPurpose};
use serde::Serialize;
use url::Url;

use crate::pages::invitations::roles_label;
use crate::state::AppState;

/// How many link mails may go out (see [`MailLimiter`]).
#[derive(Debug, Clone, Copy)]
pub struct MailLimits {
    /// Mails to one address within `window`.
    pub per_address: usize,
    /// Requests from one source address within `window` (counted whether or not a mail
    /// follows, so guessing addresses costs the same as hitting real ones).
    pub per_source: usize,
    /// How long a mail or request counts.
    pub window: Duration,
}

impl Default for MailLimits {
    fn default() -> Self {
        MailLimits {
            per_address: 3,
            per_source: 20,
            window: Duration::from_secs(60 * 60),
        }
    }
}

/// Counts link mails per recipient and requests per source address, in this instance's
/// memory (like the sign-in limits: N instances allow N times as many). A refusal says how
/// long to wait.
#[derive(Debug)]
pub struct MailLimiter {
    limits: MailLimits,
    hits: Mutex<HashMap<String, VecDeque<Instant>>>,
}

/// Entries kept at most; beyond it the stale ones go, then all (memory stays bounded).
const MAX_KEYS: usize = 100_000;

impl MailLimiter {
    /// A limiter with the given limits.
    pub fn new(limits: MailLimits) -> Self {
        MailLimiter {
            limits,
            hits: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one request from `source` (when given) for a mail to `address`; `Err(wait)`
    /// when either is over its limit (nothing is counted then).
    pub fn allow(&self, source: Option<&str>, address: &str, now: Instant) -> Result<(), Duration> {
        let l = self.limits;
        let mut map = self
            .hits
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() >= MAX_KEYS {
            map.retain(|_, list| {
                list.back()
                    .is_some_and(|t| now.duration_since(*t) <= l.window)
            });
            if map.len() >= MAX_KEYS {
                map.clear();
            }
        }
        let address = format!("a:{}", address.trim().to_lowercase());
        let source = source.map(|s| format!("s:{s}"));
        let mut wait = Duration::ZERO;
        for (key, limit) in [
            (Some(&address), l.per_address),
            (source.as_ref(), l.per_source),
        ] {
            let Some(key) = key else { continue };
            if let Some(list) = map.get_mut(key) {
                while list
                    .front()
                    .is_some_and(|t| now.duration_since(*t) > l.window)
                {
                    list.pop_front();
                }
                if list.len() >= limit {
                    let since = list
                        .front()
                        .map(|t| now.duration_since(*t))
                        .unwrap_or_default();
                    wait = wait.max(l.window.saturating_sub(since));
                }
            }
        }
        if !wait.is_zero() {
            return Err(wait);
        }
        for key in std::iter::once(address).chain(source) {
            map.entry(key).or_default().push_back(now);
        }
        Ok(())
    }
}

/// What became of a link's mail: told to the admin who invited (page and API).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Delivery {
    /// The mail was handed to the SMTP server.
    pub mailed: bool,
    /// Why not, when it was not ("mail is not configured on this server (--smtp-url)").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The link, shown once when it was not mailed: give it to the person yourself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// When the link stops working.
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// The public address of a link: `PUBLIC_URL/join/SECRET` or `PUBLIC_URL/reset/SECRET`.
/// Without `--public-url` the link is relative to this machine (`http://127.0.0.1/`), as the
/// notification links are.
pub fn link_url(state: &AppState, issued: &IssuedLink) -> Url {
    let base = state
        .config
        .public_url
        .clone()
        .unwrap_or_else(|| Url::parse("http://127.0.0.1/").expect("a valid URL"));
    let path = match issued.purpose {
        LinkPurpose::Invitation { .. } => format!("join/{}", issued.secret),
        LinkPurpose::PasswordReset => format!("reset/{}", issued.secret),
    };
    // `serve` takes only a root address, so joining keeps it whole.
    base.join(&path).unwrap_or(base)
}

/// The words of a link's mail.
pub fn message(issued: &IssuedLink, link: Url) -> LinkMessage {
    let org = &issued.org_name;
    let roles = roles_label(&issued.roles);
    let inviter = issued.invited_by.clone().unwrap_or_default();
    match issued.purpose {
        LinkPurpose::Invitation { new_person: true } => LinkMessage {
            subject: format!("Greenlight: you are invited to join {org}"),
            paragraphs: vec![
                format!("Hello {},", issued.name),
                format!(
                    "{inviter} added you to {org} on Greenlight, where productions declare and \
                     review their uses of generative AI. Your roles: {roles}."
                ),
                "Follow the link to choose your password (or sign in with your studio's \
                 single sign-on, where it has one)."
                    .to_owned(),
            ],
            action: "Set up your account".to_owned(),
            link,
            expires_at: issued.expires_at,
            ignore: format!(
                "If you did not expect this mail, ignore it: nobody can sign in to the account \
                 without this link, and it expires. Questions go to the admins of {org}."
            ),
        },
        LinkPurpose::Invitation { new_person: false } => LinkMessage {
            subject: format!("Greenlight: {org} invites you"),
            paragraphs: vec![
                format!("Hello {},", issued.name),
                format!(
                    "{inviter} invited you to join {org} on Greenlight as {roles}. Sign in \
                     with your own account, then accept or decline the invitation."
                ),
            ],
            action: "Open the invitation".to_owned(),
            link,
            expires_at: issued.expires_at,
            ignore: "If you do not want to join, decline it or ignore this mail: nothing \
                     changes until you accept."
                .to_owned(),
        },
        LinkPurpose::PasswordReset => LinkMessage {
            subject: format!("Greenlight ({org}): choose a new password"),
            paragraphs: vec![
                format!("Hello {},", issued.name),
                "Someone (we hope you) asked to choose a new password for your Greenlight \
                 account. Choosing one signs you out everywhere else."
                    .to_owned(),
            ],
            action: "Choose a new password".to_owned(),
            link,
            expires_at: issued.expires_at,
            ignore: "If you did not ask for this, ignore this mail: your password stays as it is."
                .to_owned(),
        },
    }
}

/// Mails the link of an admin's invitation (after the write that issued it committed), or
/// says why not and hands the link back to be shown once. Counted per recipient.
pub async fn deliver(state: &AppState, issued: &IssuedLink) -> Delivery {
    let url = link_url(state, issued);
    let not_mailed = |reason: String| Delivery {
        mailed: false,
        reason: Some(reason),
        url: Some(url.to_string()),
        expires_at: issued.expires_at,
    };
    let Some(mailer) = &state.config.notifications.mailer else {
        return not_mailed("mail is not configured on this server (--smtp-url)".into());
    };
    if let Err(wait) = state
        .link_mails
        .allow(None, &issued.email, std::time::Instant::now())
    {
        return not_mailed(format!(
            "{} was sent too many links lately; mail works again in {} minutes",
            issued.email,
            wait.as_secs().div_ceil(60).max(1)
        ));
    }
    let sent = match Mail::link(&message(issued, url.clone()), &issued.email) {
        Ok(mail) => mailer.send(&mail).await,
        Err(e) => Err(e),
    };
    match sent {
        Ok(()) => Delivery {
            mailed: true,
            reason: None,
            url: None,
            expires_at: issued.expires_at,
        },
        Err(e) => {
            tracing::warn!(error = %e, "mailing a link failed");
            not_mailed(format!("the mail could not be sent: {e}"))
        }
    }
}

/// Sends a password-reset link's mail in the background (the answer never waits for it,
/// so its timing tells nothing); failures are logged.
pub fn send_reset_in_background(state: &AppState, email: String) {
    let state = state.clone();
    tokio::spawn(async move {
        let issued = match state.store.request_password_reset(&email).await {
            Ok(Some(issued)) => issued,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, "issuing a reset link failed");
                return;
            }
        };
        let Some(mailer) = state.config.notifications.mailer.clone() else {
            tracing::warn!("a reset link was asked for, but mail is not configured (--smtp-url)");
            return;
        };
        let url = link_url(&state, &issued);
        let sent = match Mail::link(&message(&issued, url), &issued.email) {
            Ok(mail) => mailer.send(&mail).await,
            Err(e) => Err(e),
        };
        if let Err(e) = sent {
            tracing::warn!(error = %e, "mailing a reset link failed");
        }
    });
}

/// A reset request's address, checked and lower-cased; `Err` says what is wrong with the
/// `email` field.
pub fn checked_email(email: &str) -> Result<String, &'static str> {
    let email = email.trim();
    if email.is_empty() {
        return Err("enter the address of your account");
    }
    if !email.contains('@') || email.chars().count() > 254 || email.chars().any(char::is_control) {
        return Err("this is not an email address");
    }
    Ok(email.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter() -> MailLimiter {
        MailLimiter::new(MailLimits {
            per_address: 2,
            per_source: 3,
            window: Duration::from_secs(60),
        })
    }

    #[test]
    fn one_address_gets_only_so_many_mails_from_anywhere() {
        let l = limiter();
        let t0 = Instant::now();
        assert!(l.allow(Some("10.0.0.1"), "A@x.example", t0).is_ok());
        assert!(l.allow(Some("10.0.0.2"), "a@x.example ", t0).is_ok());
        let wait = l.allow(Some("10.0.0.3"), "a@x.example", t0).unwrap_err();
        assert_eq!(wait, Duration::from_secs(60));
        assert!(l.allow(Some("10.0.0.3"), "b@x.example", t0).is_ok());
        assert!(
            l.allow(
                Some("10.0.0.4"),
                "a@x.example",
                t0 + Duration::from_secs(61)
            )
            .is_ok(),
            "forgiven after the window"
        );
    }

    #[test]
    fn one_source_asks_only_so_often_whatever_the_address() {
        let l = limiter();
        let t0 = Instant::now();
        for i in 0..3 {
            assert!(l.allow(Some("10.0.0.1"), &format!("p{i}@x"), t0).is_ok());
        }
        assert!(l.allow(Some("10.0.0.1"), "p9@x", t0).is_err());
        assert!(l.allow(Some("10.0.0.2"), "p9@x", t0).is_ok());
    }

    #[test]
    fn addresses_are_checked_and_named() {
        assert_eq!(checked_email(" A@B.example ").unwrap(), "a@b.example");
        assert_eq!(
            checked_email("").unwrap_err(),
            "enter the address of your account"
        );
        assert_eq!(
            checked_email("nobody").unwrap_err(),
            "this is not an email address"
        );
        assert!(checked_email(&format!("{}@x", "a".repeat(260))).is_err());
    }
}
