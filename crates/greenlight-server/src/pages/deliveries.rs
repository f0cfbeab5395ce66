//! Admin: the studio's webhooks and every delivery of its events (pending, failed, delivered,
//! dead), with attempts and the last error, and a dead one sent again.

use askama::Template;
use axum::extract::{Path, Query, State};
use greenlight_store::outbox::{DeliveryFilter, DeliveryState};
use greenlight_store::{PageRequest, Role};
use serde::Deserialize;

use super::views::{Layout, Pager};
use super::{CsrfForm, Ctx, PageResult, flash_for, render, see_other, when};
use crate::state::AppState;

/// A delivery as the page lists it.
pub struct DeliveryRow {
    pub id: String,
    pub event_type: String,
    pub event_id: String,
    pub channel: String,
    pub target: String,
    pub state: String,
    pub attempts: i64,
    pub last_error: String,
    pub when: String,
    pub can_retry: bool,
}

#[derive(Template)]
#[template(path = "deliveries.html")]
pub struct DeliveriesPage {
    pub layout: Layout,
    pub rows: Vec<DeliveryRow>,
    pub webhooks: Vec<(String, String, String)>,
    pub states: Vec<(&'static str, bool)>,
    pub pager: Pager,
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    state: Option<String>,
    offset: Option<i64>,
    done: Option<String>,
}

const PAGE: i64 = 50;

/// The deliveries of the studio's events, newest first.
pub async fn page(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<ListQuery>,
) -> PageResult {
    ctx.require(&[Role::Admin], "Deliveries")?;
    let filter = DeliveryFilter {
        state: q.state.clone().filter(|s| !s.is_empty()),
        webhook: None,
    };
    let offset = q.offset.unwrap_or(0).max(0);
    let list = state
        .store
        .deliveries(
            &ctx.principal,
            &filter,
            PageRequest {
                offset,
                limit: PAGE,
            },
        )
        .await?;
    let webhooks = state
        .store
        .webhooks(&ctx.principal, None)
        .await
        .unwrap_or_default();
    let rows = list
        .items
        .iter()
        .map(|d| DeliveryRow {
            id: d.id.clone(),
            event_type: d.event_type.as_str().to_owned(),
            event_id: d.event_id.clone(),
            channel: format!("{:?}", d.channel).to_lowercase(),
            target: webhooks
                .iter()
                .find(|w| w.id == d.target)
                .map(|w| w.url.clone())
                .unwrap_or_else(|| d.target.trim_start_matches("address:").to_owned()),
            state: if d.failed {
                "failed".to_owned()
            } else {
                format!("{:?}", d.state).to_lowercase()
            },
            attempts: d.attempts,
            last_error: d.last_error.clone().unwrap_or_default(),
            when: d
                .delivered_at
                .map(|t| format!("delivered {}", when(t)))
                .unwrap_or_else(|| format!("next {}", when(d.next_at))),
            can_retry: d.state != DeliveryState::Delivered,
        })
        .collect();
    let current = q.state.clone().unwrap_or_default();
    let mut layout = ctx.layout("Deliveries", None);
    layout.flashes = flash_for(q.done.as_deref());
    Ok(render(&DeliveriesPage {
        layout,
        rows,
        webhooks: webhooks
            .into_iter()
            .map(|w| (w.url, w.events.join(", "), w.format))
            .collect(),
        states: ["", "pending", "failed", "delivered", "dead"]
            .into_iter()
            .map(|s| (s, s == current))
            .collect(),
        pager: Pager::new(
            &format!("/admin/deliveries?state={current}&"),
            offset,
            PAGE,
            list.total,
        ),
    }))
}

/// Sends a dead or failing delivery again now.
pub async fn retry(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm,
) -> PageResult {
    form.ctx.require(&[Role::Admin], "Retrying a delivery")?;
    state.store.retry_delivery(&form.ctx.principal, &id).await?;
    Ok(see_other("/admin/deliveries?done=retried"))
}
