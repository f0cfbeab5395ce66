//! The outbox: every change someone should hear about writes an event in the same transaction
//! as the change, with one delivery per recipient (an email address, a webhook). A change that
//! commits always has its events; one that rolls back has none. The dispatcher (in the server)
//! claims due deliveries, sends them, and records each attempt here.
//!
//! Deliveries are at least once: a claim is a lease (`claimed_until`), so a dispatcher that
//! dies mid-send leaves its deliveries to be claimed again when the lease runs out, and a
//! receiver may see an event twice, always with the same id. On PostgreSQL claims skip rows
//! another instance holds (`FOR UPDATE SKIP LOCKED`), so several instances do not send one
//! delivery at once.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::any::AnyRow;
use utoipa::ToSchema;

use crate::db::{parse_opt_ts, parse_ts, ts};
use crate::model::{OrgId, Page, PageRequest, Principal, ProductionId, Role, UserId};
use crate::ops::{get_i, get_os, get_s};
use crate::writer::WriteCtx;
use crate::{Backend, Result, Store, StoreError};

/// What happened: the event types of notifications and webhooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub enum EventKind {
    #[serde(rename = "declaration.submitted")]
    DeclarationSubmitted,
    #[serde(rename = "declaration.revised")]
    DeclarationRevised,
    #[serde(rename = "declaration.decided")]
    DeclarationDecided,
    #[serde(rename = "declaration.suspended")]
    DeclarationSuspended,
    #[serde(rename = "consent.expiring")]
    ConsentExpiring,
    #[serde(rename = "consent.revoked")]
    ConsentRevoked,
    #[serde(rename = "obligation.due")]
    ObligationDue,
    #[serde(rename = "scan.completed")]
    ScanCompleted,
    #[serde(rename = "scan.failed")]
    ScanFailed,
}

impl EventKind {
    /// Every kind, in the order the documentation lists them.
    pub const ALL: [EventKind; 9] = [
        EventKind::DeclarationSubmitted,
        EventKind::DeclarationRevised,
        EventKind::DeclarationDecided,
        EventKind::DeclarationSuspended,
        EventKind::ConsentExpiring,
        EventKind::ConsentRevoked,
        EventKind::ObligationDue,
        EventKind::ScanCompleted,
        EventKind::ScanFailed,
    ];

    /// The wire name, e.g. `declaration.submitted`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::DeclarationSubmitted => "declaration.submitted",
            EventKind::DeclarationRevised => "declaration.revised",
            EventKind::DeclarationDecided => "declaration.decided",
            EventKind::DeclarationSuspended => "declaration.suspended",
            EventKind::ConsentExpiring => "consent.expiring",
            EventKind::ConsentRevoked => "consent.revoked",
            EventKind::ObligationDue => "obligation.due",
            EventKind::ScanCompleted => "scan.completed",
            EventKind::ScanFailed => "scan.failed",
        }
    }

    /// The kind of a wire name.
    pub fn parse(s: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Who hears of an event by email.
#[derive(Debug, Clone)]
pub(crate) enum Audience {
    /// The production's studio contacts (submissions, revisions, suspensions, scans, due
    /// obligations).
    Contacts(ProductionId),
    /// The people of the organisation that declared the use (decisions).
    Organisation(OrgId),
    /// The studio's legal (consents).
    Legal,
}

/// An event raised by a write, stored when its batch commits.
#[derive(Debug, Clone)]
pub(crate) struct PendingEvent {
    pub id: String,
    pub kind: EventKind,
    pub studio: OrgId,
    pub production: Option<ProductionId>,
    pub data: Value,
    pub audience: Audience,
}

/// An event as stored.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct EventRecord {
    /// UUID v7: unique, time-ordered, the same on every delivery.
    pub id: String,
    #[serde(rename = "type")]
    pub kind: EventKind,
    #[serde(rename = "timestamp")]
    pub at: DateTime<Utc>,
    #[schema(value_type = String)]
    pub studio_id: OrgId,
    #[schema(value_type = Option<String>)]
    pub production_id: Option<ProductionId>,
    #[schema(value_type = Object)]
    pub data: Value,
}

/// Where a delivery goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    Webhook,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Not yet sent, or to be tried again at `next_at` (then `attempts` > 0, a failed try).
    Pending,
    Delivered,
    /// Given up after the back-off schedule; an admin may retry it.
    Dead,
}

impl DeliveryState {
    fn parse(s: &str) -> Result<DeliveryState> {
        match s {
            "pending" => Ok(DeliveryState::Pending),
            "delivered" => Ok(DeliveryState::Delivered),
            "dead" => Ok(DeliveryState::Dead),
            other => Err(StoreError::Backend(format!(
                "bad delivery state in database: {other:?}"
            ))),
        }
    }
}

/// One delivery of an event to one recipient.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Delivery {
    pub id: String,
    pub event_id: String,
    pub event_type: EventKind,
    pub channel: Channel,
    /// A webhook's id, or `user:ID` / `address:EMAIL` for mail.
    pub target: String,
    /// Waits for the recipient's daily digest.
    pub digest: bool,
    pub state: DeliveryState,
    /// `failed` in words: a try failed and another is scheduled.
    pub failed: bool,
    pub attempts: i64,
    pub next_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// A delivery the dispatcher holds, with what it needs to send it.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub delivery: Delivery,
    pub event: EventRecord,
    pub recipient: Recipient,
}

/// Whom a claimed delivery goes to.
#[derive(Debug, Clone)]
pub enum Recipient {
    /// A person (their unsubscribe link names them) or a group address.
    Email {
        address: String,
        name: String,
        user: Option<UserId>,
    },
    /// A webhook: its URL and format, and its secrets as stored (sealed), the current one
    /// first.
    Webhook {
        id: String,
        url: String,
        format: String,
        secrets: Vec<String>,
    },
    /// The recipient no longer exists (a deleted webhook, a removed person).
    Gone,
}

/// How often a person hears of an event kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Immediate,
    Digest,
    Off,
}

impl Mode {
    fn as_str(self) -> &'static str {
        match self {
            Mode::Immediate => "immediate",
            Mode::Digest => "digest",
            Mode::Off => "off",
        }
    }
}

impl WriteCtx {
    /// Raises an event about a declaration (its summary as it is after the change), told to
    /// `audience`; `extra` adds fields to the payload.
    pub(crate) fn declaration_event(
        &mut self,
        kind: EventKind,
        studio: &OrgId,
        s: &crate::model::DeclarationSummary,
        extra: Value,
        audience: Audience,
    ) {
        let data = declaration_data(self.public_url.as_deref(), s, extra);
        self.event(kind, studio, Some(&s.production_id), data, audience);
    }

    /// Raises an event with this write: stored, with its deliveries, when the batch commits,
    /// and dropped with the write when it fails.
    pub(crate) fn event(
        &mut self,
        kind: EventKind,
        studio: &OrgId,
        production: Option<&ProductionId>,
        data: Value,
        audience: Audience,
    ) {
        self.events.push(PendingEvent {
            id: uuid::Uuid::now_v7().to_string(),
            kind,
            studio: studio.clone(),
            production: production.cloned(),
            data,
            audience,
        });
    }
}

/// Stores the batch's events and one delivery per recipient: every webhook of the studio
/// subscribed to the kind, and, when mail is configured, every person the audience names (by
/// their preference) and the production's group address.
pub(crate) async fn flush_events(ctx: &mut WriteCtx, mail: bool) -> Result<()> {
    let events = std::mem::take(&mut ctx.events);
    let now = ts(ctx.now);
    let mut hooks: std::collections::HashMap<OrgId, Vec<(String, Vec<String>)>> =
        Default::default();
    for e in events {
        sqlx::query(
            "INSERT INTO events (id, kind, at, studio_id, production_id, data) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(e.id.clone())
        .bind(e.kind.as_str())
        .bind(now.clone())
        .bind(e.studio.0.clone())
        .bind(e.production.as_ref().map(|p| p.0.clone()))
        .bind(e.data.to_string())
        .execute(&mut ctx.conn)
        .await?;
        // A batch's events mostly belong to one studio: its webhooks are read once.
        if !hooks.contains_key(&e.studio) {
            let rows = sqlx::query(
                "SELECT id, events FROM webhooks WHERE studio_id = $1 AND deleted_at IS NULL ORDER BY id",
            )
            .bind(e.studio.0.clone())
            .fetch_all(&mut ctx.conn)
            .await?;
            let mut list = Vec::with_capacity(rows.len());
            for h in &rows {
                let kinds: Vec<String> = crate::db::parse_json(&get_s(h, "events")?)?;
                list.push((get_s(h, "id")?, kinds));
            }
            hooks.insert(e.studio.clone(), list);
        }
        let mut targets: Vec<(Channel, String, bool)> = hooks[&e.studio]
            .iter()
            .filter(|(_, kinds)| kinds.iter().any(|k| k == "*" || k == e.kind.as_str()))
            .map(|(id, _)| (Channel::Webhook, id.clone(), false))
            .collect();
        if mail {
            let (people, group) = audience_of(ctx, &e).await?;
            for user in people {
                let mode = sqlx::query(
                    "SELECT mode FROM notification_preferences WHERE user_id = $1 AND kind = $2",
                )
                .bind(user.0.clone())
                .bind(e.kind.as_str())
                .fetch_optional(&mut ctx.conn)
                .await?
                .map(|r| get_s(&r, "mode"))
                .transpose()?;
                match mode.as_deref() {
                    Some("off") => {}
                    Some("digest") => targets.push((Channel::Email, format!("user:{user}"), true)),
                    _ => targets.push((Channel::Email, format!("user:{user}"), false)),
                }
            }
            if let Some(g) = group {
                targets.push((Channel::Email, format!("address:{g}"), false));
            }
        }
        for (channel, target, digest) in targets {
            // A digest delivery waits for the next morning's digest.
            let next_at = if digest {
                ts(next_digest_time(ctx.now))
            } else {
                now.clone()
            };
            sqlx::query(
                "INSERT INTO deliveries (id, event_id, studio_id, channel, target, digest, state, attempts, next_at, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $7, $8)",
            )
            .bind(uuid::Uuid::now_v7().to_string())
            .bind(e.id.clone())
            .bind(e.studio.0.clone())
            .bind(match channel {
                Channel::Email => "email",
                Channel::Webhook => "webhook",
            })
            .bind(target)
            .bind(i64::from(digest))
            .bind(next_at)
            .bind(now.clone())
            .execute(&mut ctx.conn)
            .await?;
        }
    }
    Ok(())
}

/// The people (and a group address) an event's audience names.
async fn audience_of(
    ctx: &mut WriteCtx,
    e: &PendingEvent,
) -> Result<(Vec<UserId>, Option<String>)> {
    match &e.audience {
        Audience::Contacts(p) => {
            let row = sqlx::query("SELECT contacts FROM productions WHERE id = $1")
                .bind(p.0.clone())
                .fetch_optional(&mut ctx.conn)
                .await?;
            let contacts: crate::model::Contacts = match row {
                Some(r) => crate::db::parse_json(&get_s(&r, "contacts")?)?,
                None => Default::default(),
            };
            Ok((contacts.people, contacts.group))
        }
        Audience::Organisation(org) => {
            let rows = sqlx::query(
                "SELECT DISTINCT user_id FROM memberships WHERE org_id = $1 AND role = 'partner' ORDER BY user_id",
            )
            .bind(org.0.clone())
            .fetch_all(&mut ctx.conn)
            .await?;
            Ok((
                rows.iter()
                    .map(|r| get_s(r, "user_id").map(UserId))
                    .collect::<Result<_>>()?,
                None,
            ))
        }
        Audience::Legal => {
            let rows = sqlx::query(
                "SELECT DISTINCT user_id FROM memberships WHERE org_id = $1 AND role = 'legal' ORDER BY user_id",
            )
            .bind(e.studio.0.clone())
            .fetch_all(&mut ctx.conn)
            .await?;
            Ok((
                rows.iter()
                    .map(|r| get_s(r, "user_id").map(UserId))
                    .collect::<Result<_>>()?,
                None,
            ))
        }
    }
}

const DELIVERY_COLUMNS: &str = "d.id, d.event_id, d.channel, d.target, d.digest, d.state, d.attempts, d.next_at, \
     d.last_error, d.delivered_at, d.created_at, e.kind AS event_kind";

fn delivery_from_row(r: &AnyRow) -> Result<Delivery> {
    let kind = get_s(r, "event_kind")?;
    let state = DeliveryState::parse(&get_s(r, "state")?)?;
    let attempts = get_i(r, "attempts")?;
    Ok(Delivery {
        id: get_s(r, "id")?,
        event_id: get_s(r, "event_id")?,
        event_type: EventKind::parse(&kind)
            .ok_or_else(|| StoreError::Backend(format!("bad event kind in database: {kind:?}")))?,
        channel: if get_s(r, "channel")? == "webhook" {
            Channel::Webhook
        } else {
            Channel::Email
        },
        target: get_s(r, "target")?,
        digest: get_i(r, "digest")? != 0,
        failed: state == DeliveryState::Pending && attempts > 0,
        state,
        attempts,
        next_at: parse_ts(&get_s(r, "next_at")?)?,
        last_error: get_os(r, "last_error")?,
        delivered_at: parse_opt_ts(get_os(r, "delivered_at")?)?,
        created_at: parse_ts(&get_s(r, "created_at")?)?,
    })
}

fn event_from_row(r: &AnyRow) -> Result<EventRecord> {
    let kind = get_s(r, "kind")?;
    Ok(EventRecord {
        id: get_s(r, "id")?,
        kind: EventKind::parse(&kind)
            .ok_or_else(|| StoreError::Backend(format!("bad event kind in database: {kind:?}")))?,
        at: parse_ts(&get_s(r, "at")?)?,
        studio_id: OrgId(get_s(r, "studio_id")?),
        production_id: get_os(r, "production_id")?.map(ProductionId),
        data: crate::db::parse_json(&get_s(r, "data")?)?,
    })
}

/// Which deliveries a list shows.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct DeliveryFilter {
    /// `pending`, `failed`, `delivered` or `dead`.
    pub state: Option<String>,
    /// One webhook's deliveries.
    pub webhook: Option<String>,
}

/// The hour (UTC) the daily digest goes out.
pub const DIGEST_HOUR: u32 = 7;

/// The next digest time after `now`: today's at [`DIGEST_HOUR`], or tomorrow's.
pub fn next_digest_time(now: DateTime<Utc>) -> DateTime<Utc> {
    let today = now
        .date_naive()
        .and_hms_opt(DIGEST_HOUR, 0, 0)
        .map(|t| t.and_utc())
        .unwrap_or(now);
    if today > now {
        today
    } else {
        today + Duration::days(1)
    }
}

impl Store {
    /// Claims up to `limit` due deliveries (not digest ones) for `lease`: no other claim takes
    /// them until the lease runs out or the attempt is recorded.
    pub async fn claim_deliveries(&self, limit: i64, lease: Duration) -> Result<Vec<Claimed>> {
        self.claim(limit, lease, false).await
    }

    /// Claims due digest deliveries (those waiting for a daily digest), as
    /// [`Store::claim_deliveries`] does; the dispatcher groups them by recipient.
    pub async fn claim_digests(&self, limit: i64, lease: Duration) -> Result<Vec<Claimed>> {
        self.claim(limit, lease, true).await
    }

    async fn claim(&self, limit: i64, lease: Duration, digest: bool) -> Result<Vec<Claimed>> {
        let now = Utc::now();
        let until = ts(now + lease);
        let select = if digest {
            "SELECT id FROM deliveries WHERE state = 'pending' AND digest = 1 AND next_at <= $2 \
             AND (claimed_until IS NULL OR claimed_until < $3) ORDER BY next_at LIMIT $4"
        } else {
            "SELECT id FROM deliveries WHERE state = 'pending' AND digest = 0 AND next_at <= $2 \
             AND (claimed_until IS NULL OR claimed_until < $3) ORDER BY next_at LIMIT $4"
        };
        // Most polls find nothing due: look first, so an idle dispatcher never takes SQLite's
        // write lock from the writer.
        let probe = sqlx::query(if digest {
            "SELECT id FROM deliveries WHERE state = 'pending' AND digest = 1 AND next_at <= $1 \
             AND (claimed_until IS NULL OR claimed_until < $2) LIMIT 1"
        } else {
            "SELECT id FROM deliveries WHERE state = 'pending' AND digest = 0 AND next_at <= $1 \
             AND (claimed_until IS NULL OR claimed_until < $2) LIMIT 1"
        })
        .bind(ts(now))
        .bind(ts(now))
        .fetch_optional(self.pool())
        .await;
        if matches!(probe, Ok(None)) {
            return Ok(Vec::new());
        }
        let sql = match self.backend() {
            Backend::Postgres => format!(
                "UPDATE deliveries SET claimed_until = $1 WHERE id IN ({select} FOR UPDATE SKIP LOCKED) RETURNING id"
            ),
            Backend::Sqlite => {
                format!(
                    "UPDATE deliveries SET claimed_until = $1 WHERE id IN ({select}) RETURNING id"
                )
            }
        };
        let ids: Vec<String> = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(until)
            .bind(ts(now))
            .bind(ts(now))
            .bind(limit)
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(|r| get_s(r, "id"))
            .collect::<Result<_>>()?;
        let mut out = Vec::with_capacity(ids.len());
        let mut conn = self.pool().acquire().await?;
        for id in ids {
            let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {DELIVERY_COLUMNS} FROM deliveries d JOIN events e ON e.id = d.event_id WHERE d.id = $1"
            )))
            .bind(id.clone())
            .fetch_one(&mut *conn)
            .await?;
            let delivery = delivery_from_row(&row)?;
            let event = sqlx::query(
                "SELECT id, kind, at, studio_id, production_id, data FROM events WHERE id = $1",
            )
            .bind(delivery.event_id.clone())
            .fetch_one(&mut *conn)
            .await?;
            let event = event_from_row(&event)?;
            let recipient = recipient_of(&mut conn, &delivery).await?;
            out.push(Claimed {
                delivery,
                event,
                recipient,
            });
        }
        Ok(out)
    }

    /// Records a delivery as delivered.
    pub async fn delivery_succeeded(&self, id: &str) -> Result<()> {
        sqlx::query(
            "UPDATE deliveries SET state = 'delivered', attempts = attempts + 1, delivered_at = $1, claimed_until = NULL, last_error = NULL WHERE id = $2",
        )
        .bind(ts(Utc::now()))
        .bind(id.to_owned())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Records a failed try: another at `retry_at`, or dead when `None`.
    pub async fn delivery_failed(
        &self,
        id: &str,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<()> {
        let error: String = error.chars().take(2_000).collect();
        match retry_at {
            Some(at) => sqlx::query(
                "UPDATE deliveries SET attempts = attempts + 1, next_at = $1, last_error = $2, claimed_until = NULL WHERE id = $3",
            )
            .bind(ts(at))
            .bind(error)
            .bind(id.to_owned()),
            None => sqlx::query(
                "UPDATE deliveries SET state = 'dead', attempts = attempts + 1, last_error = $1, claimed_until = NULL, next_at = $2 WHERE id = $3",
            )
            .bind(error)
            .bind(ts(Utc::now()))
            .bind(id.to_owned()),
        }
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The deliveries of the studios the caller administers, newest first.
    pub async fn deliveries(
        &self,
        actor: &Principal,
        filter: &DeliveryFilter,
        page: PageRequest,
    ) -> Result<Page<Delivery>> {
        actor.studio_wide("read notification deliveries")?;
        let studios: Vec<String> = actor.orgs_with(Role::Admin).map(|o| o.0.clone()).collect();
        if studios.is_empty() {
            return Err(StoreError::Forbidden(
                "deliveries are for an admin of a studio".into(),
            ));
        }
        let (state, failed) = match filter.state.as_deref() {
            None | Some("") => (None, None),
            Some("failed") => (Some("pending"), Some(true)),
            Some("pending") => (Some("pending"), Some(false)),
            Some(s @ ("delivered" | "dead")) => (Some(s), None),
            Some(other) => {
                return Err(StoreError::invalid(
                    "state",
                    format!("{other:?} is not one of pending, failed, delivered, dead"),
                ));
            }
        };
        let mut out = Vec::new();
        let mut total = 0;
        let page = page.clamped();
        let placeholders: Vec<String> = (0..studios.len()).map(|i| format!("${}", i + 1)).collect();
        let n = studios.len();
        let conditions = format!(
            "d.studio_id IN ({}) AND (${} IS NULL OR d.state = ${}) AND (${} < 0 OR (d.attempts > 0) = (${} > 0)) AND (${} IS NULL OR (d.channel = 'webhook' AND d.target = ${}))",
            placeholders.join(", "),
            n + 1,
            n + 2,
            n + 3,
            n + 4,
            n + 5,
            n + 6
        );
        let failed_flag: i64 = match failed {
            None => -1,
            Some(true) => 1,
            Some(false) => 0,
        };
        let bind_all = |sql: String| {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for s in &studios {
                q = q.bind(s.clone());
            }
            q.bind(state.map(str::to_owned))
                .bind(state.map(str::to_owned))
                .bind(failed_flag)
                .bind(failed_flag)
                .bind(filter.webhook.clone())
                .bind(filter.webhook.clone())
        };
        let count = bind_all(format!(
            "SELECT COUNT(*) AS n FROM deliveries d WHERE {conditions}"
        ))
        .fetch_one(self.pool())
        .await?;
        total += get_i(&count, "n")?;
        let rows = bind_all(format!(
            "SELECT {DELIVERY_COLUMNS} FROM deliveries d JOIN events e ON e.id = d.event_id WHERE {conditions} \
             ORDER BY d.created_at DESC, d.id DESC LIMIT {} OFFSET {}",
            page.limit, page.offset
        ))
        .fetch_all(self.pool())
        .await?;
        for r in &rows {
            out.push(delivery_from_row(r)?);
        }
        Ok(Page {
            items: out,
            total,
            offset: page.offset,
            limit: page.limit,
        })
    }

    /// An admin of the studio sends a dead (or failing) delivery again now.
    pub async fn retry_delivery(&self, actor: &Principal, id: &str) -> Result<Delivery> {
        actor.studio_wide("retry notification deliveries")?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {DELIVERY_COLUMNS}, d.studio_id FROM deliveries d JOIN events e ON e.id = d.event_id WHERE d.id = $1"
        )))
        .bind(id.to_owned())
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("delivery {id}")))?;
        let studio = OrgId(get_s(&row, "studio_id")?);
        if !actor.is_member(&studio) {
            return Err(StoreError::NotFound(format!("delivery {id}")));
        }
        if !actor.has_role(&studio, Role::Admin) {
            return Err(StoreError::Forbidden(
                "only an admin of the studio retries deliveries".into(),
            ));
        }
        let d = delivery_from_row(&row)?;
        if d.state == DeliveryState::Delivered {
            return Err(StoreError::conflict("this delivery was delivered"));
        }
        sqlx::query(
            "UPDATE deliveries SET state = 'pending', next_at = $1, claimed_until = NULL WHERE id = $2",
        )
        .bind(ts(Utc::now()))
        .bind(id.to_owned())
        .execute(self.pool())
        .await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {DELIVERY_COLUMNS} FROM deliveries d JOIN events e ON e.id = d.event_id WHERE d.id = $1"
        )))
        .bind(id.to_owned())
        .fetch_one(self.pool())
        .await?;
        delivery_from_row(&row)
    }

    /// The events of the caller's studios (studio members), newest first.
    pub async fn events(&self, actor: &Principal, page: PageRequest) -> Result<Page<EventRecord>> {
        let studios: Vec<String> = actor
            .memberships
            .iter()
            .filter(|m| m.org_kind == crate::model::OrgKind::Studio)
            .map(|m| m.org_id.0.clone())
            .collect();
        let page = page.clamped();
        let mut items = Vec::new();
        let mut total = 0;
        for s in &studios {
            let n = sqlx::query("SELECT COUNT(*) AS n FROM events WHERE studio_id = $1")
                .bind(s.clone())
                .fetch_one(self.pool())
                .await?;
            total += get_i(&n, "n")?;
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT id, kind, at, studio_id, production_id, data FROM events WHERE studio_id = $1 ORDER BY id DESC LIMIT {}",
                page.offset + page.limit
            )))
            .bind(s.clone())
            .fetch_all(self.pool())
            .await?;
            for r in &rows {
                items.push(event_from_row(r)?);
            }
        }
        items.sort_by(|a, b| b.id.cmp(&a.id));
        let items = items
            .into_iter()
            .skip(page.offset as usize)
            .take(page.limit as usize)
            .collect();
        Ok(Page {
            items,
            total,
            offset: page.offset,
            limit: page.limit,
        })
    }

    /// A person's notification choices: one mode per event kind (immediate by default).
    pub async fn notification_preferences(
        &self,
        actor: &Principal,
    ) -> Result<Vec<(EventKind, Mode)>> {
        let rows =
            sqlx::query("SELECT kind, mode FROM notification_preferences WHERE user_id = $1")
                .bind(actor.user.id.0.clone())
                .fetch_all(self.pool())
                .await?;
        let mut out = Vec::new();
        for k in EventKind::ALL {
            let mode = rows
                .iter()
                .find(|r| get_s(r, "kind").ok().as_deref() == Some(k.as_str()))
                .map(|r| get_s(r, "mode"))
                .transpose()?;
            out.push((
                k,
                match mode.as_deref() {
                    Some("digest") => Mode::Digest,
                    Some("off") => Mode::Off,
                    _ => Mode::Immediate,
                },
            ));
        }
        Ok(out)
    }

    /// Sets how `user` hears of `kind` (the person themselves, or through an unsubscribe link
    /// the server checked).
    pub async fn set_notification_mode(
        &self,
        user: &UserId,
        kind: EventKind,
        mode: Mode,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO notification_preferences (user_id, kind, mode) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id, kind) DO UPDATE SET mode = $4",
        )
        .bind(user.0.clone())
        .bind(kind.as_str())
        .bind(mode.as_str())
        .bind(mode.as_str())
        .execute(self.pool())
        .await?;
        Ok(())
    }
}

async fn recipient_of(conn: &mut sqlx::AnyConnection, d: &Delivery) -> Result<Recipient> {
    match d.channel {
        Channel::Webhook => {
            let row = sqlx::query(
                "SELECT id, url, format, secret, previous_secret, previous_until FROM webhooks WHERE id = $1 AND deleted_at IS NULL",
            )
            .bind(d.target.clone())
            .fetch_optional(&mut *conn)
            .await?;
            let Some(row) = row else {
                return Ok(Recipient::Gone);
            };
            let mut secrets = vec![get_s(&row, "secret")?];
            if let (Some(prev), Some(until)) = (
                get_os(&row, "previous_secret")?,
                parse_opt_ts(get_os(&row, "previous_until")?)?,
            ) && until > Utc::now()
            {
                secrets.push(prev);
            }
            Ok(Recipient::Webhook {
                id: get_s(&row, "id")?,
                url: get_s(&row, "url")?,
                format: get_s(&row, "format")?,
                secrets,
            })
        }
        Channel::Email => {
            if let Some(address) = d.target.strip_prefix("address:") {
                return Ok(Recipient::Email {
                    address: address.to_owned(),
                    name: String::new(),
                    user: None,
                });
            }
            let user = d.target.strip_prefix("user:").unwrap_or(&d.target);
            let row = sqlx::query("SELECT id, email, name FROM users WHERE id = $1")
                .bind(user.to_owned())
                .fetch_optional(&mut *conn)
                .await?;
            match row {
                Some(r) => Ok(Recipient::Email {
                    address: get_s(&r, "email")?,
                    name: get_s(&r, "name")?,
                    user: Some(UserId(get_s(&r, "id")?)),
                }),
                None => Ok(Recipient::Gone),
            }
        }
    }
}

/// The JSON payload of a declaration event: what the contract names, and a few more.
pub(crate) fn declaration_data(
    public_url: Option<&str>,
    s: &crate::model::DeclarationSummary,
    extra: Value,
) -> Value {
    let path = format!("/declarations/{}", s.id);
    let data = serde_json::json!({
        "declaration_id": s.id,
        "production_id": s.production_id,
        "production_title": s.production_title,
        "use_ref": s.reference,
        "summary": s.summary,
        "outcome": s.outcome,
        "state": s.state,
        "organisation_id": s.org_id,
        "url": link(public_url, &path),
    });
    with_extra(data, extra)
}

/// `path` on the public address, when there is one (else the path alone).
pub(crate) fn link(public_url: Option<&str>, path: &str) -> String {
    match public_url {
        Some(base) => format!("{}{path}", base.trim_end_matches('/')),
        None => path.to_owned(),
    }
}

/// `data` (an object) with the fields of `extra` (an object) added.
pub(crate) fn with_extra(mut data: Value, extra: Value) -> Value {
    if let (Some(d), Value::Object(x)) = (data.as_object_mut(), extra) {
        d.extend(x);
    }
    data
}

/// How long a claim holds a delivery before another dispatcher may take it.
pub const DEFAULT_LEASE: Duration = Duration::seconds(60);

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("a time")
            .with_timezone(&Utc)
    }

    #[test]
    fn a_digest_goes_out_at_the_next_morning_hour() {
        assert_eq!(
            next_digest_time(at("2026-12-06T05:00:00Z")),
            at("2026-12-06T07:00:00Z")
        );
        assert_eq!(
            next_digest_time(at("2026-12-06T07:00:00Z")),
            at("2026-12-07T07:00:00Z")
        );
        assert_eq!(
            next_digest_time(at("2026-12-06T23:59:00Z")),
            at("2026-12-07T07:00:00Z")
        );
    }

    #[test]
    fn every_event_type_reads_back_from_its_wire_name() {
        for k in EventKind::ALL {
            assert_eq!(EventKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(EventKind::parse("declaration.eaten"), None);
    }
}
