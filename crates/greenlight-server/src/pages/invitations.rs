//! Invitations waiting for the signed-in person: accept (they hold the roles from then on) or
//! decline. A person who already has an account is never enrolled by someone else.

use askama::Template;
use axum::extract::{Path, Query, State};
use greenlight_store::{InvitationId, Role};
use serde::Deserialize;

use super::views::Layout;
use super::{CsrfForm, Ctx, PageResult, flash_for, render, role_label, see_other, when};
use crate::state::AppState;

/// One invitation as the invited person sees it.
#[derive(Debug, Clone)]
pub struct InvitationView {
    pub id: String,
    pub org: String,
    pub roles: String,
    pub invited_by: String,
    pub sent: String,
    pub expires: String,
}

#[derive(Template)]
#[template(path = "invitations.html")]
pub struct InvitationsPage {
    pub layout: Layout,
    pub invitations: Vec<InvitationView>,
}

#[derive(Deserialize, Default)]
pub struct Done {
    done: Option<String>,
}

/// Roles as people read them: "Reviewer, Legal".
pub fn roles_label(roles: &[Role]) -> String {
    roles
        .iter()
        .map(|r| role_label(*r))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The invitations page.
pub async fn page(State(state): State<AppState>, ctx: Ctx, Query(q): Query<Done>) -> PageResult {
    let invitations = state
        .store
        .my_invitations(&ctx.principal)
        .await?
        .into_iter()
        .map(|i| InvitationView {
            id: i.id.0,
            org: i.org_name,
            roles: roles_label(&i.roles),
            invited_by: i.invited_by,
            sent: when(i.created_at),
            expires: when(i.expires_at),
        })
        .collect();
    let mut layout = ctx.layout("Invitations", None);
    layout.flashes = flash_for(q.done.as_deref());
    Ok(render(&InvitationsPage {
        layout,
        invitations,
    }))
}

/// Accepts or declines one invitation (`answer` is `accept` or `decline`).
pub async fn answer(
    State(state): State<AppState>,
    Path((id, answer)): Path<(String, String)>,
    form: CsrfForm,
) -> PageResult {
    let accept = match answer.as_str() {
        "accept" => true,
        "decline" => false,
        _ => {
            return Err(super::PageError::status(
                axum::http::StatusCode::NOT_FOUND,
                "Not found",
                "There is nothing here.",
            ));
        }
    };
    state
        .store
        .answer_invitation(&form.ctx.principal, &InvitationId(id), accept)
        .await?;
    Ok(see_other(if accept {
        "/invitations?done=invitation_accepted"
    } else {
        "/invitations?done=invitation_declined"
    }))
}
