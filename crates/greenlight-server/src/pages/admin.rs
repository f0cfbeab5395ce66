//! Admin: organisations, productions, people (invitations) and API tokens.

use axum::extract::Path;
use axum::extract::{Query, State};
use chrono::NaiveDate;
use greenlight_store::input::{NewProduction, ProductionUpdate};
use greenlight_store::{
    Enrolment, InvitationId, NewMember, OrgId, OrgKind, OrgKind::Studio, ProductionFacts,
    ProductionId, Role, TokenId, TokenOptions,
};
use serde::Deserialize;

use super::views::{
    AdminPage, FilterOption, OrgView, PendingInvitationView, PersonView, ProductionView, TokenView,
};
use super::{
    CsrfForm, Ctx, PageError, PageResult, bad, flash_for, render, role_label, see_other, when,
};
use crate::state::AppState;

#[derive(Deserialize, Default)]
pub struct AdminQuery {
    done: Option<String>,
}

async fn view(
    state: &AppState,
    ctx: &Ctx,
    new_secret: Option<String>,
    done: Option<&str>,
) -> PageResult<AdminPage> {
    let orgs = state.store.orgs(&ctx.principal).await?;
    let mut org_views = Vec::new();
    let mut org_options = Vec::new();
    for o in &orgs {
        let administered = state
            .store
            .administers(&ctx.principal, &o.id)
            .await
            .unwrap_or(false);
        let people = if administered {
            state
                .store
                .members(&ctx.principal, &o.id)
                .await
                .unwrap_or_default()
                .into_iter()
                .map(|(u, roles)| PersonView {
                    id: u.id.0,
                    name: u.name,
                    email: u.email,
                    roles: roles
                        .iter()
                        .map(|r| role_label(*r))
                        .collect::<Vec<_>>()
                        .join(", "),
                })
                .collect()
        } else {
            Vec::new()
        };
        let invitations = if administered {
            state
                .store
                .org_invitations(&ctx.principal, &o.id)
                .await
                .unwrap_or_default()
                .into_iter()
                .map(|i| PendingInvitationView {
                    id: i.id.0,
                    email: i.email,
                    roles: super::invitations::roles_label(&i.roles),
                    expires: when(i.expires_at),
                })
                .collect()
        } else {
            Vec::new()
        };
        if administered {
            org_options.push(FilterOption {
                value: o.id.0.clone(),
                label: o.name.clone(),
                selected: false,
            });
        }
        org_views.push(OrgView {
            id: o.id.0.clone(),
            name: o.name.clone(),
            kind: o.kind.as_str().replace('_', " "),
            people,
            invitations,
            administered,
        });
    }
    let names: std::collections::HashMap<&str, &str> = orgs
        .iter()
        .map(|o| (o.id.0.as_str(), o.name.as_str()))
        .collect();
    let productions = ctx
        .productions
        .iter()
        .map(|p| ProductionView {
            id: p.id.0.clone(),
            title: p.facts.title.clone(),
            kind: p.facts.kind.clone(),
            eu_release: p.facts.eu_release,
            release_date: p
                .facts
                .release_date
                .map(|d| d.to_string())
                .unwrap_or_default(),
            agreements: super::form::agreement_names(&p.facts.agreements),
            packs: p.packs.join(", "),
            linked: p
                .linked_orgs
                .iter()
                .map(|o| names.get(o.0.as_str()).copied().unwrap_or(o.0.as_str()))
                .collect::<Vec<_>>()
                .join(", "),
        })
        .collect();
    let now = chrono::Utc::now();
    let titles: std::collections::HashMap<&str, &str> = ctx
        .productions
        .iter()
        .map(|p| (p.id.0.as_str(), p.facts.title.as_str()))
        .collect();
    let tokens = state
        .store
        .tokens(&ctx.principal, &ctx.principal.user.id)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|t| token_view(t, now, &titles))
        .collect();
    let mut layout = ctx.layout("Administration", None);
    layout.flashes = flash_for(done);
    Ok(AdminPage {
        layout,
        orgs: org_views,
        productions,
        tokens,
        new_secret,
        org_options,
    })
}

/// A token as the tokens table shows it.
fn token_view(
    t: greenlight_store::TokenInfo,
    now: chrono::DateTime<chrono::Utc>,
    titles: &std::collections::HashMap<&str, &str>,
) -> TokenView {
    let expired = t.expires_at.is_some_and(|e| e <= now);
    let expiry = match t.expires_at {
        None => "Never expires".to_owned(),
        Some(_) if expired => "Expired".to_owned(),
        // Whole days left, counted up: a token made today for 90 days "expires in 90 days".
        Some(e) => match ((e - now).num_seconds() + 86_399) / 86_400 {
            ..=1 => "Expires within a day".to_owned(),
            n => format!("Expires in {n} days"),
        },
    };
    TokenView {
        id: t.id.0,
        label: t.label,
        created: when(t.created_at),
        revoked: t.revoked_at.map(when).unwrap_or_default(),
        expires: t.expires_at.map(when).unwrap_or_default(),
        expiry,
        expired,
        last_used: t.last_used_at.map(when).unwrap_or_else(|| "Never".into()),
        production: t
            .production_id
            .map(|p| {
                titles
                    .get(p.0.as_str())
                    .map_or_else(|| p.0.clone(), |t| (*t).to_owned())
            })
            .unwrap_or_else(|| "All".into()),
        rotated: t.replaced_by.is_some(),
    }
}

/// The admin page.
pub async fn page(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<AdminQuery>,
) -> PageResult {
    ctx.require(&[Role::Admin], "Administration")?;
    Ok(render(&view(&state, &ctx, None, q.done.as_deref()).await?))
}

fn studio_of(ctx: &Ctx) -> PageResult<OrgId> {
    ctx.principal
        .memberships
        .iter()
        .find(|m| m.role == Role::Admin && m.org_kind == Studio)
        .map(|m| m.org_id.clone())
        .ok_or_else(|| PageError::forbidden("Only an admin of a studio does this."))
}

/// Creates a production company or vendor.
pub async fn create_org(State(state): State<AppState>, form: CsrfForm) -> PageResult {
    form.ctx
        .require(&[Role::Admin], "Creating an organisation")?;
    let kind: OrgKind = form.get("kind").parse().map_err(bad)?;
    state
        .store
        .create_org(&form.ctx.principal, &form.get("name"), kind)
        .await?;
    Ok(see_other("/admin?done=org"))
}

/// Creates a production of the admin's studio.
pub async fn create_production(State(state): State<AppState>, form: CsrfForm) -> PageResult {
    form.ctx.require(&[Role::Admin], "Creating a production")?;
    let studio = studio_of(&form.ctx)?;
    let release_date = match form.get("release_date").trim() {
        "" => None,
        d => Some(
            NaiveDate::parse_from_str(d, "%Y-%m-%d")
                .map_err(|_| bad("The release date is not a date."))?,
        ),
    };
    let new = NewProduction {
        facts: ProductionFacts {
            title: form.get("title"),
            kind: form.get("kind"),
            eu_release: form.get("eu_release") == "true",
            release_date,
            agreements: form
                .pairs
                .iter()
                .filter(|(k, v)| k == "agreements" && !v.is_empty())
                .map(|(_, v)| v.clone())
                .collect(),
        },
        packs: None,
    };
    state
        .store
        .create_production(&form.ctx.principal, &studio, new)
        .await?;
    Ok(see_other("/admin?done=production"))
}

/// Records the union agreements a production works under (a fact of record: every live
/// declaration of the production is triaged again).
pub async fn set_agreements(State(state): State<AppState>, form: CsrfForm) -> PageResult {
    form.ctx
        .require(&[Role::Admin], "Recording union agreements")?;
    let agreements = form
        .pairs
        .iter()
        .filter(|(k, v)| k == "agreements" && !v.is_empty())
        .map(|(_, v)| v.clone())
        .collect();
    let update = ProductionUpdate {
        agreements: Some(agreements),
        ..Default::default()
    };
    state
        .store
        .update_production(
            &form.ctx.principal,
            &ProductionId(form.get("production")),
            update,
        )
        .await?;
    Ok(see_other("/admin?done=agreements"))
}

/// Adds a person to an organisation with a role. A new address becomes a member at once,
/// with the first password given or, without one, mailed a link to choose it; someone who
/// already has an account is mailed an invitation instead and keeps their own password.
/// When the link cannot be mailed (no SMTP), the admin is shown it once.
pub async fn invite(State(state): State<AppState>, form: CsrfForm) -> PageResult {
    form.ctx.require(&[Role::Admin], "Inviting a person")?;
    let role: Role = form.get("role").parse().map_err(bad)?;
    let email = form.get("email");
    let existing = state.store.user_by_email(&email).await?.is_some();
    let member = NewMember {
        email,
        name: form.get("name"),
        roles: vec![role],
        password: Some(form.get("password")).filter(|p| !p.is_empty() && !existing),
    };
    let (enrolment, link) = state
        .store
        .add_member_with_link(&form.ctx.principal, &OrgId(form.get("org")), member)
        .await?;
    let invited = matches!(enrolment, Enrolment::Invited(_));
    let Some(link) = link else {
        return Ok(see_other(if invited {
            "/admin?done=invited"
        } else {
            "/admin?done=person"
        }));
    };
    let delivery = crate::links::deliver(&state, &link).await;
    if delivery.mailed {
        return Ok(see_other(if invited {
            "/admin?done=invited_mailed"
        } else {
            "/admin?done=person_mailed"
        }));
    }
    Ok(render(&super::links::LinkIssuedPage {
        layout: form.ctx.layout("Invitation link", None),
        heading: if invited {
            "Invitation created".into()
        } else {
            "Person added".into()
        },
        email: link.email.clone(),
        reason: delivery.reason.unwrap_or_default(),
        url: delivery.url.unwrap_or_default(),
        expires: when(delivery.expires_at),
        power: if invited {
            "open the invitation (accepting it still needs the person to sign in as themselves)"
        } else {
            "choose the password of this account and sign in as that person"
        },
    }))
}

/// Withdraws a pending invitation.
pub async fn revoke_invitation(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm,
) -> PageResult {
    form.ctx
        .require(&[Role::Admin], "Withdrawing an invitation")?;
    state
        .store
        .revoke_invitation(&form.ctx.principal, &InvitationId(id))
        .await?;
    Ok(see_other("/admin?done=invitation_revoked"))
}

/// Creates an API token for the signed-in admin (expiring after the days chosen, and
/// restricted to one production when one is chosen); the secret is shown once.
pub async fn create_token(State(state): State<AppState>, form: CsrfForm) -> PageResult {
    form.ctx.require(&[Role::Admin], "Creating an API token")?;
    let expires_in_days = match form.get("expires_in_days").trim() {
        "" => None,
        d => Some(
            d.parse::<i64>()
                .map_err(|_| bad("The expiry is a number of days, 1 to 365."))?,
        ),
    };
    let production_id = match form.get("production").trim() {
        "" => None,
        p => Some(ProductionId(p.to_owned())),
    };
    let options = TokenOptions {
        expires_in_days,
        production_id,
    };
    let (_, secret) = state
        .store
        .create_token(
            &form.ctx.principal,
            &form.ctx.principal.user.id,
            &form.get("label"),
            options,
        )
        .await?;
    Ok(render(&view(&state, &form.ctx, Some(secret), None).await?))
}

/// Rotates one of the admin's API tokens: the new secret is shown once; the old one works
/// on for a day.
pub async fn rotate_token(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm,
) -> PageResult {
    form.ctx.require(&[Role::Admin], "Rotating an API token")?;
    let (_, secret) = state
        .store
        .rotate_token(&form.ctx.principal, &TokenId(id), None)
        .await?;
    Ok(render(&view(&state, &form.ctx, Some(secret), None).await?))
}

/// Links a production company or vendor to a production (its partners may then declare).
pub async fn link_org(State(state): State<AppState>, form: CsrfForm) -> PageResult {
    form.ctx
        .require(&[Role::Admin], "Linking an organisation")?;
    state
        .store
        .link_org(
            &form.ctx.principal,
            &ProductionId(form.get("production")),
            &OrgId(form.get("org")),
        )
        .await?;
    Ok(see_other("/admin?done=linked_org"))
}

/// Revokes one of the admin's API tokens.
pub async fn revoke_token(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm,
) -> PageResult {
    form.ctx.require(&[Role::Admin], "Revoking an API token")?;
    state
        .store
        .revoke_token(&form.ctx.principal, &TokenId(id))
        .await?;
    Ok(see_other("/admin?done=token_revoked"))
}
