//! Notifications in the API: a studio's webhooks (register, list, delete, rotate their
//! secret), the deliveries of its events (list, retry a dead one), the delivery scans
//! `scan --server` reports back, and each person's notification choices.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use greenlight_notify::webhook::{Secret, Target};
use greenlight_store::outbox::{Delivery, DeliveryFilter, EventKind, Mode};
use greenlight_store::{NewWebhook, OrgId, Page, ProductionId, ScanRecord, ScanReport, Webhook};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{ApiJson, ApiQuery, Paging};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;

/// A webhook to register.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhookBody {
    /// An `https` URL (plain http, loopback and private addresses only with
    /// `serve --webhook-allow-private`).
    pub url: String,
    /// Event types (`declaration.submitted`, ...) or `["*"]`.
    pub events: Vec<String>,
    /// The signing secret, `whsec_<base64>`; generated (and shown once) when left out.
    pub secret: Option<String>,
    /// `standard` (default) or `slack`.
    pub format: Option<String>,
}

/// A webhook with its secret: shown once, when it is made or rotated.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookWithSecret {
    #[serde(flatten)]
    pub webhook: Webhook,
    /// The signing secret (`whsec_…`): shown only now.
    pub secret: String,
}

/// The studio a request is about (default: the caller's).
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct StudioParam {
    pub studio_id: Option<String>,
}

/// A 422 naming `field` (the same problem+json as every field the store refuses).
fn invalid(field: &str, e: impl std::fmt::Display) -> ApiError {
    greenlight_store::StoreError::invalid(field, e.to_string()).into()
}

fn seal(s: &AppState, secret: &Secret) -> ApiResult<String> {
    s.config
        .notifications
        .seal
        .seal(secret.to_string().as_bytes())
        .map_err(|e| {
            ApiError::from(greenlight_store::StoreError::Backend(format!(
                "sealing a webhook secret: {e}"
            )))
        })
}

/// An admin of the studio registers a webhook; the URL is checked (scheme and every address
/// it resolves to) before anything is stored.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "notifications", params(StudioParam), request_body = NewWebhookBody,
    responses((status = 201, body = WebhookWithSecret), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiQuery(q): ApiQuery<StudioParam>,
    ApiJson(body): ApiJson<NewWebhookBody>,
) -> ApiResult<(StatusCode, Json<WebhookWithSecret>)> {
    if body.url.len() > 2_000 {
        return Err(invalid("url", "is longer than 2,000 characters"));
    }
    Target::check(&body.url, s.config.notifications.allow_private)
        .await
        .map_err(|e| invalid("url", e))?;
    let secret = match body.secret.as_deref() {
        Some(text) => Secret::parse(text).map_err(|e| invalid("secret", e))?,
        None => Secret::generate(),
    };
    let studio = q.studio_id.map(OrgId);
    let webhook = s
        .store
        .create_webhook(
            &p,
            studio.as_ref(),
            NewWebhook {
                url: body.url,
                events: body.events,
                format: body.format.unwrap_or_else(|| "standard".into()),
                sealed_secret: seal(&s, &secret)?,
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(WebhookWithSecret {
            webhook,
            secret: secret.to_string(),
        }),
    ))
}

/// The studio's webhooks (admins).
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "notifications", params(StudioParam),
    responses((status = 200, body = Vec<Webhook>), (status = 403, body = Problem)))]
pub async fn list(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiQuery(q): ApiQuery<StudioParam>,
) -> ApiResult<Json<Vec<Webhook>>> {
    let studio = q.studio_id.map(OrgId);
    Ok(Json(s.store.webhooks(&p, studio.as_ref()).await?))
}

/// Removes a webhook; its pending deliveries are dropped.
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "notifications", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn delete(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    s.store.delete_webhook(&p, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A rotation: the new secret (generated when not given), and how long the old one still
/// signs (hours, default 24, at most 168).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rotation {
    pub secret: Option<String>,
    pub grace_hours: Option<i64>,
}

/// Rotates a webhook's secret: both sign during the grace period.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/rotate", tag = "notifications", params(("id" = String, Path)), request_body = Rotation,
    responses((status = 200, body = WebhookWithSecret), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn rotate(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<Json<WebhookWithSecret>> {
    // The body is optional: none rotates to a generated secret with a day's grace.
    let body: Rotation = if body.iter().all(u8::is_ascii_whitespace) {
        Rotation::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request(None, format!("the body is not a rotation: {e}")))?
    };
    let grace = body.grace_hours.unwrap_or(24);
    if !(0..=168).contains(&grace) {
        return Err(ApiError::bad_request(
            Some("grace_hours"),
            "grace_hours is between 0 and 168",
        ));
    }
    let secret = match body.secret.as_deref() {
        Some(text) => Secret::parse(text).map_err(|e| invalid("secret", e))?,
        None => Secret::generate(),
    };
    let webhook = s
        .store
        .rotate_webhook(&p, &id, seal(&s, &secret)?, chrono::Duration::hours(grace))
        .await?;
    Ok(Json(WebhookWithSecret {
        webhook,
        secret: secret.to_string(),
    }))
}

/// Filters of the deliveries list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DeliveryQuery {
    /// `pending`, `failed`, `delivered` or `dead`.
    pub state: Option<String>,
    pub offset: Option<i64>,
    pub limit: Option<i64>,
}

/// One webhook's deliveries, newest first.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "notifications", params(("id" = String, Path), DeliveryQuery),
    responses((status = 200, body = Object), (status = 404, body = Problem)))]
pub async fn webhook_deliveries(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<DeliveryQuery>,
) -> ApiResult<Json<Page<Delivery>>> {
    s.store.webhook(&p, &id).await?;
    let filter = DeliveryFilter {
        state: q.state,
        webhook: Some(id),
    };
    let page = Paging {
        offset: q.offset,
        limit: q.limit,
    }
    .request();
    Ok(Json(s.store.deliveries(&p, &filter, page).await?))
}

/// The deliveries of the studio's events (admins), newest first.
#[utoipa::path(get, path = "/api/v1/deliveries", tag = "notifications", params(DeliveryQuery),
    responses((status = 200, body = Object), (status = 403, body = Problem)))]
pub async fn deliveries(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiQuery(q): ApiQuery<DeliveryQuery>,
) -> ApiResult<Json<Page<Delivery>>> {
    let filter = DeliveryFilter {
        state: q.state,
        webhook: None,
    };
    let page = Paging {
        offset: q.offset,
        limit: q.limit,
    }
    .request();
    Ok(Json(s.store.deliveries(&p, &filter, page).await?))
}

/// Sends a dead (or failing) delivery again now.
#[utoipa::path(post, path = "/api/v1/deliveries/{id}/retry", tag = "notifications", params(("id" = String, Path)),
    responses((status = 200, body = Delivery), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn retry(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Delivery>> {
    Ok(Json(s.store.retry_delivery(&p, &id).await?))
}

/// `scan --server` reports a delivery scan's verdict on a production (anyone who may read its
/// ledger); the studio sees it on the production page and hears of it.
#[utoipa::path(post, path = "/api/v1/productions/{id}/scans", tag = "productions", params(("id" = String, Path)), request_body = ScanReport,
    responses((status = 201, body = ScanRecord), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn report_scan(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    ApiJson(report): ApiJson<ScanReport, { 16 * 1024 * 1024 }>,
) -> ApiResult<(StatusCode, Json<ScanRecord>)> {
    let record = s.store.report_scan(&p, &ProductionId(id), report).await?;
    Ok((StatusCode::CREATED, Json(record)))
}

/// The scans reported on a production, newest first.
#[utoipa::path(get, path = "/api/v1/productions/{id}/scans", tag = "productions", params(("id" = String, Path)),
    responses((status = 200, body = Vec<ScanRecord>), (status = 404, body = Problem)))]
pub async fn scans(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<ScanRecord>>> {
    Ok(Json(s.store.scans(&p, &ProductionId(id)).await?))
}

/// A person's choice for one event kind.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Preference {
    #[serde(rename = "type")]
    pub kind: EventKind,
    /// `immediate`, `digest` (one mail a day) or `off`.
    pub mode: Mode,
}

/// How the caller hears of each event kind.
#[utoipa::path(get, path = "/api/v1/me/notifications", tag = "notifications",
    responses((status = 200, body = Vec<Preference>)))]
pub async fn preferences(
    State(s): State<AppState>,
    Caller(p): Caller,
) -> ApiResult<Json<Vec<Preference>>> {
    Ok(Json(
        s.store
            .notification_preferences(&p)
            .await?
            .into_iter()
            .map(|(kind, mode)| Preference { kind, mode })
            .collect(),
    ))
}

/// Sets how the caller hears of some event kinds.
#[utoipa::path(put, path = "/api/v1/me/notifications", tag = "notifications", request_body = Vec<Preference>,
    responses((status = 200, body = Vec<Preference>), (status = 422, body = Problem)))]
pub async fn set_preferences(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiJson(list): ApiJson<Vec<Preference>>,
) -> ApiResult<Json<Vec<Preference>>> {
    for pref in &list {
        s.store
            .set_notification_mode(&p.user.id, pref.kind, pref.mode)
            .await?;
    }
    preferences(State(s), Caller(p)).await
}
