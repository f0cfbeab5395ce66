//! The dispatcher: sends the outbox's due deliveries (mail over SMTP, signed webhooks) and
//! records each attempt, with back-off and jitter, until delivered or dead; runs the scheduled
//! pass that raises time-driven events; and the daily digest. Runs inside `serve`, on every
//! instance: claims are leases, so instances share the work and a crash loses nothing.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use greenlight_notify::event::{Event, EventKind};
use greenlight_notify::mail::{Mail, Mailer, MessageText};
use greenlight_notify::retry::Backoff;
use greenlight_notify::seal::SealKey;
use greenlight_notify::webhook::{Secret, Sender, SenderOptions, Target, slack_body};
use greenlight_store::UserId;
use greenlight_store::outbox::{Claimed, EventRecord, Recipient};
use hmac::{KeyInit, Mac};
use url::Url;

use crate::state::AppState;

/// How notifications go out from this instance.
#[derive(Clone)]
pub struct Notifications {
    /// SMTP (`--smtp-url`, `--mail-from`); none: no mail is sent (nor queued).
    pub mailer: Option<Arc<Mailer>>,
    /// The key that seals webhook secrets at rest; also keys the unsubscribe links.
    pub seal: Arc<SealKey>,
    /// Posts webhooks (no redirects, 10 s timeout, 256 KiB bodies).
    pub sender: Arc<Sender>,
    /// `--webhook-allow-private`: plain http, loopback and private addresses allowed.
    pub allow_private: bool,
    /// The retry schedule.
    pub backoff: Backoff,
    /// How long the dispatcher sleeps when nothing is due.
    pub poll: Duration,
    /// How long a claim holds a delivery before another instance may take it.
    pub lease: chrono::Duration,
    /// How often the scheduled pass runs.
    pub schedule_every: Duration,
    /// Deliveries claimed at a time.
    pub batch: i64,
    /// Sends in flight at once.
    pub concurrency: usize,
}

impl std::fmt::Debug for Notifications {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifications")
            .field("mail", &self.mailer.is_some())
            .field("allow_private", &self.allow_private)
            .field("backoff", &self.backoff)
            .finish_non_exhaustive()
    }
}

impl Default for Notifications {
    fn default() -> Self {
        Notifications {
            mailer: None,
            seal: Arc::new(SealKey::generate()),
            sender: Arc::new(
                Sender::new(SenderOptions::default()).expect("the default webhook client builds"),
            ),
            allow_private: false,
            backoff: Backoff::default(),
            poll: Duration::from_millis(500),
            lease: greenlight_store::outbox::DEFAULT_LEASE,
            schedule_every: Duration::from_secs(60 * 60),
            batch: 50,
            concurrency: 8,
        }
    }
}

/// Starts the dispatcher; it runs until the task is aborted.
pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let n = state.config.notifications.clone();
        let mut next_schedule = tokio::time::Instant::now();
        loop {
            if tokio::time::Instant::now() >= next_schedule {
                match state.store.run_schedule(Utc::now().date_naive()).await {
                    Ok(0) => {}
                    Ok(raised) => tracing::info!(raised, "scheduled events raised"),
                    Err(e) => tracing::warn!(error = %e, "the scheduled pass failed"),
                }
                next_schedule = tokio::time::Instant::now() + n.schedule_every;
            }
            match state.store.claim_digests(500, n.lease).await {
                Ok(claimed) if !claimed.is_empty() => send_digests(&state, claimed).await,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "claiming digests failed"),
            }
            match state.store.claim_deliveries(n.batch, n.lease).await {
                Ok(claimed) if claimed.is_empty() => tokio::time::sleep(n.poll).await,
                Ok(claimed) => {
                    let mut set = tokio::task::JoinSet::new();
                    for c in claimed {
                        while set.len() >= n.concurrency.max(1) {
                            set.join_next().await;
                        }
                        let state = state.clone();
                        set.spawn(async move { send_one(&state, c).await });
                    }
                    while set.join_next().await.is_some() {}
                }
                Err(e) => {
                    tracing::warn!(error = %e, "claiming deliveries failed");
                    tokio::time::sleep(n.poll.max(Duration::from_secs(1))).await;
                }
            }
        }
    })
}

/// Sends the claimed digest deliveries: one mail per person listing their events, each
/// delivery recorded with the mail's fate.
async fn send_digests(state: &AppState, claimed: Vec<Claimed>) {
    let n = &state.config.notifications;
    let mut by_person: std::collections::BTreeMap<String, Vec<Claimed>> = Default::default();
    for c in claimed {
        by_person
            .entry(c.delivery.target.clone())
            .or_default()
            .push(c);
    }
    for (_, group) in by_person {
        let Some(first) = group.first() else { continue };
        let sent: Result<(), Failure> = match (&first.recipient, &n.mailer) {
            (Recipient::Email { address, user, .. }, Some(mailer)) => {
                let events: Vec<Event> = group
                    .iter()
                    .filter_map(|c| to_event(&c.event).ok())
                    .collect();
                let texts: Vec<MessageText> =
                    events.iter().map(|e| message_text(state, e)).collect();
                let entries: Vec<(&Event, &MessageText)> =
                    events.iter().zip(texts.iter()).collect();
                // One link for the digest: it turns digests of the first event's type off.
                let kind = events
                    .first()
                    .map(|e| e.kind)
                    .unwrap_or(EventKind::DeclarationSubmitted);
                let unsubscribe = unsubscribe_url(state, user.as_ref(), kind);
                match Mail::digest(Utc::now().date_naive(), &entries, address, &unsubscribe) {
                    Ok(mail) => mailer.send(&mail).await.map_err(|e| Failure {
                        retryable: e.retryable(),
                        message: e.to_string(),
                    }),
                    Err(e) => Err(Failure {
                        message: e.to_string(),
                        retryable: false,
                    }),
                }
            }
            (Recipient::Email { .. }, None) => Err(Failure {
                message: "mail is not configured on this server (--smtp-url)".into(),
                retryable: true,
            }),
            _ => Err(Failure {
                message: "the recipient no longer exists".into(),
                retryable: false,
            }),
        };
        for c in &group {
            let recorded = match &sent {
                Ok(()) => state.store.delivery_succeeded(&c.delivery.id).await,
                Err(f) => {
                    let attempts = u32::try_from(c.delivery.attempts + 1).unwrap_or(u32::MAX);
                    let next = f
                        .retryable
                        .then(|| {
                            n.backoff.next_attempt(
                                attempts,
                                c.delivery.created_at,
                                Utc::now(),
                                &mut rand::thread_rng(),
                            )
                        })
                        .flatten();
                    state
                        .store
                        .delivery_failed(&c.delivery.id, &f.message, next)
                        .await
                }
            };
            if let Err(e) = recorded {
                tracing::warn!(delivery = %c.delivery.id, error = %e, "recording a digest delivery failed");
            }
        }
    }
}

/// Why a try failed, and whether another may succeed.
struct Failure {
    message: String,
    retryable: bool,
}

async fn send_one(state: &AppState, c: Claimed) {
    let n = &state.config.notifications;
    let id = c.delivery.id.clone();
    let outcome = match to_event(&c.event) {
        Ok(event) => attempt(state, &c, &event).await,
        Err(message) => Err(Failure {
            message,
            retryable: false,
        }),
    };
    let recorded = match outcome {
        Ok(()) => {
            state.metrics.notifications_delivered.inc();
            state.store.delivery_succeeded(&id).await
        }
        Err(f) => {
            let attempts = u32::try_from(c.delivery.attempts + 1).unwrap_or(u32::MAX);
            let next = if f.retryable {
                n.backoff.next_attempt(
                    attempts,
                    c.delivery.created_at,
                    Utc::now(),
                    &mut rand::thread_rng(),
                )
            } else {
                None
            };
            tracing::info!(delivery = %id, error = %f.message, dead = next.is_none(), "a delivery failed");
            state.metrics.notifications_failed.inc();
            state.store.delivery_failed(&id, &f.message, next).await
        }
    };
    if let Err(e) = recorded {
        // The lease runs out and the delivery is tried again: a duplicate, never a loss.
        tracing::warn!(delivery = %id, error = %e, "recording a delivery attempt failed");
    }
}

fn to_event(r: &EventRecord) -> Result<Event, String> {
    Ok(Event {
        id: uuid::Uuid::parse_str(&r.id).map_err(|e| format!("bad event id {:?}: {e}", r.id))?,
        kind: EventKind::from_str(r.kind.as_str())
            .map_err(|e| format!("bad event type {}: {e}", r.kind.as_str()))?,
        at: r.at,
        studio: r.studio_id.0.clone(),
        production: r.production_id.as_ref().map(|p| p.0.clone()),
        data: r.data.clone(),
    })
}

async fn attempt(state: &AppState, c: &Claimed, event: &Event) -> Result<(), Failure> {
    let n = &state.config.notifications;
    match &c.recipient {
        Recipient::Gone => Err(Failure {
            message: "the recipient no longer exists".into(),
            retryable: false,
        }),
        Recipient::Webhook {
            url,
            format,
            secrets,
            ..
        } => {
            // Checked again at every delivery: DNS may have changed since registration.
            let target = Target::check(url, n.allow_private)
                .await
                .map_err(|e| Failure {
                    message: e.to_string(),
                    retryable: false,
                })?;
            let mut keys = Vec::with_capacity(secrets.len());
            for sealed in secrets {
                let plain = n.seal.open(sealed).map_err(|e| Failure {
                    message: format!("the webhook's secret cannot be opened: {e}"),
                    retryable: false,
                })?;
                let text = String::from_utf8(plain).map_err(|_| Failure {
                    message: "the webhook's secret is not text".into(),
                    retryable: false,
                })?;
                keys.push(Secret::parse(&text).map_err(|e| Failure {
                    message: format!("the webhook's secret: {e}"),
                    retryable: false,
                })?);
            }
            let body = if format == "slack" {
                slack_body(event, &message_text(state, event))
            } else {
                event.webhook_body()
            };
            let body = serde_json::to_vec(&body).map_err(|e| Failure {
                message: e.to_string(),
                retryable: false,
            })?;
            n.sender
                .deliver(&target, event, &body, &keys)
                .await
                .map(|_| ())
                .map_err(|e| Failure {
                    retryable: e.retryable(),
                    message: e.to_string(),
                })
        }
        Recipient::Email { address, user, .. } => {
            let Some(mailer) = &n.mailer else {
                return Err(Failure {
                    message: "mail is not configured on this server (--smtp-url)".into(),
                    retryable: true,
                });
            };
            let text = message_text(state, event);
            let unsubscribe = unsubscribe_url(state, user.as_ref(), event.kind);
            let mail = Mail::event(event, &text, address, &unsubscribe).map_err(|e| Failure {
                message: e.to_string(),
                retryable: false,
            })?;
            mailer.send(&mail).await.map_err(|e| Failure {
                retryable: e.retryable(),
                message: e.to_string(),
            })
        }
    }
}

/// The public address, or a loopback placeholder when none is configured (links then only
/// work on this machine; `serve` asks for `--public-url` with `--smtp-url`).
fn base(state: &AppState) -> Url {
    state
        .config
        .public_url
        .clone()
        .unwrap_or_else(|| Url::parse("http://127.0.0.1/").expect("a valid URL"))
}

/// The words of an event for a person.
pub fn message_text(state: &AppState, event: &Event) -> MessageText {
    let d = &event.data;
    let s = |k: &str| d.get(k).and_then(|v| v.as_str()).map(str::to_owned);
    let list = |k: &str| -> Vec<String> {
        d.get(k)
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let outcome = s("outcome").map(|o| outcome_in_words(&o).to_owned());
    let use_ref = s("use_ref");
    let subject = match event.kind {
        EventKind::DeclarationSubmitted => format!(
            "Declared: {} ({})",
            use_ref.clone().unwrap_or_default(),
            outcome.clone().unwrap_or_default()
        ),
        EventKind::DeclarationRevised => format!(
            "Revised: {} ({})",
            use_ref.clone().unwrap_or_default(),
            outcome.clone().unwrap_or_default()
        ),
        EventKind::DeclarationDecided => format!(
            "Decision on {}: {}",
            use_ref.clone().unwrap_or_default(),
            s("action").unwrap_or_default().replace('_', " ")
        ),
        EventKind::DeclarationSuspended => format!(
            "Approval suspended: {}",
            use_ref.clone().unwrap_or_default()
        ),
        EventKind::ConsentExpiring => format!(
            "Consent expiring: {} in {} days",
            s("performer").unwrap_or_default(),
            d.get("days_left").and_then(|v| v.as_i64()).unwrap_or(0)
        ),
        EventKind::ConsentRevoked => {
            format!("Consent revoked: {}", s("performer").unwrap_or_default())
        }
        EventKind::ObligationDue => format!(
            "Due before release: {} on {}",
            s("kind").unwrap_or_default(),
            use_ref.clone().unwrap_or_default()
        ),
        EventKind::ScanCompleted => format!("Delivery scan: {}", s("verdict").unwrap_or_default()),
        EventKind::ScanFailed => "Delivery scan failed".to_owned(),
    };
    let mut reasons = list("reasons");
    if let Some(r) = s("reason") {
        reasons.push(r);
    }
    if let Some(t) = s("text") {
        reasons.push(t);
    }
    let link = match s("url") {
        Some(u) => Url::parse(&u)
            .or_else(|_| base(state).join(&u))
            .unwrap_or_else(|_| base(state)),
        None => base(state),
    };
    MessageText {
        subject,
        production: s("production_title"),
        use_ref,
        outcome,
        reasons,
        blockers: list("blockers"),
        link,
    }
}

fn outcome_in_words(o: &str) -> &'static str {
    match o {
        "notify" => "notified, no review needed",
        "review" => "needs review",
        "escalate" => "escalated",
        "written_approval" => "needs written approval",
        _ => "outcome unknown",
    }
}

type Hmac = hmac::Hmac<sha2::Sha256>;

/// The HMAC of an unsubscribe link for `user` and `kind`, before finishing.
fn unsubscribe_hmac(state: &AppState, user: &str, kind: &str) -> Hmac {
    // A key of its own, derived from the secrets key: a link never reveals anything sealed.
    let key = <sha2::Sha256 as sha2::Digest>::digest(format!(
        "greenlight-unsubscribe\n{}",
        state.config.notifications.seal.to_hex()
    ));
    let mut mac = <Hmac as KeyInit>::new_from_slice(&key).expect("HMAC takes any key length");
    mac.update(format!("unsubscribe\n{user}\n{kind}").as_bytes());
    mac
}

fn unsubscribe_mac(state: &AppState, user: &str, kind: &str) -> String {
    hex::encode(unsubscribe_hmac(state, user, kind).finalize().into_bytes())
}

/// `/unsubscribe/{user}/{kind}/{mac}`: one click turns that kind of mail off for that person
/// (RFC 8058). A group address has no person to turn off: its link says so.
pub fn unsubscribe_url(state: &AppState, user: Option<&UserId>, kind: EventKind) -> Url {
    let user = user.map(|u| u.0.as_str()).unwrap_or("group");
    let mac = unsubscribe_mac(state, user, kind.as_str());
    base(state)
        .join(&format!("/unsubscribe/{user}/{}/{mac}", kind.as_str()))
        .unwrap_or_else(|_| base(state))
}

/// Whether `mac` is the signature of an unsubscribe link for `user` and `kind` (compared in
/// constant time by the HMAC crate).
pub fn unsubscribe_valid(state: &AppState, user: &str, kind: &str, mac: &str) -> bool {
    hex::decode(mac).is_ok_and(|given| {
        unsubscribe_hmac(state, user, kind)
            .verify_slice(&given)
            .is_ok()
    })
}
