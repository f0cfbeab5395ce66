//! `/api/v1/me`, organisations, members and API tokens.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use greenlight_store::{
    Enrolment, Invitation, InvitationId, NewMember, Org, OrgId, OrgKind, Principal, ProductionId,
    Role, TokenId, TokenInfo, TokenOptions, User, UserId,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ApiJson;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;

/// The caller: user and roles per organisation.
#[utoipa::path(get, path = "/api/v1/me", tag = "people", responses((status = 200, body = Principal), (status = 401, body = Problem)))]
pub async fn me(Caller(p): Caller) -> Json<Principal> {
    Json(p)
}

/// Organisations the caller may see.
#[utoipa::path(get, path = "/api/v1/orgs", tag = "people", responses((status = 200, body = Vec<Org>)))]
pub async fn list_orgs(State(s): State<AppState>, Caller(p): Caller) -> ApiResult<Json<Vec<Org>>> {
    Ok(Json(s.store.orgs(&p).await?))
}

/// A new production company or vendor.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOrg {
    pub name: String,
    pub kind: OrgKind,
}

/// A studio admin creates a production company or vendor.
#[utoipa::path(post, path = "/api/v1/orgs", tag = "people", request_body = NewOrg,
    responses((status = 201, body = Org), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_org(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiJson(new): ApiJson<NewOrg>,
) -> ApiResult<(StatusCode, Json<Org>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.store.create_org(&p, &new.name, new.kind).await?),
    ))
}

/// A member and their roles in one organisation.
#[derive(Debug, Serialize, ToSchema)]
pub struct Member {
    pub user: User,
    pub roles: Vec<Role>,
}

/// People of an organisation.
#[utoipa::path(get, path = "/api/v1/orgs/{id}/members", tag = "people", params(("id" = String, Path)), responses((status = 200, body = Vec<Member>)))]
pub async fn list_members(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<Member>>> {
    let members = s.store.members(&p, &OrgId(id)).await?;
    Ok(Json(
        members
            .into_iter()
            .map(|(user, roles)| Member { user, roles })
            .collect(),
    ))
}

/// A person just added, and what became of the mail with their link.
#[derive(Debug, Serialize, ToSchema)]
pub struct AddedMember {
    #[serde(flatten)]
    pub user: User,
    /// The link to choose a password (absent when a password was given): mailed, or, when
    /// it could not be, shown here once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<crate::links::Delivery>,
}

/// An invitation just sent, and what became of its mail.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvitedMember {
    #[serde(flatten)]
    pub invitation: Invitation,
    /// The invitation's link: mailed, or, when it could not be, shown here once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<crate::links::Delivery>,
}

/// An admin adds a person with roles: a new address becomes a member at once (201, the
/// person; without a password they are mailed a link to choose one); a person who already
/// has an account is invited instead (202, the invitation, mailed with its link) and holds
/// the roles once they accept it, signed in as themselves. When mail is not configured (or
/// fails), `link.url` carries the link, once.
#[utoipa::path(post, path = "/api/v1/orgs/{id}/members", tag = "people", params(("id" = String, Path)), request_body = NewMember,
    responses((status = 201, body = AddedMember), (status = 202, body = InvitedMember), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn add_member(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    ApiJson(m): ApiJson<NewMember>,
) -> ApiResult<Response> {
    let (enrolment, link) = s.store.add_member_with_link(&p, &OrgId(id), m).await?;
    let link = match link {
        Some(l) => Some(crate::links::deliver(&s, &l).await),
        None => None,
    };
    Ok(match enrolment {
        Enrolment::Added(user) => {
            (StatusCode::CREATED, Json(AddedMember { user, link })).into_response()
        }
        Enrolment::Invited(invitation) => (
            StatusCode::ACCEPTED,
            Json(InvitedMember { invitation, link }),
        )
            .into_response(),
    })
}

/// Pending invitations into an organisation (its admins).
#[utoipa::path(get, path = "/api/v1/orgs/{id}/invitations", tag = "people", params(("id" = String, Path)), responses((status = 200, body = Vec<Invitation>)))]
pub async fn org_invitations(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<Invitation>>> {
    Ok(Json(s.store.org_invitations(&p, &OrgId(id)).await?))
}

/// Invitations waiting for the caller's answer.
#[utoipa::path(get, path = "/api/v1/me/invitations", tag = "people", responses((status = 200, body = Vec<Invitation>)))]
pub async fn my_invitations(
    State(s): State<AppState>,
    Caller(p): Caller,
) -> ApiResult<Json<Vec<Invitation>>> {
    Ok(Json(s.store.my_invitations(&p).await?))
}

/// The invited person accepts: they hold the invitation's roles from now on.
#[utoipa::path(post, path = "/api/v1/invitations/{id}/accept", tag = "people", params(("id" = String, Path)),
    responses((status = 200, body = Invitation), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn accept_invitation(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Invitation>> {
    Ok(Json(
        s.store
            .answer_invitation(&p, &InvitationId(id), true)
            .await?,
    ))
}

/// The invited person declines.
#[utoipa::path(post, path = "/api/v1/invitations/{id}/decline", tag = "people", params(("id" = String, Path)),
    responses((status = 200, body = Invitation), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn decline_invitation(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Invitation>> {
    Ok(Json(
        s.store
            .answer_invitation(&p, &InvitationId(id), false)
            .await?,
    ))
}

/// An admin of the organisation withdraws a pending invitation.
#[utoipa::path(delete, path = "/api/v1/invitations/{id}", tag = "people", params(("id" = String, Path)), responses((status = 204)))]
pub async fn revoke_invitation(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    s.store.revoke_invitation(&p, &InvitationId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A token request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    #[serde(default)]
    pub label: String,
    /// Days until the token expires: 1 to 365 (default 90).
    #[serde(default)]
    pub expires_in_days: Option<i64>,
    /// Restricts the token to this production (one the token's person can read): it then
    /// reads and acts on that production alone and on nothing studio-wide.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub production_id: Option<ProductionId>,
}

/// A new token: its metadata and the secret, shown once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub info: TokenInfo,
    /// The secret. It is stored only as SHA-256: keep it now.
    pub token: String,
}

/// Issues an API token (for oneself, or by an admin), valid for `expires_in_days` (default
/// 90, at most 365), optionally restricted to one production.
#[utoipa::path(post, path = "/api/v1/users/{id}/tokens", tag = "people", params(("id" = String, Path)), request_body = NewToken,
    responses((status = 201, body = CreatedToken), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn create_token(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    ApiJson(t): ApiJson<NewToken>,
) -> ApiResult<(StatusCode, Json<CreatedToken>)> {
    let options = TokenOptions {
        expires_in_days: t.expires_in_days,
        production_id: t.production_id,
    };
    let (info, token) = s
        .store
        .create_token(&p, &UserId(id), &t.label, options)
        .await?;
    Ok((StatusCode::CREATED, Json(CreatedToken { info, token })))
}

/// A rotation request.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateToken {
    /// Hours the old token keeps working beside the new one: 0 to 168 (default 24), never
    /// past its own expiry.
    #[serde(default)]
    pub grace_hours: Option<i64>,
}

/// Rotates an API token: a new secret with the same label and production restriction, as
/// long-lived as the old one was; the old one works on for the grace period and names its
/// replacement (`replaced_by`). The body is optional.
#[utoipa::path(post, path = "/api/v1/tokens/{id}/rotate", tag = "people", params(("id" = String, Path)), request_body(content = RotateToken, description = "Optional: without a body the old token works on for 24 hours"),
    responses((status = 201, body = CreatedToken), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn rotate_token(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<(StatusCode, Json<CreatedToken>)> {
    // The body is optional: none rotates with a day's grace.
    let request: RotateToken = if body.iter().all(u8::is_ascii_whitespace) {
        RotateToken::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request(None, format!("the body is not a rotation: {e}")))?
    };
    let (info, token) = s
        .store
        .rotate_token(&p, &TokenId(id), request.grace_hours)
        .await?;
    Ok((StatusCode::CREATED, Json(CreatedToken { info, token })))
}

/// A user's API tokens (metadata only).
#[utoipa::path(get, path = "/api/v1/users/{id}/tokens", tag = "people", params(("id" = String, Path)), responses((status = 200, body = Vec<TokenInfo>)))]
pub async fn list_tokens(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<TokenInfo>>> {
    Ok(Json(s.store.tokens(&p, &UserId(id)).await?))
}

/// Revokes an API token.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "people", params(("id" = String, Path)), responses((status = 204)))]
pub async fn revoke_token(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    s.store.revoke_token(&p, &TokenId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
