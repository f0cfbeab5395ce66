//! What the outbox is fed by besides the declaration workflow: the scheduled pass that raises
//! time-driven events (consents expiring, obligations due), the verdicts `scan --server`
//! reports back, and a studio's webhook subscriptions.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::registry::consent_data;
use super::{get_os, get_s};
use crate::db::{parse_json, parse_opt_ts, parse_ts, to_json, ts};
use crate::model::{OrgId, Principal, ProductionId, Role, UserId};
use crate::outbox::{Audience, EventKind, link};
use crate::writer::WriteCtx;
use crate::{Result, Store, StoreError};

/// How many days before a consent expires its legal hears of it.
pub const CONSENT_WARNINGS: [i64; 2] = [30, 7];
/// How many days before a production's release its open obligations are due.
pub const OBLIGATION_HORIZON: i64 = 30;

/// A delivery scan's verdict, as `scan --server` reports it back.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ScanReport {
    /// `pass`, `pass-with-notes`, `review` or `fail` (the scan's verdict).
    pub verdict: String,
    /// The report's summary (counts per code, files, the tool's version).
    #[schema(value_type = Object)]
    pub summary: Value,
    /// The findings (at most 10,000 are kept).
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub findings: Vec<Value>,
}

/// A scan verdict kept on the production.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ScanRecord {
    pub id: String,
    #[schema(value_type = String)]
    pub production_id: ProductionId,
    pub verdict: String,
    #[schema(value_type = Object)]
    pub summary: Value,
    #[schema(value_type = Vec<Object>)]
    pub findings: Vec<Value>,
    #[schema(value_type = String)]
    pub posted_by: UserId,
    pub created_at: DateTime<Utc>,
}

const VERDICTS: &[&str] = &["pass", "pass-with-notes", "review", "fail"];
const MAX_FINDINGS: usize = 10_000;

/// A webhook subscription as the API shows it (never its secret).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Webhook {
    pub id: String,
    #[schema(value_type = String)]
    pub studio_id: OrgId,
    pub url: String,
    /// Event types, or `["*"]` for every one.
    pub events: Vec<String>,
    /// `standard` or `slack`.
    pub format: String,
    /// Until when the secret before the last rotation still signs.
    pub previous_secret_until: Option<DateTime<Utc>>,
    #[schema(value_type = String)]
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
}

/// A webhook to register: the URL (already checked by the caller against the deployment's
/// address rules), the events, the format, and the secret sealed with the secrets key.
#[derive(Debug, Clone)]
pub struct NewWebhook {
    pub url: String,
    pub events: Vec<String>,
    pub format: String,
    pub sealed_secret: String,
}

fn webhook_from_row(r: &sqlx::any::AnyRow) -> Result<Webhook> {
    Ok(Webhook {
        id: get_s(r, "id")?,
        studio_id: OrgId(get_s(r, "studio_id")?),
        url: get_s(r, "url")?,
        events: parse_json(&get_s(r, "events")?)?,
        format: get_s(r, "format")?,
        previous_secret_until: parse_opt_ts(get_os(r, "previous_until")?)?,
        created_by: UserId(get_s(r, "created_by")?),
        created_at: parse_ts(&get_s(r, "created_at")?)?,
    })
}

const WEBHOOK_COLUMNS: &str =
    "id, studio_id, url, events, format, previous_until, created_by, created_at";

/// The studio a webhook request is about (see [`super::named_studio`]); the caller must be
/// its admin.
fn admin_studio(actor: &Principal, given: Option<&OrgId>) -> Result<OrgId> {
    let studio = super::named_studio(actor, given, "webhooks")?;
    if !actor.has_role(&studio, Role::Admin) {
        return Err(StoreError::Forbidden(
            "only an admin of the studio manages webhooks".into(),
        ));
    }
    Ok(studio)
}

fn check_events(events: &[String]) -> Result<()> {
    if events.len() > EventKind::ALL.len() + 1 {
        return Err(StoreError::invalid(
            "events",
            format!(
                "{} entries; there are {} event types",
                events.len(),
                EventKind::ALL.len()
            ),
        ));
    }
    if events.is_empty() {
        return Err(StoreError::invalid(
            "events",
            "name at least one event type, or \"*\" for every one",
        ));
    }
    for (i, e) in events.iter().enumerate() {
        if e != "*" && EventKind::parse(e).is_none() {
            return Err(StoreError::invalid(
                &format!("events[{i}]"),
                format!(
                    "{e:?} is not an event type ({})",
                    EventKind::ALL.map(|k| k.as_str()).join(", ")
                ),
            ));
        }
    }
    Ok(())
}

impl Store {
    /// The scheduled pass: raises `consent.expiring` (30 and 7 days before a consent that is
    /// not revoked expires) and `obligation.due` (each open obligation of a live use on a
    /// production released within 30 days), each once: a mark per record and threshold is
    /// written in the same transaction as the event, so running the pass again, or on several
    /// instances at once, raises nothing twice. Returns how many events it raised.
    pub async fn run_schedule(&self, today: NaiveDate) -> Result<usize> {
        self.write(move |w| Box::pin(write_schedule(w, today)))
            .await
    }

    /// Anyone who may read a production's ledger reports a delivery scan's verdict on it;
    /// kept on the production, and told as `scan.completed` (or `scan.failed` for a fail).
    pub async fn report_scan(
        &self,
        actor: &Principal,
        production: &ProductionId,
        report: ScanReport,
    ) -> Result<ScanRecord> {
        let p = self.production(actor, production).await?;
        if !VERDICTS.contains(&report.verdict.as_str()) {
            return Err(StoreError::invalid(
                "verdict",
                format!("{:?} is not one of {}", report.verdict, VERDICTS.join(", ")),
            ));
        }
        if report.findings.len() > MAX_FINDINGS {
            return Err(StoreError::invalid(
                "findings",
                format!(
                    "{} findings; at most {MAX_FINDINGS} are kept per scan",
                    report.findings.len()
                ),
            ));
        }
        let actor_id = actor.user.id.clone();
        self.write(move |w| {
            Box::pin(async move {
                let record = ScanRecord {
                    id: uuid::Uuid::now_v7().to_string(),
                    production_id: p.id.clone(),
                    verdict: report.verdict,
                    summary: report.summary,
                    findings: report.findings,
                    posted_by: actor_id.clone(),
                    created_at: w.now,
                };
                sqlx::query(
                    "INSERT INTO scans (id, production_id, verdict, summary, findings, posted_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(record.id.clone())
                .bind(p.id.0.clone())
                .bind(record.verdict.clone())
                .bind(record.summary.to_string())
                .bind(to_json(&record.findings))
                .bind(actor_id.0.clone())
                .bind(ts(w.now))
                .execute(&mut w.conn)
                .await?;
                w.audit(
                    Some(&actor_id.0),
                    Some(&p.studio_id.0),
                    "scan.report",
                    "scan",
                    &record.id,
                    None,
                    None,
                );
                let kind = if record.verdict == "fail" {
                    EventKind::ScanFailed
                } else {
                    EventKind::ScanCompleted
                };
                let path = format!("/productions/{}", p.id);
                w.event(
                    kind,
                    &p.studio_id,
                    Some(&p.id),
                    json!({
                        "scan_id": record.id,
                        "production_id": p.id,
                        "production_title": p.facts.title,
                        "verdict": record.verdict,
                        "summary": record.summary,
                        "findings": record.findings.len(),
                        "url": link(w.public_url.as_deref(), &path),
                    }),
                    Audience::Contacts(p.id.clone()),
                );
                Ok(record)
            })
        })
        .await
    }

    /// The scans reported on a production, newest first (at most 50).
    pub async fn scans(
        &self,
        actor: &Principal,
        production: &ProductionId,
    ) -> Result<Vec<ScanRecord>> {
        self.production(actor, production).await?;
        let rows = sqlx::query(
            "SELECT id, production_id, verdict, summary, findings, posted_by, created_at FROM scans \
             WHERE production_id = $1 ORDER BY created_at DESC, id DESC LIMIT 50",
        )
        .bind(production.0.clone())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ScanRecord {
                    id: get_s(r, "id")?,
                    production_id: ProductionId(get_s(r, "production_id")?),
                    verdict: get_s(r, "verdict")?,
                    summary: parse_json(&get_s(r, "summary")?)?,
                    findings: parse_json(&get_s(r, "findings")?)?,
                    posted_by: UserId(get_s(r, "posted_by")?),
                    created_at: parse_ts(&get_s(r, "created_at")?)?,
                })
            })
            .collect()
    }

    /// An admin of the studio registers a webhook.
    pub async fn create_webhook(
        &self,
        actor: &Principal,
        studio: Option<&OrgId>,
        new: NewWebhook,
    ) -> Result<Webhook> {
        let studio = admin_studio(actor, studio)?;
        check_events(&new.events)?;
        if !matches!(new.format.as_str(), "standard" | "slack") {
            return Err(StoreError::invalid(
                "format",
                format!("{:?} is not one of standard, slack", new.format),
            ));
        }
        let actor_id = actor.user.id.clone();
        self.write(move |w| {
            Box::pin(async move {
                let hook = Webhook {
                    id: uuid::Uuid::now_v7().to_string(),
                    studio_id: studio.clone(),
                    url: new.url,
                    events: new.events,
                    format: new.format,
                    previous_secret_until: None,
                    created_by: actor_id.clone(),
                    created_at: w.now,
                };
                sqlx::query(
                    "INSERT INTO webhooks (id, studio_id, url, events, format, secret, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(hook.id.clone())
                .bind(studio.0.clone())
                .bind(hook.url.clone())
                .bind(to_json(&hook.events))
                .bind(hook.format.clone())
                .bind(new.sealed_secret)
                .bind(actor_id.0.clone())
                .bind(ts(w.now))
                .execute(&mut w.conn)
                .await?;
                w.audit(Some(&actor_id.0), Some(&studio.0), "webhook.create", "webhook", &hook.id, None, None);
                Ok(hook)
            })
        })
        .await
    }

    /// The webhooks of the studio (admins).
    pub async fn webhooks(
        &self,
        actor: &Principal,
        studio: Option<&OrgId>,
    ) -> Result<Vec<Webhook>> {
        let studio = admin_studio(actor, studio)?;
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE studio_id = $1 AND deleted_at IS NULL ORDER BY created_at, id"
        )))
        .bind(studio.0.clone())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(webhook_from_row).collect()
    }

    /// One webhook, for an admin of its studio (anyone else: not found).
    pub async fn webhook(&self, actor: &Principal, id: &str) -> Result<Webhook> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = $1 AND deleted_at IS NULL"
        )))
        .bind(id.to_owned())
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("webhook {id}")))?;
        let hook = webhook_from_row(&row)?;
        if !actor.is_member(&hook.studio_id) {
            return Err(StoreError::NotFound(format!("webhook {id}")));
        }
        admin_studio(actor, Some(&hook.studio_id))?;
        Ok(hook)
    }

    /// An admin removes a webhook; its pending deliveries are dropped as dead.
    pub async fn delete_webhook(&self, actor: &Principal, id: &str) -> Result<()> {
        let hook = self.webhook(actor, id).await?;
        let actor_id = actor.user.id.clone();
        self.write(move |w| {
            Box::pin(async move {
                sqlx::query("UPDATE webhooks SET deleted_at = $1 WHERE id = $2")
                    .bind(ts(w.now))
                    .bind(hook.id.clone())
                    .execute(&mut w.conn)
                    .await?;
                sqlx::query(
                    "UPDATE deliveries SET state = 'dead', last_error = 'the webhook was deleted' WHERE channel = 'webhook' AND target = $1 AND state = 'pending'",
                )
                .bind(hook.id.clone())
                .execute(&mut w.conn)
                .await?;
                w.audit(Some(&actor_id.0), Some(&hook.studio_id.0), "webhook.delete", "webhook", &hook.id, None, None);
                Ok(())
            })
        })
        .await
    }

    /// An admin rotates a webhook's secret: the new one (sealed) signs from now on, and the
    /// previous one also signs until `grace` has passed, so receivers can switch over.
    pub async fn rotate_webhook(
        &self,
        actor: &Principal,
        id: &str,
        sealed_secret: String,
        grace: Duration,
    ) -> Result<Webhook> {
        let hook = self.webhook(actor, id).await?;
        let actor_id = actor.user.id.clone();
        self.write(move |w| {
            Box::pin(async move {
                sqlx::query(
                    "UPDATE webhooks SET previous_secret = secret, previous_until = $1, secret = $2 WHERE id = $3",
                )
                .bind(ts(w.now + grace))
                .bind(sealed_secret)
                .bind(hook.id.clone())
                .execute(&mut w.conn)
                .await?;
                w.audit(Some(&actor_id.0), Some(&hook.studio_id.0), "webhook.rotate", "webhook", &hook.id, None, None);
                Ok(Webhook {
                    previous_secret_until: Some(w.now + grace),
                    ..hook
                })
            })
        })
        .await
    }
}

/// Marks `key` as raised; true when it was not before (the event is to be raised now).
async fn mark(w: &mut WriteCtx, key: &str) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO schedule_marks (key, created_at) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
    )
    .bind(key.to_owned())
    .bind(ts(w.now))
    .execute(&mut w.conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

async fn write_schedule(w: &mut WriteCtx, today: NaiveDate) -> Result<usize> {
    let mut raised = 0;
    let horizon = today + Duration::days(CONSENT_WARNINGS[0]);
    let consents = sqlx::query(
        "SELECT id FROM consents WHERE revoked_at IS NULL AND expires IS NOT NULL AND expires >= $1 AND expires <= $2 ORDER BY id",
    )
    .bind(today.to_string())
    .bind(horizon.to_string())
    .fetch_all(&mut w.conn)
    .await?;
    for r in &consents {
        let id = crate::model::ConsentId(get_s(r, "id")?);
        let (c, _) = super::records::load_consent(&mut w.conn, &id).await?;
        let Some(expires) = c.expires else { continue };
        let left = (expires - today).num_days();
        // The tightest threshold reached; a consent first seen at 5 days gets the 7-day one.
        let Some(threshold) = CONSENT_WARNINGS.iter().rev().find(|t| left <= **t) else {
            continue;
        };
        if mark(w, &format!("consent.expiring:{}:{threshold}", c.id)).await? {
            w.event(
                EventKind::ConsentExpiring,
                &c.studio_id,
                c.production_id.as_ref(),
                consent_data(&c, json!({"days_left": left, "threshold_days": threshold})),
                Audience::Legal,
            );
            raised += 1;
        }
    }
    let due_by = today + Duration::days(OBLIGATION_HORIZON);
    let obligations = sqlx::query(
        "SELECT o.id, o.kind, o.text, o.rule, o.pack, d.id AS declaration_id, d.ref, d.state, p.id AS production_id, \
         p.studio_id, p.title, p.release_date FROM obligations o \
         JOIN declarations d ON d.id = o.declaration_id AND o.revision = d.revision \
         JOIN productions p ON p.id = d.production_id \
         WHERE o.status = 'open' AND p.release_date IS NOT NULL AND p.release_date >= $1 AND p.release_date <= $2 \
         ORDER BY o.id",
    )
    .bind(today.to_string())
    .bind(due_by.to_string())
    .fetch_all(&mut w.conn)
    .await?;
    for r in &obligations {
        let state: crate::model::State = crate::db::parse_enum(&get_s(r, "state")?)?;
        if !state.is_live() {
            continue;
        }
        let id = get_s(r, "id")?;
        if !mark(w, &format!("obligation.due:{id}")).await? {
            continue;
        }
        let production = ProductionId(get_s(r, "production_id")?);
        let declaration = get_s(r, "declaration_id")?;
        let path = format!("/declarations/{declaration}");
        w.event(
            EventKind::ObligationDue,
            &OrgId(get_s(r, "studio_id")?),
            Some(&production),
            json!({
                "obligation_id": id,
                "kind": get_s(r, "kind")?,
                "text": get_s(r, "text")?,
                "rule": get_s(r, "rule")?,
                "pack": get_s(r, "pack")?,
                "declaration_id": declaration,
                "use_ref": get_s(r, "ref")?,
                "production_id": production,
                "production_title": get_s(r, "title")?,
                "release_date": get_s(r, "release_date")?,
                "url": link(w.public_url.as_deref(), &path),
            }),
            Audience::Contacts(production.clone()),
        );
        raised += 1;
    }
    Ok(raised)
}
